package campaigns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns/internal/dbq"
	"github.com/waymark-org/waymark/channels"
)

// FanoutBatch is how many contacts one fan-out transaction handles: big enough to amortise the
// round trips, small enough that a crash loses little work and locks stay short.
const FanoutBatch = 5000

// JobSize is how many deliveries one send job carries.
const JobSize = 50

// grouper packs deliveries into send jobs by channel kind and second of not_before.
type grouper struct {
	runID  int64
	order  []string
	groups map[string]*group
}

type group struct {
	kind      channels.Kind
	notBefore time.Time
	ids       []int64
}

func newGrouper(runID int64) *grouper { return &grouper{runID: runID, groups: map[string]*group{}} }

func (g *grouper) add(id int64, kind channels.Kind, notBefore time.Time) {
	key := string(kind) + notBefore.Truncate(time.Second).String()
	gr, ok := g.groups[key]
	if !ok || len(gr.ids) >= JobSize {
		gr = &group{kind: kind, notBefore: notBefore}
		key += fmt.Sprint(len(g.order))
		g.groups[key] = gr
		g.order = append(g.order, key)
	}
	gr.ids = append(gr.ids, id)
	if notBefore.After(gr.notBefore) {
		gr.notBefore = notBefore
	}
	// Re-point the base key at the newest group so later deliveries join it.
	g.groups[string(kind)+notBefore.Truncate(time.Second).String()] = gr
}

func (g *grouper) jobs() []river.InsertManyParams {
	seen := map[*group]bool{}
	var out []river.InsertManyParams
	for _, k := range g.order {
		gr := g.groups[k]
		if seen[gr] {
			continue
		}
		seen[gr] = true
		out = append(out, sendJob(g.runID, gr.kind, gr.ids, gr.notBefore))
	}
	return out
}

// ErrRunOver says a fan-out found its run cancelled, completed or its campaign paused.
var errRunOver = errors.New("run is not fanning out")

// StartRun begins a run of a scheduled campaign whose time has come: it counts the audience,
// records the run and enqueues its fan-out, all in the transaction tx. A campaign no longer
// scheduled (paused, cancelled) is left alone, so a repeated start job does nothing.
func (s *Store) StartRun(ctx context.Context, tx pgx.Tx, campaignID int64) error {
	q := s.q.WithTx(tx)
	row, err := q.CampaignLock(ctx, campaignID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := fromRow(row)
	if err != nil {
		return err
	}
	if c.State != StateScheduled || (c.NextRunAt != nil && c.NextRunAt.After(time.Now().Add(time.Second))) {
		return nil
	}
	n, err := q.AudienceCount(ctx, audienceCountParams(c))
	if err != nil {
		return err
	}
	run, err := q.RunInsert(ctx, dbq.RunInsertParams{WorkspaceID: c.workspaceID, CampaignID: c.ID, Recipients: int32(n)})
	if err != nil {
		return err
	}
	if err := q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StateSending, NextRunAt: c.NextRunAt}); err != nil {
		return err
	}
	_, err = s.jobs.InsertTx(ctx, tx, FanoutArgs{RunID: run.ID}, nil)
	return err
}

func audienceCountParams(c Campaign) dbq.AudienceCountParams {
	return dbq.AudienceCountParams{WorkspaceID: c.workspaceID, Countries: orEmpty(c.Audience.Countries),
		AdminAreas: orEmpty(c.Audience.AdminAreas), Languages: orEmpty(c.Audience.Languages), Tags: orEmpty(c.Audience.Tags)}
}

func (c Campaign) audienceBatch(after int64, limit int) dbq.AudienceBatchParams {
	order := make([]string, len(c.ChannelOrder))
	for i, k := range c.ChannelOrder {
		order[i] = string(k)
	}
	return dbq.AudienceBatchParams{WorkspaceID: c.workspaceID, AfterID: after, ChannelOrder: order,
		Countries: orEmpty(c.Audience.Countries), AdminAreas: orEmpty(c.Audience.AdminAreas),
		Languages: orEmpty(c.Audience.Languages), Tags: orEmpty(c.Audience.Tags), MaxRows: int32(limit)}
}

