package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/channeltest"
	"github.com/waymark-org/waymark/channels/twilio"
)

// Twilio's published test vector (https://www.twilio.com/docs/usage/security#validating-requests).
const (
	vectorToken     = "12345"
	vectorURL       = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorBody      = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212"
	vectorSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func TestSignatureTestVector(t *testing.T) {
	t.Parallel()
	params := map[string]string{
		"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
		"From": "+12349013030", "To": "+18005551212",
	}
	v := client.NewRequestValidator(vectorToken)
	if !v.Validate(vectorURL, params, vectorSignature) {
		t.Error("twilio-go's Validate rejects the published vector")
	}
	if !v.ValidateBody(vectorURL, []byte(vectorBody), vectorSignature) {
		t.Error("twilio-go's ValidateBody rejects the published vector")
	}
	form, _ := url.ParseQuery(vectorBody)
	if got := signature(vectorToken, vectorURL, form); got != vectorSignature {
		t.Errorf("the test's own signer gives %q, want %q", got, vectorSignature)
	}

	// The same request as our server sees it: the host and scheme come from the public URL.
	r := httptest.NewRequest(http.MethodPost, "/myapp.php?foo=1&bar=2", strings.NewReader(vectorBody))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilio.SignatureHeader, vectorSignature)
	public := twilio.WebhookURL("https://mycompany.com/", r)
	if public != vectorURL {
		t.Fatalf("WebhookURL = %q, want %q", public, vectorURL)
	}
	got, ok := twilio.ValidateRequest(vectorToken, public, r)
	if !ok {
		t.Fatal("ValidateRequest rejects the published vector")
	}
	if got.Get("Digits") != "1234" || got.Has("foo") {
		t.Errorf("form = %v, want the body's parameters only", got)
	}
	// The body is still there for the handler.
	if b, _ := io.ReadAll(r.Body); string(b) != vectorBody {
		t.Errorf("body after validation = %q", b)
	}

	for name, mutate := range map[string]func(*http.Request){
		"another token":   func(r *http.Request) { r.Header.Set(twilio.SignatureHeader, signature("54321", vectorURL, form)) },
		"no signature":    func(r *http.Request) { r.Header.Del(twilio.SignatureHeader) },
		"a GET":           func(r *http.Request) { r.Method = http.MethodGet },
		"JSON":            func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
		"extra parameter": func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(vectorBody + "&Digits=9999")) },
	} {
		r := httptest.NewRequest(http.MethodPost, "/myapp.php?foo=1&bar=2", strings.NewReader(vectorBody))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(twilio.SignatureHeader, vectorSignature)
		mutate(r)
		if _, ok := twilio.ValidateRequest(vectorToken, vectorURL, r); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := twilio.ValidateRequest("", vectorURL, r); ok {
		t.Error("an empty token accepted a request")
	}
}

