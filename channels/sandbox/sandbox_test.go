package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
)

// recorder is a fake outbox: it keeps what it is given, or fails with err.
type recorder struct {
	mu   sync.Mutex
	got  []channels.Message
	err  error
	next int
}

func (r *recorder) Record(_ context.Context, m channels.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", r.err
	}
	r.got = append(r.got, m)
	r.next++
	return fmt.Sprintf("SB%d", r.next), nil
}

var errOutboxDown = errors.New("outbox down")

func msg(id int64) channels.Message {
	return channels.Message{DeliveryID: id, To: "+254700000001", Text: "Habari", Language: "sw", Segments: 1}
}

// TestSend is the provider table: given this message, these settings and this recorder, expect
// this result or this class of error, and this many messages recorded.
func TestSend(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		settings  sandbox.Settings
		msg       channels.Message
		recordErr error

		want       channels.Result
		wantClass  channels.ErrorClass
		wantCode   string
		wantReason string
		wantRetry  time.Duration
		wantErr    error // must be in the chain
		recorded   int
	}{
		{
			name:     "default settings send",
			msg:      msg(1),
			want:     channels.Result{ProviderID: "SB1", Status: channels.StatusSent},
			recorded: 1,
		},
		{
			name:     "any string is an address",
			msg:      channels.Message{DeliveryID: 2, To: "alice", Text: "hi"},
			want:     channels.Result{ProviderID: "SB1", Status: channels.StatusSent},
			recorded: 1,
		},
		{
			name:     "undelivered share does not affect sending",
			settings: sandbox.Settings{UndeliveredShare: 1},
			msg:      msg(3),
			want:     channels.Result{ProviderID: "SB1", Status: channels.StatusSent},
			recorded: 1,
		},
		{
			name:       "fail share 1 fails permanently",
			settings:   sandbox.Settings{FailShare: 1},
			msg:        msg(4),
			wantClass:  channels.Permanent,
			wantCode:   "sandbox-fail",
			wantReason: "failed on purpose by the sandbox's fail_share setting",
		},
		{
			name:      "throttle share 1 throttles for a second",
			settings:  sandbox.Settings{ThrottleShare: 1},
			msg:       msg(5),
			wantClass: channels.Throttled,
			wantCode:  "sandbox-throttle",
			wantRetry: time.Second,
		},
		{
			name:      "failing beats throttling",
			settings:  sandbox.Settings{FailShare: 1, ThrottleShare: 1},
			msg:       msg(6),
			wantClass: channels.Permanent,
			wantCode:  "sandbox-fail",
		},
		{
			name:      "recorder error is temporary",
			msg:       msg(7),
			recordErr: errOutboxDown,
			wantClass: channels.Temporary,
			wantCode:  "sandbox-record",
			wantErr:   errOutboxDown,
		},
		{
			name:      "blank address fails permanently",
			msg:       channels.Message{DeliveryID: 8, To: "  ", Text: "hi"},
			wantClass: channels.Permanent,
			wantCode:  "sandbox-no-address",
		},
		{
			name:      "shares above 1 act as 1",
			settings:  sandbox.Settings{FailShare: 7},
			msg:       msg(9),
			wantClass: channels.Permanent,
			wantCode:  "sandbox-fail",
		},
		{
			name:     "negative shares act as 0",
			settings: sandbox.Settings{FailShare: -1, ThrottleShare: -1},
			msg:      msg(10),
			want:     channels.Result{ProviderID: "SB1", Status: channels.StatusSent},
			recorded: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{err: c.recordErr}
			sb := sandbox.New(rec, c.settings)
			if sb.Kind() != channels.KindSandbox {
				t.Fatalf("Kind = %q", sb.Kind())
			}
			res, err := sb.Send(context.Background(), c.msg)
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if res != c.want {
					t.Fatalf("Send = %+v, want %+v", res, c.want)
				}
			} else {
				var se *channels.SendError
				if !errors.As(err, &se) {
					t.Fatalf("Send error = %v, want a *channels.SendError", err)
				}
				if se.Class != c.wantClass || se.Code != c.wantCode || se.RetryAfter != c.wantRetry {
					t.Fatalf("Send error = %+v, want class %v, code %q, retry after %v", se, c.wantClass, c.wantCode, c.wantRetry)
				}
				if c.wantReason != "" && se.Reason != c.wantReason {
					t.Fatalf("reason = %q, want %q", se.Reason, c.wantReason)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v does not wrap %v", err, c.wantErr)
				}
				if res != (channels.Result{}) {
					t.Fatalf("a failed send returned a result: %+v", res)
				}
			}
			if len(rec.got) != c.recorded {
				t.Fatalf("recorded %d messages, want %d", len(rec.got), c.recorded)
			}
			if c.recorded > 0 && rec.got[0] != c.msg {
				t.Fatalf("recorded %+v, want the message as given %+v", rec.got[0], c.msg)
			}
		})
	}
}

// outcome summarises one Send for comparisons.
func outcome(res channels.Result, err error) string {
	if err != nil {
		return channels.Classify(err).Class.String()
	}
	return string(res.Status)
}

func TestThrottledDeliveryGoesThroughInTheEnd(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	sb := sandbox.New(rec, sandbox.Settings{ThrottleShare: 1})
	ctx := context.Background()
	for i := range sandbox.MaxThrottles {
		if _, err := sb.Send(ctx, msg(42)); channels.Classify(err).Class != channels.Throttled {
			t.Fatalf("attempt %d: %v, want throttled", i+1, err)
		}
	}
	res, err := sb.Send(ctx, msg(42))
	if err != nil || res.Status != channels.StatusSent {
		t.Fatalf("attempt %d: %+v, %v; want sent", sandbox.MaxThrottles+1, res, err)
	}
	// The count started over once the delivery went through; another delivery is counted apart.
	if _, err := sb.Send(ctx, msg(43)); channels.Classify(err).Class != channels.Throttled {
		t.Fatalf("another delivery: %v, want throttled", err)
	}
}

