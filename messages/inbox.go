package messages

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// Inbox stores inbound messages (table inbound_messages) before they are acknowledged, once each,
// however often a provider retries its webhook, and the answers to them (table replies).
type Inbox struct {
	q    *dbq.Queries
	keys *pii.Keyring
}

// NewInbox returns an Inbox that encrypts with keys.
func NewInbox(pool *pgxpool.Pool, keys *pii.Keyring) *Inbox {
	return &Inbox{q: dbq.New(pool), keys: keys}
}

// InboundMessage is one message a person sent in.
type InboundMessage struct {
	ID         int64         `json:"id"`
	Kind       channels.Kind `json:"kind"`
	ProviderID string        `json:"provider_id"`
	From       string        `json:"from"`
	Text       string        `json:"text"`
	ContactID  *int64        `json:"contact_id,omitempty"`
	// Callback is a pressed inline button's data; StartPayload a /start deep link's payload.
	Callback     string `json:"callback,omitempty"`
	StartPayload string `json:"start_payload,omitempty"`
	// CallbackQueryID is the Telegram callback query of a pressed button, answered once when
	// the message is handled.
	CallbackQueryID string     `json:"-"`
	ReceivedAt      time.Time  `json:"received_at"`
	HandledAt       *time.Time `json:"handled_at,omitempty"`
}

// Additional data for inbound ciphertexts names the column and the channel kind, so that a
// Telegram chat id copied over an SMS sender's does not decrypt there.
func aadInboundFrom(k channels.Kind) string { return "inbound_messages.from_enc:" + string(k) }
func aadInboundText(k channels.Kind) string { return "inbound_messages.text_enc:" + string(k) }

// SandboxInboundIDPrefix starts the provider ids Store makes up for sandbox messages.
const SandboxInboundIDPrefix = "sandbox-"

// Store saves an inbound message from the address from, received by workspaceID on a channel of
// kind, and returns its id. providerID is the provider's id for the message; a second Store with
// the same workspace, kind and providerID stores nothing and returns the first message's id with
// duplicate set, so a retried webhook is harmless. For the sandbox an empty providerID is given a
// random one, because each simulated message is a new one; other kinds must name theirs.
//
// from is trimmed and otherwise stored as given: callers normalise it first (E.164 for SMS), or
// the blind index will not match the person's contact identity. It runs on db so that the caller
// can enqueue the handling job in the same transaction and acknowledge only after the commit.
func (in *Inbox) Store(ctx context.Context, db DBTX, workspaceID int64, kind channels.Kind, providerID, from, text string) (id int64, duplicate bool, err error) {
	return in.StoreInbound(ctx, db, workspaceID, channels.Inbound{Kind: kind, ProviderID: providerID, From: from, Text: text})
}

// StoreInbound is Store for a parsed provider message, keeping a pressed button's data and a
// /start payload with it.
func (in *Inbox) StoreInbound(ctx context.Context, db DBTX, workspaceID int64, m channels.Inbound) (id int64, duplicate bool, err error) {
	kind, providerID, from, text := m.Kind, m.ProviderID, m.From, m.Text
	switch kind {
	case channels.KindSMS, channels.KindTelegram, channels.KindSandbox:
	default:
		return 0, false, errcode.Field("kind", "unknown channel %q: want sms, telegram or sandbox", kind)
	}
	from = strings.TrimSpace(from)
	if from == "" {
		return 0, false, errcode.Field("from", "the sender's address is required")
	}
	providerID = strings.TrimSpace(providerID)
	if providerID == "" {
		if kind != channels.KindSandbox {
			return 0, false, errcode.Field("provider_id", "the provider's message id is required to store a %s message once", kind)
		}
		providerID = SandboxInboundIDPrefix + rand.Text()
	}
	fromEnc, err := in.keys.EncryptString(from, aadInboundFrom(kind))
	if err != nil {
		return 0, false, err
	}
	textEnc, err := in.keys.EncryptString(text, aadInboundText(kind))
	if err != nil {
		return 0, false, err
	}
	q := dbq.New(db)
	id, err = q.InboundInsert(ctx, dbq.InboundInsertParams{
		WorkspaceID: workspaceID, ChannelKind: string(kind), ProviderID: providerID,
		FromEnc: fromEnc, FromIndex: in.keys.BlindIndex(string(kind), from), TextEnc: textEnc,
		Callback: m.Callback, StartPayload: m.StartPayload, CallbackQueryID: m.CallbackQueryID,
	})
	if err == nil {
		return id, false, nil
	}
	if isForeignKeyViolation(err) {
		return 0, false, errcode.New(errcode.NotFound, "no such workspace")
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("store inbound message: %w", err)
	}
	// ON CONFLICT DO NOTHING returned no row: the message is already stored. The conflicting
	// insert has committed by now (the insert waited for it), so this statement sees it.
	id, err = q.InboundGetIDByProviderID(ctx, dbq.InboundGetIDByProviderIDParams{
		WorkspaceID: workspaceID, ChannelKind: string(kind), ProviderID: providerID,
	})
	if err != nil {
		return 0, false, fmt.Errorf("find stored inbound message: %w", err)
	}
	return id, true, nil
}

// Get returns one inbound message of workspaceID, decrypted.
func (in *Inbox) Get(ctx context.Context, workspaceID, id int64) (InboundMessage, error) {
	r, err := in.q.InboundGet(ctx, dbq.InboundGetParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return InboundMessage{}, notFound(err, "inbound message in this workspace")
	}
	return in.decrypt(r)
}

func (in *Inbox) decrypt(r dbq.InboundMessage) (InboundMessage, error) {
	k := channels.Kind(r.ChannelKind)
	m := InboundMessage{ID: r.ID, Kind: k, ProviderID: r.ProviderID, ContactID: r.ContactID,
		Callback: r.Callback, StartPayload: r.StartPayload, CallbackQueryID: r.CallbackQueryID,
		ReceivedAt: r.ReceivedAt, HandledAt: r.HandledAt}
	var err error
	if m.From, err = in.keys.DecryptString(r.FromEnc, aadInboundFrom(k)); err != nil {
		return InboundMessage{}, fmt.Errorf("decrypt inbound message %d: %w", r.ID, err)
	}
	if m.Text, err = in.keys.DecryptString(r.TextEnc, aadInboundText(k)); err != nil {
		return InboundMessage{}, fmt.Errorf("decrypt inbound message %d: %w", r.ID, err)
	}
	return m, nil
}

// Claim starts handling a message inside the handling transaction tx and reports whether this
// run is the one that handles it: false when another run already did (or is doing so in a
// transaction that commits first, which this call waits for). Whatever the handling changes
// commits with the claim, or rolls back with it.
func (in *Inbox) Claim(ctx context.Context, tx pgx.Tx, workspaceID, id int64) (bool, error) {
	n, err := dbq.New(tx).InboundClaim(ctx, dbq.InboundClaimParams{WorkspaceID: workspaceID, ID: id})
	return n == 1, err
}

// MarkHandled records that a message was handled, and by which contact it came when known.
func (in *Inbox) MarkHandled(ctx context.Context, db DBTX, workspaceID, id int64, contactID *int64) error {
	return dbq.New(db).InboundHandled(ctx, dbq.InboundHandledParams{WorkspaceID: workspaceID, ID: id, ContactID: contactID})
}
