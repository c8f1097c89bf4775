package web

import (
	"io"
	"net/http"

	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/workspaces"
)

func (s *Server) registerChatbot() {
	s.api("GET", "/chatbot", authorsAndViewers, s.getChatbot)
	s.api("PUT", "/chatbot", authors, s.putChatbot)
	s.api("GET", "/keywords", anyRole, s.getKeywords)
	s.api("PUT", "/keywords", adminOnly, s.putKeyword)
	s.api("DELETE", "/keywords", adminOnly, s.deleteKeyword)
}

func (s *Server) getChatbot(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	raw, err := s.deps.Chatbot.TreeJSON(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	if raw == nil {
		return errcode.New(errcode.NotFound, "this workspace has no chatbot yet: PUT /api/v1/chatbot or run `waymark chatbot import FILE`")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err = w.Write(raw)
	return err
}

// putChatbot replaces the workspace's tree with a JSON or YAML one, after validating it: every
// problem comes back at once, with the node and language it is in.
func (s *Server) putChatbot(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		return errcode.New(errcode.TooLarge, "a chatbot tree is at most 1 MiB")
	}
	tree, err := s.deps.Chatbot.Import(r.Context(), p.WorkspaceID, raw, p.Actor())
	if err != nil {
		return err
	}
	warnings := tree.Warnings()
	if warnings == nil {
		warnings = []chatbot.Warning{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tree": tree, "warnings": warnings})
	return nil
}

func (s *Server) getKeywords(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	m, err := s.deps.Chatbot.Matcher(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"keywords": m.Keywords()})
	return nil
}

type keywordBody struct {
	Intent string `json:"intent"`
	Word   string `json:"word"`
	// Action is add (the word now means the intent) or remove (a shipped word no longer does).
	Action string `json:"action"`
}

func (s *Server) putKeyword(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var b keywordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.deps.Chatbot.SetKeyword(r.Context(), p.WorkspaceID, chatbot.Intent(b.Intent), b.Word, b.Action, p.Actor()); err != nil {
		return err
	}
	return s.getKeywords(w, r, p)
}

func (s *Server) deleteKeyword(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var b keywordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.deps.Chatbot.ResetKeyword(r.Context(), p.WorkspaceID, chatbot.Intent(b.Intent), b.Word, p.Actor()); err != nil {
		return err
	}
	return s.getKeywords(w, r, p)
}
