package telegram_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/channels/telegram"
)

// receive does what the webhook handler does: check the secret token (401 and nothing stored if
// it is wrong), then parse; updates Waymark does not handle are answered 200 and not stored.
func receive(r *http.Request, _ *slog.Logger) (channeltest.Received, error) {
	if !telegram.CheckSecret(r, webhookSecret) {
		return channeltest.Received{}, &channeltest.Rejection{Status: http.StatusUnauthorized, Reason: "wrong secret token"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return channeltest.Received{}, err
	}
	in, _, ok, err := telegram.ParseUpdate(body)
	if err != nil {
		return channeltest.Received{}, &channeltest.Rejection{Status: http.StatusBadRequest, Reason: err.Error()}
	}
	if !ok {
		return channeltest.Received{Ignored: true}, nil
	}
	return channeltest.Received{Inbound: &in}, nil
}

func inbound(updateID, text string) *channels.Inbound {
	return &channels.Inbound{Kind: channels.KindTelegram, ProviderID: "u" + updateID, From: chatID, Text: text}
}

func TestReceive(t *testing.T) {
	t.Parallel()
	start := inbound("815200002", "/start lang-am_c42")
	start.StartPayload = "lang-am_c42"
	callback := inbound("815200004", "")
	callback.Callback = "lang:am"
	callback.CallbackQueryID = "2151680941389837224"
	ignored := channeltest.Received{Ignored: true}

	cases := []channeltest.ReceiveCase{
		{Name: "text in Amharic", BodyFile: "testdata/message_amharic.json",
			Want: channeltest.Received{Inbound: inbound("815200001", "ስለ ሥራ ቪዛ መረጃ እፈልጋለሁ")}},
		{Name: "start with a deep-link payload", BodyFile: "testdata/start_payload.json",
			Want: channeltest.Received{Inbound: start}},
		{Name: "start without a payload", BodyFile: "testdata/start_plain.json",
			Want: channeltest.Received{Inbound: inbound("815200003", "/start")}},
		{Name: "language picked on the inline keyboard", BodyFile: "testdata/callback_query.json",
			Want: channeltest.Received{Inbound: callback}},
		{Name: "a photo's caption is its text", BodyFile: "testdata/photo_with_caption.json",
			Want: channeltest.Received{Inbound: inbound("815200007", "ይህ ውል ትክክል ነው?")}},
		{Name: "edited message ignored", BodyFile: "testdata/edited_message.json", Want: ignored},
		{Name: "photo without caption ignored", BodyFile: "testdata/photo_without_caption.json", Want: ignored},
		{Name: "group message ignored", BodyFile: "testdata/group_message.json", Want: ignored},
		{Name: "channel post ignored", BodyFile: "testdata/channel_post.json", Want: ignored},
		{Name: "malformed update", BodyFile: "testdata/malformed.json", Reject: http.StatusBadRequest},
		{Name: "not an update", Body: `{"ok":true}`, Reject: http.StatusBadRequest},

		{Name: "wrong secret token", BodyFile: "testdata/start_payload.json",
			Header: map[string]string{telegram.SecretHeader: "wmk_00000000000000000000000000000000"}, Reject: http.StatusUnauthorized},
		{Name: "secret token prefix", BodyFile: "testdata/start_payload.json",
			Header: map[string]string{telegram.SecretHeader: webhookSecret[:10]}, Reject: http.StatusUnauthorized},
		{Name: "secret token with more after it", BodyFile: "testdata/start_payload.json",
			Header: map[string]string{telegram.SecretHeader: webhookSecret + "x"}, Reject: http.StatusUnauthorized},
		{Name: "missing secret token", BodyFile: "testdata/start_payload.json",
			Header: map[string]string{}, Reject: http.StatusUnauthorized},
		{Name: "malformed update with a wrong token is refused for the token", BodyFile: "testdata/malformed.json",
			Header: map[string]string{telegram.SecretHeader: "nope"}, Reject: http.StatusUnauthorized},
	}
	for i := range cases {
		cases[i].Target = "/hooks/telegram/5"
		if cases[i].Header == nil {
			cases[i].Header = map[string]string{telegram.SecretHeader: webhookSecret}
		}
		cases[i].Header["Content-Type"] = "application/json"
		cases[i].Secrets = secrets
	}
	channeltest.RunReceiveCases(t, cases, receive)
}

func TestParseUpdate(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"/start lang-am_c42":                "lang-am_c42",
		"/start@info_line_bot lang-ti_c7":   "lang-ti_c7",
		"  /start   lang-am_c42  ":          "lang-am_c42",
		"/start":                            "",
		"/start hello there":                "",
		"/start <script>":                   "",
		"/started lang-am":                  "",
		"start lang-am":                     "",
		"/start " + strings.Repeat("a", 65): "",
	} {
		body := `{"update_id":1,"message":{"message_id":1,"chat":{"id":5000000001,"type":"private"},"date":1,"text":` + quote(text) + `}}`
		in, id, ok, err := telegram.ParseUpdate([]byte(body))
		if err != nil || !ok || id != 1 || in.StartPayload != want || in.Text != text {
			t.Errorf("%q: %+v, %d, %v, %v; want payload %q", text, in, id, ok, err, want)
		}
	}

	// Ignored updates still give their id, so a poller moves past them.
	b, _ := os.ReadFile("testdata/edited_message.json")
	if _, id, ok, err := telegram.ParseUpdate(b); ok || err != nil || id != 815200005 {
		t.Errorf("edited message: id %d, ok %v, err %v", id, ok, err)
	}
	// Another bot's message is not a person writing.
	botMsg := `{"update_id":2,"message":{"message_id":1,"from":{"id":9,"is_bot":true,"first_name":"B"},"chat":{"id":9,"type":"private"},"date":1,"text":"hi"}}`
	if _, _, ok, err := telegram.ParseUpdate([]byte(botMsg)); ok || err != nil {
		t.Errorf("a bot's message: ok %v, err %v", ok, err)
	}
	// A button pressed on a message Telegram no longer has still names the user.
	cb := `{"update_id":3,"callback_query":{"id":"1","from":{"id":5000000001,"is_bot":false,"first_name":"H"},"chat_instance":"1","data":"lang:ti"}}`
	if in, _, ok, err := telegram.ParseUpdate([]byte(cb)); !ok || err != nil || in.From != chatID || in.Callback != "lang:ti" {
		t.Errorf("callback without message: %+v, %v, %v", in, ok, err)
	}
}

