package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twilio/twilio-go/client"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/channels/telegram"
	"github.com/waymark-org/waymark/channels/twilio"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/migrations"
	"github.com/waymark-org/waymark/web"
	"github.com/waymark-org/waymark/worker"
	"github.com/waymark-org/waymark/workspaces"
)

// hookPublicURL is where providers reach the server under test; requests go to the httptest
// server, signatures cover this address, as behind a TLS-terminating proxy.
const hookPublicURL = "https://waymark.example.org"

const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

var hookActor = workspaces.CLIActor("test")

// hookFixture is a server with the real provider checks and parsers wired in, a workspace with a
// Twilio and a Telegram channel, and a second workspace to check isolation against.
type hookFixture struct {
	pool      *pgxpool.Pool
	http      *httptest.Server
	logs      *channeltest.LogCapture
	ws, wsB   workspaces.Workspace
	contacts  *contacts.Store
	campaigns *campaigns.Store
	inbox     *messages.Inbox

	twilioKey, twilioToken, accountSID string
	telegramKey, telegramSecret        string
	botToken                           string

	mu      sync.Mutex
	answers []string // every response body, searched for credentials
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", b)
}

func newHookFixture(t *testing.T) *hookFixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	keys := testKeys(t)
	logs := channeltest.NewLogCapture()
	store := workspaces.NewStore(pool)
	ins, err := worker.NewInserter(pool)
	if err != nil {
		t.Fatal(err)
	}
	f := &hookFixture{pool: pool, logs: logs, contacts: contacts.NewStore(pool, keys),
		campaigns: campaigns.NewStore(pool, keys, ins), inbox: messages.NewInbox(pool, keys)}
	conns := connections.NewStore(pool, keys)
	senders := func(ctx context.Context, wsID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
		return nil, ratelimit.Limit{}, campaigns.ErrNoChannel
	}
	srv := web.New(web.Deps{Pool: pool, Workspaces: store, Contacts: f.contacts, Campaigns: f.campaigns,
		Outbox: messages.NewOutbox(pool, keys), Inbox: f.inbox, Senders: senders, Logger: logs.Logger(), Jobs: ins, Chatbot: chatbot.NewStore(pool),
		Channels: conns, PublicURL: hookPublicURL,
		Webhooks: web.Webhooks{
			TwilioValidate: func(tok string, r *http.Request) (url.Values, bool) {
				return twilio.ValidateRequest(tok, twilio.WebhookURL(hookPublicURL, r), r)
			},
			TwilioInbound: twilio.ParseInbound,
			TwilioStatus:  twilio.ParseStatus,
			TelegramCheck: telegram.CheckSecret,
			TelegramParse: telegram.ParseUpdate,
		},
		Ready: func(ctx context.Context) error { return migrations.Check(ctx, pool) }})
	f.http = httptest.NewServer(srv)
	t.Cleanup(f.http.Close)
	if f.ws, err = store.Create(ctx, "Alpha NGO", "KE"); err != nil {
		t.Fatal(err)
	}
	if f.wsB, err = store.Create(ctx, "Beta NGO", "KE"); err != nil {
		t.Fatal(err)
	}

	f.accountSID = "AC" + randomHex(32)
	f.twilioToken = randomHex(32)
	sec := json.RawMessage(fmt.Sprintf(`{"auth_token":%q}`, f.twilioToken))
	tw, err := conns.Add(ctx, f.ws.ID, connections.Input{Provider: connections.ProviderTwilio, Name: "SMS",
		Twilio: &connections.Twilio{AccountSID: f.accountSID, From: "+15005550006"}, Secrets: &sec}, hookActor)
	if err != nil {
		t.Fatal(err)
	}
	f.twilioKey = tw.WebhookKey

	f.botToken = "7000000001:" + base64.RawURLEncoding.EncodeToString([]byte(randomHex(30)))
	sec = json.RawMessage(fmt.Sprintf(`{"bot_token":%q}`, f.botToken))
	tg, err := conns.Add(ctx, f.ws.ID, connections.Input{Provider: connections.ProviderTelegram, Name: "Bot",
		Telegram: &connections.Telegram{}, Secrets: &sec}, hookActor)
	if err != nil {
		t.Fatal(err)
	}
	f.telegramKey = tg.WebhookKey
	tsec, err := conns.TelegramSecrets(tg)
	if err != nil {
		t.Fatal(err)
	}
	if tsec.WebhookSecret == "" || tsec.BotToken != f.botToken {
		t.Fatalf("telegram secrets read back: secret set %v, token kept %v", tsec.WebhookSecret != "", tsec.BotToken == f.botToken)
	}
	f.telegramSecret = tsec.WebhookSecret
	if f.twilioKey == "" || f.telegramKey == "" || f.twilioKey == f.telegramKey {
		t.Fatalf("webhook keys %q and %q", f.twilioKey, f.telegramKey)
	}
	return f
}

