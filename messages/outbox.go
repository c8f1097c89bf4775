package messages

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// Outbox writes and reads what the sandbox channel sent (table sandbox_messages) and the
// sandbox's settings (table sandbox_settings).
type Outbox struct {
	pool    *pgxpool.Pool
	q       *dbq.Queries
	keys    *pii.Keyring
	reserve idReserve
}

// NewOutbox returns an Outbox that encrypts with keys.
func NewOutbox(pool *pgxpool.Pool, keys *pii.Keyring) *Outbox {
	return &Outbox{pool: pool, q: dbq.New(pool), keys: keys}
}

// Additional data bound into each ciphertext, so that a value copied into another column does not
// decrypt there.
const (
	aadOutboxTo   = "sandbox_messages.to_enc"
	aadOutboxText = "sandbox_messages.text_enc"
)

// outboxIndexPurpose is the blind index purpose of sandbox addresses. It is the channel kind, as
// for contact identities, so an outbox address and a contact's sandbox identity index alike.
const outboxIndexPurpose = string(channels.KindSandbox)

// OutboxProviderIDPrefix starts every id the sandbox reports as its provider id; the row id
// follows. The prefix keeps sandbox ids apart from Twilio's and Telegram's in logs and deliveries.
const OutboxProviderIDPrefix = "SB"

// OutboxProviderID returns the provider id of the outbox row id.
func OutboxProviderID(id int64) string { return OutboxProviderIDPrefix + strconv.FormatInt(id, 10) }

func parseOutboxProviderID(s string) (int64, bool) {
	digits, ok := strings.CutPrefix(s, OutboxProviderIDPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	return id, err == nil && id > 0
}

// SandboxAddress returns the stored form of a sandbox address: any string, trimmed of surrounding
// space and nothing else, because the sandbox has no numbering plan to normalise to.
func SandboxAddress(field, s string) (string, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return "", errcode.Field(field, "a sandbox address is required")
	}
	return v, nil
}

// OutboxMessage is one message the sandbox sent, as GET /api/v1/sandbox/outbox shows it.
type OutboxMessage struct {
	ID       int64           `json:"id"`
	To       string          `json:"to"`
	Text     string          `json:"text"`
	Language string          `json:"language"`
	Status   channels.Status `json:"status"`
	SentAt   time.Time       `json:"sent_at"`
	// CampaignID is set for campaign messages. Alerts and referrals will add their own ids here,
	// each omitted when empty, so a message names only what it belongs to.
	CampaignID *int64 `json:"campaign_id,omitempty"`
}

// Record stores one message the sandbox sends for workspaceID (and campaignID, when it is a
// campaign's) and returns its provider id, OutboxProviderIDPrefix and the row id. It runs on db.
// Campaign sends use a BatchRecorder instead, which writes a job's messages in the transaction
// that records the job's results.
func (o *Outbox) Record(ctx context.Context, db DBTX, workspaceID int64, campaignID *int64, m channels.Message) (providerID string, err error) {
	sm, err := o.seal(m)
	if err != nil {
		return "", err
	}
	// A message that belongs to no delivery (a chatbot answer, a test) has DeliveryID 0.
	var deliveryID *int64
	if m.DeliveryID != 0 {
		deliveryID = &m.DeliveryID
	}
	id, err := dbq.New(db).OutboxInsert(ctx, dbq.OutboxInsertParams{
		WorkspaceID: workspaceID, DeliveryID: deliveryID, CampaignID: campaignID,
		ToEnc: sm.toEnc, ToIndex: sm.toIndex, TextEnc: sm.textEnc, Language: m.Language, Segments: sm.segments,
	})
	if err != nil {
		return "", fmt.Errorf("record sandbox message: %w", err)
	}
	return OutboxProviderID(id), nil
}

// sealedMessage is an outbox row's personal data as stored: address and text encrypted, the
// address's blind index, and the segment count clamped to the column.
type sealedMessage struct {
	toEnc, toIndex, textEnc []byte
	segments                int32
}

