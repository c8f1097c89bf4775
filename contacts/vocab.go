package contacts

//go:generate go run ./internal/isogen

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zone validation must not depend on the host having zoneinfo installed
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/waymark-org/waymark/internal/errcode"
)

// Field names shared by FieldError, the CSV columns and Reject.Column, so that
// a reason reads the same wherever a value came from.
const (
	fieldPhone          = "phone"
	fieldName           = "name"
	fieldLanguage       = "language"
	fieldCountry        = "country"
	fieldAdminArea      = "admin_area"
	fieldTimeZone       = "timezone"
	fieldTags           = "tags"
	fieldAgeBand        = "age_band"
	fieldSex            = "sex"
	fieldTelegramChatID = "telegram_chat_id"
	fieldConsent        = "consent"
)

// ErrInvalid is matched by every *FieldError, so that an edge can classify a
// validation failure with errors.Is without knowing which field failed.
var ErrInvalid = errors.New("invalid value")

// FieldError reports a value that failed validation. Reason never contains the
// value itself: values can be personal data, and these errors end up in import
// reports and logs. The row or request the value came from identifies it.
type FieldError struct {
	Field  string // field or CSV column name, such as "phone" or "admin_area"
	Reason string // a sentence for the person who has to fix the value
}

// Error returns "FIELD: REASON".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrInvalid) hold for every FieldError.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// As lets errors.As, and so errcode.CodeOf, read a FieldError as an
// errcode.Invalid error about its field: the web layer then maps it to a
// status like any other domain error, without knowing this type.
func (e *FieldError) As(target any) bool {
	if t, ok := target.(**errcode.Error); ok {
		*t = &errcode.Error{Code: errcode.Invalid, Field: e.Field, Message: e.Reason, Err: ErrInvalid}
		return true
	}
	return false
}

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// NormalizePhone parses a phone number written internationally ("+254…" or
// "00254…") or nationally ("0712…", read in region, an ISO 3166-1 alpha-2
// code) and returns it in E.164 form once libphonenumber's rules say it is a
// valid number. Digits in other scripts (Arabic-Indic, Devanagari, Myanmar, …)
// are read as their ASCII values, because people type numbers on their own
// keyboards. Numbers with an extension are refused: a message cannot reach an
// extension, and dropping it would merge two people's numbers.
func NormalizePhone(raw, region string) (string, error) {
	s := asciiDigits(strings.TrimSpace(raw))
	if s == "" {
		return "", invalid(fieldPhone, "is empty")
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	// libphonenumber only understands the international prefix of the region
	// it is given (Kenya's is 000, the United States' 011), and none without
	// one; 00 is what people write everywhere, so it always means "+" here.
	if rest, ok := strings.CutPrefix(strings.TrimLeft(s, " ("), "00"); ok {
		s = "+" + rest
	}
	lead := strings.TrimLeft(s, " (")
	international := strings.HasPrefix(lead, "+") || strings.HasPrefix(lead, "\uff0b") // full-width plus

	if !international {
		if region == "" {
			return "", invalid(fieldPhone, "national number without a country: set the row's country or the workspace default, or write the number with + and its country code")
		}
		if !phonenumbers.GetSupportedRegions()[region] {
			return "", invalid(fieldPhone, "no phone numbering plan is known for %s: write the number with + and its country code", region)
		}
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", invalid(fieldPhone, "unknown country calling code")
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", invalid(fieldPhone, "too short to be a phone number")
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", invalid(fieldPhone, "too long to be a phone number")
		default:
			return "", invalid(fieldPhone, "not a phone number")
		}
	}
	if num.GetExtension() != "" {
		return "", invalid(fieldPhone, "has an extension, which text messages cannot reach")
	}
	if !phonenumbers.IsValidNumber(num) {
		cc := int(num.GetCountryCode())
		where := region
		if international || phonenumbers.GetCountryCodeForRegion(region) != cc {
			where = phonenumbers.GetRegionCodeForCountryCode(cc)
			if where == "" || where == "ZZ" || where == "001" {
				where = "+" + strconv.Itoa(cc)
			}
		}
		return "", invalid(fieldPhone, "not a valid phone number for %s", where)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// asciiDigits rewrites every decimal digit, in whatever script, as its ASCII
// digit. libphonenumber only knows Arabic-Indic and full-width digits and
// refuses a Devanagari or Myanmar number as "too long".
func asciiDigits(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf || !unicode.Is(unicode.Nd, r) {
			return r
		}
		// Unicode encodes every decimal digit set as a contiguous run 0 to 9,
		// and unicode.Nd's ranges are unions of whole runs, so each range
		// starts at a zero.
		for _, rg := range unicode.Nd.R16 {
			if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
				return '0' + (r-rune(rg.Lo))%10
			}
		}
		for _, rg := range unicode.Nd.R32 {
			if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
				return '0' + (r-rune(rg.Lo))%10
			}
		}
		return r
	}, s)
}