// WarmRenderer loads the renderer of a run's campaign into renderers before a fan-out begins its
// transactions, so that FanoutStep finds it cached and never reaches for a second pool connection
// while its transaction holds one.
func (s *Store) WarmRenderer(ctx context.Context, runID int64, renderers *RendererCache) error {
	c, err := s.campaignOfRun(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = renderers.get(ctx, s, c)
	return err
}

// campaignOfRun reads the campaign a run belongs to, through the pool.
func (s *Store) campaignOfRun(ctx context.Context, runID int64) (Campaign, error) {
	row, err := s.q.CampaignGetByRun(ctx, runID)
	if err != nil {
		return Campaign{}, err
	}
	return fromRow(row)
}

// FanoutStep writes one batch of a run's deliveries and their send jobs in tx, advancing the
// run's cursor in the same transaction: a crash leaves whole batches or nothing, and the next
// attempt continues after the last committed batch. A delivery is unique per run and contact,
// and jobs are made only for rows actually inserted, so running a step twice doubles nothing.
// done reports that the run has been fanned out completely (or is over).
func (s *Store) FanoutStep(ctx context.Context, tx pgx.Tx, runID int64, renderers *RendererCache) (done bool, inserted int, err error) {
	q := s.q.WithTx(tx)
	run, err := q.RunLock(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	if run.State != "fanning_out" {
		return true, 0, nil
	}
	row, err := q.CampaignGetByID(ctx, run.CampaignID)
	if err != nil {
		return false, 0, err
	}
	c, err := fromRow(row)
	if err != nil {
		return false, 0, err
	}
	if c.State != StateSending {
		// Paused or cancelled: Resume enqueues the fan-out again.
		return true, 0, nil
	}
	r, err := renderers.get(ctx, s, c)
	if err != nil {
		return false, 0, err
	}
	size := FanoutBatch
	if s.FanoutBatchSize > 0 {
		size = s.FanoutBatchSize
	}
	batch, err := q.AudienceBatch(ctx, c.audienceBatch(run.FanoutCursor, size))
	if err != nil {
		return false, 0, err
	}
	if len(batch) == 0 {
		return true, 0, q.RunFannedOut(ctx, runID)
	}
	quiet := c.quiet()
	total := max(int(run.Recipients), int(run.Fanned)+len(batch))
	p := dbq.DeliveryInsertBatchParams{WorkspaceID: c.workspaceID, CampaignID: &c.ID, RunID: &runID}
	for i, b := range batch {
		lang, _, ok := r.Resolve(b.Language)
		status, rank, reason := string(channels.StatusQueued), int16(10), ""
		if !ok {
			status, rank, reason = "skipped", 80, "no text in the contact's language or its fallbacks"
			lang = b.Language
		}
		// Spread over the window by position in the audience, from the run's start, so that a
		// retried batch lands on the same times.
		at := Spread(run.StartedAt, c.window, int(run.Fanned)+i, total)
		if quiet != nil {
			loc := location(b.TimeZone)
			at = quiet.NextAllowed(at, loc)
		}
		p.ContactIds = append(p.ContactIds, b.ID)
		p.ChannelKinds = append(p.ChannelKinds, b.ChannelKind)
		p.Languages = append(p.Languages, lang)
		p.Statuses = append(p.Statuses, status)
		p.StatusRanks = append(p.StatusRanks, rank)
		p.NotBefores = append(p.NotBefores, at)
		p.Reasons = append(p.Reasons, reason)
	}
	rows, err := q.DeliveryInsertBatch(ctx, p)
	if err != nil {
		return false, 0, err
	}
	g := newGrouper(runID)
	for _, d := range rows {
		if d.Status == string(channels.StatusQueued) {
			g.add(d.ID, channels.Kind(d.ChannelKind), d.NotBefore)
		}
	}
	if jobs := g.jobs(); len(jobs) > 0 {
		if _, err := s.jobs.InsertManyFastTx(ctx, tx, jobs); err != nil {
			return false, 0, err
		}
	}
	if err := q.RunAdvance(ctx, dbq.RunAdvanceParams{ID: runID, FanoutCursor: batch[len(batch)-1].ID, BatchSize: int32(len(batch))}); err != nil {
		return false, 0, err
	}
	if len(batch) < size {
		return true, len(rows), q.RunFannedOut(ctx, runID)
	}
	return false, len(rows), nil
}

var locations = newLocationCache()

// location returns a contact's time zone, or UTC when they gave none.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	return locations.get(name)
}
