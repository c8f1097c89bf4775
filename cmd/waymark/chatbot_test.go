package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/config"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/web"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// chatbotRig is the wiring of `waymark serve` in this process: the real web handler on a local
// port, River workers handling inbound messages through the real channel wiring, and provider
// channels pointed at fakes.
type chatbotRig struct {
	t         *testing.T
	ctx       context.Context
	pool      *pgxpool.Pool
	app       *app
	addr      string
	publicURL string
	logs      *channeltest.LogCapture
}

func newChatbotRig(t *testing.T) *chatbotRig {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	entry, _ := pii.GenerateKey("k1")
	keys, _ := pii.ParseKeyring(entry)
	logs := channeltest.NewLogCapture()
	r := &chatbotRig{t: t, ctx: ctx, pool: pool, publicURL: "https://waymark.test", logs: logs}
	e := &env{cfg: &config.Config{PublicURL: r.publicURL, HTTPAddr: "127.0.0.1:0"}, logger: logs.Logger(), pool: pool}
	if r.app, err = newApp(e, keys); err != nil {
		t.Fatal(err)
	}
	srv, addr, _, err := startHTTP(e, r.app)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	r.addr = addr
	client, err := worker.NewClient(pool, r.app.workerDeps(), worker.Options{Logger: logs.Logger(), TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Registered after the fakes' cleanups, so it runs before them: workers stop before the
	// fake providers check that every expected request came.
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = worker.Stop(sctx, client, 5*time.Second)
	})
	return r
}

func (r *chatbotRig) workspace(name string) workspaces.Workspace {
	r.t.Helper()
	ws, err := r.app.workspaces.Create(r.ctx, name, "KE")
	if err != nil {
		r.t.Fatal(err)
	}
	return ws
}

// person makes a contact who asked for messages on one address.
func (r *chatbotRig) person(ws workspaces.Workspace, lang string, kind channels.Kind, address string) int64 {
	r.t.Helper()
	c, err := r.app.contacts.Create(r.ctx, ws, contacts.NewContact{Fields: contacts.Fields{Language: &lang},
		Identities: []contacts.IdentityInput{{Kind: string(kind), Value: address}},
		Consent:    []contacts.ConsentInput{{Channel: string(kind), Status: contacts.StatusOptIn}}}, contacts.SourceAPI, workspaces.CLIActor("test"))
	if err != nil {
		r.t.Fatal(err)
	}
	return c.ID
}

