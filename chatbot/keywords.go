package chatbot

import (
	"slices"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/waymark-org/waymark/internal/myanmar"
	"github.com/waymark-org/waymark/locales"
)

// Intent is what a keyword asks for.
type Intent string

// The intents a keyword can carry. The values are stored in keyword_overrides.intent, so they
// never change.
const (
	// IntentNone means the message is not a keyword and goes on to the menus and answers.
	IntentNone Intent = ""
	// IntentStop opts the sender out.
	IntentStop Intent = "stop"
	// IntentStart opts the sender back in.
	IntentStart Intent = "start"
	// IntentHelp asks who is writing and how to stop.
	IntentHelp Intent = "help"
	// IntentLanguage asks to choose another language.
	IntentLanguage Intent = "language"
	// IntentTalk asks for a person.
	IntentTalk Intent = "talk"
)

// WorkspaceKeywords is the key under which Keywords lists the words a workspace added: they
// belong to no shipped language.
const WorkspaceKeywords = "workspace"

// intentPrecedence decides which intent a word carries when it is listed under several, in the
// shipped files or because a workspace added a shipped word to another intent. STOP comes first:
// a missed opt-out keeps messages arriving on a phone that someone else may read, and breaks
// carrier rules. START comes last: subscribing a person who did not ask does the same harm. The
// others only answer. A workspace that wants a word to mean something else removes it from the
// intent it has and adds it to the new one.
var intentPrecedence = []Intent{IntentStop, IntentHelp, IntentTalk, IntentLanguage, IntentStart}

// keywordMessages names the locales list each intent is read from.
var keywordMessages = map[Intent]string{
	IntentStop:     locales.KeywordsStop,
	IntentStart:    locales.KeywordsStart,
	IntentHelp:     locales.KeywordsHelp,
	IntentLanguage: locales.KeywordsLanguage,
	IntentTalk:     locales.KeywordsTalk,
}

// caseFold is stateless, so one value serves every goroutine.
var caseFold = cases.Fold()

// Normalize folds a message into the form keywords are compared in, so that the spellings phones
// produce for one word compare equal:
//
//   - Unicode NFKC, which also turns full-width and other compatibility letters (ＳＴＯＰ),
//     Arabic presentation forms and ligatures into plain letters, then Unicode case folding.
//   - Arabic script: Arabic yeh, Farsi yeh and alef maksura become one letter, and so do Arabic
//     kaf and keheh, because Persian and Arabic keyboards type different code points for them;
//     tatweel and harakat (U+064B–U+065F, U+0670) are removed, because people add or leave
//     them out at will; Arabic-Indic and Persian digits become ASCII digits.
//   - Format characters (zero-width joiners and non-joiners, direction marks that RTL text
//     picks up when copied), variation selectors and control characters are removed.
//   - Punctuation, symbols and spaces of any script are trimmed from both ends («توقف», STOP!,
//     አቁም።, /stop), and inner runs of spaces, including the Ethiopic wordspace ፡, become
//     one space.
//
// Accents on Latin letters are kept: they tell words apart in some languages, and the keyword
// lists carry both spellings where people type both (ARRET and ARRÊT). Alef with hamza and ta
// marbuta are kept for the same reason (إيقاف and ايقاف are both listed). Ethiopic is left as
// NFKC gives it.
//
// Burmese typed in the legacy Zawgyi encoding is converted to Unicode first when the message
// reads as Zawgyi (internal/myanmar); Match also tries the converted form of a short message that
// is ambiguous on its own (Zawgyi ရပ္ပါ is valid Unicode too), which only ever matters when that
// form is exactly a keyword.
func Normalize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = myanmar.Normalize(s)
	s = norm.NFKC.String(s)
	s = caseFold.String(s)
	s = strings.Map(unifyRune, s)
	// Folding and removing marks can leave text that composes differently, so normalize again;
	// without it Normalize would not be idempotent and a stored override could miss.
	s = norm.NFKC.String(s)
	s = strings.TrimFunc(s, isEdge)
	return strings.Join(strings.Fields(s), " ")
}

