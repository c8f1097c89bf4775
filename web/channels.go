package web

import (
	"net/http"
	"strings"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/contacts"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/workspaces"
)

// ChannelTester sends a test message over a configured channel; the wiring provides it.
type ChannelTester func(r *http.Request, ch connections.Channel, to, text string) (channels.Result, error)

// ChannelHooks registers a channel with its provider when it is added or changed (Telegram's
// setWebhook); the wiring provides it.
type ChannelHooks func(r *http.Request, ch connections.Channel) error

func (s *Server) registerChannels() {
	s.api("GET", "/channels", adminOnly, s.listChannels)
	s.api("POST", "/channels", adminOnly, s.addChannel)
	s.api("GET", "/channels/{id}", adminOnly, s.getChannel)
	s.api("PATCH", "/channels/{id}", adminOnly, s.updateChannel)
	s.api("DELETE", "/channels/{id}", adminOnly, s.removeChannel)
	s.api("POST", "/channels/{id}/test", adminOnly, s.testChannel)
}

// channelView is a channel as the API shows it: settings and webhook URLs, never credentials.
type channelView struct {
	connections.Channel
	Webhooks map[string]string `json:"webhooks"`
}

// WebhookURLs are the addresses to give the provider for a channel, built from the public URL.
func WebhookURLs(publicURL string, ch connections.Channel) map[string]string {
	base := strings.TrimSuffix(publicURL, "/")
	switch ch.Provider {
	case connections.ProviderTwilio:
		return map[string]string{
			"inbound": base + "/hooks/twilio/" + ch.WebhookKey + "/inbound",
			"status":  base + "/hooks/twilio/" + ch.WebhookKey + "/status",
		}
	case connections.ProviderTelegram:
		if ch.Telegram != nil && ch.Telegram.Mode == "polling" {
			return map[string]string{}
		}
		return map[string]string{"updates": base + "/hooks/telegram/" + ch.WebhookKey}
	}
	return map[string]string{}
}

func (s *Server) view(ch connections.Channel) channelView {
	return channelView{Channel: ch, Webhooks: WebhookURLs(s.deps.PublicURL, ch)}
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	list, err := s.deps.Channels.List(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]channelView, len(list))
	for i, c := range list {
		out[i] = s.view(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": out, "sandbox": map[string]any{"kind": "sandbox", "built_in": true}})
	return nil
}

func (s *Server) addChannel(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	var in connections.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	ch, err := s.deps.Channels.Add(r.Context(), p.WorkspaceID, in, p.Actor())
	if err != nil {
		return err
	}
	if s.deps.RegisterChannel != nil {
		if err := s.deps.RegisterChannel(r, ch); err != nil {
			// Keep nothing half set up: the channel goes, and the answer says why.
			_ = s.deps.Channels.Remove(r.Context(), p.WorkspaceID, ch.ID, p.Actor())
			return err
		}
	}
	writeJSON(w, http.StatusCreated, s.view(ch))
	return nil
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ch, err := s.deps.Channels.Get(r.Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(ch))
	return nil
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in connections.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	ch, err := s.deps.Channels.Update(r.Context(), p.WorkspaceID, id, in, p.Actor())
	if err != nil {
		return err
	}
	if s.deps.RegisterChannel != nil {
		if err := s.deps.RegisterChannel(r, ch); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, s.view(ch))
	return nil
}

func (s *Server) removeChannel(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.deps.Channels.Remove(r.Context(), p.WorkspaceID, id, p.Actor()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"removed": id})
	return nil
}

func (s *Server) testChannel(w http.ResponseWriter, r *http.Request, p workspaces.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	ch, err := s.deps.Channels.Get(r.Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	ws, err := s.deps.Workspaces.Get(r.Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	to, err := contacts.NormalizeAddress(ch.Kind, body.To, ws.DefaultCountry)
	if err != nil {
		return errcode.Field("to", "%v", err)
	}
	if body.Text == "" {
		body.Text = "Test message from Waymark."
	}
	if s.deps.TestChannel == nil {
		return errcode.New(errcode.Unsupported, "test sends are not available in this process")
	}
	res, err := s.deps.TestChannel(r, ch, to, body.Text)
	if err != nil {
		se := channels.Classify(err)
		return errcode.Wrap(err, errcode.Unavailable, "the provider refused the test message: %s", se.Error())
	}
	writeJSON(w, http.StatusOK, map[string]any{"provider_id": res.ProviderID, "status": res.Status})
	return nil
}
