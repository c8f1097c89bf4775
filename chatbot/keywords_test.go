package chatbot_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/locales"
)

// keywordIntents pairs each intent with the locales list it is read from.
var keywordIntents = []struct {
	intent  chatbot.Intent
	message string
}{
	{chatbot.IntentStop, locales.KeywordsStop},
	{chatbot.IntentStart, locales.KeywordsStart},
	{chatbot.IntentHelp, locales.KeywordsHelp},
	{chatbot.IntentLanguage, locales.KeywordsLanguage},
	{chatbot.IntentTalk, locales.KeywordsTalk},
}

// shippedMatcher has no overrides; a Matcher is immutable, so the tests share it.
var shippedMatcher = chatbot.NewMatcher(chatbot.Overrides{})

type matchCase struct {
	text, prefer string
	intent       chatbot.Intent
	lang         string
}

func checkMatch(t *testing.T, m *chatbot.Matcher, c matchCase) {
	t.Helper()
	intent, lang := m.Match(c.text, c.prefer)
	if intent != c.intent || lang != c.lang {
		t.Errorf("Match(%q, %q) = (%q, %q), want (%q, %q)", c.text, c.prefer, intent, lang, c.intent, c.lang)
	}
}

// TestKeywordShippedEveryLanguage matches every word of every shipped list, as written and as
// phones and people vary it, and expects the intent and the language of that list.
func TestKeywordShippedEveryLanguage(t *testing.T) {
	t.Parallel()
	for _, ki := range keywordIntents {
		for _, lang := range locales.Languages() {
			t.Run(string(ki.intent)+"/"+lang, func(t *testing.T) {
				t.Parallel()
				words := locales.Keywords(lang, ki.message)
				if len(words) == 0 {
					t.Fatalf("%s has no %s keywords", lang, ki.message)
				}
				for _, w := range words {
					for _, text := range []string{
						w,
						strings.ToUpper(w),
						strings.ToLower(w),
						"  " + w + " \n",
						w + "!",
						w + "።",
						"«" + w + "»",
						"\u200f" + w + "\u200f",
					} {
						checkMatch(t, shippedMatcher, matchCase{text, lang, ki.intent, lang})
					}
				}
			})
		}
	}
}

// TestKeywordEnglishEveryLanguage checks that the English words work whatever language the
// contact prefers.
func TestKeywordEnglishEveryLanguage(t *testing.T) {
	t.Parallel()
	prefers := append(locales.Languages(), "", "xx", "fa-IR")
	for _, ki := range keywordIntents {
		words := locales.Keywords("en", ki.message)
		if len(words) == 0 {
			t.Fatalf("en has no %s keywords", ki.message)
		}
		for _, prefer := range prefers {
			t.Run(string(ki.intent)+"/"+prefer, func(t *testing.T) {
				t.Parallel()
				var theirs []string
				for _, w := range locales.Keywords(prefer, ki.message) {
					theirs = append(theirs, chatbot.Normalize(w))
				}
				for _, w := range words {
					want := "en"
					if slices.Contains(theirs, chatbot.Normalize(w)) {
						want = prefer
					}
					checkMatch(t, shippedMatcher, matchCase{w, prefer, ki.intent, want})
					checkMatch(t, shippedMatcher, matchCase{strings.ToLower(w) + ".", prefer, ki.intent, want})
				}
			})
		}
	}
}

// TestKeywordShippedIntentsDisjoint fails when a translation lists a word under two intents, in
// the same or in different languages: precedence would then silently decide what it means, and
// that has to be a choice someone makes.
func TestKeywordShippedIntentsDisjoint(t *testing.T) {
	t.Parallel()
	type listing struct {
		intent chatbot.Intent
		where  string
	}
	owner := map[string]listing{}
	for _, ki := range keywordIntents {
		for _, lang := range locales.Languages() {
			for _, w := range locales.Keywords(lang, ki.message) {
				n := chatbot.Normalize(w)
				if n == "" {
					t.Errorf("%s %s %q normalizes to nothing", lang, ki.message, w)
					continue
				}
				here := listing{ki.intent, fmt.Sprintf("%s in %s", w, lang)}
				if prev, ok := owner[n]; ok && prev.intent != ki.intent {
					t.Errorf("%q is %s (%s) and %s (%s)", n, prev.intent, prev.where, here.intent, here.where)
				}
				owner[n] = here
			}
		}
	}
}

