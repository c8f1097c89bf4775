package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/waymark-org/waymark/campaigns"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// campaignEnv opens what campaign commands need.
func campaignEnv(ctx context.Context, c cmdIO, wsName string) (*env, *campaigns.Store, int64, error) {
	e, keys, ws, err := openWorkspace(ctx, c, wsName)
	if err != nil {
		return nil, nil, 0, err
	}
	a, err := newApp(e, keys)
	if err != nil {
		e.close(ctx)
		return nil, nil, 0, err
	}
	return e, a.campaigns, ws.ID, nil
}

func cmdCampaign(ctx context.Context, c cmdIO, args []string) error {
	if len(args) == 0 {
		return usageErr("usage: waymark campaign create|list|show|schedule|pause|resume|cancel|status ...")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("campaign "+sub, flag.ContinueOnError)
	wsName := workspaceFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	var (
		file, name, window, quiet, at, daily, weekly, tz   *string
		texts, channelsFlag, countries, areas, langs, tags stringList
		capFlag                                            *int64
		follow                                             *bool
	)
	switch sub {
	case "create":
		file = fs.String("file", "", "campaign as JSON, as the API takes it (`FILE`, - for stdin)")
		name = fs.String("name", "", "campaign `NAME`")
		fs.Var(&texts, "text", "`LANG=TEXT` for one language (repeat per language)")
		fs.Var(&channelsFlag, "channel", "channel kind in order of preference: sandbox, sms, telegram (repeat)")
		fs.Var(&countries, "country", "audience: ISO 3166-1 `CODE` (repeat)")
		fs.Var(&areas, "admin-area", "audience: ISO 3166-2 `CODE` (repeat)")
		fs.Var(&langs, "language", "audience: language `TAG` (repeat)")
		fs.Var(&tags, "tag", "audience: contacts with any of these `TAG`s (repeat)")
		window = fs.String("window", "", "spread the sends over a `DURATION` such as 2h")
		quiet = fs.String("quiet-hours", "", "`HH:MM-HH:MM` in each recipient's own time zone")
		capFlag = fs.Int64("segment-cap", 0, "refuse to start when more than `N` segments would be sent")
		at = fs.String("at", "", "send once at `TIME` (RFC 3339) instead of now")
		daily = fs.String("daily", "", "send every day at `HH:MM` (with --time-zone)")
		weekly = fs.String("weekly", "", "send every week on `DAY@HH:MM`, e.g. mon@09:00 (with --time-zone)")
		tz = fs.String("time-zone", "UTC", "IANA `ZONE` of --daily and --weekly")
	case "status":
		follow = fs.Bool("follow", false, "show live progress until the campaign ends")
	}
	state := ""
	if sub == "list" {
		fs.StringVar(&state, "state", "", "only campaigns in `STATE`")
	}
	if err := parseFlags(fs, c, reorder(fs, rest)); err != nil {
		return err
	}
	var id int64
	needsID := sub != "create" && sub != "list"
	if needsID {
		if fs.NArg() != 1 {
			return usageErr("usage: waymark campaign %s ID", sub)
		}
		n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || n <= 0 {
			return usageErr("campaign ID must be a positive whole number")
		}
		id = n
	} else if fs.NArg() != 0 {
		return usageErr("waymark campaign %s takes no arguments", sub)
	}
	switch sub {
	case "create", "list", "show", "schedule", "pause", "resume", "cancel", "status":
	default:
		return usageErr("unknown campaign command %q", sub)
	}
	var in campaigns.Input
	if sub == "create" {
		var err error
		if in, err = campaignInput(c, *file, *name, texts, channelsFlag, countries, areas, langs, tags, *window, *quiet, *capFlag, *at, *daily, *weekly, *tz); err != nil {
			return err
		}
	}
	e, st, wsID, err := campaignEnv(ctx, c, *wsName)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	print := func(v any, plain func()) error {
		if *asJSON {
			return json.NewEncoder(c.stdout).Encode(v)
		}
		plain()
		return nil
	}
	by := cliActor()
	var camp campaigns.Campaign
	switch sub {
	case "create":
		camp, err = st.Create(ctx, wsID, in, by)
	case "schedule":
		camp, err = st.Schedule(ctx, wsID, id, by)
	case "pause":
		camp, err = st.Pause(ctx, wsID, id, by)
	case "resume":
		camp, err = st.Resume(ctx, wsID, id, by)
	case "cancel":
		camp, err = st.Cancel(ctx, wsID, id, by)
	case "list":
		list, _, err := st.List(ctx, wsID, state, 0, 1000)
		if err != nil {
			return err
		}
		return print(map[string]any{"campaigns": list}, func() {
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tNAME\tLANGUAGES\tNEXT RUN")
			for _, k := range list {
				next := ""
				if k.NextRunAt != nil {
					next = k.NextRunAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.State, k.Name, strings.Join(slices.Sorted(maps.Keys(k.Contents)), ","), next)
			}
			tw.Flush()
		})
	case "show":
		camp, err := st.Get(ctx, wsID, id)
		if err != nil {
			return err
		}
		pv, err := st.Preview(ctx, wsID, id)
		if err != nil {
			return err
		}
		return print(map[string]any{"campaign": camp, "preview": pv}, func() { showCampaign(c.stdout, camp, pv) })
	case "status":
		return campaignStatus(ctx, c, st, wsID, id, *follow, *asJSON)
	}
	if err != nil {
		return err
	}
	return print(camp, func() {
		fmt.Fprintf(c.stdout, "campaign %d %q is %s\n", camp.ID, camp.Name, camp.State)
		if sub == "create" {
			fmt.Fprintf(c.stdout, "next: waymark campaign show %d, then waymark campaign schedule %d\n", camp.ID, camp.ID)
		}
	})
}

func campaignInput(c cmdIO, file, name string, texts, chans, countries, areas, langs, tags stringList,
	window, quiet string, segCap int64, at, daily, weekly, tz string) (campaigns.Input, error) {
	var in campaigns.Input
	if file != "" {
		var r io.Reader = c.stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return in, usageErr("cannot read %s: %v", file, err)
			}
			defer f.Close()
			r = f
		}
		dec := json.NewDecoder(r)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return in, usageErr("%s: not a campaign in JSON: %v", file, err)
		}
	}
	if name != "" {
		in.Name = &name
	}
	if len(texts) > 0 {
		contents := campaigns.Contents{}
		if in.Contents != nil {
			contents = *in.Contents
		}
		for _, t := range texts {
			lang, text, ok := strings.Cut(t, "=")
			if !ok || lang == "" {
				return in, usageErr("--text wants LANG=TEXT, such as --text en='Stay safe'")
			}
			contents[lang] = campaigns.Body{Other: text}
		}
		in.Contents = &contents
	}
	if len(chans) > 0 {
		s := []string(chans)
		in.ChannelOrder = &s
	}
	if len(countries)+len(areas)+len(langs)+len(tags) > 0 {
		in.Audience = &campaigns.Audience{Countries: countries, AdminAreas: areas, Languages: langs, Tags: tags}
	}
	if window != "" {
		in.SendWindow = &window
	}
	if quiet != "" {
		start, end, ok := strings.Cut(quiet, "-")
		if !ok {
			return in, usageErr("--quiet-hours wants HH:MM-HH:MM, such as 21:00-08:00")
		}
		in.QuietHours = &campaigns.QuietWindow{Start: start, End: end}
	}
	if segCap > 0 {
		in.SegmentCap = &segCap
	}
	var sched *campaigns.Schedule
	switch {
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return in, usageErr("--at wants an RFC 3339 time such as 2026-12-01T09:00:00+03:00")
		}
		sched = &campaigns.Schedule{Kind: "at", At: t}
	case daily != "":
		clock, err := campaigns.ParseClock(daily)
		if err != nil {
			return in, usageErr("--daily wants HH:MM")
		}
		sched = &campaigns.Schedule{Kind: "daily", Time: clock, TimeZone: tz}
	case weekly != "":
		day, hm, ok := strings.Cut(weekly, "@")
		wd, okDay := weekdays[strings.ToLower(day)]
		clock, err := campaigns.ParseClock(hm)
		if !ok || !okDay || err != nil {
			return in, usageErr("--weekly wants DAY@HH:MM, such as mon@09:00")
		}
		sched = &campaigns.Schedule{Kind: "weekly", Weekday: wd, Time: clock, TimeZone: tz}
	}
	if sched != nil {
		in.Schedule = sched
	}
	return in, nil
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func showCampaign(w io.Writer, c campaigns.Campaign, p campaigns.Preview) {
	fmt.Fprintf(w, "campaign %d %q: %s\n", c.ID, c.Name, c.State)
	fmt.Fprintf(w, "audience: %d contacts match, %d reachable, %d without a consented channel, %d without text in their language\n",
		p.Audience, p.Reachable, p.NoChannel, p.NoLanguage)
	for _, l := range p.Languages {
		fmt.Fprintf(w, "\n[%s] %d recipients (%d by fallback), %s, %d segment(s), %d units\n%s\n",
			l.Language, l.Recipients, l.FellBack, l.Encoding, l.Segments, l.Units, l.Text)
	}
	fmt.Fprintln(w)
	for _, ch := range p.Channels {
		rate := "no limit"
		if ch.RatePerSecond > 0 {
			rate = fmt.Sprintf("%g/s, about %s", ch.RatePerSecond, (time.Duration(ch.Seconds) * time.Second).String())
		}
		fmt.Fprintf(w, "channel %s: %d recipients, %d segments/messages, %s\n", ch.Channel, ch.Recipients, ch.Segments, rate)
	}
	fmt.Fprintf(w, "total: %d segments/messages\n", p.TotalSegments)
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
}

