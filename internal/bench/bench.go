// Package bench measures the delivery engine on a real database for `waymark bench`. It seeds a
// private workspace with sandbox contacts, runs one campaign through fan-out and the sandbox
// channel, works as many empty jobs through River alone as the yardstick, and removes everything
// it made, even when a step fails. The product requires dispatch to be at least as fast as River
// works empty jobs, so the result reports both rates and their ratio.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// DefaultRecipients is how many contacts a run seeds and messages unless told otherwise: enough
// for the rates to settle, small enough to finish in minutes on a laptop.
const DefaultRecipients = 100_000

// DefaultWorkers is River's MaxWorkers for the sandbox send queue and the baseline queue unless
// told otherwise: what `waymark worker` runs with, so the bench measures the product as shipped.
const DefaultWorkers = worker.DefaultSendWorkers

// River's fetch settings for both the engine and the baseline. They are the ones River's own CLI
// benchmark used: the defaults (100 ms cooldown, 1 s poll) would make both runs wait on timers
// rather than on work.
const (
	fetchCooldown     = 2 * time.Millisecond
	fetchPollInterval = 20 * time.Millisecond
)

// progressEvery is how many contacts or deliveries pass between progress messages of the long
// phases.
const progressEvery = 100_000

// stallTimeout fails a phase that has made no progress for this long, so that a lost job or a
// wedged worker ends the run with an error instead of hanging it.
const stallTimeout = 2 * time.Minute

// cleanupTimeout bounds the removal of a run's rows and jobs; a million-recipient run takes about
// a minute to remove on a small machine, and far longer if something slows the deletes.
const cleanupTimeout = 30 * time.Minute

// Options for a benchmark run.
type Options struct {
	// Recipients is how many contacts are seeded and messaged; 0 means DefaultRecipients.
	Recipients int
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// Workers is River's MaxWorkers for the sandbox send queue, and for the baseline's queue so
	// that both run with the same concurrency; 0 means DefaultWorkers.
	Workers int
}

// Result is what `waymark bench --json` prints. Rates are per second of wall-clock time.
type Result struct {
	// Recipients is how many contacts were seeded and messaged.
	Recipients int `json:"recipients"`
	// SeedSeconds is the import of the contacts; it is reported but is no part of any target.
	SeedSeconds float64 `json:"seed_seconds"`
	// FanoutSeconds runs from the start of the campaign's run until every delivery row and send
	// job is written.
	FanoutSeconds float64 `json:"fanout_seconds"`
	// FanoutPerSecond is deliveries written per second.
	FanoutPerSecond float64 `json:"fanout_per_second"`
	// DispatchSeconds runs from starting the River client until every delivery has been sent
	// through the sandbox (none is left queued or sending).
	DispatchSeconds float64 `json:"dispatch_seconds"`
	// DispatchPerSecond is messages sent per second.
	DispatchPerSecond float64 `json:"dispatch_per_second"`
	// RiverInsertPerSecond is River alone inserting Recipients empty jobs with InsertManyFast.
	RiverInsertPerSecond float64 `json:"river_insert_per_second"`
	// RiverWorkPerSecond is River alone working those empty jobs with the engine's client
	// settings: one job per message, the yardstick dispatch is held to.
	RiverWorkPerSecond float64 `json:"river_work_per_second"`
	// DispatchVsRiver is DispatchPerSecond / RiverWorkPerSecond; the requirement is at least 1.
	DispatchVsRiver float64 `json:"dispatch_vs_river"`
	// Machine describes where the numbers came from: CPUs, architecture, CPU model and
	// PostgreSQL version.
	Machine string `json:"machine"`
}

// actor is who the bench's audited changes are attributed to.
var actor = workspaces.SystemActor

// run holds what one benchmark run made, so that cleanup knows what to remove.
type run struct {
	pool      *pgxpool.Pool
	keys      *pii.Keyring
	opts      Options
	log       *slog.Logger
	inserter  *river.Client[pgx.Tx]
	jobs      *countingInserter
	campaigns *campaigns.Store

	workspaceID int64
	campaignID  int64
	runID       int64
}