// twilioSignature computes X-Twilio-Signature as Twilio does: HMAC-SHA1 with the auth token over
// the full URL followed by each parameter name and value, sorted by name, in base64.
// twilio-go only checks signatures (its signer is unexported), so the fixture signs itself and
// has twilio-go's validator confirm every signature it makes.
func twilioSignature(t *testing.T, token, fullURL string, form url.Values) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(fullURL)
	params := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
			params[k] = v
		}
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(b.String()))
	sig := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if v := client.NewRequestValidator(token); !v.Validate(fullURL, params, sig) {
		t.Fatalf("twilio-go does not accept the test's own signature for %s", fullURL)
	}
	return sig
}

func TestTwilioSignerMatchesPublishedVector(t *testing.T) {
	t.Parallel()
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	if got := twilioSignature(t, "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Fatalf("signature %q, want Twilio's published 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", got)
	}
}

// post sends a request to the server and returns the status, Content-Type and body.
func (f *hookFixture) post(t *testing.T, target string, header map[string]string, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.http.URL+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.answers = append(f.answers, string(raw))
	f.mu.Unlock()
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(raw)
}

// twilio posts form to target signed with the channel's auth token for the public URL of target.
func (f *hookFixture) twilio(t *testing.T, target string, form url.Values) (int, string, string) {
	t.Helper()
	return f.post(t, target, map[string]string{
		"Content-Type":         "application/x-www-form-urlencoded",
		twilio.SignatureHeader: twilioSignature(t, f.twilioToken, hookPublicURL+target, form),
	}, form.Encode())
}

func (f *hookFixture) inboundPath() string { return "/hooks/twilio/" + f.twilioKey + "/inbound" }
func (f *hookFixture) statusPath() string  { return "/hooks/twilio/" + f.twilioKey + "/status" }
func (f *hookFixture) telegramPath() string {
	return "/hooks/telegram/" + f.telegramKey
}

// telegram posts an update with the given secret token header ("" leaves it out).
func (f *hookFixture) telegram(t *testing.T, path, secret, body string) (int, string) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	if secret != "" {
		h[telegram.SecretHeader] = secret
	}
	status, _, answer := f.post(t, path, h, body)
	return status, answer
}

// checkNoSecrets stops the server, so every log line is written, then searches the logs and
// every answer for the channels' credentials.
func (f *hookFixture) checkNoSecrets(t *testing.T) {
	t.Helper()
	f.http.Close()
	logs := f.logs.String()
	if !strings.Contains(logs, "/hooks/") {
		t.Fatal("no webhook request was logged at all; the search below would prove nothing")
	}
	_, botSecret, _ := strings.Cut(f.botToken, ":")
	f.mu.Lock()
	texts := append([]string{logs}, f.answers...)
	f.mu.Unlock()
	channeltest.AssertNoSecrets(t, []string{f.twilioToken, botSecret, f.telegramSecret}, texts...)
}

type storedInbound struct {
	id         int64
	kind       string
	providerID string
}

