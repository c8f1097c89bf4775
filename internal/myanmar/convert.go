package myanmar

import (
	"slices"
	"strings"
)

// Normalize returns s in Unicode: converted with [ToUnicode] when [IsZawgyi]
// says it is Zawgyi, otherwise unchanged (Unicode Burmese, other languages,
// and Burmese too short or too ambiguous to tell). Call it on inbound text
// before storing it or matching keywords against it.
func Normalize(s string) string {
	if IsZawgyi(s) {
		return ToUnicode(s)
	}
	return s
}

// ToUnicode converts Zawgyi-encoded Burmese to Unicode. Text outside the
// Myanmar block is kept, except that spaces typed between a letter and its
// mark are dropped and invalid UTF-8 becomes U+FFFD. It assumes its input is
// Zawgyi: Unicode Burmese given to it comes out garbled, so callers that do
// not know the encoding call [Normalize] instead.
//
// Each syllable is read in Zawgyi's visual order (vowel sign E and medial RA
// before the consonant, kinzi after it, marks in any order) and written in
// Unicode's storage order: kinzi, consonant, stacked consonant, medials YA RA
// WA HA, vowel sign E, upper vowels, lower vowels, AA, anusvara, dot below,
// asat, visarga. Dot below comes before asat, as Unicode normalization orders
// them, so converted text compares equal to NFC text.
func ToUnicode(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(rs); {
		// Vowel sign E and medial RA open a syllable whose consonant follows.
		var syl syllable
		j := i
		for j < len(rs) && isZawgyiPrefix(rs[j]) {
			syl.addPrefix(rs[j])
			j++
		}
		if j < len(rs) && syl.setLetter(rs, j, j > i) {
			j++
			j = syl.addMarks(rs, j)
			syl.fix()
			syl.write(&b)
			i = j
			continue
		}
		if j > i || isZawgyiMark(rs[i]) {
			// Prefixes with no consonant after them, or marks with no
			// consonant before them: write them in Unicode order anyway.
			j = syl.addMarks(rs, j)
			syl.write(&b)
			i = j
			continue
		}
		if rs[i] == symbolLagaung {
			// Zawgyi's ၎ draws the whole word ၎င်း; Unicode spells it out.
			b.WriteRune(symbolLagaung)
			if !spellsLagaungEnding(rs[i+1:]) {
				b.WriteString("\u1004\u103A\u1038")
			}
			i++
			continue
		}
		b.WriteRune(rs[i])
		i++
	}
	return b.String()
}

// spellsLagaungEnding reports whether rs starts with the င်း that Unicode
// writes after ၎, typed in Zawgyi or in Unicode.
func spellsLagaungEnding(rs []rune) bool {
	return len(rs) >= 3 && rs[0] == letterNga && (rs[1] == signVirama || rs[1] == signAsat) && rs[2] == signVisarga
}

// syllable collects one Zawgyi syllable by role, to be written in Unicode
// order. Repeated marks (Zawgyi typists often type a mark twice, or both a
// mark and its variant) are kept once.
type syllable struct {
	kinzi                        bool
	letter                       rune
	stacked                      []rune // lower consonants, each written after U+1039
	ya, ra, wa, ha, e            bool
	upper, lower, aa             []rune
	anusvara, dot, asat, visarga bool
	// asatBeforeYa is set when asat and medial YA were typed side by side,
	// as in ယောက်ျား: Unicode then writes the asat straight after the
	// consonant and the YA after it.
	asatBeforeYa bool
	last         rune // the last mark added
}

func (s *syllable) addPrefix(r rune) {
	if r == signE {
		s.e = true
	} else {
		s.ra = true
	}
}

// setLetter takes rs[i] as the syllable's letter if it is one. The digits ၀
// and ၇ count as the letters ဝ and ရ they resemble when a prefix comes before
// them or a mark after them; ၀ also does next to other Burmese letters,
// unless a digit stands beside it.
func (s *syllable) setLetter(rs []rune, i int, prefixed bool) bool {
	r := rs[i]
	if r == digitZero || r == digitSeven {
		var prev, next rune = -1, -1
		if i > 0 {
			prev = rs[i-1]
		}
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if isDigit(prev) || isDigit(next) {
			return false
		}
		letter := prefixed || isZawgyiMark(next)
		if r == digitZero {
			letter = letter || isMyanmarText(prev) || isMyanmarText(next)
			if letter {
				s.letter = letterWa
			}
		} else if letter {
			s.letter = letterRa
		}
		return letter
	}
	if l, ok := zawgyiLigature[r]; ok {
		s.letter = l[0]
		s.stacked = append(s.stacked, l[1])
		return true
	}
	if l, ok := zawgyiLetter[r]; ok {
		s.letter = l
		return true
	}
	if isLetter(r) {
		s.letter = r
		return true
	}
	return false
}

