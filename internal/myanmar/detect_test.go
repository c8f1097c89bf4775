package myanmar_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/internal/myanmar"
)

func TestIsZawgyi(t *testing.T) {
	t.Parallel()
	for _, p := range phrases {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			if myanmar.IsZawgyi(p.unicode) {
				t.Errorf("IsZawgyi(Unicode %s) = true", codes(p.unicode))
			}
			if slices.Contains(slices.Collect(maps.Values(ambiguous)), p.zawgyi) {
				return // see TestIsZawgyiAmbiguous
			}
			if !myanmar.IsZawgyi(p.zawgyi) {
				t.Errorf("IsZawgyi(Zawgyi %s) = false", codes(p.zawgyi))
			}
			// What the converter writes must never look like Zawgyi again.
			if got := myanmar.ToUnicode(p.zawgyi); myanmar.IsZawgyi(got) {
				t.Errorf("IsZawgyi(ToUnicode(%s)) = true", codes(p.zawgyi))
			}
		})
	}
}

// ambiguous lists short Burmese that reads as plausible text in both
// encodings. IsZawgyi must say false for each: converting the Unicode reading
// would garble it, and nothing tells the two apart without a language model.
var ambiguous = map[string]string{
	// Zawgyi ရပ္ပါ (ရပ်ပါ) is also Unicode ရ + stacked ပ္ပ + ါ, the shape
	// of Pali loans such as သိပ္ပံ.
	"zawgyi stop please": "\u101B\u1015\u1039\u1015\u102B",
	// The same code points in both encodings: nothing to convert.
	"help အကူအညီ":       "\u1021\u1000\u1030\u1021\u100A\u102E",
	"language ဘာသာစကား": "\u1018\u102C\u101E\u102C\u1005\u1000\u102C\u1038",
	"Unicode ကျ (fall)": "\u1000\u103B",
	// Zawgyi စြာ (စွာ) is Unicode စြာ; Zawgyi သြား (သွား, go) is Unicode
	// သြား (tooth).
	"zawgyi swa":  "\u1005\u103C\u102C",
	"zawgyi thwa": "\u101E\u103C\u102C\u1038",
	// Zawgyi အေရး (အရေး) is Unicode အေ + ရး.
	"zawgyi a-ye": "\u1021\u1031\u101B\u1038",
	// Unicode typists also write ဦ as ဥ and ီ, as Zawgyi does.
	"zawgyi title": "\u1025\u102E\u1038",
	// Marks in Zawgyi typing order (ံု, ဲြ) are out of order in Unicode, but
	// Unicode keyboards that store marks as typed produce them too: one such
	// word is not enough (see TestIsZawgyiMixedText for two).
	"zawgyi all":    "\u101C\u1036\u102F\u1038",
	"zawgyi divide": "\u1001\u1032\u103C",
}

func TestIsZawgyiAmbiguous(t *testing.T) {
	t.Parallel()
	for name, s := range ambiguous {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if myanmar.IsZawgyi(s) {
				t.Errorf("IsZawgyi(%s) = true", codes(s))
			}
			if got := myanmar.Normalize(s); got != s {
				t.Errorf("Normalize(%s) = %s, want it unchanged", codes(s), codes(got))
			}
		})
	}
}

func TestIsZawgyiMixedText(t *testing.T) {
	t.Parallel()
	const (
		zawgyiStop     = "\u101B\u1015\u1039"                                                                         // ရပ္
		zawgyiMyanmar  = "\u103B\u1019\u1014\u1039\u1019\u102C"                                                       // ျမန္မာ
		unicodeMyanmar = "\u1019\u103C\u1014\u103A\u1019\u102C"                                                       // မြန်မာ
		unicodeThanks  = "\u1000\u103B\u1031\u1038\u1007\u1030\u1038\u1010\u1004\u103A\u1015\u102B\u1010\u101A\u103A" // ကျေးဇူးတင်ပါတယ်
	)
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"zawgyi inside english", "Please " + zawgyiStop + " now", true},
		{"zawgyi after arabic", "توقف " + zawgyiMyanmar, true},
		{"zawgyi with emoji", "🛑" + zawgyiStop + "🛑", true},
		{"zawgyi with punctuation", "\u201C" + zawgyiStop + "\u201D\u104B", true},
		{"two weaker zawgyi signs", "\u101C\u1036\u102F\u1038 \u1001\u1032\u103C", true}, // လံုး ခဲြ
		{"unicode inside english", "I live in " + unicodeMyanmar, false},
		{"unicode with amharic", "አቁም " + unicodeThanks, false},
		// A Zawgyi word quoted in a Unicode sentence: converting the whole
		// message would garble the sentence, so it stays as it is.
		{"zawgyi word in unicode sentence", unicodeThanks + " " + zawgyiStop, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := myanmar.IsZawgyi(tt.text); got != tt.want {
				t.Errorf("IsZawgyi(%s) = %v, want %v", codes(tt.text), got, tt.want)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	i := slices.IndexFunc(phrases, func(p phrase) bool { return strings.HasPrefix(p.name, "I can read") })
	zawgyi, unicode := phrases[i].zawgyi, phrases[i].unicode
	b.Run("zawgyi", func(b *testing.B) {
		for b.Loop() {
			myanmar.Normalize(zawgyi)
		}
	})
	b.Run("unicode", func(b *testing.B) {
		for b.Loop() {
			myanmar.Normalize(unicode)
		}
	})
	b.Run("english", func(b *testing.B) {
		for b.Loop() {
			myanmar.Normalize("Please stop sending me messages.")
		}
	})
}
