// Package chatbot owns the conversation with people who write in, on every channel: STOP, START,
// HELP, LANGUAGE and TALK keywords in every shipped language, a workspace's tree of menus and
// answers, a Telegram /start from a deep link that subscribes the chat with the link's language
// and source campaign, and language pickers. Unknown senders become contacts without consent;
// replies per sender are capped.
package chatbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"golang.org/x/text/language"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/contacts"
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

// Option is one button of a picker.
type Option struct {
	Text, Data string
}

// Replier answers a person on the channel they wrote on. Only the wiring knows the providers.
type Replier interface {
	Reply(ctx context.Context, workspaceID int64, kind channels.Kind, to, text string) error
	Picker(ctx context.Context, workspaceID int64, kind channels.Kind, to, text string, options [][]Option) error
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

// Handle acts on one stored message and marks it handled. Running twice is harmless: a second
// /start subscribes no one twice (the ledger just repeats the opt-in) and the reply may repeat.
func (h *Handler) Handle(ctx context.Context, args HandleArgs) error {
	msg, err := h.Inbox.Get(ctx, args.WorkspaceID, args.MessageID)
	if err != nil {
		return err
	}
	if msg.HandledAt != nil {
		return nil
	}
	ws, err := h.Workspaces.Get(ctx, args.WorkspaceID)
	if err != nil {
		return err
	}
	var reply func() error
	var contactID *int64
	err = pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
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
			id, _, err := h.Contacts.Subscribe(ctx, tx, ws, msg.Kind, msg.From, lang, evidence)
			if err != nil {
				return err
			}
			contactID = &id
			if lang == "" {
				reply = func() error { return h.picker(ctx, ws, msg) }
			} else {
				reply = func() error {
					return h.Reply.Reply(ctx, ws.ID, msg.Kind, msg.From, Localized(lang, locales.StartConfirmation, nil))
				}
			}
		case msg.Kind != channels.KindTelegram || (msg.Callback == "" && !isStart(msg.Text)) ||
			(msg.Callback != "" && !strings.HasPrefix(msg.Callback, "lang:")):
			// Text, and menu buttons, go to the conversation.
			return errConverse
		case strings.HasPrefix(msg.Callback, "lang:"):
			lang := strings.TrimPrefix(msg.Callback, "lang:")
			if locales.Name(lang) == "" {
				return nil // not a button of ours
			}
			id, err := h.Contacts.SetLanguageByAddress(ctx, tx, ws, msg.Kind, msg.From, lang)
			if err != nil {
				return err
			}
			contactID = &id
			reply = func() error {
				return h.Reply.Reply(ctx, ws.ID, msg.Kind, msg.From, Localized(lang, locales.LanguageChanged, nil))
			}
		}
		return h.Inbox.MarkHandled(ctx, tx, ws.ID, msg.ID, contactID)
	})
	if errors.Is(err, errConverse) {
		return h.converse(ctx, ws, msg)
	}
	if err != nil || reply == nil {
		return err
	}
	// The state change is committed; a failed reply is retried by the job without undoing it.
	return reply()
}

// errConverse routes a message that is not a Telegram /start or button to the conversation.
var errConverse = errors.New("converse")

// picker offers every shipped language, each named in itself: buttons, two to a row, on
// Telegram; a numbered list elsewhere, answered by number.
func (h *Handler) picker(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage) error {
	if msg.Kind != channels.KindTelegram {
		var b strings.Builder
		b.WriteString(Localized(ws.DefaultLanguage, locales.LanguagePrompt, nil))
		for i, l := range locales.Languages() {
			fmt.Fprintf(&b, "\n%d. %s", i+1, locales.Name(l))
		}
		return h.Reply.Reply(ctx, ws.ID, msg.Kind, msg.From, b.String())
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
	prompt := Localized(ws.DefaultLanguage, locales.LanguagePrompt, nil)
	return h.Reply.Picker(ctx, ws.ID, msg.Kind, msg.From, prompt, rows)
}
