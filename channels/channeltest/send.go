package channeltest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/waymark-org/waymark/channels"
)

// SendCase is one row of a provider's send table: given this message and a fake provider that
// expects these exchanges, expect this result or this classified error.
type SendCase struct {
	Name    string
	Message channels.Message
	// Exchanges are what the fake provider expects and answers, in order. None means the
	// sender must refuse the message without calling the provider.
	Exchanges []Exchange
	// Context, when set, gives the context for Send (to test deadlines and cancellation);
	// otherwise the test's own context is used.
	Context func(t *testing.T) context.Context

	// Want is the expected result when Err is nil.
	Want channels.Result
	// Err, when set, says the send must fail with a *channels.SendError like this one.
	Err *WantError

	// Secrets must appear neither in the error's text nor in anything the sender logged.
	Secrets []string
}

// WantError describes the classified error a send must return.
type WantError struct {
	Class channels.ErrorClass
	// Code is compared exactly, "" included.
	Code string
	// RetryAfter is compared exactly, 0 included.
	RetryAfter time.Duration
	// ReasonContains must each appear in the error's Reason.
	ReasonContains []string
}

// NewSender builds the sender under test against a fake provider at serverURL, logging to
// logger. A table's runner calls it once per case, so cases share no state.
type NewSender func(serverURL string, logger *slog.Logger) channels.Sender

// RunSendCases runs each case as a parallel subtest: it starts a fake provider with the case's
// exchanges, builds a sender against it, sends the message, and checks the result or error, that
// every exchange was used and no other request made, and that no secret leaked into the error
// or the logs. A failed send must return a zero Result, so nobody records a half-accepted message.
func RunSendCases(t *testing.T, cases []SendCase, newSender NewSender) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, c.Exchanges...)
			logs := NewLogCapture()
			s := newSender(srv.URL, logs.Logger())
			ctx := t.Context()
			if c.Context != nil {
				ctx = c.Context(t)
			}
			res, err := s.Send(ctx, c.Message)
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			CheckSendOutcome(t, res, err, c.Want, c.Err)
			AssertNoSecrets(t, c.Secrets, errText, logs.String(), res.ProviderID)
		})
	}
}

// CheckSendOutcome compares a send's outcome with a wanted result (when want is nil) or a
// wanted classified error. Provider tests use it for sends outside a table, such as keyboards.
func CheckSendOutcome(t testing.TB, res channels.Result, err error, wantRes channels.Result, want *WantError) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Send: unexpected error: %v", err)
		}
		if res != wantRes {
			t.Fatalf("Send = %+v, want %+v", res, wantRes)
		}
		return
	}
	var se *channels.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send error = %v (%T), want a *channels.SendError", err, err)
	}
	if se.Class != want.Class || se.Code != want.Code || se.RetryAfter != want.RetryAfter {
		t.Errorf("Send error = class %v, code %q, retry after %v (%q); want class %v, code %q, retry after %v",
			se.Class, se.Code, se.RetryAfter, se.Error(), want.Class, want.Code, want.RetryAfter)
	}
	for _, part := range want.ReasonContains {
		if !strings.Contains(se.Reason, part) {
			t.Errorf("Send error reason %q does not contain %q", se.Reason, part)
		}
	}
	if res != (channels.Result{}) {
		t.Errorf("a failed send returned a result: %+v", res)
	}
}