// inbound lists the stored inbound messages of a workspace, oldest first.
func (f *hookFixture) inbound(t *testing.T, wsID int64) []storedInbound {
	t.Helper()
	rows, err := f.pool.Query(context.Background(),
		`SELECT id, channel_kind, provider_id FROM inbound_messages WHERE workspace_id = $1 ORDER BY id`, wsID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedInbound, error) {
		var s storedInbound
		return s, r.Scan(&s.id, &s.kind, &s.providerID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *hookFixture) countInbound(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM inbound_messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *hookFixture) get(t *testing.T, wsID, id int64) messages.InboundMessage {
	t.Helper()
	m, err := f.inbox.Get(context.Background(), wsID, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readForm(t *testing.T, path string) url.Values {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return form
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestTwilioInboundStoredOnce(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	form := readForm(t, "../channels/twilio/testdata/inbound_amharic.form")
	wantText := "ሰላም፣ ስለ ሥራ ቪዛ መረጃ እፈልጋለሁ"
	if form.Get("Body") != wantText {
		t.Fatalf("recorded body is %q", form.Get("Body"))
	}
	for i := range 2 {
		status, ct, body := f.twilio(t, f.inboundPath(), form)
		if status != http.StatusOK || ct != "text/xml" || body != twiml {
			t.Fatalf("inbound #%d: %d %q %q", i+1, status, ct, body)
		}
		got := f.inbound(t, f.ws.ID)
		if len(got) != 1 || got[0].providerID != "SM1a2b3c4d5e6f708192a3b4c5d6e7f809" || got[0].kind != "sms" {
			t.Fatalf("after inbound #%d the workspace holds %+v; want the one message", i+1, got)
		}
		m := f.get(t, f.ws.ID, got[0].id)
		if m.From != "+251900000001" || m.Text != wantText || m.Kind != channels.KindSMS || m.ContactID != nil {
			t.Fatalf("stored message: %+v", m)
		}
	}
	if n := f.countInbound(t); n != 1 {
		t.Fatalf("%d inbound messages in the database, want 1", n)
	}
	f.checkNoSecrets(t)
}

func TestTwilioWebhookRefusesForgeries(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	ctx := context.Background()
	d := f.delivery(t, f.ws.ID, "sending", nil)
	inbound := url.Values{"MessageSid": {"SM" + randomHex(32)}, "AccountSid": {f.accountSID}, "From": {"+254712345678"},
		"To": {"+15005550006"}, "Body": {"Help me"}, "SmsStatus": {"received"}, "NumMedia": {"0"}}
	statusTarget := fmt.Sprintf("%s?d=%d", f.statusPath(), d)
	status := url.Values{"MessageSid": {"SM" + randomHex(32)}, "MessageStatus": {"delivered"}, "AccountSid": {f.accountSID}}
	form := "application/x-www-form-urlencoded"
	sign := func(token, u string, v url.Values) string { return twilioSignature(t, token, u, v) }
	changed := func(v url.Values, k, val string) url.Values {
		c := url.Values{}
		maps.Copy(c, v)
		c.Set(k, val)
		return c
	}
	unknownKey := "/hooks/twilio/" + strings.ToLower(rand.Text()) + "/inbound"
	unknownStatus := strings.Replace(statusTarget, f.twilioKey, strings.ToLower(rand.Text()), 1)
	cases := []struct {
		name, target string
		header       map[string]string
		body         string
	}{
		{"forged signature", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(randomHex(32), hookPublicURL+f.inboundPath(), inbound)}, inbound.Encode()},
		{"missing signature", f.inboundPath(), map[string]string{"Content-Type": form}, inbound.Encode()},
		{"empty signature", f.inboundPath(), map[string]string{"Content-Type": form, twilio.SignatureHeader: ""}, inbound.Encode()},
		{"signature for the status URL", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+f.statusPath(), inbound)}, inbound.Encode()},
		{"signature for another host", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, "https://attacker.example"+f.inboundPath(), inbound)}, inbound.Encode()},
		{"signature for the server's own address", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, f.http.URL+f.inboundPath(), inbound)}, inbound.Encode()},
		{"replay with the body changed", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+f.inboundPath(), inbound)},
			changed(inbound, "Body", "Help me now").Encode()},
		{"replay with the sender changed", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+f.inboundPath(), inbound)},
			changed(inbound, "From", "+254712345679").Encode()},
		{"replay with a parameter added twice", f.inboundPath(),
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+f.inboundPath(), inbound)},
			inbound.Encode() + "&Body=STOP"},
		{"JSON body", f.inboundPath(),
			map[string]string{"Content-Type": "application/json", twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+f.inboundPath(), url.Values{})}, `{}`},
		{"unknown webhook key", unknownKey,
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+unknownKey, inbound)}, inbound.Encode()},
		{"the Telegram channel's key", "/hooks/twilio/" + f.telegramKey + "/inbound",
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+"/hooks/twilio/"+f.telegramKey+"/inbound", inbound)}, inbound.Encode()},
		// Status callbacks: a forged receipt must not move the delivery.
		{"forged status", statusTarget,
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(randomHex(32), hookPublicURL+statusTarget, status)}, status.Encode()},
		{"status signed for another delivery", statusTarget,
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, fmt.Sprintf("%s%s?d=%d", hookPublicURL, f.statusPath(), d+1), status)}, status.Encode()},
		{"status signed without the delivery", statusTarget,
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+f.statusPath(), status)}, status.Encode()},
		{"status with its outcome changed", statusTarget,
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+statusTarget, changed(status, "MessageStatus", "sent"))}, status.Encode()},
		{"status on an unknown key", unknownStatus,
			map[string]string{"Content-Type": form, twilio.SignatureHeader: sign(f.twilioToken, hookPublicURL+unknownStatus, status)}, status.Encode()},
	}
	before := f.deliveryState(t, d)
	for _, c := range cases {
		got, _, body := f.post(t, c.target, c.header, c.body)
		if got != http.StatusForbidden || body != "Forbidden\n" {
			t.Errorf("%s: %d %q, want 403 Forbidden", c.name, got, body)
		}
	}
	if n := f.countInbound(t); n != 0 {
		t.Fatalf("forged requests stored %d inbound messages", n)
	}
	if after := f.deliveryState(t, d); after != before {
		t.Fatalf("forged callbacks moved the delivery from %+v to %+v", before, after)
	}
	var events int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM consent_events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 0 {
		t.Fatalf("forged requests wrote %d consent events", events)
	}
	// The genuine request still goes through afterwards.
	if got, _, body := f.twilio(t, f.inboundPath(), inbound); got != http.StatusOK || body != twiml {
		t.Fatalf("genuine inbound after the forgeries: %d %q", got, body)
	}
	if n := f.countInbound(t); n != 1 {
		t.Fatalf("%d inbound messages after the genuine one, want 1", n)
	}
	f.checkNoSecrets(t)
}

