// Package connections owns a workspace's connections to providers: the Twilio account or
// Messaging Service it sends SMS through and the Telegram bot it talks through. Settings are kept
// as configured; credentials only encrypted, never returned, never logged.
package connections

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/connections/internal/dbq"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/workspaces"
)

// Providers.
const (
	ProviderTwilio   = "twilio"
	ProviderTelegram = "telegram"
)

// Twilio is a Twilio SMS channel's settings.
type Twilio struct {
	AccountSID string `json:"account_sid"`
	// From is the sender number (E.164); MessagingServiceSID (MG...) is used instead when set.
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	// SenderType sets the default rate: long_code 1 segment/s, short_code 100/s,
	// messaging_service 1/s per number unless RatePerSecond says otherwise.
	SenderType    string  `json:"sender_type"`
	RatePerSecond float64 `json:"rate_per_second"`
	// HandlesStop says Twilio answers STOP itself (its default opt-out handling), so Waymark
	// records the opt-out without confirming it a second time.
	HandlesStop bool `json:"handles_stop"`
	// APIBaseURL replaces https://api.twilio.com (a test double or a proxy); empty for Twilio.
	APIBaseURL string `json:"api_base_url,omitempty"`
}

// TwilioSecrets are a Twilio channel's credentials.
type TwilioSecrets struct {
	AuthToken    string `json:"auth_token"`
	APIKeySID    string `json:"api_key_sid,omitempty"`
	APIKeySecret string `json:"api_key_secret,omitempty"`
}

// Telegram is a Telegram bot channel's settings.
type Telegram struct {
	// Mode is webhook (Telegram calls us; needs a public HTTPS address) or polling.
	Mode             string  `json:"mode"`
	RatePerSecond    float64 `json:"rate_per_second"`
	PerChatPerSecond float64 `json:"per_chat_per_second"`
	// APIBaseURL replaces https://api.telegram.org (a local Bot API server or a test double).
	APIBaseURL string `json:"api_base_url,omitempty"`
}

