package locales

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
	"unicode/utf16"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// The checks below return every problem they find instead of stopping at the
// first, and each has a test that runs it on a broken fixture, so a check
// that stops detecting anything fails its own test.

// pluralFormNames are CLDR's plural categories in go-i18n's order.
var pluralFormNames = []string{"zero", "one", "two", "few", "many", "other"}

// forms returns the plural forms a message defines, by CLDR category.
func forms(m *i18n.Message) map[string]string {
	all := map[string]string{
		"zero": m.Zero, "one": m.One, "two": m.Two,
		"few": m.Few, "many": m.Many, "other": m.Other,
	}
	for k, v := range all {
		if v == "" {
			delete(all, k)
		}
	}
	return all
}

// texts returns every text of a message, one per defined form.
func texts(m *i18n.Message) []string {
	var out []string
	for _, name := range pluralFormNames {
		if s, ok := forms(m)[name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// isPlural reports whether the English message is a plural one; English is
// the reference for which messages take a count.
func isPlural(c *catalog, id string) bool {
	en := c.messages["en"][id]
	if en == nil {
		return false
	}
	f := forms(en)
	return len(f) > 1 || f["other"] == ""
}

// pluralSamples reach every plural category of the languages go-i18n knows:
// CLDR's rules test n, i, v, f, t and the compact exponent, so the samples
// cover small integers (0, 1, 2, 3-10, 11-99, 100-102 for Arabic), exact
// millions (French and Spanish "many"), fractions and compact exponents.
var pluralSamples = func() []any {
	var s []any
	for i := 0; i <= 1100; i++ {
		s = append(s, i)
	}
	s = append(s, 1000000, 2000000, 1000001)
	for _, d := range []string{
		"0.0", "0.1", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5",
		"10.0", "11.5", "100.0", "100.5", "1000000.0",
		"1e3", "1e6", "1.5e6", "1e7",
	} {
		s = append(s, d)
	}
	return s
}()

// requiredForms asks go-i18n which plural categories its CLDR rule for tag
// produces. The rules are internal to go-i18n, so a probe message whose every
// form names its category is localized with each sample count.
func requiredForms(t *testing.T, tag string) []string {
	t.Helper()
	b := i18n.NewBundle(language.English)
	probe := &i18n.Message{ID: "probe", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}
	lt := language.MustParse(tag)
	if err := b.AddMessages(lt, probe); err != nil {
		t.Fatalf("probe %s: %v", tag, err)
	}
	loc := i18n.NewLocalizer(b, tag)
	seen := map[string]bool{}
	for _, n := range pluralSamples {
		out, got, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: "probe", PluralCount: n})
		if err != nil {
			t.Fatalf("probe %s with %v: %v", tag, n, err)
		}
		if got != lt {
			t.Fatalf("probe for %s matched %s", tag, got)
		}
		seen[out] = true
	}
	var req []string
	for _, name := range pluralFormNames {
		if seen[name] {
			req = append(req, name)
		}
	}
	return req
}

// completenessProblems compares every language with English: the same IDs,
// exactly the plural forms CLDR needs for that language, a non-empty text,
// and a description naming a source on every keyword list.
func completenessProblems(t *testing.T, c *catalog) []string {
	t.Helper()
	var problems []string
	en := c.messages["en"]
	for _, lang := range c.languages {
		msgs := c.messages[lang]
		for id := range en {
			if msgs[id] == nil {
				problems = append(problems, fmt.Sprintf("%s: missing %s", lang, id))
			}
		}
		var ids []string
		for id := range msgs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		need := requiredForms(t, lang)
		for _, id := range ids {
			m := msgs[id]
			if en[id] == nil {
				problems = append(problems, fmt.Sprintf("%s: %s is not in English", lang, id))
				continue
			}
			var have []string
			for _, name := range pluralFormNames {
				if _, ok := forms(m)[name]; ok {
					have = append(have, name)
				}
			}
			want := []string{"other"}
			if isPlural(c, id) {
				want = need
			}
			if !slices.Equal(have, want) {
				problems = append(problems, fmt.Sprintf("%s: %s has forms %v, want %v", lang, id, have, want))
			}
			if strings.HasPrefix(id, keywordPrefix) && !strings.Contains(m.Description, "Source:") {
				problems = append(problems, fmt.Sprintf("%s: %s has no description naming its source", lang, id))
			}
		}
	}
	return problems
}

// scripts says which script each shipped language writes its letters in.
// A language missing here fails the test, so a new language must declare it.
var scripts = map[string]*unicode.RangeTable{
	"am":    unicode.Ethiopic,
	"ar":    unicode.Arabic,
	"bn":    unicode.Bengali,
	"en":    unicode.Latin,
	"es":    unicode.Latin,
	"fa":    unicode.Arabic,
	"fa-AF": unicode.Arabic,
	"fr":    unicode.Latin,
	"my":    unicode.Myanmar,
	"ne":    unicode.Devanagari,
	"ti":    unicode.Ethiopic,
}

// templateAction matches {{...}}, whose field names are English by design.
var templateAction = regexp.MustCompile(`\{\{[^}]*\}\}`)

// isBidiControl reports marks that change text direction. None is needed:
// the bidi algorithm lays out Arabic-script text with an embedded Latin
// sender name correctly, and a stray mark is invisible to reviewers.
func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}

