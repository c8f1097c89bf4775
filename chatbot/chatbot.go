// Package chatbot owns the conversation with people who write in, on every channel: STOP, START,
// HELP, LANGUAGE and TALK keywords in every shipped language, a workspace's tree of menus and
// answers, a Telegram /start from a deep link that subscribes the chat with the link's language
// and source campaign, and language pickers. Unknown senders become contacts without consent, and
// the first answer they get is the workspace's neutral first message when it set one; replies per
// sender are capped. Answers are stored with the handling of the message they answer and then
// sent, so a retried job sends each once.
package chatbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"golang.org/x/text/language"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// QueueInbound holds the handling of inbound messages, apart from campaign traffic, so replies
// never wait behind a bulk send.
const QueueInbound = "inbound"

// HandleArgs asks for one stored inbound message to be handled.
type HandleArgs struct {
	WorkspaceID int64 `json:"workspace_id"`
	MessageID   int64 `json:"message_id"`
}

// Kind is stored in River; never rename it.
func (HandleArgs) Kind() string { return "inbound_handle" }

// InsertOpts puts handling on the inbound queue.
func (HandleArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueInbound} }

// NeedsHandling reports whether a stored message is handled by a job: every message a person
// sends is, so that a STOP on any channel takes effect and nobody meets silence.
func NeedsHandling(in channels.Inbound) bool {
	return in.From != "" && (in.Text != "" || in.Callback != "")
}

func isStart(text string) bool {
	cmd, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	return cmd == "/start" || strings.HasPrefix(cmd, "/start@")
}

// Option is one button of a picker or menu; it is stored with the answer it belongs to.
type Option = messages.Button

// Replier answers a person on the channel they wrote on. Only the wiring knows the providers.
type Replier interface {
	// Reply sends text and returns what the provider accepted.
	Reply(ctx context.Context, workspaceID int64, kind channels.Kind, to, text string) (channels.Result, error)
	// Picker sends text with buttons where the channel has them (Telegram), else the text alone.
	Picker(ctx context.Context, workspaceID int64, kind channels.Kind, to, text string, options [][]Option) (channels.Result, error)
	// AnswerButton tells the channel that a pressed button was handled (Telegram's
	// answerCallbackQuery), so the person's app stops showing progress on it. Channels without
	// buttons do nothing.
	AnswerButton(ctx context.Context, workspaceID int64, kind channels.Kind, callbackQueryID string) error
}

// Handler handles stored inbound messages.
type Handler struct {
	Pool       *pgxpool.Pool
	Inbox      *messages.Inbox
	Contacts   *contacts.Store
	Workspaces *workspaces.Store
	Store      *Store
	Keys       *pii.Keyring
	Reply      Replier
	Logger     *slog.Logger
	// ProviderConfirmsStop says the channel answers STOP itself (Twilio's default opt-out
	// handling), so Waymark records the opt-out without confirming it a second time.
	ProviderConfirmsStop func(ctx context.Context, workspaceID int64, kind channels.Kind) bool

	// trees keeps each workspace's last parsed tree (parsedTree), by workspace id.
	trees sync.Map
}

// ParseDeepLink returns the language and campaign a /start payload names: lang-TAG selects the
// language (lang-am, lang-fa-AF), cN the source campaign, parts separated by "_" (lang-am_c42).
// Unknown parts are ignored, so links made for later versions still subscribe.
func ParseDeepLink(payload string) (lang string, campaignID int64) {
	for _, part := range strings.Split(payload, "_") {
		switch {
		case strings.HasPrefix(part, "lang-"):
			if t, err := language.Parse(strings.TrimPrefix(part, "lang-")); err == nil {
				lang = t.String()
			}
		case strings.HasPrefix(part, "c"):
			if n, err := strconv.ParseInt(part[1:], 10, 64); err == nil && n > 0 {
				campaignID = n
			}
		}
	}
	return lang, campaignID
}

// Handle acts on one stored message and sends its answers. River may run it more than once (a
// retry after a failed answer, a rescue after a crash), so the work is split in two:
//
//   - The message's effects (consent, language, conversation state, a talk request) and its
//     answers, stored pending, commit in one transaction with the mark that the message is
//     handled. Only one run makes that transaction; any other finds the message handled.
//   - Then each pending answer is sent, in order, and marked sent with the provider's id. A later
//     run sends only what is still pending, so an answer the provider accepted is not sent again
//     (unless the process dies between the provider's acceptance and the mark: see the README).
//
// A temporary or throttled failure of an answer returns an error, so River runs the job again
// later; a permanent one marks that answer failed and goes on with the next.
func (h *Handler) Handle(ctx context.Context, args HandleArgs) error {
	msg, err := h.Inbox.Get(ctx, args.WorkspaceID, args.MessageID)
	if errors.Is(err, db.ErrNotFound) {
		// Erased with its sender, or deleted past the workspace's retention while the job waited
		// for a retry: there is nothing left to handle or answer, and retrying cannot change that.
		h.logger().Info("inbound message no longer stored; nothing to handle", "workspace", args.WorkspaceID, "message", args.MessageID)
		return nil
	}
	if err != nil {
		return err
	}
	ws, err := h.Workspaces.Get(ctx, args.WorkspaceID)
	if err != nil {
		return err
	}
	if msg.HandledAt == nil {
		handled, err := h.act(ctx, ws, msg)
		if err != nil {
			return err
		}
		if handled && msg.CallbackQueryID != "" {
			h.answerPress(ctx, ws, msg)
		}
	}
	return h.sendAnswers(ctx, ws, msg)
}

