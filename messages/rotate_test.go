package messages_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages"
)

// rotationFixture is one conversation stored under the old key: an inbound message, its answer
// and a message the sandbox sent.
type rotationFixture struct {
	msg, reply           int64
	kind                 channels.Kind
	from, text, answer   string
	buttons              [][]messages.Button
	outID, outTo, outMsg string
}

// TestKeyRotationWhileReading rotates every encrypted column of this package, two values at a
// time, while the messages are read and written as a running install does. Under the ring with
// both keys every message reads back as written: between each batch's read and its write, from
// another goroutine throughout, and afterwards. Status changes and new messages written meanwhile
// are kept; afterwards every value is under the new key, the old key alone no longer reads them,
// and a second run has nothing to do.
func TestKeyRotationWhileReading(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, ws := e.ctx, e.ws.ID
	entry1, err := pii.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	entry2, err := pii.GenerateKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	oldRing, err := pii.ParseKeyring(entry1)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := pii.ParseKeyring(entry1 + "," + entry2)
	if err != nil {
		t.Fatal(err)
	}
	oldInbox, oldOutbox := messages.NewInbox(e.pool, oldRing), messages.NewOutbox(e.pool, oldRing)
	inbox, outbox := messages.NewInbox(e.pool, ring), messages.NewOutbox(e.pool, ring)

	kinds := []channels.Kind{channels.KindSMS, channels.KindTelegram, channels.KindSandbox}
	froms := []string{"+2547000000%02d", "50000000%02d", "person-%d"}
	var all []*rotationFixture
	for i := range 9 {
		f := &rotationFixture{kind: kinds[i%3], from: fmt.Sprintf(froms[i%3], i), text: fmt.Sprintf("ጤና ይስጥልኝ %d", i),
			answer: fmt.Sprintf("answer %d", i), outTo: fmt.Sprintf("sandbox-%d", i), outMsg: fmt.Sprintf("የመንገድ መረጃ %d", i)}
		if i%2 == 0 {
			f.buttons = [][]messages.Button{{{Text: fmt.Sprintf("button %d", i), Data: "help"}}}
		}
		if f.msg, _, err = oldInbox.Store(ctx, e.pool, ws, f.kind, fmt.Sprintf("p%d", i), f.from, f.text); err != nil {
			t.Fatal(err)
		}
		if f.reply, err = oldInbox.AddReply(ctx, e.pool, ws, messages.Reply{MessageID: f.msg, ContactID: e.contact(t, ws),
			Kind: f.kind, Text: f.answer, Buttons: f.buttons}); err != nil {
			t.Fatal(err)
		}
		if f.outID, err = oldOutbox.Record(ctx, e.pool, ws, nil, channels.Message{To: f.outTo, Text: f.outMsg, Language: "am"}); err != nil {
			t.Fatal(err)
		}
		all = append(all, f)
	}

	// check reads every fixture under the ring with both keys. sent holds the answers and sandbox
	// messages whose status was moved during the rotation.
	var mu sync.Mutex
	sent := map[*rotationFixture]bool{}
	check := func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range all {
			m, err := inbox.Get(ctx, ws, f.msg)
			if err != nil || m.From != f.from || m.Text != f.text {
				return fmt.Errorf("inbound message %d: %+v, %v", f.msg, m, err)
			}
			rs, err := inbox.Replies(ctx, ws, f.msg)
			if err != nil || len(rs) != 1 || rs[0].Text != f.answer || !reflect.DeepEqual(rs[0].Buttons, f.buttons) ||
				(rs[0].Status == messages.ReplySent) != sent[f] {
				return fmt.Errorf("answer to %d: %+v, %v", f.msg, rs, err)
			}
			out, err := outbox.List(ctx, ws, f.outTo, 0)
			if err != nil || len(out) != 1 || out[0].To != f.outTo || out[0].Text != f.outMsg ||
				(out[0].Status == channels.StatusDelivered) != sent[f] {
				return fmt.Errorf("sandbox message to %s: %+v, %v", f.outTo, out, err)
			}
		}
		return nil
	}
	if err := check(); err != nil {
		t.Fatalf("before rotation: %v", err)
	}

	// A reader in another goroutine, for as long as the rotation runs.
	done := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-done:
				readerErr <- nil
				return
			default:
			}
			if err := check(); err != nil {
				readerErr <- err
				return
			}
		}
	}()

	// Between each batch's read and its write: read everything, move a status, take a message in.
	next, added := 0, 0
	duringBatch := func() {
		if err := check(); err != nil {
			t.Errorf("during rotation: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if next < len(all) {
			f := all[next]
			next++
			if ok, err := inbox.MarkReplySent(ctx, e.pool, ws, f.reply, "provider-"+f.outID); err != nil || !ok {
				t.Errorf("mark answer sent during rotation: %v %v", ok, err)
			}
			if ok, err := outbox.SetStatus(ctx, e.pool, f.outID, channels.StatusDelivered); err != nil || !ok {
				t.Errorf("sandbox receipt during rotation: %v %v", ok, err)
			}
			sent[f] = true
		}
		if _, _, err := inbox.Store(ctx, e.pool, ws, channels.KindSandbox, "", "newcomer", "written during rotation"); err != nil {
			t.Errorf("store during rotation: %v", err)
		}
		added++
	}

	want := map[string]int64{"inbound_messages.from_enc": 9, "inbound_messages.text_enc": 9, "replies.text_enc": 9,
		"replies.buttons_enc": 5, "sandbox_messages.to_enc": 9, "sandbox_messages.text_enc": 9}
	for _, col := range messages.EncryptedColumns(e.pool) {
		stale := col.Stale
		col.Stale = func(ctx context.Context, header []byte, after int64, limit int) ([]pii.Sealed, error) {
			rows, err := stale(ctx, header, after, limit)
			if len(rows) > 0 {
				duringBatch()
			}
			return rows, err
		}
		rep, err := pii.RotateColumn(ctx, ring, col, 2)
		name := rep.Table + "." + rep.Column
		if err != nil || rep.Resealed != want[name] || rep.Remaining != 0 {
			t.Fatalf("%s: %+v %v, want %d re-encrypted and none remaining", name, rep, err, want[name])
		}
		delete(want, name)
	}
	close(done)
	if err := <-readerErr; err != nil {
		t.Fatalf("concurrent reader: %v", err)
	}
	if len(want) != 0 {
		t.Fatalf("columns not rotated: %v", want)
	}
	if next != len(all) || added == 0 {
		t.Fatalf("only %d status changes and %d new messages happened during the rotation", next, added)
	}
	if err := check(); err != nil {
		t.Fatalf("after rotation: %v", err)
	}

	for _, q := range []string{`SELECT from_enc FROM inbound_messages UNION ALL SELECT text_enc FROM inbound_messages`,
		`SELECT text_enc FROM replies UNION ALL SELECT buttons_enc FROM replies WHERE buttons_enc IS NOT NULL`,
		`SELECT to_enc FROM sandbox_messages UNION ALL SELECT text_enc FROM sandbox_messages`} {
		rows, err := e.pool.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			if id, err := pii.KeyIDOf(b); err != nil || id != "k2" {
				t.Errorf("%s: a value under %q (%v)", q, id, err)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("%s: no values; the check proves nothing", q)
		}
	}
	if _, err := oldInbox.Get(ctx, ws, all[0].msg); !errors.Is(err, pii.ErrUnknownKey) {
		t.Fatalf("the old key alone reads a rotated message: %v", err)
	}
	for _, col := range messages.EncryptedColumns(e.pool) {
		if rep, err := pii.RotateColumn(ctx, ring, col, 2); err != nil || rep.Resealed != 0 || rep.Remaining != 0 {
			t.Fatalf("second run: %+v %v", rep, err)
		}
	}
}