// person adds a contact of the fixture's workspace with an SMS number, opted in.
func (f *hookFixture) person(t *testing.T, ws workspaces.Workspace, phone, lang string) int64 {
	t.Helper()
	c, err := f.contacts.Create(context.Background(), ws, contacts.NewContact{
		Fields:     contacts.Fields{Language: &lang},
		Identities: []contacts.IdentityInput{{Kind: "sms", Value: phone}},
		Consent:    []contacts.ConsentInput{{Channel: "sms", Status: contacts.StatusOptIn}},
	}, contacts.SourceAPI, hookActor)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

type consentRow struct {
	status, source      string
	optOutType, message string
}

// consent returns a contact's SMS consent events, oldest first.
func (f *hookFixture) consent(t *testing.T, contactID int64) []consentRow {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT status, source, coalesce(evidence->>'opt_out_type', ''),
		coalesce(evidence->>'message', '') FROM consent_events WHERE contact_id = $1 AND channel_kind = 'sms' ORDER BY id`, contactID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (consentRow, error) {
		var c consentRow
		return c, r.Scan(&c.status, &c.source, &c.optOutType, &c.message)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *hookFixture) suppressed(t *testing.T, ws workspaces.Workspace, phone string) bool {
	t.Helper()
	s, err := f.contacts.Suppressed(context.Background(), ws, contacts.KindSMS, phone)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keywordForm(f *hookFixture, sid, from, body, optOut string) url.Values {
	v := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {f.accountSID},
		"From": {from}, "To": {"+15005550006"}, "Body": {body}, "SmsStatus": {"received"}, "NumMedia": {"0"},
		"NumSegments": {"1"}, "ApiVersion": {"2010-04-01"}}
	if optOut != "" {
		v.Set("OptOutType", optOut)
	}
	return v
}

func TestTwilioProviderOptOutAndOptIn(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	const phone = "+254712345678"
	amina := f.person(t, f.ws, phone, "sw")
	// The same number in another workspace is another person's consent, and must not change.
	other := f.person(t, f.wsB, phone, "sw")

	send := func(form url.Values) {
		t.Helper()
		if status, ct, body := f.twilio(t, f.inboundPath(), form); status != http.StatusOK || ct != "text/xml" || body != twiml {
			t.Fatalf("inbound %s %q: %d %q %q", form.Get("OptOutType"), form.Get("Body"), status, ct, body)
		}
	}
	stopSID := "SM" + randomHex(32)
	// The recorded STOP of Twilio's Advanced Opt-Out, from our contact's number.
	stop := readForm(t, "../channels/twilio/testdata/inbound_optout_stop.form")
	stop.Set("From", phone)
	for _, k := range []string{"MessageSid", "SmsSid", "SmsMessageSid"} {
		stop.Set(k, stopSID)
	}
	send(stop)
	want := []consentRow{{"opt_in", "api", "", ""}, {"opt_out", "provider", "stop", stopSID}}
	if got := f.consent(t, amina); !slices.Equal(got, want) {
		t.Fatalf("ledger after STOP: %+v, want %+v", got, want)
	}
	if !f.suppressed(t, f.ws, phone) {
		t.Fatal("STOP left the number unsuppressed")
	}

	startSID := "SM" + randomHex(32)
	send(keywordForm(f, startSID, phone, "START", "START"))
	want = append(want, consentRow{"opt_in", "keyword", "start", startSID})
	if got := f.consent(t, amina); !slices.Equal(got, want) {
		t.Fatalf("ledger after START: %+v, want %+v", got, want)
	}
	if f.suppressed(t, f.ws, phone) {
		t.Fatal("START left the number suppressed")
	}

	// Twilio retries the STOP after the START: the retry is the same message and changes nothing.
	send(stop)
	if got := f.consent(t, amina); !slices.Equal(got, want) {
		t.Fatalf("ledger after a retried STOP: %+v, want %+v", got, want)
	}
	if f.suppressed(t, f.ws, phone) {
		t.Fatal("a retried STOP suppressed the number again")
	}

	// HELP is stored and changes no consent.
	send(keywordForm(f, "SM"+randomHex(32), phone, "HELP", "HELP"))
	if got := f.consent(t, amina); !slices.Equal(got, want) {
		t.Fatalf("ledger after HELP: %+v, want %+v", got, want)
	}

	// STOP from a number that is no contact: suppressed all the same, with no ledger entry.
	const stranger = "+254712000999"
	send(keywordForm(f, "SM"+randomHex(32), stranger, "STOP", "STOP"))
	if !f.suppressed(t, f.ws, stranger) {
		t.Fatal("STOP from an unknown number left it unsuppressed")
	}
	var strangers, contactsWithNumber int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM consent_events WHERE contact_id IS NULL`).Scan(&strangers); err != nil {
		t.Fatal(err)
	}
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM contacts WHERE workspace_id = $1`, f.ws.ID).Scan(&contactsWithNumber); err != nil {
		t.Fatal(err)
	}
	if strangers != 0 || contactsWithNumber != 1 {
		t.Fatalf("STOP from a stranger: %d ledger rows without contact, %d contacts; want 0 and 1", strangers, contactsWithNumber)
	}
	// START from the stranger is stored but does not lift the suppression: they are no contact.
	send(keywordForm(f, "SM"+randomHex(32), stranger, "START", "START"))
	if !f.suppressed(t, f.ws, stranger) {
		t.Fatal("START from an unknown number lifted its suppression")
	}

	// Nothing reached the other workspace.
	if got := f.consent(t, other); !slices.Equal(got, []consentRow{{"opt_in", "api", "", ""}}) {
		t.Fatalf("the other workspace's contact has ledger %+v", got)
	}
	if f.suppressed(t, f.wsB, phone) || f.suppressed(t, f.wsB, stranger) {
		t.Fatal("a STOP suppressed the number in another workspace")
	}
	got := f.inbound(t, f.ws.ID)
	if len(got) != 5 {
		t.Fatalf("%d inbound messages stored, want 5 (STOP, START, HELP, and the stranger's two)", len(got))
	}
	if m := f.get(t, f.ws.ID, got[0].id); m.ProviderID != stopSID || m.From != phone || m.Text != "አቁም" {
		t.Fatalf("stored STOP: %+v", m)
	}
	f.checkNoSecrets(t)
}

// delivery inserts an SMS delivery of a sending campaign in workspace wsID, as the send engine
// leaves it, and returns its id.
func (f *hookFixture) delivery(t *testing.T, wsID int64, status string, providerID *string) int64 {
	t.Helper()
	ctx := context.Background()
	rank := channels.Status(status).Rank()
	var campaignID, runID, id int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO campaigns (workspace_id, name, state, channel_order)
		VALUES ($1, 'Roads', 'sending', '{sms}') RETURNING id`, wsID).Scan(&campaignID); err != nil {
		t.Fatal(err)
	}
	if err := f.pool.QueryRow(ctx, `INSERT INTO campaign_runs (workspace_id, campaign_id, state, recipients)
		VALUES ($1, $2, 'sending', 1) RETURNING id`, wsID, campaignID).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	if err := f.pool.QueryRow(ctx, `INSERT INTO deliveries (workspace_id, campaign_id, campaign_run_id, channel_kind,
		language, status, status_rank, provider_id, segments, sent_at)
		VALUES ($1, $2, $3, 'sms', 'en', $4, $5, $6, CASE WHEN $6::text IS NULL THEN NULL ELSE 1 END,
		        CASE WHEN $6::text IS NULL THEN NULL ELSE now() END) RETURNING id`,
		wsID, campaignID, runID, status, rank, providerID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

type deliveryState struct {
	status     string
	rank       int
	providerID string
	errorCode  string
	final      bool
	updated    time.Time
}

func (f *hookFixture) deliveryState(t *testing.T, id int64) deliveryState {
	t.Helper()
	var s deliveryState
	if err := f.pool.QueryRow(context.Background(), `SELECT status, status_rank, coalesce(provider_id, ''),
		coalesce(error_code, ''), final_at IS NOT NULL, updated_at FROM deliveries WHERE id = $1`, id).
		Scan(&s.status, &s.rank, &s.providerID, &s.errorCode, &s.final, &s.updated); err != nil {
		t.Fatal(err)
	}
	return s
}

// status posts a signed status callback; d = 0 leaves ?d= out.
func (f *hookFixture) status(t *testing.T, d int64, sid, status, errorCode string) int {
	t.Helper()
	target := f.statusPath()
	if d != 0 {
		target += fmt.Sprintf("?d=%d", d)
	}
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {f.accountSID}, "From": {"+15005550006"}, "To": {"+254712345678"}, "ApiVersion": {"2010-04-01"}}
	if errorCode != "" {
		form.Set("ErrorCode", errorCode)
	}
	code, _, body := f.twilio(t, target, form)
	if body != "" {
		t.Errorf("status callback answered with a body: %q", body)
	}
	return code
}

