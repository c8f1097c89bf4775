package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns/internal/dbq"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

// States of a campaign. Legal moves: draft -> scheduled -> sending -> completed; scheduled and
// sending -> paused -> back; anything not finished -> cancelled. A recurring campaign goes from
// sending back to scheduled after each run.
const (
	StateDraft     = "draft"
	StateScheduled = "scheduled"
	StateSending   = "sending"
	StatePaused    = "paused"
	StateCompleted = "completed"
	StateCancelled = "cancelled"
)

// Audience selects contacts; empty lists do not filter. Tags match any of those given.
type Audience struct {
	Countries  []string `json:"countries,omitempty"`
	AdminAreas []string `json:"admin_areas,omitempty"`
	Languages  []string `json:"languages,omitempty"`
	Tags       []string `json:"tags,omitempty"`
}

// QuietWindow is the JSON form of quiet hours: {"start": "21:00", "end": "08:00"}.
type QuietWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Campaign is an information campaign.
type Campaign struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	State        string          `json:"state"`
	Contents     Contents        `json:"contents"`
	Audience     Audience        `json:"audience"`
	ChannelOrder []channels.Kind `json:"channel_order"`
	AppendOptOut bool            `json:"append_opt_out"`
	Count        *int            `json:"count,omitempty"`
	Schedule     Schedule        `json:"schedule"`
	QuietHours   *QuietWindow    `json:"quiet_hours,omitempty"`
	SendWindow   string          `json:"send_window,omitempty"`
	SegmentCap   *int64          `json:"segment_cap,omitempty"`
	NextRunAt    *time.Time      `json:"next_run_at,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`

	workspaceID int64
	window      time.Duration
}

// Input is what authors send to create or change a campaign; fields left nil keep their value.
type Input struct {
	Name         *string      `json:"name"`
	Contents     *Contents    `json:"contents"`
	Audience     *Audience    `json:"audience"`
	ChannelOrder *[]string    `json:"channel_order"`
	AppendOptOut *bool        `json:"append_opt_out"`
	Count        *int         `json:"count"`
	Schedule     *Schedule    `json:"schedule"`
	QuietHours   *QuietWindow `json:"quiet_hours"`
	// SendWindow spreads the sends over a duration such as "2h"; "" or "0s" sends at once.
	SendWindow *string `json:"send_window"`
	SegmentCap *int64  `json:"segment_cap"`
}

// Store reads and writes campaigns and runs their state machine.
type Store struct {
	pool     *pgxpool.Pool
	q        *dbq.Queries
	keys     *pii.Keyring
	jobs     JobInserter
	contacts *contacts.Store
	audit    workspaces.Auditor
	ws       *workspaces.Store
	// Rates give the send rate of a channel kind in a workspace, for ETAs.
	Rates RateSource
	// FanoutBatchSize overrides FanoutBatch (tests use small batches to cross batch edges).
	FanoutBatchSize int
}

// RateSource tells the rate limit of a workspace's channel kind, in segments (SMS) or messages
// per second; 0 means unlimited.
type RateSource func(ctx context.Context, workspaceID int64, kind channels.Kind) (float64, error)

// NewStore returns a Store. jobs enqueues River jobs inside Waymark's transactions.
func NewStore(pool *pgxpool.Pool, keys *pii.Keyring, jobs JobInserter) *Store {
	return &Store{pool: pool, q: dbq.New(pool), keys: keys, jobs: jobs,
		contacts: contacts.NewStore(pool, keys), ws: workspaces.NewStore(pool)}
}

