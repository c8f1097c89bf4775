// Package telegram is the Telegram channel over the Bot API (go-telegram/bot): it sends plain
// text and inline keyboards with classified errors and send limits, answers presses of their
// buttons, registers the webhook with a secret token, checks that token on incoming requests,
// parses updates, and fetches updates for a polling loop that advances its offset only after
// storing them.
//
// It never touches the database. The bot token is a credential that Telegram puts in every API
// URL, so every error this package returns has it replaced by "<token>".
package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot"

	"github.com/waymark-org/waymark/channels"
)

// Config is one bot's settings, as a workspace stores them.
type Config struct {
	// Token is the bot token from @BotFather ("123456:ABC..."). Secret.
	Token string
	// WebhookSecret is the secret_token SetWebhook registers, which Telegram sends back in the
	// X-Telegram-Bot-Api-Secret-Token header (1 to 256 of A-Z, a-z, 0-9, _ and -). Required for
	// webhook mode, unused when polling. Secret.
	WebhookSecret string
	// ServerURL is the Bot API's base URL; "" means Telegram's (https://api.telegram.org). Tests
	// point it at a fake, and a self-hosted Bot API server can be used the same way.
	ServerURL string
	// HTTPClient carries the API calls: its Transport is used (nil: http.DefaultTransport) and
	// its Timeout bounds each call (0: DefaultTimeout); GetUpdates extends the bound by its
	// long-poll timeout. nil: a client of our own honouring HTTPS_PROXY/NO_PROXY and the system
	// certificate store, with explicit timeouts.
	HTTPClient *http.Client
	// Logger receives the few errors the library reports out of band (closing a request body),
	// redacted; nil means slog.Default().
	Logger *slog.Logger

	// GlobalRate is the most messages per second this client sends across all chats; 0 means
	// DefaultGlobalRate, below 0 no limit. Telegram allows about 30 per second to different
	// chats before answering 429.
	GlobalRate float64
	// PerChatInterval is the least time between two messages to one chat; 0 means
	// DefaultPerChatInterval (Telegram's guidance of one per second), below 0 no limit. Group
	// chats (negative ids) get at least GroupInterval, since Telegram allows 20 per minute there.
	PerChatInterval time.Duration
	// MaxWait is how long Send waits for its turn under these limits; a send that would wait
	// longer returns Throttled with the wait as RetryAfter instead of holding a worker. 0 means
	// DefaultMaxWait.
	MaxWait time.Duration
}

// Defaults for Config's zero values.
const (
	DefaultTimeout         = 15 * time.Second
	DefaultGlobalRate      = 30
	DefaultPerChatInterval = time.Second
	GroupInterval          = 3 * time.Second
	DefaultMaxWait         = 2 * time.Second
)

// MaxTextLength is Telegram's limit on a message's text, counted here in UTF-16 code units (the
// unit Telegram counts entities in), which is never less than the character count: a text that
// passes here is never refused for its length.
const MaxTextLength = 4096

// MaxCallbackData is Telegram's limit, in bytes, on a button's callback data.
const MaxCallbackData = 64

// Codes of errors the Client makes itself, before or instead of Telegram answering.
const (
	CodeBadChatID   = "bad-chat-id"
	CodeNoText      = "no-text"
	CodeTextTooLong = "text-too-long"
	CodeBadKeyboard = "bad-keyboard"
	CodeRateLimited = "rate-limited"
	CodeCancelled   = "cancelled"
	CodeNoAnswer    = "no-answer"
	CodeBadAnswer   = "bad-answer"
)

var (
	tokenPattern  = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// Validate reports every problem with the settings at once. Errors name the field, never a
// secret's value.
func (c Config) Validate() error {
	var errs []error
	if !tokenPattern.MatchString(c.Token) {
		errs = append(errs, errors.New("Token must look like 123456:ABC-DEF..., as @BotFather gives it"))
	}
	if c.WebhookSecret != "" && !secretPattern.MatchString(c.WebhookSecret) {
		errs = append(errs, errors.New("WebhookSecret must be 1 to 256 of A-Z, a-z, 0-9, _ and -"))
	}
	if c.ServerURL != "" {
		if u, err := url.Parse(c.ServerURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, errors.New("ServerURL must be scheme://host"))
		}
	}
	if c.MaxWait < 0 {
		errs = append(errs, errors.New("MaxWait must not be negative"))
	}
	return errors.Join(errs...)
}

