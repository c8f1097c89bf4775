package twilio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/waymark-org/waymark/channels"
)

// SignatureHeader is the header Twilio signs webhooks in.
const SignatureHeader = "X-Twilio-Signature"

// MaxWebhookBody bounds the webhook bodies ValidateRequest reads. An inbound SMS of 1600
// characters of Ethiopic is under 20 KB form-encoded; anything near this size is not Twilio.
const MaxWebhookBody = 256 << 10

// WebhookURL returns the URL Twilio called for r: publicBase (WAYMARK_PUBLIC_URL, the address
// providers reach us at, with any path prefix a reverse proxy strips) followed by the request
// target exactly as it arrived. The raw target (r.RequestURI) is used rather than r.URL, which
// http.StripPrefix rewrites and Go re-escapes: the signature covers the URL byte for byte.
func WebhookURL(publicBase string, r *http.Request) string {
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	} else if u, err := url.Parse(target); err == nil && u.IsAbs() {
		target = u.RequestURI() // absolute-form request target, as sent to a proxy
	}
	return strings.TrimSuffix(publicBase, "/") + target
}

// ValidateRequest checks the X-Twilio-Signature of a webhook request (an inbound message or a
// status callback, both form POSTs) whose externally visible URL is publicURL (see WebhookURL),
// and returns its form parameters only if the signature is Twilio's, computed with authToken over
// that URL, query included, and every parameter. It reads r.Body and puts it back, so a handler
// can still read it.
//
// It refuses (ok false, nothing to store) anything else: another method or content type, a
// missing or wrong signature, a body too large, and a parameter repeated, since the signature
// scheme covers only one value per name and a second value would ride along unsigned. Twilio
// signs no timestamp, so an identical replay passes: MessageSid makes storing it again a no-op,
// and status updates only move forward.
//
// The returned form holds the body's parameters only; the query string is covered by the
// signature as part of the URL, and the caller reads it from r.URL.
func ValidateRequest(authToken, publicURL string, r *http.Request) (form url.Values, ok bool) {
	if authToken == "" || r.Method != http.MethodPost {
		return nil, false
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, false
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, false
	}
	if r.Body == nil {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || len(body) > MaxWebhookBody {
		return nil, false
	}
	form, err = url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, false
		}
		params[k] = vs[0]
	}
	// twilio-go's validator compares in constant time and tries the URL with and without the
	// default port, as Twilio signs either depending on how the URL was configured.
	v := client.NewRequestValidator(authToken)
	if !v.Validate(publicURL, params, sig) {
		return nil, false
	}
	return form, true
}

// ErrNotInbound is returned by ParseInbound for a signed request that is not an inbound message,
// typically a status callback posted to the inbound URL.
var ErrNotInbound = errors.New("twilio: not an inbound message")

// optOutTypes are the values Advanced Opt-Out sets; anything else is not a verdict we can act on.
var optOutTypes = map[string]bool{"stop": true, "start": true, "help": true}

// ParseInbound reads an inbound SMS webhook's parameters (already validated) into an Inbound:
// MessageSid (SmsSid in older callbacks) is its ProviderID, so a retried webhook is stored once;
// From, To and Body as sent; OptOutType, set by Advanced Opt-Out when the text matched one of
// the Messaging Service's keywords in any language, lower-cased into OptOut ("stop", "start",
// "help"). Twilio has then already acted on it, so we must too, at once.
func ParseInbound(form url.Values) (channels.Inbound, error) {
	sid := firstOf(form, "MessageSid", "SmsSid", "SmsMessageSid")
	if sid == "" {
		return channels.Inbound{}, fmt.Errorf("%w: no MessageSid", ErrNotInbound)
	}
	if st := firstOf(form, "SmsStatus", "MessageStatus"); st != "" && st != "received" && st != "receiving" {
		return channels.Inbound{}, fmt.Errorf("%w: status %q belongs to a status callback", ErrNotInbound, st)
	}
	from := form.Get("From")
	if from == "" {
		return channels.Inbound{}, fmt.Errorf("%w: no From", ErrNotInbound)
	}
	in := channels.Inbound{
		Kind:       channels.KindSMS,
		ProviderID: sid,
		From:       from,
		To:         form.Get("To"),
		Text:       form.Get("Body"),
	}
	if o := strings.ToLower(strings.TrimSpace(form.Get("OptOutType"))); optOutTypes[o] {
		in.OptOut = o
	}
	return in, nil
}

// ErrUnknownStatus is returned by ParseStatus for a MessageStatus it cannot place in a
// delivery's progress; the caller should answer 200 anyway so Twilio does not retry, and log it.
var ErrUnknownStatus = errors.New("twilio: unknown message status")

// ParseStatus reads a status callback's parameters (already validated): MessageSid (or SmsSid),
// MessageStatus (or SmsStatus) as a channels.Status, and ErrorCode for failures (such as 30003,
// unreachable handset). Callbacks come late, twice and out of order; apply them through
// Status.Rank so a delivery only moves forward.
//
// Twilio's statuses map as: accepted, scheduled, queued -> queued; sending; sent; delivered;
// undelivered; failed; read; canceled -> failed (a cancelled message will never be sent).
func ParseStatus(form url.Values) (channels.StatusUpdate, error) {
	sid := firstOf(form, "MessageSid", "SmsSid")
	if sid == "" {
		return channels.StatusUpdate{}, errors.New("twilio: status callback without MessageSid")
	}
	raw := firstOf(form, "MessageStatus", "SmsStatus")
	st, ok := statusOf(raw)
	if !ok {
		return channels.StatusUpdate{}, fmt.Errorf("%w %q for %s", ErrUnknownStatus, raw, sid)
	}
	u := channels.StatusUpdate{ProviderID: sid, Status: st}
	if code := strings.TrimSpace(form.Get("ErrorCode")); code != "" && code != "0" {
		u.ErrorCode = code
	}
	return u, nil
}

// statusOf maps Twilio's message statuses (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values)
// onto ours.
func statusOf(s string) (channels.Status, bool) {
	switch strings.ToLower(s) {
	case "accepted", "scheduled", "queued":
		return channels.StatusQueued, true
	case "sending":
		return channels.StatusSending, true
	case "sent":
		return channels.StatusSent, true
	case "delivered":
		return channels.StatusDelivered, true
	case "undelivered":
		return channels.StatusUndelivered, true
	case "failed", "canceled":
		return channels.StatusFailed, true
	case "read":
		return channels.StatusRead, true
	}
	return "", false
}

func firstOf(form url.Values, names ...string) string {
	for _, n := range names {
		if v := form.Get(n); v != "" {
			return v
		}
	}
	return ""
}