// signature computes X-Twilio-Signature independently of twilio-go: HMAC-SHA1 with the token over
// the URL followed by every parameter name and value, sorted by name, in base64.
func signature(token, u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := u
	for _, k := range keys {
		for _, v := range form[k] {
			s += k + v
		}
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// publicBase is WAYMARK_PUBLIC_URL in these tests: a reverse proxy serves Waymark under /waymark
// and strips that prefix, so our server sees /hooks/... while Twilio calls /waymark/hooks/....
const publicBase = "https://ngo.example/waymark"

// signedFor returns a Prepare that signs the request as Twilio would when calling calledURL (""
// means the URL Twilio really calls here: publicBase and the request target).
func signedFor(calledURL string) func(testing.TB, *http.Request, []byte) {
	return func(t testing.TB, r *http.Request, body []byte) {
		u := calledURL
		if u == "" {
			u = publicBase + r.URL.RequestURI()
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set(twilio.SignatureHeader, signature(authToken, u, form))
	}
}

var signed = signedFor("")

// tampered signs the request, then changes its body or URL as an attacker replaying it would.
func tampered(change func(r *http.Request, body string) string) func(testing.TB, *http.Request, []byte) {
	return func(t testing.TB, r *http.Request, body []byte) {
		signed(t, r, body)
		r.Body = io.NopCloser(strings.NewReader(change(r, string(body))))
	}
}

// receive does what the webhook handlers do: check the signature over the public URL (403 and
// nothing stored if it fails), then parse by route.
func receive(r *http.Request, _ *slog.Logger) (channeltest.Received, error) {
	form, ok := twilio.ValidateRequest(authToken, twilio.WebhookURL(publicBase, r), r)
	if !ok {
		return channeltest.Received{}, &channeltest.Rejection{Status: http.StatusForbidden, Reason: "bad signature"}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/hooks/twilio/sms"):
		in, err := twilio.ParseInbound(form)
		if err != nil {
			return channeltest.Received{}, &channeltest.Rejection{Status: http.StatusBadRequest, Reason: err.Error()}
		}
		return channeltest.Received{Inbound: &in}, nil
	case strings.HasPrefix(r.URL.Path, "/hooks/twilio/status"):
		u, err := twilio.ParseStatus(form)
		if errors.Is(err, twilio.ErrUnknownStatus) {
			// Answered 200 and logged: Twilio would only send it again.
			return channeltest.Received{Ignored: true}, nil
		}
		if err != nil {
			return channeltest.Received{}, &channeltest.Rejection{Status: http.StatusBadRequest, Reason: err.Error()}
		}
		return channeltest.Received{Status: &u}, nil
	}
	return channeltest.Received{}, &channeltest.Rejection{Status: http.StatusNotFound, Reason: "no route"}
}

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

const (
	inboundSID  = "SM1a2b3c4d5e6f708192a3b4c5d6e7f809"
	outboundSID = "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0"
)

func inbound(sid, text, optOut string) *channels.Inbound {
	return &channels.Inbound{Kind: channels.KindSMS, ProviderID: sid, From: theirNumber, To: ourNumber, Text: text, OptOut: optOut}
}

func status(s channels.Status, code string) *channels.StatusUpdate {
	return &channels.StatusUpdate{ProviderID: outboundSID, Status: s, ErrorCode: code}
}

func TestReceive(t *testing.T) {
	t.Parallel()
	amharicIn := inbound(inboundSID, "ሰላም፣ ስለ ሥራ ቪዛ መረጃ እፈልጋለሁ", "")
	cases := []channeltest.ReceiveCase{
		{Name: "inbound in Amharic", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: signed, Want: channeltest.Received{Inbound: amharicIn}},
		{Name: "exact replay is accepted; its MessageSid makes storing it a no-op", Target: "/hooks/twilio/sms/3",
			BodyFile: "testdata/inbound_amharic.form", Prepare: signed, Want: channeltest.Received{Inbound: amharicIn}},
		{Name: "Advanced Opt-Out STOP in Amharic", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_optout_stop.form",
			Prepare: signed, Want: channeltest.Received{Inbound: inbound("SM2a2b3c4d5e6f708192a3b4c5d6e7f809", "አቁም", "stop")}},
		{Name: "inbound with media keeps its text", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_mms.form",
			Prepare: signed, Want: channeltest.Received{Inbound: inbound("MM3a2b3c4d5e6f708192a3b4c5d6e7f809", "ይህ ውል ትክክል ነው?", "")}},
		{Name: "status queued", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_queued.form",
			Prepare: signed, Want: channeltest.Received{Status: status(channels.StatusQueued, "")}},
		{Name: "status sent", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_sent.form",
			Prepare: signed, Want: channeltest.Received{Status: status(channels.StatusSent, "")}},
		{Name: "status delivered", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_delivered.form",
			Prepare: signed, Want: channeltest.Received{Status: status(channels.StatusDelivered, "")}},
		{Name: "status undelivered 30003", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_undelivered_30003.form",
			Prepare: signed, Want: channeltest.Received{Status: status(channels.StatusUndelivered, "30003")}},
		{Name: "status failed 30008", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_failed_30008.form",
			Prepare: signed, Want: channeltest.Received{Status: status(channels.StatusFailed, "30008")}},
		{Name: "status read", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_read.form",
			Prepare: signed, Want: channeltest.Received{Status: status(channels.StatusRead, "")}},
		{Name: "an unknown status is ignored", Target: "/hooks/twilio/status/3?d=77",
			Body:    "MessageSid=" + outboundSID + "&MessageStatus=partially_delivered&AccountSid=" + accountSID,
			Prepare: signed, Want: channeltest.Received{Ignored: true}},

		{Name: "forged signature", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: func(_ testing.TB, r *http.Request, _ []byte) {
				r.Header.Set(twilio.SignatureHeader, "bm90IGEgcmVhbCBzaWduYXR1cmU=")
			}, Reject: http.StatusForbidden},
		{Name: "missing signature", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Reject: http.StatusForbidden},
		{Name: "signed with another token", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: func(t testing.TB, r *http.Request, body []byte) {
				form, _ := url.ParseQuery(string(body))
				r.Header.Set(twilio.SignatureHeader, signature("00000000000000000000000000000000", publicBase+r.URL.RequestURI(), form))
			}, Reject: http.StatusForbidden},
		{Name: "signed for the URL without the proxy's prefix", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: signedFor("https://ngo.example/hooks/twilio/sms/3"), Reject: http.StatusForbidden},
		{Name: "signed for another host", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: signedFor("https://attacker.example/waymark/hooks/twilio/sms/3"), Reject: http.StatusForbidden},
		{Name: "signed for another webhook", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_delivered.form",
			Prepare: signedFor(publicBase + "/hooks/twilio/status/4?d=77"), Reject: http.StatusForbidden},
		{Name: "replayed with the body changed", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: tampered(func(_ *http.Request, body string) string {
				return strings.Replace(body, "Body=", "Body=STOP+", 1)
			}), Reject: http.StatusForbidden},
		{Name: "replayed with the sender changed", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: tampered(func(_ *http.Request, body string) string {
				return strings.Replace(body, "From=%2B251900000001", "From=%2B251900000002", 1)
			}), Reject: http.StatusForbidden},
		{Name: "replayed for another delivery", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_delivered.form",
			Prepare: tampered(func(r *http.Request, body string) string {
				r.RequestURI = "/hooks/twilio/status/3?d=78"
				r.URL, _ = url.Parse(r.RequestURI)
				return body
			}), Reject: http.StatusForbidden},
		{Name: "replayed with a status changed", Target: "/hooks/twilio/status/3?d=77", BodyFile: "testdata/status_undelivered_30003.form",
			Prepare: tampered(func(_ *http.Request, body string) string {
				return strings.ReplaceAll(body, "undelivered", "delivered")
			}), Reject: http.StatusForbidden},
		{Name: "a second value appended to a signed parameter", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/inbound_amharic.form",
			Prepare: tampered(func(_ *http.Request, body string) string { return body + "&Body=START" }),
			Reject:  http.StatusForbidden},
		{Name: "a status callback sent to the inbound URL", Target: "/hooks/twilio/sms/3", BodyFile: "testdata/status_delivered.form",
			Prepare: signed, Reject: http.StatusBadRequest},
		{Name: "a signed request that is not a message", Target: "/hooks/twilio/sms/3", Body: "AccountSid=" + accountSID,
			Prepare: signed, Reject: http.StatusBadRequest},
		{Name: "a signed status callback without a status", Target: "/hooks/twilio/status/3?d=77", Body: "AccountSid=" + accountSID,
			Prepare: signed, Reject: http.StatusBadRequest},
	}
	for i := range cases {
		if cases[i].Header == nil {
			cases[i].Header = formHeader
		}
		cases[i].Secrets = []string{authToken}
	}
	channeltest.RunReceiveCases(t, cases, receive)
}

func TestValidateRequestRefusesOversizedBodies(t *testing.T) {
	t.Parallel()
	body := "MessageSid=" + inboundSID + "&Body=" + strings.Repeat("a", twilio.MaxWebhookBody)
	r := httptest.NewRequest(http.MethodPost, "/hooks/twilio/sms/3", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form, _ := url.ParseQuery(body)
	r.Header.Set(twilio.SignatureHeader, signature(authToken, publicBase+"/hooks/twilio/sms/3", form))
	if _, ok := twilio.ValidateRequest(authToken, twilio.WebhookURL(publicBase, r), r); ok {
		t.Fatal("accepted a body over MaxWebhookBody")
	}
}

func TestWebhookURL(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/hooks/twilio/status/3?d=77&x=a%2Fb", nil)
	// http.StripPrefix rewrites r.URL but not the target as received.
	r.URL.Path = "/status/3"
	if got, want := twilio.WebhookURL(publicBase+"/", r), publicBase+"/hooks/twilio/status/3?d=77&x=a%2Fb"; got != want {
		t.Errorf("WebhookURL = %q, want %q", got, want)
	}
	r.RequestURI = ""
	if got, want := twilio.WebhookURL(publicBase, r), publicBase+"/status/3?d=77&x=a%2Fb"; got != want {
		t.Errorf("WebhookURL without a raw target = %q, want %q", got, want)
	}
}

// TestStatusCallbacksOnlyMoveForward applies recorded callbacks, late, duplicated and for a
// message we never sent, the way the delivery engine does: by MessageSid, by rank, ignoring SIDs
// it does not know. It checks that the parsed statuses rank so that nothing moves back.
func TestStatusCallbacksOnlyMoveForward(t *testing.T) {
	t.Parallel()
	read := func(file string) channels.StatusUpdate {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		form, _ := url.ParseQuery(string(b))
		u, err := twilio.ParseStatus(form)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	unknown := read("status_delivered.form")
	unknown.ProviderID = "SM00000000000000000000000000000000"

	deliveries := map[string]channels.Status{outboundSID: channels.StatusQueued}
	apply := func(u channels.StatusUpdate) {
		cur, ok := deliveries[u.ProviderID]
		if ok && u.Status.Rank() > cur.Rank() {
			deliveries[u.ProviderID] = u.Status
		}
	}
	for _, f := range []string{"status_sent.form", "status_delivered.form", "status_queued.form", "status_sent.form",
		"status_delivered.form", "status_undelivered_30003.form"} {
		apply(read(f))
	}
	apply(unknown)
	if got := deliveries[outboundSID]; got != channels.StatusDelivered {
		t.Errorf("after late and repeated callbacks the delivery is %q, want delivered", got)
	}
	if _, ok := deliveries[unknown.ProviderID]; ok {
		t.Error("a callback for an unknown MessageSid created a delivery")
	}
	apply(read("status_read.form"))
	if got := deliveries[outboundSID]; got != channels.StatusRead {
		t.Errorf("read after delivered gives %q", got)
	}
}
