// Package sandbox is the built-in channel that needs no provider account: it "sends" by recording
// each message through a Recorder (the wiring hands it one that writes the workspace's outbox),
// and it can fail, throttle and report undelivered a chosen share of messages so that tests and
// demos exercise every path of the delivery engine without Twilio or Telegram.
//
// Every decision is a hash of the delivery id, never a random draw, so a test can predict it and
// a retried delivery meets the same fate.
package sandbox

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
)

// Recorder stores what the sandbox sends and returns the id the sandbox reports as the
// provider's (status receipts name it).
type Recorder interface {
	Record(ctx context.Context, m channels.Message) (providerID string, err error)
}

// Settings are a workspace's sandbox behaviour (table sandbox_settings). Each share is in [0,1];
// a share at or below 0 never happens and one at or above 1 always does.
type Settings struct {
	// FailShare of deliveries fail permanently, on every attempt.
	FailShare float64
	// ThrottleShare of send attempts are told to wait; see Sandbox.Send for how a throttled
	// delivery still goes through in the end.
	ThrottleShare float64
	// UndeliveredShare of sent deliveries get an "undelivered" receipt instead of "delivered".
	UndeliveredShare float64
}

// The codes and reasons the sandbox's errors carry, as a provider's would.
const (
	CodeFail      = "sandbox-fail"
	CodeThrottle  = "sandbox-throttle"
	CodeRecord    = "sandbox-record"
	CodeNoAddress = "sandbox-no-address"
)

// ThrottleRetryAfter is the wait a throttled send is told to observe.
const ThrottleRetryAfter = time.Second

// MaxThrottles is how many attempts in a row of one delivery can be throttled; the next goes
// through, so even a ThrottleShare of 1 slows deliveries down without ever stopping them.
const MaxThrottles = 3

// maxRemembered bounds the throttle memory. Entries live only while a delivery's last attempt
// was throttled, but a delivery that is never retried (its campaign was cancelled) would stay
// forever; forgetting all of them only means a few more throttles.
const maxRemembered = 100_000

// Sandbox is a channels.Sender that records instead of sending. It is safe for concurrent use.
type Sandbox struct {
	rec       Recorder
	settings  Settings
	throttles *throttleMemory
}

// throttleMemory counts throttled attempts per delivery, so that a delivery's n-th attempt is
// decided by hash(delivery, n) and the attempt after MaxThrottles is never throttled. It is
// process memory: a restarted worker starts counting again, which costs a delivery at most
// MaxThrottles more throttles.
type throttleMemory struct {
	mu       sync.Mutex
	attempts map[int64]int
}

// New returns a sandbox that records through rec and behaves as s says.
func New(rec Recorder, s Settings) *Sandbox {
	return &Sandbox{rec: rec, settings: s, throttles: &throttleMemory{attempts: map[int64]int{}}}
}

// WithRecorder returns a sandbox with the same settings and the same throttle memory that records
// through rec. A worker that records inside its own transaction needs a Recorder per send, while
// the throttle counts must outlive the send for a throttled delivery to get through: keep one
// Sandbox per workspace and call WithRecorder for each send.
func (s *Sandbox) WithRecorder(rec Recorder) *Sandbox {
	return &Sandbox{rec: rec, settings: s.settings, throttles: s.throttles}
}

// CommitTx writes what the recorder holds, when it is a recorder that keeps a send job's messages
// for the transaction recording the job's results (messages.BatchRecorder); a recorder that wrote
// each message at once needs nothing.
func (s *Sandbox) CommitTx(ctx context.Context, tx pgx.Tx) error {
	if c, ok := s.rec.(interface {
		CommitTx(context.Context, pgx.Tx) error
	}); ok {
		return c.CommitTx(ctx, tx)
	}
	return nil
}

// Settings returns the behaviour the sandbox was made with.
func (s *Sandbox) Settings() Settings { return s.settings }

// Kind returns channels.KindSandbox.
func (s *Sandbox) Kind() channels.Kind { return channels.KindSandbox }

// Send decides the outcome of one attempt, then records the message if it goes through:
//
//   - a FailShare of deliveries fail with a Permanent error (CodeFail), chosen by a hash of
//     DeliveryID, so every attempt of such a delivery fails alike;
//   - a ThrottleShare of attempts are Throttled with RetryAfter ThrottleRetryAfter (CodeThrottle),
//     chosen by a hash of DeliveryID and the number of attempts throttled so far (kept in memory),
//     and never more than MaxThrottles in a row;
//   - the rest are recorded through the Recorder and return its id with StatusSent.
//
// A message without an address fails permanently (CodeNoAddress), as with any provider; an error
// from the Recorder is Temporary, since the outbox being unavailable says nothing about the
// message.
func (s *Sandbox) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	if strings.TrimSpace(m.To) == "" {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeNoAddress,
			Reason: "the message has no address"}
	}
	if unit(saltFail, m.DeliveryID, 0) < s.settings.FailShare {
		return channels.Result{}, &channels.SendError{Class: channels.Permanent, Code: CodeFail,
			Reason: "failed on purpose by the sandbox's fail_share setting"}
	}
	if s.throttles.throttled(m.DeliveryID, s.settings.ThrottleShare) {
		return channels.Result{}, &channels.SendError{Class: channels.Throttled, RetryAfter: ThrottleRetryAfter,
			Code: CodeThrottle, Reason: "throttled on purpose by the sandbox's throttle_share setting"}
	}
	id, err := s.rec.Record(ctx, m)
	if err != nil {
		return channels.Result{}, &channels.SendError{Class: channels.Temporary, Code: CodeRecord,
			Reason: "the sandbox could not record the message", Err: err}
	}
	// Segments stays 0: the sandbox bills nothing, so it has no count of its own to report.
	return channels.Result{ProviderID: id, Status: channels.StatusSent}, nil
}

// Receipt returns the final status the sandbox reports for a sent message: StatusUndelivered for
// an UndeliveredShare of deliveries (chosen by a hash of deliveryID, independent of the other
// decisions), StatusDelivered for the rest.
func (s *Sandbox) Receipt(deliveryID int64) channels.Status {
	if unit(saltUndelivered, deliveryID, 0) < s.settings.UndeliveredShare {
		return channels.StatusUndelivered
	}
	return channels.StatusDelivered
}

func (t *throttleMemory) throttled(deliveryID int64, share float64) bool {
	if !(share > 0) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.attempts[deliveryID]
	if n < MaxThrottles && unit(saltThrottle, deliveryID, n) < share {
		if n == 0 && len(t.attempts) >= maxRemembered {
			clear(t.attempts)
		}
		t.attempts[deliveryID] = n + 1
		return true
	}
	delete(t.attempts, deliveryID)
	return false
}

// Salts keep the decisions independent: a delivery that fails is no likelier to be undelivered.
const (
	saltFail        = "fail"
	saltThrottle    = "throttle"
	saltUndelivered = "undelivered"
)

// unit maps (salt, id, attempt) to [0,1) uniformly and deterministically.
func unit(salt string, id int64, attempt int) float64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(attempt))
	h.Write(b[:])
	// FNV-1a's last input bytes barely reach its top bits, so neighbouring delivery ids would all
	// fall on the same side of a share; splitmix64's finalizer spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
