package web

import (
	"net/http"
	"strconv"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/workspaces"
)

var authorsAndViewers = []workspaces.Role{workspaces.RoleAuthor, workspaces.RoleViewer}

func (s *Server) registerCampaigns() {
	s.api("GET", "/campaigns", authorsAndViewers, s.listCampaigns)
	s.api("POST", "/campaigns", authors, s.createCampaign)
	s.api("GET", "/campaigns/{id}", authorsAndViewers, s.getCampaign)
	s.api("PATCH", "/campaigns/{id}", authors, s.updateCampaign)
	s.api("GET", "/campaigns/{id}/preview", authorsAndViewers, s.previewCampaign)
	s.api("POST", "/campaigns/{id}/test-send", authors, s.testSendCampaign)
	s.api("GET", "/campaigns/{id}/stats", authorsAndViewers, s.campaignStats)
	for _, action := range []string{"schedule", "pause", "resume", "cancel"} {
		s.api("POST", "/campaigns/{id}/"+action, authors, s.campaignTransition(action))
	}
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	q := r.URL.Query()
	after, err := queryCursor(q)
	if err != nil {
		return err
	}
	limit, err := queryLimit(q, 1000)
	if err != nil {
		return err
	}
	list, next, err := s.deps.Campaigns.List(r.Context(), p.WorkspaceID, q.Get("state"), after, limit)
	if err != nil {
		return err
	}
	resp := map[string]any{"campaigns": list}
	if next > 0 {
		resp["next_cursor"] = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var in campaigns.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.deps.Campaigns.Create(r.Context(), p.WorkspaceID, in, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.deps.Campaigns.Get(r.Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in campaigns.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.deps.Campaigns.Update(r.Context(), p.WorkspaceID, id, in, p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) previewCampaign(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pv, err := s.deps.Campaigns.Preview(r.Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}

func (s *Server) testSendCampaign(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Channel  string `json:"channel"`
		To       string `json:"to"`
		Language string `json:"language"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Channel == "" {
		body.Channel = "sandbox"
	}
	kind, err := contacts.ParseKind("channel", body.Channel)
	if err != nil {
		return err
	}
	res, err := s.deps.Campaigns.TestSend(r.Context(), p.WorkspaceID, id, kind, body.To, body.Language, s.deps.Senders)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) campaignStats(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	st, err := s.deps.Campaigns.Stats(r.Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) campaignTransition(action string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		st := s.deps.Campaigns
		var c campaigns.Campaign
		switch action {
		case "schedule":
			c, err = st.Schedule(r.Context(), p.WorkspaceID, id, p.Actor())
		case "pause":
			c, err = st.Pause(r.Context(), p.WorkspaceID, id, p.Actor())
		case "resume":
			c, err = st.Resume(r.Context(), p.WorkspaceID, id, p.Actor())
		case "cancel":
			c, err = st.Cancel(r.Context(), p.WorkspaceID, id, p.Actor())
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}
