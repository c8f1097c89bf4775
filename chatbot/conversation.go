package chatbot

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/waymark-org/waymark/campaigns"
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

// converse handles, inside tx, a message that is not a Telegram /start or language button:
// keywords first (STOP takes effect before anything else can be sent), then the chatbot's menus.
// It returns the sender's contact, made if unknown, and the answers; those to a sender this message
// made a contact of open with the workspace's first message.
func (h *Handler) converse(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, msg messages.InboundMessage) (*int64, []answer, error) {
	id, lang, created, err := h.Contacts.EnsureContact(ctx, tx, ws, msg.Kind, msg.From, ws.DefaultLanguage)
	if err != nil {
		return nil, nil, err
	}
	// A contact made just now has the workspace's language, not one the person chose.
	spoken := ""
	if !created {
		spoken = speakable(ws, lang)
	}
	if lang == "" {
		lang = ws.DefaultLanguage
	}
	answers, err := h.converseAs(ctx, tx, ws, msg, id, lang, spoken, created)
	return &id, answers, err
}

// withFirstMessage puts the workspace's first message before the answers to a person Waymark has
// never answered, in lang, the language of those answers, or the nearest language of its chain
// the workspace wrote one in (see firstMessage). No answers, or no first message for lang, leave
// the answers as they are: the first message never goes out alone.
func withFirstMessage(ws workspaces.Workspace, lang string, answers []answer) []answer {
	if len(answers) == 0 {
		return answers
	}
	text := firstMessage(ws, lang)
	if text == "" {
		return answers
	}
	return append([]answer{{text: text}}, answers...)
}

// firstMessage returns the workspace's first message for a person whose language is lang: the
// first language of lang's chain (lang, the workspace's fallbacks for it, its default language)
// that the workspace wrote one in, or "". Keys are matched in canonical form, as Chain's tags are.
func firstMessage(ws workspaces.Workspace, lang string) string {
	if len(ws.FirstMessage) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(ws.FirstMessage))
	for _, tag := range campaigns.Chain(lang, ws.LanguageFallbacks, ws.DefaultLanguage) {
		if s := ws.FirstMessage[tag]; s != "" {
			return s
		}
		for _, k := range keys {
			if c, err := contacts.NormalizeLanguage(k); err == nil && c == tag && ws.FirstMessage[k] != "" {
				return ws.FirstMessage[k]
			}
		}
	}
	return ""
}

// speakable returns the shipped language a contact whose language is lang is answered in: lang
// itself, or the first shipped language of the workspace's fallback chain for it (fa-IR -> fa),
// without the workspace's default language; "" when there is none, or lang is empty.
func speakable(ws workspaces.Workspace, lang string) string {
	if lang == "" {
		return ""
	}
	for _, l := range campaigns.Chain(lang, ws.LanguageFallbacks, "") {
		if locales.Name(l) != "" {
			return l
		}
	}
	return ""
}

// keywordAnswerLanguage picks the language STOP, START and HELP are answered in: the person's
// own (spoken, the contact's language when Waymark speaks it), so that an English STOP from an
// Amharic speaker is confirmed in Amharic; else the keyword's language (an unknown sender, or a
// contact without a language Waymark speaks), else lang, the language the conversation uses.
func keywordAnswerLanguage(spoken, kwLang, lang string) string {
	switch {
	case spoken != "":
		return spoken
	case kwLang != "":
		return kwLang
	}
	return lang
}

