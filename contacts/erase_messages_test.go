package contacts_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

func sandboxAddr(v string) contacts.IdentityInput {
	return contacts.IdentityInput{Kind: "sandbox", Value: v}
}

// ciphertexts returns, in hex as a dump prints bytea, the encrypted columns of the rows query
// selects, so a test can check that the rows themselves are gone and not only their plain text.
func (e *env) ciphertexts(t *testing.T, query string, args ...any) []string {
	t.Helper()
	rows, err := e.pool.Query(e.ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b []byte
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, hex.EncodeToString(a), hex.EncodeToString(b))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(e.ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEraseRemovesTheirMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox, outbox := messages.NewInbox(e.pool, e.keys), messages.NewOutbox(e.pool, e.keys)
	hana := e.create(t, "Hana Tesfaye", sms("+251911234567"), sandboxAddr("hana-sandbox-7"))
	other := e.create(t, "Someone Else", sms("+251911234568"), sandboxAddr("other-sandbox-8"))
	elsewhere, err := workspaces.NewStore(e.pool).Create(e.ctx, "Elsewhere NGO", "ET")
	if err != nil {
		t.Fatal(err)
	}

	const (
		hanaSandboxText = "I was promised a job in Beirut"
		hanaSMSText     = "They took my passport"
		hanaOldText     = "Written from a number since removed"
		hanaOutboxText  = "Hana, the hotline will call you at 10"
		hanaAnswerText  = "Keep your passport with you"
		otherInText     = "Where is the office in Addis?"
		otherOutText    = "The office opens at nine"
	)
	store := func(ws int64, kind channels.Kind, providerID, from, text string) int64 {
		t.Helper()
		id, dup, err := inbox.Store(e.ctx, e.pool, ws, kind, providerID, from, text)
		if err != nil || dup {
			t.Fatalf("store inbound from %s: %v (duplicate %v)", from, err, dup)
		}
		return id
	}
	store(e.ws.ID, channels.KindSandbox, "", " hana-sandbox-7 ", hanaSandboxText)
	hanaSMSIn := store(e.ws.ID, channels.KindSMS, "SM0001", "+251911234567", hanaSMSText)
	// A message linked to Hana from an address she no longer has.
	linked := store(e.ws.ID, channels.KindSMS, "SM0002", "+251911000000", hanaOldText)
	if _, err := e.pool.Exec(e.ctx, `UPDATE inbound_messages SET contact_id = $1 WHERE id = $2`, hana.ID, linked); err != nil {
		t.Fatal(err)
	}
	otherSandboxIn := store(e.ws.ID, channels.KindSandbox, "", "other-sandbox-8", otherInText)
	otherSMSIn := store(e.ws.ID, channels.KindSMS, "SM0003", "+251911234568", otherInText)
	// The same number writing to another workspace is that workspace's business.
	elsewhereIn := store(elsewhere.ID, channels.KindSMS, "SM0001", "+251911234567", hanaSMSText)

	// The answers Waymark sent: to Hana's message, and to the other contact's.
	answer := func(messageID, contactID int64, text string) {
		t.Helper()
		if _, err := inbox.AddReply(e.ctx, e.pool, e.ws.ID, messages.Reply{MessageID: messageID, ContactID: contactID,
			Kind: channels.KindSMS, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	answer(hanaSMSIn, hana.ID, hanaAnswerText)
	answer(otherSMSIn, other.ID, otherOutText)

	record := func(ws int64, to, text string) {
		t.Helper()
		if _, err := outbox.Record(e.ctx, e.pool, ws, nil, channels.Message{To: to, Text: text, Language: "am", Segments: 1}); err != nil {
			t.Fatal(err)
		}
	}
	record(e.ws.ID, "hana-sandbox-7", hanaOutboxText)
	record(e.ws.ID, "hana-sandbox-7", hanaOutboxText+" (reminder)")
	record(e.ws.ID, "other-sandbox-8", otherOutText)
	record(elsewhere.ID, "hana-sandbox-7", hanaOutboxText)

	var campaignID, hanaDelivery, otherDelivery int64
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO campaigns (workspace_id, name) VALUES ($1, 'Safe routes') RETURNING id`,
		e.ws.ID).Scan(&campaignID); err != nil {
		t.Fatal(err)
	}
	insertDelivery := func(contactID int64) int64 {
		t.Helper()
		var id int64
		if err := e.pool.QueryRow(e.ctx, `INSERT INTO deliveries (workspace_id, campaign_id, contact_id, channel_kind, language,
			status, status_rank, provider_id, segments) VALUES ($1, $2, $3, 'sandbox', 'am', 'delivered', 40, 'SB1', 1) RETURNING id`,
			e.ws.ID, campaignID, contactID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	hanaDelivery, otherDelivery = insertDelivery(hana.ID), insertDelivery(other.ID)

	hanaRows := e.ciphertexts(t, `SELECT from_enc, text_enc FROM inbound_messages WHERE workspace_id = $1 AND id NOT IN ($2, $3)`,
		e.ws.ID, otherSandboxIn, otherSMSIn)
	hanaRows = append(hanaRows, e.ciphertexts(t, `SELECT to_enc, text_enc FROM sandbox_messages WHERE workspace_id = $1 AND to_index = $2`,
		e.ws.ID, e.keys.BlindIndex("sandbox", "hana-sandbox-7"))...)
	hanaRows = append(hanaRows, e.ciphertexts(t, `SELECT text_enc, text_enc FROM replies WHERE contact_id = $1`, hana.ID)...)
	if len(hanaRows) != 12 {
		t.Fatalf("found %d ciphertexts of Hana's messages, want 12 (3 inbound, 2 outbox and 1 answer rows)", len(hanaRows))
	}
	before := e.dump(t)
	for _, c := range hanaRows {
		if !strings.Contains(before, c) {
			t.Fatal("the dump does not show stored ciphertexts; the check after erasure would prove nothing")
		}
	}

	if err := e.store.Erase(e.ctx, e.ws.ID, hana.ID, actor); err != nil {
		t.Fatal(err)
	}

	if n := e.count(t, `SELECT count(*) FROM inbound_messages WHERE workspace_id = $1`, e.ws.ID); n != 2 {
		t.Fatalf("%d inbound messages left in the workspace, want the other contact's 2", n)
	}
	for _, id := range []int64{otherSandboxIn, otherSMSIn} {
		m, err := inbox.Get(e.ctx, e.ws.ID, id)
		if err != nil || m.Text != otherInText {
			t.Fatalf("the other contact's message %d: %+v, %v", id, m, err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM replies WHERE workspace_id = $1`, e.ws.ID); n != 1 {
		t.Fatalf("%d answers left in the workspace, want the other contact's 1", n)
	}
	if got, err := inbox.Replies(e.ctx, e.ws.ID, otherSMSIn); err != nil || len(got) != 1 || got[0].Text != otherOutText {
		t.Fatalf("the answer to the other contact: %+v, %v", got, err)
	}
	if _, err := inbox.Get(e.ctx, e.ws.ID, linked); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("the message linked to Hana survived: %v", err)
	}
	if m, err := inbox.Get(e.ctx, elsewhere.ID, elsewhereIn); err != nil || m.Text != hanaSMSText {
		t.Fatalf("erasure in one workspace removed another's message: %+v, %v", m, err)
	}
	if got, err := outbox.List(e.ctx, e.ws.ID, "hana-sandbox-7", 0); err != nil || len(got) != 0 {
		t.Fatalf("Hana's outbox after erasure: %+v, %v", got, err)
	}
	if got, err := outbox.List(e.ctx, e.ws.ID, "other-sandbox-8", 0); err != nil || len(got) != 1 || got[0].Text != otherOutText {
		t.Fatalf("the other contact's outbox: %+v, %v", got, err)
	}
	if got, err := outbox.List(e.ctx, elsewhere.ID, "hana-sandbox-7", 0); err != nil || len(got) != 1 {
		t.Fatalf("the other workspace's outbox: %+v, %v", got, err)
	}

	// Deliveries stay as anonymous evidence.
	var contactID *int64
	var status, language string
	if err := e.pool.QueryRow(e.ctx, `SELECT contact_id, status, language FROM deliveries WHERE id = $1`, hanaDelivery).
		Scan(&contactID, &status, &language); err != nil {
		t.Fatalf("Hana's delivery row is gone: %v", err)
	}
	if contactID != nil || status != "delivered" || language != "am" {
		t.Fatalf("Hana's delivery: contact %v, %s, %s; want no contact, delivered, am", contactID, status, language)
	}
	if err := e.pool.QueryRow(e.ctx, `SELECT contact_id FROM deliveries WHERE id = $1`, otherDelivery).Scan(&contactID); err != nil ||
		contactID == nil || *contactID != other.ID {
		t.Fatalf("the other delivery's contact: %v, %v", contactID, err)
	}

	e.assertNowhere(t, "Hana Tesfaye", "911234567", "hana-sandbox-7",
		hanaSandboxText, hanaSMSText, hanaOldText, hanaOutboxText, hanaAnswerText)
	after := e.dump(t)
	for _, c := range hanaRows {
		if strings.Contains(after, c) {
			t.Fatal("a ciphertext of Hana's messages is still stored")
		}
	}
}
