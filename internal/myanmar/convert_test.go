package myanmar_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/waymark-org/waymark/internal/myanmar"
)

// phrase is one Burmese text in both encodings. The Zawgyi side is spelled
// out in code points, because the two encodings look alike in an editor and
// the difference is the point of the test.
type phrase struct {
	name    string
	zawgyi  string
	unicode string
	// simple marks phrases without stacked consonants, kinzi or Zawgyi glyph
	// variants, which toZawgyi below can derive from the Unicode side.
	simple bool
}

var phrases = []phrase{
	// STOP and START as active.my.toml ships them.
	{"stop ရပ်", "\u101B\u1015\u1039", "\u101B\u1015\u103A", true},
	{"stop please ရပ်ပါ", "\u101B\u1015\u1039\u1015\u102B", "\u101B\u1015\u103A\u1015\u102B", true},
	{"start စတင်", "\u1005\u1010\u1004\u1039", "\u1005\u1010\u1004\u103A", true},
	// Medial RA is written before its consonant in Zawgyi.
	{"myanmar မြန်မာ", "\u103B\u1019\u1014\u1039\u1019\u102C", "\u1019\u103C\u1014\u103A\u1019\u102C", true},
	// Vowel sign E is written before its consonant in Zawgyi; medial YA is U+103A.
	{"thank you ကျေးဇူးတင်ပါတယ်",
		"\u1031\u1000\u103A\u1038\u1007\u1030\u1038\u1010\u1004\u1039\u1015\u102B\u1010\u101A\u1039",
		"\u1000\u103B\u1031\u1038\u1007\u1030\u1038\u1010\u1004\u103A\u1015\u102B\u1010\u101A\u103A", true},
	// E and RA together: ေျ before the consonant.
	{"talk စကားပြော", "\u1005\u1000\u102C\u1038\u1031\u103B\u1015\u102C", "\u1005\u1000\u102C\u1038\u1015\u103C\u1031\u102C", true},
	{"I can read Burmese ကျွန်တော် မြန်မာစာ ဖတ်တတ်ပါတယ်",
		"\u1000\u107D\u103C\u1014\u1039\u1031\u1010\u102C\u1039 \u103B\u1019\u1014\u1039\u1019\u102C\u1005\u102C \u1016\u1010\u1039\u1010\u1010\u1039\u1015\u102B\u1010\u101A\u1039",
		"\u1000\u103B\u103D\u1014\u103A\u1010\u1031\u102C\u103A \u1019\u103C\u1014\u103A\u1019\u102C\u1005\u102C \u1016\u1010\u103A\u1010\u1010\u103A\u1015\u102B\u1010\u101A\u103A", false},
	// "Do not trust the job offer. If you need help, call."
	{"warning အလုပ်ကမ်းလှမ်းချက်ကို မယုံပါနှင့်။ အကူအညီလိုရင် ဖုန်းဆက်ပါ။",
		"\u1021\u101C\u102F\u1015\u1039\u1000\u1019\u1039\u1038\u101C\u103D\u1019\u1039\u1038\u1001\u103A\u1000\u1039\u1000\u102D\u102F " +
			"\u1019\u101A\u1036\u102F\u1015\u102B\u108F\u103D\u1004\u1037\u1039\u104B " +
			"\u1021\u1000\u1030\u1021\u100A\u102E\u101C\u102D\u102F\u101B\u1004\u1039 " +
			"\u1016\u102F\u1014\u1039\u1038\u1006\u1000\u1039\u1015\u102B\u104B",
		"\u1021\u101C\u102F\u1015\u103A\u1000\u1019\u103A\u1038\u101C\u103E\u1019\u103A\u1038\u1001\u103B\u1000\u103A\u1000\u102D\u102F " +
			"\u1019\u101A\u102F\u1036\u1015\u102B\u1014\u103E\u1004\u1037\u103A\u104B " +
			"\u1021\u1000\u1030\u1021\u100A\u102E\u101C\u102D\u102F\u101B\u1004\u103A " +
			"\u1016\u102F\u1014\u103A\u1038\u1006\u1000\u103A\u1015\u102B\u104B", false},
	// Zawgyi's short-tailed NA (U+108F) and HA (U+103D); dot below before asat.
	{"and နှင့်", "\u108F\u103D\u1004\u1037\u1039", "\u1014\u103E\u1004\u1037\u103A", false},
	// Zawgyi typists type anusvara before vowel sign U.
	{"all လုံး", "\u101C\u1036\u102F\u1038", "\u101C\u102F\u1036\u1038", false},
	// And vowel sign AI before medial WA.
	{"divide ခွဲ", "\u1001\u1032\u103C", "\u1001\u103D\u1032", false},
	// Zawgyi's precomposed stacked BHA (U+107B).
	{"world ကမ္ဘာ", "\u1000\u1019\u107B\u102C", "\u1000\u1019\u1039\u1018\u102C", false},
	// Kinzi (U+1064) is written after its consonant in Zawgyi, before it in Unicode.
	{"English အင်္ဂလိပ်", "\u1021\u1002\u1064\u101C\u102D\u1015\u1039", "\u1021\u1004\u103A\u1039\u1002\u101C\u102D\u1015\u103A", false},
	// Stacked NA (U+1077) and the ligature ဋ္ဌ (U+1092).
	{"resolve သန္နိဋ္ဌာန်", "\u101E\u108F\u1077\u102D\u1092\u102C\u1014\u1039", "\u101E\u1014\u1039\u1014\u102D\u100B\u1039\u100C\u102C\u1014\u103A", false},
	// Wide RA (U+107F), long U (U+1033), dot below variant (U+1095).
	{"town မြို့", "\u107F\u1019\u102D\u1033\u1095", "\u1019\u103C\u102D\u102F\u1037", false},
	// WA and HA in one glyph (U+108A).
	{"gold ရွှေ", "\u1031\u101B\u108A", "\u101B\u103D\u103E\u1031", false},
	// Zawgyi writes ဈ as စ with medial YA.
	{"market ဈေး", "\u1031\u1005\u103A\u1038", "\u1008\u1031\u1038", false},
	// The digit ၀ typed for the letter ဝ.
	{"wa typed as zero ဝေ", "\u1031\u1040", "\u101D\u1031", false},
	// One glyph for ဥ and ဉ: ဉ with asat or AA, ဦ with II.
	{"wisdom ဉာဏ်", "\u1025\u102C\u100F\u1039", "\u1009\u102C\u100F\u103A", false},
	{"title ဦး", "\u1025\u102E\u1038", "\u1026\u1038", false},
	// Asat typed before medial YA stays before it.
	{"man ယောက်ျား", "\u1031\u101A\u102C\u1000\u1039\u103A\u102C\u1038", "\u101A\u1031\u102C\u1000\u103A\u103B\u102C\u1038", false},
	// Text around the Burmese is kept.
	{"mixed with English", "STOP \u101B\u1015\u1039 please!", "STOP \u101B\u1015\u103A please!", true},
	{"mixed with digits and emoji", "\u1041\u1040 \u101B\u1015\u1039 🛑", "\u1041\u1040 \u101B\u1015\u103A 🛑", true},
}

