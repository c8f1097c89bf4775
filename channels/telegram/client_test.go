package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/channels/telegram"
)

const (
	// tokenSecret is the part of the token after the bot id, the part that must never leak.
	tokenSecret   = "AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH"
	token         = "7000000001:" + tokenSecret
	webhookSecret = "wmk_3f9a1c2e7b8d4650a1c3e5f7092b4d6e"
	chatID        = "5000000001"
	botPath       = "/bot" + token + "/"
)

var secrets = []string{tokenSecret, webhookSecret}

// amharic is "Before travelling for work abroad, check the contract."
const amharic = "ለሥራ ወደ ውጭ አገር ከመሄድዎ በፊት ውሉን ያረጋግጡ።"

// sent is the Bot API's answer to a sendMessage.
func sent(id int, text string) string {
	return fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"from":{"id":7000000001,"is_bot":true,"first_name":"Info Line","username":"info_line_bot"},"chat":{"id":5000000001,"first_name":"ሀና","type":"private"},"date":1718188260,"text":%q}}`, id, text)
}

// apiError is the Bot API's ok:false answer.
func apiError(code int, description string, parameters string) string {
	s := fmt.Sprintf(`{"ok":false,"error_code":%d,"description":%q`, code, description)
	if parameters != "" {
		s += `,"parameters":` + parameters
	}
	return s + "}"
}

func isMultipart(t testing.TB, r *channeltest.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "multipart/form-data" {
		t.Errorf("Content-Type = %q, want multipart as go-telegram/bot sends", ct)
	}
}

// sendMessage is an exchange for one sendMessage call answered with status and body.
func sendMessage(text string, status int, body string) channeltest.Exchange {
	return channeltest.Exchange{
		Path:   botPath + "sendMessage",
		Fields: map[string]string{"chat_id": chatID, "text": text},
		// Plain text: nothing an author writes may be read as markup.
		Absent: []string{"parse_mode", "reply_markup", "entities"},
		Check:  isMultipart,
		Status: status,
		Body:   body,
	}
}

func newClient(c telegram.Config) channeltest.NewSender {
	return func(serverURL string, logger *slog.Logger) channels.Sender {
		cfg := c
		cfg.ServerURL, cfg.Logger = serverURL, logger
		cl, err := telegram.New(cfg)
		if err != nil {
			panic(err)
		}
		return cl
	}
}

func baseConfig() telegram.Config {
	return telegram.Config{Token: token, WebhookSecret: webhookSecret}
}

func message(text string) channels.Message {
	return channels.Message{DeliveryID: 9, To: chatID, Text: text, Language: "am"}
}

func TestSend(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ሀ", telegram.MaxTextLength)
	cases := []channeltest.SendCase{
		{
			Name:      "plain text in Amharic",
			Message:   message(amharic),
			Exchanges: []channeltest.Exchange{sendMessage(amharic, 200, sent(13, amharic))},
			Want:      channels.Result{ProviderID: "13", Status: channels.StatusSent},
		},
		{
			Name:      "markup is sent as written",
			Message:   message("<b>not bold</b> *nor this*"),
			Exchanges: []channeltest.Exchange{sendMessage("<b>not bold</b> *nor this*", 200, sent(14, "x"))},
			Want:      channels.Result{ProviderID: "14", Status: channels.StatusSent},
		},
		{
			Name:      "4096 characters is the most Telegram takes",
			Message:   message(long),
			Exchanges: []channeltest.Exchange{sendMessage(long, 200, sent(15, "x"))},
			Want:      channels.Result{ProviderID: "15", Status: channels.StatusSent},
		},
		{
			Name:    "4097 characters fail before calling",
			Message: message(long + "ሀ"),
			Err:     &channeltest.WantError{Class: channels.Permanent, Code: telegram.CodeTextTooLong, ReasonContains: []string{"4097"}},
		},
		{
			Name:    "no text fails before calling",
			Message: message(""),
			Err:     &channeltest.WantError{Class: channels.Permanent, Code: telegram.CodeNoText},
		},
		{
			Name:    "an address that is not a chat id fails before calling",
			Message: channels.Message{To: "+251900000001", Text: "hi"},
			Err:     &channeltest.WantError{Class: channels.Permanent, Code: telegram.CodeBadChatID},
		},
		{
			Name:      "blocked by the user",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 403, apiError(403, "Forbidden: bot was blocked by the user", ""))},
			Err: &channeltest.WantError{Class: channels.RecipientStopped, Code: "403",
				ReasonContains: []string{"Forbidden: bot was blocked by the user"}},
		},
		{
			Name:      "user deactivated",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 403, apiError(403, "Forbidden: user is deactivated", ""))},
			Err:       &channeltest.WantError{Class: channels.RecipientStopped, Code: "403"},
		},
		{
			Name:      "never started the bot",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 403, apiError(403, "Forbidden: bot can't initiate conversation with a user", ""))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "403", ReasonContains: []string{"can't initiate"}},
		},
		{
			Name:      "throttled for retry_after",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 429, apiError(429, "Too Many Requests: retry after 7", `{"retry_after":7}`))},
			Err: &channeltest.WantError{Class: channels.Throttled, Code: "429", RetryAfter: 7 * time.Second,
				ReasonContains: []string{"retry after 7"}},
		},
		{
			Name:      "chat not found",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 400, apiError(400, "Bad Request: chat not found", ""))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "400", ReasonContains: []string{"chat not found"}},
		},
		{
			Name:    "group migrated to a supergroup",
			Message: message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 400,
				apiError(400, "Bad Request: group chat was upgraded to a supergroup chat", `{"migrate_to_chat_id":-1001234567890}`))},
			Err: &channeltest.WantError{Class: channels.Permanent, Code: "400", ReasonContains: []string{"supergroup", "new chat id"}},
		},
		{
			Name:      "revoked token waits for a fix",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 401, apiError(401, "Unauthorized", ""))},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: "401", ReasonContains: []string{"token"}},
		},
		{
			Name:      "5xx is temporary",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 500, apiError(500, "Internal Server Error", ""))},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: "500"},
		},
		{
			Name:    "a gateway's page is temporary",
			Message: message("hi"),
			Exchanges: []channeltest.Exchange{{Path: botPath + "sendMessage", Status: 502,
				Header: map[string]string{"Content-Type": "text/html"}, Body: "<html>502 Bad Gateway</html>"}},
			Err: &channeltest.WantError{Class: channels.Temporary, Code: "502", ReasonContains: []string{"may have been sent"}},
		},
		{
			Name:    "a page quoting the URL does not leak the token",
			Message: message("hi"),
			Exchanges: []channeltest.Exchange{{Path: botPath + "sendMessage", Status: 404,
				Header: map[string]string{"Content-Type": "text/html"},
				Body:   "<html>The requested URL " + botPath + "sendMessage (" + url.PathEscape(token) + ") was not found</html>"}},
			Err: &channeltest.WantError{Class: channels.Temporary, Code: "404"},
		},
		{
			Name:      "a description quoting the token does not leak it",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 400, apiError(400, "Bad Request: bot "+token+" misconfigured", ""))},
			Err:       &channeltest.WantError{Class: channels.Permanent, Code: "400", ReasonContains: []string{"<token>"}},
		},
		{
			Name:      "an unreadable success is temporary",
			Message:   message("hi"),
			Exchanges: []channeltest.Exchange{sendMessage("hi", 200, `{"ok":true,"result":`)},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: telegram.CodeBadAnswer},
		},
		{
			Name:    "the caller's deadline aborts the call",
			Message: message("hi"),
			Context: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			Exchanges: []channeltest.Exchange{{Path: botPath + "sendMessage", Delay: 10 * time.Second, Body: sent(16, "hi")}},
			Err:       &channeltest.WantError{Class: channels.Temporary, Code: telegram.CodeCancelled},
		},
	}
	for i := range cases {
		cases[i].Secrets = secrets
	}
	channeltest.RunSendCases(t, cases, newClient(baseConfig()))
}

func TestMigratedTo(t *testing.T) {
	t.Parallel()
	srv := channeltest.NewServer(t, sendMessage("hi", 400,
		apiError(400, "Bad Request: group chat was upgraded to a supergroup chat", `{"migrate_to_chat_id":-1001234567890}`)))
	c := newClient(baseConfig())(srv.URL, nil)
	_, err := c.Send(t.Context(), message("hi"))
	if id, ok := telegram.MigratedTo(err); !ok || id != -1001234567890 {
		t.Fatalf("MigratedTo = %d, %v; error %v", id, ok, err)
	}
	if _, ok := telegram.MigratedTo(errors.New("other")); ok {
		t.Fatal("MigratedTo found a migration in an unrelated error")
	}
}

func TestSendKeyboard(t *testing.T) {
	t.Parallel()
	picker := [][]telegram.Button{
		{{Text: "አማርኛ", Data: "lang:am"}, {Text: "ትግርኛ", Data: "lang:ti"}},
		{{Text: "English", Data: "lang:en"}},
	}
	want := map[string]any{"inline_keyboard": []any{
		[]any{map[string]any{"text": "አማርኛ", "callback_data": "lang:am"}, map[string]any{"text": "ትግርኛ", "callback_data": "lang:ti"}},
		[]any{map[string]any{"text": "English", "callback_data": "lang:en"}},
	}}
	srv := channeltest.NewServer(t, channeltest.Exchange{
		Path:   botPath + "sendMessage",
		Fields: map[string]string{"chat_id": chatID, "text": "ቋንቋ ይምረጡ / Choose a language"},
		Absent: []string{"parse_mode"},
		Check: func(t testing.TB, r *channeltest.Request) {
			isMultipart(t, r)
			markup := channeltest.JSONField(t, r, "reply_markup")
			if channeltest.HasKey(markup, "copy_text") {
				t.Errorf("reply_markup carries copy_text: %s", r.Fields.Get("reply_markup"))
			}
			if !reflect.DeepEqual(markup, want) {
				t.Errorf("reply_markup = %s", r.Fields.Get("reply_markup"))
			}
		},
		Body: sent(20, "ቋንቋ ይምረጡ / Choose a language"),
	})
	logs := channeltest.NewLogCapture()
	c := newClient(baseConfig())(srv.URL, logs.Logger()).(*telegram.Client)
	res, err := c.SendKeyboard(t.Context(), chatID, "ቋንቋ ይምረጡ / Choose a language", picker)
	channeltest.CheckSendOutcome(t, res, err, channels.Result{ProviderID: "20", Status: channels.StatusSent}, nil)

	for name, kb := range map[string][][]telegram.Button{
		"no button":          nil,
		"empty rows":         {{}, {}},
		"no data":            {{{Text: "A"}}},
		"no text":            {{{Data: "a"}}},
		"data over 64 bytes": {{{Text: "A", Data: strings.Repeat("ሀ", 22)}}},
	} {
		res, err := c.SendKeyboard(t.Context(), chatID, "pick", kb)
		if channels.Classify(err).Class != channels.Permanent || channels.Classify(err).Code != telegram.CodeBadKeyboard || res != (channels.Result{}) {
			t.Errorf("%s: %+v, %v; want a permanent %s error", name, res, err, telegram.CodeBadKeyboard)
		}
	}
	channeltest.AssertNoSecrets(t, secrets, logs.String())
}

func TestWebhookRegistration(t *testing.T) {
	t.Parallel()
	const hook = "https://ngo.example/waymark/hooks/telegram/5"
	srv := channeltest.NewServer(t,
		channeltest.Exchange{
			Path: botPath + "setWebhook",
			Fields: map[string]string{
				"url":             hook,
				"secret_token":    webhookSecret,
				"allowed_updates": `["message","callback_query"]`,
			},
			Absent: []string{"drop_pending_updates"},
			Check:  isMultipart,
			Body:   `{"ok":true,"result":true,"description":"Webhook was set"}`,
		},
		channeltest.Exchange{
			Path: botPath + "deleteWebhook",
			// Pending updates stay for the poller.
			Absent: []string{"drop_pending_updates"},
			Body:   `{"ok":true,"result":true,"description":"Webhook was deleted"}`,
		},
		channeltest.Exchange{
			Path:   botPath + "setWebhook",
			Status: 400,
			Body:   apiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook", ""),
		},
	)
	c := newClient(baseConfig())(srv.URL, nil).(*telegram.Client)
	if err := c.SetWebhook(t.Context(), hook); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	if err := c.DeleteWebhook(t.Context()); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	err := c.SetWebhook(t.Context(), hook)
	if se := channels.Classify(err); se.Class != channels.Permanent || !strings.Contains(se.Reason, "HTTPS url") {
		t.Fatalf("SetWebhook refused by Telegram: %v", err)
	}
	channeltest.AssertNoSecrets(t, secrets, err.Error())

	// Refused before calling: no further exchange is expected.
	if err := c.SetWebhook(t.Context(), "http://ngo.example/hooks/telegram/5"); err == nil {
		t.Error("SetWebhook accepted a plain http URL")
	}
	noSecret := newClient(telegram.Config{Token: token})(srv.URL, nil).(*telegram.Client)
	if err := noSecret.SetWebhook(t.Context(), hook); err == nil {
		t.Error("SetWebhook registered a webhook without a secret token")
	}
}

func TestNetworkErrorsDoNotLeakTheToken(t *testing.T) {
	t.Parallel()
	logs := channeltest.NewLogCapture()
	// A port nothing listens on: the connection is refused at once.
	c, err := telegram.New(telegram.Config{Token: token, WebhookSecret: webhookSecret, ServerURL: "http://127.0.0.1:1", Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{logs.String()}
	collect := func(err error) {
		texts = append(texts, err.Error(), channels.Classify(err).Err.Error())
		var ue *url.Error
		if errors.As(err, &ue) {
			texts = append(texts, ue.URL, ue.Error())
		}
	}

	res, err := c.Send(t.Context(), message("hi"))
	channeltest.CheckSendOutcome(t, res, err, channels.Result{}, &channeltest.WantError{Class: channels.Temporary, Code: telegram.CodeNoAnswer})
	collect(err)
	err = c.SetWebhook(t.Context(), "https://ngo.example/hooks/telegram/5")
	collect(err)
	_, err = c.GetUpdates(t.Context(), 1, 0)
	if se := channels.Classify(err); se.Class != channels.Temporary || se.Code != telegram.CodeNoAnswer {
		t.Errorf("GetUpdates on a refused connection: %v", err)
	}
	collect(err)
	texts = append(texts, logs.String())
	channeltest.AssertNoSecrets(t, secrets, texts...)
}

func TestSendLimits(t *testing.T) {
	t.Parallel()
	const other = "5000000002"
	srv := channeltest.NewServer(t,
		sendMessage("one", 200, sent(1, "one")),
		channeltest.Exchange{Path: botPath + "sendMessage", Fields: map[string]string{"chat_id": other, "text": "three"}, Body: sent(2, "three")},
	)
	cfg := baseConfig()
	// An interval far beyond MaxWait makes the outcome independent of how fast the test runs.
	cfg.PerChatInterval = time.Hour
	cfg.MaxWait = 200 * time.Millisecond
	c := newClient(cfg)(srv.URL, nil)
	if _, err := c.Send(t.Context(), message("one")); err != nil {
		t.Fatal(err)
	}
	// A second message to the same chat within the interval is held back without calling Telegram.
	_, err := c.Send(t.Context(), message("two"))
	se := channels.Classify(err)
	if se.Class != channels.Throttled || se.Code != telegram.CodeRateLimited || se.RetryAfter <= 59*time.Minute || se.RetryAfter > time.Hour {
		t.Fatalf("second send to one chat: %v (retry after %v), want throttled by our own limit", err, se.RetryAfter)
	}
	// Another chat only waits for the global spacing (1/30 s), well within MaxWait.
	if _, err := c.Send(t.Context(), channels.Message{To: other, Text: "three"}); err != nil {
		t.Fatalf("send to another chat: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]telegram.Config{
		"no token":         {},
		"malformed token":  {Token: "AAHq3xZ9kLmN4pQ7rS2tUvW8yB1cD5eF6gH"},
		"token with space": {Token: "7000000001:AAHq3xZ9kLmN4pQ7 rS2tUvW8yB1cD5eF6gH"},
		"bad secret":       {Token: token, WebhookSecret: "has spaces " + webhookSecret},
		"bad server URL":   {Token: token, ServerURL: "api.telegram.org"},
		"negative wait":    {Token: token, MaxWait: -time.Second},
	} {
		err := cfg.Validate()
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if _, nerr := telegram.New(cfg); nerr == nil {
			t.Errorf("%s: New accepted it", name)
		}
		channeltest.AssertNoSecrets(t, secrets, err.Error())
	}
	if err := baseConfig().Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	c, err := telegram.New(telegram.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != channels.KindTelegram {
		t.Errorf("Kind = %q", c.Kind())
	}
}

// TestAnswerCallbackQuery answers the press recorded in testdata/callback_query.json through the
// real client, with Telegram's recorded answers: accepted, a press answered too late, and 429.
func TestAnswerCallbackQuery(t *testing.T) {
	t.Parallel()
	update, err := os.ReadFile("testdata/callback_query.json")
	if err != nil {
		t.Fatal(err)
	}
	in, _, ok, err := telegram.ParseUpdate(update)
	if err != nil || !ok || in.CallbackQueryID == "" {
		t.Fatalf("the recorded press: %+v, %v, %v", in, ok, err)
	}
	recorded := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	answer := func(status int, body string) channeltest.Exchange {
		return channeltest.Exchange{
			Path:   botPath + "answerCallbackQuery",
			Fields: map[string]string{"callback_query_id": in.CallbackQueryID},
			// Nothing is shown to the person but the end of the button's progress.
			Absent: []string{"text", "show_alert", "url", "cache_time"},
			Check:  isMultipart,
			Status: status,
			Body:   body,
		}
	}
	srv := channeltest.NewServer(t,
		answer(200, recorded("answer_callback_query.json")),
		answer(400, recorded("answer_callback_query_expired.json")),
		answer(429, apiError(429, "Too Many Requests: retry after 3", `{"retry_after":3}`)),
	)
	logs := channeltest.NewLogCapture()
	c := newClient(baseConfig())(srv.URL, logs.Logger()).(*telegram.Client)
	if err := c.AnswerCallbackQuery(t.Context(), in.CallbackQueryID); err != nil {
		t.Fatalf("AnswerCallbackQuery: %v", err)
	}
	err = c.AnswerCallbackQuery(t.Context(), in.CallbackQueryID)
	if se := channels.Classify(err); se.Class != channels.Permanent || se.Code != "400" || !strings.Contains(se.Reason, "query is too old") {
		t.Errorf("a late answer: %v, want permanent 400", err)
	}
	err = c.AnswerCallbackQuery(t.Context(), in.CallbackQueryID)
	if se := channels.Classify(err); se.Class != channels.Throttled || se.RetryAfter != 3*time.Second {
		t.Errorf("a throttled answer: %v, want throttled for 3 s", err)
	}
	// Refused before calling: no further exchange is expected.
	if se := channels.Classify(c.AnswerCallbackQuery(t.Context(), "")); se.Class != channels.Permanent || se.Code != telegram.CodeBadCallbackQuery {
		t.Errorf("no id: %v", se)
	}
	channeltest.AssertNoSecrets(t, secrets, logs.String(), err.Error())
}