// campaignStatus prints the campaign's progress; with follow it redraws a progress bar until the
// campaign ends.
func campaignStatus(ctx context.Context, c cmdIO, st *campaigns.Store, wsID, id int64, follow, asJSON bool) error {
	var prevSent int64
	prevAt := time.Now()
	for {
		s, err := st.Stats(ctx, wsID, id)
		if err != nil {
			return err
		}
		// A recurring campaign goes back to scheduled after each run: its run's end is the end.
		done := s.State == campaigns.StateCompleted || s.State == campaigns.StateCancelled ||
			s.State == campaigns.StateDraft || (s.State == campaigns.StateScheduled && s.Run != nil && s.Run.State == "completed")
		if asJSON {
			if !follow || done {
				return json.NewEncoder(c.stdout).Encode(s)
			}
		} else {
			now := time.Now()
			finished := s.Sent + s.Failed
			rate := float64(finished-prevSent) / now.Sub(prevAt).Seconds()
			total := s.Recipients
			if s.Run != nil && int64(s.Run.Recipients) > total {
				total = int64(s.Run.Recipients)
			}
			fmt.Fprint(c.stdout, progressLine(s, total, rate))
			if !follow || done {
				fmt.Fprintln(c.stdout)
				return nil
			}
			prevSent, prevAt = finished, now
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(c.stdout)
			return nil
		case <-time.After(time.Second):
		}
	}
}

func progressLine(s campaigns.Stats, total int64, rate float64) string {
	const width = 30
	done := s.Sent + s.Failed
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	eta := "-"
	if rate > 0 && total > done {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("\r[%s] %3.0f%% %s  sent %d  delivered %d  failed %d  queued %d  %.0f/s  ETA %s   ",
		bar, frac*100, s.State, s.Sent, s.Delivered, s.Failed, s.Queued, max(rate, 0), eta)
}
