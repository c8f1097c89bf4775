package channels

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// oracleCase is one message counted by Twilio's calculator; see
// testdata/oracle.js for how the file is produced.
type oracleCase struct {
	Name     string `json:"name"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
	Units    int    `json:"units"`
}

func loadOracle(tb testing.TB) []oracleCase {
	tb.Helper()
	data, err := os.ReadFile("testdata/segments_oracle.json")
	if err != nil {
		tb.Fatal(err)
	}
	var cases []oracleCase
	if err := json.Unmarshal(data, &cases); err != nil {
		tb.Fatal(err)
	}
	if len(cases) == 0 {
		tb.Fatal("no oracle cases")
	}
	return cases
}

func TestCountSegmentsMatchesTwilioCalculator(t *testing.T) {
	t.Parallel()
	for _, c := range loadOracle(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			want := SegmentCount{Encoding: c.Encoding, Segments: c.Segments, Units: c.Units}
			if got := CountSegments(c.Text); got != want {
				t.Errorf("CountSegments(%q) = %+v, want %+v", c.Text, got, want)
			}
		})
	}
}

func TestCountSegments(t *testing.T) {
	t.Parallel()
	r := strings.Repeat
	// Zalgo-style text: one base letter carrying 80 combining marks, a single
	// grapheme cluster longer than any UCS-2 segment.
	zalgo := "a" + r("\u0301", 80)
	tests := []struct {
		name string
		text string
		want SegmentCount
	}{
		// Vectors from the library briefing.
		{"a x160", r("a", 160), SegmentCount{EncodingGSM7, 1, 160}},
		{"a x161", r("a", 161), SegmentCount{EncodingGSM7, 2, 161}},
		{"a x306", r("a", 306), SegmentCount{EncodingGSM7, 2, 306}},
		{"a x307", r("a", 307), SegmentCount{EncodingGSM7, 3, 307}},
		{"euro x80", r("€", 80), SegmentCount{EncodingGSM7, 1, 160}},
		{"euro x81", r("€", 81), SegmentCount{EncodingGSM7, 2, 162}},
		{"escape pair moves whole", r("a", 152) + "€" + r("a", 152), SegmentCount{EncodingGSM7, 3, 306}},
		{"zhe x70", r("ж", 70), SegmentCount{EncodingUCS2, 1, 70}},
		{"zhe x71", r("ж", 71), SegmentCount{EncodingUCS2, 2, 71}},
		{"zhe x135", r("ж", 135), SegmentCount{EncodingUCS2, 3, 135}},
		{"emoji x35", r("😀", 35), SegmentCount{EncodingUCS2, 1, 70}},
		{"emoji x36", r("😀", 36), SegmentCount{EncodingUCS2, 2, 72}},
		{"surrogate pair moves whole", r("ж", 66) + "😀" + r("ж", 66), SegmentCount{EncodingUCS2, 3, 134}},
		{"emoji makes all UCS-2", r("a", 159) + "😀", SegmentCount{EncodingUCS2, 3, 161}},
		{"capital C cedilla is GSM", "Ç", SegmentCount{EncodingGSM7, 1, 1}},
		{"small c cedilla is not", "ç", SegmentCount{EncodingUCS2, 1, 1}},

		// Choices this package makes on its own.
		{"empty is one segment", "", SegmentCount{EncodingGSM7, 1, 0}},
		{"literal ESC is not GSM", "\x1b", SegmentCount{EncodingUCS2, 1, 1}},
		{"invalid UTF-8 is one unit per byte", "a\xffb\xfe", SegmentCount{EncodingUCS2, 1, 4}},
		// A cluster longer than a segment is cut between code points. The
		// calculator instead puts it whole into one overfull segment (60 then
		// 81 units here, 2 segments), which no handset could receive.
		{"oversized cluster splits", zalgo, SegmentCount{EncodingUCS2, 2, 81}},
		{"oversized cluster after text", r("ж", 60) + zalgo, SegmentCount{EncodingUCS2, 3, 141}},
		// Emoji sequences newer than the calculator's grapheme rules stay
		// whole here; the calculator cuts them after a ZWJ and so counts one
		// segment fewer for these two (66+65 and 66+62 units).
		{"heart on fire moves whole", r("ж", 63) + "❤️‍🔥" + r("ж", 63), SegmentCount{EncodingUCS2, 3, 131}},
		{"people holding hands moves whole", r("ж", 60) + "🧑‍🤝‍🧑" + r("ж", 60), SegmentCount{EncodingUCS2, 3, 128}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CountSegments(tt.text); got != tt.want {
				t.Errorf("CountSegments(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestNonGSMCharacters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"GSM-7 with extension", "Ça coûte 5€ {x}", []string{"û"}},
		{"Turkish, in order, once each", "çağrı ç", []string{"ç", "ğ", "ı"}},
		{"decomposed accent stays with its letter", "Cafe\u0301", []string{"e\u0301"}},
		{"emoji sequence whole", "hi 👩‍💻!", []string{"👩‍💻"}},
		{"CRLF is GSM", "a\r\nb’", []string{"’"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := NonGSMCharacters(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("NonGSMCharacters(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzCountSegments(f *testing.F) {
	for _, c := range loadOracle(f) {
		f.Add(c.Text)
	}
	f.Add("a" + strings.Repeat("\u0301", 200))
	f.Add(strings.Repeat("€", 77) + "\x1b")
	f.Add("a\xffb")
	f.Fuzz(func(t *testing.T, text string) {
		got := CountSegments(text)
		encoding, parts := segmentParts(text)
		if got.Encoding != encoding || got.Segments != len(parts) {
			t.Fatalf("CountSegments(%q) = %+v, parts %v", text, got, parts)
		}
		if got.Segments < 1 {
			t.Fatalf("CountSegments(%q) = %+v, want at least one segment", text, got)
		}

		gsm := NonGSMCharacters(text) == nil
		var want, single, part int
		switch got.Encoding {
		case EncodingGSM7:
			if !gsm {
				t.Fatalf("CountSegments(%q) says GSM-7 but NonGSMCharacters = %q", text, NonGSMCharacters(text))
			}
			for _, r := range text {
				want += gsmSeptets[r]
			}
			single, part = gsm7SingleSeptets, gsm7PartSeptets
		case EncodingUCS2:
			if gsm {
				t.Fatalf("CountSegments(%q) says UCS-2 but every character is GSM-7", text)
			}
			want = len(utf16.Encode([]rune(text)))
			single, part = ucs2SingleUnits, ucs2PartUnits
		default:
			t.Fatalf("CountSegments(%q): unknown encoding %q", text, got.Encoding)
		}
		if got.Units != want {
			t.Fatalf("CountSegments(%q).Units = %d, want %d", text, got.Units, want)
		}

		sum := 0
		for _, n := range parts {
			sum += n
		}
		if sum != got.Units {
			t.Fatalf("CountSegments(%q): parts %v sum to %d, want %d units", text, parts, sum, got.Units)
		}
		limit := part
		if len(parts) == 1 {
			limit = single
		}
		for i, n := range parts {
			if n > limit || (len(parts) > 1 && n == 0) {
				t.Fatalf("CountSegments(%q): segment %d holds %d units, limit %d (parts %v)", text, i, n, limit, parts)
			}
		}
		if len(parts) > 1 && got.Units <= single {
			t.Fatalf("CountSegments(%q): %d units split into %v", text, got.Units, parts)
		}
		// Keeping characters whole can only add segments, never save any.
		if len(parts) > 1 && len(parts) < (got.Units+part-1)/part {
			t.Fatalf("CountSegments(%q): %d segments, fewer than %d units allow", text, len(parts), got.Units)
		}
	})
}
