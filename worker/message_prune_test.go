package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// TestMessagePruneKeepsWhatRetentionKeeps gives three workspaces different message retentions
// and each the same conversation at several ages (an inbound message, its answer, a sandbox
// outbox entry): a run deletes, in batches smaller than the backlog, exactly what is older than
// each workspace's own retention, and leaves the consent ledger and talk requests in place.
func TestMessagePruneKeepsWhatRetentionKeeps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	entry, _ := pii.GenerateKey("k1")
	keys, _ := pii.ParseKeyring(entry)
	store := workspaces.NewStore(pool)
	inbox, outbox, cs := messages.NewInbox(pool, keys), messages.NewOutbox(pool, keys), contacts.NewStore(pool, keys)

	ages := []int{3, 10, 100, 400} // days
	retentions := map[string]int{"a week": 7, "the default": 0, "a year": 365}
	kept := map[string]int{"a week": 1, "the default": 2, "a year": 3}
	type seeded struct {
		ws      workspaces.Workspace
		contact int64
		oldest  int64 // the 400-day-old message
	}
	all := map[string]seeded{}
	for name, days := range retentions {
		ws, err := store.Create(ctx, name, "KE")
		if err != nil {
			t.Fatal(err)
		}
		if days > 0 {
			st := workspaces.SettingsOf(ws)
			st.MessageRetentionDays = days
			if ws, err = store.UpdateSettings(ctx, ws.ID, st, workspaces.SystemActor); err != nil {
				t.Fatal(err)
			}
		} else if ws.MessageRetentionDays != workspaces.DefaultMessageRetentionDays {
			t.Fatalf("a new workspace keeps messages %d days, want %d", ws.MessageRetentionDays, workspaces.DefaultMessageRetentionDays)
		}
		const from = "+254700000500"
		c, err := cs.Create(ctx, ws, contacts.NewContact{
			Identities: []contacts.IdentityInput{{Kind: "sandbox", Value: from}},
			Consent:    []contacts.ConsentInput{{Channel: "sandbox", Status: contacts.StatusOptIn}},
		}, contacts.SourceAPI, workspaces.SystemActor)
		if err != nil {
			t.Fatal(err)
		}
		s := seeded{ws: ws, contact: c.ID}
		for _, age := range ages {
			id, _, err := inbox.Store(ctx, pool, ws.ID, channels.KindSandbox, "", from, fmt.Sprintf("message %d days old", age))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := inbox.AddReply(ctx, pool, ws.ID, messages.Reply{MessageID: id, ContactID: c.ID, Kind: channels.KindSandbox, Text: "answer"}); err != nil {
				t.Fatal(err)
			}
			if _, err := outbox.Record(ctx, pool, ws.ID, nil, channels.Message{To: from, Text: "campaign text", Language: "en", Segments: 1}); err != nil {
				t.Fatal(err)
			}
			ago := fmt.Sprintf("%d days", age)
			for _, q := range []string{
				`UPDATE inbound_messages SET received_at = now() - $2::interval, handled_at = now() - $2::interval WHERE id = $1`,
				`UPDATE replies SET created_at = now() - $2::interval WHERE message_id = $1`,
				`UPDATE sandbox_messages SET sent_at = now() - $2::interval WHERE id = (SELECT max(s.id) FROM sandbox_messages s
					JOIN inbound_messages m ON m.workspace_id = s.workspace_id WHERE m.id = $1)`,
			} {
				if _, err := pool.Exec(ctx, q, id, ago); err != nil {
					t.Fatal(err)
				}
			}
			s.oldest = id
		}
		if _, err := pool.Exec(ctx, `INSERT INTO talk_requests (workspace_id, contact_id, channel_kind, message_id) VALUES ($1, $2, 'sandbox', $3)`,
			ws.ID, c.ID, s.oldest); err != nil {
			t.Fatal(err)
		}
		all[name] = s
	}

	w := &worker.MessagePruneWorker{Workspaces: store, Messages: messages.NewRetention(pool), Logger: slog.New(slog.DiscardHandler)}
	tw := rivertest.NewWorker(t, riverpgxv5.New(pool), &river.Config{}, w)
	work := func() {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		res, err := tw.Work(ctx, t, tx, worker.MessagePruneArgs{}, nil)
		if err != nil || res.EventKind != river.EventKindJobCompleted {
			t.Fatalf("work: %v %+v", err, res)
		}
	}
	count := func(table, column string, ws int64) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE workspace_id = $1 AND `+column+` < now() - interval '1 day'`, ws).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A run out of time stops before its first batch and still completes: the next run goes on.
	w.Budget = time.Nanosecond
	work()
	for name, s := range all {
		if got := count("inbound_messages", "received_at", s.ws.ID); got != len(ages) {
			t.Fatalf("%s: a run with no time left deleted messages (%d of %d left)", name, got, len(ages))
		}
	}

	// Batches of one: the backlog takes several statements, each its own short transaction.
	w.Budget, w.BatchSize = 0, 1
	for range 2 { // the second run finds nothing more to delete
		work()
	}
	for name, s := range all {
		for table, column := range map[string]string{"inbound_messages": "received_at", "replies": "created_at", "sandbox_messages": "sent_at"} {
			if got := count(table, column, s.ws.ID); got != kept[name] {
				t.Errorf("%s (%d days): %d rows of %s left, want %d", name, s.ws.MessageRetentionDays, got, table, kept[name])
			}
		}
		var consent, talks, linked int
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM consent_events WHERE workspace_id = $1),
				(SELECT count(*) FROM talk_requests WHERE workspace_id = $1),
				(SELECT count(*) FROM talk_requests WHERE workspace_id = $1 AND message_id IS NOT NULL)`, s.ws.ID).Scan(&consent, &talks, &linked); err != nil {
			t.Fatal(err)
		}
		if consent != 1 || talks != 1 || linked != 0 {
			t.Errorf("%s: consent rows %d, talk requests %d (%d linked): want the ledger row and the request kept, unlinked", name, consent, talks, linked)
		}
		if _, err := inbox.Get(ctx, s.ws.ID, s.oldest); err == nil {
			t.Errorf("%s: the oldest message is still readable", name)
		}
	}
}
