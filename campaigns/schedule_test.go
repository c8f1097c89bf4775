package campaigns

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/waymark-org/waymark/internal/errcode"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// utc builds an instant from a UTC wall time "2006-01-02 15:04".
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseClock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Clock
		ok   bool
	}{
		{"21:30", 21*60 + 30, true},
		{"08:00", 8 * 60, true},
		{"8:00", 8 * 60, true},
		{" 07:05 ", 7*60 + 5, true},
		{"00:00", 0, true},
		{"23:59", 23*60 + 59, true},
		{"24:00", 0, false},
		{"12:60", 0, false},
		{"7", 0, false},
		{"07:5", 0, false},
		{"007:00", 0, false},
		{"-1:00", 0, false},
		{"+1:00", 0, false},
		{"07:+5", 0, false},
		{"07:00:00", 0, false},
		{"ab:cd", 0, false},
		{"", 0, false},
		{"٠٨:٠٠", 0, false},
	} {
		got, err := ParseClock(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && errcode.CodeOf(err) != errcode.Invalid {
			t.Errorf("ParseClock(%q) error %v is not Invalid", tc.in, err)
		}
		if tc.ok {
			if again, err := ParseClock(got.String()); err != nil || again != got {
				t.Errorf("ParseClock(%q.String() = %q) = %d, %v", tc.in, got.String(), again, err)
			}
		}
	}
	if got := Clock(21*60 + 30).String(); got != "21:30" {
		t.Errorf("String() = %q, want 21:30", got)
	}
	if got := Clock(5).String(); got != "00:05" {
		t.Errorf("String() = %q, want 00:05", got)
	}
}

func TestClockJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(QuietHours{Start: 21 * 60, End: 8 * 60})
	if err != nil || string(b) != `{"start":"21:00","end":"08:00"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var q QuietHours
	if err := json.Unmarshal([]byte(`{"start":"22:30","end":"6:00"}`), &q); err != nil || q != (QuietHours{Start: 22*60 + 30, End: 6 * 60}) {
		t.Errorf("Unmarshal = %+v, %v", q, err)
	}
	if err := json.Unmarshal([]byte(`{"start":"25:00","end":"06:00"}`), &q); err == nil {
		t.Error("Unmarshal accepted 25:00")
	}
	if _, err := json.Marshal(QuietHours{Start: -1}); err == nil {
		t.Error("Marshal accepted a Clock of -1")
	}
}

func TestQuietHoursNextAllowed(t *testing.T) {
	t.Parallel()
	night := QuietHours{Start: 21 * 60, End: 8 * 60}
	for _, tc := range []struct {
		name  string
		quiet QuietHours
		zone  string
		at    string // UTC
		want  string // UTC; "" means unchanged
	}{
		// Nairobi is UTC+3 all year.
		{"Nairobi evening before quiet hours", night, "Africa/Nairobi", "2026-03-10 17:59", ""},
		{"Nairobi exactly at Start", night, "Africa/Nairobi", "2026-03-10 18:00", "2026-03-11 05:00"},
		{"Nairobi late evening waits for tomorrow", night, "Africa/Nairobi", "2026-03-10 19:00", "2026-03-11 05:00"},
		{"Nairobi after midnight waits for this morning", night, "Africa/Nairobi", "2026-03-10 23:30", "2026-03-11 05:00"},
		{"Nairobi exactly at End", night, "Africa/Nairobi", "2026-03-11 05:00", ""},
		{"Nairobi midday", night, "Africa/Nairobi", "2026-03-11 09:00", ""},
		// Kabul is UTC+4:30, Kathmandu UTC+5:45, Bogotá UTC-5.
		{"Kabul half-hour offset", night, "Asia/Kabul", "2026-06-01 16:45", "2026-06-02 03:30"},
		{"Kabul just before Start", night, "Asia/Kabul", "2026-06-01 16:29", ""},
		{"Kathmandu quarter-hour offset", night, "Asia/Kathmandu", "2026-06-01 20:00", "2026-06-02 02:15"},
		{"Bogotá, west of UTC", night, "America/Bogota", "2026-06-02 03:00", "2026-06-02 13:00"},
		{"the same instant is daytime in Bogotá", night, "America/Bogota", "2026-06-01 16:45", ""},
		{"year end", night, "Africa/Nairobi", "2026-12-31 20:00", "2027-01-01 05:00"},
		// A window that does not wrap midnight.
		{"siesta inside", QuietHours{Start: 13 * 60, End: 15 * 60}, "America/Bogota", "2026-06-01 18:30", "2026-06-01 20:00"},
		{"siesta at End", QuietHours{Start: 13 * 60, End: 15 * 60}, "America/Bogota", "2026-06-01 20:00", ""},
		{"siesta before", QuietHours{Start: 13 * 60, End: 15 * 60}, "America/Bogota", "2026-06-01 17:59", ""},
		{"no quiet hours", QuietHours{Start: 8 * 60, End: 8 * 60}, "Africa/Nairobi", "2026-06-01 23:00", ""},
		// New York springs forward on 2026-03-08 at 02:00 EST (07:00 UTC).
		{"New York night across spring forward", night, "America/New_York", "2026-03-08 05:00", "2026-03-08 12:00"},
		{"New York End in the skipped hour", QuietHours{Start: 22 * 60, End: 2*60 + 30}, "America/New_York", "2026-03-08 06:00", "2026-03-08 07:00"},
		{"New York after the skipped hour", QuietHours{Start: 22 * 60, End: 2*60 + 30}, "America/New_York", "2026-03-08 07:00", ""},
		// It falls back on 2026-11-01 at 02:00 EDT (06:00 UTC) to 01:00 EST.
		{"New York night across fall back", night, "America/New_York", "2026-11-01 04:00", "2026-11-01 13:00"},
		{"New York End repeated: first occurrence", QuietHours{Start: 0, End: 90}, "America/New_York", "2026-11-01 04:30", "2026-11-01 05:30"},
		{"New York between the two 01:30s", QuietHours{Start: 0, End: 90}, "America/New_York", "2026-11-01 05:45", ""},
		{"New York inside again on the second pass", QuietHours{Start: 0, End: 90}, "America/New_York", "2026-11-01 06:10", "2026-11-01 06:30"},
		// London springs forward on 2026-03-29 at 01:00 GMT and falls back on
		// 2026-10-25 at 02:00 BST (01:00 UTC).
		{"London End in the skipped hour", QuietHours{Start: 23 * 60, End: 90}, "Europe/London", "2026-03-29 00:30", "2026-03-29 01:00"},
		{"London night across spring forward", night, "Europe/London", "2026-03-28 22:00", "2026-03-29 07:00"},
		{"London night across fall back", night, "Europe/London", "2026-10-24 22:00", "2026-10-25 08:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := utc(t, tc.at)
			want := at
			if tc.want != "" {
				want = utc(t, tc.want)
			}
			got := tc.quiet.NextAllowed(at, mustZone(t, tc.zone))
			if !got.Equal(want) || got.Location() != at.Location() {
				loc := mustZone(t, tc.zone)
				t.Errorf("NextAllowed(%s = %s local) = %s (%s local), want %s (%s local)",
					at, at.In(loc), got, got.In(loc), want, want.In(loc))
			}
		})
	}
}

func TestQuietHoursKeepsLocation(t *testing.T) {
	t.Parallel()
	kabul := mustZone(t, "Asia/Kabul")
	at := time.Date(2026, 6, 1, 23, 0, 0, 0, kabul)
	got := QuietHours{Start: 21 * 60, End: 8 * 60}.NextAllowed(at, kabul)
	if want := time.Date(2026, 6, 2, 8, 0, 0, 0, kabul); !got.Equal(want) || got.Location() != kabul {
		t.Errorf("NextAllowed = %s, want %s in Asia/Kabul", got, want)
	}
	if got := (QuietHours{Start: 21 * 60, End: 8 * 60}).NextAllowed(utc(t, "2026-06-01 22:00"), nil); !got.Equal(utc(t, "2026-06-02 08:00")) {
		t.Errorf("NextAllowed with a nil location = %s, want UTC's 08:00", got)
	}
}

func TestSpread(t *testing.T) {
	t.Parallel()
	start := utc(t, "2026-06-01 09:00")
	for _, tc := range []struct {
		window time.Duration
		i, n   int
		want   time.Duration
	}{
		{0, 5, 10, 0},
		{time.Hour, 0, 4, 0},
		{time.Hour, 1, 4, 15 * time.Minute},
		{time.Hour, 3, 4, 45 * time.Minute},
		{time.Hour, 0, 1, 0},
		{time.Hour, 1, 3, 20 * time.Minute},
		// window*i overflows int64 here.
		{24 * time.Hour, 999_999, 1_000_000, 86399913600 * time.Microsecond},
		{6 * time.Hour, 5_000_000, 10_000_000, 3 * time.Hour},
		// Out of range clamps.
		{time.Hour, -1, 4, 0},
		{time.Hour, 4, 4, 45 * time.Minute},
		{time.Hour, 1, 0, 0},
		{-time.Hour, 1, 4, 0},
	} {
		if got := Spread(start, tc.window, tc.i, tc.n); !got.Equal(start.Add(tc.want)) {
			t.Errorf("Spread(%s, %d, %d) = +%s, want +%s", tc.window, tc.i, tc.n, got.Sub(start), tc.want)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	daily := func(hhmm, zone string) Schedule {
		c, err := ParseClock(hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return Schedule{Kind: ScheduleDaily, Time: c, TimeZone: zone}
	}
	weekly := func(day time.Weekday, hhmm, zone string) Schedule {
		s := daily(hhmm, zone)
		s.Kind, s.Weekday = ScheduleWeekly, day
		return s
	}
	at := utc(t, "2026-06-01 12:00")
	for _, tc := range []struct {
		name  string
		s     Schedule
		after string // UTC
		want  string // UTC; "" means no next run
	}{
		{"now", Schedule{Kind: ScheduleNow}, "2026-06-01 10:00", "2026-06-01 10:00"},
		{"at, in the future", Schedule{Kind: ScheduleAt, At: at}, "2026-06-01 11:59", "2026-06-01 12:00"},
		{"at, exactly now", Schedule{Kind: ScheduleAt, At: at}, "2026-06-01 12:00", ""},
		{"at, past", Schedule{Kind: ScheduleAt, At: at}, "2026-06-01 12:01", ""},
		{"daily, later today", daily("09:00", "Africa/Nairobi"), "2026-06-01 05:00", "2026-06-01 06:00"},
		{"daily, exactly at the run", daily("09:00", "Africa/Nairobi"), "2026-06-01 06:00", "2026-06-02 06:00"},
		{"daily, month end in Kabul", daily("09:00", "Asia/Kabul"), "2026-01-31 05:00", "2026-02-01 04:30"},
		{"daily, leap day", daily("09:00", "Asia/Kabul"), "2028-02-28 05:00", "2028-02-29 04:30"},
		{"daily, year end in Kathmandu", daily("23:30", "Asia/Kathmandu"), "2026-12-31 18:00", "2027-01-01 17:45"},
		{"daily, local date ahead of UTC", daily("07:00", "Asia/Kathmandu"), "2026-06-01 20:00", "2026-06-02 01:15"},
		{"daily, local date behind UTC", daily("20:00", "America/Bogota"), "2026-06-02 00:30", "2026-06-02 01:00"},
		{"daily across spring forward keeps 09:00 local", daily("09:00", "America/New_York"), "2026-03-07 14:00", "2026-03-08 13:00"},
		{"daily across fall back keeps 09:00 local", daily("09:00", "America/New_York"), "2026-10-31 13:00", "2026-11-01 14:00"},
		{"daily in the skipped hour runs at the change", daily("02:30", "America/New_York"), "2026-03-08 05:00", "2026-03-08 07:00"},
		{"daily in the skipped hour, next day", daily("02:30", "America/New_York"), "2026-03-08 07:00", "2026-03-09 06:30"},
		{"daily in the repeated hour runs at the first", daily("01:30", "America/New_York"), "2026-11-01 04:00", "2026-11-01 05:30"},
		{"daily in the repeated hour runs once", daily("01:30", "America/New_York"), "2026-11-01 05:30", "2026-11-02 06:30"},
		{"daily across London's spring forward", daily("09:00", "Europe/London"), "2026-03-28 09:00", "2026-03-29 08:00"},
		{"weekly, later this week", weekly(time.Monday, "09:00", "Europe/London"), "2026-03-28 12:00", "2026-03-30 08:00"},
		{"weekly, today but past", weekly(time.Sunday, "09:00", "Europe/London"), "2026-03-29 08:00", "2026-04-05 08:00"},
		{"weekly, today and ahead", weekly(time.Sunday, "09:00", "Europe/London"), "2026-03-29 07:59", "2026-03-29 08:00"},
		{"weekly across year end", weekly(time.Friday, "18:00", "America/Bogota"), "2026-12-30 12:00", "2027-01-01 23:00"},
		{"weekly on spring-forward Sunday in the skipped hour", weekly(time.Sunday, "02:30", "America/New_York"), "2026-03-07 00:00", "2026-03-08 07:00"},
		{"weekly by local weekday, not UTC's", weekly(time.Tuesday, "06:00", "Asia/Kathmandu"), "2026-06-01 23:00", "2026-06-02 00:15"},
		{"unknown kind", Schedule{Kind: "hourly"}, "2026-06-01 12:00", ""},
		{"daily without a zone", Schedule{Kind: ScheduleDaily, Time: 9 * 60}, "2026-06-01 12:00", ""},
		{"weekly with a bad weekday", Schedule{Kind: ScheduleWeekly, Time: 9 * 60, Weekday: 7, TimeZone: "UTC"}, "2026-06-01 12:00", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			after := utc(t, tc.after)
			got, ok := tc.s.Next(after)
			if tc.want == "" {
				if ok || !got.IsZero() {
					t.Errorf("Next(%s) = %s, %v; want none", after, got, ok)
				}
				return
			}
			want := utc(t, tc.want)
			if !ok || !got.Equal(want) {
				t.Errorf("Next(%s) = %s, %v; want %s", after, got, ok, want)
			}
		})
	}
}

func TestScheduleRecurring(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]bool{ScheduleNow: false, ScheduleAt: false, ScheduleDaily: true, ScheduleWeekly: true, "": false} {
		if got := (Schedule{Kind: kind}).Recurring(); got != want {
			t.Errorf("Schedule{Kind: %q}.Recurring() = %v, want %v", kind, got, want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		s      Schedule
		fields []string
	}{
		{"now", Schedule{Kind: ScheduleNow}, nil},
		{"at", Schedule{Kind: ScheduleAt, At: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}, nil},
		{"daily", Schedule{Kind: ScheduleDaily, Time: 9 * 60, TimeZone: "Asia/Kabul"}, nil},
		{"weekly", Schedule{Kind: ScheduleWeekly, Time: 9 * 60, Weekday: time.Saturday, TimeZone: "America/Bogota"}, nil},
		{"unknown kind", Schedule{Kind: "monthly"}, []string{"schedule.kind"}},
		{"empty kind", Schedule{}, []string{"schedule.kind"}},
		{"at without a time", Schedule{Kind: ScheduleAt}, []string{"schedule.at"}},
		{"at with a bad zone", Schedule{Kind: ScheduleAt, At: time.Now(), TimeZone: "Mars/Olympus"}, []string{"schedule.time_zone"}},
		{"daily without a zone", Schedule{Kind: ScheduleDaily, Time: 9 * 60}, []string{"schedule.time_zone"}},
		{"daily in the server's zone", Schedule{Kind: ScheduleDaily, Time: 9 * 60, TimeZone: "Local"}, []string{"schedule.time_zone"}},
		{"daily with a bad time", Schedule{Kind: ScheduleDaily, Time: 24 * 60, TimeZone: "UTC"}, []string{"schedule.time"}},
		{"weekly with everything wrong", Schedule{Kind: ScheduleWeekly, Time: -5, Weekday: 7, TimeZone: "Nowhere/Town"}, []string{"schedule.time", "schedule.weekday", "schedule.time_zone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.s.Validate()
			if len(tc.fields) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors on %v", tc.fields)
			}
			var got []string
			errs := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				errs = joined.Unwrap()
			}
			for _, e := range errs {
				ce, ok := errcode.As(e)
				if !ok || ce.Code != errcode.Invalid {
					t.Errorf("error %v is not an errcode.Invalid error", e)
					continue
				}
				got = append(got, ce.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("Validate() fields = %v, want %v (%v)", got, tc.fields, err)
			}
			if errcode.CodeOf(err) != errcode.Invalid {
				t.Errorf("CodeOf(Validate()) = %s", errcode.CodeOf(err))
			}
		})
	}
}

func TestScheduleJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		s    Schedule
		json string
	}{
		{Schedule{Kind: ScheduleNow}, `{"kind":"now"}`},
		{Schedule{Kind: ScheduleAt, At: at}, `{"kind":"at","at":"2026-06-01T12:00:00Z"}`},
		{Schedule{Kind: ScheduleDaily, Time: 0, TimeZone: "Asia/Kabul"}, `{"kind":"daily","time":"00:00","time_zone":"Asia/Kabul"}`},
		{Schedule{Kind: ScheduleWeekly, Time: 9*60 + 30, Weekday: time.Sunday, TimeZone: "Africa/Nairobi"}, `{"kind":"weekly","time":"09:30","weekday":0,"time_zone":"Africa/Nairobi"}`},
	} {
		b, err := json.Marshal(tc.s)
		if err != nil || string(b) != tc.json {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tc.s, b, err, tc.json)
			continue
		}
		var back Schedule
		if err := json.Unmarshal(b, &back); err != nil || back.Kind != tc.s.Kind || !back.At.Equal(tc.s.At) ||
			back.Time != tc.s.Time || back.Weekday != tc.s.Weekday || back.TimeZone != tc.s.TimeZone {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, tc.s)
		}
	}
	var s Schedule
	err := json.Unmarshal([]byte(`{"kind":"daily","time":"9am","time_zone":"UTC"}`), &s)
	if ce, ok := errcode.As(err); !ok || ce.Field != "schedule.time" {
		t.Errorf("Unmarshal with time 9am = %v, want an error on schedule.time", err)
	}
	// Nested, as in a campaign request, the error still carries its field.
	var req struct {
		Schedule Schedule `json:"schedule"`
	}
	err = json.Unmarshal([]byte(`{"schedule":{"kind":"weekly","time":"25:00"}}`), &req)
	if ce, ok := errcode.As(err); !ok || ce.Field != "schedule.time" {
		t.Errorf("nested Unmarshal = %v, want an error on schedule.time", err)
	}
	if err := json.Unmarshal([]byte(`{"kind":"weekly","weekday":9}`), &s); err != nil || s.Weekday != 9 || s.Validate() == nil {
		t.Errorf("weekday 9 should decode and then fail Validate: %+v, %v", s, err)
	}
	if _, err := json.Marshal(Schedule{Kind: ScheduleDaily, Time: -1}); err == nil {
		t.Error("Marshal accepted an invalid time")
	}
}