// answer is one answer decided while handling a message: text, with buttons where the channel
// shows them.
type answer struct {
	text    string
	buttons [][]Option
}

// errHandled stops a handling transaction that finds the message handled by another run.
var errHandled = errors.New("already handled")

// act applies the message's effects and stores its answers in one transaction, and reports
// whether this run did so: false when another run had.
func (h *Handler) act(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage) (bool, error) {
	err := pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
		claimed, err := h.Inbox.Claim(ctx, tx, ws.ID, msg.ID)
		if err != nil {
			return err
		}
		if !claimed {
			return errHandled
		}
		contactID, answers, err := h.decide(ctx, tx, ws, msg)
		if err != nil {
			return err
		}
		if err := h.Inbox.MarkHandled(ctx, tx, ws.ID, msg.ID, contactID); err != nil {
			return err
		}
		return h.storeAnswers(ctx, tx, ws, msg, contactID, answers)
	})
	if errors.Is(err, errHandled) {
		return false, nil
	}
	return err == nil, err
}

// decide applies what a message asks for inside tx and returns the contact it came from, when
// known, and the answers to send: a Telegram /start subscribes, a language button sets the
// language, everything else goes to the conversation. When the message made the contact, the
// answers open with the workspace's first message (withFirstMessage).
func (h *Handler) decide(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, msg messages.InboundMessage) (*int64, []answer, error) {
	switch {
	case isStart(msg.Text):
		lang, campaign := ParseDeepLink(msg.StartPayload)
		if lang != "" && locales.Name(lang) == "" {
			lang = "" // a language we cannot speak: ask
		}
		evidence := map[string]any{"via": "telegram /start"}
		if msg.StartPayload != "" {
			evidence["start_payload"] = msg.StartPayload
		}
		if campaign > 0 {
			evidence["campaign_id"] = campaign
		}
		id, created, err := h.Contacts.Subscribe(ctx, tx, ws, msg.Kind, msg.From, lang, evidence)
		if err != nil {
			return nil, nil, err
		}
		var answers []answer
		if lang == "" {
			answers = []answer{h.picker(ws, msg)}
		} else {
			answers = []answer{{text: Localized(lang, locales.StartConfirmation, nil)}}
		}
		if created {
			answers = withFirstMessage(ws, lang, answers)
		}
		return &id, answers, nil
	case msg.Kind == channels.KindTelegram && strings.HasPrefix(msg.Callback, "lang:"):
		lang, err := contacts.NormalizeLanguage(strings.TrimPrefix(msg.Callback, "lang:"))
		if err != nil || locales.Name(lang) == "" {
			return nil, nil, nil // not a button of ours
		}
		id, created, err := h.pickedLanguage(ctx, tx, ws, msg, lang)
		if err != nil {
			return nil, nil, err
		}
		answers := []answer{{text: Localized(lang, locales.LanguageChanged, nil)}}
		if created {
			answers = withFirstMessage(ws, lang, answers)
		}
		return &id, answers, nil
	}
	// Text, and menu buttons, go to the conversation.
	return h.converse(ctx, tx, ws, msg)
}

// pickedLanguage sets the language a person picked with a language button, inside tx, and returns
// their contact and whether the press made it. A chat without a contact (erased since the picker
// was sent, or a picker forwarded from another chat) is treated as any unknown sender: it becomes
// a contact, in the language it asked for and with no consent, since asking for a language is not
// asking for messages. The alternative, ignoring the press, would leave a person who asked
// something without an answer.
func (h *Handler) pickedLanguage(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, msg messages.InboundMessage, lang string) (int64, bool, error) {
	id, err := h.Contacts.SetLanguageByAddress(ctx, tx, ws, msg.Kind, msg.From, lang)
	if !errors.Is(err, db.ErrNotFound) {
		return id, false, err
	}
	id, _, created, err := h.Contacts.EnsureContact(ctx, tx, ws, msg.Kind, msg.From, lang)
	if err != nil {
		return 0, false, err
	}
	if !created {
		// Made by another message of the same chat since the lookup above: set the language now.
		id, err := h.Contacts.SetLanguageByAddress(ctx, tx, ws, msg.Kind, msg.From, lang)
		return id, false, err
	}
	h.logger().Info("language button pressed in a chat without a contact; made one without consent",
		"workspace", ws.ID, "message", msg.ID, "contact", id)
	return id, true, nil
}