// languageCanon canonicalises tags the way content is keyed: deprecated and
// legacy codes replaced (iw -> he), redundant scripts dropped (fa-Arab-AF ->
// fa-AF) and individual languages folded into their macrolanguage where CLDR
// does (arb -> ar), so a contact's language matches the workspace's content.
const languageCanon = language.All

// NormalizeLanguage validates a BCP-47 language tag and returns its canonical
// form, keeping region subtags (fa-AF, es-419). ISO 639-3 "prs" (Dari) becomes
// fa-AF, the tag Waymark's content uses for Dari. Undetermined, special
// (mis, mul, zxx) and private-use languages, private-use regions and tags with
// extensions are refused: none of them can select content.
func NormalizeLanguage(tag string) (string, error) {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return "", invalid(fieldLanguage, "is empty")
	}
	t, err := languageCanon.Parse(tag)
	if err != nil {
		return "", invalid(fieldLanguage, "not a known BCP-47 language tag, such as am, ar or fa-AF")
	}
	// und, and tags made only of private-use subtags (x-…), have no language
	// of their own: Base then only guesses one.
	base, conf := t.Base()
	if conf != language.Exact {
		return "", invalid(fieldLanguage, "names no language; use a tag such as am, ar or fa-AF")
	}
	switch b := base.String(); {
	case b == "mis" || b == "mul" || b == "zxx":
		return "", invalid(fieldLanguage, "names no single language; use a tag such as am, ar or fa-AF")
	case b >= "qaa" && b <= "qtz":
		return "", invalid(fieldLanguage, "is a private-use language code")
	case b == "prs":
		// Dari without a region is the Dari of Afghanistan; an explicit
		// script or region is kept.
		parts := []any{language.MustParseBase("fa"), language.MustParseRegion("AF")}
		if r, c := t.Region(); c == language.Exact {
			parts[1] = r
		}
		if sc, c := t.Script(); c == language.Exact {
			parts = append(parts, sc)
		}
		if t, err = languageCanon.Compose(parts...); err != nil {
			return "", invalid(fieldLanguage, "not a known BCP-47 language tag, such as am, ar or fa-AF")
		}
	}
	if r, c := t.Region(); c == language.Exact && r.IsPrivateUse() && !r.IsCountry() {
		// IsCountry keeps XK (Kosovo), which CLDR uses although it is user-assigned.
		return "", invalid(fieldLanguage, "has a private-use region")
	}
	if len(t.Extensions()) > 0 {
		return "", invalid(fieldLanguage, "has extensions (-u-, -t- or -x-); use a plain tag such as am, ar or fa-AF")
	}
	return t.String(), nil
}

// ValidCountry reports whether alpha2 is an ISO 3166-1 alpha-2 code exactly as
// stored: two upper-case letters. Use NormalizeCountry for user input.
func ValidCountry(alpha2 string) bool {
	_, ok := countryNames[alpha2]
	return ok
}

// CountryName returns the ISO short name of a country ("Kenya"), or "" when
// alpha2 is not a stored country code.
func CountryName(alpha2 string) string { return countryNames[alpha2] }

// NormalizeCountry accepts an ISO 3166-1 alpha-2 or alpha-3 code in any case
// and returns the alpha-2 code. UK, which ISO reserves for the United Kingdom
// at its request, is read as GB because spreadsheets use it so often. Country
// names are refused: they differ by language and are ambiguous.
func NormalizeCountry(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", invalid(fieldCountry, "is empty")
	case s == "UK":
		return "GB", nil
	case len(s) == 2 && ValidCountry(s):
		return s, nil
	case len(s) == 3:
		if a2, ok := alpha3ToAlpha2[s]; ok {
			return a2, nil
		}
	}
	return "", invalid(fieldCountry, "not an ISO 3166-1 country code; use two letters, such as KE, ET or AF")
}

// ValidAdminArea reports whether code is an ISO 3166-2 subdivision code
// exactly as stored, such as ET-AM.
func ValidAdminArea(code string) bool {
	_, ok := subdivisionNames[code]
	return ok
}

