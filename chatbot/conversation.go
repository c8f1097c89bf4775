package chatbot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/chatbot/internal/dbq"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/locales"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// languagePickerNode is the conversation state of a person choosing a language on SMS.
const languagePickerNode = "~language"

// converse handles a message that is not a Telegram /start or button: keywords first (STOP takes
// effect before anything else can be sent), then the chatbot's menus.
func (h *Handler) converse(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage) error {
	var replies []func() error
	var contactID int64
	err := pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
		id, lang, err := h.Contacts.EnsureContact(ctx, tx, ws, msg.Kind, msg.From, ws.DefaultLanguage)
		if err != nil {
			return err
		}
		contactID = id
		if lang == "" {
			lang = ws.DefaultLanguage
		}
		overrides, err := overrides(ctx, tx, ws.ID)
		if err != nil {
			return err
		}
		intent, kwLang := NewMatcher(overrides).Match(msg.Text, lang)
		say := func(lang, id string, data map[string]any) {
			text := Localized(lang, id, data)
			replies = append(replies, func() error { return h.Reply.Reply(ctx, ws.ID, msg.Kind, msg.From, text) })
		}
		evidence := map[string]any{"message_id": msg.ID, "keyword_language": kwLang}
		switch intent {
		case IntentStop:
			// Receive already applied it when the message was stored; this covers messages
			// stored another way, and repeats nothing when it was applied.
			if err := h.Contacts.KeywordStop(ctx, tx, ws, msg.Kind, msg.From, evidence); err != nil {
				return err
			}
			if err := h.Store.setConversation(ctx, tx, ws.ID, id, "", 0); err != nil {
				return err
			}
			if !h.ProviderConfirmsStop(ctx, ws.ID, msg.Kind) {
				say(kwLang, locales.StopConfirmation, nil)
			}
		case IntentStart:
			if err := h.Contacts.KeywordConsent(ctx, tx, ws.ID, id, msg.Kind, contacts.StatusOptIn, evidence); err != nil {
				return err
			}
			say(kwLang, locales.StartConfirmation, nil)
		case IntentHelp:
			say(kwLang, locales.HelpReply, map[string]any{"Sender": senderName(ws)})
		case IntentLanguage:
			if err := h.Store.setConversation(ctx, tx, ws.ID, id, languagePickerNode, ws.ConversationTTLSeconds); err != nil {
				return err
			}
			replies = append(replies, func() error { return h.picker(ctx, ws, msg) })
		case IntentTalk:
			if err := h.recordTalk(ctx, tx, ws.ID, id, msg); err != nil {
				return err
			}
		default:
			node, err := h.Store.conversationNode(ctx, tx, ws.ID, id)
			if err != nil {
				return err
			}
			if node == languagePickerNode {
				if l := pickLanguage(msg.Text); l != "" {
					if _, err := h.Contacts.SetLanguageByAddress(ctx, tx, ws, msg.Kind, msg.From, l); err != nil {
						return err
					}
					say(l, locales.LanguageChanged, nil)
					return h.Store.setConversation(ctx, tx, ws.ID, id, "", 0)
				}
			}
			tree, err := h.tree(ctx, tx, ws.ID)
			if err != nil {
				return err
			}
			if tree == nil {
				// No menus yet: say who we are and how to stop, never nothing.
				say(lang, locales.HelpReply, map[string]any{"Sender": senderName(ws)})
				return nil
			}
			input := msg.Text
			if msg.Callback != "" {
				input = msg.Callback // a pressed menu button names its node
			}
			res := tree.Step(node, lang, input)
			if res.Talk {
				return h.recordTalk(ctx, tx, ws.ID, id, msg)
			}
			if msg.Kind == channels.KindTelegram {
				// Telegram shows the menu as buttons under the text.
				text, buttons := res.Text, tree.Buttons(res.Node, lang)
				replies = append(replies, func() error {
					return h.Reply.Picker(ctx, ws.ID, msg.Kind, msg.From, text, buttons)
				})
			} else {
				text := res.Reply
				replies = append(replies, func() error { return h.Reply.Reply(ctx, ws.ID, msg.Kind, msg.From, text) })
			}
			if err := h.Store.setConversation(ctx, tx, ws.ID, id, res.Node, ws.ConversationTTLSeconds); err != nil {
				return err
			}
		}
		return h.Inbox.MarkHandled(ctx, tx, ws.ID, msg.ID, &contactID)
	})
	if err != nil {
		return err
	}
	for _, reply := range replies {
		if ok, err := h.replyAllowed(ctx, ws, msg); err != nil || !ok {
			if err == nil {
				h.logger().Warn("reply limit reached; not answering", "workspace", ws.ID, "message", msg.ID)
			}
			return err
		}
		if err := sendReply(ctx, reply); err != nil {
			// The state change is committed; a failed answer is not retried by the job, so it is
			// never sent twice.
			h.logger().Warn("reply failed", "workspace", ws.ID, "message", msg.ID, "err", err)
		}
	}
	return nil
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

