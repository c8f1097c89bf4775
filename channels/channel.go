package channels

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is a kind of channel. Consent and suppression apply per kind: a person who stopped SMS
// from one number of a workspace hears from none of its numbers.
type Kind string

// The channel kinds.
const (
	KindSMS      Kind = "sms"
	KindTelegram Kind = "telegram"
	KindSandbox  Kind = "sandbox"
)

// Message is one rendered outbound message. Providers never see templates, contacts or the
// database: the text is final and in one language.
type Message struct {
	// DeliveryID identifies the delivery; providers put it in status callback URLs.
	DeliveryID int64
	// To is the address: E.164 for SMS, a chat id for Telegram, any string for the sandbox.
	To       string
	Text     string
	Language string
	// Segments is Waymark's own count, used for rate budgets; providers may report their own.
	Segments int
}

// Result is what a provider accepted.
type Result struct {
	// ProviderID is the provider's message id (Twilio SID, Telegram message id, sandbox id);
	// status callbacks name it.
	ProviderID string
	// Status is the state the provider reports on acceptance, usually StatusSent or StatusQueued.
	Status Status
	// Segments is the provider's segment count when it reports one (it is what bills), else 0.
	Segments int
}

// Sender sends messages over one configured channel.
type Sender interface {
	Kind() Kind
	Send(ctx context.Context, m Message) (Result, error)
}

// ErrorClass says what the worker should do about a failed send.
type ErrorClass int

// The error classes, after nyaruka/courier's: only worker/ turns them into River behaviour.
const (
	// Temporary: retry with backoff (network errors, provider 5xx, timeouts: the outcome of a
	// timed-out call is unknown, so a retry may duplicate; see the README's delivery bound).
	Temporary ErrorClass = iota
	// Throttled: the provider asked us to slow down; wait RetryAfter, then try again.
	Throttled
	// Permanent: this message will never go through (bad number, not a mobile); fail it.
	Permanent
	// RecipientStopped: the person opted out at the provider (Twilio 21610, Telegram "bot was
	// blocked"); fail it and record an opt-out in the consent ledger.
	RecipientStopped
)

func (c ErrorClass) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case Throttled:
		return "throttled"
	case Permanent:
		return "permanent"
	case RecipientStopped:
		return "recipient_stopped"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// SendError is a classified send failure. Code and Reason come from the provider and are kept
// with the delivery; they never contain credentials.
type SendError struct {
	Class      ErrorClass
	RetryAfter time.Duration // for Throttled; 0 means the provider gave no hint
	Code       string        // the provider's error code, such as "21610"
	Reason     string        // the provider's explanation
	Err        error         // the underlying error, for logs
}

func (e *SendError) Error() string {
	s := e.Class.String()
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap exposes the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// RedactedError carries a provider's error under a text cleaned of secrets, so that logging it is
// safe while errors.As still finds the provider library's types.
type RedactedError struct {
	Msg string // the error's text with credentials replaced
	Err error
}

func (e *RedactedError) Error() string { return e.Msg }

// Unwrap exposes the provider's error.
func (e *RedactedError) Unwrap() error { return e.Err }

// Classify returns the class of err: a *SendError's own, Temporary for anything else (an error
// nobody classified is retried, never dropped).
func Classify(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Class: Temporary, Reason: "unclassified error", Err: err}
}

// Status is a delivery state as providers report it. Delivery states only move forward, by rank.
type Status string

// The statuses, in the order a delivery moves through them.
const (
	StatusQueued      Status = "queued"
	StatusSending     Status = "sending"
	StatusSent        Status = "sent"
	StatusDelivered   Status = "delivered"
	StatusRead        Status = "read"
	StatusUndelivered Status = "undelivered"
	StatusFailed      Status = "failed"
)

// Rank orders statuses so that a late or repeated callback never moves a delivery back: a "sent"
// arriving after "delivered" ranks lower and is ignored. The final outcomes (delivered,
// undelivered, failed) rank alike, so the first one a provider reports stands; only "read" can
// follow, since a handset reports it after delivery.
func (s Status) Rank() int {
	switch s {
	case StatusQueued:
		return 10
	case StatusSending:
		return 20
	case StatusSent:
		return 30
	case StatusDelivered:
		return 40
	case StatusUndelivered:
		return 40
	case StatusRead:
		return 50
	case StatusFailed:
		return 40
	}
	return 0
}

// Final reports whether no further status is expected.
func (s Status) Final() bool {
	return s == StatusDelivered || s == StatusRead || s == StatusUndelivered || s == StatusFailed
}

// Inbound is a message a person sent, as a provider's webhook or poll delivered it, after the
// provider package checked and parsed it.
type Inbound struct {
	Kind Kind
	// ProviderID identifies the message at the provider (Twilio MessageSid, Telegram update id),
	// so a retried webhook is stored once.
	ProviderID string
	// From is the sender's address: E.164 for SMS, the chat id for Telegram.
	From string
	// To is the channel's own address the message was sent to (a number, a bot).
	To   string
	Text string
	// OptOut is the provider's own keyword verdict when it has one: Twilio Advanced Opt-Out's
	// OptOutType lower-cased ("stop", "start", "help"), else "".
	OptOut string
	// StartPayload is the deep-link payload of a Telegram /start (t.me/bot?start=PAYLOAD).
	StartPayload string
	// Callback is the data of a pressed inline button (Telegram), else "".
	Callback string
	// CallbackQueryID identifies the press of an inline button (Telegram's callback query id),
	// which the bot must answer once or the button keeps showing progress; else "".
	CallbackQueryID string
}

// StatusUpdate is a provider's delivery receipt for a message it accepted.
type StatusUpdate struct {
	ProviderID string
	Status     Status
	// ErrorCode is the provider's code for a failure, else "".
	ErrorCode string
}