func TestTwilioStatusCallbacks(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	// Delivered arrives before the send's commit recorded the SID: the ?d= in the callback URL
	// ties it to the delivery.
	early := f.delivery(t, f.ws.ID, "sending", nil)
	sid := "SM" + randomHex(32)
	if code := f.status(t, early, sid, "delivered", ""); code != http.StatusNoContent {
		t.Fatalf("early delivered: %d", code)
	}
	st := f.deliveryState(t, early)
	if st.status != "delivered" || st.rank != 40 || st.providerID != sid || st.errorCode != "" || !st.final {
		t.Fatalf("after an early delivered: %+v", st)
	}
	// A late sent, a duplicate delivered and a contradicting undelivered change nothing.
	for _, c := range []struct{ status, code string }{{"sent", ""}, {"delivered", ""}, {"queued", ""}, {"undelivered", "30003"}, {"failed", "30008"}} {
		if code := f.status(t, early, sid, c.status, c.code); code != http.StatusNoContent {
			t.Fatalf("late %s: %d", c.status, code)
		}
		if again := f.deliveryState(t, early); again != st {
			t.Fatalf("late %s changed the delivery from %+v to %+v", c.status, st, again)
		}
	}
	// The same delivery's callback naming another message (a second message Twilio accepted
	// for it) does not overwrite the SID.
	if code := f.status(t, early, "SM"+randomHex(32), "read", ""); code != http.StatusNoContent {
		t.Fatalf("callback for another SID: %d", code)
	}
	if again := f.deliveryState(t, early); again != st {
		t.Fatalf("a callback for another SID changed the delivery from %+v to %+v", st, again)
	}

	// Without ?d= the SID alone finds the delivery, and statuses move forward only.
	sentSID := "SM" + randomHex(32)
	sent := f.delivery(t, f.ws.ID, "sent", &sentSID)
	if code := f.status(t, 0, sentSID, "sending", ""); code != http.StatusNoContent {
		t.Fatal(code)
	}
	if st := f.deliveryState(t, sent); st.status != "sent" || st.final {
		t.Fatalf("a lower status moved the delivery: %+v", st)
	}
	if code := f.status(t, 0, sentSID, "undelivered", "30003"); code != http.StatusNoContent {
		t.Fatal(code)
	}
	st2 := f.deliveryState(t, sent)
	if st2.status != "undelivered" || st2.errorCode != "30003" || st2.providerID != sentSID || !st2.final {
		t.Fatalf("after undelivered: %+v", st2)
	}

	// Unknown SIDs, an unknown delivery and an unknown status are acknowledged and change nothing.
	third := f.delivery(t, f.ws.ID, "sending", nil)
	before := []deliveryState{f.deliveryState(t, early), f.deliveryState(t, sent), f.deliveryState(t, third)}
	for _, c := range []struct {
		d      int64
		sid    string
		status string
	}{
		{0, "SM" + randomHex(32), "delivered"},
		{third + 1000, "SM" + randomHex(32), "delivered"},
		{0, sentSID, "paused"},
		{third, "SM" + randomHex(32), "paused"},
	} {
		if code := f.status(t, c.d, c.sid, c.status, ""); code != http.StatusNoContent {
			t.Fatalf("callback %+v: %d, want 204", c, code)
		}
	}
	after := []deliveryState{f.deliveryState(t, early), f.deliveryState(t, sent), f.deliveryState(t, third)}
	if !slices.Equal(before, after) {
		t.Fatalf("unknown callbacks changed deliveries:\n%+v\n%+v", before, after)
	}
	f.checkNoSecrets(t)
}

