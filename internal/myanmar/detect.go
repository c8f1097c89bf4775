package myanmar

// Evidence weights. A strong sign is a sequence that one encoding forbids and
// the other writes routinely; a weak one is merely more usual in one of them.
const (
	strong = 3
	medium = 2
	weak   = 1
)

// IsZawgyi reports whether s is Burmese written in the Zawgyi encoding, and so
// should go through [ToUnicode]. It is false for Unicode Burmese, for text
// with no Burmese in it, and for Burmese that reads equally well in both
// encodings, which is common in one- and two-word messages. It says true only
// when the Zawgyi evidence is worth at least one sequence that Unicode forbids
// and more than twice the Unicode evidence, so that mixed or doubtful text is
// left as it is.
func IsZawgyi(s string) bool {
	if !HasMyanmar(s) {
		return false // most messages: no Burmese, nothing to weigh
	}
	z, u := evidence(s)
	return z >= strong && z > 2*u
}

// evidence scores s for Zawgyi (z) and for Unicode (u) by looking at each
// Myanmar code point with its neighbours.
func evidence(s string) (z, u int) {
	rs := []rune(s)
	at := func(i int) rune {
		if i < 0 || i >= len(rs) {
			return -1
		}
		return rs[i]
	}
	for i, r := range rs {
		if !inMyanmarBlock(r) {
			continue
		}
		prev, next := at(i-1), at(i+1)
		switch {
		case r == signE:
			// Zawgyi writes E before its consonant, where Unicode cannot
			// have it (after a space, a final or another vowel); Unicode
			// writes it after, where no consonant follows.
			if startsZawgyiSyllable(next) && !isUnicodeHost(prev) && prev != signE {
				z += strong
			} else if isUnicodeHost(prev) && !startsZawgyiSyllable(next) {
				u += strong
			}
		case r == signVirama:
			// Unicode's virama stacks one consonant under another, so
			// consonants stand on both sides of it; Zawgyi's asat ends a
			// syllable, often a word, and may follow another mark.
			switch {
			case prev == signAsat && isConsonant(next):
				u += strong // kinzi, င်္
			case !isConsonant(next) || !isConsonant(prev):
				z += strong
			default:
				z += stackEvidence(prev, next)
			}
		case r == medialYa:
			// Zawgyi's medial RA comes before its consonant; Unicode's
			// medial YA after it, followed by vowels Zawgyi cannot put
			// after a RA.
			if !isUnicodeHost(prev) && startsZawgyiLetter(next) {
				z += strong
			} else if isConsonant(prev) && followsUnicodeYa(next) {
				u += strong
			}
		case isZawgyiRa(r):
			if startsZawgyiLetter(next) {
				z += strong
			}
		case r == signAsat:
			// Unicode's asat closes a syllable: before visarga, by dot
			// below, at a word's end. Zawgyi's medial YA there would be a
			// syllable with no vowel, unless a Zawgyi E stands before it.
			if isConsonant(prev) && (isVowelSign(next) || (next >= medialRa && next <= medialHa)) {
				z += strong // Unicode puts no vowel or medial after asat
			} else if isConsonant(prev) && at(i-2) != signE {
				switch {
				case next == signVisarga:
					u += strong
				case next == signDotBelow:
					u += medium
				case !isMyanmarText(next):
					u += weak
				}
			} else if prev == signDotBelow && isConsonant(at(i-2)) && at(i-3) != signE {
				u += medium
			}
		case r == medialHa:
			if isUnicodeHost(prev) {
				u += medium
			}
		case r == medialRa || r == medialWa:
			// Unicode writes medials before vowels; Zawgyi typists often
			// type WA and HA after them (ဲြ, ိွ).
			if isVowelSign(prev) {
				z += medium
			}
		case r == signU || r == signUu:
			// Unicode writes ုံ; Zawgyi typists type ံု.
			if prev == signAnusvara {
				z += medium
			}
		default:
			z += zawgyiOnly(r, prev, next)
		}
	}
	return z, u
}