func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func TestCheckSecret(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/hooks/telegram/5", nil)
	if telegram.CheckSecret(r, webhookSecret) {
		t.Error("accepted a request without the header")
	}
	r.Header.Set(telegram.SecretHeader, webhookSecret)
	if !telegram.CheckSecret(r, webhookSecret) {
		t.Error("refused the right secret")
	}
	if telegram.CheckSecret(r, "") {
		t.Error("an unconfigured secret accepted a request")
	}
	r.Header.Set(telegram.SecretHeader, strings.ToUpper(webhookSecret))
	if telegram.CheckSecret(r, webhookSecret) {
		t.Error("the comparison ignores case")
	}
}

// fileBody returns a recorded update as it sits in a getUpdates answer.
func fileBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestGetUpdates(t *testing.T) {
	t.Parallel()
	first, second := fileBody(t, "message_amharic.json"), fileBody(t, "start_payload.json")
	isJSON := func(t testing.TB, r *channeltest.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
	poll := func(offset, timeout string) channeltest.Exchange {
		return channeltest.Exchange{Path: botPath + "getUpdates", Check: isJSON, Fields: map[string]string{
			"offset": offset, "timeout": timeout, "limit": "100", "allowed_updates": `["message","callback_query"]`,
		}}
	}
	e1 := poll("0", "30")
	e1.Body = `{"ok":true,"result":[` + first + `,` + second + `]}`
	// A loop that stored both asks from the next id on; nothing new arrived.
	e2 := poll("815200003", "30")
	e2.Body = `{"ok":true,"result":[]}`
	e3 := poll("815200003", "50") // capped at MaxPollTimeout
	e3.Status, e3.Body = 429, apiError(429, "Too Many Requests: retry after 3", `{"retry_after":3}`)
	e4 := poll("815200003", "0")
	e4.Status, e4.Body = 409, apiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", "")
	e5 := poll("815200003", "0")
	e5.Status, e5.Body = 502, "<html>Bad Gateway</html>"
	srv := channeltest.NewServer(t, e1, e2, e3, e4, e5)

	c := newClient(baseConfig())(srv.URL, nil).(*telegram.Client)
	got, err := c.GetUpdates(t.Context(), 0, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != 815200001 || got[1].ID != 815200002 ||
		string(got[0].Body) != first || string(got[1].Body) != second {
		t.Fatalf("GetUpdates = %+v", got)
	}
	if in, id, ok, err := telegram.ParseUpdate(got[1].Body); err != nil || !ok || id != got[1].ID || in.StartPayload != "lang-am_c42" {
		t.Fatalf("a polled update does not parse like a webhook's: %+v %v %v", in, ok, err)
	}
	next := got[len(got)-1].ID + 1
	if got, err := c.GetUpdates(t.Context(), next, 30*time.Second); err != nil || len(got) != 0 {
		t.Fatalf("second poll: %+v, %v", got, err)
	}
	_, err = c.GetUpdates(t.Context(), next, 5*time.Minute)
	if se := channels.Classify(err); se.Class != channels.Throttled || se.RetryAfter != 3*time.Second {
		t.Errorf("429: %v", err)
	}
	_, err = c.GetUpdates(t.Context(), next, 0)
	if se := channels.Classify(err); se.Class != channels.Permanent || se.Code != "409" || !strings.Contains(se.Reason, "deleteWebhook") {
		t.Errorf("409: %v", err)
	}
	_, err = c.GetUpdates(t.Context(), next, 0)
	if se := channels.Classify(err); se.Class != channels.Temporary || se.Code != "502" {
		t.Errorf("502: %v", err)
	}
	channeltest.AssertNoSecrets(t, secrets, err.Error(), channels.Classify(err).Err.Error())
}