// settled waits until every inbound message is handled and no answer is pending, as it is once
// the workers are done with what came in.
func (r *chatbotRig) settled() {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var unhandled, pending int
		if err := r.pool.QueryRow(r.ctx, `SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL),
			(SELECT count(*) FROM replies WHERE status = 'pending')`).Scan(&unhandled, &pending); err != nil {
			r.t.Fatal(err)
		}
		if unhandled == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after 30 s: %d messages unhandled, %d answers pending\n%s", unhandled, pending, r.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// latestConsent is the status/source of a contact's latest ledger row on a channel kind.
func (r *chatbotRig) latestConsent(ws workspaces.Workspace, contactID int64, kind channels.Kind) string {
	r.t.Helper()
	hist, err := r.app.contacts.ConsentHistory(r.ctx, ws.ID, contactID)
	if err != nil {
		r.t.Fatal(err)
	}
	out := ""
	for _, h := range hist {
		if h.Channel == kind {
			out = h.Status + "/" + h.Source
		}
	}
	return out
}

// conversation is a contact's conversation as the API shows it, one "direction status text" line
// each.
func (r *chatbotRig) conversation(ws workspaces.Workspace, contactID int64) []string {
	r.t.Helper()
	list, _, err := r.app.inbox.Conversation(r.ctx, ws.ID, contactID, "", 100)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, m := range list {
		line := m.Direction
		for _, part := range []string{m.Status, m.Text} {
			if part != "" {
				line += " " + part
			}
		}
		out = append(out, line)
	}
	return out
}

// runCampaign sends a campaign to everyone on one channel kind and waits until it completes.
func (r *chatbotRig) runCampaign(ws workspaces.Workspace, kind channels.Kind, texts map[string]string) campaigns.Stats {
	r.t.Helper()
	contents := campaigns.Contents{}
	for lang, text := range texts {
		contents[lang] = campaigns.Body{Other: text}
	}
	name := "After STOP"
	c, err := r.app.campaigns.Create(r.ctx, ws.ID, campaigns.Input{Name: &name, Contents: &contents,
		ChannelOrder: &[]string{string(kind)}, Audience: &campaigns.Audience{}}, workspaces.CLIActor("test"))
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.app.campaigns.Schedule(r.ctx, ws.ID, c.ID, workspaces.CLIActor("test")); err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, err := r.app.campaigns.Stats(r.ctx, ws.ID, c.ID)
		if err != nil {
			r.t.Fatal(err)
		}
		if st.State == campaigns.StateCompleted {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("campaign %d is %s after 30 s: %+v", c.ID, st.State, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertNothingPersonalLogged fails when the log holds an address or a text, whole or in part;
// seen, logged for each webhook request, shows that the log is not just empty.
func (r *chatbotRig) assertNothingPersonalLogged(seen string, values ...string) {
	r.t.Helper()
	logs := r.logs.String()
	if !strings.Contains(logs, seen) {
		r.t.Fatalf("the log does not show %s; the search for personal data would prove nothing", seen)
	}
	channeltest.AssertNoSecrets(r.t, values, logs)
}

// TestChatbotStopTypedOverTwilio texts STOP as a person types it (no Advanced Opt-Out verdict)
// through the signed Twilio webhook, to a channel where Twilio confirms STOP itself and to one
// where it does not: the opt-out reaches the ledger either way, Waymark confirms only on the
// second, in the person's language, and a later campaign sends them nothing.
func TestChatbotStopTypedOverTwilio(t *testing.T) {
	t.Parallel()
	r := newChatbotRig(t)
	twilioConfirms, waymarkConfirms := r.workspace("Twilio confirms"), r.workspace("Waymark confirms")
	type smsChannel struct {
		fake   *fakeTwilio
		token  string
		hook   string
		number string
	}
	add := func(ws workspaces.Workspace, handlesStop bool) smsChannel {
		sid, token := fmt.Sprintf("AC%x", randomBytes(t, 16)), fmt.Sprintf("%x", randomBytes(t, 16))
		fake := newFakeTwilio(t, sid, token)
		sec := json.RawMessage(fmt.Sprintf(`{"auth_token":%q}`, token))
		ch, err := r.app.conns.Add(r.ctx, ws.ID, connections.Input{Provider: connections.ProviderTwilio, Name: "SMS",
			Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550006", HandlesStop: handlesStop, RatePerSecond: 50,
				APIBaseURL: fake.srv.URL}, Secrets: &sec}, workspaces.CLIActor("test"))
		if err != nil {
			t.Fatal(err)
		}
		return smsChannel{fake: fake, token: token, hook: web.WebhookURLs(r.publicURL, ch)["inbound"], number: "+15005550006"}
	}
	withTwilio, withoutTwilio := add(twilioConfirms, true), add(waymarkConfirms, false)

	// Amina (English) and Farid (French, typing the French word) write to the channel Waymark
	// answers for; Baraka writes to the one Twilio answers for.
	amina := r.person(waymarkConfirms, "en", channels.KindSMS, "+254712345601")
	farid := r.person(waymarkConfirms, "fr", channels.KindSMS, "+254712345602")
	r.person(waymarkConfirms, "en", channels.KindSMS, "+254712345603") // Zawadi stays subscribed
	baraka := r.person(twilioConfirms, "en", channels.KindSMS, "+254712345604")
	text := func(ch smsChannel, phone, body string) {
		t.Helper()
		sid := fmt.Sprintf("SM%x", randomBytes(t, 16))
		form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {"AC"},
			"From": {phone}, "To": {ch.number}, "Body": {body}, "SmsStatus": {"received"}, "NumMedia": {"0"}, "NumSegments": {"1"}}
		for range 2 { // Twilio retries; stored and handled once
			if status, answer := postTwilio(t, r.addr, ch.token, ch.hook, form); status != http.StatusOK || !strings.Contains(answer, "<Response></Response>") {
				t.Fatalf("inbound %q: %d %q", body, status, answer)
			}
		}
		r.settled()
	}
	text(withoutTwilio, "+254712345601", "STOP")
	text(withoutTwilio, "+254712345602", "ARRÊT")
	text(withTwilio, "+254712345604", "STOP")

	for _, p := range []struct {
		name string
		ws   workspaces.Workspace
		id   int64
	}{{"Amina", waymarkConfirms, amina}, {"Farid", waymarkConfirms, farid}, {"Baraka", twilioConfirms, baraka}} {
		if got := r.latestConsent(p.ws, p.id, channels.KindSMS); got != "opt_out/keyword" {
			t.Errorf("%s after STOP: latest consent %q, want opt_out/keyword", p.name, got)
		}
	}
	stopIn := func(lang string) string { return chatbot.Localized(lang, locales.StopConfirmation, nil) }
	var got []string
	for _, m := range withoutTwilio.fake.messages() {
		got = append(got, m.To+" "+m.Body)
	}
	if want := []string{"+254712345601 " + stopIn("en"), "+254712345602 " + stopIn("fr")}; !slices.Equal(got, want) {
		t.Errorf("Waymark's channel sent %q, want one confirmation each in their language %q", got, want)
	}
	if m := withTwilio.fake.messages(); len(m) != 0 {
		t.Errorf("Waymark confirmed a STOP that Twilio confirms itself: %+v", m)
	}
	// The conversation shows the STOP and, where Waymark sent one, its confirmation.
	sid := withoutTwilio.fake.messages()[0].SID
	list, _, err := r.app.inbox.Conversation(r.ctx, waymarkConfirms.ID, amina, "", 100)
	if err != nil || len(list) != 2 || list[0].Text != "STOP" || list[1].Direction != messages.DirectionOut ||
		list[1].Status != messages.ReplySent || list[1].ProviderID != sid || list[1].Text != stopIn("en") {
		t.Errorf("Amina's conversation: %+v, %v", list, err)
	}
	if got := r.conversation(twilioConfirms, baraka); !slices.Equal(got, []string{"in STOP"}) {
		t.Errorf("Baraka's conversation: %q", got)
	}

	// A campaign afterwards reaches only the person who did not stop.
	st := r.runCampaign(waymarkConfirms, channels.KindSMS, map[string]string{"en": "Roads are open", "fr": "Les routes sont ouvertes"})
	msgs := withoutTwilio.fake.messages()
	if st.Recipients != 1 || len(msgs) != 3 || msgs[2].To != "+254712345603" || !strings.HasPrefix(msgs[2].Body, "Roads are open") {
		t.Errorf("campaign after STOP: %d recipients; Twilio got %+v", st.Recipients, msgs)
	}
	r.assertNothingPersonalLogged("/hooks/twilio/", "+254712345601", "254712345602", "254712345604", "ARRÊT", stopIn("fr"))
}

// tgSent is the Bot API's answer to a sendMessage.
func tgSent(id int, chat, text string) string {
	b, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{"message_id": id, "date": 1718188300,
		"chat": map[string]any{"id": json.Number(chat), "type": "private"}, "text": text,
		"from": map[string]any{"id": 7000000001, "is_bot": true, "first_name": "Info Line"}}})
	return string(b)
}

