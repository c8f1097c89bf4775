package chatbot

import (
	"slices"
	"testing"
)

func TestFuzzyBest(t *testing.T) {
	t.Parallel()
	// Candidates in the order a tree offers them: earlier ones win ties.
	english := [][]string{
		{"passport", "visa"},
		{"recruitment agency", "broker"},
		{"contract", "salary"},
		{"work abroad"},
		{"information"},
	}
	tests := []struct {
		name       string
		text       string
		candidates [][]string
		want       int
	}{
		{"exact word", "passport", english, 0},
		{"case and punctuation", "PASSPORT??", english, 0},
		{"missing letter", "pasport", english, 0},
		{"swapped letters", "passprot", english, 0},
		{"plural", "passports", english, 0},
		{"two typos in a long word", "contrcat salery", english, 2},
		{"two typos in a short word are too many", "pasprt", english, -1},
		{"typo in a four-letter word", "vise", english, 0},
		{"typo in a three-letter word is not forgiven", "jab", [][]string{{"job"}}, -1},
		{"phrase with all its words", "is this recruitment agency real", english, 1},
		{"phrase missing a word", "my agency", english, -1},
		{"phrase word with a typo", "recruitmant agency", english, 1},
		{"accents people leave out", "informacion", [][]string{{"información"}}, 0},
		{"accents people add", "información", english, 4},
		{"full-width letters", "ＰＡＳＳＰＯＲＴ", english, 0},
		{"first of equal matches wins", "passport contract", english, 0},
		{"better match wins over order", "pasport contract", english, 2},
		{"unrelated text", "the weather is lovely today", english, -1},
		{"one shared word of a phrase", "I work at home", english, -1},
		{"empty", "", english, -1},
		{"only punctuation", "?!", english, -1},

		// Ethiopic: the word space ፡ and full stop ። split words, letters are syllables.
		{"Amharic word in a sentence", "ቪዛ እፈልጋለሁ", [][]string{{"ፓስፖርት"}, {"ቪዛ"}}, 1},
		{"Amharic Ethiopic punctuation", "ቪዛ፡እፈልጋለሁ።", [][]string{{"ፓስፖርት"}, {"ቪዛ"}}, 1},
		{"Amharic word with a suffix", "ቪዛዬን", [][]string{{"ፓስፖርት"}, {"ቪዛ"}}, 1},
		{"Amharic typo in a long word", "ፓስፖረት", [][]string{{"ፓስፖርት"}, {"ቪዛ"}}, 0},
		{"Amharic unrelated", "ዛሬ ዝናብ ዘነበ", [][]string{{"ፓስፖርት"}, {"ቪዛ"}}, -1},

		// Arabic: attached article, ta marbuta written as ha, hamza left off, vowel marks.
		{"Arabic article and ta marbuta", "التأشيره", [][]string{{"جواز"}, {"تأشيرة"}}, 1},
		{"Arabic hamza left off", "تاشيرة", [][]string{{"جواز"}, {"تأشيرة"}}, 1},
		{"Arabic vowel marks and tatweel", "تَأْشِيـــرَة", [][]string{{"جواز"}, {"تأشيرة"}}, 1},
		{"Arabic with and-the", "والتأشيرة", [][]string{{"جواز"}, {"تأشيرة"}}, 1},
		{"Arabic possessive", "جوازي ضاع", [][]string{{"جواز"}, {"تأشيرة"}}, 0},
		{"Persian yeh and kaf typed for Arabic", "کتاب ی", [][]string{{"كتاب"}}, 0},
		{"Arabic unrelated", "الطقس جميل اليوم", [][]string{{"جواز"}, {"تأشيرة"}}, -1},

		// Devanagari: a vowel sign typed short, counted as one rune, not three bytes.
		{"Nepali word in a sentence", "मलाई भिसा चाहियो।", [][]string{{"राहदानी"}, {"भिसा"}}, 1},
		{"Nepali vowel sign typo", "राहदानि हरायो", [][]string{{"राहदानी"}, {"भिसा"}}, 0},
		{"Nepali unrelated", "आज पानी पर्यो", [][]string{{"राहदानी"}, {"भिसा"}}, -1},

		// Thai and Burmese write no spaces between words: the keyword is inside a run.
		{"Thai keyword inside a run", "ฉันต้องการวีซ่าทำงาน", [][]string{{"หนังสือเดินทาง"}, {"วีซ่า"}}, 1},
		{"Thai typo inside a run", "ฉันทำหนังสือเดนทางหาย", [][]string{{"หนังสือเดินทาง"}, {"วีซ่า"}}, 0},
		{"Thai unrelated", "วันนี้อากาศดี", [][]string{{"หนังสือเดินทาง"}, {"วีซ่า"}}, -1},
		{"Burmese keyword inside a run", "ကျွန်တော်ဗီဇာလိုချင်တယ်", [][]string{{"ပတ်စပို့"}, {"ဗီဇာ"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, score := fuzzyBest(tt.text, tt.candidates)
			if got != tt.want {
				t.Errorf("fuzzyBest(%q) = %d (score %.2f), want %d; tokens %q", tt.text, got, score, tt.want, fuzzyTokens(tt.text))
			}
		})
	}
}

func TestFuzzyDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"passport", "passport", 0},
		{"passport", "pasport", 1},
		{"passport", "passprot", 1}, // a swap of neighbours is one edit
		{"passport", "pasprot", 2},
		{"राहदानी", "राहदानि", 1}, // 3 bytes each, one rune
		{"ቪዛ", "ቪሳ", 1},
		{"تأشيرة", "تأشيره", 1},
		{"", "abc", 3},
		{"abcdef", "a", 3}, // stops at the limit plus one
	}
	for _, tt := range tests {
		if got := fuzzyDistance([]rune(tt.a), []rune(tt.b), 2); got != tt.want {
			t.Errorf("fuzzyDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	subs := []struct {
		k, text string
		want    int
	}{
		{"visa", "myvisaplease", 0},
		{"visa", "myvsaplease", 1},
		{"visa", "myivsaplease", 1},
		{"visa", "nothing", 3},
	}
	for _, tt := range subs {
		if got := fuzzySubstringDistance([]rune(tt.k), []rune(tt.text)); got != tt.want {
			t.Errorf("fuzzySubstringDistance(%q, %q) = %d, want %d", tt.k, tt.text, got, tt.want)
		}
	}
}

func TestFuzzyTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want []string
	}{
		{"Hello, WORLD!", []string{"hello", "world"}},
		{"Straße", []string{"strasse"}},
		{"ΣΟΦΟΣ σοφός", []string{"σοφοσ", "σοφοσ"}},
		{"ቪዛ፡እፈልጋለሁ።", []string{"ቪዛ", "እፈልጋለሁ"}},
		{"أريد التأشيرة، من فضلك", []string{"اريد", "تاشيره", "من", "فضلك"}},
		{"نعم‌ها", []string{"نعمها"}}, // zero-width non-joiner inside a Persian word
		{"मेरो राहदानी।", []string{"मेरो", "राहदानी"}},
		{"ال", []string{"ال"}}, // too short to be an article
		{"٣", []string{"٣"}},
	}
	for _, tt := range tests {
		if got := fuzzyTokens(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("fuzzyTokens(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestMenuNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want int
		ok   bool
	}{
		{"1", 1, true},
		{" 2. ", 2, true},
		{"(3)", 3, true},
		{"0", 0, true},
		{"٣", 3, true},   // Arabic-Indic
		{"۴", 4, true},   // Persian
		{"५", 5, true},   // Devanagari
		{"၆", 6, true},   // Myanmar
		{"፯", 7, true},   // Ethiopic numeral
		{"８", 8, true},   // full width
		{"10", 10, true}, // a number; the menu decides whether it has it
		{"123", 0, false},
		{"1a", 0, false},
		{"one", 0, false},
		{"", 0, false},
		{"½", 0, false},
	}
	for _, tt := range tests {
		if got, ok := menuNumber(tt.text); got != tt.want || ok != tt.ok {
			t.Errorf("menuNumber(%q) = %d, %v; want %d, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}