// Client is one bot. It is safe for concurrent use.
type Client struct {
	bot       *bot.Bot
	serverURL string
	token     string
	transport http.RoundTripper
	timeout   time.Duration
	limits    *limiter
	// tokenForms are the token as it may appear in text: whole, URL-escaped, and the part after
	// the colon on its own (the bot id before it is public).
	tokenForms    []string
	webhookSecret string
}

var _ channels.Sender = (*Client)(nil)

// New checks c and returns a client for the bot. It makes no call: go-telegram/bot's getMe check
// at start is skipped, so a worker starts even while Telegram is unreachable.
func New(c Config) (*Client, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	cl := &Client{
		serverURL: strings.TrimSuffix(c.ServerURL, "/"),
		token:     c.Token,
		timeout:   DefaultTimeout,
		limits:    newLimiter(c.GlobalRate, c.PerChatInterval, c.MaxWait),
	}
	if cl.serverURL == "" {
		cl.serverURL = "https://api.telegram.org"
	}
	cl.tokenForms = tokenForms(c.Token)
	cl.webhookSecret = c.WebhookSecret
	var base http.RoundTripper
	if c.HTTPClient != nil {
		base = c.HTTPClient.Transport
		if c.HTTPClient.Timeout > 0 {
			cl.timeout = c.HTTPClient.Timeout
		}
		if base == nil {
			base = http.DefaultTransport
		}
	} else {
		base = defaultTransport()
	}
	cl.transport = &captureTransport{base: base}
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	b, err := bot.New(c.Token,
		bot.WithSkipGetMe(),
		bot.WithServerURL(cl.serverURL),
		// The poll timeout only matters to the library's own polling loop, which we never start.
		bot.WithHTTPClient(time.Minute, &http.Client{Transport: cl.transport, Timeout: cl.timeout}),
		bot.WithErrorsHandler(func(err error) {
			logger.Warn("telegram client error", "error", cl.redact(err.Error()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %s", cl.redact(err.Error()))
	}
	cl.bot = b
	return cl, nil
}

// Kind returns channels.KindTelegram.
func (c *Client) Kind() channels.Kind { return channels.KindTelegram }

// Send sends m.Text as plain text (no parse mode, so nothing an author writes is read as markup)
// to the chat whose id is m.To in decimal. The Result's ProviderID is Telegram's message id and
// its Status StatusSent: Telegram reports no delivery.
//
// Errors are *channels.SendError:
//   - RecipientStopped: 403 "bot was blocked by the user", "user is deactivated", or the bot was
//     kicked from the chat; record the opt-out.
//   - Throttled: 429 with RetryAfter from parameters.retry_after, or our own send limits
//     (CodeRateLimited) when the wait would exceed Config.MaxWait.
//   - Permanent: other 400 and 403 answers (such as "chat not found" or "bot can't initiate
//     conversation with a user"), a group that became a supergroup (see MigratedTo), a chat id
//     that is not a number, and empty texts or texts over MaxTextLength, checked before calling.
//   - Temporary: 5xx, network errors, timeouts, unreadable answers, and 401/404 (a revoked or
//     mistyped token is the channel's configuration, not the message's fault).
func (c *Client) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	chat, err := parseChatID(m.To)
	if err != nil {
		return channels.Result{}, err
	}
	return c.send(ctx, chat, m.Text, nil)
}

// Button is one inline keyboard button: Text is shown, Data comes back as Inbound.Callback when
// it is pressed.
type Button struct {
	Text, Data string
}

// inlineKeyboard and inlineButton are our own reply markup: go-telegram/bot's button type always
// sends "copy_text":{"text":""}, which Telegram rejects or shows as an empty copy button.
type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

// SendKeyboard sends text with an inline keyboard of callback buttons, one slice per row, such
// as a language picker. Errors are as for Send; a keyboard with no button, a button without
// text, or data that is empty or over MaxCallbackData bytes is Permanent before calling.
func (c *Client) SendKeyboard(ctx context.Context, chatID, text string, buttons [][]Button) (channels.Result, error) {
	chat, err := parseChatID(chatID)
	if err != nil {
		return channels.Result{}, err
	}
	kb := inlineKeyboard{}
	n := 0
	for _, row := range buttons {
		r := make([]inlineButton, 0, len(row))
		for _, b := range row {
			if b.Text == "" || b.Data == "" || len(b.Data) > MaxCallbackData {
				return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeBadKeyboard,
					Reason: fmt.Sprintf("every button needs text and 1 to %d bytes of data", MaxCallbackData)}
			}
			r = append(r, inlineButton{Text: b.Text, CallbackData: b.Data})
			n++
		}
		if len(r) > 0 {
			kb.InlineKeyboard = append(kb.InlineKeyboard, r)
		}
	}
	if n == 0 {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeBadKeyboard,
			Reason: "the keyboard has no button"}
	}
	return c.send(ctx, chat, text, kb)
}

// chatIDPattern is a chat id as Telegram writes it: negative for groups. A leading "+" is refused
// because ParseInt would take it, and it marks a phone number sent to the wrong channel.
var chatIDPattern = regexp.MustCompile(`^-?[0-9]{1,20}$`)

func parseChatID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if !chatIDPattern.MatchString(s) || err != nil || id == 0 {
		return 0, &channels.SendError{Class: channels.Permanent, Code: CodeBadChatID,
			Reason: "the address is not a Telegram chat id"}
	}
	return id, nil
}