func fromRow(r dbq.Campaign) (Campaign, error) {
	c := Campaign{ID: r.ID, Name: r.Name, State: r.State, AppendOptOut: r.AppendOptOut,
		SegmentCap: r.SegmentCap, NextRunAt: r.NextRunAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		workspaceID: r.WorkspaceID, window: time.Duration(r.SendWindowSeconds) * time.Second}
	if r.CountValue != nil {
		n := int(*r.CountValue)
		c.Count = &n
	}
	for _, k := range r.ChannelOrder {
		c.ChannelOrder = append(c.ChannelOrder, channels.Kind(k))
	}
	if err := json.Unmarshal(r.Contents, &c.Contents); err != nil {
		return c, fmt.Errorf("campaign %d contents: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Audience, &c.Audience); err != nil {
		return c, fmt.Errorf("campaign %d audience: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Schedule, &c.Schedule); err != nil {
		return c, fmt.Errorf("campaign %d schedule: %w", r.ID, err)
	}
	if r.QuietHours != nil {
		c.QuietHours = &QuietWindow{}
		if err := json.Unmarshal(r.QuietHours, c.QuietHours); err != nil {
			return c, fmt.Errorf("campaign %d quiet hours: %w", r.ID, err)
		}
	}
	if c.window > 0 {
		c.SendWindow = c.window.String()
	}
	return c, nil
}

// quiet returns the campaign's quiet hours, or nil.
func (c Campaign) quiet() *QuietHours {
	if c.QuietHours == nil {
		return nil
	}
	start, err1 := ParseClock(c.QuietHours.Start)
	end, err2 := ParseClock(c.QuietHours.End)
	if err1 != nil || err2 != nil || start == end {
		return nil
	}
	return &QuietHours{Start: start, End: end}
}

// apply validates in and writes it over c.
func (in Input) apply(c *Campaign) error {
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || len(n) > 200 {
			return errcode.Field("name", "a campaign name is 1 to 200 characters")
		}
		c.Name = n
	}
	if in.Contents != nil {
		// Language keys are read like contacts' languages (fa-af and prs are fa-AF), so that
		// text and recipients meet.
		c.Contents = Contents{}
		for lang, body := range *in.Contents {
			tag, err := contacts.NormalizeLanguage(lang)
			if err != nil {
				return errcode.Field("contents."+lang, "%q is not a BCP-47 language tag", lang)
			}
			if _, dup := c.Contents[tag]; dup {
				return errcode.Field("contents."+lang, "text for %s is given twice", tag)
			}
			c.Contents[tag] = body
		}
	}
	if in.Audience != nil {
		a, err := normalizeAudience(*in.Audience)
		if err != nil {
			return err
		}
		c.Audience = a
	}
	if in.ChannelOrder != nil {
		c.ChannelOrder = nil
		for _, s := range *in.ChannelOrder {
			k, err := contacts.ParseKind("channel_order", s)
			if err != nil {
				return err
			}
			if !slices.Contains(c.ChannelOrder, k) {
				c.ChannelOrder = append(c.ChannelOrder, k)
			}
		}
		if len(c.ChannelOrder) == 0 {
			return errcode.Field("channel_order", "name at least one channel: sms, telegram or sandbox")
		}
	}
	if in.AppendOptOut != nil {
		c.AppendOptOut = *in.AppendOptOut
	}
	if in.Count != nil {
		n := *in.Count
		c.Count = &n
	}
	if in.Schedule != nil {
		if err := in.Schedule.Validate(); err != nil {
			return err
		}
		c.Schedule = *in.Schedule
	}
	if in.QuietHours != nil {
		if in.QuietHours.Start == "" && in.QuietHours.End == "" {
			c.QuietHours = nil
		} else {
			if _, err := ParseClock(in.QuietHours.Start); err != nil {
				return errcode.Field("quiet_hours.start", "want a time of day such as 21:00")
			}
			if _, err := ParseClock(in.QuietHours.End); err != nil {
				return errcode.Field("quiet_hours.end", "want a time of day such as 08:00")
			}
			q := *in.QuietHours
			c.QuietHours = &q
		}
	}
	if in.SendWindow != nil {
		d := time.Duration(0)
		if *in.SendWindow != "" {
			var err error
			d, err = time.ParseDuration(*in.SendWindow)
			if err != nil || d < 0 || d > 7*24*time.Hour {
				return errcode.Field("send_window", "want a duration from 0s to 168h, such as 2h")
			}
		}
		c.window = d.Truncate(time.Second)
		c.SendWindow = ""
		if d > 0 {
			c.SendWindow = c.window.String()
		}
	}
	if in.SegmentCap != nil {
		if *in.SegmentCap <= 0 {
			c.SegmentCap = nil
		} else {
			n := *in.SegmentCap
			c.SegmentCap = &n
		}
	}
	if errs := ValidateContents(c.Contents); len(errs) > 0 {
		first := errs[0]
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return &errcode.Error{Code: errcode.Invalid, Field: "contents." + first.Language,
			Message: strings.Join(msgs, "; ")}
	}
	return nil
}

func normalizeAudience(a Audience) (Audience, error) {
	var out Audience
	for _, s := range a.Countries {
		c, err := contacts.NormalizeCountry(s)
		if err != nil {
			return out, errcode.Field("audience.countries", "%q is not an ISO 3166-1 country code", s)
		}
		out.Countries = append(out.Countries, c)
	}
	for _, s := range a.AdminAreas {
		c, err := contacts.NormalizeAdminArea(s, "")
		if err != nil {
			return out, errcode.Field("audience.admin_areas", "%q is not an ISO 3166-2 code", s)
		}
		out.AdminAreas = append(out.AdminAreas, c)
	}
	for _, s := range a.Languages {
		l, err := contacts.NormalizeLanguage(s)
		if err != nil {
			return out, errcode.Field("audience.languages", "%q is not a BCP-47 language tag", s)
		}
		out.Languages = append(out.Languages, l)
	}
	if len(a.Tags) > 0 {
		tags, err := contacts.NormalizeTags(strings.Join(a.Tags, ";"))
		if err != nil {
			return out, errcode.Field("audience.tags", "%v", err)
		}
		out.Tags = tags
	}
	return out, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Store) params(c Campaign) (contents, audience, schedule, quiet []byte, order []string, count *int32, err error) {
	if contents, err = json.Marshal(c.Contents); err != nil {
		return
	}
	if audience, err = json.Marshal(c.Audience); err != nil {
		return
	}
	if schedule, err = json.Marshal(c.Schedule); err != nil {
		return
	}
	if c.QuietHours != nil {
		if quiet, err = json.Marshal(c.QuietHours); err != nil {
			return
		}
	}
	for _, k := range c.ChannelOrder {
		order = append(order, string(k))
	}
	if c.Count != nil {
		n := int32(*c.Count)
		count = &n
	}
	return
}

// Create saves a new draft campaign. Broken templates are refused here, with the language and
// position of each error, rather than discovered at send time.
func (s *Store) Create(ctx context.Context, workspaceID int64, in Input, by workspaces.Actor) (Campaign, error) {
	c := Campaign{ChannelOrder: []channels.Kind{channels.KindSandbox}, AppendOptOut: true,
		Schedule: Schedule{Kind: "now"}, Contents: Contents{}}
	if in.Name == nil {
		return Campaign{}, errcode.Field("name", "a campaign needs a name")
	}
	if err := in.apply(&c); err != nil {
		return Campaign{}, err
	}
	if len(c.Contents) == 0 {
		return Campaign{}, errcode.Field("contents", "a campaign needs text in at least one language")
	}
	contents, audience, schedule, quiet, order, count, err := s.params(c)
	if err != nil {
		return Campaign{}, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Campaign{}, err
	}
	defer tx.Rollback(ctx)
	row, err := s.q.WithTx(tx).CampaignInsert(ctx, dbq.CampaignInsertParams{WorkspaceID: workspaceID, Name: c.Name,
		Contents: contents, Audience: audience, ChannelOrder: order, AppendOptOut: c.AppendOptOut, CountValue: count,
		Schedule: schedule, QuietHours: quiet, SendWindowSeconds: int32(c.window / time.Second), SegmentCap: c.SegmentCap})
	if err != nil {
		return Campaign{}, err
	}
	if err := s.audit.Record(ctx, tx, workspaceID, by, "create", "campaign", row.ID, nil); err != nil {
		return Campaign{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Campaign{}, err
	}
	return fromRow(row)
}

// Update changes a draft, scheduled or paused campaign.
func (s *Store) Update(ctx context.Context, workspaceID, id int64, in Input, by workspaces.Actor) (Campaign, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Campaign{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	c, err := s.lock(ctx, q, workspaceID, id)
	if err != nil {
		return Campaign{}, err
	}
	if c.State != StateDraft && c.State != StateScheduled && c.State != StatePaused {
		return Campaign{}, errcode.New(errcode.Conflict, "a %s campaign cannot be changed", c.State)
	}
	if c.State == StatePaused {
		if _, err := q.RunActive(ctx, c.ID); err == nil {
			// The rest of a run must go out as the first part did.
			return Campaign{}, errcode.New(errcode.Conflict, "a campaign paused in the middle of a run cannot be changed: resume it, or cancel it and create a new one")
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return Campaign{}, err
		}
	}
	if err := in.apply(&c); err != nil {
		return Campaign{}, err
	}
	if in.Schedule != nil && (c.State == StateScheduled || c.State == StatePaused) {
		// Move the start: the old start job finds the campaign not yet due and does nothing.
		next, ok := c.Schedule.Next(time.Now())
		if !ok {
			return Campaign{}, errcode.Field("schedule.at", "the scheduled time has passed")
		}
		if c.State == StateScheduled {
			if err := s.scheduleStart(ctx, tx, q, &c, next); err != nil {
				return Campaign{}, err
			}
		} else if err := q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StatePaused, NextRunAt: &next}); err != nil {
			return Campaign{}, err
		}
	}
	contents, audience, schedule, quiet, order, count, err := s.params(c)
	if err != nil {
		return Campaign{}, err
	}
	row, err := q.CampaignUpdate(ctx, dbq.CampaignUpdateParams{WorkspaceID: workspaceID, ID: id, Name: c.Name,
		Contents: contents, Audience: audience, ChannelOrder: order, AppendOptOut: c.AppendOptOut, CountValue: count,
		Schedule: schedule, QuietHours: quiet, SendWindowSeconds: int32(c.window / time.Second), SegmentCap: c.SegmentCap})
	if err != nil {
		return Campaign{}, err
	}
	if err := s.audit.Record(ctx, tx, workspaceID, by, "update", "campaign", id, nil); err != nil {
		return Campaign{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Campaign{}, err
	}
	return fromRow(row)
}

// Pool is the store's connection pool, for callers that store related rows alongside.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Get returns a campaign of the workspace.
func (s *Store) Get(ctx context.Context, workspaceID, id int64) (Campaign, error) {
	row, err := s.q.CampaignGet(ctx, dbq.CampaignGetParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return Campaign{}, notFound(err)
	}
	return fromRow(row)
}

// List returns a page of campaigns, optionally in one state, and the cursor of the next page.
func (s *Store) List(ctx context.Context, workspaceID int64, state string, after int64, limit int) ([]Campaign, int64, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var st *string
	if state != "" {
		if !slices.Contains([]string{StateDraft, StateScheduled, StateSending, StatePaused, StateCompleted, StateCancelled}, state) {
			return nil, 0, errcode.Field("state", "unknown state %q: want draft, scheduled, sending, paused, completed or cancelled", state)
		}
		st = &state
	}
	rows, err := s.q.CampaignList(ctx, dbq.CampaignListParams{WorkspaceID: workspaceID, State: st, AfterID: after, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]Campaign, 0, len(rows))
	for _, r := range rows {
		c, err := fromRow(r)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, next, nil
}

func (s *Store) lock(ctx context.Context, q *dbq.Queries, workspaceID, id int64) (Campaign, error) {
	row, err := q.CampaignLock(ctx, id)
	if err != nil || row.WorkspaceID != workspaceID {
		if err == nil {
			err = pgx.ErrNoRows
		}
		return Campaign{}, notFound(err)
	}
	return fromRow(row)
}

func notFound(err error) error {
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return errcode.Wrap(db.ErrNotFound, errcode.NotFound, "no such campaign in this workspace")
	}
	return err
}

func illegal(c Campaign, action string) error {
	return errcode.New(errcode.Conflict, "cannot %s a %s campaign", action, c.State)
}

// Schedule moves a draft to scheduled and enqueues its first start. A campaign whose estimated
// segments exceed its cap does not start.
func (s *Store) Schedule(ctx context.Context, workspaceID, id int64, by workspaces.Actor) (Campaign, error) {
	c, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return Campaign{}, err
	}
	if c.State != StateDraft {
		return Campaign{}, illegal(c, "schedule")
	}
	// A text that needs a count or a hotline number the campaign lacks is refused now, not
	// discovered by the fan-out.
	opts, err := s.renderOptions(ctx, workspaceID, c)
	if err != nil {
		return Campaign{}, err
	}
	if _, err := NewRenderer(c.Contents, opts); err != nil {
		return Campaign{}, err
	}
	if c.SegmentCap != nil {
		p, err := s.Preview(ctx, workspaceID, id)
		if err != nil {
			return Campaign{}, err
		}
		if p.TotalSegments > *c.SegmentCap {
			return Campaign{}, errcode.New(errcode.Precondition,
				"the campaign would send about %d segments, over its cap of %d: narrow the audience, shorten the text or raise the cap",
				p.TotalSegments, *c.SegmentCap)
		}
	}
	return s.transition(ctx, workspaceID, id, by, "schedule", func(ctx context.Context, tx pgx.Tx, q *dbq.Queries, c *Campaign) error {
		if c.State != StateDraft {
			return illegal(*c, "schedule")
		}
		next, ok := c.Schedule.Next(time.Now())
		if !ok {
			return errcode.Field("schedule.at", "the scheduled time has passed")
		}
		return s.scheduleStart(ctx, tx, q, c, next)
	})
}

func (s *Store) scheduleStart(ctx context.Context, tx pgx.Tx, q *dbq.Queries, c *Campaign, at time.Time) error {
	if err := q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StateScheduled, NextRunAt: &at}); err != nil {
		return err
	}
	opts := &river.InsertOpts{}
	if at.After(time.Now()) {
		opts.ScheduledAt = at
	}
	_, err := s.jobs.InsertTx(ctx, tx, StartArgs{CampaignID: c.ID}, opts)
	return err
}