// scriptProblems reports letters outside a language's script, direction
// marks, and text that is not in Unicode normal form C (decomposed accents,
// or Burmese marks stored out of order, which breaks keyword matching).
func scriptProblems(c *catalog, names map[string]string) []string {
	var problems []string
	for _, lang := range c.languages {
		script := scripts[lang]
		if script == nil {
			problems = append(problems, fmt.Sprintf("%s: no script declared in the test's scripts table", lang))
			continue
		}
		type text struct{ where, s string }
		all := []text{{"endonym", names[lang]}}
		for id, m := range c.messages[lang] {
			for _, s := range texts(m) {
				all = append(all, text{id, s})
			}
		}
		for _, tx := range all {
			if !norm.NFC.IsNormalString(tx.s) {
				problems = append(problems, fmt.Sprintf("%s: %s is not NFC: %q", lang, tx.where, tx.s))
			}
			for _, r := range templateAction.ReplaceAllString(tx.s, "") {
				if isBidiControl(r) {
					problems = append(problems, fmt.Sprintf("%s: %s has direction mark %U", lang, tx.where, r))
				}
				if unicode.In(r, unicode.L, unicode.M) && !unicode.In(r, script, unicode.Inherited) {
					problems = append(problems, fmt.Sprintf("%s: %s has %q (%U) outside its script", lang, tx.where, r, r))
				}
			}
		}
	}
	return problems
}

// zawgyiProblems reports Burmese that looks like Zawgyi rather than Unicode:
// Zawgyi stores the vowel sign E (U+1031) before its consonant, as it is
// drawn, and uses code points from U+1060 up for glyph variants that Unicode
// reserves for other languages of the script.
func zawgyiProblems(c *catalog) []string {
	var problems []string
	for id, m := range c.messages["my"] {
		for _, s := range texts(m) {
			rs := []rune(s)
			for i, r := range rs {
				if r >= 0x1060 && r <= 0x109F {
					problems = append(problems, fmt.Sprintf("my: %s has %U, a Zawgyi or non-Burmese code point", id, r))
				}
				if r == 0x1031 {
					ok := i > 0 && ((rs[i-1] >= 0x1000 && rs[i-1] <= 0x1021) || (rs[i-1] >= 0x103B && rs[i-1] <= 0x103E))
					if !ok {
						problems = append(problems, fmt.Sprintf("my: %s has U+1031 before its consonant (Zawgyi order)", id))
					}
				}
			}
		}
	}
	return problems
}

// keywordKey is how inbound words are compared: NFKC folds compatibility
// forms (full-width Latin, presentation forms), case folding ignores case.
func keywordKey(w string) string {
	return cases.Fold().String(norm.NFKC.String(w))
}

