package channels

import (
	"unicode/utf16"

	"github.com/rivo/uniseg"
)

// Encoding names as printed by `waymark sms segments`; they match the names
// Twilio's segment calculator shows, so authors can compare the two.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment capacities. A single SMS carries 140 octets; a concatenated one
// spends 6 of them on the user data header, which leaves 153 septets or 67
// UTF-16 units.
const (
	gsm7SingleSeptets = 160
	gsm7PartSeptets   = 153
	ucs2SingleUnits   = 70
	ucs2PartUnits     = 67
)

// GSM 03.38 default alphabet. ESC (0x1B) is deliberately absent from the basic
// table: it only introduces an extension character, so a literal ESC in the
// text cannot be sent as GSM-7.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExt   = "\f^{}\\[~]|€" // each costs ESC + char, 2 septets
)

// gsmSeptets maps every GSM-7 encodable rune to its cost in septets.
var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, len(gsmBasic)+len(gsmExt))
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExt {
		m[r] = 2
	}
	return m
}()

// SegmentCount is what a message costs to send as SMS; Segments is what
// providers bill, so campaign estimates multiply by it.
type SegmentCount struct {
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
	Units    int    `json:"units"` // septets (GSM-7, escape pairs count 2) or UTF-16 code units (UCS-2)
}

// CountSegments reports how many SMS segments text needs, counting the way
// Twilio's calculator (npm sms-segments-calculator) does so estimates match
// the bill: a segment never splits an escape pair, a surrogate pair or a
// grapheme cluster (CR LF aside, which the calculator counts as two
// characters), so it may need more segments than dividing the length.
//
// Empty text counts as one GSM-7 segment of 0 units, as that calculator
// reports it. Unlike the calculator, a single grapheme cluster longer than a
// whole segment is split between code points instead of overfilling one
// segment.
func CountSegments(text string) SegmentCount {
	encoding, parts := segmentParts(text)
	units := 0
	for _, n := range parts {
		units += n
	}
	return SegmentCount{Encoding: encoding, Segments: len(parts), Units: units}
}

// NonGSMCharacters returns the distinct user-perceived characters of text that
// force UCS-2, in order of first appearance, so authors see exactly what to
// rewrite to fall back to cheaper GSM-7 segments. It returns nil for GSM-7
// text.
func NonGSMCharacters(text string) []string {
	if isGSM7(text) {
		return nil
	}
	var found []string
	seen := make(map[string]bool)
	state := -1
	for rest := text; rest != ""; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if seen[cluster] || isGSM7(cluster) {
			continue
		}
		seen[cluster] = true
		found = append(found, cluster)
	}
	return found
}

func isGSM7(text string) bool {
	for _, r := range text {
		if gsmSeptets[r] == 0 {
			return false
		}
	}
	return true
}

// segmentParts returns the encoding and the units carried by each segment.
func segmentParts(text string) (encoding string, parts []int) {
	if isGSM7(text) {
		// Every GSM-7 rune is its own grapheme cluster (CR LF aside, which
		// Twilio's calculator counts as two characters), so the only pair
		// that must stay together is an escape pair.
		atoms := make([]int, 0, len(text))
		for _, r := range text {
			atoms = append(atoms, gsmSeptets[r])
		}
		return EncodingGSM7, fill(atoms, gsm7SingleSeptets, gsm7PartSeptets)
	}
	return EncodingUCS2, fill(ucs2Atoms(text), ucs2SingleUnits, ucs2PartUnits)
}

// ucs2Atoms returns the sizes in UTF-16 units of the pieces a segment boundary
// must not cut: grapheme clusters, except CR LF, which Twilio's calculator
// splits, and clusters too long for any segment, which fall back to code
// points so that a segment always has room for the next piece.
func ucs2Atoms(text string) []int {
	atoms := make([]int, 0, len(text))
	state := -1
	for rest := text; rest != ""; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		units := 0
		for _, r := range cluster {
			units += utf16.RuneLen(r)
		}
		if cluster != "\r\n" && units <= ucs2PartUnits {
			atoms = append(atoms, units)
			continue
		}
		for _, r := range cluster {
			atoms = append(atoms, utf16.RuneLen(r))
		}
	}
	return atoms
}

// fill packs atoms greedily into segments. A message that fits in one segment
// needs no user data header and so gets the larger single limit; atoms are
// never larger than partLimit.
func fill(atoms []int, singleLimit, partLimit int) []int {
	total := 0
	for _, n := range atoms {
		total += n
	}
	if total <= singleLimit {
		return []int{total}
	}
	var parts []int
	current := 0
	for _, n := range atoms {
		if current+n > partLimit {
			parts = append(parts, current)
			current = 0
		}
		current += n
	}
	return append(parts, current)
}