// converseAs is converse once the sender is known: contact id, speaking lang (the contact's, or
// the workspace's default), spoken, the contact's own language when Waymark speaks it and the
// contact was not made by this message, and first, whether this message made the contact.
func (h *Handler) converseAs(ctx context.Context, tx pgx.Tx, ws workspaces.Workspace, msg messages.InboundMessage, id int64, lang, spoken string,
	first bool) (answers []answer, err error) {
	keywords, err := matcher(ctx, tx, ws.ID)
	if err != nil {
		return nil, err
	}
	intent, kwLang := keywords.Match(msg.Text, lang)
	say := func(lang, msgID string, data map[string]any) []answer {
		return []answer{{text: Localized(lang, msgID, data)}}
	}
	answerLang := keywordAnswerLanguage(spoken, kwLang, lang)
	if first && intent != IntentStop {
		// Whatever the branch below answers, a new contact hears the first message before it, in
		// the answers' language: for a keyword the keyword's, else the one the menus use. Someone
		// whose first word is STOP hears the confirmation alone.
		defer func() {
			if err == nil {
				answers = withFirstMessage(ws, answerLang, answers)
			}
		}()
	}
	evidence := map[string]any{"message_id": msg.ID, "keyword_language": kwLang}
	switch intent {
	case IntentStop:
		// Receive already applied it when the message was stored; this covers messages stored
		// another way, and repeats nothing when it was applied.
		if err := h.Contacts.KeywordStop(ctx, tx, ws, msg.Kind, msg.From, evidence); err != nil {
			return nil, err
		}
		if err := h.Store.setConversation(ctx, tx, ws.ID, id, "", 0); err != nil {
			return nil, err
		}
		if h.ProviderConfirmsStop != nil && h.ProviderConfirmsStop(ctx, ws.ID, msg.Kind) {
			return nil, nil
		}
		return say(answerLang, locales.StopConfirmation, nil), nil
	case IntentStart:
		if err := h.Contacts.KeywordConsent(ctx, tx, ws.ID, id, msg.Kind, contacts.StatusOptIn, evidence); err != nil {
			return nil, err
		}
		return say(answerLang, locales.StartConfirmation, nil), nil
	case IntentHelp:
		return say(answerLang, locales.HelpReply, map[string]any{"Sender": senderName(ws)}), nil
	case IntentLanguage:
		if err := h.Store.setConversation(ctx, tx, ws.ID, id, languagePickerNode, ws.ConversationTTLSeconds); err != nil {
			return nil, err
		}
		return []answer{h.picker(ws, msg)}, nil
	case IntentTalk:
		return nil, h.recordTalk(ctx, tx, ws.ID, id, msg)
	}
	node, err := h.Store.conversationNode(ctx, tx, ws.ID, id)
	if err != nil {
		return nil, err
	}
	if node == languagePickerNode {
		if l := pickLanguage(msg.Text); l != "" {
			if _, err := h.Contacts.SetLanguageByAddress(ctx, tx, ws, msg.Kind, msg.From, l); err != nil {
				return nil, err
			}
			return say(l, locales.LanguageChanged, nil), h.Store.setConversation(ctx, tx, ws.ID, id, "", 0)
		}
	}
	tree, err := h.tree(ctx, tx, ws.ID)
	if err != nil {
		return nil, err
	}
	if tree == nil {
		// No menus yet: say who we are and how to stop, never nothing.
		return say(keywordAnswerLanguage(spoken, "", lang), locales.HelpReply, map[string]any{"Sender": senderName(ws)}), nil
	}
	input := msg.Text
	if msg.Callback != "" {
		input = msg.Callback // a pressed menu button names its node
	}
	res := tree.Step(node, lang, input)
	if res.Talk {
		return nil, h.recordTalk(ctx, tx, ws.ID, id, msg)
	}
	a := answer{text: res.Reply}
	if msg.Kind == channels.KindTelegram {
		// Telegram shows the menu as buttons under the text.
		a = answer{text: res.Text, buttons: tree.Buttons(res.Node, lang)}
	}
	return []answer{a}, h.Store.setConversation(ctx, tx, ws.ID, id, res.Node, ws.ConversationTTLSeconds)
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

// replyAllowed takes one reply from the sender's hourly budget inside db, the handling
// transaction, so the budget is spent exactly when the answer is stored to be sent. The bucket is
// kept in PostgreSQL so every worker process shares it, keyed by the address's blind index,
// never the address.
func (h *Handler) replyAllowed(ctx context.Context, db ratelimit.DBTX, ws workspaces.Workspace, msg messages.InboundMessage) (bool, error) {
	per := float64(ws.RepliesPerHour)
	key := "reply:" + strconv.FormatInt(ws.ID, 10) + ":" + string(msg.Kind) + ":" + hex.EncodeToString(h.Keys.BlindIndex("reply", string(msg.Kind)+":"+msg.From)[:12])
	wait, err := ratelimit.Take(ctx, db, key, ratelimit.Limit{PerSecond: per / 3600, Burst: per}, 1)
	return wait == 0, err
}

func (h *Handler) recordTalk(ctx context.Context, tx pgx.Tx, workspaceID, contactID int64, msg messages.InboundMessage) error {
	_, err := dbq.New(tx).TalkRequestInsert(ctx, dbq.TalkRequestInsertParams{WorkspaceID: workspaceID, ContactID: &contactID,
		ChannelKind: string(msg.Kind), MessageID: &msg.ID})
	return err
}

// parsedTree is a workspace's tree with the stored JSON it was parsed from.
type parsedTree struct {
	raw  []byte
	tree *Tree
}

// tree returns the workspace's tree as stored now, nil when it has none. Parsing and validating
// a tree costs far more than reading it, so the last one parsed per workspace is kept and reused
// while the stored JSON is unchanged; a Tree is only read, so conversations share it.
func (h *Handler) tree(ctx context.Context, tx pgx.Tx, workspaceID int64) (*Tree, error) {
	raw, err := treeJSON(ctx, tx, workspaceID)
	if raw == nil || err != nil {
		return nil, err
	}
	if p, ok := h.trees.Load(workspaceID); ok && bytes.Equal(p.(parsedTree).raw, raw) {
		return p.(parsedTree).tree, nil
	}
	tree, err := ParseTree(raw)
	if err != nil {
		return nil, err
	}
	h.trees.Store(workspaceID, parsedTree{raw: raw, tree: tree})
	return tree, nil
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
// spaces messages to one chat a second apart) rather than failing the job for it.
func sendReply(ctx context.Context, send func() (channels.Result, error)) (channels.Result, error) {
	var err error
	for range 10 {
		res, e := send()
		if e == nil {
			return res, nil
		}
		err = e
		var se *channels.SendError
		if !errors.As(err, &se) || se.Class != channels.Throttled {
			return channels.Result{}, err
		}
		wait := min(max(se.RetryAfter, 200*time.Millisecond), 5*time.Second)
		select {
		case <-ctx.Done():
			return channels.Result{}, ctx.Err()
		case <-time.After(wait):
		}
	}
	return channels.Result{}, err
}