func TestToUnicode(t *testing.T) {
	t.Parallel()
	for _, p := range phrases {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			if got := myanmar.ToUnicode(p.zawgyi); got != p.unicode {
				t.Errorf("ToUnicode(%s)\n got %s\nwant %s", codes(p.zawgyi), codes(got), codes(p.unicode))
			}
			// Converted text is what the locale files hold: Unicode in NFC.
			if !norm.NFC.IsNormalString(p.unicode) {
				t.Errorf("expected text %s is not NFC", codes(p.unicode))
			}
		})
	}
}

// TestPhrasesSpelledInZawgyi checks the table's hand-written Zawgyi against a
// plain Unicode-to-Zawgyi reordering, so that a mistake in the table cannot
// hide a mistake in the converter.
func TestPhrasesSpelledInZawgyi(t *testing.T) {
	t.Parallel()
	for _, p := range phrases {
		if !p.simple {
			continue
		}
		if got := toZawgyi(t, p.unicode); got != p.zawgyi {
			t.Errorf("%s: table has Zawgyi %s, reordering gives %s", p.name, codes(p.zawgyi), codes(got))
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, p := range phrases {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			if got := myanmar.Normalize(p.unicode); got != p.unicode {
				t.Errorf("Normalize changed Unicode %s to %s", codes(p.unicode), codes(got))
			}
			got := myanmar.Normalize(p.zawgyi)
			if got != p.unicode && got != p.zawgyi {
				t.Errorf("Normalize(%s) = %s, want %s or the input unchanged", codes(p.zawgyi), codes(got), codes(p.unicode))
			}
			if again := myanmar.Normalize(got); again != got {
				t.Errorf("Normalize is not idempotent: %s, then %s", codes(got), codes(again))
			}
		})
	}
}

