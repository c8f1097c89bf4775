package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/waymark-org/waymark/channels"
)

// MaxBodyLength is Twilio's limit on a message body (error 21617), counted here in UTF-16 code
// units: for GSM-7 and most scripts that is the character count, and for text with emoji it is
// never less, so a body that passes here is never refused by Twilio for its length.
const MaxBodyLength = 1600

// Codes of errors the Sender makes itself, before or instead of Twilio answering.
const (
	CodeBodyTooLong = "body-too-long"
	CodeNoBody      = "no-body"
	CodeNoAddress   = "no-address"
	CodeNoAnswer    = "no-answer"
	CodeBadAnswer   = "bad-answer"
	CodeCancelled   = "cancelled"
)

// Sender sends SMS through one Twilio account. It is safe for concurrent use.
type Sender struct {
	cfg       Config
	creds     *client.Credentials
	transport http.RoundTripper
	timeout   time.Duration
	baseURL   *url.URL
	secrets   []string
}

var _ channels.Sender = (*Sender)(nil)

// New checks c and returns a Sender for it.
func New(c Config) (*Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	s := &Sender{cfg: c, timeout: DefaultTimeout, secrets: []string{c.AuthToken, c.APIKeySecret}}
	if c.APIKeySID != "" {
		s.creds = client.NewCredentials(c.APIKeySID, c.APIKeySecret)
	} else {
		s.creds = client.NewCredentials(c.AccountSID, c.AuthToken)
	}
	if c.HTTPClient != nil {
		s.transport = c.HTTPClient.Transport
		if c.HTTPClient.Timeout > 0 {
			s.timeout = c.HTTPClient.Timeout
		}
	}
	if s.transport == nil {
		if c.HTTPClient != nil {
			s.transport = http.DefaultTransport
		} else {
			s.transport = defaultTransport()
		}
	}
	if c.BaseURL != "" {
		s.baseURL, _ = url.Parse(c.BaseURL) // Validate checked it
	}
	return s, nil
}

// Kind returns channels.KindSMS.
func (s *Sender) Kind() channels.Kind { return channels.KindSMS }

// Send creates one message at Twilio. The status callback URL, when configured, is
// Config.StatusCallback(m.DeliveryID): it should carry the delivery id, because a call that timed
// out after Twilio accepted the message leaves us without its SID, and the callback is then the
// only thing that ties Twilio's message back to our delivery.
//
// twilio-go takes no context, so Send binds ctx to the HTTP request through its transport:
// cancelling ctx or reaching its deadline aborts the call. A call that is aborted or times out
// may still have been accepted (Twilio has no idempotency key), so it is Temporary with code
// CodeNoAnswer or CodeCancelled, and a retry may send the message twice.
//
// Errors are *channels.SendError:
//   - RecipientStopped: 21610, the person texted STOP; record the opt-out, never retry.
//   - Throttled: HTTP 429 or codes 20429/14107 (RetryAfter from a Retry-After header, else 0),
//     and 21611 (the sender's queue is full).
//   - Permanent: every other Twilio 4xx error, with Twilio's code and message (numbers in it
//     redacted), and bodies that are empty or longer than MaxBodyLength, checked before calling.
//   - Temporary: 5xx, network errors, timeouts, answers that are not Twilio's (a proxy's error
//     page), and 401/403: rejected credentials are the channel's configuration, not the
//     message's fault, so deliveries wait for the credentials to be fixed instead of failing.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	if strings.TrimSpace(m.To) == "" {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeNoAddress,
			Reason: "the message has no recipient number"}
	}
	if m.Text == "" {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeNoBody,
			Reason: "the message has no text"}
	}
	if n := len(utf16.Encode([]rune(m.Text))); n > MaxBodyLength {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeBodyTooLong,
			Reason: fmt.Sprintf("the text is %d characters long; Twilio accepts at most %d", n, MaxBodyLength)}
	}
	if err := ctx.Err(); err != nil {
		return channels.Result{}, &channels.SendError{Class: channels.Temporary, Code: CodeCancelled,
			Reason: "cancelled before calling Twilio", Err: err}
	}

	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To).SetBody(m.Text)
	if s.cfg.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	} else {
		p.SetFrom(s.cfg.From)
	}
	if s.cfg.StatusCallback != nil {
		p.SetStatusCallback(s.cfg.StatusCallback(m.DeliveryID))
	}
	if s.cfg.ValidityPeriod > 0 {
		p.SetValidityPeriod(int(s.cfg.ValidityPeriod / time.Second))
	}

	call := &callState{ctx: ctx}
	defer call.finish()
	c := &client.Client{
		Credentials: s.creds,
		HTTPClient: &http.Client{
			Transport: &callTransport{base: s.transport, baseURL: s.baseURL, call: call},
			Timeout:   s.timeout,
			// The Messages API never redirects; following one would post the message elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.cfg.AccountSID)
	msg, err := openapi.NewApiServiceWithClient(c).CreateMessage(p)
	if err != nil {
		return channels.Result{}, s.classify(ctx, call, m, err)
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		return channels.Result{}, &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer,
			Reason: "Twilio's answer names no message SID; the message may have been accepted"}
	}
	res := channels.Result{ProviderID: *msg.Sid, Status: channels.StatusQueued}
	if msg.Status != nil {
		if st, ok := statusOf(*msg.Status); ok {
			res.Status = st
		}
	}
	if msg.NumSegments != nil {
		// "0" when sent through a Messaging Service, which counts later: 0 means unknown here too.
		if n, err := strconv.Atoi(*msg.NumSegments); err == nil && n > 0 {
			res.Segments = n
		}
	}
	return res, nil
}