// keywordProblems reports words that are not single words, words that occur
// twice in one language (even across lists, since one word cannot both stop
// and start), and English words repeated in another language's lists.
func keywordProblems(c *catalog) []string {
	var problems []string
	english := map[string]string{}
	for id, m := range c.messages["en"] {
		if strings.HasPrefix(id, keywordPrefix) {
			for _, w := range splitKeywords(m.Other) {
				english[keywordKey(w)] = id
			}
		}
	}
	for _, lang := range c.languages {
		seen := map[string]string{}
		var ids []string
		for id := range c.messages[lang] {
			if strings.HasPrefix(id, keywordPrefix) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			words := splitKeywords(c.messages[lang][id].Other)
			if len(words) == 0 {
				problems = append(problems, fmt.Sprintf("%s: %s has no words", lang, id))
			}
			for _, w := range words {
				for _, r := range w {
					if !unicode.In(r, unicode.L, unicode.M) {
						problems = append(problems, fmt.Sprintf("%s: %s word %q has %q, not a letter: keywords are single words separated by ASCII commas", lang, id, w, r))
						break
					}
				}
				k := keywordKey(w)
				if prev, dup := seen[k]; dup {
					problems = append(problems, fmt.Sprintf("%s: %q is in %s and %s", lang, w, prev, id))
				}
				seen[k] = id
				if enID, isEnglish := english[k]; isEnglish && lang != "en" {
					problems = append(problems, fmt.Sprintf("%s: %s repeats English %q from %s; English keywords are always matched", lang, id, w, enID))
				}
			}
		}
	}
	return problems
}

// maxHintUnits bounds the opt-out hint: it rides on every campaign SMS, and
// 40 UTF-16 units is more than half of a 67-unit UCS-2 segment.
const maxHintUnits = 40

// words splits a text into runs of letters and marks, so a keyword counts
// only as a whole word ("रोक" is not found inside "रोक्न").
func words(s string) []string {
	return strings.FieldsFunc(templateAction.ReplaceAllString(s, " "), func(r rune) bool {
		return !unicode.In(r, unicode.L, unicode.M)
	})
}

// hintProblems reports STOP, START and HELP texts that do not name a keyword
// of their own language that works, and an opt-out hint that is too long.
func hintProblems(c *catalog) []string {
	var problems []string
	mentions := []struct {
		id       string
		keywords []string
	}{
		{OptOutHint, []string{KeywordsStop}},
		{StopConfirmation, []string{KeywordsStart}},
		{StartConfirmation, []string{KeywordsStop}},
		{HelpReply, []string{KeywordsStop, KeywordsStart}},
	}
	for _, lang := range c.languages {
		for _, mention := range mentions {
			m := c.messages[lang][mention.id]
			if m == nil {
				continue // completenessProblems reports it
			}
			text := words(m.Other)
			for _, kid := range mention.keywords {
				list := c.messages[lang][kid]
				if list == nil {
					continue
				}
				named := slices.ContainsFunc(splitKeywords(list.Other), func(k string) bool {
					return slices.Contains(text, k)
				})
				if !named {
					problems = append(problems, fmt.Sprintf("%s: %s names no word of %s", lang, mention.id, kid))
				}
			}
		}
		if m := c.messages[lang][OptOutHint]; m != nil {
			if n := len(utf16.Encode([]rune(m.Other))); n > maxHintUnits {
				problems = append(problems, fmt.Sprintf("%s: OptOutHint is %d UTF-16 units, more than %d", lang, n, maxHintUnits))
			}
		}
	}
	return problems
}

