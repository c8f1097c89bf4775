package chatbot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type sent struct {
	to, text string
	options  [][]chatbot.Option
}

// fakeReplier records what the handler sends. fail, when set, is asked before each send (n counts
// every call from 0) and an error it returns is the send's outcome, nothing recorded.
type fakeReplier struct {
	mu      sync.Mutex
	calls   int
	sent    []sent
	presses []string
	fail    func(n int, text string) error
}

func (f *fakeReplier) send(to, text string, options [][]chatbot.Option) (channels.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls
	f.calls++
	if f.fail != nil {
		if err := f.fail(n, text); err != nil {
			return channels.Result{}, err
		}
	}
	f.sent = append(f.sent, sent{to: to, text: text, options: options})
	return channels.Result{ProviderID: fmt.Sprintf("P%d", len(f.sent)), Status: channels.StatusSent}, nil
}

func (f *fakeReplier) Reply(_ context.Context, _ int64, _ channels.Kind, to, text string) (channels.Result, error) {
	return f.send(to, text, nil)
}

func (f *fakeReplier) Picker(_ context.Context, _ int64, _ channels.Kind, to, text string, options [][]chatbot.Option) (channels.Result, error) {
	return f.send(to, text, options)
}

func (f *fakeReplier) AnswerButton(_ context.Context, _ int64, _ channels.Kind, callbackQueryID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presses = append(f.presses, callbackQueryID)
	return nil
}

func (f *fakeReplier) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sent {
		out = append(out, s.text)
	}
	return out
}

func TestParseDeepLink(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		lang string
		id   int64
	}{
		"lang-am_c42": {"am", 42}, "lang-fa-AF": {"fa-AF", 0}, "c7": {"", 7}, "": {"", 0},
		"lang-zz-bad!!": {"", 0}, "lang-ti_c12_x9": {"ti", 12},
	}
	for payload, want := range cases {
		lang, id := chatbot.ParseDeepLink(payload)
		if lang != want.lang || id != want.id {
			t.Errorf("%q: %q %d, want %q %d", payload, lang, id, want.lang, want.id)
		}
	}
}

func TestStartSubscribesAndPickerSetsLanguage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	entry, _ := pii.GenerateKey("k1")
	keys, _ := pii.ParseKeyring(entry)
	wsStore := workspaces.NewStore(pool)
	ws, err := wsStore.Create(ctx, "Bot", "ET")
	if err != nil {
		t.Fatal(err)
	}
	inbox := messages.NewInbox(pool, keys)
	cs := contacts.NewStore(pool, keys)
	rep := &fakeReplier{}
	h := &chatbot.Handler{Pool: pool, Inbox: inbox, Contacts: cs, Workspaces: wsStore, Keys: keys, Reply: rep}
	handle := func(in channels.Inbound) {
		t.Helper()
		id, _, err := inbox.StoreInbound(ctx, pool, ws.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if !chatbot.NeedsHandling(in) {
			t.Fatalf("%+v does not need handling", in)
		}
		for range 2 { // a job run twice changes nothing more
			if err := h.Handle(ctx, chatbot.HandleArgs{WorkspaceID: ws.ID, MessageID: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tg := channels.KindTelegram
	handle(channels.Inbound{Kind: tg, ProviderID: "u1", From: "5550001", Text: "/start lang-am_c42", StartPayload: "lang-am_c42"})
	id, err := cs.Lookup(ctx, ws, tg, "5550001")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cs.Get(ctx, ws.ID, id, false, workspaces.SystemActor)
	if err != nil || c.Language != "am" || c.Consent[tg] != contacts.StatusOptIn {
		t.Fatalf("subscribed contact %+v %v", c, err)
	}
	hist, _ := cs.ConsentHistory(ctx, ws.ID, id)
	if len(hist) != 1 || hist[0].Source != contacts.SourceKeyword || hist[0].Evidence["campaign_id"] != float64(42) {
		t.Fatalf("ledger %+v", hist)
	}
	if len(rep.sent) != 1 || rep.sent[0].to != "5550001" || !strings.ContainsAny(rep.sent[0].text, "ሀለሐመሠረሰሸቀበተቸኀነኘአከኸወዐዘዠየደጀገጠጨጰጸፀፈፐ") {
		t.Fatalf("replies %+v: want one confirmation in Amharic", rep.sent)
	}

	// A /start without a language asks, with a button per shipped language.
	handle(channels.Inbound{Kind: tg, ProviderID: "u2", From: "5550002", Text: "/start"})
	last := rep.sent[len(rep.sent)-1]
	var datas []string
	for _, row := range last.options {
		for _, o := range row {
			datas = append(datas, o.Data)
		}
	}
	if len(datas) != len(locales.Languages()) || datas[0] != "lang:en" {
		t.Fatalf("picker %+v", last)
	}
	handle(channels.Inbound{Kind: tg, ProviderID: "u3", From: "5550002", Callback: "lang:ti"})
	id2, _ := cs.Lookup(ctx, ws, tg, "5550002")
	c2, _ := cs.Get(ctx, ws.ID, id2, false, workspaces.SystemActor)
	if c2.Language != "ti" {
		t.Fatalf("after the picker the language is %q", c2.Language)
	}
	if n := len(rep.sent); n != 3 {
		t.Fatalf("%d replies, want 3 (no repeats when a job runs twice)", n)
	}
	var handled int
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM inbound_messages WHERE handled_at IS NOT NULL AND contact_id IS NOT NULL").Scan(&handled)
	}); err != nil || handled != 3 {
		t.Fatalf("%d messages marked handled with their contact: %v", handled, err)
	}
}
