package web

import (
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/connections"
)

// Webhooks are the provider-specific checks and parsers of webhook requests. Only the wiring
// knows the providers, so it fills these in.
type Webhooks struct {
	// TwilioValidate checks X-Twilio-Signature against the URL Twilio called (the public URL plus
	// the request target) and returns the form.
	TwilioValidate func(authToken string, r *http.Request) (url.Values, bool)
	TwilioInbound  func(form url.Values) (channels.Inbound, error)
	TwilioStatus   func(form url.Values) (channels.StatusUpdate, error)
	// TelegramCheck compares X-Telegram-Bot-Api-Secret-Token in constant time.
	TelegramCheck func(r *http.Request, secret string) bool
	// TelegramParse decodes an update; ok is false for updates Waymark does not handle.
	TelegramParse func(body []byte) (in channels.Inbound, updateID int64, ok bool, err error)
}

// maxHookBody caps webhook bodies: Twilio's forms and Telegram's updates are a few kilobytes.
const maxHookBody = 256 << 10

func (s *Server) registerHooks() {
	s.mux.HandleFunc("POST /hooks/twilio/{key}/inbound", s.twilioInbound)
	s.mux.HandleFunc("POST /hooks/twilio/{key}/status", s.twilioStatus)
	s.mux.HandleFunc("POST /hooks/telegram/{key}", s.telegramUpdate)
}

// hookError answers a webhook without telling a forger anything.
func hookError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status)+"\n")
}

// twilioChannel finds the channel a Twilio webhook names and checks the signature; any failure
// is 403 with nothing stored.
func (s *Server) twilioChannel(w http.ResponseWriter, r *http.Request) (connections.Channel, url.Values, bool) {
	if s.deps.Webhooks.TwilioValidate == nil {
		hookError(w, http.StatusNotFound)
		return connections.Channel{}, nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxHookBody)
	ch, err := s.deps.Channels.ByWebhookKey(r.Context(), connections.ProviderTwilio, r.PathValue("key"))
	if err != nil {
		hookError(w, http.StatusForbidden)
		return ch, nil, false
	}
	sec, err := s.deps.Channels.TwilioSecrets(ch)
	if err != nil {
		s.deps.Logger.Error("twilio webhook: channel secrets", "channel", ch.ID, "err", err)
		hookError(w, http.StatusInternalServerError)
		return ch, nil, false
	}
	form, ok := s.deps.Webhooks.TwilioValidate(sec.AuthToken, r)
	if !ok {
		s.deps.Logger.Warn("twilio webhook refused: bad signature", "channel", ch.ID, "path", r.URL.Path)
		hookError(w, http.StatusForbidden)
		return ch, nil, false
	}
	return ch, form, true
}

// twilioInbound stores an inbound SMS before answering, and records a provider opt-out (Twilio
// Advanced Opt-Out's OptOutType) in the consent ledger in the same transaction.
func (s *Server) twilioInbound(w http.ResponseWriter, r *http.Request) {
	ch, form, ok := s.twilioChannel(w, r)
	if !ok {
		return
	}
	in, err := s.deps.Webhooks.TwilioInbound(form)
	if err != nil {
		hookError(w, http.StatusBadRequest)
		return
	}
	if err := s.receive(r, ch, in); err != nil {
		s.deps.Logger.Error("twilio inbound: store", "channel", ch.ID, "err", err)
		hookError(w, http.StatusInternalServerError) // Twilio retries; the retry is deduplicated
		return
	}
	// An empty TwiML answer: Waymark replies, if at all, through its own queue.
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
}

// receive stores an inbound message and applies the provider's keyword verdict, in one
// transaction, so the webhook is answered only once both are durable.
func (s *Server) receive(r *http.Request, ch connections.Channel, in channels.Inbound) error {
	ws, err := s.deps.Workspaces.Get(r.Context(), ch.WorkspaceID)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(r.Context(), s.deps.Pool, func(tx pgx.Tx) error {
		_, dup, err := s.deps.Chatbot.Receive(r.Context(), tx, s.deps.Inbox, s.deps.Contacts, s.deps.Jobs, ws, in)
		if err != nil || dup {
			return err
		}
		if in.OptOut != "" {
			return s.deps.Contacts.ProviderKeyword(r.Context(), tx, ws, ch.Kind, in.From, in.OptOut,
				map[string]any{"provider": ch.Provider, "opt_out_type": in.OptOut, "message": in.ProviderID})
		}
		return nil
	})
}

// twilioStatus moves the delivery named by the callback URL forward; duplicates, late and
// unknown callbacks change nothing and are still acknowledged, so Twilio stops retrying.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	ch, form, ok := s.twilioChannel(w, r)
	if !ok {
		return
	}
	up, err := s.deps.Webhooks.TwilioStatus(form)
	if err != nil {
		// An unknown status is acknowledged: retrying it cannot make it known.
		s.deps.Logger.Warn("twilio status: unreadable", "channel", ch.ID, "err", err)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var changed bool
	if d, err := strconv.ParseInt(r.URL.Query().Get("d"), 10, 64); err == nil && d > 0 {
		changed, err = s.deps.Campaigns.ApplyStatusForDelivery(r.Context(), s.deps.Pool, ch.WorkspaceID, ch.Kind, d, up.ProviderID, up.Status, up.ErrorCode)
		if err != nil {
			s.deps.Logger.Error("twilio status: apply", "channel", ch.ID, "err", err)
			hookError(w, http.StatusInternalServerError)
			return
		}
	}
	if !changed {
		if _, err := s.deps.Campaigns.ApplyStatus(r.Context(), s.deps.Pool, ch.WorkspaceID, ch.Kind, up.ProviderID, up.Status, up.ErrorCode); err != nil {
			s.deps.Logger.Error("twilio status: apply", "channel", ch.ID, "err", err)
			hookError(w, http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// telegramUpdate checks the secret token, stores the update and only then answers 200:
// go-telegram/bot's own handler answers first and would lose updates on a crash.
func (s *Server) telegramUpdate(w http.ResponseWriter, r *http.Request) {
	if s.deps.Webhooks.TelegramCheck == nil {
		hookError(w, http.StatusNotFound)
		return
	}
	ch, err := s.deps.Channels.ByWebhookKey(r.Context(), connections.ProviderTelegram, r.PathValue("key"))
	if err != nil {
		hookError(w, http.StatusUnauthorized)
		return
	}
	sec, err := s.deps.Channels.TelegramSecrets(ch)
	if err != nil {
		s.deps.Logger.Error("telegram webhook: channel secrets", "channel", ch.ID, "err", err)
		hookError(w, http.StatusInternalServerError)
		return
	}
	if !s.deps.Webhooks.TelegramCheck(r, sec.WebhookSecret) {
		s.deps.Logger.Warn("telegram webhook refused: wrong secret token", "channel", ch.ID)
		hookError(w, http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		hookError(w, http.StatusRequestEntityTooLarge)
		return
	}
	in, _, ok, err := s.deps.Webhooks.TelegramParse(body)
	if err != nil {
		hookError(w, http.StatusBadRequest)
		return
	}
	if ok {
		if err := s.receive(r, ch, in); err != nil {
			s.deps.Logger.Error("telegram update: store", "channel", ch.ID, "err", err)
			hookError(w, http.StatusInternalServerError) // Telegram retries
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