func TestKeywordVariants(t *testing.T) {
	t.Parallel()
	stop, start, help, talk := chatbot.IntentStop, chatbot.IntentStart, chatbot.IntentHelp, chatbot.IntentTalk
	tests := map[string]matchCase{
		"title case":                 {"Stop", "en", stop, "en"},
		"mixed case":                 {"sToP", "fr", stop, "en"},
		"trailing punctuation":       {"STOP!!!", "", stop, "en"},
		"straight quotes":            {`"stop"`, "", stop, "en"},
		"curly quotes and full stop": {"“Stop.”", "", stop, "en"},
		"whitespace and newlines":    {"\n\t  stop \r\n", "", stop, "en"},
		"full-width":                 {"ＳＴＯＰ", "", stop, "en"},
		"trailing emoji":             {"STOP 🛑", "", stop, "en"},
		"heart with selector":        {"❤️ stop ❤️", "", stop, "en"},
		"telegram command":           {"/stop", "", stop, "en"},
		"hashtag":                    {"#Help", "", help, "en"},
		"french accented":            {"ARRÊT", "", stop, "fr"},
		"french unaccented":          {"arret", "", stop, "fr"},
		"french decomposed accent":   {"ARRE\u0302T", "", stop, "fr"},
		"french spaced question":     {"Aide ?", "", help, "fr"},
		"spanish inverted marks":     {"¡Baja!", "", stop, "es"},
		"arabic guillemets":          {"«توقف»", "ar", stop, "ar"},
		"arabic shadda":              {"توقّف", "ar", stop, "ar"},
		"arabic full harakat":        {"تَوَقَّفْ", "ar", stop, "ar"},
		"arabic tatweel":             {"تـوقف", "ar", stop, "ar"},
		"arabic question mark":       {"توقف؟", "ar", stop, "ar"},
		"arabic presentation forms":  {"\uFE97\uFEEE\uFED8\uFED2", "ar", stop, "ar"},
		"arabic with farsi yeh":      {"ایقاف", "", stop, "ar"},
		"persian with arabic kaf":    {"كمك", "fa", help, "fa"},
		"persian zwnj":               {"گفت\u200cگو", "", talk, "fa"},
		"shared word, first":         {"توقف", "", stop, "ar"},
		"shared word, preferred":     {"توقف", "fa-AF", stop, "fa-AF"},
		"prefer case-insensitive":    {"توقف", "fa-af", stop, "fa-AF"},
		"prefer underscore":          {"توقف", "fa_AF", stop, "fa-AF"},
		"prefer base language":       {"توقف", "fa-IR", stop, "fa"},
		"prefer not among them":      {"توقف", "am", stop, "ar"},
		"amharic full stop":          {"አቁም።", "am", stop, "am"},
		"amharic wordspace":          {"አቁም፡", "am", stop, "am"},
		"amharic zwj inside":         {"ሰ\u200dው", "am", talk, "am"},
		"ethiopic shared, first":     {"ጀምር", "", start, "am"},
		"ethiopic shared, tigrinya":  {"ጀምር", "ti", start, "ti"},
		"tigrinya comma":             {"ኣቋርጽ፣", "", stop, "ti"},
		"nepali danda":               {"रोक्नुहोस्।", "", stop, "ne"},
		"bengali exclamation":        {"থামুন!", "", stop, "bn"},
		"burmese in zawgyi":          {"\u101B\u1015\u1039", "", stop, "my"},
		"burmese in zawgyi, please":  {"\u101B\u1015\u1039\u1015\u102B", "", stop, "my"},
		"burmese section mark":       {"ရပ်ပါ။", "", stop, "my"},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkMatch(t, shippedMatcher, c)
		})
	}
}

// TestKeywordNonMatches holds messages that must reach the menus and answers instead: only a
// whole message that is a keyword counts.
func TestKeywordNonMatches(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"sentence starting with keyword": "stop sending me",
		"sentence ending with keyword":   "please stop",
		"long sentence":                  "I want to stop working here but my employer keeps my passport and I need help",
		"keyword twice":                  "STOP STOP",
		"longer word":                    "stopp",
		"shorter word":                   "sto",
		"spaced letters":                 "s t o p",
		"empty":                          "",
		"only spaces":                    " \n\t ",
		"only punctuation":               "!!!?",
		"only quotes":                    "«»",
		"only emoji":                     "🛑",
		"number":                         "1",
		"greeting":                       "hello",
		"arabic sentence":                "لا توقف",
		"amharic sentence":               "አቁም እባክህ",
		"deep link start":                "/start lang-am_c42",
		// Latin accents are not stripped, so a wrong accent is another word.
		"wrong french accent": "ARRÉT",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkMatch(t, shippedMatcher, matchCase{text, "en", chatbot.IntentNone, ""})
		})
	}
}

