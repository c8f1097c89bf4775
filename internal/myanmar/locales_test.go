package myanmar_test

import (
	"os"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/waymark-org/waymark/internal/myanmar"
	"github.com/waymark-org/waymark/locales"
)

// TestLocaleKeywordsFromZawgyi types every Burmese keyword Waymark ships
// (locales/active.my.toml) the way a Zawgyi keyboard does and checks that it
// converts to exactly the shipped Unicode word, and that Normalize converts
// it whenever the Zawgyi spelling is not also well-formed Unicode.
func TestLocaleKeywordsFromZawgyi(t *testing.T) {
	t.Parallel()
	lists := []string{locales.KeywordsStop, locales.KeywordsStart, locales.KeywordsHelp,
		locales.KeywordsLanguage, locales.KeywordsTalk}
	for _, id := range lists {
		words := locales.Keywords("my", id)
		if len(words) == 0 {
			t.Fatalf("locales has no Burmese %s", id)
		}
		for _, w := range words {
			t.Run(id+"/"+w, func(t *testing.T) {
				t.Parallel()
				z := toZawgyi(t, w)
				if got := myanmar.ToUnicode(z); got != w {
					t.Errorf("ToUnicode(%s) = %s, want %s", codes(z), codes(got), codes(w))
				}
				if got := myanmar.Normalize(w); got != w {
					t.Errorf("Normalize changed the Unicode keyword %s to %s", codes(w), codes(got))
				}
				switch got := myanmar.Normalize(z); {
				case z == w:
					// Spelled alike in both encodings.
				case got == z && ambiguous["zawgyi stop please"] == z:
					// Known ambiguous: callers match ToUnicode as a fallback.
				case got != w:
					t.Errorf("Normalize(%s) = %s, want %s", codes(z), codes(got), codes(w))
				}
			})
		}
	}
}

// TestLocaleTextsStayUnicode runs every Burmese text Waymark ships through
// Normalize: real Unicode Burmese, which must come back unchanged.
func TestLocaleTextsStayUnicode(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../locales/active.my.toml")
	if err != nil {
		t.Fatal(err)
	}
	var messages map[string]struct {
		Description string
		Other       string
	}
	if err := toml.Unmarshal(data, &messages); err != nil {
		t.Fatal(err)
	}
	if len(messages) == 0 {
		t.Fatal("no messages in active.my.toml")
	}
	for id, m := range messages {
		if m.Other == "" {
			t.Errorf("%s: no text read", id)
		}
		if myanmar.IsZawgyi(m.Other) {
			t.Errorf("%s: IsZawgyi(%q) = true", id, m.Other)
		}
		if got := myanmar.Normalize(m.Other); got != m.Other {
			t.Errorf("%s: Normalize(%q) = %q", id, m.Other, got)
		}
	}
}
