package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/twilio/twilio-go/client"

	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// twilioMessage is one message the fake Twilio accepted.
type twilioMessage struct {
	SID, To, From, Body, StatusCallback string
}

// fakeTwilio answers the Messages API as Twilio does: 201 with the new message's SID, queued.
type fakeTwilio struct {
	t          *testing.T
	srv        *httptest.Server
	accountSID string
	authToken  string

	mu   sync.Mutex
	msgs []twilioMessage
}

func newFakeTwilio(t *testing.T, accountSID, authToken string) *fakeTwilio {
	f := &fakeTwilio{t: t, accountSID: accountSID, authToken: authToken}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+f.accountSID+"/Messages.json" {
		f.t.Errorf("fake Twilio: unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":20404,"message":"The requested resource was not found","status":404}`)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.accountSID || pass != f.authToken {
		f.t.Errorf("fake Twilio: Basic auth user %q (present %v), password right %v", user, ok, pass == f.authToken)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		f.t.Errorf("fake Twilio: body is not a form: %v", err)
	}
	f.mu.Lock()
	m := twilioMessage{SID: fmt.Sprintf("SM%032x", len(f.msgs)+1), To: form.Get("To"), From: form.Get("From"),
		Body: form.Get("Body"), StatusCallback: form.Get("StatusCallback")}
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
	answer, _ := json.Marshal(map[string]any{"sid": m.SID, "account_sid": f.accountSID, "status": "queued",
		"to": m.To, "from": m.From, "body": m.Body, "num_segments": "1", "direction": "outbound-api"})
	w.WriteHeader(http.StatusCreated)
	w.Write(answer)
}

func (f *fakeTwilio) messages() []twilioMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.msgs)
}

// fakeTelegram answers the Bot API's setWebhook and sendMessage as Telegram does.
type fakeTelegram struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	webhooks []url.Values
	sends    []url.Values
	ids      map[string]int // message id given per chat
}

func newFakeTelegram(t *testing.T, token string) *fakeTelegram {
	f := &fakeTelegram{t: t, token: token, ids: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// botFields reads a Bot API request's parameters, which go-telegram/bot sends as multipart forms.
func botFields(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, err
		}
		return url.Values(r.MultipartForm.Value), nil
	case "application/json":
		var obj map[string]any
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
			return nil, err
		}
		v := url.Values{}
		for k, x := range obj {
			if s, ok := x.(string); ok {
				v.Set(k, s)
			} else {
				b, _ := json.Marshal(x)
				v.Set(k, string(b))
			}
		}
		return v, nil
	}
	err := r.ParseForm()
	return r.PostForm, err
}

func (f *fakeTelegram) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+f.token+"/")
	fields, err := botFields(r)
	if !ok || r.Method != http.MethodPost || err != nil {
		f.t.Errorf("fake Telegram: unexpected %s request (%v)", r.Method, err)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "setWebhook":
		f.webhooks = append(f.webhooks, fields)
		io.WriteString(w, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "sendMessage":
		f.sends = append(f.sends, fields)
		chat, err := strconv.ParseInt(fields.Get("chat_id"), 10, 64)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
			return
		}
		id := 100 + len(f.sends)
		f.ids[fields.Get("chat_id")] = id
		answer, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{"message_id": id, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chat, "type": "private"}, "text": fields.Get("text"),
			"from": map[string]any{"id": 7000000001, "is_bot": true, "first_name": "Info Line"}}})
		w.Write(answer)
	default:
		f.t.Errorf("fake Telegram: unexpected method %s", method)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

func (f *fakeTelegram) calls() (webhooks, sends []url.Values, ids map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.webhooks), slices.Clone(f.sends), maps.Clone(f.ids)
}

// signTwilio computes X-Twilio-Signature for a POST to fullURL with form, and has twilio-go's
// validator confirm it (twilio-go's own signer is unexported).
func signTwilio(t *testing.T, token, fullURL string, form url.Values) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(fullURL)
	params := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(form)) {
		b.WriteString(k + form.Get(k))
		params[k] = form.Get(k)
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(b.String()))
	sig := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if v := client.NewRequestValidator(token); !v.Validate(fullURL, params, sig) {
		t.Fatalf("twilio-go rejects the test's signature for %s", fullURL)
	}
	return sig
}

// postTo sends body to the listen address with the request target of publicURL (the address a
// provider calls, behind the TLS proxy the public URL stands for) and returns status and answer.
func postTo(t *testing.T, addr, publicURL string, header map[string]string, body string) (int, string) {
	t.Helper()
	u, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+u.RequestURI(), strings.NewReader(body))
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
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func postTwilio(t *testing.T, addr, token, publicURL string, form url.Values) (int, string) {
	t.Helper()
	return postTo(t, addr, publicURL, map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Twilio-Signature": signTwilio(t, token, publicURL, form)}, form.Encode())
}

// serveProcess runs `waymark serve` and collects its log.
type serveProcess struct {
	cmd    *exec.Cmd
	exited chan error
	logged chan struct{}
	logs   bytes.Buffer
}

func startServe(t *testing.T, env []string, addr string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(binary, "serve"), exited: make(chan error, 1), logged: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WAYMARK_DB_MAX_CONNS=12"}, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.logs.WriteString(sc.Text() + "\n")
		}
		close(p.logged)
	}()
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-p.exited:
			<-p.logged
			t.Fatalf("serve exited early: %v\n%s", err, p.logs.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends serve with SIGTERM, expects a clean exit and returns everything it logged.
func (p *serveProcess) stop(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		<-p.logged
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("serve did not stop after SIGTERM")
	}
	return p.logs.String()
}

// optOutHint is the opt-out line package locales ships for lang, which campaigns append.
func optOutHint(t *testing.T, lang string) string {
	t.Helper()
	s, err := i18n.NewLocalizer(locales.Bundle(), lang).Localize(&i18n.LocalizeConfig{MessageID: locales.OptOutHint})
	if err != nil || s == "" {
		t.Fatalf("no opt-out hint for %s: %v", lang, err)
	}
	return s
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

type finalDelivery struct {
	id                                   int64
	kind, language, status, provider, ec string
	segments                             int32
	final                                bool
}

func campaignDeliveries(t *testing.T, pool *pgxpool.Pool, campaignID int64) map[int64]finalDelivery {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT contact_id, id, channel_kind, language, status,
		coalesce(provider_id, ''), coalesce(error_code, ''), coalesce(segments, 0), final_at IS NOT NULL
		FROM deliveries WHERE campaign_id = $1`, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]finalDelivery{}
	for rows.Next() {
		var contact int64
		var d finalDelivery
		if err := rows.Scan(&contact, &d.id, &d.kind, &d.language, &d.status, &d.provider, &d.ec, &d.segments, &d.final); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[contact]; dup {
			t.Fatalf("contact %d has two deliveries", contact)
		}
		out[contact] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestServeWithTwilioAndTelegram runs `waymark serve` with a Twilio channel and a Telegram channel
// pointed at fake providers, sends a campaign, delivers status callbacks and inbound replies
// through the real webhook routes, and checks the outcome in the database.
func TestServeWithTwilioAndTelegram(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const publicURL = "https://waymark.test"
	const from = "+15005550006"
	accountSID := fmt.Sprintf("AC%x", randomBytes(t, 16))
	authToken := fmt.Sprintf("%x", randomBytes(t, 16))
	botSecret := base64.RawURLEncoding.EncodeToString(randomBytes(t, 27))
	botToken := "7000000001:" + botSecret
	tw := newFakeTwilio(t, accountSID, authToken)
	tg := newFakeTelegram(t, botToken)
	addr := freeAddr(t)
	env, pool := install(t, 0, "WAYMARK_HTTP_ADDR="+addr, "WAYMARK_PUBLIC_URL="+publicURL, "WAYMARK_LOG_LEVEL=debug")
	var outputs []string // everything the CLI printed, searched for credentials at the end

	// Channels, added through the CLI with the credentials on standard input.
	r := waymark(t, env, authToken+"\n", "channels", "add", "twilio", "--account-sid", accountSID, "--auth-token", "-",
		"--from", from, "--rate", "50", "--api-url", tw.srv.URL, "--json")
	outputs = append(outputs, r.stdout, r.stderr)
	var smsCh struct {
		Channel  struct{ Kind, Provider string }
		Webhooks map[string]string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &smsCh) != nil {
		t.Fatalf("channels add twilio: %+v", r)
	}
	key, ok := strings.CutSuffix(strings.TrimPrefix(smsCh.Webhooks["inbound"], publicURL+"/hooks/twilio/"), "/inbound")
	if smsCh.Channel.Kind != "sms" || !ok || key == "" || strings.Contains(key, "/") ||
		smsCh.Webhooks["status"] != publicURL+"/hooks/twilio/"+key+"/status" {
		t.Fatalf("twilio channel: %+v", smsCh)
	}
	r = waymark(t, env, botToken+"\n", "channels", "add", "telegram", "--bot-token", "-", "--api-url", tg.srv.URL, "--json")
	outputs = append(outputs, r.stdout, r.stderr)
	var tgCh struct {
		Channel  struct{ Kind, Provider string }
		Webhooks map[string]string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &tgCh) != nil {
		t.Fatalf("channels add telegram: %+v", r)
	}
	hooks, _, _ := tg.calls()
	if len(hooks) != 1 {
		t.Fatalf("setWebhook called %d times, want once", len(hooks))
	}
	updatesURL, secret := hooks[0].Get("url"), hooks[0].Get("secret_token")
	if tgCh.Channel.Kind != "telegram" || updatesURL != tgCh.Webhooks["updates"] ||
		!strings.HasPrefix(updatesURL, publicURL+"/hooks/telegram/") || strings.HasSuffix(updatesURL, "/hooks/telegram/") {
		t.Fatalf("telegram channel %+v; setWebhook url %q", tgCh, updatesURL)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{16,256}$`).MatchString(secret) {
		t.Fatalf("setWebhook secret_token is %d characters of the wrong kind", len(secret))
	}

	// Contacts: two by SMS, two by Telegram (one of them has a number without consent), and one
	// with no consent at all, who gets nothing.
	keys, err := pii.LoadKeyFile(pii.DefaultKeyFile(envValue(env, "WAYMARK_DATA_DIR")))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspaces.NewStore(pool).GetByName(ctx, "Field Team")
	if err != nil {
		t.Fatal(err)
	}
	people := []struct {
		name, lang, phone, chat string
		smsOK, tgOK             bool
	}{
		{"Amina", "en", "+254712345601", "", true, false},
		{"Abebe", "am", "+254712345602", "5000000002", true, true},
		{"Huda", "ar", "", "5000000003", false, true},
		{"Baraka", "en", "+254712345604", "5000000004", false, true},
		{"Zawadi", "en", "+254712345605", "", false, false},
	}
	ids := make([]int64, len(people))
	cs := contacts.NewStore(pool, keys)
	for i, p := range people {
		in := contacts.NewContact{Fields: contacts.Fields{Name: &p.name, Language: &p.lang}}
		if p.phone != "" {
			in.Identities = append(in.Identities, contacts.IdentityInput{Kind: "sms", Value: p.phone})
		}
		if p.chat != "" {
			in.Identities = append(in.Identities, contacts.IdentityInput{Kind: "telegram", Value: p.chat})
		}
		if p.smsOK {
			in.Consent = append(in.Consent, contacts.ConsentInput{Channel: "sms", Status: contacts.StatusOptIn})
		}
		if p.tgOK {
			in.Consent = append(in.Consent, contacts.ConsentInput{Channel: "telegram", Status: contacts.StatusOptIn})
		}
		c, err := cs.Create(ctx, ws, in, contacts.SourceAPI, workspaces.CLIActor("test"))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}

	texts := map[string]string{"en": "Check the road before you go", "ar": "تحقق من الطريق قبل أن تذهب", "am": "ከመሄድዎ በፊት መንገዱን ያረጋግጡ"}
	r = waymark(t, env, "", "campaign", "create", "--name", "Roads", "--text", "en="+texts["en"], "--text", "ar="+texts["ar"],
		"--text", "am="+texts["am"], "--channel", "sms", "--channel", "telegram", "--json")
	var camp struct {
		ID           int64
		State        string
		ChannelOrder []string `json:"channel_order"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &camp) != nil || camp.State != "draft" || !slices.Equal(camp.ChannelOrder, []string{"sms", "telegram"}) {
		t.Fatalf("campaign create: %+v %+v", r, camp)
	}

	serve := startServe(t, env, addr)
	if r := waymark(t, env, "", "campaign", "schedule", fmt.Sprint(camp.ID)); r.code != 0 {
		t.Fatalf("schedule: %+v", r)
	}

	// Wait until both providers have every message and the sends are recorded.
	var dels map[int64]finalDelivery
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, sends, _ := tg.calls()
		dels = campaignDeliveries(t, pool, camp.ID)
		recorded := 0
		for _, d := range dels {
			if d.status == "sent" && d.provider != "" {
				recorded++
			}
		}
		if len(tw.messages()) >= 2 && len(sends) >= 2 && recorded == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %d SMS, %d Telegram messages sent, deliveries %+v", len(tw.messages()), len(sends), dels)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(dels) != 4 {
		t.Fatalf("%d deliveries, want 4 (Zawadi has no consent): %+v", len(dels), dels)
	}
	if _, ok := dels[ids[4]]; ok {
		t.Fatal("a contact without consent got a delivery")
	}
	body := func(lang string) string { return texts[lang] + "\n" + optOutHint(t, lang) }

	// SMS: the right number, text in the person's language, and a callback URL naming the delivery.
	smsBySID := map[string]twilioMessage{}
	for _, m := range tw.messages() {
		smsBySID[m.SID] = m
	}
	if len(smsBySID) != 2 {
		t.Fatalf("Twilio got %d messages, want 2: %+v", len(smsBySID), tw.messages())
	}
	for _, i := range []int{0, 1} {
		d := dels[ids[i]]
		m, ok := smsBySID[d.provider]
		if d.kind != "sms" || d.language != people[i].lang || !ok {
			t.Fatalf("%s: delivery %+v; Twilio has no message %q", people[i].name, d, d.provider)
		}
		wantCallback := fmt.Sprintf("%s/hooks/twilio/%s/status?d=%d", publicURL, key, d.id)
		if m.To != people[i].phone || m.From != from || m.Body != body(people[i].lang) || m.StatusCallback != wantCallback {
			t.Errorf("%s: Twilio got %+v; want To %s, body %q, callback %s", people[i].name, m, people[i].phone, body(people[i].lang), wantCallback)
		}
		if d.segments != 1 {
			t.Errorf("%s: %d segments recorded, want 1 (Twilio's count)", people[i].name, d.segments)
		}
	}
	// Telegram: the right chat and text; the message id is the delivery's provider id.
	_, sends, msgIDs := tg.calls()
	if len(sends) != 2 {
		t.Fatalf("Telegram got %d messages, want 2", len(sends))
	}
	for _, i := range []int{2, 3} {
		d := dels[ids[i]]
		var got url.Values
		for _, s := range sends {
			if s.Get("chat_id") == people[i].chat {
				got = s
			}
		}
		if d.kind != "telegram" || d.language != people[i].lang || got == nil || got.Get("text") != body(people[i].lang) ||
			d.provider != strconv.Itoa(msgIDs[people[i].chat]) {
			t.Errorf("%s: delivery %+v; Telegram got %v", people[i].name, d, got)
		}
	}

	// Status callbacks, out of order and repeated, to the URLs Twilio was given.
	type callback struct{ url, sid, status, code string }
	var cbs []callback
	for _, m := range tw.messages() {
		if m.To == people[0].phone {
			cbs = append(cbs, callback{m.StatusCallback, m.SID, "sent", ""}, callback{m.StatusCallback, m.SID, "delivered", ""},
				callback{m.StatusCallback, m.SID, "delivered", ""}, callback{m.StatusCallback, m.SID, "sent", ""})
		} else {
			cbs = append(cbs, callback{m.StatusCallback, m.SID, "sent", ""}, callback{m.StatusCallback, m.SID, "undelivered", "30003"},
				callback{m.StatusCallback, m.SID, "sent", ""}, callback{m.StatusCallback, m.SID, "undelivered", "30003"})
		}
	}
	mrand.Shuffle(len(cbs), func(i, j int) { cbs[i], cbs[j] = cbs[j], cbs[i] })
	for _, c := range cbs {
		form := url.Values{"MessageSid": {c.sid}, "SmsSid": {c.sid}, "MessageStatus": {c.status}, "SmsStatus": {c.status},
			"AccountSid": {accountSID}, "From": {from}, "ApiVersion": {"2010-04-01"}}
		if c.code != "" {
			form.Set("ErrorCode", c.code)
		}
		if status, answer := postTwilio(t, addr, authToken, c.url, form); status != http.StatusNoContent || answer != "" {
			t.Fatalf("status callback %+v: %d %q", c, status, answer)
		}
	}

	// Inbound: a reply from Amina (retried by Twilio), a STOP from Abebe through Advanced Opt-Out,
	// and a Telegram message from Huda (retried by Telegram).
	replySID, stopSID := fmt.Sprintf("SM%x", randomBytes(t, 16)), fmt.Sprintf("SM%x", randomBytes(t, 16))
	inbound := func(sid, phone, text, optOut string) url.Values {
		v := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {accountSID},
			"From": {phone}, "To": {from}, "Body": {text}, "SmsStatus": {"received"}, "NumMedia": {"0"}, "NumSegments": {"1"}}
		if optOut != "" {
			v.Set("OptOutType", optOut)
		}
		return v
	}
	const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`
	for _, in := range []url.Values{inbound(replySID, people[0].phone, "Asante, the road is clear", ""),
		inbound(replySID, people[0].phone, "Asante, the road is clear", ""), inbound(stopSID, people[1].phone, "STOP", "STOP")} {
		if status, answer := postTwilio(t, addr, authToken, smsCh.Webhooks["inbound"], in); status != http.StatusOK || answer != twiml {
			t.Fatalf("inbound SMS %q: %d %q", in.Get("Body"), status, answer)
		}
	}
	update := `{"update_id":815200101,"message":{"message_id":40,"from":{"id":5000000003,"is_bot":false,"first_name":"Huda","language_code":"ar"},` +
		`"chat":{"id":5000000003,"first_name":"Huda","type":"private"},"date":1718188200,"text":"شكرا، وصلت الرسالة"}}`
	for range 2 {
		status, answer := postTo(t, addr, updatesURL, map[string]string{"Content-Type": "application/json",
			"X-Telegram-Bot-Api-Secret-Token": secret}, update)
		if status != http.StatusOK || answer != "" {
			t.Fatalf("telegram update: %d %q", status, answer)
		}
	}
	if status, _ := postTo(t, addr, updatesURL, map[string]string{"Content-Type": "application/json",
		"X-Telegram-Bot-Api-Secret-Token": secret + "x"}, update); status != http.StatusUnauthorized {
		t.Fatalf("telegram update with a wrong secret: %d", status)
	}

	// The campaign completes: Telegram reports no delivery, so its deliveries stay sent.
	var state string
	for deadline := time.Now().Add(15 * time.Second); ; {
		if err := pool.QueryRow(ctx, `SELECT state FROM campaigns WHERE id = $1`, camp.ID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d is %s after 15 s", camp.ID, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs := serve.stop(t)

	final := campaignDeliveries(t, pool, camp.ID)
	want := map[int64]finalDelivery{
		ids[0]: {id: dels[ids[0]].id, kind: "sms", language: "en", status: "delivered", provider: dels[ids[0]].provider, segments: 1, final: true},
		ids[1]: {id: dels[ids[1]].id, kind: "sms", language: "am", status: "undelivered", provider: dels[ids[1]].provider, ec: "30003", segments: 1, final: true},
		ids[2]: {id: dels[ids[2]].id, kind: "telegram", language: "ar", status: "sent", provider: strconv.Itoa(msgIDs[people[2].chat]), segments: 1},
		ids[3]: {id: dels[ids[3]].id, kind: "telegram", language: "en", status: "sent", provider: strconv.Itoa(msgIDs[people[3].chat]), segments: 1},
	}
	if !maps.Equal(final, want) {
		t.Errorf("deliveries:\n got %+v\nwant %+v", final, want)
	}

	// Inbound messages: each stored once.
	rows, err := pool.Query(ctx, `SELECT id FROM inbound_messages WHERE workspace_id = $1 ORDER BY id`, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	inIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	inbox := messages.NewInbox(pool, keys)
	var got []string
	for _, id := range inIDs {
		m, err := inbox.Get(ctx, ws.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %q", m.Kind, m.ProviderID, m.From, m.Text))
	}
	wantIn := []string{
		fmt.Sprintf("sms %s %s %q", replySID, people[0].phone, "Asante, the road is clear"),
		fmt.Sprintf("sms %s %s %q", stopSID, people[1].phone, "STOP"),
		fmt.Sprintf("telegram u815200101 %s %q", people[2].chat, "شكرا، وصلت الرسالة"),
	}
	if !slices.Equal(got, wantIn) {
		t.Errorf("inbound messages:\n got %q\nwant %q", got, wantIn)
	}

	// Abebe's STOP: opted out by the provider, and suppressed.
	var status, source string
	if err := pool.QueryRow(ctx, `SELECT status, source FROM consent_events WHERE contact_id = $1 AND channel_kind = 'sms'
		ORDER BY id DESC LIMIT 1`, ids[1]).Scan(&status, &source); err != nil {
		t.Fatal(err)
	}
	suppressed, err := cs.Suppressed(ctx, ws, contacts.KindSMS, people[1].phone)
	if err != nil {
		t.Fatal(err)
	}
	if status != "opt_out" || source != "provider" || !suppressed {
		t.Errorf("after STOP: latest sms consent %s from %s, suppressed %v", status, source, suppressed)
	}

	// Nothing was sent twice, and nothing else reached the providers: the campaign's two messages
	// on each channel, plus one chatbot answer to the SMS reply and one to the Telegram message
	// (the STOP is answered by Twilio itself, so not by Waymark).
	deadline := time.Now().Add(45 * time.Second)
	for {
		hooks, sends, _ = tg.calls()
		if len(tw.messages()) >= 3 && len(sends) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything more would have arrived by now
	hooks, sends, _ = tg.calls()
	if len(tw.messages()) != 3 || len(sends) != 3 || len(hooks) != 1 {
		t.Errorf("providers got %d SMS, %d Telegram messages and %d setWebhook calls; want 3, 3 and 1", len(tw.messages()), len(sends), len(hooks))
	}

	// No credential in the CLI's output, serve's log, or any table in clear.
	if !strings.Contains(logs, "/hooks/twilio/") || !strings.Contains(logs, "/hooks/telegram/") {
		t.Fatalf("serve's debug log shows no webhook request; the search for credentials would prove nothing:\n%s", logs)
	}
	secrets := []string{authToken, botSecret, secret}
	channeltest.AssertNoSecrets(t, secrets, append(outputs, logs)...)
	tables, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "channels") {
		t.Fatalf("tables %v", names)
	}
	for _, tbl := range names {
		for i, s := range secrets {
			var hits int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{tbl}.Sanitize()+` x WHERE x::text LIKE '%' || $1 || '%'`, s).Scan(&hits); err != nil {
				t.Fatal(tbl, err)
			}
			if hits > 0 {
				t.Errorf("table %s holds credential %d in clear", tbl, i)
			}
		}
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
