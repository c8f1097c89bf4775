package bench

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymark-org/waymark/campaigns"
)

// countingInserter is the campaigns store's job inserter with a tally: it learns the run a start
// creates from the fan-out job it enqueues, and counts the send jobs fan-out writes and the
// deliveries they carry, which is how the bench knows when dispatch is over without scanning
// tables while it is being timed.
type countingInserter struct {
	campaigns.JobInserter

	mu         sync.Mutex
	runID      int64
	sendJobs   int
	deliveries int
}

// InsertTx inserts like River and remembers the run of a fan-out job.
func (c *countingInserter) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.JobInserter.InsertTx(ctx, tx, args, opts)
	if fa, ok := args.(campaigns.FanoutArgs); ok && err == nil {
		c.mu.Lock()
		c.runID = fa.RunID
		c.mu.Unlock()
	}
	return res, err
}

// InsertManyFastTx inserts like River and counts send jobs and their deliveries.
func (c *countingInserter) InsertManyFastTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) (int, error) {
	n, err := c.JobInserter.InsertManyFastTx(ctx, tx, params)
	if err != nil {
		return n, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range params {
		if sa, ok := p.Args.(campaigns.SendArgs); ok {
			c.sendJobs++
			c.deliveries += len(sa.DeliveryIDs)
		}
	}
	return n, nil
}

// reset forgets earlier counts, before a new run is fanned out.
func (c *countingInserter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runID, c.sendJobs, c.deliveries = 0, 0, 0
}

// fanoutResult is what one fan-out wrote and how long it took.
type fanoutResult struct {
	runID      int64
	deliveries int // delivery rows inserted
	jobs       int // send jobs inserted
	inJobs     int // deliveries carried by those jobs
	elapsed    time.Duration
}

// fanOut starts the scheduled campaign's run and writes all its deliveries and send jobs, timing
// exactly the work worker.StartWorker and worker.FanoutWorker do: the start in one transaction,
// then one FanoutStep per transaction until the run is fanned out. The fan-out job the start
// enqueues is left for cleanup; once the run is fanned out a worker finding it does nothing.
func fanOut(ctx context.Context, pool *pgxpool.Pool, store *campaigns.Store, jobs *countingInserter, campaignID int64, log *slog.Logger) (fanoutResult, error) {
	jobs.reset()
	renderers := campaigns.NewRendererCache()
	var res fanoutResult
	start := time.Now()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return store.StartRun(ctx, tx, campaignID) }); err != nil {
		return res, err
	}
	jobs.mu.Lock()
	res.runID = jobs.runID
	jobs.mu.Unlock()
	if res.runID == 0 {
		return res, errors.New("the campaign did not start a run (was it scheduled?)")
	}
	if err := store.WarmRenderer(ctx, res.runID, renderers); err != nil {
		return res, err
	}
	for done := false; !done; {
		n := 0
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var err error
			done, n, err = store.FanoutStep(ctx, tx, res.runID, renderers)
			return err
		})
		if err != nil {
			return res, err
		}
		if before := res.deliveries; (before+n)/progressEvery > before/progressEvery && !done {
			log.Info("bench: fanning out", "deliveries", before+n, "seconds", seconds(time.Since(start)))
		}
		res.deliveries += n
	}
	res.elapsed = time.Since(start)
	jobs.mu.Lock()
	res.jobs, res.inJobs = jobs.sendJobs, jobs.deliveries
	jobs.mu.Unlock()
	return res, nil
}