// Error codes, from Twilio's error dictionary (https://www.twilio.com/docs/api/errors/NNNNN).
const (
	codeUnsubscribed = 21610 // the recipient replied STOP: attempt to send to unsubscribed recipient
	codeTooMany      = 20429 // too many requests
	codeRateExceeded = 14107 // message rate limit exceeded
	codeQueueFull    = 21611 // this 'From' number has exceeded the maximum number of queued messages
)

// permanentCodes are the 4xx codes known to mean "this message, as addressed, will never go
// through". Every other 4xx code from Twilio is treated alike; the list documents the common ones.
var permanentCodes = map[int]string{
	21211: "invalid 'To' phone number",
	21212: "invalid 'From' phone number",
	21214: "'To' phone number cannot be reached",
	21217: "phone number does not appear to be valid",
	21401: "invalid phone number",
	21407: "this phone number type does not support SMS",
	21408: "permission to send an SMS has not been enabled for the region of the 'To' number",
	21602: "message body is required",
	21604: "'To' phone number is required",
	21606: "the 'From' number is not a valid message-capable Twilio number for this destination",
	21608: "the 'To' number is not verified for this trial account",
	21612: "the 'To' number is not currently reachable via SMS",
	21614: "'To' number is not a valid mobile number",
	21617: "the message body exceeds the 1600 character limit",
	21619: "a message body or media URL is required",
	21660: "the 'From' number does not belong to this account",
	21703: "the Messaging Service has no phone number to send from",
}

// numberPattern finds phone numbers in Twilio's messages ("The 'To' number +15005550001 is not a
// valid phone number."): reasons are stored with deliveries in clear, numbers only encrypted.
var numberPattern = regexp.MustCompile(`\+?\b[0-9]{7,15}\b`)

