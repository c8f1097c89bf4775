package messages

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// reserveBlock is how many outbox row ids one round trip reserves for batch recorders.
const reserveBlock = 256

// idReserve hands out outbox row ids reserved from the table's sequence, a block at a time.
type idReserve struct {
	mu  sync.Mutex
	ids []int64
}

func (o *Outbox) nextID(ctx context.Context) (int64, error) {
	r := &o.reserve
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) == 0 {
		ids, err := o.q.OutboxReserveIDs(ctx, reserveBlock)
		if err != nil {
			return 0, fmt.Errorf("reserve sandbox message ids: %w", err)
		}
		r.ids = ids
	}
	id := r.ids[0]
	r.ids = r.ids[1:]
	return id, nil
}

// BatchRecorder records a send job's sandbox messages in memory and writes them all in one
// statement through the transaction that records the job's results (CommitTx). The outbox then
// holds a message exactly when its delivery says it went, and a job of fifty messages costs one
// insert instead of fifty commits. Each message still gets its provider id when it is sent: row
// ids are reserved ahead. Record is safe for concurrent use.
type BatchRecorder struct {
	outbox      *Outbox
	workspaceID int64
	campaignID  *int64

	mu   sync.Mutex
	rows dbq.OutboxInsertBatchParams
}

// BatchRecorder returns a recorder for one send job of workspaceID (and campaignID, if any).
func (o *Outbox) BatchRecorder(workspaceID int64, campaignID *int64) *BatchRecorder {
	return &BatchRecorder{outbox: o, workspaceID: workspaceID, campaignID: campaignID}
}

// Record keeps m for CommitTx and returns its provider id.
func (r *BatchRecorder) Record(ctx context.Context, m channels.Message) (providerID string, err error) {
	sm, err := r.outbox.seal(m)
	if err != nil {
		return "", err
	}
	id, err := r.outbox.nextID(ctx)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.rows
	b.Ids = append(b.Ids, id)
	b.DeliveryIds = append(b.DeliveryIds, m.DeliveryID)
	b.ToEncs = append(b.ToEncs, sm.toEnc)
	b.ToIndexes = append(b.ToIndexes, sm.toIndex)
	b.TextEncs = append(b.TextEncs, sm.textEnc)
	b.Languages = append(b.Languages, m.Language)
	b.Segments = append(b.Segments, sm.segments)
	b.SentAts = append(b.SentAts, time.Now())
	return OutboxProviderID(id), nil
}

// CommitTx writes the recorded messages through tx and forgets them. A transaction that then
// rolls back takes them with it, as it takes the deliveries' "sent".
func (r *BatchRecorder) CommitTx(ctx context.Context, tx pgx.Tx) error {
	r.mu.Lock()
	rows := r.rows
	r.rows = dbq.OutboxInsertBatchParams{}
	r.mu.Unlock()
	if len(rows.Ids) == 0 {
		return nil
	}
	rows.WorkspaceID, rows.CampaignID = r.workspaceID, r.campaignID
	if err := dbq.New(tx).OutboxInsertBatch(ctx, rows); err != nil {
		return fmt.Errorf("record sandbox messages: %w", err)
	}
	return nil
}

// SetStatuses is SetStatus for many messages at once, through db: the receipts of one send job.
// Ids that are not the sandbox's, and statuses that do not move a message forward, change nothing.
func (o *Outbox) SetStatuses(ctx context.Context, db DBTX, providerIDs []string, statuses []channels.Status) error {
	var p dbq.OutboxSetStatusesParams
	for i, pid := range providerIDs {
		id, ok := parseOutboxProviderID(pid)
		rank := statuses[i].Rank()
		if !ok || rank == 0 {
			continue
		}
		p.Ids = append(p.Ids, id)
		p.Statuses = append(p.Statuses, string(statuses[i]))
		p.StatusRanks = append(p.StatusRanks, int16(rank))
	}
	if len(p.Ids) == 0 {
		return nil
	}
	return dbq.New(db).OutboxSetStatuses(ctx, p)
}
