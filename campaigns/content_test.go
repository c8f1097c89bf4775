package campaigns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/locales"
)

// hint returns the opt-out hint locales ships for lang, asking go-i18n
// directly and checking it answered in lang itself, so a test fails if the
// hint ever comes from another language.
func hint(t testing.TB, lang string) string {
	t.Helper()
	s, tag, err := i18n.NewLocalizer(locales.Bundle(), lang).LocalizeWithTag(&i18n.LocalizeConfig{MessageID: locales.OptOutHint})
	if err != nil || tag.String() != lang || s == "" {
		t.Fatalf("locales has no OptOutHint in %s: %q, %s, %v", lang, s, tag, err)
	}
	return s
}

func intp(n int) *int { return &n }

func TestValidateContents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		contents Contents
		want     []ContentError
	}{
		{
			name: "valid texts in corridor languages",
			contents: Contents{
				"en":    {One: "{{.Count}} day left. Call {{.Hotline}}.", Other: "{{.Count}} days left. Call {{.Hotline}}."},
				"am":    {One: "{{.Count}} ቀን ቀርቷል።", Other: "{{.Count}} ቀናት ቀርተዋል።"},
				"ar":    {Zero: "لم يبق أي يوم.", One: "بقي يوم واحد.", Two: "بقي يومان.", Few: "بقيت {{.Count}} أيام.", Many: "بقي {{.Count}} يومًا.", Other: "بقي {{.Count}} يوم."},
				"my":    {Other: "{{.Count}} ရက် ကျန်သည်။"},
				"fa-AF": {Other: "{{with .Name}}{{.}} جان، {{end}}به {{$.Hotline}} زنگ بزنید.{{/* Dari */}}"},
				"ti":    {Other: "{{if and .Name (ne .Name \"x\")}}ሰላም {{.Name}}፣ {{else}}ሰላም፣ {{end}}{{printf \"%s\" .Hotline}} ደውሉ።"},
				"rhg":   {Other: "{{.Count}} din"},
				"ne":    {Other: "{{- $n := .Name -}} नमस्ते {{$n}} {{len .Hotline}}"},
			},
		},
		{
			name:     "syntax error on line 2",
			contents: Contents{"en": {Other: "Line one\nCall {{.Hotline}} now {{end}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Line: 2, Column: 23, Message: "unexpected {{end}}"}},
		},
		{
			name:     "unclosed action after Ethiopic text",
			contents: Contents{"am": {Other: "ሰላም {{.Name"}},
			want:     []ContentError{{Language: "am", Form: "other", Line: 1, Column: 5, Message: "unclosed action"}},
		},
		{
			name:     "missing end points at the block left open",
			contents: Contents{"en": {Other: "{{if .Name}}Hi {{.Name}}{{end}}\n{{with .Hotline}}Call {{.}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Line: 2, Column: 1, Message: "{{with}} has no {{end}}"}},
		},
		{
			name:     "action spanning lines",
			contents: Contents{"en": {Other: "Hi {{if\n  .Name )}}x{{end}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Line: 2, Column: 3, Message: "unexpected right paren in action started on line 1"}},
		},
		{
			name:     "unknown variable",
			contents: Contents{"am": {Other: "ሰላም {{.Nmae}}፣ {{.Hotline}} ይደውሉ።"}},
			want:     []ContentError{{Language: "am", Form: "other", Line: 1, Column: 7, Message: "unknown variable .Nmae (use .Name, .Hotline, .OptOut or .Count)"}},
		},
		{
			name:     "unknown variable with a field points at its start",
			contents: Contents{"en": {Other: "Hi {{.Nmae.First}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Line: 1, Column: 6, Message: "unknown variable .Nmae.First (use .Name, .Hotline, .OptOut or .Count)"}},
		},
		{
			name:     "unknown variable on line 2 of an Arabic text",
			contents: Contents{"ar": {Other: "مرحبا\nاتصل على {{$.Phone}}"}},
			want:     []ContentError{{Language: "ar", Form: "other", Line: 2, Column: 13, Message: "unknown variable $.Phone (use .Name, .Hotline, .OptOut or .Count)"}},
		},
		{
			name:     "forbidden and unknown functions",
			contents: Contents{"en": {Other: "{{call .Name}} {{index .Name 0}}\n{{html .Name}} {{.Name | upper}}"}},
			want: []ContentError{
				{Language: "en", Form: "other", Line: 1, Column: 3, Message: "function call is not allowed (use and, or, not, eq, ne, lt, le, gt, ge, len, print or printf)"},
				{Language: "en", Form: "other", Line: 1, Column: 18, Message: "function index is not allowed (use and, or, not, eq, ne, lt, le, gt, ge, len, print or printf)"},
				{Language: "en", Form: "other", Line: 2, Column: 3, Message: "function html is not allowed (use and, or, not, eq, ne, lt, le, gt, ge, len, print or printf)"},
				{Language: "en", Form: "other", Line: 2, Column: 26, Message: "unknown function upper (use and, or, not, eq, ne, lt, le, gt, ge, len, print or printf)"},
			},
		},
		{
			name:     "range, template, block and define",
			contents: Contents{"en": {Other: `a {{range .Name}}x{{end}} {{template "t"}} {{block "b" .}}y{{end}} {{define "d"}}z{{end}}`}},
			want: []ContentError{
				{Language: "en", Form: "other", Line: 1, Column: 3, Message: "{{range}} is not allowed: a campaign has nothing to loop over"},
				{Language: "en", Form: "other", Line: 1, Column: 27, Message: "{{template}} and {{block}} are not allowed: a campaign text is a single message"},
				{Language: "en", Form: "other", Line: 1, Column: 44, Message: "{{template}} and {{block}} are not allowed: a campaign text is a single message"},
				{Language: "en", Form: "other", Line: 1, Column: 68, Message: "{{define}} is not allowed: a campaign text is a single message"},
			},
		},
		{
			name:     "dot, fields of values and with",
			contents: Contents{"en": {Other: "{{.}} {{.Name.First}} {{with .Name}}{{.Hotline}}{{end}} {{$}}"}},
			want: []ContentError{
				{Language: "en", Form: "other", Line: 1, Column: 3, Message: "{{.}} is all of the data, not one value; use .Name, .Hotline, .OptOut or .Count"},
				{Language: "en", Form: "other", Line: 1, Column: 14, Message: ".Name.First: .Name has no fields"},
				{Language: "en", Form: "other", Line: 1, Column: 39, Message: "inside {{with}}, . is that value itself; write $.Hotline to reach .Hotline"},
				{Language: "en", Form: "other", Line: 1, Column: 59, Message: "$ is all of the data, not one value; use .Name, .Hotline, .OptOut or .Count"},
			},
		},
		{
			name:     "missing plural form in English",
			contents: Contents{"en": {Other: "{{.Count}} days left."}},
			want:     []ContentError{{Language: "en", Form: "one", Message: "English needs a 'one' form because the text uses {{.Count}}"}},
		},
		{
			name:     "Arabic needs all six forms",
			contents: Contents{"ar": {One: "بقي يوم واحد.", Other: "بقي {{.Count}} يوم."}},
			want: []ContentError{
				{Language: "ar", Form: "zero", Message: "Arabic needs a 'zero' form because the text uses {{.Count}}"},
				{Language: "ar", Form: "two", Message: "Arabic needs a 'two' form because the text uses {{.Count}}"},
				{Language: "ar", Form: "few", Message: "Arabic needs a 'few' form because the text uses {{.Count}}"},
				{Language: "ar", Form: "many", Message: "Arabic needs a 'many' form because the text uses {{.Count}}"},
			},
		},
		{
			name:     "extra plural forms",
			contents: Contents{"am": {One: "{{.Count}} ቀን", Few: "{{.Count}} ቀናት", Other: "{{.Count}} ቀናት"}, "my": {One: "x", Other: "{{.Count}} ရက်"}, "rhg": {One: "ek din", Other: "{{.Count}} din"}},
			want: []ContentError{
				{Language: "am", Form: "few", Message: "Amharic has no 'few' form"},
				{Language: "my", Form: "one", Message: "Burmese has no 'one' form"},
				{Language: "rhg", Form: "one", Message: "Rohingya has no 'one' form"},
			},
		},
		{
			name:     "plural forms without a count",
			contents: Contents{"en": {One: "One message.", Other: "Messages."}},
			want:     []ContentError{{Language: "en", Form: "one", Message: "a 'one' form is only chosen by {{.Count}}, which no form uses; only 'other' would ever be sent"}},
		},
		{
			name:     "empty and blank texts",
			contents: Contents{"en": {Other: ""}, "fr": {Other: " \n "}, "es": {One: "  ", Other: "Hola"}},
			want: []ContentError{
				{Language: "en", Form: "other", Message: "the text is empty"},
				{Language: "es", Form: "one", Message: "the 'one' form is blank; write it or leave it out"},
				{Language: "fr", Form: "other", Message: "the text is empty"},
			},
		},
		{
			name:     "bad and non-canonical language tags",
			contents: Contents{"not a tag": {Other: "x"}, "fa-af": {Other: "x"}, "prs": {Other: "x"}, "": {Other: "x"}},
			want: []ContentError{
				{Language: "", Message: "the language tag is empty"},
				{Language: "fa-af", Message: "write the language tag as fa-AF"},
				{Language: "not a tag", Message: "the language tag is not a known BCP-47 language tag, such as am, ar or fa-AF"},
				{Language: "prs", Message: "write the language tag as fa-AF"},
			},
		},
		{
			name:     "type error found by a trial run",
			contents: Contents{"en": {Other: "Hi\n{{if lt .Name 1}}x{{end}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Line: 2, Column: 6, Message: "fails when sent: <lt .Name 1>: error calling lt: incompatible types for comparison: string and int"}},
		},
		{
			name:     "printf format that does not fit",
			contents: Contents{"en": {Other: "100%! {{printf \"%d\" .Name}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Line: 1, Column: 9, Message: "the printf format does not match its arguments"}},
		},
		{
			name:     "text empty without a name",
			contents: Contents{"en": {Other: "{{if .Name}}Hi {{.Name}}{{end}}"}},
			want:     []ContentError{{Language: "en", Form: "other", Message: "the text comes out empty when a contact's name is unknown"}},
		},
		{
			name: "errors sorted by language, then form, then position",
			contents: Contents{
				"ti": {Other: "{{.B}} {{.A}}"},
				"am": {One: "{{.X}}", Other: "{{.Count}}"},
			},
			want: []ContentError{
				{Language: "am", Form: "one", Line: 1, Column: 3, Message: "unknown variable .X (use .Name, .Hotline, .OptOut or .Count)"},
				{Language: "ti", Form: "other", Line: 1, Column: 3, Message: "unknown variable .B (use .Name, .Hotline, .OptOut or .Count)"},
				{Language: "ti", Form: "other", Line: 1, Column: 10, Message: "unknown variable .A (use .Name, .Hotline, .OptOut or .Count)"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ValidateContents(tc.contents)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ValidateContents =\n%s\nwant\n%s", formatErrors(got), formatErrors(tc.want))
			}
		})
	}
}

func formatErrors(errs []ContentError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %#v\n", e)
	}
	if b.Len() == 0 {
		return "  (none)"
	}
	return b.String()
}

func TestContentErrorString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  ContentError
		want string
	}{
		{ContentError{Language: "am", Form: "other", Line: 1, Column: 14, Message: "unknown variable .Nmae"}, "am (other) line 1, column 14: unknown variable .Nmae"},
		{ContentError{Language: "ar", Form: "few", Message: "Arabic needs a 'few' form"}, "ar (few): Arabic needs a 'few' form"},
		{ContentError{Language: "fa-af", Message: "write the language tag as fa-AF"}, "fa-af: write the language tag as fa-AF"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestChain(t *testing.T) {
	t.Parallel()
	dari := map[string][]string{"fa-AF": {"fa", "en"}}
	for _, tc := range []struct {
		name, lang string
		fallbacks  map[string][]string
		def        string
		want       []string
	}{
		{"Dari with a configured chain", "fa-AF", dari, "en", []string{"fa-AF", "fa", "en"}},
		{"Dari without chains walks parent tags", "fa-AF", nil, "en", []string{"fa-AF", "fa", "en"}},
		{"a configured chain replaces parent tags", "fa-AF", map[string][]string{"fa-AF": {"ps"}}, "ar", []string{"fa-AF", "ps", "ar"}},
		{"a parent's configured chain is followed", "fa-IR", map[string][]string{"fa": {"ar"}}, "en", []string{"fa-IR", "fa", "ar", "en"}},
		{"Latin American Spanish", "es-419", nil, "en", []string{"es-419", "es", "en"}},
		{"several subtags", "zh-Hant-TW", nil, "en", []string{"zh-Hant-TW", "zh-Hant", "zh", "en"}},
		{"empty language starts at the default", "", dari, "en", []string{"en"}},
		{"empty language and no default", "", nil, "", nil},
		{"unusable language starts at the default", "x-klingon", nil, "en", []string{"en"}},
		{"ISO 639-3 Dari and keys in any spelling", "prs", map[string][]string{"FA-af": {"fa", "en"}}, "am", []string{"fa-AF", "fa", "en", "am"}},
		{"no duplicates", "en", map[string][]string{"en": {"en", "EN"}}, "en", []string{"en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Chain(tc.lang, tc.fallbacks, tc.def); !slices.Equal(got, tc.want) {
				t.Errorf("Chain(%q, %v, %q) = %q, want %q", tc.lang, tc.fallbacks, tc.def, got, tc.want)
			}
		})
	}
}

// corridorContents is a campaign in the corridor scripts: Arabic and Dari
// (right to left, with a Latin-script name inside), Ethiopic, Devanagari and
// Burmese, plus English and Spanish, and Somali, which locales does not ship.
var corridorContents = Contents{
	"en": {Other: "{{if .Name}}Hello {{.Name}}, {{end}}before you travel, call {{.Hotline}}."},
	"es": {Other: "{{if .Name}}Hola {{.Name}}, {{end}}antes de viajar, llama al {{.Hotline}}."},
	"ar": {Other: "{{if .Name}}مرحباً {{.Name}}، {{end}}قبل السفر اتصل على {{.Hotline}}."},
	"fa": {Other: "{{if .Name}}سلام {{.Name}}، {{end}}پیش از سفر به {{.Hotline}} زنگ بزنید."},
	"am": {Other: "{{if .Name}}ሰላም {{.Name}}፣ {{end}}ከመጓዝዎ በፊት ወደ {{.Hotline}} ይደውሉ።"},
	"ti": {Other: "{{if .Name}}ሰላም {{.Name}}፣ {{end}}ቅድሚ ምጕዓዝኩም ናብ {{.Hotline}} ደውሉ።"},
	"ne": {Other: "{{if .Name}}नमस्ते {{.Name}}, {{end}}यात्रा अघि {{.Hotline}} मा फोन गर्नुहोस्।"},
	"my": {Other: "{{if .Name}}မင်္ဂလာပါ {{.Name}}၊ {{end}}မခရီးမီ {{.Hotline}} ကို ဖုန်းဆက်ပါ။"},
	"so": {Other: "{{if .Name}}Salaan {{.Name}}, {{end}}ka hor safarka wac {{.Hotline}}."},
}

const hotline = "+254 700 000 000"

func TestRender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lang, name string
		appendOpt  bool
		want       string // before the hint
	}{
		{"ar", "Amina", false, "مرحباً Amina، قبل السفر اتصل على +254 700 000 000."},
		{"ar", "Amina", true, "مرحباً Amina، قبل السفر اتصل على +254 700 000 000."},
		{"ar", "", true, "قبل السفر اتصل على +254 700 000 000."},
		{"fa", "Zahra", true, "سلام Zahra، پیش از سفر به +254 700 000 000 زنگ بزنید."},
		{"am", "አበበ", true, "ሰላም አበበ፣ ከመጓዝዎ በፊት ወደ +254 700 000 000 ይደውሉ።"},
		{"ti", "", true, "ቅድሚ ምጕዓዝኩም ናብ +254 700 000 000 ደውሉ።"},
		{"ne", "सीता", true, "नमस्ते सीता, यात्रा अघि +254 700 000 000 मा फोन गर्नुहोस्।"},
		{"my", "", true, "မခရီးမီ +254 700 000 000 ကို ဖုန်းဆက်ပါ။"},
		{"en", "  Sam \n", false, "Hello Sam, before you travel, call +254 700 000 000."},
		{"so", "Hodan", false, "Salaan Hodan, ka hor safarka wac +254 700 000 000."},
	} {
		t.Run(fmt.Sprintf("%s/%q/%v", tc.lang, tc.name, tc.appendOpt), func(t *testing.T) {
			t.Parallel()
			r, err := NewRenderer(corridorContents, RenderOptions{DefaultLanguage: "en", Hotline: hotline, AppendOptOut: tc.appendOpt})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Render(tc.lang, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if tc.appendOpt {
				want += "\n" + hint(t, tc.lang)
			}
			// Byte for byte: no direction marks, no normalisation.
			if got != want {
				t.Errorf("Render(%s) =\n%q\nwant\n%q", tc.lang, got, want)
			}
			for _, r := range got {
				if r == '\u061C' || r == '\u200E' || r == '\u200F' || ('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069') {
					t.Errorf("Render(%s) added direction mark %U", tc.lang, r)
				}
			}
		})
	}
}

func TestRenderDariZeroWidthNonJoiner(t *testing.T) {
	t.Parallel()
	// U+200C is standard Dari spelling and must survive untouched.
	text := "پیام\u200cها را بخوانید: {{.Hotline}}"
	r, err := NewRenderer(Contents{"fa-AF": {Other: text}}, RenderOptions{Hotline: "+93 700 000 000"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Render("fa-AF", "")
	if want := "پیام\u200cها را بخوانید: +93 700 000 000"; err != nil || got != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dari := map[string][]string{"fa-AF": {"fa", "en"}, "so": {"ar", "en"}}
	somaliHint := Contents{"so": {Other: "Wac {{.Hotline}}. {{.OptOut}}"}, "en": {Other: "Call {{.Hotline}}. {{.OptOut}}"}}
	for _, tc := range []struct {
		name      string
		contents  Contents
		appendOpt bool
		lang      string
		want      string
		fellBack  bool
		ok        bool
	}{
		{"Dari falls back to Persian by the configured chain", corridorContents, true, "fa-AF", "fa", true, true},
		{"Dari content is used when there is some", Contents{"fa-AF": {Other: "سلام"}, "fa": {Other: "درود"}}, true, "fa-AF", "fa-AF", false, true},
		{"Dari falls back to English when Persian is missing", Contents{"en": {Other: "Hi"}, "ar": {Other: "مرحبا"}}, true, "fa-AF", "en", true, true},
		{"Tigrinya has content and a hint", corridorContents, true, "ti", "ti", false, true},
		{"Somali content but no Somali hint moves along the chain", corridorContents, true, "so", "ar", true, true},
		{"Somali without a hint to append keeps Somali", corridorContents, false, "so", "so", false, true},
		{"a Somali text placing the hint itself moves along the chain", somaliHint, false, "so", "en", true, true},
		{"Latin American Spanish takes Spanish", corridorContents, true, "es-419", "es", true, true},
		{"no language takes the default without falling back", corridorContents, true, "", "en", false, true},
		{"canonicalised contact language", corridorContents, true, "prs", "fa", true, true},
		{"nothing qualifies", Contents{"so": {Other: "Salaan"}}, true, "so", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRenderer(tc.contents, RenderOptions{Fallbacks: dari, DefaultLanguage: "en", Hotline: hotline, AppendOptOut: tc.appendOpt})
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the second answer comes from the cache.
			for range 2 {
				lang, fellBack, ok := r.Resolve(tc.lang)
				if lang != tc.want || fellBack != tc.fellBack || ok != tc.ok {
					t.Fatalf("Resolve(%q) = %q, %v, %v; want %q, %v, %v", tc.lang, lang, fellBack, ok, tc.want, tc.fellBack, tc.ok)
				}
			}
			if !tc.ok {
				return
			}
			// The resolved language renders, wholly in that language.
			got, err := r.Render(tc.want, "")
			if err != nil {
				t.Fatal(err)
			}
			if tc.appendOpt && !strings.HasSuffix(got, "\n"+hint(t, tc.want)) {
				t.Errorf("Render(%s) = %q, want it to end with the %s hint", tc.want, got, tc.want)
			}
		})
	}
}

func TestResolveTakesHintFromParentTag(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer(Contents{"es-419": {Other: "Llama al {{.Hotline}}."}}, RenderOptions{Hotline: hotline, AppendOptOut: true})
	if err != nil {
		t.Fatal(err)
	}
	if lang, fellBack, ok := r.Resolve("es-419"); lang != "es-419" || fellBack || !ok {
		t.Fatalf("Resolve(es-419) = %q, %v, %v", lang, fellBack, ok)
	}
	got, err := r.Render("es-419", "")
	if want := "Llama al " + hotline + ".\n" + hint(t, "es"); err != nil || got != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
}

func TestRenderRefusesLanguagesItCannotWriteWhole(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer(corridorContents, RenderOptions{DefaultLanguage: "en", Hotline: hotline, AppendOptOut: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"de", "so", "fa-AF"} {
		if got, err := r.Render(lang, "x"); err == nil {
			t.Errorf("Render(%s) = %q, want an error", lang, got)
		}
	}
}

func TestRenderOptOutPlacement(t *testing.T) {
	t.Parallel()
	c := Contents{"en": {Other: "{{.OptOut}} Call {{.Hotline}}.  \n\t"}, "am": {Other: "ወደ {{.Hotline}} ይደውሉ።\n\n"}}
	for _, tc := range []struct {
		lang      string
		appendOpt bool
		want      string
	}{
		{"en", true, hint(t, "en") + " Call " + hotline + "."},
		{"en", false, hint(t, "en") + " Call " + hotline + "."},
		{"am", true, "ወደ " + hotline + " ይደውሉ።\n" + hint(t, "am")},
		{"am", false, "ወደ " + hotline + " ይደውሉ።"},
	} {
		r, err := NewRenderer(c, RenderOptions{Hotline: hotline, AppendOptOut: tc.appendOpt})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Render(tc.lang, ""); err != nil || got != tc.want {
			t.Errorf("Render(%s, append=%v) = %q, %v; want %q", tc.lang, tc.appendOpt, got, err, tc.want)
		}
	}
}

func TestRenderPlurals(t *testing.T) {
	t.Parallel()
	c := Contents{
		"en": {One: "{{.Count}} day left.", Other: "{{.Count}} days left."},
		"ar": {
			Zero: "صفر: {{.Count}}", One: "واحد: {{.Count}}", Two: "اثنان: {{.Count}}",
			Few: "قليل: {{.Count}}", Many: "كثير: {{.Count}}", Other: "آخر: {{.Count}}",
		},
		// CLDR Amharic: one is i = 0 or n = 1, so zero takes "one".
		"am": {One: "አንድ: {{.Count}}", Other: "ሌላ: {{.Count}}"},
		"my": {Other: "{{.Count}} ရက်"},
		// go-i18n has no rule for Rohingya; CLDR's root rule has "other" only.
		"rhg": {Other: "{{.Count}} din"},
	}
	for _, tc := range []struct {
		lang  string
		count int
		want  string
	}{
		{"en", 1, "1 day left."},
		{"en", 0, "0 days left."},
		{"en", 5, "5 days left."},
		{"ar", 0, "صفر: 0"},
		{"ar", 1, "واحد: 1"},
		{"ar", 2, "اثنان: 2"},
		{"ar", 3, "قليل: 3"},
		{"ar", 10, "قليل: 10"},
		{"ar", 11, "كثير: 11"},
		{"ar", 99, "كثير: 99"},
		{"ar", 100, "آخر: 100"},
		{"ar", 102, "آخر: 102"},
		{"ar", 103, "قليل: 103"},
		{"am", 0, "አንድ: 0"},
		{"am", 1, "አንድ: 1"},
		{"am", 2, "ሌላ: 2"},
		{"my", 1, "1 ရက်"},
		{"rhg", 1, "1 din"},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.lang, tc.count), func(t *testing.T) {
			t.Parallel()
			r, err := NewRenderer(c, RenderOptions{Count: intp(tc.count)})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := r.Render(tc.lang, ""); err != nil || got != tc.want {
				t.Errorf("Render = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestRenderPluralFormPlacesOptOut(t *testing.T) {
	t.Parallel()
	// Only the "one" form places the hint; with AppendOptOut, "other" gets it
	// appended and "one" does not get it twice.
	c := Contents{"en": {One: "{{.Count}} day. {{.OptOut}}", Other: "{{.Count}} days."}}
	for count, want := range map[int]string{
		1: "1 day. " + hint(t, "en"),
		2: "2 days.\n" + hint(t, "en"),
	} {
		r, err := NewRenderer(c, RenderOptions{Count: intp(count), AppendOptOut: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Render("en", ""); err != nil || got != want {
			t.Errorf("count %d: Render = %q, %v; want %q", count, got, err, want)
		}
	}
}

func TestNewRendererErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		contents Contents
		opts     RenderOptions
		field    string
		message  string
	}{
		{"invalid contents", Contents{"am": {Other: "{{.Nmae}}"}, "xx yy": {Other: "x"}}, RenderOptions{}, "contents", "am (other) line 1, column 3: unknown variable .Nmae"},
		{"no contents", Contents{}, RenderOptions{}, "contents", "no text in any language"},
		{"count missing", Contents{"en": {One: "{{.Count}} day", Other: "{{.Count}} days"}}, RenderOptions{}, "count", "needs a count"},
		{"hotline missing", Contents{"en": {Other: "Call {{.Hotline}}"}}, RenderOptions{}, "hotline", "no hotline number"},
		{"bad default language", Contents{"en": {Other: "Hi"}}, RenderOptions{DefaultLanguage: "not a tag"}, "default_language", "not a language tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRenderer(tc.contents, tc.opts)
			if err == nil {
				t.Fatalf("NewRenderer = %v, want an error", r)
			}
			e, ok := errcode.As(err)
			if !ok || e.Code != errcode.Invalid || e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Errorf("NewRenderer error = %#v, want Invalid on %s containing %q", err, tc.field, tc.message)
			}
		})
	}
	_, err := NewRenderer(Contents{"am": {Other: "{{.Nmae}}"}, "en": {Other: ""}}, RenderOptions{})
	var ce ContentError
	if !errors.As(err, &ce) || ce.Language != "am" {
		t.Errorf("errors.As(%v, ContentError) found %#v, want the am error first", err, ce)
	}
}

func TestRendererLanguages(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer(corridorContents, RenderOptions{Hotline: hotline})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"am", "ar", "en", "es", "fa", "my", "ne", "so", "ti"}
	got := r.Languages()
	if !slices.Equal(got, want) {
		t.Errorf("Languages() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if r.Languages()[0] != "am" {
		t.Error("Languages() shares its slice with the Renderer")
	}
}

func TestRenderConcurrently(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer(corridorContents, RenderOptions{Fallbacks: map[string][]string{"fa-AF": {"fa"}}, DefaultLanguage: "en", Hotline: hotline, AppendOptOut: true})
	if err != nil {
		t.Fatal(err)
	}
	contactLangs := []string{"fa-AF", "am", "ti", "ar", "ne", "my", "es-419", "so", ""}
	want := map[string]string{}
	for _, l := range contactLangs {
		lang, _, _ := r.Resolve(l)
		want[l], err = r.Render(lang, "Amina")
		if err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := NewRenderer(corridorContents, RenderOptions{Fallbacks: map[string][]string{"fa-AF": {"fa"}}, DefaultLanguage: "en", Hotline: hotline, AppendOptOut: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				l := contactLangs[(g+i)%len(contactLangs)]
				lang, _, ok := fresh.Resolve(l)
				if !ok {
					t.Errorf("Resolve(%q) failed", l)
					return
				}
				got, err := fresh.Render(lang, "Amina")
				if err != nil || got != want[l] {
					t.Errorf("Render for %q = %q, %v; want %q", l, got, err, want[l])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRenderedAmharicIsUCS2(t *testing.T) {
	t.Parallel()
	sentence := "ሥራ ለማግኘት ከመጓዝዎ በፊት ውሉን በደንብ ያንብቡ፤ ፓስፖርትዎን ለማንም አይስጡ። "
	r, err := NewRenderer(Contents{"am": {Other: strings.Repeat(sentence, 3) + "ጥያቄ ካለዎት ወደ {{.Hotline}} ይደውሉ።"}}, RenderOptions{Hotline: hotline, AppendOptOut: true})
	if err != nil {
		t.Fatal(err)
	}
	text, err := r.Render("am", "")
	if err != nil {
		t.Fatal(err)
	}
	units := len(utf16.Encode([]rune(text)))
	got := channels.CountSegments(text)
	// Ethiopic syllables are single BMP code points and whole graphemes, so
	// the segments fill to 67 units each.
	want := channels.SegmentCount{Encoding: channels.EncodingUCS2, Segments: (units + 66) / 67, Units: units}
	if units <= 70 || got != want {
		t.Errorf("CountSegments(%d units of Amharic) = %+v, want %+v", units, got, want)
	}
}

func BenchmarkRender(b *testing.B) {
	r, err := NewRenderer(corridorContents, RenderOptions{Fallbacks: map[string][]string{"fa-AF": {"fa"}}, DefaultLanguage: "en", Hotline: hotline, AppendOptOut: true})
	if err != nil {
		b.Fatal(err)
	}
	contactLangs := []string{"fa-AF", "am", "ti", "ar", "ne", "my", "es-419", "so", ""}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			lang, _, _ := r.Resolve(contactLangs[i%len(contactLangs)])
			if _, err := r.Render(lang, "Amina"); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
