// Package worker runs Waymark's background jobs on River: it builds the one River client of a
// process, declares the queues, registers one worker per job kind and maps domain outcomes to
// River's (snooze, retry, cancel, complete).
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// QueueDefault holds housekeeping jobs.
const QueueDefault = river.QueueDefault

// QueueMaintenance holds periodic checks.
const QueueMaintenance = campaigns.QueueMaintenance

// Deps are the domain services jobs call.
type Deps struct {
	Workspaces *workspaces.Store
	Campaigns  *campaigns.Store
	Senders    campaigns.SenderFor
	// Chatbot handles inbound messages that need an answer now (Telegram /start, buttons).
	Chatbot *chatbot.Handler
	// SandboxReceipts returns how the sandbox of a workspace decides a delivery's receipt. It is
	// called before the receipt job's transaction begins, so it may read settings from the pool.
	SandboxReceipts func(ctx context.Context, workspaceID int64) (func(deliveryID int64) channels.Status, error)
	// Outbox records the sandbox's receipts on the messages it sent.
	Outbox *messages.Outbox
}

// DefaultSendWorkers is how many send jobs a process works at once per channel kind unless told
// otherwise. Each job sends up to campaigns.JobSize messages, SendConcurrency of them at a time.
const DefaultSendWorkers = 20

// Options tune the client.
type Options struct {
	Logger *slog.Logger
	// SendWorkers is how many send jobs one process works at once per channel kind.
	SendWorkers int
	// FetchCooldown and FetchPollInterval override River's defaults when set (benchmarks).
	FetchCooldown, FetchPollInterval time.Duration
	// RescueStuckJobsAfter is when a job left running by a dead process runs again.
	RescueStuckJobsAfter time.Duration
	// TestOnly shortens River's internal timers for tests.
	TestOnly bool
}

// NewInserter returns a River client that only inserts jobs; domain stores use it to enqueue
// inside their transactions before the working client exists.
func NewInserter(pool *pgxpool.Pool) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(pool), &river.Config{})
}

// NewClient builds the River client that works every Waymark queue.
func NewClient(pool *pgxpool.Pool, deps Deps, opts Options) (*river.Client[pgx.Tx], error) {
	if opts.SendWorkers <= 0 {
		opts.SendWorkers = DefaultSendWorkers
	}
	if opts.RescueStuckJobsAfter <= 0 {
		opts.RescueStuckJobsAfter = 10 * time.Minute
	}
	renderers := campaigns.NewRendererCache()
	workers := river.NewWorkers()
	river.AddWorker(workers, &AuditPruneWorker{Workspaces: deps.Workspaces, Logger: opts.Logger})
	river.AddWorker(workers, &MessagePruneWorker{Workspaces: deps.Workspaces, Messages: messages.NewRetention(pool), Logger: opts.Logger})
	river.AddWorker(workers, &StartWorker{Pool: pool, Campaigns: deps.Campaigns})
	river.AddWorker(workers, &FanoutWorker{Pool: pool, Campaigns: deps.Campaigns, Renderers: renderers})
	river.AddWorker(workers, &SendWorker{Campaigns: deps.Campaigns, Senders: deps.Senders, Renderers: renderers})
	river.AddWorker(workers, &ReceiptWorker{Pool: pool, Campaigns: deps.Campaigns, Outbox: deps.Outbox, Receipts: deps.SandboxReceipts})
	river.AddWorker(workers, &ProgressWorker{Campaigns: deps.Campaigns})
	river.AddWorker(workers, &InboundWorker{Handler: deps.Chatbot})
	queues := map[string]river.QueueConfig{
		QueueDefault:                               {MaxWorkers: 5},
		QueueMaintenance:                           {MaxWorkers: 2},
		campaigns.QueueFanout:                      {MaxWorkers: 2},
		chatbot.QueueInbound:                       {MaxWorkers: 10},
		campaigns.SendQueue(channels.KindSandbox):  {MaxWorkers: opts.SendWorkers},
		campaigns.SendQueue(channels.KindSMS):      {MaxWorkers: opts.SendWorkers},
		campaigns.SendQueue(channels.KindTelegram): {MaxWorkers: opts.SendWorkers},
	}
	return river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:               opts.Logger.With("component", "river"),
		Queues:               queues,
		Workers:              workers,
		FetchCooldown:        opts.FetchCooldown,
		FetchPollInterval:    opts.FetchPollInterval,
		RescueStuckJobsAfter: opts.RescueStuckJobsAfter,
		JobTimeout:           min(time.Minute, opts.RescueStuckJobsAfter),
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return AuditPruneArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return MessagePruneArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(campaigns.ProgressInterval),
				func() (river.JobArgs, *river.InsertOpts) { return campaigns.ProgressArgs{}, nil },
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
