package chatbot_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

type convo struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	ws    workspaces.Workspace
	inbox *messages.Inbox
	cs    *contacts.Store
	h     *chatbot.Handler
	rep   *fakeReplier
	n     int
}

func newConvo(t *testing.T, configure func(*workspaces.Settings)) *convo {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	entry, _ := pii.GenerateKey("k1")
	keys, _ := pii.ParseKeyring(entry)
	wsStore := workspaces.NewStore(pool)
	ws, err := wsStore.Create(ctx, "Two-way", "KE")
	if err != nil {
		t.Fatal(err)
	}
	st := workspaces.SettingsOf(ws)
	st.SenderName = "Safe Travel Info"
	if configure != nil {
		configure(&st)
	}
	if ws, err = wsStore.UpdateSettings(ctx, ws.ID, st, workspaces.SystemActor); err != nil {
		t.Fatal(err)
	}
	c := &convo{t: t, ctx: ctx, pool: pool, ws: ws, inbox: messages.NewInbox(pool, keys), cs: contacts.NewStore(pool, keys), rep: &fakeReplier{}}
	c.h = &chatbot.Handler{Pool: pool, Inbox: c.inbox, Contacts: c.cs, Workspaces: wsStore, Store: chatbot.NewStore(pool),
		Keys: keys, Reply: c.rep, ProviderConfirmsStop: func(context.Context, int64, channels.Kind) bool { return false }}
	return c
}

// importTree makes testdata/tree.yaml the workspace's chatbot.
func (c *convo) importTree() {
	c.t.Helper()
	raw, err := os.ReadFile("testdata/tree.yaml")
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.h.Store.Import(c.ctx, c.ws.ID, raw, workspaces.SystemActor); err != nil {
		c.t.Fatal(err)
	}
}

// say stores a message from a sandbox address and handles it, returning the replies it caused.
func (c *convo) say(from, text string) []sent {
	c.t.Helper()
	before := len(c.rep.sent)
	id, _, err := c.inbox.StoreInbound(c.ctx, c.pool, c.ws.ID, channels.Inbound{Kind: channels.KindSandbox, From: from, Text: text})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.h.Handle(c.ctx, chatbot.HandleArgs{WorkspaceID: c.ws.ID, MessageID: id}); err != nil {
		c.t.Fatal(err)
	}
	return c.rep.sent[before:]
}

func (c *convo) consent(from string) string {
	c.t.Helper()
	id, err := c.cs.Lookup(c.ctx, c.ws, channels.KindSandbox, from)
	if err != nil {
		c.t.Fatal(err)
	}
	got, err := c.cs.Get(c.ctx, c.ws.ID, id, false, workspaces.SystemActor)
	if err != nil {
		c.t.Fatal(err)
	}
	if s, ok := got.Consent[channels.KindSandbox]; ok {
		return s
	}
	return contacts.StatusNone
}

func TestStopInEveryLanguageThenStart(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	for i, lang := range locales.Languages() {
		words := locales.Keywords(lang, locales.KeywordsStop)
		if lang == "en" {
			words = []string{"STOP"}
		}
		if len(words) == 0 {
			t.Fatalf("%s ships no STOP keyword", lang)
		}
		from := "+25470000" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		// A person who speaks the language; a keyword shared with another language (Dari and
		// Arabic both write توقف) is answered in the person's own.
		if _, err := c.cs.Create(c.ctx, c.ws, contacts.NewContact{Fields: contacts.Fields{Language: ptr(lang)},
			Identities: []contacts.IdentityInput{{Kind: "sandbox", Value: from}}}, contacts.SourceAPI, workspaces.SystemActor); err != nil {
			t.Fatal(err)
		}
		c.say(from, "START")
		replies := c.say(from, "  "+words[0]+" ")
		if got := c.consent(from); got != contacts.StatusOptOut {
			t.Fatalf("%s: %q left consent %q", lang, words[0], got)
		}
		want := localized(lang, locales.StopConfirmation)
		if len(replies) != 1 || replies[0].text != want {
			t.Fatalf("%s: STOP replies %+v, want one %q", lang, replies, want)
		}
		if s, _ := c.cs.Suppressed(c.ctx, c.ws, channels.KindSandbox, from); !s {
			t.Fatalf("%s: the address is not suppressed after STOP", lang)
		}
		starts := locales.Keywords(lang, locales.KeywordsStart)
		if len(starts) > 0 {
			c.say(from, starts[0])
			if got := c.consent(from); got != contacts.StatusOptIn {
				t.Fatalf("%s: %q left consent %q", lang, starts[0], got)
			}
		}
	}
}

