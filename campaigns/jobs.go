package campaigns

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymark-org/waymark/channels"
)

// Queues. Each channel kind has its own campaign queue, and alerts and replies will have theirs,
// so urgent traffic never waits behind a bulk campaign: River's priorities alone would not do it,
// because a backlog of high-priority jobs starves the rest.
const (
	QueueFanout      = "fanout"
	QueueMaintenance = "maintenance"
)

// SendQueue is the campaign queue of a channel kind.
func SendQueue(k channels.Kind) string { return "campaign_" + string(k) }

// JobInserter is the part of River's client that the domain uses: enqueueing jobs inside the
// caller's transaction, so a job exists if and only if the rows it acts on commit.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertManyFastTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) (int, error)
}

// StartArgs starts a run of a scheduled campaign at its time.
type StartArgs struct {
	CampaignID int64 `json:"campaign_id"`
}

// Kind is stored in River; never rename it.
func (StartArgs) Kind() string { return "campaign_start" }

// InsertOpts puts starts on the fan-out queue.
func (StartArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueFanout} }

// FanoutArgs writes the deliveries of a run, batch by batch, resuming from the run's cursor.
type FanoutArgs struct {
	RunID int64 `json:"run_id"`
}

// Kind is stored in River; never rename it.
func (FanoutArgs) Kind() string { return "campaign_fanout" }

// InsertOpts puts fan-outs on their own queue.
func (FanoutArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueFanout} }

// SendArgs sends a group of deliveries of one run over one channel kind. A job carries many
// deliveries so that dispatch is not bound by River's per-job overhead.
type SendArgs struct {
	RunID       int64         `json:"run_id"`
	Channel     channels.Kind `json:"channel"`
	DeliveryIDs []int64       `json:"delivery_ids"`
}

// Kind is stored in River; never rename it.
func (SendArgs) Kind() string { return "campaign_send" }

// ReceiptArgs delivers the sandbox's simulated delivery receipts, through the same forward-only
// status path a provider's callback takes.
type ReceiptArgs struct {
	WorkspaceID int64   `json:"workspace_id"`
	DeliveryIDs []int64 `json:"delivery_ids"`
}

// Kind is stored in River; never rename it.
func (ReceiptArgs) Kind() string { return "sandbox_receipt" }

// InsertOpts puts receipts on the sandbox's queue.
func (ReceiptArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: SendQueue(channels.KindSandbox)}
}

// ProgressArgs completes runs that have nothing left to send and schedules recurring campaigns'
// next runs.
type ProgressArgs struct{}

// Kind is stored in River; never rename it.
func (ProgressArgs) Kind() string { return "campaign_progress" }

// ProgressInterval is how often runs are checked for completion.
const ProgressInterval = 2 * time.Second

// InsertOpts keeps one progress check per interval, whichever process leads.
func (ProgressArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: river.UniqueOpts{ByPeriod: ProgressInterval}}
}

// sendJob builds the insert parameters of a send job scheduled at notBefore.
func sendJob(runID int64, kind channels.Kind, ids []int64, notBefore time.Time) river.InsertManyParams {
	opts := &river.InsertOpts{Queue: SendQueue(kind), MaxAttempts: 10}
	if notBefore.After(time.Now()) {
		opts.ScheduledAt = notBefore
	}
	return river.InsertManyParams{Args: SendArgs{RunID: runID, Channel: kind, DeliveryIDs: ids}, InsertOpts: opts}
}