func TestKeywordOverrides(t *testing.T) {
	t.Parallel()
	stop, help, talk, none := chatbot.IntentStop, chatbot.IntentHelp, chatbot.IntentTalk, chatbot.IntentNone
	tests := map[string]struct {
		overrides chatbot.Overrides
		cases     []matchCase
	}{
		"amharic word added": {
			chatbot.Overrides{Add: map[chatbot.Intent][]string{stop: {"ተወው"}}},
			[]matchCase{{"ተወው", "am", stop, ""}, {"ተወው።", "", stop, ""}, {"STOP", "", stop, "en"}},
		},
		"english word removed": {
			chatbot.Overrides{Remove: map[chatbot.Intent][]string{stop: {"END"}}},
			[]matchCase{{"END", "", none, ""}, {"end.", "en", none, ""}, {"STOP", "", stop, "en"}, {"quit", "", stop, "en"}},
		},
		"removed in another spelling": {
			chatbot.Overrides{Remove: map[chatbot.Intent][]string{stop: {"  «end»! "}}},
			[]matchCase{{"END", "", none, ""}, {"STOP", "", stop, "en"}},
		},
		"removed only from its intent": {
			chatbot.Overrides{Remove: map[chatbot.Intent][]string{help: {"END"}}},
			[]matchCase{{"END", "", stop, "en"}},
		},
		"added and removed": {
			chatbot.Overrides{
				Add:    map[chatbot.Intent][]string{stop: {"ተወው"}},
				Remove: map[chatbot.Intent][]string{stop: {"ተወው"}},
			},
			[]matchCase{{"ተወው", "", none, ""}},
		},
		"shipped word added again keeps its language": {
			chatbot.Overrides{Add: map[chatbot.Intent][]string{stop: {"stop"}}},
			[]matchCase{{"STOP", "", stop, "en"}},
		},
		"stop outranks an addition elsewhere": {
			chatbot.Overrides{Add: map[chatbot.Intent][]string{talk: {"STOP"}}},
			[]matchCase{{"STOP", "", stop, "en"}},
		},
		"added stop word outranks help": {
			chatbot.Overrides{Add: map[chatbot.Intent][]string{stop: {"INFO"}}},
			// The word is English, but it is a stop word only by the workspace's addition.
			[]matchCase{{"INFO", "", stop, ""}, {"HELP", "", help, "en"}},
		},
		"moved by removing and adding": {
			chatbot.Overrides{
				Add:    map[chatbot.Intent][]string{talk: {"INFO"}},
				Remove: map[chatbot.Intent][]string{help: {"INFO"}},
			},
			[]matchCase{{"INFO", "", talk, ""}, {"HELP", "", help, "en"}},
		},
		"unknown intents ignored": {
			chatbot.Overrides{Add: map[chatbot.Intent][]string{"nonsense": {"foo"}, chatbot.IntentNone: {"bar"}}},
			[]matchCase{{"foo", "", none, ""}, {"bar", "", none, ""}},
		},
		"empty words ignored": {
			chatbot.Overrides{Add: map[chatbot.Intent][]string{stop: {"", "!!", " "}}},
			[]matchCase{{"!!", "", none, ""}, {"", "", none, ""}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := chatbot.NewMatcher(tt.overrides)
			for _, c := range tt.cases {
				checkMatch(t, m, c)
			}
		})
	}
}

// TestKeywordRemovingUnknownIsHarmless removes words no list has and expects every shipped word
// to match as before.
func TestKeywordRemovingUnknownIsHarmless(t *testing.T) {
	t.Parallel()
	m := chatbot.NewMatcher(chatbot.Overrides{Remove: map[chatbot.Intent][]string{
		chatbot.IntentStop:     {"XYZZY", ""},
		chatbot.IntentHelp:     {"STOP", "ጀምር"},
		chatbot.IntentLanguage: {"ሰው"},
	}})
	for _, ki := range keywordIntents {
		for _, lang := range locales.Languages() {
			for _, w := range locales.Keywords(lang, ki.message) {
				checkMatch(t, m, matchCase{w, lang, ki.intent, lang})
			}
		}
	}
	if got, want := m.Keywords(), shippedMatcher.Keywords(); !sameKeywords(got, want) {
		t.Errorf("Keywords() = %v, want %v", got, want)
	}
}

func sameKeywords(a, b map[chatbot.Intent]map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for intent, byLang := range a {
		other, ok := b[intent]
		if !ok || len(byLang) != len(other) {
			return false
		}
		for lang, words := range byLang {
			if !slices.Equal(words, other[lang]) {
				return false
			}
		}
	}
	return true
}

