package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/workspaces"
)

// maxImport caps a CSV upload; 100,000 rows of contacts fit well within it.
const maxImport = 64 << 20

func (s *Server) registerContacts() {
	s.api("GET", "/contacts", authors, s.listContacts)
	s.api("POST", "/contacts", authors, s.createContact)
	s.api("POST", "/contacts/import", authors, s.importContacts)
	s.api("GET", "/contacts/{id}", authors, s.getContact)
	s.api("PATCH", "/contacts/{id}", authors, s.updateContact)
	s.api("DELETE", "/contacts/{id}", authors, s.eraseContact)
	s.api("POST", "/contacts/{id}/identities", authors, s.addIdentity)
	s.api("GET", "/contacts/{id}/consent", authorsAndOperators, s.consentHistory)
	s.api("POST", "/contacts/{id}/consent", authorsAndOperators, s.recordConsent)
	s.api("GET", "/contacts/{id}/messages", authorsAndOperators, s.contactMessages)
}

// consentSource is how the API records who stated consent: operators relay what the person
// said; other roles act as API clients.
func consentSource(p workspaces.Principal) string {
	if p.Role == workspaces.RoleOperator {
		return contacts.SourceOperator
	}
	return contacts.SourceAPI
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	q := r.URL.Query()
	f := contacts.Filter{Language: q.Get("language"), Country: q.Get("country"), AdminArea: q.Get("admin_area"),
		Tag: q.Get("tag"), Channel: q.Get("channel"), Consent: q.Get("consent")}
	after, err := queryCursor(q)
	if err != nil {
		return err
	}
	f.After = after
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errcode.Field("limit", "want 1 to 1000")
		}
		f.Limit = n
	}
	list, next, err := s.deps.Contacts.List(r.Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	resp := map[string]any{"contacts": list}
	if next > 0 {
		resp["next_cursor"] = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var in contacts.NewContact
	if err := decode(r, &in); err != nil {
		return err
	}
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	c, err := s.deps.Contacts.Create(r.Context(), ws, in, consentSource(p), p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// getContact includes the contact's addresses; the read is audited.
func (s *Server) getContact(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.deps.Contacts.Get(r.Context(), p.WorkspaceID, id, true, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var f contacts.Fields
	if err := decode(r, &f); err != nil {
		return err
	}
	c, err := s.deps.Contacts.Update(r.Context(), p.WorkspaceID, id, f, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) eraseContact(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.deps.Contacts.Erase(r.Context(), p.WorkspaceID, id, p.Actor()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"erased": id})
	return nil
}

func (s *Server) addIdentity(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in contacts.IdentityInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	ident, err := s.deps.Contacts.AddIdentity(r.Context(), ws, id, in, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ident)
	return nil
}

func (s *Server) consentHistory(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	hist, err := s.deps.Contacts.ConsentHistory(r.Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": hist})
	return nil
}

func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in contacts.ConsentInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ev, err := s.deps.Contacts.RecordConsent(r.Context(), p.WorkspaceID, id, in, consentSource(p), p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ev)
	return nil
}

// importContacts takes a CSV body. The answer reports every rejected row with its line, column
// and reason, and carries the rejected rows back as CSV with a reason column.
func (s *Server) importContacts(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, maxImport)
	raw, err := io.ReadAll(body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errcode.New(errcode.TooLarge, "the file is larger than %d MiB; split it", maxImport>>20)
	}
	if err != nil {
		return errcode.Wrap(err, errcode.Invalid, "could not read the request body")
	}
	q := r.URL.Query()
	rep, err := s.deps.Contacts.Import(r.Context(), ws, bytes.NewReader(raw), contacts.ImportOptions{
		DefaultCountry: q.Get("default_country"), ConsentSource: q.Get("consent_source"), Actor: p.Actor()})
	if err != nil {
		return err
	}
	type rejectOut struct {
		Line   int    `json:"line"`
		Column string `json:"column,omitempty"`
		Reason string `json:"reason"`
	}
	rejects := make([]rejectOut, len(rep.Rejects))
	for i, rj := range rep.Rejects {
		rejects[i] = rejectOut{rj.Line, rj.Column, rj.Reason}
	}
	resp := map[string]any{"rows": rep.Rows, "created": rep.Created, "updated": rep.Updated, "rejected": rep.Rejected,
		"unknown_columns": rep.UnknownColumns, "consent_recorded": rep.ConsentRecorded,
		"consent_suppressed": rep.ConsentSuppressed, "rejects": rejects}
	if len(rep.Rejects) > 0 {
		var buf bytes.Buffer
		if err := contacts.WriteRejects(&buf, rep.Header, rep.Rejects); err != nil {
			return err
		}
		resp["rejects_csv"] = buf.String()
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// contactMessages lists a contact's conversation, decrypted: what they wrote ("in") and the
// answers sent to them ("out"), in time order. The read is audited like a read of their
// addresses.
func (s *Server) contactMessages(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.deps.Contacts.Get(r.Context(), p.WorkspaceID, id, false, p.Actor()); err != nil {
		return err
	}
	list, next, err := s.deps.Inbox.Conversation(r.Context(), p.WorkspaceID, id, r.URL.Query().Get("cursor"), messages.DefaultConversationLimit)
	if err != nil {
		return err
	}
	if err := (workspaces.Auditor{}).Record(r.Context(), s.deps.Pool, p.WorkspaceID, p.Actor(), "read_messages", "contact", id, nil); err != nil {
		return err
	}
	resp := map[string]any{"messages": list}
	if next != "" {
		resp["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
