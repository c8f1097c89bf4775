package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/workspaces"
)

// AuditPruneArgs asks for audit entries past each workspace's retention to be deleted.
type AuditPruneArgs struct{}

// Kind is the job kind stored in River; never rename it.
func (AuditPruneArgs) Kind() string { return "audit_prune" }

// InsertOpts puts the job on the maintenance queue and keeps one per hour, since the periodic
// schedule runs on whichever process leads and may enqueue again after a leader change.
func (AuditPruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// AuditPruneWorker deletes expired audit entries. Deleting what is already gone changes
// nothing, so running twice is harmless.
type AuditPruneWorker struct {
	river.WorkerDefaults[AuditPruneArgs]
	Workspaces *workspaces.Store
	Logger     *slog.Logger
}

// Work prunes and logs how many entries went.
func (w *AuditPruneWorker) Work(ctx context.Context, job *river.Job[AuditPruneArgs]) error {
	n, err := w.Workspaces.PruneAudit(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.Logger.Info("pruned audit entries past retention", "deleted", n)
	}
	return nil
}
