package connections_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	sid       = "AC0123456789abcdef0123456789abcdef"
	authToken = "f00dbabe0123456789abcdef01234567"
	bot       = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
)

func raw(s string) *json.RawMessage {
	r := json.RawMessage(s)
	return &r
}

func setup(t *testing.T) (*connections.Store, workspaces.Workspace, context.Context, func() string) {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	entry, _ := pii.GenerateKey("k1")
	keys, err := pii.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspaces.NewStore(pool).Create(ctx, "Channels", "KE")
	if err != nil {
		t.Fatal(err)
	}
	dump := func() string {
		var s string
		if err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(c::text, E'\n'), '') FROM channels c`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return connections.NewStore(pool, keys), ws, ctx, dump
}

var by = workspaces.CLIActor("test")

func TestAddTwilioKeepsSecretsEncrypted(t *testing.T) {
	t.Parallel()
	st, ws, ctx, dump := setup(t)
	ch, err := st.Add(ctx, ws.ID, connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550006"},
		Secrets: raw(`{"auth_token":"` + authToken + `"}`)}, by)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Kind != channels.KindSMS || ch.Twilio.SenderType != "long_code" || ch.Twilio.RatePerSecond != 1 || ch.WebhookKey == "" {
		t.Fatalf("channel %+v %+v", ch, ch.Twilio)
	}
	b, _ := json.Marshal(ch)
	if strings.Contains(string(b), authToken) || strings.Contains(string(b), ch.WebhookKey) {
		t.Fatalf("the channel's JSON shows a secret or the webhook key: %s", b)
	}
	if d := dump(); !strings.Contains(d, sid) || strings.Contains(d, authToken) {
		t.Fatal("the auth token is stored in plain text (or the dump proves nothing)")
	}
	sec, err := st.TwilioSecrets(ch)
	if err != nil || sec.AuthToken != authToken {
		t.Fatalf("secrets: %+v %v", sec, err)
	}
	// An update without secrets keeps them; one with a new From changes only that.
	up, err := st.Update(ctx, ws.ID, ch.ID, connections.Input{Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550007"}}, by)
	if err != nil || up.Twilio.From != "+15005550007" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if sec, _ := st.TwilioSecrets(up); sec.AuthToken != authToken {
		t.Fatal("an update without secrets lost the auth token")
	}
	if _, err := st.Add(ctx, ws.ID, connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550008"},
		Secrets: raw(`{"auth_token":"x"}`)}, by); errcode.CodeOf(err) != errcode.Conflict {
		t.Fatalf("a second sms channel: %v", err)
	}
	found, err := st.ByWebhookKey(ctx, "twilio", ch.WebhookKey)
	if err != nil || found.ID != ch.ID {
		t.Fatalf("by webhook key: %v", err)
	}
	if _, err := st.ByWebhookKey(ctx, "telegram", ch.WebhookKey); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("a Twilio key found a Telegram channel: %v", err)
	}
	if err := st.Remove(ctx, ws.ID, ch.ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, ws.ID, ch.ID); errcode.CodeOf(err) != errcode.NotFound {
		t.Fatalf("removed channel: %v", err)
	}
}

func TestAddTelegramGeneratesWebhookSecret(t *testing.T) {
	t.Parallel()
	st, ws, ctx, dump := setup(t)
	ch, err := st.Add(ctx, ws.ID, connections.Input{Provider: "telegram", Secrets: raw(`{"bot_token":"` + bot + `"}`)}, by)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Kind != channels.KindTelegram || ch.Telegram.Mode != "webhook" || ch.Telegram.RatePerSecond != 30 || ch.Telegram.PerChatPerSecond != 1 {
		t.Fatalf("channel %+v", ch.Telegram)
	}
	sec, err := st.TelegramSecrets(ch)
	if err != nil || sec.BotToken != bot || len(sec.WebhookSecret) < 20 {
		t.Fatalf("secrets %v", err)
	}
	if d := dump(); strings.Contains(d, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") || strings.Contains(d, sec.WebhookSecret) {
		t.Fatal("a Telegram secret is stored in plain text")
	}
	up, err := st.Update(ctx, ws.ID, ch.ID, connections.Input{Telegram: &connections.Telegram{Mode: "polling"}}, by)
	if err != nil || up.Telegram.Mode != "polling" {
		t.Fatalf("update: %v", err)
	}
	if sec2, _ := st.TelegramSecrets(up); sec2.WebhookSecret != sec.WebhookSecret || sec2.BotToken != bot {
		t.Fatal("an update changed the secrets")
	}
	polling, err := st.Polling(ctx)
	if err != nil || len(polling) != 1 || polling[0].ID != ch.ID {
		t.Fatalf("polling channels: %v %v", polling, err)
	}
}

func TestValidationNamesTheFieldNotTheSecret(t *testing.T) {
	t.Parallel()
	st, ws, ctx, _ := setup(t)
	cases := []struct {
		in    connections.Input
		field string
	}{
		{connections.Input{Provider: "carrier-pigeon"}, "provider"},
		{connections.Input{Provider: "twilio"}, "twilio"},
		{connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: "AC123", From: "+15005550006"}, Secrets: raw(`{"auth_token":"t"}`)}, "twilio.account_sid"},
		{connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: sid, From: "0712345678"}, Secrets: raw(`{"auth_token":"t"}`)}, "twilio.from"},
		{connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550006"}}, "secrets.auth_token"},
		{connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550006"}, Secrets: raw(`{"auth_token":"t","api_key_sid":"SK1"}`)}, "secrets.api_key_sid"},
		{connections.Input{Provider: "twilio", Twilio: &connections.Twilio{AccountSID: sid, From: "+15005550006", APIBaseURL: "http://evil.example"}, Secrets: raw(`{"auth_token":"t"}`)}, "twilio.api_base_url"},
		{connections.Input{Provider: "telegram", Secrets: raw(`{"bot_token":"not-a-token-s3cr3t"}`)}, "secrets.bot_token"},
		{connections.Input{Provider: "telegram", Secrets: raw(`{"bot_token":"` + bot + `","extra":"s3cr3t"}`)}, "secrets"},
		{connections.Input{Provider: "telegram", Telegram: &connections.Telegram{Mode: "carrier"}, Secrets: raw(`{"bot_token":"` + bot + `"}`)}, "telegram.mode"},
	}
	for _, c := range cases {
		_, err := st.Add(ctx, ws.ID, c.in, by)
		e, ok := errcode.As(err)
		if !ok || e.Code != errcode.Invalid || e.Field != c.field {
			t.Errorf("%+v: got %v, want invalid %s", c.in, err, c.field)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "AAHdqTcv") {
			t.Errorf("the error quotes a secret: %v", err)
		}
	}
}
