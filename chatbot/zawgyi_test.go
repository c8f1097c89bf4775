package chatbot_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
)

// A Burmese STOP typed on a Zawgyi keyboard is stored as the Unicode it means and applied at once,
// like any other STOP.
func TestZawgyiStopStoredAsUnicodeAndApplied(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	const from = "+959700000001"
	person := c.person(from, "my")
	var id int64
	if err := pgx.BeginFunc(c.ctx, c.pool, func(tx pgx.Tx) error {
		var err error
		id, _, err = c.h.Store.Receive(c.ctx, tx, c.inbox, c.cs, nil, c.ws,
			channels.Inbound{Kind: channels.KindSandbox, From: from, Text: "\u101B\u1015\u1039"}) // Zawgyi ရပ္
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m, err := c.inbox.Get(c.ctx, c.ws.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "\u101B\u1015\u103A" { // Unicode ရပ်
		t.Fatalf("stored %q, want the Unicode ရပ်", m.Text)
	}
	if got := c.ledger(person); len(got) != 1 || got[0] != "opt_out/keyword" {
		t.Fatalf("ledger after a Zawgyi STOP: %v", got)
	}
}
