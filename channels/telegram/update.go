package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/waymark-org/waymark/channels"
)

// SecretHeader is the header in which Telegram sends a webhook's secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// CheckSecret reports whether r carries secret in SecretHeader. The comparison takes the same
// time whatever the header holds, its length included (both sides are hashed first), so the
// secret cannot be guessed a byte at a time. An empty secret matches nothing: a webhook without
// one must not accept anything.
func CheckSecret(r *http.Request, secret string) bool {
	got := r.Header.Get(SecretHeader)
	if secret == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// The parts of an update Waymark reads. Our own types rather than go-telegram/bot's models: an
// update must parse as long as these fields are sound, whatever else a newer Bot API adds.
type update struct {
	UpdateID      *int64         `json:"update_id"`
	Message       *message       `json:"message"`
	CallbackQuery *callbackQuery `json:"callback_query"`
}

type message struct {
	MessageID int64  `json:"message_id"`
	From      *user  `json:"from"`
	Chat      chat   `json:"chat"`
	Text      string `json:"text"`
	Caption   string `json:"caption"`
}

type chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type user struct {
	ID    int64 `json:"id"`
	IsBot bool  `json:"is_bot"`
}

type callbackQuery struct {
	ID      string   `json:"id"`
	From    user     `json:"from"`
	Message *message `json:"message"`
	Data    string   `json:"data"`
}

// startPayload is what a deep link (t.me/bot?start=PAYLOAD) can carry: Telegram allows only
// these characters, so anything else after a /start was typed by hand and is no payload.
var startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseUpdate decodes one update body into an Inbound:
//   - a message with text (or a caption) in a private chat: From is the chat id in decimal,
//     ProviderID "u<update_id>" (update ids are per bot, so store it with the channel), Text as
//     sent; "/start PAYLOAD" from a deep link also sets StartPayload.
//   - a press of an inline button in a private chat: Callback is the button's data,
//     CallbackQueryID the press's id for AnswerCallbackQuery, Text empty.
//
// To is left empty: an update does not name the bot, the channel it arrived on does.
//
// Updates Waymark does not handle return ok false without error, with the update id so a poller
// can move past them: edited messages, channel posts, messages without text (a photo without a
// caption, a sticker), messages from other bots, and anything in a group, since Waymark talks to
// people one to one and a group would show a person's questions to everyone in it. A body that is
// not an update (malformed JSON, no update_id) is an error.
func ParseUpdate(body []byte) (in channels.Inbound, updateID int64, ok bool, err error) {
	var u update
	if err := json.Unmarshal(body, &u); err != nil {
		return channels.Inbound{}, 0, false, fmt.Errorf("telegram: malformed update: %w", err)
	}
	if u.UpdateID == nil {
		return channels.Inbound{}, 0, false, errors.New("telegram: malformed update: no update_id")
	}
	id := *u.UpdateID
	in = channels.Inbound{Kind: channels.KindTelegram, ProviderID: "u" + strconv.FormatInt(id, 10)}

	switch {
	case u.Message != nil:
		m := u.Message
		text := m.Text
		if text == "" {
			text = m.Caption
		}
		if m.Chat.Type != "private" || text == "" || (m.From != nil && m.From.IsBot) {
			return channels.Inbound{}, id, false, nil
		}
		in.From = strconv.FormatInt(m.Chat.ID, 10)
		in.Text = text
		in.StartPayload = parseStart(m.Text)
		return in, id, true, nil

	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		if q.Data == "" {
			return channels.Inbound{}, id, false, nil
		}
		// A user's private chat with the bot has the user's id; the message the button hangs on
		// names the chat directly when Telegram still has it.
		chatID := q.From.ID
		if q.Message != nil && q.Message.Chat.ID != 0 {
			if q.Message.Chat.Type != "" && q.Message.Chat.Type != "private" {
				return channels.Inbound{}, id, false, nil
			}
			chatID = q.Message.Chat.ID
		}
		if chatID == 0 {
			return channels.Inbound{}, id, false, nil
		}
		in.From = strconv.FormatInt(chatID, 10)
		in.Callback = q.Data
		in.CallbackQueryID = q.ID
		return in, id, true, nil
	}
	return channels.Inbound{}, id, false, nil
}

// parseStart returns the deep-link payload of a "/start PAYLOAD" (or "/start@bot PAYLOAD")
// text, else "".
func parseStart(text string) string {
	cmd, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	if cmd != "/start" && !strings.HasPrefix(cmd, "/start@") {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if !startPayload.MatchString(rest) {
		return ""
	}
	return rest
}
