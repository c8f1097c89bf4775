package contacts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/waymark-org/waymark/internal/errcode"
)

// checkFieldError fails unless err is a *FieldError for field whose reason
// contains want, matches ErrInvalid, and does not repeat the input.
func checkFieldError(t *testing.T, err error, field, want, input string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s error containing %q", field, want)
	}
	fe, ok := errors.AsType[*FieldError](err)
	if !ok {
		t.Fatalf("error %v is %T, want *FieldError", err, err)
	}
	if fe.Field != field {
		t.Errorf("Field = %q, want %q", fe.Field, field)
	}
	if !strings.Contains(fe.Reason, want) {
		t.Errorf("Reason = %q, want it to contain %q", fe.Reason, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	if in := strings.TrimSpace(input); len(in) > 2 && strings.Contains(err.Error(), in) {
		t.Errorf("error %q repeats the input %q", err, in)
	}
}

func TestFieldError(t *testing.T) {
	t.Parallel()
	var err error = &FieldError{Field: "phone", Reason: "too short to be a phone number"}
	if got, want := err.Error(), "phone: too short to be a phone number"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("a FieldError does not match ErrInvalid")
	}
	// Wrapped as callers do, it still reads as an Invalid domain error about
	// its field, which is what the web layer maps to a status.
	wrapped := fmt.Errorf("importing: %w", err)
	if got := errcode.CodeOf(wrapped); got != errcode.Invalid {
		t.Errorf("errcode.CodeOf = %q, want %q", got, errcode.Invalid)
	}
	if e, ok := errcode.As(wrapped); !ok || e.Field != "phone" || e.Message != "too short to be a phone number" {
		t.Errorf("errcode.As = %+v, %v", e, ok)
	}
	if _, ok := errcode.As(errors.New("other")); ok {
		t.Error("errcode.As found an errcode.Error in a plain error")
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, region string
		want        string // E.164 on success
		wantErr     string // part of the reason on failure
	}{
		{raw: "0712345678", region: "KE", want: "+254712345678"},
		{raw: " 0712 345 678 ", region: "ke", want: "+254712345678"},
		{raw: "(0712) 345-678", region: "KE", want: "+254712345678"},
		{raw: "+254712345678", region: "", want: "+254712345678"},
		{raw: "+254 712 345 678", region: "ET", want: "+254712345678"},
		{raw: "+254 (0)712 345678", region: "", want: "+254712345678"},
		{raw: "00254712345678", region: "", want: "+254712345678"},
		{raw: "00254712345678", region: "KE", want: "+254712345678"}, // Kenya's own prefix is 000
		{raw: "00 254 712 345 678", region: "US", want: "+254712345678"},
		{raw: "٠٧١٢٣٤٥٦٧٨", region: "KE", want: "+254712345678"},       // Arabic-Indic digits
		{raw: "۰۷۰۱۲۳۴۵۶۷", region: "AF", want: "+93701234567"},        // Persian digits
		{raw: "९८४१२३४५६७", region: "NP", want: "+9779841234567"},      // Devanagari digits
		{raw: "၀၉၂၁၂၃၄၅၆", region: "MM", want: "+9592123456"},          // Myanmar digits
		{raw: "\uff0b254712345678", region: "", want: "+254712345678"}, // full-width plus
		{raw: "091 123 4567", region: "ET", want: "+251911234567"},

		{raw: "", region: "KE", wantErr: "is empty"},
		{raw: "   ", region: "KE", wantErr: "is empty"},
		{raw: "12", region: "US", wantErr: "not a valid phone number for US"},
		{raw: "07700 900123", region: "GB", wantErr: "not a valid phone number for GB"},
		{raw: "+44 7700 900123", region: "KE", wantErr: "not a valid phone number for GB"},
		{raw: "0911234567", region: "KE", wantErr: "not a valid phone number for KE"},
		{raw: "0712345678", region: "", wantErr: "national number without a country: set the row's country or the workspace default"},
		{raw: "0712345678", region: "AQ", wantErr: "no phone numbering plan is known for AQ"},
		{raw: "+999 123 4567", region: "", wantErr: "unknown country calling code"},
		{raw: "Amina", region: "KE", wantErr: "not a phone number"},
		{raw: "0712345678 ext. 12", region: "KE", wantErr: "has an extension"},
		{raw: "1", region: "KE", wantErr: "not a phone number"},
		{raw: "+2547", region: "", wantErr: "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizePhone(tt.raw, tt.region)
			if tt.wantErr != "" {
				checkFieldError(t, err, "phone", tt.wantErr, tt.raw)
				if got != "" {
					t.Errorf("got %q with an error, want \"\"", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
			}
		})
	}
}

// TestNormalizePhoneExampleNumbers takes libphonenumber's own example mobile
// numbers for corridor countries, so the test does not rest on guessed
// numbering plans, and reads each in national, international and 00 form.
func TestNormalizePhoneExampleNumbers(t *testing.T) {
	t.Parallel()
	for _, region := range []string{"KE", "ET", "NP", "MM", "AF", "SA", "CO", "BD", "LK", "ER", "SO", "TH", "MY", "AE"} {
		t.Run(region, func(t *testing.T) {
			t.Parallel()
			num := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
			if num == nil {
				t.Fatalf("no example mobile number for %s", region)
			}
			e164 := phonenumbers.Format(num, phonenumbers.E164)
			forms := []struct{ raw, region string }{
				{phonenumbers.Format(num, phonenumbers.NATIONAL), region},
				{phonenumbers.Format(num, phonenumbers.INTERNATIONAL), ""},
				{phonenumbers.Format(num, phonenumbers.INTERNATIONAL), "GB"},
				{"00" + strings.TrimPrefix(e164, "+"), ""},
				{e164, region},
			}
			for _, f := range forms {
				got, err := NormalizePhone(f.raw, f.region)
				if err != nil || got != e164 {
					t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", f.raw, f.region, got, err, e164)
				}
			}
			// The same national number read in the wrong country must not
			// silently become a valid number of that country.
			national := phonenumbers.Format(num, phonenumbers.NATIONAL)
			if got, err := NormalizePhone(national, ""); err == nil {
				t.Errorf("NormalizePhone(%q, \"\") = %q, want an error", national, got)
			}
		})
	}
}

func TestNormalizePhoneSameNumberAnyFormat(t *testing.T) {
	t.Parallel()
	forms := []struct{ raw, region string }{
		{"0712345678", "KE"},
		{"0712 345 678", "KE"},
		{"(0712) 345-678", "KE"},
		{"+254712345678", ""},
		{"+254 712 345 678", "ET"},
		{"00254712345678", "KE"},
		{"٠٧١٢٣٤٥٦٧٨", "KE"},
	}
	seen := map[string]bool{}
	for _, f := range forms {
		got, err := NormalizePhone(f.raw, f.region)
		if err != nil {
			t.Fatalf("NormalizePhone(%q, %q): %v", f.raw, f.region, err)
		}
		seen[got] = true
	}
	if len(seen) != 1 || !seen["+254712345678"] {
		t.Errorf("forms of one number normalised to %v, want only +254712345678", seen)
	}
}

func TestNormalizeLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "fa-AF", want: "fa-AF"},
		{in: "fa-af", want: "fa-AF"},
		{in: "prs", want: "fa-AF"},
		{in: "PRS", want: "fa-AF"},
		{in: "prs-AF", want: "fa-AF"},
		{in: "prs-Arab", want: "fa-AF"},
		{in: "prs-IR", want: "fa-IR"},
		{in: "prs-Latn", want: "fa-Latn-AF"},
		{in: "fa-Arab-AF", want: "fa-AF"},
		{in: "es-419", want: "es-419"},
		{in: "EN", want: "en"},
		{in: "en_US", want: "en-US"},
		{in: " am ", want: "am"},
		{in: "iw", want: "he"},
		{in: "arb", want: "ar"},
		{in: "ur-Arab", want: "ur"},
		{in: "rhg-Rohg", want: "rhg-Rohg"},
		{in: "zh-hant-tw", want: "zh-Hant-TW"},
		{in: "sq-XK", want: "sq-XK"},
		{in: "ar-001", want: "ar-001"},

		{in: "", wantErr: "is empty"},
		{in: "und", wantErr: "names no language"},
		{in: "und-AF", wantErr: "names no language"},
		{in: "mul", wantErr: "names no single language"},
		{in: "zxx", wantErr: "names no single language"},
		{in: "zz", wantErr: "not a known BCP-47 language tag"},
		{in: "Amharic", wantErr: "not a known BCP-47 language tag"},
		{in: "english", wantErr: "not a known BCP-47 language tag"},
		{in: "en-", wantErr: "not a known BCP-47 language tag"},
		{in: "qaa", wantErr: "private-use language"},
		{in: "x-dari", wantErr: "names no language"},
		{in: "en-ZZ", wantErr: "private-use region"},
		{in: "en-XA", wantErr: "private-use region"},
		{in: "en-x-waymark", wantErr: "extensions"},
		{in: "ar-u-nu-arab", wantErr: "extensions"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeLanguage(tt.in)
			if tt.wantErr != "" {
				checkFieldError(t, err, "language", tt.wantErr, tt.in)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizeLanguage(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestNormalizeLanguageCorridor checks that every corridor language tag
// Waymark documents is accepted and left exactly as written.
func TestNormalizeLanguageCorridor(t *testing.T) {
	t.Parallel()
	for _, tag := range []string{
		"am", "ti", "om", "so", "ar", "ne", "bn", "ur", "si", "my", "km", "lo", "th",
		"fa-AF", "ps", "fa", "tr", "es-419", "fr", "ha", "ff", "wo", "pcm", "fil", "id", "ms", "rhg", "en", "sw",
	} {
		if got, err := NormalizeLanguage(tag); err != nil || got != tag {
			t.Errorf("NormalizeLanguage(%q) = %q, %v; want it unchanged", tag, got, err)
		}
	}
}

func TestNormalizeCountry(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"KE", "KE"}, {"ke", "KE"}, {" et ", "ET"}, {"KEN", "KE"}, {"afg", "AF"},
		{"MMR", "MM"}, {"NPL", "NP"}, {"UK", "GB"}, {"GBR", "GB"},
		{"", ""}, {"XX", ""}, {"XYZ", ""}, {"K", ""}, {"Kenya", ""}, {"KE-30", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeCountry(tt.in)
		if tt.want == "" {
			want := "not an ISO 3166-1 country code"
			if tt.in == "" {
				want = "is empty"
			}
			checkFieldError(t, err, "country", want, tt.in)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeCountry(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidCountry(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{"KE": true, "ET": true, "AF": true, "MM": true, "GB": true, "ke": false, "KEN": false, "UK": false, "XK": false, "": false}
	for in, want := range tests {
		if got := ValidCountry(in); got != want {
			t.Errorf("ValidCountry(%q) = %v, want %v", in, got, want)
		}
	}
	if got := CountryName("KE"); got != "Kenya" {
		t.Errorf("CountryName(KE) = %q, want Kenya", got)
	}
	if got := CountryName("ke"); got != "" {
		t.Errorf("CountryName(ke) = %q, want \"\"", got)
	}
}

func TestNormalizeAdminArea(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, country, want, wantErr string
	}{
		{code: "ET-AM", country: "ET", want: "ET-AM"},
		{code: "et-am", country: "ET", want: "ET-AM"},
		{code: " ET-TI ", country: "", want: "ET-TI"},
		{code: "KE-30", country: "KE", want: "KE-30"},
		{code: "AF-KAB", country: "AF", want: "AF-KAB"},
		{code: "MM-06", country: "MM", want: "MM-06"},
		{code: "NP-P3", country: "NP", want: "NP-P3"},
		{code: "ET-AM", country: "KE", wantErr: "is in ET, not in the contact's country KE"},
		{code: "ET-XX", country: "ET", wantErr: "not an ISO 3166-2 subdivision code"},
		{code: "ET", country: "ET", wantErr: "not an ISO 3166-2 subdivision code"},
		{code: "ETAM", country: "", wantErr: "not an ISO 3166-2 subdivision code"},
		{code: "", country: "ET", wantErr: "is empty"},
	}
	for _, tt := range tests {
		got, err := NormalizeAdminArea(tt.code, tt.country)
		if tt.wantErr != "" {
			checkFieldError(t, err, "admin_area", tt.wantErr, "")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeAdminArea(%q, %q) = %q, %v; want %q", tt.code, tt.country, got, err, tt.want)
		}
	}
	if !ValidAdminArea("ET-AM") || ValidAdminArea("et-am") || ValidAdminArea("ET") {
		t.Error("ValidAdminArea must accept exactly the stored codes")
	}
	if got := AdminAreaName("AF-KAB"); got != "Kābul" {
		t.Errorf("AdminAreaName(AF-KAB) = %q, want Kābul", got)
	}
}

func TestNormalizeTimeZone(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Africa/Nairobi", "Africa/Addis_Ababa", "Asia/Kabul", "Asia/Kathmandu", "Asia/Yangon", "America/Bogota", "UTC", " Asia/Riyadh "} {
		// Twice: the second answer comes from the cache.
		for range 2 {
			if got, err := NormalizeTimeZone(name); err != nil || got != strings.TrimSpace(name) {
				t.Errorf("NormalizeTimeZone(%q) = %q, %v", name, got, err)
			}
		}
	}
	tests := map[string]string{
		"":                "is empty",
		"Local":           "server's time zone",
		"Africa/Nairobbi": "not an IANA time zone name",
		"africa/nairobi":  "not an IANA time zone name",
		"Africa":          "not an IANA time zone name",
		"../etc/passwd":   "not an IANA time zone name",
		"GMT+3:00":        "not an IANA time zone name",
	}
	for in, want := range tests {
		_, err := NormalizeTimeZone(in)
		checkFieldError(t, err, "timezone", want, "")
	}
}

func TestNormalizeAgeBand(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"0--8", "0--8"}, {"0-8", "0--8"}, {"00-08", "0--8"},
		{"09--17", "09--17"}, {"9-17", "09--17"}, {"09-17", "09--17"}, {"9--17", "09--17"}, {" 9 – 17 ", "09--17"},
		{"18--20", "18--20"}, {"18-20", "18--20"}, {"21-23", "21--23"}, {"24-26", "24--26"},
		{"27-29", "27--29"}, {"30-38", "30--38"}, {"39-47", "39--47"}, {"48+", "48+"}, {"48 +", "48+"},
		{"", ""}, {"17", ""}, {"18-25", ""}, {"0-9", ""}, {"adult", ""}, {"48", ""}, {"-", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeAgeBand(tt.in)
		if tt.want == "" {
			want := "not one of the age bands 0--8, 09--17"
			if tt.in == "" {
				want = "is empty"
			}
			checkFieldError(t, err, "age_band", want, "")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeAgeBand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeSex(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Feminine", SexFeminine}, {"female", SexFeminine}, {"F", SexFeminine}, {"Woman", SexFeminine}, {"WOMAN", SexFeminine},
		{"Masculine", SexMasculine}, {"male", SexMasculine}, {"m", SexMasculine}, {"Man", SexMasculine},
		{"TransgenderFeminine", SexTransgenderFeminine}, {"transgender feminine", SexTransgenderFeminine}, {"trans woman", SexTransgenderFeminine},
		{"TransgenderMasculine", SexTransgenderMasculine}, {"Trans man", SexTransgenderMasculine},
		{"Trans/Transgender/NonConforming", SexNonConforming}, {"NonConforming", SexNonConforming},
		{"non-conforming", SexNonConforming}, {"Non-binary", SexNonConforming}, {"transgender", SexNonConforming},
		{"NonSpecifiedUnknown", SexNonSpecifiedUnknown}, {"unknown", SexNonSpecifiedUnknown}, {"Prefer not to say", SexNonSpecifiedUnknown},
		{"", ""}, {"x", ""}, {"other", ""}, {"fm", ""}, {"1", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeSex(tt.in)
		if tt.want == "" {
			want := "not a recognised value"
			if tt.in == "" {
				want = "is empty"
			}
			checkFieldError(t, err, "sex", want, "")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeSex(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCTDCGender(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		SexFeminine:             "Woman",
		SexMasculine:            "Man",
		SexTransgenderFeminine:  "Trans/Transgender/NonConforming",
		SexTransgenderMasculine: "Trans/Transgender/NonConforming",
		SexNonConforming:        "Trans/Transgender/NonConforming",
		SexNonSpecifiedUnknown:  "",
		"":                      "",
		"female":                "", // only stored values are mapped
	}
	for in, want := range tests {
		if got := CTDCGender(in); got != want {
			t.Errorf("CTDCGender(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVocabulariesAreStable checks that every stored value normalises to
// itself, and that the exported lists cannot be changed by callers.
func TestVocabulariesAreStable(t *testing.T) {
	t.Parallel()
	bands := AgeBands()
	if !slices.Equal(bands, []string{"0--8", "09--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+"}) {
		t.Errorf("AgeBands() = %q", bands)
	}
	for _, b := range bands {
		if got, err := NormalizeAgeBand(b); err != nil || got != b {
			t.Errorf("NormalizeAgeBand(%q) = %q, %v", b, got, err)
		}
	}
	bands[0] = "changed"
	if AgeBands()[0] != "0--8" {
		t.Error("AgeBands returned its own slice")
	}
	sexes := Sexes()
	if len(sexes) != 6 {
		t.Errorf("Sexes() = %q, want the 6 HTCDS prs_Gender values", sexes)
	}
	for _, s := range sexes {
		if got, err := NormalizeSex(s); err != nil || got != s {
			t.Errorf("NormalizeSex(%q) = %q, %v", s, got, err)
		}
	}
}

func TestNormalizeTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: " ; ,, ", want: nil},
		{in: "a;b", want: []string{"a", "b"}},
		{in: "a,b", want: []string{"a", "b"}},
		{in: " Returnee ; returnee ;; GULF , domestic_work", want: []string{"returnee", "gulf", "domestic_work"}},
		{in: "ተመላሽ;ሰራተኛ", want: []string{"ተመላሽ", "ሰራተኛ"}},           // Ethiopic
		{in: "नेपाल,काठमाडौं", want: []string{"नेपाल", "काठमाडौं"}}, // Devanagari with vowel signs
		{in: "می\u200cخواهم", want: []string{"می\u200cخواهم"}},      // Dari with a zero-width non-joiner
		{in: "cafe\u0301;café", want: []string{"café"}},             // NFC folds both spellings
		{in: "wave-2025", want: []string{"wave-2025"}},
		{in: "new arrivals", wantErr: "tag 1 has a character other than"},
		{in: "ok;bad!", wantErr: "tag 2 has a character other than"},
		{in: "ok;a/b", wantErr: "tag 2 has a character other than"},
		{in: strings.Repeat("a", 64), want: []string{strings.Repeat("a", 64)}},
		{in: strings.Repeat("ሀ", 64), want: []string{strings.Repeat("ሀ", 64)}},
		{in: "x;" + strings.Repeat("a", 65), wantErr: "tag 2 is longer than 64 characters"},
	}
	for _, tt := range tests {
		got, err := NormalizeTags(tt.in)
		if tt.wantErr != "" {
			checkFieldError(t, err, "tags", tt.wantErr, tt.in)
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("NormalizeTags(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeTelegramChatID(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"123456789", "123456789"}, {" 42 ", "42"}, {"-1001234567890", "-1001234567890"},
		{"+42", "42"}, {"007", "7"}, {"9223372036854775807", "9223372036854775807"},
		{"", ""}, {"0", ""}, {"-0", ""}, {"abc", ""}, {"1.5", ""}, {"@waymark", ""},
		{"9223372036854775808", ""}, {"1e9", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeTelegramChatID(tt.in)
		if tt.want == "" {
			want := "not a Telegram chat id"
			if tt.in == "" {
				want = "is empty"
			}
			checkFieldError(t, err, "telegram_chat_id", want, tt.in)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeTelegramChatID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestISO3166Tables(t *testing.T) {
	t.Parallel()
	if isoCodesVersion == "" {
		t.Error("the generated tables do not name their iso-codes version")
	}
	if n := len(countryNames); n <= 240 {
		t.Errorf("%d countries, want more than 240", n)
	}
	if n := len(subdivisionNames); n <= 4000 {
		t.Errorf("%d subdivisions, want more than 4000", n)
	}
	if len(alpha3ToAlpha2) != len(countryNames) {
		t.Errorf("%d alpha-3 codes for %d countries", len(alpha3ToAlpha2), len(countryNames))
	}
	countries := map[string]string{"KE": "Kenya", "ET": "Ethiopia", "AF": "Afghanistan", "NP": "Nepal", "MM": "Myanmar", "SA": "Saudi Arabia"}
	for code, name := range countries {
		if got := countryNames[code]; got != name {
			t.Errorf("countryNames[%s] = %q, want %q", code, got, name)
		}
	}
	alpha3 := map[string]string{"KEN": "KE", "ETH": "ET", "AFG": "AF", "NPL": "NP", "MMR": "MM", "GBR": "GB"}
	for a3, a2 := range alpha3 {
		if got := alpha3ToAlpha2[a3]; got != a2 {
			t.Errorf("alpha3ToAlpha2[%s] = %q, want %q", a3, got, a2)
		}
	}
	subdivisions := map[string]string{"ET-AM": "Amara", "ET-TI": "Tigrai", "AF-KAB": "Kābul", "MM-06": "Yangon", "NP-P3": "Bāgmatī", "KE-30": "Nairobi City"}
	for code, name := range subdivisions {
		if got := subdivisionNames[code]; got != name {
			t.Errorf("subdivisionNames[%s] = %q, want %q", code, got, name)
		}
	}
	for code := range subdivisionNames {
		if prefix, _, _ := strings.Cut(code, "-"); !ValidCountry(prefix) {
			t.Errorf("subdivision %s is under unknown country %s", code, prefix)
		}
	}
}