// transition runs change on the locked campaign inside a transaction with its audit entry.
func (s *Store) transition(ctx context.Context, workspaceID, id int64, by workspaces.Actor, action string,
	change func(ctx context.Context, tx pgx.Tx, q *dbq.Queries, c *Campaign) error) (Campaign, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Campaign{}, err
	}
	defer tx.Rollback(ctx)
	q := s.q.WithTx(tx)
	c, err := s.lock(ctx, q, workspaceID, id)
	if err != nil {
		return Campaign{}, err
	}
	if err := change(ctx, tx, q, &c); err != nil {
		return Campaign{}, err
	}
	if err := s.audit.Record(ctx, tx, workspaceID, by, action, "campaign", id, nil); err != nil {
		return Campaign{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Campaign{}, err
	}
	return s.Get(ctx, workspaceID, id)
}

// Pause stops a scheduled or sending campaign. Messages already handed to a provider still go;
// the rest wait until Resume.
func (s *Store) Pause(ctx context.Context, workspaceID, id int64, by workspaces.Actor) (Campaign, error) {
	return s.transition(ctx, workspaceID, id, by, "pause", func(ctx context.Context, tx pgx.Tx, q *dbq.Queries, c *Campaign) error {
		if c.State != StateScheduled && c.State != StateSending {
			return illegal(*c, "pause")
		}
		return q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StatePaused, NextRunAt: c.NextRunAt})
	})
}