// TestTwilioStatusStaysInWorkspace posts callbacks signed with workspace A's auth token that name
// workspace B's deliveries, by ?d= and by SID: A's token must not move B's deliveries.
func TestTwilioStatusStaysInWorkspace(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	queued := f.delivery(t, f.wsB.ID, "sending", nil)
	sidB := "SM" + randomHex(32)
	sent := f.delivery(t, f.wsB.ID, "sent", &sidB)
	beforeQueued, beforeSent := f.deliveryState(t, queued), f.deliveryState(t, sent)
	if code := f.status(t, queued, "SM"+randomHex(32), "failed", "30008"); code != http.StatusNoContent {
		t.Fatalf("callback naming another workspace's delivery: %d", code)
	}
	if code := f.status(t, 0, sidB, "undelivered", "30003"); code != http.StatusNoContent {
		t.Fatalf("callback naming another workspace's SID: %d", code)
	}
	var moved []string
	if st := f.deliveryState(t, queued); st != beforeQueued {
		moved = append(moved, fmt.Sprintf("by ?d=%d: %s -> %s (provider_id %q, error %s)", queued, beforeQueued.status, st.status, st.providerID, st.errorCode))
	}
	if st := f.deliveryState(t, sent); st != beforeSent {
		moved = append(moved, fmt.Sprintf("by MessageSid: %s -> %s (error %s)", beforeSent.status, st.status, st.errorCode))
	}
	if len(moved) > 0 {
		t.Fatalf("status callbacks on workspace %d's Twilio channel, signed with its own auth token, changed workspace %d's deliveries %s. "+
			"web/hooks.go twilioStatus passes no workspace to Campaigns.ApplyStatusForDelivery/ApplyStatus, and the queries "+
			"DeliveryStatusByID/DeliveryStatusByProvider (campaigns/queries/campaigns.sql) do not filter on workspace_id",
			f.ws.ID, f.wsB.ID, strings.Join(moved, "; "))
	}
}

// smsOvertaken is an SMS sender whose provider reports delivery before Send returns, as Twilio
// may when its callback beats our commit of the SID.
type smsOvertaken struct {
	t   *testing.T
	f   *hookFixture
	sid string
	got []channels.Message
}