func (c *Client) send(ctx context.Context, chat int64, text string, markup any) (channels.Result, error) {
	if text == "" {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeNoText,
			Reason: "the message has no text"}
	}
	if n := len(utf16.Encode([]rune(text))); n > MaxTextLength {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeTextTooLong,
			Reason: fmt.Sprintf("the text is %d characters long; Telegram accepts at most %d", n, MaxTextLength)}
	}
	if err := ctx.Err(); err != nil {
		return channels.Result{}, &channels.SendError{Class: channels.Temporary, Code: CodeCancelled,
			Reason: "cancelled before calling Telegram", Err: err}
	}
	wait, ok := c.limits.reserve(chat, time.Now())
	if !ok {
		return channels.Result{}, &channels.SendError{Class: channels.Throttled, RetryAfter: wait, Code: CodeRateLimited,
			Reason: "over Waymark's own send limits for Telegram"}
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return channels.Result{}, &channels.SendError{Class: channels.Temporary, Code: CodeCancelled,
				Reason: "cancelled while waiting for a send slot", Err: ctx.Err()}
		case <-t.C:
		}
	}

	ans := &answer{}
	params := &bot.SendMessageParams{ChatID: chat, Text: text}
	if markup != nil {
		params.ReplyMarkup = markup
	}
	msg, err := c.bot.SendMessage(withAnswer(ctx, ans), params)
	if err != nil {
		return channels.Result{}, c.classify(ctx, ans, err)
	}
	if msg == nil || msg.ID == 0 {
		return channels.Result{}, &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer,
			Reason: "Telegram's answer names no message id; the message may have been sent"}
	}
	return channels.Result{ProviderID: strconv.Itoa(msg.ID), Status: channels.StatusSent}, nil
}

// CodeBadCallbackQuery is the code of an AnswerCallbackQuery refused before calling: no id.
const CodeBadCallbackQuery = "bad-callback-query"

// AnswerCallbackQuery tells Telegram that the press of an inline button (callbackQueryID, from
// Inbound.CallbackQueryID) was handled, so the person's app stops showing progress on it. It
// shows nothing else: the answer itself goes out as a message. Telegram accepts one answer per
// press, within a short time of it; a late or second answer is refused as Permanent.
//
// Errors are *channels.SendError, classified as for Send. It is not held to the send limits:
// Telegram does not count answers to presses as messages.
func (c *Client) AnswerCallbackQuery(ctx context.Context, callbackQueryID string) error {
	if callbackQueryID == "" {
		return &channels.SendError{Class: channels.Permanent, Code: CodeBadCallbackQuery, Reason: "no callback query id"}
	}
	ans := &answer{}
	ok, err := c.bot.AnswerCallbackQuery(withAnswer(ctx, ans), &bot.AnswerCallbackQueryParams{CallbackQueryID: callbackQueryID})
	if err != nil {
		return c.classify(ctx, ans, err)
	}
	if !ok {
		return &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer, Reason: "Telegram answered answerCallbackQuery with false"}
	}
	return nil
}

