package myanmar

// Code points the converter and the detector name: Unicode letters and marks,
// then Zawgyi's own glyphs (zawgyi...), which Unicode gives to other languages.
const (
	letterNya      = '\u1009' // ဉ
	letterDda      = '\u100D' // ဍ
	letterNga      = '\u1004' // င
	letterCa       = '\u1005' // စ
	letterJha      = '\u1008' // ဈ
	letterNnya     = '\u100A' // ည
	letterTta      = '\u100B' // ဋ
	letterTtha     = '\u100C' // ဌ
	letterDdha     = '\u100E' // ဎ
	letterNna      = '\u100F' // ဏ
	letterTa       = '\u1010' // တ
	letterNa       = '\u1014' // န
	letterRa       = '\u101B' // ရ
	letterWa       = '\u101D' // ဝ
	letterU        = '\u1025' // ဥ
	letterUu       = '\u1026' // ဦ
	letterGreatSa  = '\u103F' // ဿ
	signAa         = '\u102C' // ာ
	signI          = '\u102D' // ိ
	signIi         = '\u102E' // ီ
	signU          = '\u102F' // ု
	signUu         = '\u1030' // ူ
	signE          = '\u1031' // ေ
	signAnusvara   = '\u1036' // ံ
	signDotBelow   = '\u1037' // ့
	signVisarga    = '\u1038' // း
	signVirama     = '\u1039' // ္ in Unicode; Zawgyi's asat
	signAsat       = '\u103A' // ် in Unicode; Zawgyi's medial YA
	medialYa       = '\u103B' // ျ in Unicode; Zawgyi's medial RA
	medialRa       = '\u103C' // ြ in Unicode; Zawgyi's medial WA
	medialWa       = '\u103D' // ွ in Unicode; Zawgyi's medial HA
	medialHa       = '\u103E' // ှ
	digitZero      = '\u1040' // ၀, which Zawgyi typists use for ဝ
	digitSeven     = '\u1047' // ၇, which Zawgyi typists use for ရ
	symbolLagaung  = '\u104E' // ၎, which Zawgyi draws as the whole word ၎င်း
	zawgyiKinzi    = '\u1064'
	zawgyiYaShort  = '\u107D'
	zawgyiHaShort  = '\u1087'
	zawgyiHaU      = '\u1088'
	zawgyiHaUu     = '\u1089'
	zawgyiWaHa     = '\u108A'
	zawgyiKinziI   = '\u108B'
	zawgyiKinziIi  = '\u108C'
	zawgyiKinziAnu = '\u108D'
	zawgyiIAnu     = '\u108E'
	zawgyiNa       = '\u108F'
	zawgyiRa       = '\u1090'
	zawgyiTaWa     = '\u1096'
)

// zawgyiStacked maps Zawgyi's precomposed lower (stacked) consonants to the
// consonant Unicode writes after U+1039. Several come in two widths.
var zawgyiStacked = map[rune]rune{
	'\u1060': '\u1000', '\u1061': '\u1001', '\u1062': '\u1002', '\u1063': '\u1003',
	'\u1065': '\u1005', '\u1066': '\u1006', '\u1067': '\u1006', '\u1068': '\u1007',
	'\u1069': '\u1008', '\u106C': '\u100B', '\u106D': '\u100C', '\u1070': '\u100F',
	'\u1071': '\u1010', '\u1072': '\u1010', '\u1073': '\u1011', '\u1074': '\u1011',
	'\u1075': '\u1012', '\u1076': '\u1013', '\u1077': '\u1014', '\u1078': '\u1015',
	'\u1079': '\u1016', '\u107A': '\u1017', '\u107B': '\u1018', '\u1093': '\u1018',
	'\u107C': '\u1019', '\u1085': '\u101C',
}

// zawgyiLigature maps Zawgyi's two-consonant ligatures to their upper and
// lower consonant; Unicode writes them upper, U+1039, lower.
var zawgyiLigature = map[rune][2]rune{
	'\u106E': {letterDda, letterDda},  // ဍ္ဍ
	'\u106F': {letterDda, letterDdha}, // ဍ္ဎ
	'\u1091': {letterNna, letterDda},  // ဏ္ဍ
	'\u1092': {letterTta, letterTtha}, // ဋ္ဌ
	'\u1097': {letterTta, letterTta},  // ဋ္ဋ
}

// zawgyiLetter maps Zawgyi's glyph variants of single letters to the letter.
var zawgyiLetter = map[rune]rune{
	'\u106A': letterU, // ဥ or ဉ with room below; syllable.fix tells them apart
	'\u106B': letterNnya,
	zawgyiNa: letterNa,
	zawgyiRa: letterRa,
	'\u1086': letterGreatSa,
}

func isConsonant(r rune) bool { return r >= '\u1000' && r <= '\u1021' }

// isLetter reports the Unicode letters that start a syllable: consonants and
// independent vowels, and great sa.
func isLetter(r rune) bool { return (r >= '\u1000' && r <= '\u102A') || r == letterGreatSa }

func isDigit(r rune) bool { return r >= '\u1040' && r <= '\u1049' }

// isMyanmarText reports code points of the Myanmar block other than digits and
// punctuation: letters and marks of either encoding.
func isMyanmarText(r rune) bool {
	return inMyanmarBlock(r) && !isDigit(r) && (r < '\u104A' || r > '\u104F')
}

// isZawgyiRa reports Zawgyi's medial RA and its width and cut variants, all
// written before the consonant they wrap.
func isZawgyiRa(r rune) bool { return r == medialYa || (r >= '\u107E' && r <= '\u1084') }

// isZawgyiPrefix reports what Zawgyi writes before a consonant that belongs
// to it: the vowel sign E and medial RA.
func isZawgyiPrefix(r rune) bool { return r == signE || isZawgyiRa(r) }

// isZawgyiLetter reports runes that Zawgyi uses to start a syllable.
func isZawgyiLetter(r rune) bool {
	if isLetter(r) {
		return true
	}
	_, variant := zawgyiLetter[r]
	_, ligature := zawgyiLigature[r]
	return variant || ligature
}

// isUnicodeHost reports what a Unicode dependent vowel or medial may follow:
// a letter or a medial (and the digits ၀ and ၇, which are typed for ဝ and ရ).
func isUnicodeHost(r rune) bool {
	return isLetter(r) || (r >= medialYa && r <= medialHa) || r == digitZero || r == digitSeven
}

// isZawgyiMark reports the runes Zawgyi writes after a consonant that belong
// to its syllable.
func isZawgyiMark(r rune) bool {
	switch {
	case r >= '\u102B' && r <= '\u1030', r >= '\u1032' && r <= '\u103A', r >= medialRa && r <= medialHa:
		return true
	case r == '\u105A', r == zawgyiKinzi, r == zawgyiYaShort, r >= zawgyiHaShort && r <= zawgyiIAnu,
		r == '\u1094', r == '\u1095', r == zawgyiTaWa:
		return true
	}
	_, stacked := zawgyiStacked[r]
	return stacked
}
