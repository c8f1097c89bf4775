package web

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

func (s *Server) registerSandbox() {
	s.api("POST", "/sandbox/inbound", authorsAndOperators, s.sandboxInbound)
	s.api("GET", "/sandbox/outbox", authorsAndOperators, s.sandboxOutbox)
	s.api("GET", "/sandbox/settings", adminOnly, s.getSandboxSettings)
	s.api("PUT", "/sandbox/settings", adminOnly, s.putSandboxSettings)
}

// sandboxInbound simulates a person writing in. It answers 202 only once the message is stored.
func (s *Server) sandboxInbound(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var body struct {
		From string `json:"from"`
		Text string `json:"text"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	from, err := messages.SandboxAddress("from", body.From)
	if err != nil {
		return err
	}
	if body.Text == "" {
		return errcode.Field("text", "the message is empty")
	}
	if len(body.Text) > 4096 {
		return errcode.Field("text", "at most 4096 bytes")
	}
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	var id int64
	err = pgx.BeginFunc(r.Context(), s.deps.Pool, func(tx pgx.Tx) error {
		var err error
		id, _, err = s.deps.Chatbot.Receive(r.Context(), tx, s.deps.Inbox, s.deps.Contacts, s.deps.Jobs, ws,
			channels.Inbound{Kind: channels.KindSandbox, From: from, Text: body.Text})
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": "stored"})
	return nil
}

func (s *Server) sandboxOutbox(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	q := r.URL.Query()
	to, err := messages.SandboxAddress("to", q.Get("to"))
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, messages.MaxOutboxListLimit)
	if err != nil {
		return err
	}
	list, err := s.deps.Outbox.List(r.Context(), p.WorkspaceID, to, limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []messages.OutboxMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": list})
	return nil
}

func (s *Server) getSandboxSettings(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	st, err := s.deps.Outbox.SandboxSettings(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) putSandboxSettings(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var st messages.SandboxSettings
	if err := decode(r, &st); err != nil {
		return err
	}
	saved, err := s.deps.Outbox.SaveSandboxSettings(r.Context(), p.WorkspaceID, st)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, saved)
	return nil
}