// zawgyiOnly scores the code points that Unicode gives to Mon, Shan and Karen
// and Zawgyi uses for Burmese glyphs, when they stand where Zawgyi puts them.
func zawgyiOnly(r, prev, next rune) int {
	if _, ok := zawgyiStacked[r]; ok || r == zawgyiTaWa {
		if isConsonant(prev) || isZawgyiLetter(prev) {
			return strong
		}
		return 0
	}
	switch r {
	case zawgyiKinzi, zawgyiKinziI, zawgyiKinziIi, zawgyiKinziAnu, zawgyiYaShort, zawgyiIAnu, '\u105A':
		if isConsonant(prev) {
			return strong
		}
	case zawgyiHaU, zawgyiHaUu, zawgyiWaHa:
		if isConsonant(prev) || prev == zawgyiNa || (prev >= signAsat && prev <= medialRa) {
			return strong
		}
	case '\u1033', '\u1034':
		if isConsonant(prev) || (prev >= signAsat && prev <= medialWa) {
			return strong
		}
	case zawgyiHaShort:
		if isConsonant(prev) || (prev >= signAsat && prev <= medialWa) {
			return medium
		}
	case zawgyiNa, zawgyiRa:
		if isZawgyiMark(next) || isZawgyiPrefix(prev) {
			return strong
		}
	case '\u1094', '\u1095':
		if isMyanmarText(prev) {
			return strong
		}
	case '\u106A', '\u106B':
		if isZawgyiMark(next) {
			return medium
		}
	case '\u106E', '\u106F', '\u1091', '\u1092', '\u1097':
		return medium
	}
	return 0
}

// stackEvidence scores upper, U+1039, lower as Zawgyi evidence by whether
// Unicode could write it as a stacked consonant. Burmese stacks (mostly in
// Pali and Sanskrit loans) follow the Pali rule: the upper consonant is an
// unaspirated or nasal stop of the same class as the lower (က္က, ဂ္ဂ, န္တ,
// မ္ဘ), or one of a few doubled letters (လ္လ, သ္သ). Aspirates, င (whose stack
// is kinzi, written with asat), ည, ယ, ရ, ဝ and အ never stack on top, but they
// end Burmese syllables all the time: Zawgyi ယ္က is Unicode ယ်က. A stop
// over another class is rare in Unicode (ပဒ္မာ, ဗြဟ္မာ) and common in Zawgyi
// (လြတ္လပ္စြာ), so it counts for less.
func stackEvidence(upper, lower rune) int {
	switch upper {
	case '\u1001', '\u1003', letterNga, '\u1006', letterJha, letterNnya, letterTtha, letterDdha,
		'\u1011', '\u1013', '\u1016', '\u1018', '\u101A', letterRa, letterWa, '\u1021':
		return strong
	}
	if upper == lower {
		return 0
	}
	if c := stopClass(upper); c != 0 && c == stopClass(lower) {
		return 0
	}
	if lower == '\u1019' && (upper == '\u1012' || upper == '\u101F') {
		return 0 // ဒ္မ, ဟ္မ
	}
	return medium
}

// stopClass returns the Pali class (velar, palatal, retroflex, dental,
// labial) of a stop consonant as 1 to 5, or 0 for other letters. The palatal
// nasal has two letters, ဉ and ည.
func stopClass(r rune) int {
	switch {
	case r >= '\u1000' && r <= '\u1004':
		return 1
	case r >= '\u1005' && r <= '\u100A':
		return 2
	case r >= '\u100B' && r <= '\u100F':
		return 3
	case r >= '\u1010' && r <= '\u1014':
		return 4
	case r >= '\u1015' && r <= '\u1019':
		return 5
	}
	return 0
}

// startsZawgyiSyllable reports what may follow Zawgyi's vowel sign E: the
// syllable's letter or its medial RA, or another E typed twice.
func startsZawgyiSyllable(r rune) bool {
	return startsZawgyiLetter(r) || isZawgyiPrefix(r)
}

// startsZawgyiLetter reports a letter of Zawgyi text, including the digits ၀
// and ၇ typed for ဝ and ရ.
func startsZawgyiLetter(r rune) bool {
	return isZawgyiLetter(r) || r == digitZero || r == digitSeven
}

// isVowelSign reports the dependent vowels other than E, and anusvara, which
// Unicode writes before asat and Zawgyi after its medial YA.
func isVowelSign(r rune) bool {
	return (r >= '\u102B' && r <= signUu) || r == '\u1032' || r == signAnusvara
}

// followsUnicodeYa reports the marks Unicode writes after medial YA and Zawgyi
// never writes after its medial RA, which precedes a consonant. Vowel sign E
// is left out: Zawgyi typists also type it after RA.
func followsUnicodeYa(r rune) bool {
	switch {
	case r >= '\u102B' && r <= signUu, r == '\u1032', r >= signAnusvara && r <= signVisarga,
		r == medialWa, r == medialHa:
		return true
	}
	return false
}

// HasMyanmar reports whether s holds any character of the Myanmar block, in either encoding.
func HasMyanmar(s string) bool {
	for _, r := range s {
		if inMyanmarBlock(r) {
			return true
		}
	}
	return false
}

// inMyanmarBlock reports code points of the Myanmar block, U+1000 to U+109F.
func inMyanmarBlock(r rune) bool { return r >= '\u1000' && r <= '\u109F' }
