package campaigns

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/campaigns/internal/dbq"
	"github.com/waymark-org/waymark/channels"
)

// Progress completes the runs that have nothing left to send: a one-off campaign becomes
// completed, a recurring one is scheduled for its next run. It returns how many runs ended.
func (s *Store) Progress(ctx context.Context) (int, error) {
	runs, err := s.q.RunsSending(ctx)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, r := range runs {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			q := s.q.WithTx(tx)
			row, err := q.CampaignLock(ctx, r.CampaignID)
			if err != nil {
				return err
			}
			run, err := q.RunLock(ctx, r.ID)
			if err != nil || run.State != "sending" {
				return err
			}
			if err := q.RunFinish(ctx, dbq.RunFinishParams{ID: r.ID, State: "completed"}); err != nil {
				return err
			}
			c, err := fromRow(row)
			if err != nil {
				return err
			}
			if c.State != StateSending {
				return nil
			}
			if c.Schedule.Recurring() {
				if next, ok := c.Schedule.Next(time.Now()); ok {
					return s.scheduleStart(ctx, tx, q, &c, next)
				}
			}
			return q.CampaignSetState(ctx, dbq.CampaignSetStateParams{ID: c.ID, State: StateCompleted})
		})
		if err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// ApplyStatus moves the delivery of the workspace that a provider calls providerID forward to
// status (a callback arrives on one workspace's channel and can touch nothing else); a callback that
// arrives late or twice and ranks lower changes nothing. It reports whether anything changed.
func (s *Store) ApplyStatus(ctx context.Context, db dbq.DBTX, workspaceID int64, kind channels.Kind, providerID string, status channels.Status, code string) (bool, error) {
	rank := status.Rank()
	if rank == 0 {
		return false, nil
	}
	_, err := dbq.New(db).DeliveryStatusByProvider(ctx, dbq.DeliveryStatusByProviderParams{WorkspaceID: workspaceID,
		ChannelKind: string(kind), ProviderID: &providerID, Status: string(status), StatusRank: int16(rank),
		ErrorCode: code, Final: status.Final()})
	if errors.Is(err, pgx.ErrNoRows) {
		// Unknown provider id, or a status that ranks no higher than the one recorded.
		return false, nil
	}
	return err == nil, err
}

// ApplyStatuses is ApplyStatus for many sent deliveries of one workspace and channel kind at
// once, named by delivery id: the sandbox's receipts for one send job. Forward only.
func (s *Store) ApplyStatuses(ctx context.Context, db dbq.DBTX, workspaceID int64, kind channels.Kind, ids []int64, statuses []channels.Status) error {
	p := dbq.DeliveriesStatusBatchParams{WorkspaceID: workspaceID, ChannelKind: string(kind)}
	for i, id := range ids {
		rank := statuses[i].Rank()
		if rank == 0 {
			continue
		}
		p.Ids = append(p.Ids, id)
		p.Statuses = append(p.Statuses, string(statuses[i]))
		p.StatusRanks = append(p.StatusRanks, int16(rank))
		p.Finals = append(p.Finals, statuses[i].Final())
	}
	if len(p.Ids) == 0 {
		return nil
	}
	return dbq.New(db).DeliveriesStatusBatch(ctx, p)
}

// ProviderIDs returns the provider ids of sent deliveries, for receipts.
func (s *Store) ProviderIDs(ctx context.Context, ids []int64) (map[int64]string, error) {
	rows, err := s.q.DeliveryProvider(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = *r.ProviderID
	}
	return out, nil
}

// ApplyStatusForDelivery is ApplyStatus for a callback that names the delivery it is about, so it
// also works when it overtakes the commit that records the provider's id.
func (s *Store) ApplyStatusForDelivery(ctx context.Context, db dbq.DBTX, workspaceID int64, kind channels.Kind, deliveryID int64, providerID string, status channels.Status, code string) (bool, error) {
	rank := status.Rank()
	if rank == 0 || providerID == "" {
		return false, nil
	}
	_, err := dbq.New(db).DeliveryStatusByID(ctx, dbq.DeliveryStatusByIDParams{ID: deliveryID, WorkspaceID: workspaceID, ChannelKind: string(kind),
		ProviderID: providerID, Status: string(status), StatusRank: int16(rank), ErrorCode: code, Final: status.Final()})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