func TestWithRecorderSharesThrottleMemory(t *testing.T) {
	t.Parallel()
	base := sandbox.New(nil, sandbox.Settings{ThrottleShare: 1})
	ctx := context.Background()
	// A worker makes a Sandbox with its transaction's recorder for every attempt.
	for i := range sandbox.MaxThrottles {
		if _, err := base.WithRecorder(&recorder{}).Send(ctx, msg(7)); channels.Classify(err).Class != channels.Throttled {
			t.Fatalf("attempt %d: %v, want throttled", i+1, err)
		}
	}
	rec := &recorder{}
	if res, err := base.WithRecorder(rec).Send(ctx, msg(7)); err != nil || res.ProviderID != "SB1" {
		t.Fatalf("last attempt: %+v, %v; want sent through the new recorder", res, err)
	}
	if len(rec.got) != 1 {
		t.Fatalf("recorded %d, want 1", len(rec.got))
	}
}

// TestShares checks that each share is honoured over 10,000 deliveries. The decisions are hashes,
// so this is exact and repeatable; the tolerance is about five standard deviations of a fair
// draw, to catch a hash that clusters.
func TestShares(t *testing.T) {
	t.Parallel()
	const n = 10_000
	for _, s := range []sandbox.Settings{
		{FailShare: 0.1, ThrottleShare: 0.2, UndeliveredShare: 0.3},
		{FailShare: 0.5, ThrottleShare: 0.5, UndeliveredShare: 0.5},
		{FailShare: 0.01, ThrottleShare: 0.9, UndeliveredShare: 0.05},
	} {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			t.Parallel()
			sb := sandbox.New(&recorder{}, s)
			ctx := context.Background()
			var failed, throttled, undelivered int
			for id := int64(1); id <= n; id++ {
				switch _, err := sb.Send(ctx, msg(id)); {
				case err == nil:
				case channels.Classify(err).Class == channels.Permanent:
					failed++
				case channels.Classify(err).Class == channels.Throttled:
					throttled++
				default:
					t.Fatal(err)
				}
				if sb.Receipt(id) == channels.StatusUndelivered {
					undelivered++
				}
			}
			check := func(what string, got int, of int, share float64) {
				t.Helper()
				tol := 5*math.Sqrt(share*(1-share)/float64(of)) + 0.002
				if frac := float64(got) / float64(of); math.Abs(frac-share) > tol {
					t.Errorf("%s: %d of %d = %.4f, want %.2f ± %.4f", what, got, of, frac, share, tol)
				}
			}
			check("failed", failed, n, s.FailShare)
			// Only deliveries that did not fail reach the throttle.
			check("throttled on first attempt", throttled, n-failed, s.ThrottleShare)
			check("undelivered", undelivered, n, s.UndeliveredShare)
		})
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	s := sandbox.Settings{FailShare: 0.3, ThrottleShare: 0.3, UndeliveredShare: 0.3}
	ctx := context.Background()
	// Two sandboxes, as in two processes: every attempt of every delivery ends alike, including
	// the throttle decisions of later attempts.
	a, b := sandbox.New(&recorder{}, s), sandbox.New(&recorder{}, s)
	const deliveries = 2000
	done := map[int64]bool{} // failed for good or sent
	for attempt := range sandbox.MaxThrottles + 1 {
		for id := int64(1); id <= deliveries; id++ {
			ra, ea := a.Send(ctx, msg(id))
			rb, eb := b.Send(ctx, msg(id))
			oa, ob := outcome(ra, ea), outcome(rb, eb)
			if oa != ob {
				t.Fatalf("attempt %d of delivery %d: %s and %s", attempt+1, id, oa, ob)
			}
			if oa != channels.Throttled.String() {
				done[id] = true
			}
			if a.Receipt(id) != b.Receipt(id) {
				t.Fatalf("receipt of delivery %d differs", id)
			}
		}
	}
	// Within MaxThrottles+1 attempts every delivery failed for good or went through.
	if len(done) != deliveries {
		t.Fatalf("%d of %d deliveries still throttled after %d attempts", deliveries-len(done), deliveries, sandbox.MaxThrottles+1)
	}
}

func TestReceipt(t *testing.T) {
	t.Parallel()
	never := sandbox.New(nil, sandbox.Settings{})
	always := sandbox.New(nil, sandbox.Settings{UndeliveredShare: 1})
	for id := int64(1); id <= 100; id++ {
		if got := never.Receipt(id); got != channels.StatusDelivered {
			t.Fatalf("share 0: Receipt(%d) = %s", id, got)
		}
		if got := always.Receipt(id); got != channels.StatusUndelivered {
			t.Fatalf("share 1: Receipt(%d) = %s", id, got)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	sb := sandbox.New(rec, sandbox.Settings{ThrottleShare: 0.5})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for id := int64(w * 1000); id < int64(w*1000+500); id++ {
				for {
					_, err := sb.Send(context.Background(), msg(id))
					if err == nil {
						break
					}
					if channels.Classify(err).Class != channels.Throttled {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if len(rec.got) != 8*500 {
		t.Fatalf("recorded %d, want %d", len(rec.got), 8*500)
	}
}
