package locales

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/cases"
)

// required are the languages the product promises (DOMAIN.md, corridor
// languages); fa ships so that Dari's chain fa-AF -> fa -> en has a middle.
var required = []string{"am", "ar", "bn", "en", "es", "fa", "fa-AF", "fr", "my", "ne", "ti"}

func TestLanguages(t *testing.T) {
	t.Parallel()
	langs := Languages()
	if len(langs) == 0 || langs[0] != "en" {
		t.Fatalf("Languages() = %v, want English first", langs)
	}
	if !slices.IsSorted(langs[1:]) {
		t.Errorf("Languages()[1:] = %v, want sorted", langs[1:])
	}
	for _, lang := range required {
		if !slices.Contains(langs, lang) {
			t.Errorf("%s is not shipped", lang)
		}
	}
	var loaded []string
	for _, tag := range Bundle().LanguageTags() {
		loaded = append(loaded, tag.String())
	}
	slices.Sort(loaded)
	sorted := slices.Sorted(slices.Values(langs))
	if !slices.Equal(loaded, sorted) {
		t.Errorf("bundle has %v, Languages() says %v", loaded, sorted)
	}
	langs[0] = "changed"
	if Languages()[0] != "en" {
		t.Error("Languages() shares its slice with the package")
	}
}

func TestMessageIDsAreTheContract(t *testing.T) {
	t.Parallel()
	want := []string{
		HelpReply, KeywordsHelp, KeywordsLanguage, KeywordsStart, KeywordsStop, KeywordsTalk,
		LanguageChanged, LanguagePrompt, MessageCount, NotUnderstood, OptOutHint,
		StartConfirmation, StopConfirmation, TalkToPerson,
	}
	slices.Sort(want)
	if got := MessageIDs(); !slices.Equal(got, want) {
		t.Errorf("MessageIDs() = %v, want %v", got, want)
	}
}

// TestLocalizeEveryMessage renders every message in every language through a
// Localizer that knows only that language, as the product uses them, and for
// plural messages with counts that reach every plural form.
func TestLocalizeEveryMessage(t *testing.T) {
	t.Parallel()
	const sender = "Sender Name"
	for _, lang := range Languages() {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			loc := i18n.NewLocalizer(Bundle(), lang)
			for _, id := range MessageIDs() {
				counts := []any{nil}
				if isPlural(shipped(), id) {
					counts = pluralSamples
				}
				for _, n := range counts {
					cfg := &i18n.LocalizeConfig{
						MessageID:    id,
						TemplateData: map[string]any{"Sender": sender, "Count": n},
						PluralCount:  n,
					}
					out, tag, err := loc.LocalizeWithTag(cfg)
					var notFound *i18n.MessageNotFoundErr
					switch {
					case errors.As(err, &notFound):
						t.Fatalf("%s: %v", id, err)
					case err != nil:
						t.Fatalf("%s (count %v): %v", id, n, err)
					}
					if tag.String() != lang {
						t.Fatalf("%s rendered in %s, want %s", id, tag, lang)
					}
					if strings.TrimSpace(out) == "" || strings.Contains(out, "<no value>") {
						t.Fatalf("%s (count %v) rendered %q", id, n, out)
					}
					if id == HelpReply && !strings.Contains(out, sender) {
						t.Errorf("%s does not name the sender: %q", id, out)
					}
				}
			}
		})
	}
}

// TestFallbackMatching pins how go-i18n matches the tags contacts have to the
// shipped files: regional variants must reach their language, and Dari must
// not be served Iranian Persian.
func TestFallbackMatching(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"es-419": "es",
		"es-VE":  "es",
		"fr-CA":  "fr",
		"fa-AF":  "fa-AF",
		"fa-IR":  "fa",
		"ar-SA":  "ar",
		"am-ET":  "am",
		"ti-ER":  "ti",
		"my-MM":  "my",
		"ne-NP":  "ne",
		"bn-BD":  "bn",
		"en-US":  "en",
		"sw":     "en",
	} {
		_, tag, _ := i18n.NewLocalizer(Bundle(), in).LocalizeWithTag(&i18n.LocalizeConfig{MessageID: OptOutHint})
		if tag.String() != want {
			t.Errorf("%s matched %s, want %s", in, tag, want)
		}
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	if got, want := Keywords("en", KeywordsStop), []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}; !slices.Equal(got, want) {
		t.Errorf(`Keywords("en", KeywordsStop) = %q, want %q`, got, want)
	}
	if got, want := Keywords("en", KeywordsStart), []string{"START", "YES", "UNSTOP"}; !slices.Equal(got, want) {
		t.Errorf(`Keywords("en", KeywordsStart) = %q, want %q`, got, want)
	}
	if got := Keywords("fa-af", KeywordsStop); !slices.Equal(got, Keywords("fa-AF", KeywordsStop)) || len(got) == 0 {
		t.Errorf(`Keywords("fa-af") = %q, want the fa-AF list`, got)
	}
	for _, lang := range Languages() {
		for _, id := range MessageIDs() {
			if !strings.HasPrefix(id, keywordPrefix) {
				continue
			}
			words := Keywords(lang, id)
			if len(words) == 0 {
				t.Errorf("%s: %s is empty", lang, id)
			}
			for _, w := range words {
				if w == "" || w != strings.TrimSpace(w) {
					t.Errorf("%s: %s has untrimmed word %q", lang, id, w)
				}
			}
		}
	}
	for _, c := range []struct{ lang, id string }{
		{"sw", KeywordsStop},
		{"not a tag", KeywordsStop},
		{"en", OptOutHint},
		{"en", "KeywordsMissing"},
	} {
		if got := Keywords(c.lang, c.id); got != nil {
			t.Errorf("Keywords(%q, %q) = %q, want nil", c.lang, c.id, got)
		}
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	fold := cases.Fold()
	for _, lang := range Languages() {
		name := Name(lang)
		if name == "" {
			t.Errorf("Name(%q) is empty", lang)
			continue
		}
		// The confirmation of a language change names the language the
		// same way the picker does, so people recognise their choice.
		changed := shipped().messages[lang][LanguageChanged].Other
		if !strings.Contains(fold.String(changed), fold.String(name)) {
			t.Errorf("%s: LanguageChanged %q does not contain the endonym %q", lang, changed, name)
		}
	}
	if got := Name("fa-af"); got != "دری" {
		t.Errorf(`Name("fa-af") = %q, want دری`, got)
	}
	if got := Name("sw"); got != "" {
		t.Errorf(`Name("sw") = %q, want "" for a language not shipped`, got)
	}
}

func TestParseCatalogRejectsBadFiles(t *testing.T) {
	t.Parallel()
	en := &fstest.MapFile{Data: []byte("[OptOutHint]\nother = \"Reply STOP to stop.\"\n")}
	for name, fsys := range map[string]fstest.MapFS{
		"non-canonical tag": {"active.en.toml": en, "active.fa-af.toml": en},
		"no English":        {"active.fr.toml": en},
		"bad TOML":          {"active.en.toml": {Data: []byte("[OptOutHint\n")}},
	} {
		if _, err := parseCatalog(fsys); err == nil {
			t.Errorf("%s: parseCatalog accepted it", name)
		}
	}
	c, err := parseCatalog(fstest.MapFS{"active.en.toml": en, "active.fa-AF.toml": en, "active.am.toml": en})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"en", "am", "fa-AF"}; !slices.Equal(c.languages, want) {
		t.Errorf("languages = %v, want %v", c.languages, want)
	}
}