// addMarks adds the marks that follow from rs[i] on and returns the index
// after them. Spaces typed between a letter and its mark are dropped: a mark
// cannot begin a word.
func (s *syllable) addMarks(rs []rune, i int) int {
	for i < len(rs) {
		j := i
		for j < len(rs) && (rs[j] == ' ' || rs[j] == '\u200B') && s.hasLetter() {
			j++
		}
		if j == len(rs) || !isZawgyiMark(rs[j]) {
			return i
		}
		s.addMark(rs[j])
		i = j + 1
	}
	return i
}

func (s *syllable) hasLetter() bool { return s.letter != 0 }

func (s *syllable) addMark(r rune) {
	if (r == signVirama && s.last == signAsat) || (r == signAsat && s.last == signVirama) {
		s.asatBeforeYa = true
	}
	s.last = r
	switch r {
	case signVirama:
		s.asat = true
	case signAsat, zawgyiYaShort:
		s.ya = true
	case medialRa:
		s.wa = true
	case medialWa, medialHa, zawgyiHaShort:
		s.ha = true
	case zawgyiWaHa:
		s.wa, s.ha = true, true
	case zawgyiHaU:
		s.ha = true
		s.lower = addOnce(s.lower, signU)
	case zawgyiHaUu:
		s.ha = true
		s.lower = addOnce(s.lower, signUu)
	case signI, signIi, '\u1032':
		s.upper = addOnce(s.upper, r)
	case zawgyiIAnu:
		s.upper = addOnce(s.upper, signI)
		s.anusvara = true
	case signU, '\u1033':
		s.lower = addOnce(s.lower, signU)
	case signUu, '\u1034':
		s.lower = addOnce(s.lower, signUu)
	case '\u102B', signAa:
		s.aa = addOnce(s.aa, r)
	case '\u105A':
		s.aa = addOnce(s.aa, '\u102B')
		s.asat = true
	case signAnusvara:
		s.anusvara = true
	case signDotBelow, '\u1094', '\u1095':
		s.dot = true
	case signVisarga:
		s.visarga = true
	case zawgyiKinzi:
		s.kinzi = true
	case zawgyiKinziI:
		s.kinzi = true
		s.upper = addOnce(s.upper, signI)
	case zawgyiKinziIi:
		s.kinzi = true
		s.upper = addOnce(s.upper, signIi)
	case zawgyiKinziAnu:
		s.kinzi = true
		s.anusvara = true
	case zawgyiTaWa:
		s.stacked = addOnce(s.stacked, letterTa)
		s.wa = true
	default:
		if c, ok := zawgyiStacked[r]; ok {
			s.stacked = addOnce(s.stacked, c)
		}
	}
}

func addOnce(rs []rune, r rune) []rune {
	if slices.Contains(rs, r) {
		return rs
	}
	return append(rs, r)
}

// fix applies the spellings that depend on the whole syllable.
func (s *syllable) fix() {
	switch s.letter {
	case letterU:
		// Zawgyi has one glyph for ဥ and ဉ: with asat, AA or a stacked
		// consonant it is ဉ (စဉ်, ဉာဏ်, ပဉ္စမ); with vowel sign II it is ဦ.
		if s.asat || len(s.stacked) > 0 || slices.Contains(s.aa, signAa) {
			s.letter = letterNya
		} else if slices.Equal(s.upper, []rune{signIi}) {
			s.letter = letterUu
			s.upper = nil
		}
	case letterCa:
		// Zawgyi draws ဈ as စ with medial YA.
		if s.ya && !s.ra && !s.wa && !s.ha {
			s.letter = letterJha
			s.ya = false
		}
	}
	// ိ and ီ never stack: a typist who typed both meant the long vowel.
	if slices.Contains(s.upper, signI) && slices.Contains(s.upper, signIi) {
		s.upper = slices.DeleteFunc(s.upper, func(r rune) bool { return r == signI })
	}
}

func (s *syllable) write(b *strings.Builder) {
	if s.kinzi {
		b.WriteString("\u1004\u103A\u1039")
	}
	if s.letter != 0 {
		b.WriteRune(s.letter)
	}
	for _, c := range s.stacked {
		b.WriteRune(signVirama)
		b.WriteRune(c)
	}
	if s.asatBeforeYa {
		b.WriteRune(signAsat)
		s.asat = false
	}
	writeIf(b, s.ya, medialYa)
	writeIf(b, s.ra, medialRa)
	writeIf(b, s.wa, medialWa)
	writeIf(b, s.ha, medialHa)
	writeIf(b, s.e, signE)
	for _, list := range [][]rune{s.upper, s.lower, s.aa} {
		for _, r := range list {
			b.WriteRune(r)
		}
	}
	writeIf(b, s.anusvara, signAnusvara)
	writeIf(b, s.dot, signDotBelow)
	writeIf(b, s.asat, signAsat)
	writeIf(b, s.visarga, signVisarga)
}

func writeIf(b *strings.Builder, ok bool, r rune) {
	if ok {
		b.WriteRune(r)
	}
}