func TestNormalizeLeavesOtherTextAlone(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":           "",
		"english keyword": "STOP",
		"english":         "Please stop sending me messages.",
		"arabic":          "توقف",
		"arabic sentence": "لا أريد المزيد من الرسائل",
		"amharic":         "አቁም",
		"amharic phrase":  "እባክህ መልእክት አትላክልኝ።",
		"nepali":          "रोक्नुहोस्",
		"decomposed e":    "e\u0301te\u0301",
		"burmese digits":  "\u1040\u1049\u1042\u1041\u1042\u1043\u1044\u1045\u1046",
		"phone with zero": "ဖုန်း ၀၉၁၂၃၄၅၆၇",
		"emoji":           "🛑 ✋",
		"invalid utf-8":   "stop\xff",
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if myanmar.IsZawgyi(s) {
				t.Errorf("IsZawgyi(%q) = true", s)
			}
			if got := myanmar.Normalize(s); got != s {
				t.Errorf("Normalize(%q) = %q", s, got)
			}
		})
	}
}

// FuzzToUnicode checks that conversion never panics, returns valid UTF-8
// for valid input, and leaves everything outside the Myanmar block in place
// (apart from spaces typed inside a syllable, which it drops).
func FuzzToUnicode(f *testing.F) {
	for _, p := range phrases {
		f.Add(p.zawgyi)
		f.Add(p.unicode)
	}
	f.Add("\u1031\u103B")
	f.Add("\u1039\u1037 \u102F")
	f.Add("\u104E\u1004\u1039\u1038")
	f.Fuzz(func(t *testing.T, s string) {
		got := myanmar.ToUnicode(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("ToUnicode(%q) = %q, not valid UTF-8", s, got)
		}
		if outside(s) != outside(got) {
			t.Fatalf("ToUnicode(%q) = %q changed text outside the Myanmar block", s, got)
		}
		_ = myanmar.Normalize(s)
	})
}

// outside keeps the runes of s outside the Myanmar block, other than spaces.
func outside(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '\u1000' && r <= '\u109F') || r == ' ' || r == '\u200B' {
			return -1
		}
		return r
	}, s)
}

// toZawgyi spells plain Unicode Burmese (no stacked consonants or kinzi) the
// way a Zawgyi keyboard types it: vowel sign E and medial RA before the
// consonant, then the consonant, then its other marks in Unicode order with
// Zawgyi's code points.
func toZawgyi(t *testing.T, s string) string {
	t.Helper()
	zawgyiMark := map[rune]rune{
		'\u103A': '\u1039', // asat
		'\u103B': '\u103A', // medial YA
		'\u103D': '\u103C', // medial WA
		'\u103E': '\u103D', // medial HA
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		if r == '\u1039' {
			t.Fatalf("toZawgyi does not handle stacked consonants: %s", codes(s))
		}
		if r < '\u1000' || r > '\u1021' {
			b.WriteRune(r)
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && rs[j] >= '\u102B' && rs[j] <= '\u103E' && rs[j] != '\u1039' {
			j++
		}
		marks := rs[i+1 : j]
		for _, m := range marks {
			if m == '\u1031' {
				b.WriteRune('\u1031')
			}
		}
		for _, m := range marks {
			if m == '\u103C' {
				b.WriteRune('\u103B')
			}
		}
		b.WriteRune(r)
		for _, m := range marks {
			if m == '\u1031' || m == '\u103C' {
				continue
			}
			if z, ok := zawgyiMark[m]; ok {
				m = z
			}
			b.WriteRune(m)
		}
		i = j
	}
	return b.String()
}

// codes prints the code points of a string, since Zawgyi and Unicode look
// alike in a test log.
func codes(s string) string {
	var parts []string
	for _, r := range s {
		if r < 0x80 {
			parts = append(parts, string(r))
		} else {
			parts = append(parts, fmt.Sprintf("%04X", r))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
