package messages

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages/internal/dbq"
)

// The states of a stored answer. An answer is stored pending before it is sent and moves once,
// to sent (the provider accepted it) or failed (it never will be sent).
const (
	ReplyPending = "pending"
	ReplySent    = "sent"
	ReplyFailed  = "failed"
)

// Button is one inline button under an answer (Telegram): Text is shown, Data comes back as the
// pressed button's Callback.
type Button struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// Reply is one answer to an inbound message: the Seq-th (from 0) of the answers to MessageID,
// sent to the message's sender on the channel it came by.
type Reply struct {
	ID        int64         `json:"id"`
	MessageID int64         `json:"message_id"`
	ContactID int64         `json:"contact_id"`
	Seq       int           `json:"seq"`
	Kind      channels.Kind `json:"kind"`
	Text      string        `json:"text"`
	// Buttons are shown under the text where the channel has them; nil for plain text.
	Buttons    [][]Button `json:"buttons,omitempty"`
	Status     string     `json:"status"`
	ProviderID string     `json:"provider_id,omitempty"`
	// Error says why a failed answer was not sent; it never quotes an address or a text.
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// Additional data for the ciphertexts of answers, bound to the column and the channel kind like
// those of inbound messages.
func aadReplyText(k channels.Kind) string    { return "replies.text_enc:" + string(k) }
func aadReplyButtons(k channels.Kind) string { return "replies.buttons_enc:" + string(k) }

// maxReplyError bounds a stored failure reason; providers' reasons are a sentence.
const maxReplyError = 500

// AddReply stores r (MessageID, ContactID, Seq, Kind, Text, Buttons, and Status pending or failed
// with Error) inside db, the transaction that handles the message, and returns its id. Stored
// with the handling, an answer is sent by whichever run of the job comes next, and only once
// marked sent it is never sent again.
func (in *Inbox) AddReply(ctx context.Context, db DBTX, workspaceID int64, r Reply) (int64, error) {
	switch r.Status {
	case "":
		r.Status = ReplyPending
	case ReplyPending, ReplyFailed:
	default:
		return 0, fmt.Errorf("store answer: a new answer is pending or failed, not %q", r.Status)
	}
	if r.Seq < 0 || r.Seq > math.MaxInt16 {
		return 0, fmt.Errorf("store answer: sequence number %d out of range", r.Seq)
	}
	textEnc, err := in.keys.EncryptString(r.Text, aadReplyText(r.Kind))
	if err != nil {
		return 0, err
	}
	var buttonsEnc []byte
	if len(r.Buttons) > 0 {
		raw, err := json.Marshal(r.Buttons)
		if err != nil {
			return 0, err
		}
		if buttonsEnc, err = in.keys.EncryptString(string(raw), aadReplyButtons(r.Kind)); err != nil {
			return 0, err
		}
	}
	id, err := dbq.New(db).ReplyInsert(ctx, dbq.ReplyInsertParams{WorkspaceID: workspaceID, ContactID: r.ContactID,
		MessageID: r.MessageID, Seq: int16(r.Seq), ChannelKind: string(r.Kind), TextEnc: textEnc, ButtonsEnc: buttonsEnc,
		Status: r.Status, Error: truncate(r.Error, maxReplyError)})
	if err != nil {
		return 0, fmt.Errorf("store answer: %w", err)
	}
	return id, nil
}

// Replies returns the answers to message messageID of workspaceID in order, decrypted.
func (in *Inbox) Replies(ctx context.Context, workspaceID, messageID int64) ([]Reply, error) {
	rows, err := in.q.RepliesByMessage(ctx, dbq.RepliesByMessageParams{WorkspaceID: workspaceID, MessageID: messageID})
	if err != nil {
		return nil, err
	}
	out := make([]Reply, 0, len(rows))
	for _, r := range rows {
		rep, err := in.decryptReply(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

func (in *Inbox) decryptReply(r dbq.Reply) (Reply, error) {
	k := channels.Kind(r.ChannelKind)
	rep := Reply{ID: r.ID, MessageID: r.MessageID, ContactID: r.ContactID, Seq: int(r.Seq), Kind: k, Status: r.Status,
		Error: r.Error, CreatedAt: r.CreatedAt, SentAt: r.SentAt}
	if r.ProviderID != nil {
		rep.ProviderID = *r.ProviderID
	}
	var err error
	if rep.Text, err = in.keys.DecryptString(r.TextEnc, aadReplyText(k)); err != nil {
		return Reply{}, fmt.Errorf("decrypt answer %d: %w", r.ID, err)
	}
	if r.ButtonsEnc != nil {
		raw, err := in.keys.DecryptString(r.ButtonsEnc, aadReplyButtons(k))
		if err != nil {
			return Reply{}, fmt.Errorf("decrypt answer %d: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(raw), &rep.Buttons); err != nil {
			return Reply{}, fmt.Errorf("decode answer %d: %w", r.ID, err)
		}
	}
	return rep, nil
}

// MarkReplySent records that the provider accepted the pending answer id under providerID. It
// reports false, changing nothing, when the answer is not pending.
func (in *Inbox) MarkReplySent(ctx context.Context, db DBTX, workspaceID, id int64, providerID string) (bool, error) {
	var pid *string
	if providerID != "" {
		pid = &providerID
	}
	n, err := dbq.New(db).ReplySent(ctx, dbq.ReplySentParams{WorkspaceID: workspaceID, ID: id, ProviderID: pid})
	return n == 1, err
}

// MarkReplyFailed records that the pending answer id will never be sent, and why. It reports
// false, changing nothing, when the answer is not pending.
func (in *Inbox) MarkReplyFailed(ctx context.Context, db DBTX, workspaceID, id int64, reason string) (bool, error) {
	n, err := dbq.New(db).ReplyFailed(ctx, dbq.ReplyFailedParams{WorkspaceID: workspaceID, ID: id, Error: truncate(reason, maxReplyError)})
	return n == 1, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// The directions of a ConversationMessage.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// ConversationMessage is one message between a contact and the workspace: one they wrote
// (Direction "in") or an answer sent to them (Direction "out"). At orders the conversation: when
// an inbound message was received, when an answer was stored to be sent.
type ConversationMessage struct {
	Direction  string        `json:"direction"`
	ID         int64         `json:"id"`
	Kind       channels.Kind `json:"kind"`
	Text       string        `json:"text"`
	At         time.Time     `json:"at"`
	ProviderID string        `json:"provider_id,omitempty"`

	// From, Callback, StartPayload, ReceivedAt and HandledAt are those of an inbound message.
	From         string     `json:"from,omitempty"`
	Callback     string     `json:"callback,omitempty"`
	StartPayload string     `json:"start_payload,omitempty"`
	ReceivedAt   *time.Time `json:"received_at,omitempty"`
	HandledAt    *time.Time `json:"handled_at,omitempty"`

	// ReplyTo (the inbound message answered), Buttons, Status, Error and SentAt are those of an
	// answer.
	ReplyTo int64      `json:"reply_to,omitempty"`
	Buttons [][]Button `json:"buttons,omitempty"`
	Status  string     `json:"status,omitempty"`
	Error   string     `json:"error,omitempty"`
	SentAt  *time.Time `json:"sent_at,omitempty"`
}

// conversationCursor is a position in a conversation's order: time, inbound before outbound at
// the same instant, then id.
type conversationCursor struct {
	at  time.Time
	in  bool
	id  int64
	set bool
}

func (c conversationCursor) String() string {
	dir := DirectionOut
	if c.in {
		dir = DirectionIn
	}
	return dir + "." + strconv.FormatInt(c.at.UnixMicro(), 10) + "." + strconv.FormatInt(c.id, 10)
}

func parseConversationCursor(s string) (conversationCursor, error) {
	if s == "" {
		return conversationCursor{}, nil
	}
	bad := errcode.Field("cursor", "want the next_cursor of the previous page")
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != DirectionIn && parts[0] != DirectionOut) {
		return conversationCursor{}, bad
	}
	micros, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return conversationCursor{}, bad
	}
	return conversationCursor{at: time.UnixMicro(micros), in: parts[0] == DirectionIn, id: id, set: true}, nil
}

// position is where m stands in its conversation's order.
func (m ConversationMessage) position() conversationCursor {
	return conversationCursor{at: m.At, in: m.Direction == DirectionIn, id: m.ID, set: true}
}

func comparePositions(a, b conversationCursor) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	if a.in != b.in {
		if a.in {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.id, b.id)
}

// The number of messages Conversation returns when not told, and at most.
const (
	DefaultConversationLimit = 100
	MaxConversationLimit     = 1000
)

// Conversation returns a page of what contactID wrote and what was answered, decrypted, in time
// order, each answer after the message it answers. cursor is "" for the first page, else the
// next cursor of the page before; next is "" after the last page.
func (in *Inbox) Conversation(ctx context.Context, workspaceID, contactID int64, cursor string, limit int) (msgs []ConversationMessage, next string, err error) {
	after, err := parseConversationCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = DefaultConversationLimit
	}
	limit = min(limit, MaxConversationLimit)
	if !after.set {
		// Before anything stored: the zero time is the year 1.
		after = conversationCursor{in: true}
	}
	inRows, err := in.q.InboundListByContact(ctx, dbq.InboundListByContactParams{WorkspaceID: workspaceID, ContactID: contactID,
		AfterAt: after.at, AfterIn: after.in, AfterID: after.id, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, "", err
	}
	outRows, err := in.q.RepliesListByContact(ctx, dbq.RepliesListByContactParams{WorkspaceID: workspaceID, ContactID: contactID,
		AfterAt: after.at, AfterIn: after.in, AfterID: after.id, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, "", err
	}
	msgs = make([]ConversationMessage, 0, len(inRows)+len(outRows))
	for _, r := range inRows {
		m, err := in.decrypt(r)
		if err != nil {
			return nil, "", err
		}
		received := m.ReceivedAt
		msgs = append(msgs, ConversationMessage{Direction: DirectionIn, ID: m.ID, Kind: m.Kind, Text: m.Text, At: m.ReceivedAt,
			ProviderID: m.ProviderID, From: m.From, Callback: m.Callback, StartPayload: m.StartPayload,
			ReceivedAt: &received, HandledAt: m.HandledAt})
	}
	for _, r := range outRows {
		rep, err := in.decryptReply(r)
		if err != nil {
			return nil, "", err
		}
		msgs = append(msgs, ConversationMessage{Direction: DirectionOut, ID: rep.ID, Kind: rep.Kind, Text: rep.Text,
			At: rep.CreatedAt, ProviderID: rep.ProviderID, ReplyTo: rep.MessageID, Buttons: rep.Buttons,
			Status: rep.Status, Error: rep.Error, SentAt: rep.SentAt})
	}
	slices.SortFunc(msgs, func(a, b ConversationMessage) int { return comparePositions(a.position(), b.position()) })
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].position().String()
	}
	return msgs, next, nil
}