// replyAllowed takes one reply from the sender's hourly budget, kept in PostgreSQL so every
// worker process shares it. The bucket is keyed by the address's blind index, never the address.
func (h *Handler) replyAllowed(ctx context.Context, ws workspaces.Workspace, msg messages.InboundMessage) (bool, error) {
	per := float64(ws.RepliesPerHour)
	key := "reply:" + strconv.FormatInt(ws.ID, 10) + ":" + string(msg.Kind) + ":" + hex.EncodeToString(h.Keys.BlindIndex("reply", string(msg.Kind)+":"+msg.From)[:12])
	wait, err := ratelimit.Take(ctx, h.Pool, key, ratelimit.Limit{PerSecond: per / 3600, Burst: per}, 1)
	return wait == 0, err
}

func (h *Handler) recordTalk(ctx context.Context, tx pgx.Tx, workspaceID, contactID int64, msg messages.InboundMessage) error {
	_, err := dbq.New(tx).TalkRequestInsert(ctx, dbq.TalkRequestInsertParams{WorkspaceID: workspaceID, ContactID: &contactID,
		ChannelKind: string(msg.Kind), MessageID: &msg.ID})
	return err
}

func (h *Handler) tree(ctx context.Context, tx pgx.Tx, workspaceID int64) (*Tree, error) {
	r, err := dbq.New(tx).TreeGet(ctx, workspaceID)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	return ParseTree(r.Tree)
}

// pickLanguage reads an answer to the SMS language list: its number, or a language tag.
func pickLanguage(text string) string {
	langs := locales.Languages()
	t := strings.TrimSpace(text)
	if n, err := strconv.Atoi(t); err == nil && n >= 1 && n <= len(langs) {
		return langs[n-1]
	}
	for _, l := range langs {
		if strings.EqualFold(t, l) || t == locales.Name(l) {
			return l
		}
	}
	return ""
}

func senderName(ws workspaces.Workspace) string {
	if ws.SenderName != "" {
		return ws.SenderName
	}
	return ws.Name
}

// Localized renders a system text wholly in lang (English when lang is not shipped).
func Localized(lang, id string, data map[string]any) string {
	if locales.Name(lang) == "" {
		lang = "en"
	}
	if data == nil {
		data = map[string]any{}
	}
	if _, ok := data["Sender"]; !ok {
		data["Sender"] = ""
	}
	s, err := i18n.NewLocalizer(locales.Bundle(), lang).Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return fmt.Sprint(s)
	}
	return s
}

// sendReply sends one answer, waiting out a provider's or Waymark's own short throttle (Telegram
// spaces messages to one chat a second apart) rather than dropping it.
func sendReply(ctx context.Context, reply func() error) error {
	var err error
	for range 10 {
		if err = reply(); err == nil {
			return nil
		}
		var se *channels.SendError
		if !errors.As(err, &se) || se.Class != channels.Throttled {
			return err
		}
		wait := min(max(se.RetryAfter, 200*time.Millisecond), 5*time.Second)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}