func TestKeywordsList(t *testing.T) {
	t.Parallel()
	t.Run("shipped", func(t *testing.T) {
		t.Parallel()
		got := shippedMatcher.Keywords()
		want := map[chatbot.Intent]map[string][]string{}
		for _, ki := range keywordIntents {
			want[ki.intent] = map[string][]string{}
			for _, lang := range locales.Languages() {
				want[ki.intent][lang] = locales.Keywords(lang, ki.message)
			}
		}
		if !sameKeywords(got, want) {
			t.Errorf("Keywords() = %v, want %v", got, want)
		}
	})
	t.Run("overrides", func(t *testing.T) {
		t.Parallel()
		m := chatbot.NewMatcher(chatbot.Overrides{
			Add: map[chatbot.Intent][]string{
				chatbot.IntentStop: {"ተወው", "ተወው።", "INFO"},
				chatbot.IntentTalk: {"STOP"},
			},
			Remove: map[chatbot.Intent][]string{chatbot.IntentStop: {"end"}},
		})
		got := m.Keywords()
		enStop := got[chatbot.IntentStop]["en"]
		if slices.Contains(enStop, "END") || !slices.Contains(enStop, "STOP") {
			t.Errorf("en stop = %v, want STOP without END", enStop)
		}
		if len(enStop) != len(locales.Keywords("en", locales.KeywordsStop))-1 {
			t.Errorf("en stop = %v, want one word fewer than shipped", enStop)
		}
		if ws := got[chatbot.IntentStop][chatbot.WorkspaceKeywords]; !slices.Equal(ws, []string{"ተወው", "INFO"}) {
			t.Errorf("workspace stop = %v, want [ተወው INFO]", ws)
		}
		if slices.Contains(got[chatbot.IntentHelp]["en"], "INFO") {
			t.Errorf("en help = %v, want INFO left out: STOP takes it", got[chatbot.IntentHelp]["en"])
		}
		if ws, ok := got[chatbot.IntentTalk][chatbot.WorkspaceKeywords]; ok {
			t.Errorf("workspace talk = %v, want none: STOP stays a stop word", ws)
		}
	})
	t.Run("caller owns result", func(t *testing.T) {
		t.Parallel()
		m := chatbot.NewMatcher(chatbot.Overrides{})
		first := m.Keywords()
		first[chatbot.IntentStop]["en"][0] = "CHANGED"
		delete(first[chatbot.IntentHelp], "en")
		second := m.Keywords()
		if second[chatbot.IntentStop]["en"][0] != "STOP" || second[chatbot.IntentHelp]["en"] == nil {
			t.Errorf("Keywords() after changing an earlier result = %v", second)
		}
	})
}

