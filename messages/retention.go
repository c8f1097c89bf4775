package messages

import (
	"context"
	"fmt"
	"math"

	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// Retention deletes stored messages once they are older than their workspace keeps them: inbound
// messages with the answers to them, and the sandbox's outbox. It deletes in batches, each one
// statement and so its own short transaction on a pool, so that a large backlog never holds one
// long transaction or lock. Deliveries, the consent ledger, suppressions and talk requests hold
// no message text and are left alone (a talk request only loses its link to the message).
type Retention struct {
	q *dbq.Queries
}

// NewRetention returns a Retention that deletes on db, normally the pool.
func NewRetention(db DBTX) *Retention {
	return &Retention{q: dbq.New(db)}
}

// PruneInbound deletes up to max of workspaceID's inbound messages received more than days ago,
// oldest first, with the answers to them, and says how many messages and answers went. Fewer
// than max messages means none older is left, except any a handling job held at that moment.
func (r *Retention) PruneInbound(ctx context.Context, workspaceID int64, days, max int) (messages, answers int64, err error) {
	if err := checkPruneArgs(days, max); err != nil {
		return 0, 0, err
	}
	row, err := r.q.InboundPrune(ctx, dbq.InboundPruneParams{WorkspaceID: workspaceID, Days: int32(days), MaxRows: int32(max)})
	if err != nil {
		return 0, 0, fmt.Errorf("prune inbound messages: %w", err)
	}
	return row.Messages, row.Answers, nil
}

// PruneOutbox deletes up to max of the messages workspaceID's sandbox sent more than days ago,
// oldest first, and says how many went.
func (r *Retention) PruneOutbox(ctx context.Context, workspaceID int64, days, max int) (int64, error) {
	if err := checkPruneArgs(days, max); err != nil {
		return 0, err
	}
	n, err := r.q.OutboxPrune(ctx, dbq.OutboxPruneParams{WorkspaceID: workspaceID, Days: int32(days), MaxRows: int32(max)})
	if err != nil {
		return 0, fmt.Errorf("prune sandbox outbox: %w", err)
	}
	return n, nil
}

// checkPruneArgs refuses a retention that would delete today's messages, and a batch size that
// is no batch: both are programming errors, since workspaces validate the setting.
func checkPruneArgs(days, max int) error {
	if days < 1 || days > math.MaxInt32 {
		return fmt.Errorf("prune messages: retention of %d days, want at least 1", days)
	}
	if max < 1 || max > math.MaxInt32 {
		return fmt.Errorf("prune messages: batch of %d rows, want at least 1", max)
	}
	return nil
}