// storeAnswers stores the answers inside the handling transaction, pending, each taking one
// reply from the sender's hourly budget; those over the budget are stored failed and not sent.
func (h *Handler) storeAnswers(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, msg messages.InboundMessage,
	contactID *int64, answers []answer) error {
	if len(answers) == 0 {
		return nil
	}
	if contactID == nil {
		return fmt.Errorf("message %d: answers without a contact to answer", msg.ID)
	}
	limited := false
	for i, a := range answers {
		r := messages.Reply{MessageID: msg.ID, ContactID: *contactID, Seq: i, Kind: msg.Kind, Text: a.text, Buttons: a.buttons}
		if !limited {
			ok, err := h.replyAllowed(ctx, tx, ws, msg)
			if err != nil {
				return err
			}
			if limited = !ok; limited {
				h.logger().Warn("reply limit reached; not answering", "workspace", ws.ID, "message", msg.ID)
			}
		}
		if limited {
			r.Status, r.Error = messages.ReplyFailed, "not sent: the sender reached the workspace's replies_per_hour"
		}
		if _, err := h.Inbox.AddReply(ctx, tx, ws.ID, r); err != nil {
			return err
		}
	}
	return nil
}

// sendAnswers sends the message's pending answers in order and records each outcome. It stops at
// the first answer that may still go through later, so answers never overtake one another.
func (h *Handler) sendAnswers(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage) error {
	replies, err := h.Inbox.Replies(ctx, ws.ID, msg.ID)
	if err != nil {
		return err
	}
	for _, r := range replies {
		if r.Status != messages.ReplyPending {
			continue
		}
		res, err := sendReply(ctx, func() (channels.Result, error) {
			if len(r.Buttons) > 0 {
				return h.Reply.Picker(ctx, ws.ID, msg.Kind, msg.From, r.Text, r.Buttons)
			}
			return h.Reply.Reply(ctx, ws.ID, msg.Kind, msg.From, r.Text)
		})
		if err == nil {
			// Recorded on the pool: the answer is out, whatever ctx says now.
			if _, err := h.Inbox.MarkReplySent(context.WithoutCancel(ctx), h.Pool, ws.ID, r.ID, res.ProviderID); err != nil {
				return err
			}
			continue
		}
		se := channels.Classify(err)
		if se.Class != channels.Permanent && se.Class != channels.RecipientStopped {
			return fmt.Errorf("answer %d to message %d: %w", r.Seq, msg.ID, err)
		}
		h.logger().Warn("answer not sent", "workspace", ws.ID, "message", msg.ID, "answer", r.Seq, "err", se.Error())
		if err := h.replyFailed(ctx, ws, msg, r, se); err != nil {
			return err
		}
	}
	return nil
}

// replyFailed marks an answer failed; when the provider says the person stopped (blocked the
// bot), the ledger records their opt-out in the same transaction.
func (h *Handler) replyFailed(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage, r messages.Reply, se *channels.SendError) error {
	return pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
		changed, err := h.Inbox.MarkReplyFailed(ctx, tx, ws.ID, r.ID, se.Error())
		if err != nil || !changed || se.Class != channels.RecipientStopped {
			return err
		}
		return h.Contacts.OptOutTx(ctx, tx, ws.ID, r.ContactID, msg.Kind, contacts.SourceProvider,
			map[string]any{"provider_code": se.Code, "message_id": msg.ID})
	})
}

// answerPress ends the progress a person's app shows on a pressed button. Only the run that
// handled the message answers, so a press is answered at most once; a failure is only logged,
// since Telegram refuses a late answer anyway and the answer message still goes out.
func (h *Handler) answerPress(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage) {
	if err := h.Reply.AnswerButton(ctx, ws.ID, msg.Kind, msg.CallbackQueryID); err != nil {
		h.logger().Warn("answering a button press failed", "workspace", ws.ID, "message", msg.ID, "err", err)
	}
}

// picker offers every shipped language, each named in itself: buttons, two to a row, on
// Telegram; a numbered list elsewhere, answered by number.
func (h *Handler) picker(ws workspaces.Workspace, msg messages.InboundMessage) answer {
	prompt := Localized(ws.DefaultLanguage, locales.LanguagePrompt, nil)
	if msg.Kind != channels.KindTelegram {
		var b strings.Builder
		b.WriteString(prompt)
		for i, l := range locales.Languages() {
			fmt.Fprintf(&b, "\n%d. %s", i+1, locales.Name(l))
		}
		return answer{text: b.String()}
	}
	var rows [][]Option
	for _, l := range locales.Languages() {
		o := Option{Text: locales.Name(l), Data: "lang:" + l}
		if n := len(rows); n > 0 && len(rows[n-1]) < 2 {
			rows[n-1] = append(rows[n-1], o)
		} else {
			rows = append(rows, []Option{o})
		}
	}
	return answer{text: prompt, buttons: rows}
}
