package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/workspaces"
)

// Route is one API route and the roles that may use it (admin always may).
type Route struct {
	Method  string
	Pattern string
	Roles   []workspaces.Role
}

// apiHandler handles an authenticated API request; returning an error answers with it.
type apiHandler func(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error

// Role sets for routes: who may read and who may change what.
var (
	anyRole   = []workspaces.Role{workspaces.RoleAuthor, workspaces.RoleOperator, workspaces.RoleViewer}
	adminOnly = []workspaces.Role{}
	authors   = []workspaces.Role{workspaces.RoleAuthor}
	// Operators record what a person told them (consent) but do not manage the contact list.
	authorsAndOperators = []workspaces.Role{workspaces.RoleAuthor, workspaces.RoleOperator}
)

// api registers a route under /api/v1 that needs a bearer token whose role is in roles.
func (s *Server) api(method, path string, roles []workspaces.Role, h apiHandler) {
	pattern := "/api/v1" + path
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern, Roles: roles})
	s.mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !p.Role.Allowed(roles...) {
			s.writeError(w, r, errcode.New(errcode.Forbidden, "a %s token may not %s %s", p.Role, method, pattern))
			return
		}
		if err := h(w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (workspaces.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return workspaces.Principal{}, workspaces.ErrBadToken
	}
	return s.deps.Workspaces.Authenticate(r.Context(), strings.TrimSpace(token))
}

// maxBody caps JSON request bodies; imports have their own, larger limit.
const maxBody = 1 << 20

// decode reads a JSON body strictly: unknown fields and trailing data are errors that say where.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return errcode.New(errcode.Invalid, "the request body is empty; send a JSON object")
		case errors.As(err, &se):
			return errcode.New(errcode.Invalid, "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return &errcode.Error{Code: errcode.Invalid, Field: te.Field, Message: fmt.Sprintf("want %s", te.Type)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &errcode.Error{Code: errcode.Invalid, Field: f, Message: "unknown field"}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errcode.New(errcode.Invalid, "the JSON body ends too early")
		}
		return errcode.Wrap(err, errcode.Invalid, "unreadable JSON body: %v", err)
	}
	if dec.More() {
		return errcode.New(errcode.Invalid, "the body holds more than one JSON value")
	}
	return nil
}

// queryLimit reads a list's optional ?limit=, from 1 to most; 0 means the list's default.
func queryLimit(q url.Values, most int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, errcode.Field("limit", "want 1 to %d", most)
	}
	return n, nil
}

// queryCursor reads a list's optional ?cursor=, the next_cursor of the previous page; 0 means
// the first page.
func queryCursor(q url.Values) (int64, error) {
	v := q.Get("cursor")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errcode.Field("cursor", "want the next_cursor of the previous page")
	}
	return n, nil
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errcode.Field(name, "want a positive whole number")
	}
	return id, nil
}

func (s *Server) registerAPI() {
	s.api("GET", "/workspace", anyRole, s.getWorkspace)
	s.api("PATCH", "/workspace", adminOnly, s.patchWorkspace)
	s.api("GET", "/users", adminOnly, s.listUsers)
	s.api("GET", "/tokens", adminOnly, s.listTokens)
	s.api("POST", "/tokens", adminOnly, s.createToken)
	s.api("DELETE", "/tokens/{id}", adminOnly, s.revokeToken)
	s.api("GET", "/audit", adminOnly, s.listAudit)
	s.registerContacts()
	s.registerCampaigns()
	s.registerSandbox()
	s.registerChannels()
	s.registerChatbot()
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		workspaces.Workspace
		Role workspaces.Role `json:"role"`
	}{ws, p.Role})
	return nil
}

func (s *Server) patchWorkspace(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	var body struct {
		DefaultCountry     *string              `json:"default_country"`
		AuditRetentionDays *int                 `json:"audit_retention_days"`
		DefaultLanguage    *string              `json:"default_language"`
		HotlineNumber      *string              `json:"hotline_number"`
		LanguageFallbacks  *map[string][]string `json:"language_fallbacks"`
		SenderName         *string              `json:"sender_name"`
		FirstMessage       *map[string]string   `json:"first_message"`
		RepliesPerHour     *int                 `json:"replies_per_hour"`
		ConversationTTL    *int                 `json:"conversation_ttl_seconds"`
		MessageRetention   *int                 `json:"message_retention_days"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	st := workspaces.SettingsOf(ws)
	if body.DefaultCountry != nil {
		st.DefaultCountry = *body.DefaultCountry
	}
	if body.AuditRetentionDays != nil {
		st.AuditRetentionDays = *body.AuditRetentionDays
	}
	if body.DefaultLanguage != nil {
		st.DefaultLanguage = *body.DefaultLanguage
	}
	if body.HotlineNumber != nil {
		st.HotlineNumber = *body.HotlineNumber
	}
	if body.LanguageFallbacks != nil {
		st.LanguageFallbacks = *body.LanguageFallbacks
	}
	if body.SenderName != nil {
		st.SenderName = *body.SenderName
	}
	if body.FirstMessage != nil {
		st.FirstMessage = *body.FirstMessage // the whole set: {} sends none
	}
	if body.RepliesPerHour != nil {
		st.RepliesPerHour = *body.RepliesPerHour
	}
	if body.ConversationTTL != nil {
		st.ConversationTTL = *body.ConversationTTL
	}
	if body.MessageRetention != nil {
		st.MessageRetentionDays = *body.MessageRetention
	}
	ws, err = s.deps.Workspaces.UpdateSettings(r.Context(), p.WorkspaceID, st, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	users, err := s.deps.Workspaces.ListUsers(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	tokens, err := s.deps.Workspaces.ListTokens(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var body struct {
		Role string `json:"role"`
		User string `json:"user"`
		Name string `json:"name"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	role, err := workspaces.ParseRole(body.Role)
	if err != nil {
		return err
	}
	plain, tok, err := s.deps.Workspaces.CreateToken(r.Context(), p.WorkspaceID, role, body.User, body.Name, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": plain, "details": tok,
		"note": "the token is shown once and stored only as a hash: keep it now"})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tok, err := s.deps.Workspaces.RevokeToken(r.Context(), p.WorkspaceID, id, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tok)
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	q := r.URL.Query()
	f := workspaces.AuditFilter{RecordType: q.Get("record_type"), RecordID: q.Get("record_id")}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errcode.Field("before", "want an audit entry id")
		}
		f.BeforeID = n
	}
	limit, err := queryLimit(q, 1000)
	if err != nil {
		return err
	}
	f.Limit = limit
	entries, err := s.deps.Workspaces.ListAudit(r.Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	resp := map[string]any{"entries": entries}
	if f.Limit == 0 {
		f.Limit = workspaces.DefaultAuditLimit
	}
	if len(entries) == f.Limit {
		resp["next_before"] = entries[len(entries)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