// allowedUpdates are the update kinds Waymark asks Telegram for, in webhook and polling mode
// alike: messages, and presses of inline buttons.
var allowedUpdates = []string{"message", "callback_query"}

// SetWebhook registers webhookURL (an https URL) with Config.WebhookSecret as its secret_token,
// asking for messages and button presses only. It refuses to register without a secret: the webhook URL alone is no
// proof that a request comes from Telegram.
func (c *Client) SetWebhook(ctx context.Context, webhookURL string) error {
	if c.webhookSecret == "" {
		return errors.New("telegram: SetWebhook needs Config.WebhookSecret")
	}
	if u, err := url.Parse(webhookURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("telegram: the webhook URL must be an absolute https URL")
	}
	ans := &answer{}
	ok, err := c.bot.SetWebhook(withAnswer(ctx, ans), &bot.SetWebhookParams{
		URL:            webhookURL,
		SecretToken:    c.webhookSecret,
		AllowedUpdates: allowedUpdates,
	})
	if err != nil {
		return c.classify(ctx, ans, err)
	}
	if !ok {
		return errors.New("telegram: setWebhook answered false")
	}
	return nil
}

// DeleteWebhook removes the webhook, as polling requires. Pending updates are kept, so the
// poller receives what arrived in between.
func (c *Client) DeleteWebhook(ctx context.Context) error {
	ans := &answer{}
	ok, err := c.bot.DeleteWebhook(withAnswer(ctx, ans), &bot.DeleteWebhookParams{})
	if err != nil {
		return c.classify(ctx, ans, err)
	}
	if !ok {
		return errors.New("telegram: deleteWebhook answered false")
	}
	return nil
}

// MigratedTo returns the new chat id when err says a group chat became a supergroup: the
// identity's address must change to it, which is why Send reports the migration as Permanent
// rather than silently retrying at the new id.
func MigratedTo(err error) (int64, bool) {
	var m *bot.MigrateError
	if errors.As(err, &m) && m.MigrateToChatID != 0 {
		return int64(m.MigrateToChatID), true
	}
	return 0, false
}

// stoppedPhrases are the 403 descriptions that mean the person (or group) removed the bot.
var stoppedPhrases = []string{"bot was blocked", "user is deactivated", "bot was kicked"}

// classify turns a failed API call into a SendError. The library's typed errors decide 429 and
// migrations; for the rest, the answer as it came over the wire (captured by the transport)
// gives the code and description that the library only folds into its error text.
func (c *Client) classify(ctx context.Context, ans *answer, err error) *channels.SendError {
	safe := &channels.RedactedError{Msg: c.redact(err.Error()), Err: err}
	code, desc, status, retryAfter := ans.code, ans.desc, ans.status, ans.retryAfter
	desc = c.redact(desc)

	var tooMany *bot.TooManyRequestsError
	if errors.As(err, &tooMany) {
		if desc == "" {
			desc = "Too Many Requests"
		}
		return &channels.SendError{Class: channels.Throttled, RetryAfter: time.Duration(tooMany.RetryAfter) * time.Second,
			Code: "429", Reason: desc, Err: safe}
	}
	if _, ok := MigratedTo(err); ok {
		return &channels.SendError{Class: channels.Permanent, Code: "400",
			Reason: "the group chat was upgraded to a supergroup and has a new chat id; update the address (MigratedTo gives it)",
			Err:    safe}
	}
	if code == 0 {
		// No readable answer was captured; the library's sentinels still tell the kind.
		switch {
		case errors.Is(err, bot.ErrorForbidden):
			code, desc = http.StatusForbidden, c.redact(err.Error())
		case errors.Is(err, bot.ErrorBadRequest):
			code, desc = http.StatusBadRequest, c.redact(err.Error())
		case errors.Is(err, bot.ErrorUnauthorized):
			code = http.StatusUnauthorized
		case errors.Is(err, bot.ErrorNotFound):
			code = http.StatusNotFound
		case errors.Is(err, bot.ErrorConflict):
			code = http.StatusConflict
		}
	}
	if code != 0 {
		return classifyAPIError(code, desc, retryAfter, safe)
	}
	switch {
	case status >= 400:
		return &channels.SendError{Class: channels.Temporary, Code: strconv.Itoa(status),
			Reason: fmt.Sprintf("HTTP %d without a Bot API error; the message may have been sent", status), Err: safe}
	case ctx.Err() != nil:
		return &channels.SendError{Class: channels.Temporary, Code: CodeCancelled,
			Reason: "cancelled while calling Telegram; the message may have been sent", Err: safe}
	case status != 0:
		return &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer,
			Reason: "Telegram's answer could not be read; the message may have been sent", Err: safe}
	default:
		return &channels.SendError{Class: channels.Temporary, Code: CodeNoAnswer,
			Reason: "no answer from Telegram (" + netReason(err) + "); the message may have been sent", Err: safe}
	}
}

