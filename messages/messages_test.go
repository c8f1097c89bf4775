package messages_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type env struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	keys   *pii.Keyring
	outbox *messages.Outbox
	inbox  *messages.Inbox
	ws     workspaces.Workspace
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	entry, err := pii.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pii.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspaces.NewStore(pool).Create(ctx, "Test NGO", "KE")
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx, pool, keys, messages.NewOutbox(pool, keys), messages.NewInbox(pool, keys), ws}
}

func (e *env) otherWorkspace(t *testing.T) workspaces.Workspace {
	t.Helper()
	ws, err := workspaces.NewStore(e.pool).Create(e.ctx, "Other NGO", "UG")
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// rows returns every row of table as text, bytea columns in hex as PostgreSQL prints them.
func (e *env) rows(t *testing.T, table string) string {
	t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT x::text FROM `+table+` x`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		sb.WriteString(s + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// assertNowhere fails when a plain value, or its bytes in hex, is stored in table.
func (e *env) assertNowhere(t *testing.T, table string, values ...string) {
	t.Helper()
	d := e.rows(t, table)
	if d == "" {
		t.Fatalf("%s is empty; the check proves nothing", table)
	}
	for _, v := range values {
		if strings.Contains(d, v) || strings.Contains(d, hex.EncodeToString([]byte(v))) {
			t.Fatalf("%q is stored in plain text in %s", v, table)
		}
	}
}

func TestOutboxRecordAndList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The same address written two ways: sandbox addresses are exact strings, trimmed only.
	first, err := e.outbox.Record(e.ctx, e.pool, e.ws.ID, nil,
		channels.Message{To: " +254700000001\t", Text: "Karibu", Language: "sw", Segments: 1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.outbox.Recorder(e.pool, e.ws.ID, nil).Record(e.ctx,
		channels.Message{To: "+254700000001", Text: "مرحبا", Language: "ar", Segments: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "SB") || first == second {
		t.Fatalf("provider ids %q, %q: want distinct SB ids", first, second)
	}
	for _, to := range []string{"+254700000001", "  +254700000001 \n"} {
		got, err := e.outbox.List(e.ctx, e.ws.ID, to, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("List(%q) = %d messages, want 2", to, len(got))
		}
		if fmt.Sprintf("SB%d", got[0].ID) != first || got[0].Text != "Karibu" || got[1].Text != "مرحبا" {
			t.Fatalf("List(%q) = %+v, want the Swahili message first, then the Arabic one", to, got)
		}
		for _, m := range got {
			if m.To != "+254700000001" || m.Status != channels.StatusSent || m.SentAt.IsZero() || m.CampaignID != nil {
				t.Fatalf("listed %+v", m)
			}
		}
		if got[0].Language != "sw" || got[1].Language != "ar" {
			t.Fatalf("languages %q, %q", got[0].Language, got[1].Language)
		}
	}
	// Anything but surrounding space makes another address.
	for _, to := range []string{"254700000001", "+254 700 000 001"} {
		if got, err := e.outbox.List(e.ctx, e.ws.ID, to, 0); err != nil || len(got) != 0 {
			t.Fatalf("List(%q) = %v, %v; want nothing", to, got, err)
		}
	}
	// Another workspace's outbox is its own.
	if got, err := e.outbox.List(e.ctx, e.otherWorkspace(t).ID, "+254700000001", 0); err != nil || len(got) != 0 {
		t.Fatalf("another workspace listed %v, %v", got, err)
	}
	if _, err := e.outbox.List(e.ctx, e.ws.ID, "  ", 0); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("List of a blank address: %v", err)
	}
	if _, err := e.outbox.Record(e.ctx, e.pool, e.ws.ID, nil, channels.Message{To: " "}); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("Record to a blank address: %v", err)
	}
}

func TestOutboxListKeepsTheLatest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		if _, err := e.outbox.Record(e.ctx, e.pool, e.ws.ID, nil, channels.Message{To: "bob", Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.outbox.List(e.ctx, e.ws.ID, "bob", 3)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range got {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, ",") != "2,3,4" {
		t.Fatalf("List limit 3 = %v, want the latest three oldest first: 2,3,4", texts)
	}
	if _, err := e.outbox.List(e.ctx, e.ws.ID, "bob", -1); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("negative limit: %v", err)
	}
}

func TestOutboxEncrypted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const to, text = "+254799111222", "Safe migration hotline 0800 720 111"
	if _, err := e.outbox.Record(e.ctx, e.pool, e.ws.ID, nil, channels.Message{To: to, Text: text, Language: "en"}); err != nil {
		t.Fatal(err)
	}
	e.assertNowhere(t, "sandbox_messages", to, text, "799111222")
	// The index is the sandbox blind index of the address, the same a contact's sandbox identity has.
	var index []byte
	if err := e.pool.QueryRow(e.ctx, `SELECT to_index FROM sandbox_messages`).Scan(&index); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(index, e.keys.BlindIndex("sandbox", to)) {
		t.Fatal("to_index is not BlindIndex(\"sandbox\", to)")
	}
}

// TestOutboxThroughSandbox wires the outbox to the sandbox channel as the send worker will: one
// Recorder per transaction, so what the sandbox sent commits or rolls back with the delivery.
func TestOutboxThroughSandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var campaignID, deliveryID int64
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO campaigns (workspace_id, name) VALUES ($1, 'Spring') RETURNING id`,
		e.ws.ID).Scan(&campaignID); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO deliveries (workspace_id, campaign_id, channel_kind, language)
		VALUES ($1, $2, 'sandbox', 'sw') RETURNING id`, e.ws.ID, campaignID).Scan(&deliveryID); err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(nil, sandbox.Settings{})
	m := channels.Message{DeliveryID: deliveryID, To: "amina", Text: "Habari", Language: "sw", Segments: 1}

	// Rolled back: nothing stays in the outbox.
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.WithRecorder(e.outbox.Recorder(tx, e.ws.ID, &campaignID)).Send(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.outbox.List(e.ctx, e.ws.ID, "amina", 0); len(got) != 0 {
		t.Fatalf("a rolled back send is in the outbox: %+v", got)
	}

	tx, err = e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	res, err := sb.WithRecorder(e.outbox.Recorder(tx, e.ws.ID, &campaignID)).Send(e.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.outbox.List(e.ctx, e.ws.ID, "amina", 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %v, %v", got, err)
	}
	if res.ProviderID != fmt.Sprintf("SB%d", got[0].ID) || res.Status != channels.StatusSent {
		t.Fatalf("Send = %+v, outbox row %d", res, got[0].ID)
	}
	if got[0].CampaignID == nil || *got[0].CampaignID != campaignID {
		t.Fatalf("campaign id %v, want %d", got[0].CampaignID, campaignID)
	}
	var storedDelivery int64
	var segments int32
	if err := e.pool.QueryRow(e.ctx, `SELECT delivery_id, segments FROM sandbox_messages WHERE id = $1`, got[0].ID).
		Scan(&storedDelivery, &segments); err != nil {
		t.Fatal(err)
	}
	if storedDelivery != deliveryID || segments != 1 {
		t.Fatalf("stored delivery %d, segments %d; want %d, 1", storedDelivery, segments, deliveryID)
	}
}

func TestOutboxSetStatusOnlyMovesForward(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid, err := e.outbox.Record(e.ctx, e.pool, e.ws.ID, nil, channels.Message{To: "x", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	status := func() channels.Status {
		t.Helper()
		got, err := e.outbox.List(e.ctx, e.ws.ID, "x", 0)
		if err != nil || len(got) != 1 {
			t.Fatalf("List = %v, %v", got, err)
		}
		return got[0].Status
	}
	for _, step := range []struct {
		set     channels.Status
		changed bool
		want    channels.Status
	}{
		{channels.StatusDelivered, true, channels.StatusDelivered},
		{channels.StatusSent, false, channels.StatusDelivered},      // late
		{channels.StatusDelivered, false, channels.StatusDelivered}, // repeated
		{channels.StatusRead, true, channels.StatusRead},
		{channels.StatusDelivered, false, channels.StatusRead},
	} {
		changed, err := e.outbox.SetStatus(e.ctx, e.pool, pid, step.set)
		if err != nil {
			t.Fatal(err)
		}
		if changed != step.changed || status() != step.want {
			t.Fatalf("SetStatus(%s): changed %v, status %s; want %v, %s", step.set, changed, status(), step.changed, step.want)
		}
	}
	for _, bad := range []string{"SB999999", "SB", "SM123", "SB-1", "SB1x"} {
		if _, err := e.outbox.SetStatus(e.ctx, e.pool, bad, channels.StatusDelivered); errcode.CodeOf(err) != errcode.NotFound {
			t.Fatalf("SetStatus(%q): %v, want not found", bad, err)
		}
	}
	if _, err := e.outbox.SetStatus(e.ctx, e.pool, pid, "lost"); errcode.CodeOf(err) != errcode.Invalid {
		t.Fatalf("SetStatus to an unknown status: %v", err)
	}
}

func TestInboxStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, dup, err := e.inbox.Store(e.ctx, e.pool, e.ws.ID, channels.KindSMS, "SM1", "+254712345678", "STOP")
	if err != nil || dup {
		t.Fatalf("Store = %d, %v, %v", id, dup, err)
	}
	// A retried webhook: same id back, nothing stored, even with other contents.
	again, dup, err := e.inbox.Store(e.ctx, e.pool, e.ws.ID, channels.KindSMS, "SM1", "+254712345678", "something else")
	if err != nil || !dup || again != id {
		t.Fatalf("second Store = %d, %v, %v; want %d, duplicate", again, dup, err, id)
	}
	// The same provider id on another kind or in another workspace is another message.
	tg, dup, err := e.inbox.Store(e.ctx, e.pool, e.ws.ID, channels.KindTelegram, "SM1", "123456789", "hi")
	if err != nil || dup || tg == id {
		t.Fatalf("Store on telegram = %d, %v, %v", tg, dup, err)
	}
	other := e.otherWorkspace(t)
	if o, dup, err := e.inbox.Store(e.ctx, e.pool, other.ID, channels.KindSMS, "SM1", "+254712345678", "STOP"); err != nil || dup || o == id {
		t.Fatalf("Store in another workspace = %d, %v, %v", o, dup, err)
	}

	got, err := e.inbox.Get(e.ctx, e.ws.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.From != "+254712345678" || got.Text != "STOP" || got.Kind != channels.KindSMS || got.ProviderID != "SM1" ||
		got.ReceivedAt.IsZero() || got.HandledAt != nil {
		t.Fatalf("Get = %+v", got)
	}
	if _, err := e.inbox.Get(e.ctx, other.ID, id); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("Get from another workspace: %v", err)
	}
	var n int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM inbound_messages WHERE workspace_id = $1`, e.ws.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows stored in the workspace (%v), want 2", n, err)
	}
	var index []byte
	if err := e.pool.QueryRow(e.ctx, `SELECT from_index FROM inbound_messages WHERE id = $1`, id).Scan(&index); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(index, e.keys.BlindIndex("sms", "+254712345678")) {
		t.Fatal("from_index is not BlindIndex(kind, from)")
	}
	e.assertNowhere(t, "inbound_messages", "+254712345678", "712345678", "STOP", "123456789")
}

func TestInboxSandboxMessagesAreEachNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, dupA, errA := e.inbox.Store(e.ctx, e.pool, e.ws.ID, channels.KindSandbox, "", " +254700000001 ", "HELP")
	b, dupB, errB := e.inbox.Store(e.ctx, e.pool, e.ws.ID, channels.KindSandbox, "", "+254700000001", "HELP")
	if errA != nil || errB != nil || dupA || dupB || a == b {
		t.Fatalf("two sandbox posts: %d %v %v, %d %v %v; want two new messages", a, dupA, errA, b, dupB, errB)
	}
	got, err := e.inbox.Get(e.ctx, e.ws.ID, a)
	if err != nil {
		t.Fatal(err)
	}
	if got.From != "+254700000001" || !strings.HasPrefix(got.ProviderID, messages.SandboxInboundIDPrefix) {
		t.Fatalf("Get = %+v", got)
	}
	// An empty text is a message too (a sticker, an empty SMS).
	if _, _, err := e.inbox.Store(e.ctx, e.pool, e.ws.ID, channels.KindSandbox, "", "x", ""); err != nil {
		t.Fatal(err)
	}
}

func TestInboxStoreRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		kind             channels.Kind
		providerID, from string
		field            string
	}{
		{"email", "1", "a@b", "kind"},
		{channels.KindSMS, "SM1", "  ", "from"},
		{channels.KindSMS, "", "+254712345678", "provider_id"},
		{channels.KindTelegram, " ", "123", "provider_id"},
	} {
		_, _, err := e.inbox.Store(e.ctx, e.pool, e.ws.ID, c.kind, c.providerID, c.from, "hi")
		if ee, ok := errcode.As(err); !ok || ee.Code != errcode.Invalid || ee.Field != c.field {
			t.Errorf("Store(%q, %q, %q) = %v, want invalid %s", c.kind, c.providerID, c.from, err, c.field)
		}
	}
	if _, _, err := e.inbox.Store(e.ctx, e.pool, 1<<40, channels.KindSMS, "SM1", "+1", "hi"); errcode.CodeOf(err) != errcode.NotFound {
		t.Errorf("Store in an unknown workspace: %v", err)
	}
}

func TestSandboxSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got, err := e.outbox.SandboxSettings(e.ctx, e.ws.ID)
	if err != nil || got != (messages.SandboxSettings{}) {
		t.Fatalf("defaults = %+v, %v; want the zero value", got, err)
	}
	want := messages.SandboxSettings{FailShare: 0.1, ThrottleShare: 0.25, UndeliveredShare: 1, RatePerSecond: 30}
	saved, err := e.outbox.SaveSandboxSettings(e.ctx, e.ws.ID, want)
	if err != nil {
		t.Fatal(err)
	}
	if saved.UpdatedAt == nil {
		t.Fatal("saved settings have no UpdatedAt")
	}
	read, err := e.outbox.SandboxSettings(e.ctx, e.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []messages.SandboxSettings{saved, read} {
		s.UpdatedAt = nil
		// Exact: 0.1 comes back as 0.1, not as the float4 column's 0.10000000149.
		if s != want {
			t.Fatalf("stored %+v, want %+v", s, want)
		}
	}
	// Saving again replaces them.
	if _, err := e.outbox.SaveSandboxSettings(e.ctx, e.ws.ID, messages.SandboxSettings{}); err != nil {
		t.Fatal(err)
	}
	if read, _ := e.outbox.SandboxSettings(e.ctx, e.ws.ID); read.FailShare != 0 || read.UpdatedAt == nil {
		t.Fatalf("after saving defaults: %+v", read)
	}
	// Other workspaces keep the defaults.
	if got, err := e.outbox.SandboxSettings(e.ctx, e.otherWorkspace(t).ID); err != nil || got != (messages.SandboxSettings{}) {
		t.Fatalf("another workspace: %+v, %v", got, err)
	}

	for _, c := range []struct {
		s     messages.SandboxSettings
		field string
	}{
		{messages.SandboxSettings{FailShare: -0.1}, "fail_share"},
		{messages.SandboxSettings{FailShare: 1.5}, "fail_share"},
		{messages.SandboxSettings{ThrottleShare: math.NaN()}, "throttle_share"},
		{messages.SandboxSettings{UndeliveredShare: 2}, "undelivered_share"},
		{messages.SandboxSettings{RatePerSecond: -1}, "rate_per_second"},
		{messages.SandboxSettings{RatePerSecond: math.Inf(1)}, "rate_per_second"},
	} {
		_, err := e.outbox.SaveSandboxSettings(e.ctx, e.ws.ID, c.s)
		if ee, ok := errcode.As(err); !ok || ee.Code != errcode.Invalid || ee.Field != c.field {
			t.Errorf("SaveSandboxSettings(%+v) = %v, want invalid %s", c.s, err, c.field)
		}
	}
	if _, err := e.outbox.SaveSandboxSettings(e.ctx, 1<<40, messages.SandboxSettings{}); errcode.CodeOf(err) != errcode.NotFound {
		t.Errorf("settings of an unknown workspace: %v", err)
	}
}