// TelegramSecrets are a Telegram channel's credentials; the webhook secret is generated.
type TelegramSecrets struct {
	BotToken      string `json:"bot_token"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// Channel is a configured provider channel, without its credentials.
type Channel struct {
	ID         int64         `json:"id"`
	Kind       channels.Kind `json:"kind"`
	Provider   string        `json:"provider"`
	Name       string        `json:"name"`
	Twilio     *Twilio       `json:"twilio,omitempty"`
	Telegram   *Telegram     `json:"telegram,omitempty"`
	WebhookKey string        `json:"-"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`

	WorkspaceID int64 `json:"-"`
	secretsEnc  []byte
}

// Input adds or changes a channel. Secrets left empty on update keep their value.
type Input struct {
	Provider string           `json:"provider"`
	Name     string           `json:"name"`
	Twilio   *Twilio          `json:"twilio"`
	Telegram *Telegram        `json:"telegram"`
	Secrets  *json.RawMessage `json:"secrets"`
}

// Store keeps channels.
type Store struct {
	pool  *pgxpool.Pool
	q     *dbq.Queries
	keys  *pii.Keyring
	audit workspaces.Auditor
}

// NewStore returns a Store that encrypts credentials with keys.
func NewStore(pool *pgxpool.Pool, keys *pii.Keyring) *Store {
	return &Store{pool: pool, q: dbq.New(pool), keys: keys}
}

const aadSecrets = "channels.secrets_enc"

var (
	accountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	apiKeySID  = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	botToken   = regexp.MustCompile(`^[0-9]{3,20}:[A-Za-z0-9_-]{20,100}$`)
)

func fromRow(r dbq.Channel) (Channel, error) {
	c := Channel{ID: r.ID, WorkspaceID: r.WorkspaceID, Kind: channels.Kind(r.Kind), Provider: r.Provider, Name: r.Name,
		WebhookKey: r.WebhookKey, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, secretsEnc: r.SecretsEnc}
	var err error
	switch r.Provider {
	case ProviderTwilio:
		c.Twilio = &Twilio{}
		err = json.Unmarshal(r.Config, c.Twilio)
	case ProviderTelegram:
		c.Telegram = &Telegram{}
		err = json.Unmarshal(r.Config, c.Telegram)
	}
	return c, err
}

func fromRows(rows []dbq.Channel, err error) ([]Channel, error) {
	if err != nil {
		return nil, err
	}
	out := make([]Channel, 0, len(rows))
	for _, r := range rows {
		c, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// validate normalises in against the existing channel (nil when adding) and returns the kind,
// settings JSON and secrets to store.
func (in Input) validate(existing *Channel, old []byte) (channels.Kind, []byte, []byte, error) {
	provider := in.Provider
	if existing != nil {
		if provider != "" && provider != existing.Provider {
			return "", nil, nil, errcode.Field("provider", "a channel's provider cannot change; remove it and add another")
		}
		provider = existing.Provider
	}
	switch provider {
	case ProviderTwilio:
		cfg := in.Twilio
		if cfg == nil && existing != nil {
			cfg = existing.Twilio
		}
		if cfg == nil {
			return "", nil, nil, errcode.Field("twilio", "give the Twilio settings: account_sid and from or messaging_service_sid")
		}
		var sec TwilioSecrets
		if err := mergeSecrets(in.Secrets, old, &sec); err != nil {
			return "", nil, nil, err
		}
		if err := cfg.check(&sec); err != nil {
			return "", nil, nil, err
		}
		return channels.KindSMS, mustJSON(cfg), mustJSON(sec), nil
	case ProviderTelegram:
		cfg := in.Telegram
		if cfg == nil && existing != nil {
			cfg = existing.Telegram
		}
		if cfg == nil {
			cfg = &Telegram{}
		}
		var sec TelegramSecrets
		if err := mergeSecrets(in.Secrets, old, &sec); err != nil {
			return "", nil, nil, err
		}
		if err := cfg.check(&sec); err != nil {
			return "", nil, nil, err
		}
		return channels.KindTelegram, mustJSON(cfg), mustJSON(sec), nil
	}
	return "", nil, nil, errcode.Field("provider", "want twilio or telegram (the sandbox is built in)")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// mergeSecrets decodes the new secrets over the old ones, so an update that leaves a secret out
// keeps it.
func mergeSecrets(in *json.RawMessage, old []byte, dst any) error {
	if old != nil {
		if err := json.Unmarshal(old, dst); err != nil {
			return err
		}
	}
	if in != nil {
		dec := json.NewDecoder(strings.NewReader(string(*in)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			// The decoder's message may quote the value; say only what is wrong.
			return errcode.Field("secrets", "want an object with the provider's credential fields")
		}
	}
	return nil
}

func (t *Twilio) check(sec *TwilioSecrets) error {
	t.AccountSID = strings.TrimSpace(t.AccountSID)
	if !accountSID.MatchString(t.AccountSID) {
		return errcode.Field("twilio.account_sid", "want an Account SID: AC followed by 32 hexadecimal characters")
	}
	switch {
	case t.MessagingServiceSID != "":
		if !serviceSID.MatchString(t.MessagingServiceSID) {
			return errcode.Field("twilio.messaging_service_sid", "want MG followed by 32 hexadecimal characters")
		}
	case e164.MatchString(t.From):
	default:
		return errcode.Field("twilio.from", "give an E.164 sender number such as +15005550006, or a messaging_service_sid")
	}
	if t.SenderType == "" {
		t.SenderType = "long_code"
		if t.MessagingServiceSID != "" {
			t.SenderType = "messaging_service"
		}
	}
	if t.RatePerSecond == 0 {
		switch t.SenderType {
		case "long_code", "messaging_service":
			t.RatePerSecond = 1
		case "short_code":
			t.RatePerSecond = 100
		}
	}
	if t.SenderType != "long_code" && t.SenderType != "short_code" && t.SenderType != "messaging_service" {
		return errcode.Field("twilio.sender_type", "want long_code, short_code or messaging_service")
	}
	if t.RatePerSecond < 0 || t.RatePerSecond > 10000 {
		return errcode.Field("twilio.rate_per_second", "want 0.01 to 10000 segments a second")
	}
	if sec.AuthToken == "" {
		return errcode.Field("secrets.auth_token", "the Auth Token is needed to check Twilio's webhook signatures")
	}
	if (sec.APIKeySID == "") != (sec.APIKeySecret == "") {
		return errcode.Field("secrets.api_key_sid", "give both api_key_sid and api_key_secret, or neither")
	}
	if sec.APIKeySID != "" && !apiKeySID.MatchString(sec.APIKeySID) {
		return errcode.Field("secrets.api_key_sid", "want SK followed by 32 hexadecimal characters")
	}
	return checkBaseURL("twilio.api_base_url", t.APIBaseURL)
}

func (t *Telegram) check(sec *TelegramSecrets) error {
	if t.Mode == "" {
		t.Mode = "webhook"
	}
	if t.Mode != "webhook" && t.Mode != "polling" {
		return errcode.Field("telegram.mode", "want webhook or polling")
	}
	if t.RatePerSecond == 0 {
		t.RatePerSecond = 30
	}
	if t.PerChatPerSecond == 0 {
		t.PerChatPerSecond = 1
	}
	if t.RatePerSecond < 0 || t.RatePerSecond > 1000 {
		return errcode.Field("telegram.rate_per_second", "want up to 1000 messages a second")
	}
	if t.PerChatPerSecond < 0 || t.PerChatPerSecond > 30 {
		return errcode.Field("telegram.per_chat_per_second", "want up to 30 messages a second")
	}
	if !botToken.MatchString(sec.BotToken) {
		return errcode.Field("secrets.bot_token", "want the token BotFather gave, such as 123456:ABC-DEF...")
	}
	if sec.WebhookSecret == "" {
		sec.WebhookSecret = rand.Text()
	}
	return checkBaseURL("telegram.api_base_url", t.APIBaseURL)
}

func checkBaseURL(field, u string) error {
	if u == "" || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://127.0.0.1") ||
		strings.HasPrefix(u, "http://localhost") || strings.HasPrefix(u, "http://[::1]") {
		return nil
	}
	// Credentials must never travel in clear text to anything but this machine.
	return errcode.Field(field, "want an https URL (plain http only to this machine)")
}

// Add stores a new channel; a workspace has at most one channel per kind.
func (s *Store) Add(ctx context.Context, workspaceID int64, in Input, by workspaces.Actor) (Channel, error) {
	kind, cfg, sec, err := in.validate(nil, nil)
	if err != nil {
		return Channel{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = in.Provider
	}
	enc, err := s.keys.Encrypt(sec, []byte(aadSecrets))
	if err != nil {
		return Channel{}, err
	}
	return s.write(ctx, workspaceID, by, "create", func(q *dbq.Queries) (dbq.Channel, error) {
		r, err := q.ChannelInsert(ctx, dbq.ChannelInsertParams{WorkspaceID: workspaceID, Kind: string(kind), Provider: in.Provider,
			Name: name, Config: cfg, SecretsEnc: enc, WebhookKey: strings.ToLower(rand.Text())})
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return r, errcode.New(errcode.Conflict, "this workspace already has a %s channel; change or remove it", kind)
		}
		return r, err
	})
}

// Update changes a channel; secrets left out keep their value.
func (s *Store) Update(ctx context.Context, workspaceID, id int64, in Input, by workspaces.Actor) (Channel, error) {
	cur, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return Channel{}, err
	}
	old, err := s.keys.Decrypt(cur.secretsEnc, []byte(aadSecrets))
	if err != nil {
		return Channel{}, fmt.Errorf("channel %d secrets: %w", id, err)
	}
	_, cfg, sec, err := in.validate(&cur, old)
	if err != nil {
		return Channel{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = cur.Name
	}
	enc, err := s.keys.Encrypt(sec, []byte(aadSecrets))
	if err != nil {
		return Channel{}, err
	}
	return s.write(ctx, workspaceID, by, "update", func(q *dbq.Queries) (dbq.Channel, error) {
		return q.ChannelUpdate(ctx, dbq.ChannelUpdateParams{WorkspaceID: workspaceID, ID: id, Name: name, Config: cfg, SecretsEnc: enc})
	})
}

func (s *Store) write(ctx context.Context, workspaceID int64, by workspaces.Actor, action string, f func(q *dbq.Queries) (dbq.Channel, error)) (Channel, error) {
	var out Channel
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := f(s.q.WithTx(tx))
		if err != nil {
			return err
		}
		if out, err = fromRow(r); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, workspaceID, by, action, "channel", r.ID, map[string]any{"provider": r.Provider})
	})
	return out, err
}

// Get returns a channel of the workspace.
func (s *Store) Get(ctx context.Context, workspaceID, id int64) (Channel, error) {
	r, err := s.q.ChannelGet(ctx, dbq.ChannelGetParams{WorkspaceID: workspaceID, ID: id})
	if err != nil {
		return Channel{}, notFound(err)
	}
	return fromRow(r)
}

// ByKind returns the workspace's channel of a kind, or a NotFound error.
func (s *Store) ByKind(ctx context.Context, workspaceID int64, kind channels.Kind) (Channel, error) {
	r, err := s.q.ChannelByKind(ctx, dbq.ChannelByKindParams{WorkspaceID: workspaceID, Kind: string(kind)})
	if err != nil {
		return Channel{}, notFound(err)
	}
	return fromRow(r)
}

// ByWebhookKey finds the channel a webhook URL names.
func (s *Store) ByWebhookKey(ctx context.Context, provider, key string) (Channel, error) {
	r, err := s.q.ChannelByWebhookKey(ctx, dbq.ChannelByWebhookKeyParams{Provider: provider, WebhookKey: key})
	if err != nil {
		return Channel{}, notFound(err)
	}
	return fromRow(r)
}

// List returns a workspace's channels.
func (s *Store) List(ctx context.Context, workspaceID int64) ([]Channel, error) {
	return fromRows(s.q.ChannelList(ctx, workspaceID))
}

// Polling returns every Telegram channel in polling mode, of every workspace.
func (s *Store) Polling(ctx context.Context) ([]Channel, error) {
	return fromRows(s.q.ChannelsPolling(ctx))
}

// Remove deletes a channel.
func (s *Store) Remove(ctx context.Context, workspaceID, id int64, by workspaces.Actor) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, err := s.q.WithTx(tx).ChannelDelete(ctx, dbq.ChannelDeleteParams{WorkspaceID: workspaceID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(pgx.ErrNoRows)
		}
		return s.audit.Record(ctx, tx, workspaceID, by, "delete", "channel", id, nil)
	})
}

// TwilioSecrets decrypts a Twilio channel's credentials, for the sender and webhook checks only.
func (s *Store) TwilioSecrets(c Channel) (TwilioSecrets, error) {
	var sec TwilioSecrets
	return sec, s.secrets(c, &sec)
}

// TelegramSecrets decrypts a Telegram channel's credentials.
func (s *Store) TelegramSecrets(c Channel) (TelegramSecrets, error) {
	var sec TelegramSecrets
	return sec, s.secrets(c, &sec)
}

func (s *Store) secrets(c Channel, dst any) error {
	b, err := s.keys.Decrypt(c.secretsEnc, []byte(aadSecrets))
	if err != nil {
		return fmt.Errorf("channel %d secrets: %w", c.ID, err)
	}
	return json.Unmarshal(b, dst)
}

// TelegramOffset returns where polling a channel continues.
func (s *Store) TelegramOffset(ctx context.Context, channelID int64) (int64, error) {
	n, err := s.q.TelegramOffsetGet(ctx, channelID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// SetTelegramOffset advances a channel's polling offset inside tx, the transaction that stored
// the updates before it; it never moves backwards.
func (s *Store) SetTelegramOffset(ctx context.Context, tx pgx.Tx, channelID, next int64) error {
	return s.q.WithTx(tx).TelegramOffsetSet(ctx, dbq.TelegramOffsetSetParams{ChannelID: channelID, NextOffset: next})
}

func notFound(err error) error {
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return errcode.Wrap(db.ErrNotFound, errcode.NotFound, "no such channel in this workspace")
	}
	return err
}

// ByID returns a channel by id alone, for processes that serve every workspace (pollers).
func (s *Store) ByID(ctx context.Context, id int64) (Channel, error) {
	r, err := s.q.ChannelByID(ctx, id)
	if err != nil {
		return Channel{}, notFound(err)
	}
	return fromRow(r)
}