func (s *smsOvertaken) Kind() channels.Kind { return channels.KindSMS }

func (s *smsOvertaken) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	s.got = append(s.got, m)
	if code := s.f.status(s.t, m.DeliveryID, s.sid, "delivered", ""); code != http.StatusNoContent {
		s.t.Errorf("callback during the send: %d", code)
	}
	return channels.Result{ProviderID: s.sid, Status: channels.StatusQueued}, nil
}

// TestStatusCallbackOvertakesSend runs a real send whose delivery receipt arrives through the
// webhook before the send's own commit: the delivery ends delivered, with the SID, and the send
// still records its segments and time.
func TestStatusCallbackOvertakesSend(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	ctx := context.Background()
	contact := f.person(t, f.ws, "+254712345678", "en")
	sender := &smsOvertaken{t: t, f: f, sid: "SM" + randomHex(32)}
	name, text, order := "Roads", "Check the road before you go", []string{"sms"}
	noHint := false
	c, err := f.campaigns.Create(ctx, f.ws.ID, campaigns.Input{Name: &name, Contents: &campaigns.Contents{"en": {Other: text}},
		ChannelOrder: &order, AppendOptOut: &noHint}, hookActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.campaigns.Schedule(ctx, f.ws.ID, c.ID, hookActor); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error { return f.campaigns.StartRun(ctx, tx, c.ID) }); err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := f.pool.QueryRow(ctx, `SELECT id FROM campaign_runs WHERE campaign_id = $1`, c.ID).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	rc := campaigns.NewRendererCache()
	for done := false; !done; {
		if err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
			var err error
			done, _, err = f.campaigns.FanoutStep(ctx, tx, runID, rc)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var d int64
	if err := f.pool.QueryRow(ctx, `SELECT id FROM deliveries WHERE campaign_run_id = $1 AND contact_id = $2`, runID, contact).Scan(&d); err != nil {
		t.Fatal(err)
	}
	finished := false
	out, err := f.campaigns.Send(ctx, campaigns.SendArgs{RunID: runID, Channel: channels.KindSMS, DeliveryIDs: []int64{d}}, 1,
		func(ctx context.Context, wsID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
			return sender, ratelimit.Limit{}, nil
		}, rc, func(ctx context.Context, tx pgx.Tx) error { finished = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if out.Sent != 1 || out.Failed != 0 || !out.Completed || !finished {
		t.Fatalf("send outcome %+v, finished %v", out, finished)
	}
	if len(sender.got) != 1 || sender.got[0].Text != text || sender.got[0].To != "+254712345678" || sender.got[0].DeliveryID != d {
		t.Fatalf("sender got %+v", sender.got)
	}
	st := f.deliveryState(t, d)
	if st.status != "delivered" || st.providerID != sender.sid || !st.final {
		t.Fatalf("delivery after the overtaken send: %+v", st)
	}
	var segments *int32
	var sentAt *time.Time
	if err := f.pool.QueryRow(ctx, `SELECT segments, sent_at FROM deliveries WHERE id = $1`, d).Scan(&segments, &sentAt); err != nil {
		t.Fatal(err)
	}
	if segments == nil || *segments != 1 || sentAt == nil {
		seg := "NULL"
		if segments != nil {
			seg = fmt.Sprint(*segments)
		}
		t.Fatalf("when the delivery receipt beats the send's commit, the send records neither segments nor sent_at "+
			"(segments %s, sent_at set %v): campaigns/queries/campaigns.sql DeliverySent only updates WHERE status_rank < 30, "+
			"so campaigns.Send's record of a message the callback already marked delivered is dropped whole", seg, sentAt != nil)
	}
}

func TestTelegramWebhook(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	td := func(name string) string { return readFile(t, "../channels/telegram/testdata/"+name) }
	text := td("message_amharic.json")

	// Refused: nothing stored.
	unknown := "/hooks/telegram/" + strings.ToLower(rand.Text())
	for _, c := range []struct {
		name, path, secret string
	}{
		{"no secret", f.telegramPath(), ""},
		{"wrong secret", f.telegramPath(), rand.Text()},
		{"secret with a byte more", f.telegramPath(), f.telegramSecret + "x"},
		{"secret cut short", f.telegramPath(), f.telegramSecret[:len(f.telegramSecret)-1]},
		{"the bot token as secret", f.telegramPath(), f.botToken},
		{"unknown key", unknown, f.telegramSecret},
		{"the Twilio channel's key", "/hooks/telegram/" + f.twilioKey, f.telegramSecret},
	} {
		if status, body := f.telegram(t, c.path, c.secret, text); status != http.StatusUnauthorized || body != "Unauthorized\n" {
			t.Errorf("%s: %d %q, want 401", c.name, status, body)
		}
	}
	if n := f.countInbound(t); n != 0 {
		t.Fatalf("refused updates stored %d messages", n)
	}

	// Malformed bodies are 400 and store nothing.
	for _, body := range []string{td("malformed.json"), `{"message":{"message_id":1,"chat":{"id":5,"type":"private"},"text":"hi"}}`, ``, `[]`} {
		if status, answer := f.telegram(t, f.telegramPath(), f.telegramSecret, body); status != http.StatusBadRequest || answer != "Bad Request\n" {
			t.Errorf("malformed %q: %d %q, want 400", body, status, answer)
		}
	}
	// Update kinds Waymark does not handle are acknowledged and dropped.
	for _, name := range []string{"edited_message.json", "channel_post.json", "group_message.json", "photo_without_caption.json"} {
		if status, answer := f.telegram(t, f.telegramPath(), f.telegramSecret, td(name)); status != http.StatusOK || answer != "" {
			t.Errorf("%s: %d %q, want 200 and no body", name, status, answer)
		}
	}
	if n := f.countInbound(t); n != 0 {
		t.Fatalf("malformed or ignored updates stored %d messages", n)
	}

	// The right secret: stored once, however often Telegram retries.
	for i := range 3 {
		if status, answer := f.telegram(t, f.telegramPath(), f.telegramSecret, text); status != http.StatusOK || answer != "" {
			t.Fatalf("update #%d: %d %q", i+1, status, answer)
		}
	}
	// A caption counts as the text.
	if status, _ := f.telegram(t, f.telegramPath(), f.telegramSecret, td("photo_with_caption.json")); status != http.StatusOK {
		t.Fatalf("photo with caption: %d", status)
	}
	got := f.inbound(t, f.ws.ID)
	if len(got) != 2 || got[0].providerID != "u815200001" || got[1].providerID != "u815200007" {
		t.Fatalf("stored %+v; want updates 815200001 and 815200007 once each", got)
	}
	if m := f.get(t, f.ws.ID, got[0].id); m.Kind != channels.KindTelegram || m.From != "5000000001" || m.Text != "ስለ ሥራ ቪዛ መረጃ እፈልጋለሁ" {
		t.Fatalf("stored update: %+v", m)
	}
	if m := f.get(t, f.ws.ID, got[1].id); m.From != "5000000001" || m.Text != "ይህ ውል ትክክል ነው?" {
		t.Fatalf("stored caption: %+v", m)
	}
	if n := f.countInbound(t); n != 2 {
		t.Fatalf("%d inbound messages in the database, want 2", n)
	}
	// Every stored message gets one handling job (keywords, menus), retries none.
	if jobs := f.handleJobs(t); len(jobs) != 2 || jobs[0] != got[0].id || jobs[1] != got[1].id {
		t.Fatalf("handling jobs for %v, want one for each of %d and %d", jobs, got[0].id, got[1].id)
	}
	f.checkNoSecrets(t)
}

// handleJobs returns the message ids of the inbound handling jobs enqueued, in order.
func (f *hookFixture) handleJobs(t *testing.T) []int64 {
	t.Helper()
	rows, err := f.pool.Query(context.Background(),
		`SELECT (args->>'message_id')::bigint FROM river_job WHERE kind = 'inbound_handle' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestTelegramButtonPressAndStart posts an inline-button press and a /start deep link: both are
// stored once with what the bot needs to act on them, with one handling job each, however often
// Telegram retries.
func TestTelegramButtonPressAndStart(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t)
	td := func(name string) string { return readFile(t, "../channels/telegram/testdata/"+name) }
	for range 2 {
		for _, name := range []string{"callback_query.json", "start_payload.json"} {
			if status, answer := f.telegram(t, f.telegramPath(), f.telegramSecret, td(name)); status != http.StatusOK || answer != "" {
				t.Fatalf("%s: %d %q", name, status, answer)
			}
		}
	}
	got := f.inbound(t, f.ws.ID)
	if len(got) != 2 || got[0].providerID != "u815200004" || got[1].providerID != "u815200002" {
		t.Fatalf("stored %+v; want updates 815200004 and 815200002 once each", got)
	}
	press := f.get(t, f.ws.ID, got[0].id)
	if press.From != "5000000001" || press.Callback != "lang:am" || press.CallbackQueryID != "2151680941389837224" ||
		press.Text != "" || press.StartPayload != "" {
		t.Fatalf("stored press: %+v", press)
	}
	start := f.get(t, f.ws.ID, got[1].id)
	if start.From != "5000000001" || start.Text != "/start lang-am_c42" || start.StartPayload != "lang-am_c42" || start.Callback != "" {
		t.Fatalf("stored /start: %+v", start)
	}
	if jobs := f.handleJobs(t); !slices.Equal(jobs, []int64{got[0].id, got[1].id}) {
		t.Fatalf("handling jobs for messages %v, want one each for %d and %d", jobs, got[0].id, got[1].id)
	}
	f.checkNoSecrets(t)
}
