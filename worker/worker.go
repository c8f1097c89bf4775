// Package worker runs Waymark's background jobs on River: it builds the one River client of a
// process, declares the queues, registers one worker per job kind and maps domain errors to River
// outcomes.
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waymark-org/waymark/workspaces"
)

// Queue names. Separate queues keep urgent work from waiting behind bulk work; River's priority
// alone would not, because a high-priority backlog starves the rest.
const (
	QueueDefault     = river.QueueDefault // housekeeping
	QueueMaintenance = "maintenance"
)

// Deps are the domain services jobs call.
type Deps struct {
	Workspaces *workspaces.Store
}

// Options tune the client.
type Options struct {
	Logger *slog.Logger
	// SoftStopTimeout is how long Stop lets running jobs finish before cancelling them.
	SoftStopTimeout time.Duration
	// TestOnly shortens River's internal timers for tests.
	TestOnly bool
}

// NewClient builds the River client that works every Waymark queue.
func NewClient(pool *pgxpool.Pool, deps Deps, opts Options) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &AuditPruneWorker{Workspaces: deps.Workspaces, Logger: opts.Logger})
	return river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger: opts.Logger.With("component", "river"),
		Queues: map[string]river.QueueConfig{
			QueueDefault:     {MaxWorkers: 10},
			QueueMaintenance: {MaxWorkers: 2},
		},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return AuditPruneArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
		TestOnly: opts.TestOnly,
	})
}

// Stop stops the client gracefully: running jobs get softTimeout to finish, then are cancelled.
func Stop(ctx context.Context, client *river.Client[pgx.Tx], softTimeout time.Duration) error {
	softCtx, cancel := context.WithTimeout(ctx, softTimeout)
	defer cancel()
	if err := client.Stop(softCtx); err == nil {
		return nil
	}
	hardCtx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel2()
	return client.StopAndCancel(hardCtx)
}