func (s *Sender) classify(ctx context.Context, call *callState, m channels.Message, err error) error {
	safe := &channels.RedactedError{Msg: s.redact(err.Error()), Err: err}
	status, retryAfter := call.answer()

	var te *client.TwilioRestError
	if errors.As(err, &te) {
		reason := s.reason(te.Message, m)
		if reason == "" {
			reason = permanentCodes[te.Code]
		}
		se := &channels.SendError{Code: strconv.Itoa(te.Code), Reason: reason, Err: safe}
		// The HTTP status as received is authoritative; the "status" in Twilio's JSON is a copy
		// of it that an answer may lack.
		httpStatus := status
		if httpStatus == 0 {
			httpStatus = te.Status
		}
		if te.Code == 0 {
			se.Code = strconv.Itoa(httpStatus)
		}
		switch {
		case te.Code == codeUnsubscribed:
			se.Class = channels.RecipientStopped
		case te.Code == codeTooMany || te.Code == codeRateExceeded || httpStatus == http.StatusTooManyRequests:
			se.Class, se.RetryAfter = channels.Throttled, retryAfter
		case te.Code == codeQueueFull:
			se.Class = channels.Throttled
		case httpStatus == http.StatusUnauthorized || httpStatus == http.StatusForbidden:
			se.Class = channels.Temporary
			se.Reason = "Twilio rejected the channel's credentials (" + reason + "); fix them and the message will be retried"
		case httpStatus >= 500:
			se.Class = channels.Temporary
		case httpStatus >= 400 || permanentCodes[te.Code] != "":
			se.Class = channels.Permanent
		default:
			se.Class = channels.Temporary
		}
		return se
	}

	switch {
	case status == http.StatusTooManyRequests:
		return &channels.SendError{Class: channels.Throttled, RetryAfter: retryAfter, Code: "429",
			Reason: "Twilio asked us to slow down", Err: safe}
	case status != 0:
		// An answer Twilio's API would have explained in JSON: a proxy's or gateway's page.
		return &channels.SendError{Class: channels.Temporary, Code: strconv.Itoa(status),
			Reason: fmt.Sprintf("HTTP %d without a Twilio error; the message may have been accepted", status), Err: safe}
	case ctx.Err() != nil:
		return &channels.SendError{Class: channels.Temporary, Code: CodeCancelled,
			Reason: "cancelled while calling Twilio; the message may have been accepted", Err: safe}
	case call.answered():
		return &channels.SendError{Class: channels.Temporary, Code: CodeBadAnswer,
			Reason: "Twilio's answer could not be read; the message may have been accepted", Err: safe}
	default:
		return &channels.SendError{Class: channels.Temporary, Code: CodeNoAnswer,
			Reason: "no answer from Twilio (" + netReason(err) + "); the message may have been accepted", Err: safe}
	}
}

// reason is Twilio's message made fit to store: no secret, no phone number.
func (s *Sender) reason(msg string, m channels.Message) string {
	msg = s.redact(msg)
	if m.To != "" {
		msg = strings.ReplaceAll(msg, m.To, "<number>")
	}
	return numberPattern.ReplaceAllString(msg, "<number>")
}

// redact replaces every secret in text. Twilio's own texts hold none, but errors also quote URLs
// and answers, and a secret in a log is a secret lost.
func (s *Sender) redact(text string) string {
	for _, sec := range s.secrets {
		if sec != "" {
			text = strings.ReplaceAll(text, sec, "<secret>")
		}
	}
	return text
}

// netReason names a network failure without quoting the request URL.
func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		err = ue.Err
	}
	return err.Error()
}

// callState is what one Send learns at the HTTP level that twilio-go does not pass on: the
// status and Retry-After of Twilio's answer. It also ties the request to the caller's context.
type callState struct {
	ctx context.Context

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	cleanups   []func()
}

func (c *callState) record(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = resp.StatusCode
	c.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
}

func (c *callState) answer() (status int, retryAfter time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status >= 200 && c.status < 300 {
		return 0, 0
	}
	return c.status, c.retryAfter
}

func (c *callState) answered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status != 0
}

func (c *callState) onFinish(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

// finish releases the request's context once twilio-go has read the answer. twilio-go never
// closes the body of an error answer; cancelling the context is what frees its connection.
func (c *callState) finish() {
	c.mu.Lock()
	fs := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// callTransport sends one Send's requests: it points them at BaseURL in tests, makes the
// caller's context cancel them, and records the answer's status and Retry-After.
type callTransport struct {
	base    http.RoundTripper
	baseURL *url.URL
	call    *callState
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// The request's own context carries the http.Client timeout; cancelling it also when the
	// caller's context ends keeps both bounds.
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.call.ctx, func() { cancel(context.Cause(t.call.ctx)) })
	t.call.onFinish(func() { stop(); cancel(nil) })

	r := req.Clone(ctx)
	if t.baseURL != nil {
		r.URL.Scheme = t.baseURL.Scheme
		r.URL.Host = t.baseURL.Host
		r.Host = ""
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.call.record(resp)
	return resp, nil
}

// parseRetryAfter reads a Retry-After header in either of its forms, seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