// AdminAreaName returns the name of an ISO 3166-2 subdivision ("Amara" for
// ET-AM), or "" when code is not a stored subdivision code.
func AdminAreaName(code string) string { return subdivisionNames[code] }

// NormalizeAdminArea upper-cases an ISO 3166-2 subdivision code and checks it
// exists. When country (an alpha-2 code) is not empty the subdivision must be
// part of it: alerts target contacts by admin area, and a code from another
// country would put a contact inside the wrong alert area.
func NormalizeAdminArea(code, country string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return "", invalid(fieldAdminArea, "is empty")
	}
	if !ValidAdminArea(code) {
		return "", invalid(fieldAdminArea, "not an ISO 3166-2 subdivision code, such as ET-AM or KE-30")
	}
	if country != "" {
		if prefix, _, _ := strings.Cut(code, "-"); prefix != country {
			return "", invalid(fieldAdminArea, "is in %s, not in the contact's country %s", prefix, country)
		}
	}
	return code, nil
}

// timeZones caches names that loaded once: time.LoadLocation reads and parses
// zone data on every call, and an import asks for the same few zones
// 100,000 times. Only valid names are kept, so the cache stays small.
var timeZones sync.Map

// NormalizeTimeZone checks that name is an IANA time zone ("Africa/Nairobi")
// and returns it. "Local" is refused because it means the server's zone, not
// the contact's. Names are case-sensitive, as in the IANA database.
func NormalizeTimeZone(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", invalid(fieldTimeZone, "is empty")
	}
	if name == "Local" {
		return "", invalid(fieldTimeZone, "Local is the server's time zone; use an IANA name such as Africa/Nairobi")
	}
	if _, ok := timeZones.Load(name); ok {
		return name, nil
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", invalid(fieldTimeZone, "not an IANA time zone name, such as Africa/Nairobi or Asia/Kabul")
	}
	timeZones.Store(name, struct{}{})
	return name, nil
}

// ageBands is CTDC's ageBroad vocabulary in the spelling of its CSV files,
// which is also how Waymark stores and exports age bands.
var ageBands = []string{"0--8", "09--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+"}

// AgeBands returns the stored age band values, youngest first.
func AgeBands() []string { return append([]string(nil), ageBands...) }

// ageBandKeys maps the loose form computed by ageBandKey to the stored value.
var ageBandKeys = func() map[string]string {
	m := make(map[string]string, len(ageBands))
	for _, b := range ageBands {
		m[ageBandKey(b)] = b
	}
	return m
}()

// ageBandKey reduces the ways people write a band ("09--17", "9-17",
// "9 – 17") to one form: no spaces, one ASCII hyphen, no leading zeros.
func ageBandKey(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t':
			return -1
		case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
			return '-'
		}
		return r
	}, s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	lo, hi, ok := strings.Cut(s, "-")
	if ok {
		return trimZeros(lo) + "-" + trimZeros(hi)
	}
	return trimZeros(s)
}

func trimZeros(s string) string {
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	if s != "" {
		return "0"
	}
	return s
}

// NormalizeAgeBand returns the stored spelling of a CTDC age band, accepting
// CSV (09--17) and single-hyphen (9-17, 09-17) spellings. Ages outside the
// bands, or exact ages, are refused: Waymark keeps only the coarse band.
func NormalizeAgeBand(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid(fieldAgeBand, "is empty")
	}
	if b, ok := ageBandKeys[ageBandKey(s)]; ok {
		return b, nil
	}
	return "", invalid(fieldAgeBand, "not one of the age bands %s", strings.Join(ageBands, ", "))
}

// Sex values are HTCDS v2.0 prs_Gender terms, the vocabulary Waymark stores.
const (
	SexFeminine             = "Feminine"             // HTCDS prs_Gender Feminine
	SexMasculine            = "Masculine"            // HTCDS prs_Gender Masculine
	SexTransgenderFeminine  = "TransgenderFeminine"  // HTCDS prs_Gender TransgenderFeminine
	SexTransgenderMasculine = "TransgenderMasculine" // HTCDS prs_Gender TransgenderMasculine
	SexNonConforming        = "NonConforming"        // HTCDS prs_Gender NonConforming
	SexNonSpecifiedUnknown  = "NonSpecifiedUnknown"  // HTCDS prs_Gender NonSpecifiedUnknown
)

