package campaigns

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymark-org/waymark/campaigns/internal/dbq"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
)

// LanguagePreview is what recipients in one language will get.
type LanguagePreview struct {
	Language   string `json:"language"`
	Recipients int    `json:"recipients"`
	// FellBack counts recipients whose own language has no text, who get this one instead.
	FellBack int    `json:"fell_back"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
	Units    int    `json:"units"`
}

// ChannelPreview is the load on one channel kind.
type ChannelPreview struct {
	Channel    channels.Kind `json:"channel"`
	Recipients int           `json:"recipients"`
	// Segments are SMS segments for sms, messages for other kinds: what rate limits count.
	Segments int64 `json:"segments"`
	// RatePerSecond is the channel's limit; 0 means none.
	RatePerSecond float64 `json:"rate_per_second"`
	// Seconds is how long sending takes at that rate (0 with no limit).
	Seconds float64 `json:"seconds"`
}

// Preview is what an author sees before sending.
type Preview struct {
	// Audience counts contacts matching the filters; Reachable those with a channel of the
	// campaign on which they consented and are not suppressed.
	Audience  int64 `json:"audience"`
	Reachable int   `json:"reachable"`
	// NoChannel counts matching contacts who get nothing for want of a consented channel;
	// NoLanguage those who get nothing because no text fits their language chain.
	NoChannel     int               `json:"no_channel"`
	NoLanguage    int               `json:"no_language"`
	Languages     []LanguagePreview `json:"languages"`
	Channels      []ChannelPreview  `json:"channels"`
	TotalSegments int64             `json:"total_segments"`
	// Seconds is how long the whole send takes at the channels' rate limits (they run in
	// parallel), plus the send window when one is set.
	Seconds  float64  `json:"seconds"`
	Warnings []string `json:"warnings"`
}

// Preview walks the audience as the fan-out would and reports, per language and channel, who
// gets what, the rendered texts with their SMS encoding and segments, the total and how long
// sending will take.
func (s *Store) Preview(ctx context.Context, workspaceID, id int64) (Preview, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return Preview{}, err
	}
	ws, err := s.ws.Get(ctx, workspaceID)
	if err != nil {
		return Preview{}, err
	}
	opts, err := s.renderOptions(ctx, ws.ID, c)
	if err != nil {
		return Preview{}, err
	}
	r, err := NewRenderer(c.Contents, opts)
	if err != nil {
		return Preview{}, errcode.Wrap(err, errcode.Invalid, "%v", err)
	}
	p := Preview{Warnings: []string{}}
	if p.Audience, err = s.q.AudienceCount(ctx, audienceCountParams(c)); err != nil {
		return Preview{}, err
	}
	langs := map[string]*LanguagePreview{}
	chans := map[channels.Kind]*ChannelPreview{}
	for after := int64(0); ; {
		batch, err := s.q.AudienceBatch(ctx, c.audienceBatch(after, FanoutBatch))
		if err != nil {
			return Preview{}, err
		}
		for _, b := range batch {
			after = b.ID
			lang, fell, ok := r.Resolve(b.Language)
			if !ok {
				p.NoLanguage++
				continue
			}
			p.Reachable++
			lp := langs[lang]
			if lp == nil {
				text, err := r.Render(lang, "")
				if err != nil {
					return Preview{}, err
				}
				sc := channels.CountSegments(text)
				lp = &LanguagePreview{Language: lang, Text: text, Encoding: sc.Encoding, Segments: sc.Segments, Units: sc.Units}
				langs[lang] = lp
			}
			lp.Recipients++
			if fell {
				lp.FellBack++
			}
			kind := channels.Kind(b.ChannelKind)
			cp := chans[kind]
			if cp == nil {
				cp = &ChannelPreview{Channel: kind}
				chans[kind] = cp
			}
			cp.Recipients++
			if kind == channels.KindSMS {
				cp.Segments += int64(lp.Segments)
			} else {
				cp.Segments++
			}
		}
		if len(batch) < FanoutBatch {
			break
		}
	}
	p.NoChannel = int(p.Audience) - p.Reachable - p.NoLanguage
	for _, lp := range langs {
		p.Languages = append(p.Languages, *lp)
	}
	slices.SortFunc(p.Languages, func(a, b LanguagePreview) int {
		if a.Recipients != b.Recipients {
			return b.Recipients - a.Recipients
		}
		return strings.Compare(a.Language, b.Language)
	})
	for _, k := range c.ChannelOrder {
		cp := chans[k]
		if cp == nil {
			continue
		}
		if s.Rates != nil {
			if cp.RatePerSecond, err = s.Rates(ctx, workspaceID, k); err != nil {
				return Preview{}, err
			}
		}
		if cp.RatePerSecond > 0 {
			cp.Seconds = math.Round(float64(cp.Segments)/cp.RatePerSecond*10) / 10
		}
		p.TotalSegments += cp.Segments
		p.Seconds = max(p.Seconds, cp.Seconds)
		p.Channels = append(p.Channels, *cp)
	}
	if p.Languages == nil {
		p.Languages = []LanguagePreview{}
	}
	if p.Channels == nil {
		p.Channels = []ChannelPreview{}
	}
	p.Seconds = max(p.Seconds, c.window.Seconds())
	if p.NoChannel > 0 {
		p.Warnings = append(p.Warnings, pluralize(p.NoChannel, "contact matches", "contacts match")+
			" the audience but has no consented, unsuppressed address on the campaign's channels and will get nothing")
	}
	if p.NoLanguage > 0 {
		p.Warnings = append(p.Warnings, pluralize(p.NoLanguage, "contact has", "contacts have")+
			" no text in their language or its fallbacks and will get nothing")
	}
	if c.SegmentCap != nil && p.TotalSegments > *c.SegmentCap {
		p.Warnings = append(p.Warnings, "the estimated segments exceed the campaign's segment cap: it will not start")
	}
	for _, lp := range p.Languages {
		if lp.Segments > 3 {
			p.Warnings = append(p.Warnings, "the "+lp.Language+" text needs "+itoa(lp.Segments)+" SMS segments each")
		}
	}
	return p, nil
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

func itoa(n int) string { return strconv.Itoa(n) }

// renderOptions gathers what rendering needs from the workspace and the campaign.
func (s *Store) renderOptions(ctx context.Context, workspaceID int64, c Campaign) (RenderOptions, error) {
	ws, err := s.ws.Get(ctx, workspaceID)
	if err != nil {
		return RenderOptions{}, err
	}
	return RenderOptions{Fallbacks: ws.LanguageFallbacks, DefaultLanguage: ws.DefaultLanguage,
		Hotline: ws.HotlineNumber, Count: c.Count, AppendOptOut: c.AppendOptOut}, nil
}

// Stats summarises a campaign's deliveries over all its runs.
type Stats struct {
	State      string           `json:"state"`
	Recipients int64            `json:"recipients"`
	ByStatus   map[string]int64 `json:"by_status"`
	Queued     int64            `json:"queued"`
	Sent       int64            `json:"sent"`
	Delivered  int64            `json:"delivered"`
	Failed     int64            `json:"failed"`
	Segments   int64            `json:"segments"`
	// ByLanguage and ByChannel break recipients, delivered and failed down.
	ByLanguage map[string]*Breakdown        `json:"by_language"`
	ByChannel  map[channels.Kind]*Breakdown `json:"by_channel"`
	Run        *RunInfo                     `json:"run,omitempty"`
}

// Breakdown is one slice of the stats.
type Breakdown struct {
	Recipients int64 `json:"recipients"`
	Delivered  int64 `json:"delivered"`
	Failed     int64 `json:"failed"`
}

// RunInfo describes the latest run.
type RunInfo struct {
	ID          int64      `json:"id"`
	State       string     `json:"state"`
	Recipients  int        `json:"audience"`
	StartedAt   time.Time  `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Stats counts a campaign's deliveries by status, language and channel. "Delivered" counts
// deliveries a provider confirmed (delivered or read); "failed" those that failed, were
// undelivered or were skipped at send time.
func (s *Store) Stats(ctx context.Context, workspaceID, id int64) (Stats, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return Stats{}, err
	}
	rows, err := s.q.CampaignStats(ctx, c.ID)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{State: c.State, ByStatus: map[string]int64{}, ByLanguage: map[string]*Breakdown{}, ByChannel: map[channels.Kind]*Breakdown{}}
	for _, r := range rows {
		st.add(r)
	}
	if run, err := s.q.RunLatest(ctx, c.ID); err == nil {
		st.Run = &RunInfo{ID: run.ID, State: run.State, Recipients: int(run.Recipients), StartedAt: run.StartedAt, CompletedAt: run.CompletedAt}
	}
	return st, nil
}

func (st *Stats) add(r dbq.CampaignStatsRow) {
	st.ByStatus[r.Status] += r.N
	st.Recipients += r.N
	st.Segments += r.Segments
	bl := st.ByLanguage[r.Language]
	if bl == nil {
		bl = &Breakdown{}
		st.ByLanguage[r.Language] = bl
	}
	bc := st.ByChannel[channels.Kind(r.ChannelKind)]
	if bc == nil {
		bc = &Breakdown{}
		st.ByChannel[channels.Kind(r.ChannelKind)] = bc
	}
	bl.Recipients += r.N
	bc.Recipients += r.N
	switch r.Status {
	case "queued", "sending":
		st.Queued += r.N
	case "sent":
		st.Sent += r.N
	case "delivered", "read":
		st.Sent += r.N
		st.Delivered += r.N
		bl.Delivered += r.N
		bc.Delivered += r.N
	case "failed", "undelivered", "skipped":
		st.Failed += r.N
		bl.Failed += r.N
		bc.Failed += r.N
	}
}