// Run seeds a private workspace named "bench-<timestamp>" with opts.Recipients sandbox contacts in
// several languages and scripts, sends them one campaign through fan-out and the sandbox channel
// with no rate limit, measures both, then measures River alone on the same database, and finally
// deletes the workspace (its contacts, campaign, deliveries and outbox) and every job it created,
// whether or not a step failed.
//
// Run works every Waymark queue of the database with its own sandbox wiring, so it refuses to
// start while other jobs wait there; no other worker process should run meanwhile, or it would
// take some of the bench's jobs and skew the numbers.
func Run(ctx context.Context, pool *pgxpool.Pool, keys *pii.Keyring, opts Options) (res Result, err error) {
	if opts.Recipients <= 0 {
		opts.Recipients = DefaultRecipients
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	inserter, err := worker.NewInserter(pool)
	if err != nil {
		return res, err
	}
	jobs := &countingInserter{JobInserter: inserter}
	r := &run{pool: pool, keys: keys, opts: opts, log: opts.Logger, inserter: inserter, jobs: jobs,
		campaigns: campaigns.NewStore(pool, keys, jobs)}
	res.Recipients = opts.Recipients
	res.Machine = describeMachine(ctx, pool)
	if err := r.checkQueuesIdle(ctx); err != nil {
		return res, err
	}
	defer func() {
		// Cleanup runs even when ctx was cancelled (Ctrl-C), or the bench's rows would stay.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := r.cleanup(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("bench cleanup: %w", cerr))
		}
	}()

	start := time.Now()
	if err := r.seed(ctx); err != nil {
		return res, fmt.Errorf("bench seed: %w", err)
	}
	res.SeedSeconds = seconds(time.Since(start))
	r.log.Info("bench: contacts seeded", "recipients", opts.Recipients, "seconds", res.SeedSeconds)

	if r.campaignID, err = r.createCampaign(ctx); err != nil {
		return res, fmt.Errorf("bench campaign: %w", err)
	}
	fo, err := fanOut(ctx, pool, r.campaigns, jobs, r.campaignID, r.log)
	r.runID = fo.runID
	if err != nil {
		return res, fmt.Errorf("bench fan-out: %w", err)
	}
	if fo.deliveries != opts.Recipients || fo.inJobs != opts.Recipients {
		return res, fmt.Errorf("bench fan-out wrote %d deliveries and %d into send jobs for %d recipients", fo.deliveries, fo.inJobs, opts.Recipients)
	}
	res.FanoutSeconds = seconds(fo.elapsed)
	res.FanoutPerSecond = rate(fo.deliveries, fo.elapsed)
	r.log.Info("bench: fanned out", "deliveries", fo.deliveries, "send_jobs", fo.jobs, "seconds", res.FanoutSeconds, "per_second", res.FanoutPerSecond)

	elapsed, err := r.dispatch(ctx, fo.inJobs)
	if err != nil {
		return res, fmt.Errorf("bench dispatch: %w", err)
	}
	res.DispatchSeconds = seconds(elapsed)
	res.DispatchPerSecond = rate(opts.Recipients, elapsed)
	r.log.Info("bench: dispatched", "messages", opts.Recipients, "seconds", res.DispatchSeconds, "per_second", res.DispatchPerSecond)

	bl, err := riverBaseline(ctx, pool, opts.Recipients, opts.Workers, r.log)
	if err != nil {
		return res, fmt.Errorf("bench river baseline: %w", err)
	}
	res.RiverInsertPerSecond = rate(opts.Recipients, bl.insert)
	res.RiverWorkPerSecond = rate(opts.Recipients, bl.work)
	r.log.Info("bench: river baseline", "jobs", opts.Recipients, "insert_per_second", res.RiverInsertPerSecond, "work_per_second", res.RiverWorkPerSecond)
	if res.RiverWorkPerSecond > 0 {
		res.DispatchVsRiver = math.Round(res.DispatchPerSecond/res.RiverWorkPerSecond*1000) / 1000
	}
	return res, nil
}

// seconds rounds d to milliseconds, as seconds.
func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// rate is n per second of d, to one decimal.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}