// tgText is an update with a text message from a private chat.
func tgText(updateID int64, chat, text string) string {
	b, _ := json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{"message_id": updateID % 1000, "date": 1718188200,
		"from": map[string]any{"id": json.Number(chat), "is_bot": false, "first_name": "A"},
		"chat": map[string]any{"id": json.Number(chat), "type": "private"}, "text": text}})
	return string(b)
}

// TestChatbotStopTypedOverTelegram sends STOP typed in English and in Arabic, a plain /start and a
// press of a language button through the Telegram webhook, with the real Bot API client talking
// to a fake Telegram that expects exactly these requests in this order: one confirmation per STOP
// in the person's language, the picker, one answerCallbackQuery for the press (however often
// Telegram retries the update), the confirmation of the new language, and then a campaign that
// reaches only the person who did not stop.
func TestChatbotStopTypedOverTelegram(t *testing.T) {
	t.Parallel()
	r := newChatbotRig(t)
	ws := r.workspace("Bot")
	botToken := "7000000001:" + base64.RawURLEncoding.EncodeToString(randomBytes(t, 27))
	path := func(method string) string { return "/bot" + botToken + "/" + method }
	stopIn := func(lang string) string { return chatbot.Localized(lang, locales.StopConfirmation, nil) }
	send := func(id int, chat, text string) channeltest.Exchange {
		return channeltest.Exchange{Path: path("sendMessage"), Fields: map[string]string{"chat_id": chat, "text": text},
			Absent: []string{"reply_markup", "parse_mode"}, Body: tgSent(id, chat, text)}
	}
	press, err := os.ReadFile("../../channels/telegram/testdata/callback_query.json")
	if err != nil {
		t.Fatal(err)
	}
	answered, err := os.ReadFile("../../channels/telegram/testdata/answer_callback_query.json")
	if err != nil {
		t.Fatal(err)
	}
	campaignAm := "ከመሄድዎ በፊት መንገዱን ያረጋግጡ"
	fake := channeltest.NewServer(t,
		send(201, "5000000004", stopIn("en")),
		send(202, "5000000003", stopIn("ar")),
		channeltest.Exchange{Path: path("sendMessage"),
			Fields: map[string]string{"chat_id": "5000000001", "text": chatbot.Localized(ws.DefaultLanguage, locales.LanguagePrompt, nil)},
			Check: func(t testing.TB, req *channeltest.Request) {
				if kb := req.Fields.Get("reply_markup"); !strings.Contains(kb, `"callback_data":"lang:am"`) || strings.Contains(kb, "copy_text") {
					t.Errorf("picker keyboard %s", kb)
				}
			}, Body: tgSent(203, "5000000001", "picker")},
		channeltest.Exchange{Path: path("answerCallbackQuery"), Fields: map[string]string{"callback_query_id": "2151680941389837224"},
			Absent: []string{"text", "show_alert"}, Body: string(answered)},
		send(204, "5000000001", chatbot.Localized("am", locales.LanguageChanged, nil)),
		send(205, "5000000001", campaignAm+"\n"+optOutHint(t, "am")),
	)
	sec := json.RawMessage(fmt.Sprintf(`{"bot_token":%q}`, botToken))
	ch, err := r.app.conns.Add(r.ctx, ws.ID, connections.Input{Provider: connections.ProviderTelegram, Name: "Bot",
		Telegram: &connections.Telegram{APIBaseURL: fake.URL}, Secrets: &sec}, workspaces.CLIActor("test"))
	if err != nil {
		t.Fatal(err)
	}
	tsec, err := r.app.conns.TelegramSecrets(ch)
	if err != nil {
		t.Fatal(err)
	}
	hook := web.WebhookURLs(r.publicURL, ch)["updates"]
	post := func(update string) {
		t.Helper()
		for range 2 { // Telegram retries; stored and handled once
			status, answer := postTo(t, r.addr, hook, map[string]string{"Content-Type": "application/json",
				"X-Telegram-Bot-Api-Secret-Token": tsec.WebhookSecret}, update)
			if status != http.StatusOK || answer != "" {
				t.Fatalf("update: %d %q", status, answer)
			}
		}
		r.settled()
	}

	tom := r.person(ws, "en", channels.KindTelegram, "5000000004")
	huda := r.person(ws, "ar", channels.KindTelegram, "5000000003")
	post(tgText(815300001, "5000000004", "STOP"))
	post(tgText(815300002, "5000000003", "توقف"))
	for name, id := range map[string]int64{"Tom": tom, "Huda": huda} {
		if got := r.latestConsent(ws, id, channels.KindTelegram); got != "opt_out/keyword" {
			t.Errorf("%s after STOP: latest consent %q", name, got)
		}
	}
	if got, want := r.conversation(ws, huda), []string{"in توقف", "out sent " + stopIn("ar")}; !slices.Equal(got, want) {
		t.Errorf("Huda's conversation %q, want %q", got, want)
	}

	// Hana starts the bot, gets the picker, and presses Amharic.
	post(tgText(815300003, "5000000001", "/start"))
	post(string(press))
	hana, err := r.app.contacts.Lookup(r.ctx, ws, channels.KindTelegram, "5000000001")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.conversation(ws, hana); len(got) != 4 || got[2] != "in" || got[3] != "out sent "+chatbot.Localized("am", locales.LanguageChanged, nil) {
		t.Errorf("Hana's conversation %q", got)
	}

	// A campaign reaches Hana, in Amharic, and neither of the two who stopped.
	st := r.runCampaign(ws, channels.KindTelegram, map[string]string{"en": "Check the road before you go", "ar": "تحقق من الطريق قبل أن تذهب", "am": campaignAm})
	if st.Recipients != 1 {
		t.Errorf("campaign after STOP: %d recipients, want 1", st.Recipients)
	}
	if n := len(fake.Requests()); n != 6 {
		t.Errorf("Telegram got %d requests, want 6", n)
	}
	r.assertNothingPersonalLogged("/hooks/telegram/", "5000000003", "5000000004", "5000000001", "توقف", stopIn("ar"))
}