// GSM 03.38 basic and extension tables, as in package channels (which
// locales may not import). A Latin-script hint that needs any other character
// switches every campaign SMS it rides on to UCS-2, which more than doubles
// its cost.
const (
	gsmBasic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// gsmProblems reports Latin-script opt-out hints that are not GSM-7.
func gsmProblems(c *catalog) []string {
	var problems []string
	for _, lang := range c.languages {
		m := c.messages[lang][OptOutHint]
		if scripts[lang] != unicode.Latin || m == nil {
			continue
		}
		for _, r := range m.Other {
			if !strings.ContainsRune(gsmBasic+gsmExtension, r) {
				problems = append(problems, fmt.Sprintf("%s: OptOutHint has %q, which is not GSM-7", lang, r))
			}
		}
	}
	return problems
}

// exposingWords must never appear in a system text: a trafficker, employer
// or relative may read the phone (DOMAIN.md, do-no-harm rules).
var exposingWords = []string{
	"traffick", "victim", "exploit", // English
	"trafic", "victime", "traite", // French
	"trata", "víctima", "victima", // Spanish
	"اتجار", "الاتجار", "ضحية", "ضحايا", // Arabic
	"قاچاق", "قربانی", // Persian and Dari
}

// exposureProblems reports system texts that could give the person away.
func exposureProblems(c *catalog) []string {
	var problems []string
	for _, lang := range c.languages {
		for id, m := range c.messages[lang] {
			for _, s := range texts(m) {
				folded := keywordKey(s)
				for _, w := range exposingWords {
					if strings.Contains(folded, keywordKey(w)) {
						problems = append(problems, fmt.Sprintf("%s: %s contains %q", lang, id, w))
					}
				}
			}
		}
	}
	return problems
}

func reportProblems(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

func TestCompleteness(t *testing.T) {
	t.Parallel()
	reportProblems(t, completenessProblems(t, shipped()))
}

func TestScripts(t *testing.T) {
	t.Parallel()
	reportProblems(t, scriptProblems(shipped(), endonyms))
}

func TestBurmeseIsUnicodeNotZawgyi(t *testing.T) {
	t.Parallel()
	if shipped().messages["my"] == nil {
		t.Fatal("Burmese is not shipped")
	}
	reportProblems(t, zawgyiProblems(shipped()))
}

func TestKeywordLists(t *testing.T) {
	t.Parallel()
	reportProblems(t, keywordProblems(shipped()))
}

func TestKeywordsNamedInReplies(t *testing.T) {
	t.Parallel()
	reportProblems(t, hintProblems(shipped()))
}

func TestLatinHintsAreGSM7(t *testing.T) {
	t.Parallel()
	reportProblems(t, gsmProblems(shipped()))
	c, err := parseCatalog(fstest.MapFS{"active.en.toml": {Data: []byte("[OptOutHint]\nother = \"Répondez ARRÊT.\"\n")}})
	if err != nil {
		t.Fatal(err)
	}
	expectProblems(t, gsmProblems(c), "en: OptOutHint has 'Ê'")
}

func TestNoExposingWords(t *testing.T) {
	t.Parallel()
	reportProblems(t, exposureProblems(shipped()))
}

// brokenCatalog is a small set of files with one instance of every defect the
// checks look for.
func brokenCatalog(t *testing.T) *catalog {
	t.Helper()
	fsys := fstest.MapFS{
		"active.en.toml": {Data: []byte(`
[OptOutHint]
other = "Reply STOP to stop."
[StopConfirmation]
other = "No more messages. Reply START to restart."
[StartConfirmation]
other = "Messages resume. Reply STOP to stop."
[HelpReply]
other = "Messages from {{.Sender}}. Reply STOP to stop, START to restart."
[MessageCount]
one = "{{.Count}} message"
other = "{{.Count}} messages"
[KeywordsStop]
description = "Source: Twilio."
other = "STOP, END"
[KeywordsStart]
description = "Source: Twilio."
other = "START"
`)},
		"active.ar.toml": {Data: []byte(`
[OptOutHint]
other = "للإيقاف أرسل STOP وليس أي كلمة أخرى من فضلك يا صديقي العزيز."
[StopConfirmation]
other = "لن تصلك رسائل بعد الآن.` + "\u200f" + `"
[StartConfirmation]
other = "ضحية"
[MessageCount]
one = "رسالة واحدة"
other = "{{.Count}} رسالة"
[KeywordsStop]
other = "توقف, توقف, END, قف،الغاء"
[KeywordsStart]
description = "Source: common usage."
other = "ابدأ"
[Extra]
other = "زائد"
`)},
		"active.my.toml": {Data: []byte(`
[OptOutHint]
other = "` + "\u1031\u101B\u1015\u103A" + `"
[StopConfirmation]
other = "` + "\u101E\u1004\u103A\u1037" + `"
[StartConfirmation]
other = "x"
[HelpReply]
other = "x"
[MessageCount]
other = "{{.Count}}"
[KeywordsStop]
description = "Source: x."
other = "ရပ်"
[KeywordsStart]
description = "Source: x."
other = "စတင်"
`)},
	}
	c, err := parseCatalog(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// expectProblems fails unless every fragment occurs in some problem.
func expectProblems(t *testing.T, problems []string, fragments ...string) {
	t.Helper()
	joined := strings.Join(problems, "\n")
	for _, f := range fragments {
		if !strings.Contains(joined, f) {
			t.Errorf("no problem mentions %q; got:\n%s", f, joined)
		}
	}
}

func TestChecksDetectDefects(t *testing.T) {
	t.Parallel()
	c := brokenCatalog(t)
	t.Run("completeness", func(t *testing.T) {
		t.Parallel()
		expectProblems(t, completenessProblems(t, c),
			"ar: missing HelpReply",
			"ar: Extra is not in English",
			"ar: MessageCount has forms [one other], want [zero one two few many other]",
			"ar: KeywordsStop has no description",
		)
	})
	t.Run("scripts", func(t *testing.T) {
		t.Parallel()
		expectProblems(t, scriptProblems(c, map[string]string{"en": "English", "ar": "العربية", "my": "မြန်မာ"}),
			"ar: OptOutHint has 'S'",
			"ar: StopConfirmation has direction mark U+200F",
			"my: StopConfirmation is not NFC",
			"my: StartConfirmation has 'x'",
		)
	})
	t.Run("zawgyi", func(t *testing.T) {
		t.Parallel()
		expectProblems(t, zawgyiProblems(c), "my: OptOutHint has U+1031 before its consonant")
	})
	t.Run("keywords", func(t *testing.T) {
		t.Parallel()
		expectProblems(t, keywordProblems(c),
			`ar: "توقف" is in KeywordsStop and KeywordsStop`,
			`ar: KeywordsStop repeats English "END"`,
			`ar: KeywordsStop word "قف،الغاء" has '،'`,
		)
	})
	t.Run("hints", func(t *testing.T) {
		t.Parallel()
		expectProblems(t, hintProblems(c),
			"ar: OptOutHint names no word of KeywordsStop",
			"ar: StopConfirmation names no word of KeywordsStart",
			"ar: OptOutHint is "+strconv.Itoa(len(utf16.Encode([]rune("للإيقاف أرسل STOP وليس أي كلمة أخرى من فضلك يا صديقي العزيز."))))+" UTF-16 units",
			"my: HelpReply names no word of KeywordsStop",
		)
	})
	t.Run("exposure", func(t *testing.T) {
		t.Parallel()
		expectProblems(t, exposureProblems(c), `ar: StartConfirmation contains "ضحية"`)
	})
}

func TestRequiredFormsFollowCLDR(t *testing.T) {
	t.Parallel()
	// Known CLDR rules, to show the probe detects every category.
	for tag, want := range map[string][]string{
		"ar": {"zero", "one", "two", "few", "many", "other"},
		"en": {"one", "other"},
		"fr": {"one", "many", "other"},
		"ru": {"one", "few", "many", "other"},
		"my": {"other"},
	} {
		if got := requiredForms(t, tag); !slices.Equal(got, want) {
			t.Errorf("requiredForms(%s) = %v, want %v", tag, got, want)
		}
	}
}
