package chatbot

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The fuzzy matcher compares what a person wrote with the keyword lists authors give the chatbot.
// People write on cheap phones, in a hurry, often in a script their keyboard handles badly, so the
// matcher forgives case, accents, Arabic letter variants and one or two typos, and it counts
// everything in runes: an Amharic or Devanagari letter is three bytes, and a byte count would
// call two different words close.

// fuzzyThreshold is the lowest score that counts as a match. A one-word keyword must match
// exactly or within the typo allowance (fuzzyNear); a phrase needs most of its words, so that
// one shared word such as "work" does not pick "Work abroad" out of an unrelated sentence.
const fuzzyThreshold = 0.66

// Scores of one keyword word against the message.
const (
	fuzzyExact = 1.0 // the word appears as written (after normalising)
	fuzzyNear  = 0.8 // a typo away, or the word with an ending attached
)

// fuzzyMaxRunes bounds the work done on one message; chatbot messages are short and anything
// beyond this is not a menu choice.
const fuzzyMaxRunes = 500

// fuzzyBest returns the index of the candidate whose keywords best match text, and its score,
// or -1 when nothing reaches fuzzyThreshold. Each candidate is a list of keywords; a keyword may
// be a phrase. Ties go to the earlier candidate, so callers order candidates by preference.
func fuzzyBest(text string, candidates [][]string) (int, float64) {
	msg := fuzzyTokens(text)
	if len(msg) == 0 {
		return -1, 0
	}
	best, bestScore := -1, 0.0
	for i, keywords := range candidates {
		for _, k := range keywords {
			if s := fuzzyScore(msg, fuzzyTokens(k)); s >= fuzzyThreshold && s > bestScore {
				best, bestScore = i, s
			}
		}
	}
	return best, bestScore
}

// fuzzyScore is the share of a keyword's words found in the message, each weighted by how well
// it matched.
func fuzzyScore(msg, keyword []string) float64 {
	if len(keyword) == 0 {
		return 0
	}
	total := 0.0
	for _, k := range keyword {
		best := 0.0
		for _, m := range msg {
			if s := fuzzyWordScore(k, m); s > best {
				best = s
			}
			if best == fuzzyExact {
				break
			}
		}
		total += best
	}
	return total / float64(len(keyword))
}

// fuzzyWordScore compares one keyword word with one message word.
func fuzzyWordScore(k, m string) float64 {
	if k == m {
		return fuzzyExact
	}
	kr, mr := []rune(k), []rune(m)
	if fuzzyUnspaced(kr) {
		// Thai, Lao, Burmese and Khmer are written without spaces, so a "word" here is a whole
		// run of text and the keyword is somewhere inside it. An edit distance that lets the
		// keyword start and end anywhere in the run plays the role of character n-grams, with
		// the same typo allowance as spaced scripts and no second threshold to tune.
		if strings.Contains(m, k) {
			return fuzzyExact
		}
		if fuzzySubstringDistance(kr, mr) <= fuzzyAllowance(len(kr)) {
			return fuzzyNear
		}
		return 0
	}
	// Amharic, Tigrinya, Turkish and Somali attach possessives, objects and case endings to the
	// end of a word (ቪዛዬን is "my visa" as an object), and English adds plurals, so a message word
	// that starts with the keyword counts. Ethiopic letters are whole syllables, so two of them
	// are already a distinctive stem; other scripts need four letters.
	minStem := 4
	if unicode.Is(unicode.Ethiopic, kr[0]) {
		minStem = 2
	}
	if len(kr) >= minStem && len(mr) > len(kr) && strings.HasPrefix(m, k) {
		return fuzzyNear
	}
	if d := fuzzyAllowance(min(len(kr), len(mr))); d > 0 && fuzzyDistance(kr, mr, d) <= d {
		return fuzzyNear
	}
	return 0
}

// fuzzyAllowance is how many typos a word of n runes may carry: none for short words, where one
// edit turns a word into another word, one from four runes, two from eight.
func fuzzyAllowance(n int) int {
	switch {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	}
	return 0
}

// fuzzyUnspaced reports whether a word is in a script written without spaces between words.
func fuzzyUnspaced(word []rune) bool {
	for _, r := range word {
		if unicode.IsLetter(r) {
			return unicode.In(r, unicode.Thai, unicode.Lao, unicode.Myanmar, unicode.Khmer,
				unicode.Han, unicode.Hiragana, unicode.Katakana)
		}
	}
	return false
}

