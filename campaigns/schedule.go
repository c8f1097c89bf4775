package campaigns

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // recipients' and schedules' zones must not depend on the host's zoneinfo

	"github.com/waymark-org/waymark/internal/errcode"
)

// Clock is a time of day in minutes since midnight, as a wall clock shows
// it; which instant that is depends on a time zone and a date.
type Clock int

// minutesPerDay bounds a Clock: 24:00 is written 00:00.
const minutesPerDay = 24 * 60

// ParseClock reads a time of day written "HH:MM" on a 24-hour clock, such as
// "21:30" or "8:00".
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hour, errH := strconv.Atoi(h)
	minute, errM := strconv.Atoi(m)
	if !ok || errH != nil || errM != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 ||
		h[0] == '+' || h[0] == '-' || m[0] == '+' || m[0] == '-' ||
		hour > 23 || minute > 59 {
		return 0, errcode.New(errcode.Invalid, "%q is not a time of day; write HH:MM on a 24-hour clock, such as 21:30", s)
	}
	return Clock(hour*60 + minute), nil
}

func (c Clock) valid() bool { return 0 <= c && c < minutesPerDay }

// String writes c as "HH:MM", the form ParseClock reads.
func (c Clock) String() string {
	if !c.valid() {
		return fmt.Sprintf("Clock(%d)", int(c))
	}
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// MarshalText writes c as "HH:MM", so that JSON shows a time of day rather
// than a number of minutes.
func (c Clock) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("campaigns: %d minutes is not a time of day", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads "HH:MM".
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// offset is the duration from local midnight to c.
func (c Clock) offset() time.Duration { return time.Duration(c) * time.Minute }

// QuietHours is a daily window [Start, End) of the recipient's own local
// time in which nobody is messaged: a phone that buzzes at night can expose
// the person to whoever else is in the room. Start > End wraps midnight
// (21:00-08:00); Start == End means no quiet hours.
type QuietHours struct {
	Start Clock `json:"start"`
	End   Clock `json:"end"`
}

// NextAllowed returns t itself when t is outside quiet hours in loc (nil
// means UTC), otherwise the instant the quiet hours end: the first moment
// after t at which loc's clocks read End. When clocks spring forward over
// End, that is the first instant after the skipped wall time; when they fall
// back over it, the first of its two occurrences that is after t. The result
// is in t's location.
func (q QuietHours) NextAllowed(t time.Time, loc *time.Location) time.Time {
	if q.Start == q.End || !q.Start.valid() || !q.End.valid() {
		return t
	}
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	tod := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	start, end := q.Start.offset(), q.End.offset()
	y, m, d := lt.Date()
	switch {
	case q.Start < q.End && start <= tod && tod < end:
	case q.Start > q.End && tod < end:
	case q.Start > q.End && tod >= start:
		d++ // the window ends tomorrow; time.Date normalises the day
	default:
		return t
	}
	instants, gapEnd := wallInstants(y, m, d, q.End, loc)
	for _, in := range instants {
		if in.After(t) {
			return in.In(t.Location())
		}
	}
	if gapEnd.After(t) {
		return gapEnd.In(t.Location())
	}
	// Unreachable with real zone data: the wall clock reads End after t
	// within the day. Sending at once beats holding a message forever.
	return t
}

// wallInstants returns the instants at which loc's clocks read the time of
// day c on the date y-m-d, earliest first: one as a rule, two when clocks
// fall back over it, none when they spring forward over it, in which case
// gapEnd is the first instant after it (the moment of the change).
//
// time.Date does not say which instant it picks in either case, so the
// zone periods around the date are examined with ZoneBounds.
func wallInstants(y int, m time.Month, d int, c Clock, loc *time.Location) (instants []time.Time, gapEnd time.Time) {
	// The wall reading, written as if it were UTC: an instant t reads it
	// exactly when t + t's UTC offset equals it.
	wall := time.Date(y, m, d, 0, int(c), 0, 0, time.UTC)
	// UTC offsets lie within -12h..+14h, so every instant reading wall lies
	// within a day either side of it.
	from, to := wall.Add(-26*time.Hour), wall.Add(26*time.Hour)
	wallOf := func(t time.Time) time.Time {
		_, off := t.In(loc).Zone()
		return t.Add(time.Duration(off) * time.Second).UTC()
	}
	for p := from; ; {
		lp := p.In(loc)
		_, off := lp.Zone()
		start, end := lp.ZoneBounds()
		cand := wall.Add(-time.Duration(off) * time.Second)
		if (start.IsZero() || !cand.Before(start)) && (end.IsZero() || cand.Before(end)) {
			instants = append(instants, cand)
		}
		if end.IsZero() || !end.Before(to) {
			break
		}
		// A change at end skips wall exactly when the clock reads before
		// wall just before it and after wall from it on.
		if gapEnd.IsZero() && wallOf(end.Add(-time.Nanosecond)).Before(wall) && wallOf(end).After(wall) {
			gapEnd = end
		}
		p = end
	}
	return instants, gapEnd
}

// wallInstant is the instant a schedule runs at the time of day c on y-m-d
// in loc: the first occurrence when clocks fall back over it, so a daily
// send runs once, and the moment of the change when they spring forward
// over it.
func wallInstant(y int, m time.Month, d int, c Clock, loc *time.Location) time.Time {
	instants, gapEnd := wallInstants(y, m, d, c, loc)
	if len(instants) > 0 {
		return instants[0]
	}
	return gapEnd
}

// Spread places recipient i of n evenly across a send window that opens at
// start, at start + window*i/n, so that a large campaign does not reach every
// phone (and the hotline's callers) at once. A window of 0 (or less) sends
// everyone at start; i outside [0, n) is clamped into it.
func Spread(start time.Time, window time.Duration, i, n int) time.Time {
	if window <= 0 || n <= 1 || i <= 0 {
		return start
	}
	i = min(i, n-1)
	// window*i overflows int64 for a day's window and a million recipients,
	// so multiply into 128 bits; the quotient is below window because i < n.
	hi, lo := bits.Mul64(uint64(window), uint64(i))
	q, _ := bits.Div64(hi, lo, uint64(n))
	return start.Add(time.Duration(q))
}

// Schedule kinds.
const (
	ScheduleNow    = "now"    // as soon as the campaign is scheduled
	ScheduleAt     = "at"     // once, at At
	ScheduleDaily  = "daily"  // every day at Time in TimeZone
	ScheduleWeekly = "weekly" // every Weekday at Time in TimeZone
)

// Schedule says when a campaign runs. Recurring schedules are kept in a
// named time zone rather than as an interval, so that 09:00 stays 09:00 for
// the people reading it when the clocks change.
type Schedule struct {
	Kind     string       // ScheduleNow, ScheduleAt, ScheduleDaily or ScheduleWeekly
	At       time.Time    // for ScheduleAt
	Time     Clock        // for ScheduleDaily and ScheduleWeekly, in TimeZone
	Weekday  time.Weekday // for ScheduleWeekly; Sunday is 0
	TimeZone string       // IANA name; required for ScheduleDaily and ScheduleWeekly
}

// scheduleJSON is Schedule's JSON form: kind, at, time ("HH:MM"), weekday
// (0-6, Sunday = 0) and time_zone, with only the fields the kind uses.
type scheduleJSON struct {
	Kind     string     `json:"kind"`
	At       *time.Time `json:"at,omitempty"`
	Time     *string    `json:"time,omitempty"`
	Weekday  *int       `json:"weekday,omitempty"`
	TimeZone string     `json:"time_zone,omitempty"`
}

// MarshalJSON writes the fields s's kind uses, so that a stored "now"
// schedule does not show a meaningless time of 00:00.
func (s Schedule) MarshalJSON() ([]byte, error) {
	j := scheduleJSON{Kind: s.Kind, TimeZone: s.TimeZone}
	if s.Kind == ScheduleAt || !s.At.IsZero() {
		j.At = &s.At
	}
	if s.Recurring() {
		if !s.Time.valid() {
			return nil, fmt.Errorf("campaigns: schedule time %d minutes is not a time of day", int(s.Time))
		}
		t := s.Time.String()
		j.Time = &t
	}
	if s.Kind == ScheduleWeekly {
		w := int(s.Weekday)
		j.Weekday = &w
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes. A time that is not
// "HH:MM" is reported as an errcode error on schedule.time; every other
// check is Validate's.
func (s *Schedule) UnmarshalJSON(b []byte) error {
	var j scheduleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Schedule{Kind: j.Kind, TimeZone: j.TimeZone}
	if j.At != nil {
		out.At = *j.At
	}
	if j.Time != nil {
		c, err := ParseClock(*j.Time)
		if err != nil {
			return errcode.Field("schedule.time", "must be a time of day written HH:MM, such as 09:00")
		}
		out.Time = c
	}
	if j.Weekday != nil {
		out.Weekday = time.Weekday(*j.Weekday)
	}
	*s = out
	return nil
}

// Validate reports every problem with s as errcode.Invalid errors naming
// schedule.kind, schedule.at, schedule.time, schedule.weekday or
// schedule.time_zone (joined when there are several). Whether At lies in the
// future is for the caller, who knows the time.
func (s Schedule) Validate() error {
	var errs []error
	switch s.Kind {
	case ScheduleNow:
	case ScheduleAt:
		if s.At.IsZero() {
			errs = append(errs, errcode.Field("schedule.at", "is required for a schedule of kind at"))
		}
	case ScheduleDaily, ScheduleWeekly:
		if !s.Time.valid() {
			errs = append(errs, errcode.Field("schedule.time", "must be a time of day written HH:MM, such as 09:00"))
		}
		if s.Kind == ScheduleWeekly && (s.Weekday < time.Sunday || s.Weekday > time.Saturday) {
			errs = append(errs, errcode.Field("schedule.weekday", "must be 0 (Sunday) to 6 (Saturday)"))
		}
		if s.TimeZone == "" {
			errs = append(errs, errcode.Field("schedule.time_zone", "is required for a %s schedule, so that its time stays the same local time when clocks change", s.Kind))
		}
	default:
		errs = append(errs, errcode.Field("schedule.kind", "must be now, at, daily or weekly"))
	}
	if s.TimeZone != "" {
		if _, err := scheduleZone(s.TimeZone); err != nil {
			errs = append(errs, errcode.Field("schedule.time_zone", "not an IANA time zone name, such as Africa/Nairobi or Asia/Kabul"))
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Recurring reports whether s runs more than once.
func (s Schedule) Recurring() bool {
	return s.Kind == ScheduleDaily || s.Kind == ScheduleWeekly
}

// Next returns the next run strictly after `after`: `after` itself for
// "now"; At for "at" while At is later than `after`, and false once it is
// not; for daily and weekly the next Time on a matching day in TimeZone, so
// that 09:00 local stays 09:00 local across clock changes (a Time the clocks
// skip runs at the moment of the change, a Time they repeat runs at its first
// occurrence only). It returns false for a schedule that Validate rejects.
func (s Schedule) Next(after time.Time) (time.Time, bool) {
	switch s.Kind {
	case ScheduleNow:
		return after, true
	case ScheduleAt:
		if s.At.After(after) {
			return s.At, true
		}
		return time.Time{}, false
	case ScheduleDaily, ScheduleWeekly:
	default:
		return time.Time{}, false
	}
	if !s.Time.valid() || (s.Kind == ScheduleWeekly && (s.Weekday < time.Sunday || s.Weekday > time.Saturday)) {
		return time.Time{}, false
	}
	loc, err := scheduleZone(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		return time.Time{}, false
	}
	y, m, d := after.In(loc).Date()
	// Today may already be past; a weekly run is at most two weeks away.
	for i := 0; i <= 14; i++ {
		if s.Kind == ScheduleWeekly && time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC).Weekday() != s.Weekday {
			continue
		}
		if run := wallInstant(y, m, d+i, s.Time, loc); run.After(after) {
			return run.In(loc), true
		}
	}
	return time.Time{}, false
}

// scheduleZones caches time zones by name: time.LoadLocation parses zone data on
// every call, and recurring schedules ask for the same few zones again and
// again. Only names that loaded are kept.
var scheduleZones sync.Map

func scheduleZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		// "Local" is the server's zone, which says nothing about recipients.
		return nil, fmt.Errorf("campaigns: %q is not an IANA time zone name", name)
	}
	if l, ok := scheduleZones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	scheduleZones.Store(name, l)
	return l, nil
}
