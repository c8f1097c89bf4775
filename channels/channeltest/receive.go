package channeltest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/waymark-org/waymark/channels"
)

// ReceiveCase is one row of a provider's receive table: given this webhook request, expect these
// events or this rejection.
type ReceiveCase struct {
	Name string
	// Method is the request's method; "" means POST.
	Method string
	// Target is the request target as our server sees it: path and query
	// ("/hooks/twilio/status?d=42"). Behind a proxy this differs from the URL the provider
	// called, which is the point of some signature cases.
	Target string
	Header map[string]string
	// BodyFile names a recorded payload (usually under testdata/), sent byte for byte; Body is
	// used when BodyFile is empty.
	BodyFile string
	Body     string
	// Prepare adjusts the request before it is received: typically it signs the body, and a
	// forgery case then changes a byte after signing.
	Prepare func(t testing.TB, r *http.Request, body []byte)

	// Want is what an accepted request must yield.
	Want Received
	// Reject, when not 0, is the HTTP status with which the request must be refused; a refused
	// request yields nothing, so nothing is stored.
	Reject int

	// Secrets must appear neither in an error's text nor in anything logged.
	Secrets []string
}

// Received is what a provider made of a webhook request: an inbound message, a status update,
// or a request it accepted and deliberately ignores (an update kind Waymark does not handle).
type Received struct {
	Inbound *channels.Inbound
	Status  *channels.StatusUpdate
	Ignored bool
}

// Rejection is the error a Receive function returns for a request it refuses; Status is the
// HTTP status the webhook answers (403 bad signature, 401 wrong secret, 400 unreadable).
type Rejection struct {
	Status int
	Reason string
}

func (r *Rejection) Error() string { return fmt.Sprintf("rejected with %d: %s", r.Status, r.Reason) }

// Receive is how a provider test turns a webhook request into events; it mirrors what the web
// handler does with the provider's exported checks and parsers, in the same order.
type Receive func(r *http.Request, logger *slog.Logger) (Received, error)

// RunReceiveCases runs each case as a parallel subtest: it builds the request (from the recorded
// body file when given), lets Prepare sign or tamper with it, passes it to receive, and checks
// the events or the rejection, and that no secret leaked into an error or the logs.
func RunReceiveCases(t *testing.T, cases []ReceiveCase, receive Receive) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			body := []byte(c.Body)
			if c.BodyFile != "" {
				var err error
				if body, err = os.ReadFile(c.BodyFile); err != nil {
					t.Fatal(err)
				}
			}
			method := c.Method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, c.Target, bytes.NewReader(body))
			for k, v := range c.Header {
				r.Header.Set(k, v)
			}
			if c.Prepare != nil {
				c.Prepare(t, r, body)
			}
			logs := NewLogCapture()
			got, err := receive(r, logs.Logger())
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			AssertNoSecrets(t, c.Secrets, errText, logs.String())

			if c.Reject != 0 {
				var rej *Rejection
				if !errors.As(err, &rej) {
					t.Fatalf("got %+v, %v; want a rejection with %d", describe(got), err, c.Reject)
				}
				if rej.Status != c.Reject {
					t.Fatalf("rejected with %d (%s), want %d", rej.Status, rej.Reason, c.Reject)
				}
				if got != (Received{}) {
					t.Fatalf("a rejected request yielded %s", describe(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			if d, w := describe(got), describe(c.Want); d != w {
				t.Fatalf("received %s\nwant     %s", d, w)
			}
		})
	}
}

// describe prints a Received with its pointers followed, so comparisons and failures show values.
func describe(r Received) string {
	s := fmt.Sprintf("ignored=%v", r.Ignored)
	if r.Inbound != nil {
		s += fmt.Sprintf(" inbound=%+v", *r.Inbound)
	}
	if r.Status != nil {
		s += fmt.Sprintf(" status=%+v", *r.Status)
	}
	return s
}
