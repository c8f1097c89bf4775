package messages_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
)

// A batch recorder gives each message its provider id at once, writes nothing until CommitTx, and
// then writes every message of the job in the caller's transaction, encrypted like Record's.
func TestBatchRecorderWritesWithTheCallersTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var campaignID int64
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO campaigns (workspace_id, name) VALUES ($1, 'Spring') RETURNING id`,
		e.ws.ID).Scan(&campaignID); err != nil {
		t.Fatal(err)
	}
	rec := e.outbox.BatchRecorder(e.ws.ID, &campaignID)
	sb := sandbox.New(nil, sandbox.Settings{}).WithRecorder(rec)
	const n = 300 // more than one block of reserved ids
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := sb.Send(e.ctx, channels.Message{To: fmt.Sprintf("person-%d", i%3), Text: fmt.Sprintf("message %d", i), Language: "en", Segments: 1})
			if err != nil {
				t.Error(err)
			}
			ids[i] = res.ProviderID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("provider id %q missing or given twice", id)
		}
		seen[id] = true
	}
	if got, _ := e.outbox.List(e.ctx, e.ws.ID, "person-0", 0); len(got) != 0 {
		t.Fatalf("messages are in the outbox before CommitTx: %d", len(got))
	}

	// A rolled back transaction takes the messages with it.
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		if err := sb.CommitTx(e.ctx, tx); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	}); err == nil {
		t.Fatal("the transaction did not roll back")
	}
	if got, _ := e.outbox.List(e.ctx, e.ws.ID, "person-0", 0); len(got) != 0 {
		t.Fatalf("a rolled back batch is in the outbox: %d", len(got))
	}

	// CommitTx forgot the rolled back batch; record again and commit.
	for i := range n {
		res, err := sb.Send(e.ctx, channels.Message{To: fmt.Sprintf("person-%d", i%3), Text: fmt.Sprintf("message %d", i), Language: "en", Segments: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.ProviderID
	}
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return sb.CommitTx(e.ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	got, err := e.outbox.List(e.ctx, e.ws.ID, "person-1", 1000)
	if err != nil || len(got) != n/3 {
		t.Fatalf("List = %d messages, %v; want %d", len(got), err, n/3)
	}
	for j, m := range got {
		i := 1 + 3*j // recorded in order, listed oldest first
		if m.Text != fmt.Sprintf("message %d", i) || ids[i] != fmt.Sprintf("SB%d", m.ID) || m.CampaignID == nil || *m.CampaignID != campaignID ||
			m.Status != channels.StatusSent {
			t.Fatalf("outbox message %d = %+v, want message %d with provider id %s", j, m, i, ids[i])
		}
	}
	if err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error { return sb.CommitTx(e.ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM sandbox_messages WHERE workspace_id = $1`, e.ws.ID).Scan(&total); err != nil || total != n {
		t.Fatalf("the outbox holds %d messages (%v), want %d: a second CommitTx wrote again", total, err, n)
	}

	// Receipts for the whole batch in one statement, forward only.
	statuses := make([]channels.Status, n)
	for i := range statuses {
		statuses[i] = channels.StatusDelivered
	}
	if err := e.outbox.SetStatuses(e.ctx, e.pool, ids, statuses); err != nil {
		t.Fatal(err)
	}
	for i := range statuses {
		statuses[i] = channels.StatusSent
	}
	if err := e.outbox.SetStatuses(e.ctx, e.pool, append(ids, "SB0", "twilio-id"), append(statuses, channels.StatusDelivered, channels.StatusDelivered)); err != nil {
		t.Fatal(err)
	}
	got, _ = e.outbox.List(e.ctx, e.ws.ID, "person-2", 1000)
	for _, m := range got {
		if m.Status != channels.StatusDelivered {
			t.Fatalf("message %d is %s after delivered then a late sent", m.ID, m.Status)
		}
	}
}
