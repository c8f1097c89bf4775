package bench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waymark-org/waymark/campaigns"
)

// The baseline's job kind and queue: its own, so that no Waymark worker takes its jobs and
// cleanup can find them all.
const (
	emptyKind  = "bench_empty"
	emptyQueue = "bench_empty"
)

// emptyArgs is a job that does nothing: what River costs per job on its own.
type emptyArgs struct{}

// Kind names the baseline's jobs.
func (emptyArgs) Kind() string { return emptyKind }

// InsertOpts puts them on the baseline's queue.
func (emptyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: emptyQueue} }

// emptyWorker works emptyArgs by returning at once.
type emptyWorker struct {
	river.WorkerDefaults[emptyArgs]
}

// Work does nothing, so the baseline measures River alone.
func (emptyWorker) Work(context.Context, *river.Job[emptyArgs]) error { return nil }

// baselineInsertBatch is how many empty jobs one InsertManyFast call inserts: as many as fan-out
// writes messages per transaction, so both insert the same number of messages per commit.
const baselineInsertBatch = campaigns.FanoutBatch

// baseline is how long River alone took to insert and to work n empty jobs.
type baseline struct {
	insert, work time.Duration
}

// riverBaseline inserts n empty jobs with InsertManyFast, then works them with a client configured
// as the engine's send queue is (MaxWorkers, FetchCooldown, FetchPollInterval), timing it from
// Start to the last completion, as dispatch is timed.
func riverBaseline(ctx context.Context, pool *pgxpool.Pool, n, workers int, log *slog.Logger) (baseline, error) {
	var res baseline
	workerSet := river.NewWorkers()
	river.AddWorker(workerSet, emptyWorker{})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:            log.With("component", "river"),
		Queues:            map[string]river.QueueConfig{emptyQueue: {MaxWorkers: workers}},
		Workers:           workerSet,
		FetchCooldown:     fetchCooldown,
		FetchPollInterval: fetchPollInterval,
	})
	if err != nil {
		return res, err
	}

	params := make([]river.InsertManyParams, 0, baselineInsertBatch)
	start := time.Now()
	for inserted := 0; inserted < n; inserted += len(params) {
		params = params[:0]
		for range min(baselineInsertBatch, n-inserted) {
			params = append(params, river.InsertManyParams{Args: emptyArgs{}})
		}
		if _, err := client.InsertManyFast(ctx, params); err != nil {
			return res, err
		}
	}
	res.insert = time.Since(start)

	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{ChanSize: n + 1000,
		Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer cancel()
	start = time.Now()
	if err := client.Start(ctx); err != nil {
		return res, err
	}
	defer stopClient(ctx, client)
	done := 0
	err = waitEvents(ctx, events, func(e *river.Event) (bool, error) {
		if e.Job.Kind == emptyKind {
			done++
		}
		return done >= n, nil
	}, func() string { return fmt.Sprintf("%d of %d empty jobs", done, n) })
	res.work = time.Since(start)
	return res, err
}
