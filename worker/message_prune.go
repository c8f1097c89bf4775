package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// MessagePruneArgs asks for stored messages past each workspace's message retention to be
// deleted: inbound messages, the answers to them and the sandbox's outbox.
type MessagePruneArgs struct{}

// Kind is the job kind stored in River; never rename it.
func (MessagePruneArgs) Kind() string { return "message_prune" }

// InsertOpts puts the job on the maintenance queue and keeps one per hour, since the periodic
// schedule runs on whichever process leads and may enqueue again after a leader change.
func (MessagePruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// DefaultPruneBatch is how many rows one delete statement of the message prune removes: small
// enough that each statement is a short transaction holding few locks, large enough that a
// backlog of millions takes minutes, not hours.
const DefaultPruneBatch = 1000

// DefaultPruneBudget is how long one run of the message prune goes on deleting before it stops
// and leaves the rest to the next hourly run: well inside the job timeout, so that a large
// backlog (after an install lowers its retention) never makes the job fail and retry.
const DefaultPruneBudget = 40 * time.Second

// MessagePruneWorker deletes stored messages past their workspace's retention, in batches.
// Deleting what is already gone changes nothing, so running twice is harmless.
type MessagePruneWorker struct {
	river.WorkerDefaults[MessagePruneArgs]
	Workspaces *workspaces.Store
	Messages   *messages.Retention
	Logger     *slog.Logger
	// BatchSize is how many rows one statement deletes; 0 means DefaultPruneBatch.
	BatchSize int
	// Budget is how long one run deletes; 0 means DefaultPruneBudget.
	Budget time.Duration
}

// Work prunes every workspace, oldest messages first, and logs how many rows went: counts and
// workspace ids only, never an address or a text.
func (w *MessagePruneWorker) Work(ctx context.Context, job *river.Job[MessagePruneArgs]) error {
	batch := w.BatchSize
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	budget := w.Budget
	if budget <= 0 {
		budget = DefaultPruneBudget
	}
	stopAt := time.Now().Add(budget)
	if dl, ok := ctx.Deadline(); ok {
		// Leave a quarter of the job's time for the batch in flight, however the timeout is set.
		if soft := dl.Add(-time.Until(dl) / 4); soft.Before(stopAt) {
			stopAt = soft
		}
	}
	all, err := w.Workspaces.List(ctx)
	if err != nil {
		return err
	}
	for _, ws := range all {
		var inbound, answers, outbox int64
		stopped, err := drain(stopAt, batch, func() (int64, error) {
			m, a, err := w.Messages.PruneInbound(ctx, ws.ID, ws.MessageRetentionDays, batch)
			inbound, answers = inbound+m, answers+a
			return m, err
		})
		if err == nil && !stopped {
			stopped, err = drain(stopAt, batch, func() (int64, error) {
				n, err := w.Messages.PruneOutbox(ctx, ws.ID, ws.MessageRetentionDays, batch)
				outbox += n
				return n, err
			})
		}
		if inbound+answers+outbox > 0 {
			w.Logger.Info("pruned messages past retention", "workspace", ws.ID, "retention_days", ws.MessageRetentionDays,
				"inbound", inbound, "replies", answers, "sandbox_outbox", outbox)
		}
		if err != nil {
			return err
		}
		if stopped {
			w.Logger.Info("message prune stopped at its time budget; the next run goes on", "workspace", ws.ID)
			return nil
		}
	}
	return nil
}

// drain runs one delete batch after another until a batch deletes fewer than batch rows (nothing
// older is left) or stopAt passes, which it reports as stopped.
func drain(stopAt time.Time, batch int, step func() (int64, error)) (stopped bool, err error) {
	for {
		if time.Now().After(stopAt) {
			return true, nil
		}
		n, err := step()
		if err != nil || n < int64(batch) {
			return false, err
		}
	}
}