// Resume continues a paused campaign: an active run's fan-out and queued deliveries get new
// jobs; a campaign paused before its run started is scheduled again.
func (s *Store) Resume(ctx context.Context, workspaceID, id int64, by workspaces.Actor) (Campaign, error) {
	return s.transition(ctx, workspaceID, id, by, "resume", func(ctx context.Context, tx pgx.Tx, q *dbq.Queries, c *Campaign) error {
		if c.State != StatePaused {
			return illegal(*c, "resume")
		}
		run, err := q.RunActive(ctx, c.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			next := time.Now()
			if c.NextRunAt != nil && c.NextRunAt.After(next) {
				next = *c.NextRunAt
			}
			return s.scheduleStart(ctx, tx, q, c, next)
		}
		if err != nil {
			return err
		}
		if err := q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StateSending, NextRunAt: c.NextRunAt}); err != nil {
			return err
		}
		if run.State == "fanning_out" {
			if _, err := s.jobs.InsertTx(ctx, tx, FanoutArgs{RunID: run.ID}, nil); err != nil {
				return err
			}
		}
		return s.requeue(ctx, tx, q, run.ID)
	})
}

// requeue gives every queued delivery of a run a send job again; jobs left from before a pause
// find their deliveries taken and do nothing.
func (s *Store) requeue(ctx context.Context, tx pgx.Tx, q *dbq.Queries, runID int64) error {
	for after := int64(0); ; {
		rows, err := q.DeliveriesQueued(ctx, dbq.DeliveriesQueuedParams{RunID: &runID, AfterID: after, MaxRows: 10000})
		if err != nil || len(rows) == 0 {
			return err
		}
		g := newGrouper(runID)
		for _, r := range rows {
			g.add(r.ID, channels.Kind(r.ChannelKind), r.NotBefore)
			after = r.ID
		}
		if _, err := s.jobs.InsertManyFastTx(ctx, tx, g.jobs()); err != nil {
			return err
		}
	}
}

// Cancel stops a campaign for good: queued deliveries are cancelled, the run ends.
func (s *Store) Cancel(ctx context.Context, workspaceID, id int64, by workspaces.Actor) (Campaign, error) {
	return s.transition(ctx, workspaceID, id, by, "cancel", func(ctx context.Context, tx pgx.Tx, q *dbq.Queries, c *Campaign) error {
		if c.State == StateCompleted || c.State == StateCancelled {
			return illegal(*c, "cancel")
		}
		run, err := q.RunActive(ctx, c.ID)
		if err == nil {
			if _, err := q.DeliveriesCancelQueued(ctx, &run.ID); err != nil {
				return err
			}
			if err := q.RunFinish(ctx, dbq.RunFinishParams{ID: run.ID, State: "cancelled"}); err != nil {
				return err
			}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StateCancelled})
	})
}