// classifyAPIError classifies an ok:false answer by its error_code and description.
func classifyAPIError(code int, desc string, retryAfter int, err error) *channels.SendError {
	se := &channels.SendError{Code: strconv.Itoa(code), Reason: desc, Err: err}
	lower := strings.ToLower(desc)
	switch {
	case code == http.StatusTooManyRequests:
		se.Class, se.RetryAfter = channels.Throttled, time.Duration(retryAfter)*time.Second
	case code == http.StatusForbidden && containsAny(lower, stoppedPhrases):
		se.Class = channels.RecipientStopped
	case code == http.StatusUnauthorized || code == http.StatusNotFound:
		se.Class = channels.Temporary
		se.Reason = "Telegram does not recognise the bot token (" + desc + "); fix it and the message will be retried"
	case code == http.StatusConflict:
		se.Class = channels.Permanent
	case code >= 500:
		se.Class = channels.Temporary
	case code >= 400:
		se.Class = channels.Permanent
	default:
		se.Class = channels.Temporary
	}
	return se
}

func containsAny(s string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// tokenForms lists the forms of the token to redact, longest first so that a whole token is
// replaced as one: it sits in every API URL, possibly escaped.
func tokenForms(token string) []string {
	s := []string{url.QueryEscape(token), url.PathEscape(token), token}
	if _, after, ok := strings.Cut(token, ":"); ok && len(after) >= 8 {
		s = append(s, after)
	}
	return s
}

// redact replaces the token and the webhook secret in text.
func (c *Client) redact(text string) string {
	for _, s := range c.tokenForms {
		text = strings.ReplaceAll(text, s, "<token>")
	}
	if c.webhookSecret != "" {
		text = strings.ReplaceAll(text, c.webhookSecret, "<secret>")
	}
	return text
}

// netReason names a network failure without quoting the request URL, which holds the token.
func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		err = ue.Err
	}
	for {
		// The library wraps with "error do request for method ..., "; keep the cause only.
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		if _, isURL := u.(*url.Error); isURL {
			return netReason(u)
		}
		err = u
	}
	return err.Error()
}

// answer is what one API call's transport saw: the HTTP status and, for an error, the Bot API's
// error_code, description and retry_after.
type answer struct {
	status     int
	code       int
	desc       string
	retryAfter int
}

type answerKey struct{}

func withAnswer(ctx context.Context, a *answer) context.Context {
	return context.WithValue(ctx, answerKey{}, a)
}

// maxErrorBody bounds how much of an error answer the transport keeps; Bot API errors are a
// line of JSON.
const maxErrorBody = 64 << 10

// captureTransport records, for calls that carry an answer in their context, the status and the
// Bot API error of the answer, and hands the body on unchanged.
type captureTransport struct {
	base http.RoundTripper
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	a, _ := req.Context().Value(answerKey{}).(*answer)
	if a == nil {
		return resp, nil
	}
	// One call per answer, and the library reads the answer only after RoundTrip returns.
	a.status = resp.StatusCode
	if resp.StatusCode < 400 {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if e, ok := decodeAPIError(body); ok {
		a.code, a.desc, a.retryAfter = e.ErrorCode, e.Description, e.Parameters.RetryAfter
	}
	return resp, nil
}

// defaultTransport is what Go's default transport does, written out so that every timeout is a
// decision: the proxy comes from HTTPS_PROXY/NO_PROXY, certificates are checked against the
// system store (SSL_CERT_FILE included), and no step before the answer can wait forever. There
// is no response-header timeout: a long poll legitimately waits for its answer, and each call's
// own deadline bounds it instead.
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
}
