package worker

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/messages"
)

// completeTx completes job inside tx, so that the domain write and the job's completion commit
// together.
func completeTx[T river.JobArgs](job *river.Job[T]) func(ctx context.Context, tx pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	}
}

// StartWorker begins a scheduled campaign's run.
type StartWorker struct {
	river.WorkerDefaults[campaigns.StartArgs]
	Pool      *pgxpool.Pool
	Campaigns *campaigns.Store
}

// Work starts the run and completes the job in one transaction.
func (w *StartWorker) Work(ctx context.Context, job *river.Job[campaigns.StartArgs]) error {
	return pgx.BeginFunc(ctx, w.Pool, func(tx pgx.Tx) error {
		if err := w.Campaigns.StartRun(ctx, tx, job.Args.CampaignID); err != nil {
			return err
		}
		return completeTx(job)(ctx, tx)
	})
}

// FanoutWorker writes a run's deliveries batch by batch.
type FanoutWorker struct {
	river.WorkerDefaults[campaigns.FanoutArgs]
	Pool      *pgxpool.Pool
	Campaigns *campaigns.Store
	Renderers *campaigns.RendererCache
}

// Timeout lets a fan-out of millions of recipients finish; each batch commits on its own, so a
// timeout or crash loses at most the batch in progress and the retry resumes after it.
func (w *FanoutWorker) Timeout(*river.Job[campaigns.FanoutArgs]) time.Duration { return time.Hour }

// Work runs fan-out steps until the run is fanned out; the last step completes the job.
func (w *FanoutWorker) Work(ctx context.Context, job *river.Job[campaigns.FanoutArgs]) error {
	if err := w.Campaigns.WarmRenderer(ctx, job.Args.RunID, w.Renderers); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done := false
		err := pgx.BeginFunc(ctx, w.Pool, func(tx pgx.Tx) error {
			var err error
			done, _, err = w.Campaigns.FanoutStep(ctx, tx, job.Args.RunID, w.Renderers)
			if err != nil || !done {
				return err
			}
			return completeTx(job)(ctx, tx)
		})
		if err != nil || done {
			return err
		}
	}
}

// SendWorker sends a group of deliveries and maps the outcome to River: throttling snoozes the
// job, temporary failures retry it with backoff, everything else completes it.
type SendWorker struct {
	river.WorkerDefaults[campaigns.SendArgs]
	Campaigns *campaigns.Store
	Senders   campaigns.SenderFor
	Renderers *campaigns.RendererCache
}

// Timeout bounds one job of up to campaigns.JobSize sends.
func (w *SendWorker) Timeout(*river.Job[campaigns.SendArgs]) time.Duration { return 2 * time.Minute }

// Work sends and records the results.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[campaigns.SendArgs]) error {
	out, err := w.Campaigns.Send(ctx, job.Args, job.Attempt, w.Senders, w.Renderers, completeTx(job))
	switch {
	case err != nil:
		return err
	case out.Retry != nil:
		return out.Retry
	case out.Snooze > 0:
		return river.JobSnooze(out.Snooze)
	}
	return nil
}

// ReceiptWorker applies the sandbox's simulated delivery receipts.
type ReceiptWorker struct {
	river.WorkerDefaults[campaigns.ReceiptArgs]
	Pool      *pgxpool.Pool
	Campaigns *campaigns.Store
	Outbox    *messages.Outbox
	// Receipts tells how the sandbox decides a delivery's receipt status.
	Receipts func(ctx context.Context, workspaceID int64) (func(deliveryID int64) channels.Status, error)
}

// Work moves each delivery, and the sandbox's record of its message, forward to its receipt
// status: two statements for the whole job, in the transaction that completes it. What needs the
// pool is read before that transaction begins.
func (w *ReceiptWorker) Work(ctx context.Context, job *river.Job[campaigns.ReceiptArgs]) error {
	decide, err := w.Receipts(ctx, job.Args.WorkspaceID)
	if err != nil {
		return err
	}
	pids, err := w.Campaigns.ProviderIDs(ctx, job.Args.DeliveryIDs)
	if err != nil {
		return err
	}
	var ids []int64
	var providerIDs []string
	var statuses []channels.Status
	for _, id := range job.Args.DeliveryIDs {
		pid, ok := pids[id]
		if !ok {
			continue
		}
		ids, providerIDs, statuses = append(ids, id), append(providerIDs, pid), append(statuses, decide(id))
	}
	return pgx.BeginFunc(ctx, w.Pool, func(tx pgx.Tx) error {
		if err := w.Outbox.SetStatuses(ctx, tx, providerIDs, statuses); err != nil {
			return err
		}
		if err := w.Campaigns.ApplyStatuses(ctx, tx, job.Args.WorkspaceID, channels.KindSandbox, ids, statuses); err != nil {
			return err
		}
		return completeTx(job)(ctx, tx)
	})
}

// ProgressWorker completes finished runs.
type ProgressWorker struct {
	river.WorkerDefaults[campaigns.ProgressArgs]
	Campaigns *campaigns.Store
}

// Work completes runs with nothing left to send.
func (w *ProgressWorker) Work(ctx context.Context, job *river.Job[campaigns.ProgressArgs]) error {
	_, err := w.Campaigns.Progress(ctx)
	return err
}