// Sexes returns the stored sex values in HTCDS order.
func Sexes() []string {
	return []string{SexFeminine, SexMasculine, SexTransgenderFeminine, SexTransgenderMasculine, SexNonConforming, SexNonSpecifiedUnknown}
}

// sexInputs maps inputs, folded by sexKey, to stored values: the HTCDS terms
// themselves, CTDC's gender terms and the usual spreadsheet answers.
var sexInputs = map[string]string{
	"feminine": SexFeminine, "female": SexFeminine, "f": SexFeminine, "woman": SexFeminine,
	"masculine": SexMasculine, "male": SexMasculine, "m": SexMasculine, "man": SexMasculine,
	"transgenderfeminine": SexTransgenderFeminine, "transfeminine": SexTransgenderFeminine,
	"transwoman": SexTransgenderFeminine, "transgenderwoman": SexTransgenderFeminine,
	"transgendermasculine": SexTransgenderMasculine, "transmasculine": SexTransgenderMasculine,
	"transman": SexTransgenderMasculine, "transgenderman": SexTransgenderMasculine,
	// CTDC's one category for trans and gender non-conforming people cannot
	// be split, so it maps to the HTCDS term that does not guess.
	"trans/transgender/nonconforming": SexNonConforming, "trans": SexNonConforming,
	"transgender": SexNonConforming, "nonconforming": SexNonConforming, "nonbinary": SexNonConforming,
	"nonspecifiedunknown": SexNonSpecifiedUnknown, "unknown": SexNonSpecifiedUnknown,
	"notspecified": SexNonSpecifiedUnknown, "prefernottosay": SexNonSpecifiedUnknown,
}

// sexKey folds case and drops spaces, hyphens and underscores, so that
// "Non-Conforming", "non conforming" and "NonConforming" are one input.
func sexKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// NormalizeSex returns the stored HTCDS prs_Gender value for s. It accepts the
// HTCDS terms, CTDC's Man, Woman and Trans/Transgender/NonConforming, and
// female/f/woman, male/m/man, case-insensitively.
func NormalizeSex(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid(fieldSex, "is empty")
	}
	if v, ok := sexInputs[sexKey(s)]; ok {
		return v, nil
	}
	return "", invalid(fieldSex, "not a recognised value; use one of %s, or female, male", strings.Join(Sexes(), ", "))
}

// CTDCGender maps a stored sex value to CTDC's gender column for exports. CTDC
// has one category for every trans and non-conforming identity, and none for
// unknown, which exports as blank like any missing CTDC value.
func CTDCGender(sex string) string {
	switch sex {
	case SexFeminine:
		return "Woman"
	case SexMasculine:
		return "Man"
	case SexTransgenderFeminine, SexTransgenderMasculine, SexNonConforming:
		return "Trans/Transgender/NonConforming"
	}
	return ""
}

// maxTagLen is the longest tag, in characters.
const maxTagLen = 64

// NormalizeTags splits a list of tags on ";" or ",", trims each, drops empty
// ones and duplicates, and returns them lower-cased in Unicode NFC, in their
// first order. Tags are lower-cased so that "Returnee" and "returnee" select
// the same audience. A tag holds letters (any script, with their combining
// marks), digits, "-" and "_", plus the zero-width (non-)joiners that Persian,
// Dari and Sinhala spelling needs; at most 64 characters. An empty list is
// nil with no error.
func NormalizeTags(s string) ([]string, error) {
	var tags []string
	n := 0
	for part := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ';' || r == ',' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n++
		tag := norm.NFC.String(strings.ToLower(part))
		if utf8.RuneCountInString(tag) > maxTagLen {
			return nil, invalid(fieldTags, "tag %d is longer than %d characters", n, maxTagLen)
		}
		for _, r := range tag {
			if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) &&
				r != '-' && r != '_' && r != '\u200c' && r != '\u200d' {
				return nil, invalid(fieldTags, "tag %d has a character other than letters, digits, - and _ (tags are separated by ; or ,)", n)
			}
		}
		if !slices.Contains(tags, tag) {
			tags = append(tags, tag)
		}
	}
	return tags, nil
}

// NormalizeTelegramChatID checks that s is a Telegram chat id, a non-zero
// 64-bit integer in decimal (negative for groups and channels), and returns it
// without leading zeros or sign.
func NormalizeTelegramChatID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid(fieldTelegramChatID, "is empty")
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id == 0 {
		return "", invalid(fieldTelegramChatID, "not a Telegram chat id, which is a whole number (negative for groups)")
	}
	return strconv.FormatInt(id, 10), nil
}