// unifyRune maps one rune for Normalize; -1 drops it.
func unifyRune(r rune) rune {
	switch {
	case r == 'ى' || r == 'ی': // alef maksura, Farsi yeh
		return 'ي'
	case r == 'ک': // keheh
		return 'ك'
	case r == 'ـ': // tatweel
		return -1
	case r >= '\u064B' && r <= '\u065F', r == '\u0670': // harakat, superscript alef
		return -1
	case r >= '٠' && r <= '٩':
		return '0' + r - '٠'
	case r >= '۰' && r <= '۹':
		return '0' + r - '۰'
	// x/text's Fold swaps the case of Cherokee instead of folding it, so a second Normalize
	// would undo the first; Unicode folds Cherokee to the capitals.
	case r >= '\uAB70' && r <= '\uABBF':
		return r - 0xAB70 + 0x13A0
	case r >= '\u13F8' && r <= '\u13FD':
		return r - 0x13F8 + 0x13F0
	case r == '፡': // Ethiopic wordspace separates words as a space does
		return ' '
	case unicode.IsSpace(r):
		return ' '
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r), unicode.IsControl(r):
		return -1
	}
	return r
}

// isEdge reports the runes trimmed from the ends of a message. Marks are never trimmed: a
// trailing virama or vowel sign belongs to the word before it (रोक्नुहोस्).
func isEdge(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
}

// Overrides are a workspace's changes to the shipped keywords: words added to and removed from an
// intent, in any language. Words are compared after Normalize, so any spelling of a word removes
// it. A word both added and removed for one intent is removed.
type Overrides struct {
	Add, Remove map[Intent][]string
}

// Matcher matches whole messages against the keywords of every shipped language, plus English,
// plus a workspace's additions, minus its removals.
//
// Only a message that is a keyword and nothing else matches: "please stop sending" is not a STOP.
// Carriers and Twilio match the whole message too, and a person in danger who writes a sentence
// must not be unsubscribed or subscribed by a word inside it; the sentence goes to the menus and
// answers, where a person can read it.
//
// A Matcher does not change after NewMatcher and is safe for concurrent use. It holds only the
// workspace's overrides and looks a word up in the shared shipped lists when asked, so building
// one per message costs what the overrides cost, not what the shipped lists do.
type Matcher struct {
	shipped *shippedTable
	// adds and removes are the workspace's overrides, normalized, one set per intent.
	adds, removes map[Intent]map[string]bool
	// added keeps the workspace's additions as given, for Keywords.
	added map[Intent][]string
}

// keywordMeaning is what one normalized word means.
type keywordMeaning struct {
	intent Intent
	// langs lists the shipped languages whose list for intent holds the word, in
	// locales.Languages order; empty for a word only the workspace added. It is shared with
	// shippedKeywords and never changed.
	langs []string
}

// shippedWord is one word of a shipped keyword list.
type shippedWord struct {
	intent     Intent
	lang, word string
	normalized string
}

// shippedTable is the shipped keyword lists, normalized.
type shippedTable struct {
	// words holds every word in intentPrecedence, then locales.Languages, then file order, which
	// is the order Keywords lists them in.
	words []shippedWord
	// langs maps a normalized word to each intent that lists it and the languages that do.
	langs map[string]map[Intent][]string
}

// shippedKeywords normalizes the embedded lists once: they cannot change while the process runs,
// and callers may build a Matcher for every message.
var shippedKeywords = sync.OnceValue(func() *shippedTable {
	t := &shippedTable{langs: map[string]map[Intent][]string{}}
	for _, intent := range intentPrecedence {
		for _, lang := range locales.Languages() {
			for _, w := range locales.Keywords(lang, keywordMessages[intent]) {
				n := Normalize(w)
				if n == "" {
					continue
				}
				t.words = append(t.words, shippedWord{intent: intent, lang: lang, word: w, normalized: n})
				if t.langs[n] == nil {
					t.langs[n] = map[Intent][]string{}
				}
				// Two spellings in one list can normalize alike; name the language once.
				if l := t.langs[n][intent]; len(l) == 0 || l[len(l)-1] != lang {
					t.langs[n][intent] = append(l, lang)
				}
			}
		}
	}
	return t
})