func TestHelpAndRateLimit(t *testing.T) {
	t.Parallel()
	c := newConvo(t, func(s *workspaces.Settings) { s.RepliesPerHour = 3 })
	r := c.say("+254700000100", "HELP")
	// An unknown sender becomes a contact, with no consent until they ask for messages.
	if got := c.consent("+254700000100"); got != contacts.StatusNone {
		t.Fatalf("writing in recorded consent %q", got)
	}
	if len(r) != 1 || !strings.Contains(r[0].text, "Safe Travel Info") {
		t.Fatalf("HELP: %+v", r)
	}
	c.say("+254700000100", "hi")
	c.say("+254700000100", "hi again")
	if r := c.say("+254700000100", "are you there"); len(r) != 0 {
		t.Fatalf("the fourth reply within the hour went out: %+v", r)
	}
	// The limit is per sender.
	if r := c.say("+254700000101", "HELP"); len(r) != 1 {
		t.Fatal("another sender was limited too")
	}
}

func TestMenusAndConversationExpiry(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	c.importTree()
	from := "+254700000200"
	r := c.say(from, "hello")
	if len(r) != 1 || !strings.Contains(r[0].text, "1. Before you travel") || !strings.Contains(r[0].text, "0. ") {
		t.Fatalf("not understood should get the top menu: %+v", r)
	}
	r = c.say(from, "1")
	if len(r) != 1 || !strings.Contains(r[0].text, "1. Check an agency") {
		t.Fatalf("option 1: %+v", r)
	}
	// After the conversation expires, a number picks from the top menu again.
	if _, err := c.pool.Exec(c.ctx, "UPDATE conversations SET expires_at = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	r = c.say(from, "2")
	if len(r) != 1 || !strings.Contains(r[0].text, "Work abroad") {
		t.Fatalf("after expiry, 2 should pick the top menu's second option: %+v", r)
	}
	// An Amharic speaker typing free text is matched in Amharic.
	am := "+251900000200"
	if _, err := c.cs.Create(c.ctx, c.ws, contacts.NewContact{Fields: contacts.Fields{Language: ptr("am")},
		Identities: []contacts.IdentityInput{{Kind: "sandbox", Value: am}}}, contacts.SourceAPI, workspaces.SystemActor); err != nil {
		t.Fatal(err)
	}
	r = c.say(am, "ጉዞ")
	if len(r) != 1 || !strings.Contains(r[0].text, "ከጉዞ በፊት") {
		t.Fatalf("Amharic free text: %+v", r)
	}
	// TALK is recorded for the hotline.
	c.say(from, "TALK")
	var talks int
	_ = c.pool.QueryRow(c.ctx, "SELECT count(*) FROM talk_requests").Scan(&talks)
	if talks != 1 {
		t.Fatalf("%d talk requests, want 1", talks)
	}
}

func ptr[T any](v T) *T { return &v }

// localized renders a system text the way the handler does, to compare.
func localized(lang, id string) string {
	return chatbot.Localized(lang, id, nil)
}

func TestTelegramMenusUseButtons(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	c.importTree()
	handle := func(in channels.Inbound) sent {
		t.Helper()
		before := len(c.rep.sent)
		in.Kind, in.From = channels.KindTelegram, "5550077"
		id, _, err := c.inbox.StoreInbound(c.ctx, c.pool, c.ws.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.h.Handle(c.ctx, chatbot.HandleArgs{WorkspaceID: c.ws.ID, MessageID: id}); err != nil {
			t.Fatal(err)
		}
		if len(c.rep.sent) != before+1 {
			t.Fatalf("%+v got %d replies", in, len(c.rep.sent)-before)
		}
		return c.rep.sent[before]
	}
	r := handle(channels.Inbound{ProviderID: "u1", Text: "hello"})
	if len(r.options) == 0 || strings.Contains(r.text, "1. Before you travel") {
		t.Fatalf("Telegram menu should be buttons, not numbered text: %+v", r)
	}
	var travel string
	for _, row := range r.options {
		for _, o := range row {
			if o.Text == "Before you travel" {
				travel = o.Data
			}
		}
	}
	if travel == "" {
		t.Fatalf("no button for the travel menu: %+v", r.options)
	}
	r = handle(channels.Inbound{ProviderID: "u2", Callback: travel})
	if !strings.Contains(r.text, "Before you travel") || len(r.options) == 0 {
		t.Fatalf("pressing the travel button: %+v", r)
	}
}

// A tree imported again replaces the one conversations use at once, though the handler keeps
// the last tree it parsed.
func TestReimportedTreeIsUsed(t *testing.T) {
	t.Parallel()
	c := newConvo(t, nil)
	c.importTree()
	from := "+254700000300"
	if r := c.say(from, "hello"); len(r) != 1 || !strings.Contains(r[0].text, "1. Before you travel") {
		t.Fatalf("first tree: %+v", r)
	}
	raw, err := os.ReadFile("testdata/tree.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("Before you travel"), []byte("Before leaving"))
	if _, err := c.h.Store.Import(c.ctx, c.ws.ID, raw, workspaces.SystemActor); err != nil {
		t.Fatal(err)
	}
	if r := c.say(from, "hello"); len(r) != 1 || !strings.Contains(r[0].text, "1. Before leaving") {
		t.Fatalf("second tree: %+v", r)
	}
}