// seal prepares m for the outbox; both Record and BatchRecorder store through it.
func (o *Outbox) seal(m channels.Message) (sealedMessage, error) {
	to, err := SandboxAddress("to", m.To)
	if err != nil {
		return sealedMessage{}, err
	}
	toEnc, err := o.keys.EncryptString(to, aadOutboxTo)
	if err != nil {
		return sealedMessage{}, err
	}
	textEnc, err := o.keys.EncryptString(m.Text, aadOutboxText)
	if err != nil {
		return sealedMessage{}, err
	}
	return sealedMessage{toEnc: toEnc, toIndex: o.keys.BlindIndex(outboxIndexPurpose, to), textEnc: textEnc,
		segments: int32(min(max(m.Segments, 0), math.MaxInt32))}, nil
}

// OutboxRecorder records the sandbox's sends for one workspace, and campaign if any, on one
// connection or transaction. It is what the wiring hands the sandbox channel as its Recorder
// (sandbox.Recorder is satisfied by its Record method, without this package importing a
// provider).
type OutboxRecorder struct {
	outbox      *Outbox
	db          DBTX
	workspaceID int64
	campaignID  *int64
}

// Recorder returns an OutboxRecorder that writes through db for workspaceID and campaignID.
func (o *Outbox) Recorder(db DBTX, workspaceID int64, campaignID *int64) *OutboxRecorder {
	return &OutboxRecorder{outbox: o, db: db, workspaceID: workspaceID, campaignID: campaignID}
}

// Record stores m; see Outbox.Record.
func (r *OutboxRecorder) Record(ctx context.Context, m channels.Message) (providerID string, err error) {
	return r.outbox.Record(ctx, r.db, r.workspaceID, r.campaignID, m)
}

// The number of messages List returns when not told, and at most.
const (
	DefaultOutboxListLimit = 100
	MaxOutboxListLimit     = 1000
)

// List returns the latest limit messages sent to the address to in workspaceID, oldest first.
// The latest, not the first, because people and tests read the outbox to see what just arrived.
// to is matched exactly after trimming; limit 0 means DefaultOutboxListLimit.
func (o *Outbox) List(ctx context.Context, workspaceID int64, to string, limit int) ([]OutboxMessage, error) {
	to, err := SandboxAddress("to", to)
	if err != nil {
		return nil, err
	}
	switch {
	case limit < 0:
		return nil, errcode.Field("limit", "limit must not be negative")
	case limit == 0:
		limit = DefaultOutboxListLimit
	}
	rows, err := o.q.OutboxListByTo(ctx, dbq.OutboxListByToParams{
		WorkspaceID: workspaceID, ToIndex: o.keys.BlindIndex(outboxIndexPurpose, to),
		MaxRows: int32(min(limit, MaxOutboxListLimit)),
	})
	if err != nil {
		return nil, err
	}
	out := make([]OutboxMessage, 0, len(rows))
	for _, r := range slices.Backward(rows) {
		m := OutboxMessage{ID: r.ID, Language: r.Language, Status: channels.Status(r.Status),
			SentAt: r.SentAt, CampaignID: r.CampaignID}
		if m.To, err = o.keys.DecryptString(r.ToEnc, aadOutboxTo); err != nil {
			return nil, fmt.Errorf("decrypt sandbox message %d: %w", r.ID, err)
		}
		if m.Text, err = o.keys.DecryptString(r.TextEnc, aadOutboxText); err != nil {
			return nil, fmt.Errorf("decrypt sandbox message %d: %w", r.ID, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// SetStatus moves the status of the sandbox message named by providerID forward, by
// channels.Status.Rank, and reports whether it changed: a receipt that arrives late or twice is
// ignored, so "sent" never overwrites "delivered". It runs on db so that a receipt job can update
// the delivery in the same transaction. An id the sandbox never gave is a NotFound error.
func (o *Outbox) SetStatus(ctx context.Context, db DBTX, providerID string, status channels.Status) (bool, error) {
	rank := status.Rank()
	if rank == 0 {
		return false, errcode.Field("status", "unknown status %q", status)
	}
	id, ok := parseOutboxProviderID(providerID)
	if !ok {
		return false, notFound(pgx.ErrNoRows, "sandbox message")
	}
	row, err := dbq.New(db).OutboxSetStatus(ctx, dbq.OutboxSetStatusParams{ID: id, Status: string(status), StatusRank: int16(rank)})
	if err != nil {
		return false, err
	}
	if !row.Found {
		return false, notFound(pgx.ErrNoRows, "sandbox message")
	}
	return row.Changed, nil
}