// NewMatcher builds a Matcher from the shipped keyword lists and a workspace's overrides. Words
// under an intent other than the five are ignored, as are words that normalize to nothing.
func NewMatcher(o Overrides) *Matcher {
	m := &Matcher{
		shipped: shippedKeywords(),
		adds:    normalizedSets(o.Add),
		removes: normalizedSets(o.Remove),
		added:   map[Intent][]string{},
	}
	for _, intent := range intentPrecedence {
		if len(o.Add[intent]) > 0 {
			m.added[intent] = slices.Clone(o.Add[intent])
		}
	}
	return m
}

// meaning returns what a normalized word means: the first intent in intentPrecedence that the
// workspace did not remove it from and that a shipped list or the workspace gives it.
func (m *Matcher) meaning(normalized string) (keywordMeaning, bool) {
	shipped := m.shipped.langs[normalized]
	for _, intent := range intentPrecedence {
		if m.removes[intent][normalized] {
			continue
		}
		if langs, ok := shipped[intent]; ok || m.adds[intent][normalized] {
			return keywordMeaning{intent: intent, langs: langs}, true
		}
	}
	return keywordMeaning{}, false
}

// normalizedSets normalizes override words into one set per intent, dropping empty words.
func normalizedSets(words map[Intent][]string) map[Intent]map[string]bool {
	sets := map[Intent]map[string]bool{}
	for intent, list := range words {
		for _, w := range list {
			if n := Normalize(w); n != "" {
				if sets[intent] == nil {
					sets[intent] = map[string]bool{}
				}
				sets[intent][n] = true
			}
		}
	}
	return sets
}

// carries reports whether a normalized word means intent in this Matcher.
func (m *Matcher) carries(normalized string, intent Intent) bool {
	k, ok := m.meaning(normalized)
	return ok && k.intent == intent
}

// Match returns the intent of a whole message and the language its keyword belongs to: "en" for
// English keywords; for a word several languages share, preferLang if it is one of them, else one
// with preferLang's base language (fa for fa-IR), else the first in locales.Languages order;
// preferLang is compared case-insensitively, with "_" read as "-". A word that carries its intent
// only because the workspace added it there belongs to no language and returns "", so the caller
// keeps the contact's language. A message that is not a keyword returns IntentNone and "".
func (m *Matcher) Match(text, preferLang string) (Intent, string) {
	k, ok := m.meaning(Normalize(text))
	if !ok && myanmar.HasMyanmar(text) {
		k, ok = m.meaning(Normalize(myanmar.ToUnicode(text)))
	}
	if !ok {
		return IntentNone, ""
	}
	return k.intent, k.language(preferLang)
}

// language picks one of the languages that list the word.
func (k keywordMeaning) language(prefer string) string {
	if len(k.langs) == 0 {
		return ""
	}
	if prefer != "" {
		prefer = strings.ReplaceAll(prefer, "_", "-")
		for _, l := range k.langs {
			if strings.EqualFold(l, prefer) {
				return l
			}
		}
		base := baseLanguage(prefer)
		for _, l := range k.langs {
			if strings.EqualFold(baseLanguage(l), base) {
				return l
			}
		}
	}
	return k.langs[0]
}

// baseLanguage returns the language subtag of a BCP-47 tag.
func baseLanguage(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	return base
}

// Keywords lists the effective keywords for GET /api/v1/keywords: intent, then language (or
// WorkspaceKeywords for the workspace's additions), then words as the locale files or the
// workspace spell them. It shows only words that carry the intent they are listed under, so it
// never promises a word the workspace removed or another intent takes precedence over. The caller
// owns the returned maps.
func (m *Matcher) Keywords() map[Intent]map[string][]string {
	out := make(map[Intent]map[string][]string, len(intentPrecedence))
	for _, intent := range intentPrecedence {
		out[intent] = map[string][]string{}
	}
	for _, sw := range shippedKeywords().words {
		if m.carries(sw.normalized, sw.intent) {
			out[sw.intent][sw.lang] = append(out[sw.intent][sw.lang], sw.word)
		}
	}
	for intent, words := range m.added {
		seen := map[string]bool{}
		for _, w := range words {
			n := Normalize(w)
			if !seen[n] && m.carries(n, intent) {
				seen[n] = true
				out[intent][WorkspaceKeywords] = append(out[intent][WorkspaceKeywords], w)
			}
		}
	}
	return out
}