// fuzzyDistance is the Damerau-Levenshtein distance (optimal string alignment: a swap of two
// neighbours costs one) between a and b. It stops early and returns limit+1 once the distance
// is certainly above limit.
func fuzzyDistance(a, b []rune, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)  // row i-1
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		fuzzyDistanceRow(a, b, i, prev2, prev, cur)
		if slices.Min(cur) > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// fuzzyDistanceRow fills row i of the optimal string alignment table of a against b into cur,
// from the two rows before it: cur[0] is i, deleting a's first i runes.
func fuzzyDistanceRow(a, b []rune, i int, prev2, prev, cur []int) {
	cur[0] = i
	for j := 1; j <= len(b); j++ {
		cost := 1
		if a[i-1] == b[j-1] {
			cost = 0
		}
		cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
			cur[j] = min(cur[j], prev2[j-2]+1)
		}
	}
}

// fuzzySubstringDistance is the smallest Damerau-Levenshtein distance between k and any stretch
// of text: the same table as fuzzyDistance, except that skipping text before and after the
// stretch is free (Sellers' algorithm).
func fuzzySubstringDistance(k, text []rune) int {
	prev2 := make([]int, len(text)+1)
	prev := make([]int, len(text)+1) // row 0 is all zeros: the stretch may start anywhere
	cur := make([]int, len(text)+1)
	for i := 1; i <= len(k); i++ {
		fuzzyDistanceRow(k, text, i, prev2, prev, cur)
		prev2, prev, cur = prev, cur, prev2
	}
	best := len(k)
	for _, d := range prev {
		best = min(best, d) // the stretch may end anywhere
	}
	return best
}

// fuzzyTokens normalises s and splits it into words at anything that is not a letter, a mark or
// a digit: spaces, punctuation of every script (the Ethiopic word space ፡ and full stop ።, the
// Devanagari danda ।, the Arabic comma ،) and symbols.
func fuzzyTokens(s string) []string {
	s = fuzzyNormalize(s)
	var words []string
	for w := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r)
	}) {
		words = append(words, fuzzyStripArticle(w))
	}
	return words
}

// fuzzyNormalize makes equal what a person would consider the same text: compatibility forms
// (NFKC: full-width letters, ligatures), case, Latin accents (people often type "informacion"
// for "información"), Arabic short vowels, tatweel and letter variants, and invisible joiners.
func fuzzyNormalize(s string) string {
	if utf8.RuneCountInString(s) > fuzzyMaxRunes {
		s = string([]rune(s)[:fuzzyMaxRunes])
	}
	// Decomposing first turns أ إ آ into ا plus a mark, so dropping the marks folds them.
	// caseFold is full case folding (ß matches ss, ς matches σ), not just lower-casing.
	s = caseFold.String(norm.NFKD.String(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0x0300 && r <= 0x036F: // combining accents over Latin, Greek and Cyrillic letters
		case r >= 0x064B && r <= 0x065F, r == 0x0670: // Arabic short vowels and hamza marks
		case r == 0x0640: // Arabic tatweel, a stretch with no meaning
		case unicode.Is(unicode.Cf, r): // zero-width joiners and direction marks
		default:
			b.WriteRune(fuzzyArabicLetter(r))
		}
	}
	return norm.NFC.String(b.String())
}

// fuzzyArabicLetter folds Arabic letters that people type interchangeably, in spelling and
// because Persian, Dari, Pashto and Urdu keyboards give other code points for the same letter:
// ta marbuta with ha, alif maqsura and Persian yeh with yeh, Persian kaf with kaf.
func fuzzyArabicLetter(r rune) rune {
	switch r {
	case 'ة', 'ۀ', 'ە':
		return 'ه'
	case 'ى', 'ی':
		return 'ي'
	case 'ک':
		return 'ك'
	case 'ٱ':
		return 'ا'
	}
	return r
}

// fuzzyArabicArticles are the definite article and its common attached forms ("and the", "with
// the", "like the", "so the", "for the"), longest first. Arabic writes them joined to the noun,
// so "التأشيرة" (the visa) would otherwise be two edits away from "تأشيرة" (visa).
var fuzzyArabicArticles = []string{"وال", "بال", "كال", "فال", "لل", "ال"}

// fuzzyStripArticle removes an attached Arabic article when at least three letters remain, so
// short words that merely begin with the same letters keep them.
func fuzzyStripArticle(w string) string {
	for _, a := range fuzzyArabicArticles {
		if rest, ok := strings.CutPrefix(w, a); ok && utf8.RuneCountInString(rest) >= 3 {
			return rest
		}
	}
	return w
}