// TestKeywordConcurrent shares one Matcher between goroutines, as the inbound workers do; run
// with -race it also checks for data races.
func TestKeywordConcurrent(t *testing.T) {
	t.Parallel()
	m := chatbot.NewMatcher(chatbot.Overrides{Add: map[chatbot.Intent][]string{chatbot.IntentStop: {"ተወው"}}})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Go(func() {
			for range 200 {
				if intent, lang := m.Match("توقّف", "fa"); intent != chatbot.IntentStop || lang != "fa" {
					errs <- fmt.Sprintf("goroutine %d: Match = (%q, %q)", i, intent, lang)
					return
				}
				if len(m.Keywords()) != len(keywordIntents) {
					errs <- fmt.Sprintf("goroutine %d: Keywords has the wrong intents", i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ in, want string }{
		"ascii":                      {"  Hello   World \n", "hello world"},
		"full-width":                 {"ＳＴＯＰ", "stop"},
		"circled letters":            {"ⓈⓉⓄⓅ", "stop"},
		"sharp s folds":              {"STRAẞE", "strasse"},
		"greek":                      {"ΣΤΟΠ", "στοπ"},
		"latin accents kept":         {"DÉSABONNER", "désabonner"},
		"decomposed accent composed": {"ARRE\u0302T", "arrêt"},
		"arabic shadda":              {"توقّف", "توقف"},
		"arabic superscript alef":    {"هٰذا", "هذا"},
		"arabic tatweel":             {"تـــوقف", "توقف"},
		"farsi yeh":                  {"ی", "ي"},
		"alef maksura":               {"ى", "ي"},
		"keheh":                      {"کمک", "كمك"},
		"hamza kept":                 {"إيقاف", "إيقاف"},
		"ta marbuta kept":            {"مساعدة", "مساعدة"},
		"arabic-indic digits":        {"٣٤", "34"},
		"persian digits":             {"۳۴", "34"},
		"lam-alef ligature":          {"ﻻ", "لا"},
		"guillemets":                 {"«توقف»", "توقف"},
		"arabic question mark":       {"توقف؟", "توقف"},
		"arabic comma inside kept":   {"لا، شكرا", "لا، شكرا"},
		"rtl marks":                  {"\u200fتوقف\u200e", "توقف"},
		"zwnj":                       {"گفت\u200cگو", "گفتگو"},
		"zero-width space and joiner": {
			"\u200bst\u200dop\ufeff", "stop",
		},
		"ethiopic full stop":     {"አቁም።", "አቁም"},
		"ethiopic comma":         {"አቁም፣", "አቁም"},
		"ethiopic wordspace":     {"አቁም፡ዛሬ", "አቁም ዛሬ"},
		"ethiopic unchanged":     {"ኣቋርጽ", "ኣቋርጽ"},
		"devanagari virama kept": {"रोक्नुहोस्।", "रोक्नुहोस्"},
		"burmese":                {"ရပ်ပါ။", "ရပ်ပါ"},
		"inner punctuation kept": {"stop, please!", "stop, please"},
		"emoji trimmed":          {"👍🏽 ok ❤️", "ok"},
		"control characters":     {"\x00stop\x07", "stop"},
		"invalid utf-8":          {"stop\xff", "stop"},
		"only punctuation":       {"¿?!«»", ""},
		"empty":                  {"", ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := chatbot.Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// normalizeSeeds are inputs whose normalization can interact: marks between letters, forms that
// compose after folding, presentation forms that decompose into removed marks.
var normalizeSeeds = []string{
	"ARRE\u0302T", "ا\u0651\u0654", "ا\u0657\u0654", "ي\u0654", "ی\u0654", "\uFE7C", "\uFE97\uFEEE\uFED8\uFED2",
	"İstanbul", "ǅ", "ﬀ", "ΐ", "\u0345", "Σ\u0342", "a \u0301", "!\u0301", "क़", "য়", "ত্\u200d",
	" ፡ ", "\u00a0stop\u3000", "ⅷ", "㎏", "\u0670\u0670", "ـ\u064b",
	"Ꮝ", "ꮝ", "ᏸ",
}

// TestNormalizeIdempotent matters because overrides are stored normalized and normalized again
// when a Matcher is built, and both must land on the same word.
func TestNormalizeIdempotent(t *testing.T) {
	t.Parallel()
	inputs := slices.Clone(normalizeSeeds)
	for _, ki := range keywordIntents {
		for _, lang := range locales.Languages() {
			inputs = append(inputs, locales.Keywords(lang, ki.message)...)
		}
	}
	for _, in := range inputs {
		once := chatbot.Normalize(in)
		if twice := chatbot.Normalize(once); twice != once {
			t.Errorf("Normalize(%q) = %q, but Normalize of that = %q", in, once, twice)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		once := chatbot.Normalize(in)
		if !utf8.ValidString(once) {
			t.Fatalf("Normalize(%q) = %q, not valid UTF-8", in, once)
		}
		if strings.TrimSpace(once) != once || strings.Contains(once, "  ") {
			t.Fatalf("Normalize(%q) = %q, spaces not collapsed", in, once)
		}
		if twice := chatbot.Normalize(once); twice != once {
			t.Fatalf("Normalize(%q) = %q, but Normalize of that = %q", in, once, twice)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	m := chatbot.NewMatcher(chatbot.Overrides{Add: map[chatbot.Intent][]string{chatbot.IntentStop: {"ተወው"}}})
	for _, bm := range []struct{ name, text, prefer string }{
		{"english", "STOP", "en"},
		{"arabic_diacritics", "«تـوقّف»", "fa-AF"},
		{"ethiopic", "አቁም።", "am"},
		{"sentence", "I want to stop working here but my employer keeps my passport and I need help", "en"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(bm.text, bm.prefer)
			}
		})
	}
}

// BenchmarkNewMatcher measures building a workspace's Matcher, which callers may do per message.
func BenchmarkNewMatcher(b *testing.B) {
	o := chatbot.Overrides{
		Add:    map[chatbot.Intent][]string{chatbot.IntentStop: {"ተወው"}, chatbot.IntentTalk: {"ayuda por favor"}},
		Remove: map[chatbot.Intent][]string{chatbot.IntentStop: {"end"}},
	}
	b.ReportAllocs()
	for b.Loop() {
		chatbot.NewMatcher(o)
	}
}
