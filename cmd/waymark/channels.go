package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/channels/telegram"
	"github.com/waymark-org/waymark/channels/twilio"
	"github.com/waymark-org/waymark/chatbot"
	"github.com/waymark-org/waymark/connections"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/messages"
	"github.com/waymark-org/waymark/web"
)

// Default rate limits of channel kinds until a workspace configures its own: a Twilio long code
// sends one segment a second; Telegram allows about thirty messages a second per bot.
var defaultRates = map[channels.Kind]float64{channels.KindSMS: 1, channels.KindTelegram: 30}

// channelSet wires the workspace's channels: this is the one place that knows the concrete
// providers. Sandbox instances are kept per workspace so their throttle memory lasts across sends.
type channelSet struct {
	pool      *pgxpool.Pool
	outbox    *messages.Outbox
	conns     *connections.Store
	publicURL string
	logger    *slog.Logger
	provs     providerCache

	mu        sync.Mutex
	sandboxes map[int64]cachedSandbox
}

type cachedSandbox struct {
	sb     *sandbox.Sandbox
	rate   float64
	loaded time.Time
}

// settingsTTL is how long sandbox settings are cached; changes take effect within it.
const settingsTTL = 2 * time.Second

func newChannelSet(pool *pgxpool.Pool, outbox *messages.Outbox, conns *connections.Store, publicURL string, logger *slog.Logger) *channelSet {
	return &channelSet{pool: pool, outbox: outbox, conns: conns, publicURL: strings.TrimSuffix(publicURL, "/"), logger: logger,
		sandboxes: map[int64]cachedSandbox{}, provs: providerCache{m: map[int64]cachedProvider{}}}
}

func (cs *channelSet) sandbox(ctx context.Context, workspaceID int64) (cachedSandbox, error) {
	cs.mu.Lock()
	c, ok := cs.sandboxes[workspaceID]
	cs.mu.Unlock()
	if ok && time.Since(c.loaded) < settingsTTL {
		return c, nil
	}
	st, err := cs.outbox.SandboxSettings(ctx, workspaceID)
	if err != nil {
		return cachedSandbox{}, err
	}
	set := sandbox.Settings{FailShare: st.FailShare, ThrottleShare: st.ThrottleShare, UndeliveredShare: st.UndeliveredShare}
	if ok && c.sb.Settings() == set {
		c.rate, c.loaded = st.RatePerSecond, time.Now()
	} else {
		c = cachedSandbox{sb: sandbox.New(nil, set), rate: st.RatePerSecond, loaded: time.Now()}
	}
	cs.mu.Lock()
	cs.sandboxes[workspaceID] = c
	cs.mu.Unlock()
	return c, nil
}

// senderFor returns the sender of a workspace's channel kind with its rate limit.
func (cs *channelSet) senderFor(ctx context.Context, workspaceID int64, campaignID *int64, kind channels.Kind) (channels.Sender, ratelimit.Limit, error) {
	switch kind {
	case channels.KindSandbox:
		c, err := cs.sandbox(ctx, workspaceID)
		if err != nil {
			return nil, ratelimit.Limit{}, err
		}
		if campaignID != nil {
			// A campaign's send job writes its messages with its results (campaigns.TxCommitter).
			return c.sb.WithRecorder(cs.outbox.BatchRecorder(workspaceID, campaignID)), ratelimit.Limit{PerSecond: c.rate}, nil
		}
		return c.sb.WithRecorder(cs.outbox.Recorder(cs.pool, workspaceID, nil)), ratelimit.Limit{PerSecond: c.rate}, nil
	}
	p, _, err := cs.configured(ctx, workspaceID, kind)
	return p.sender, p.limit, err
}

// rate is the campaigns.RateSource for previews.
func (cs *channelSet) rate(ctx context.Context, workspaceID int64, kind channels.Kind) (float64, error) {
	if kind == channels.KindSandbox {
		c, err := cs.sandbox(ctx, workspaceID)
		return c.rate, err
	}
	p, _, err := cs.configured(ctx, workspaceID, kind)
	if errors.Is(err, campaigns.ErrNoChannel) {
		return defaultRates[kind], nil
	}
	return p.limit.PerSecond, err
}

// receipts returns how a workspace's sandbox decides delivery receipts.
func (cs *channelSet) receipts(ctx context.Context, workspaceID int64) (func(int64) channels.Status, error) {
	c, err := cs.sandbox(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return c.sb.Receipt, nil
}

// providerCache keeps one client per configured channel, rebuilt when the channel changes, so
// HTTP connections and Telegram's per-chat spacing last across sends.
type providerCache struct {
	mu sync.Mutex
	m  map[int64]cachedProvider
}

type cachedProvider struct {
	updated time.Time
	sender  channels.Sender
	limit   ratelimit.Limit
	tg      *telegram.Client
}

// provider returns the sender of a configured channel with its rate limit.
func (cs *channelSet) provider(ch connections.Channel) (cachedProvider, error) {
	cs.provs.mu.Lock()
	p, ok := cs.provs.m[ch.ID]
	cs.provs.mu.Unlock()
	if ok && p.updated.Equal(ch.UpdatedAt) {
		return p, nil
	}
	p = cachedProvider{updated: ch.UpdatedAt}
	switch ch.Provider {
	case connections.ProviderTwilio:
		sec, err := cs.conns.TwilioSecrets(ch)
		if err != nil {
			return p, err
		}
		key := ch.WebhookKey
		s, err := twilio.New(twilio.Config{AccountSID: ch.Twilio.AccountSID, AuthToken: sec.AuthToken,
			APIKeySID: sec.APIKeySID, APIKeySecret: sec.APIKeySecret, From: ch.Twilio.From,
			MessagingServiceSID: ch.Twilio.MessagingServiceSID, BaseURL: ch.Twilio.APIBaseURL,
			StatusCallback: func(deliveryID int64) string {
				if deliveryID == 0 {
					return ""
				}
				return fmt.Sprintf("%s/hooks/twilio/%s/status?d=%d", cs.publicURL, key, deliveryID)
			}})
		if err != nil {
			return p, err
		}
		p.sender, p.limit = s, ratelimit.Limit{PerSecond: ch.Twilio.RatePerSecond}
	case connections.ProviderTelegram:
		sec, err := cs.conns.TelegramSecrets(ch)
		if err != nil {
			return p, err
		}
		// The global rate is held across processes by the shared bucket; the client spaces
		// messages to one chat.
		c, err := telegram.New(telegram.Config{Token: sec.BotToken, WebhookSecret: sec.WebhookSecret,
			ServerURL: ch.Telegram.APIBaseURL, GlobalRate: -1, Logger: cs.logger,
			PerChatInterval: time.Duration(float64(time.Second) / ch.Telegram.PerChatPerSecond)})
		if err != nil {
			return p, err
		}
		p.sender, p.tg, p.limit = c, c, ratelimit.Limit{PerSecond: ch.Telegram.RatePerSecond}
	default:
		return p, fmt.Errorf("channel %d: unknown provider %q", ch.ID, ch.Provider)
	}
	cs.provs.mu.Lock()
	cs.provs.m[ch.ID] = p
	cs.provs.mu.Unlock()
	return p, nil
}

// configured returns the sender of a workspace's provider channel of a kind.
func (cs *channelSet) configured(ctx context.Context, workspaceID int64, kind channels.Kind) (cachedProvider, connections.Channel, error) {
	ch, err := cs.conns.ByKind(ctx, workspaceID, kind)
	if errcode.CodeOf(err) == errcode.NotFound {
		return cachedProvider{}, ch, campaigns.ErrNoChannel
	}
	if err != nil {
		return cachedProvider{}, ch, err
	}
	p, err := cs.provider(ch)
	return p, ch, err
}

// register tells the provider about a channel that was added or changed: a Telegram bot in
// webhook mode gets its webhook URL and secret token; one in polling mode has its webhook
// removed (Telegram refuses getUpdates while one is set).
func (cs *channelSet) register(ctx context.Context, ch connections.Channel) error {
	if ch.Provider != connections.ProviderTelegram {
		return nil
	}
	p, err := cs.provider(ch)
	if err != nil {
		return err
	}
	if ch.Telegram.Mode == "polling" {
		if err := p.tg.DeleteWebhook(ctx); err != nil {
			return errcode.Wrap(err, errcode.Unavailable, "Telegram refused to remove the bot's webhook: %v", err)
		}
		return nil
	}
	u := web.WebhookURLs(cs.publicURL, ch)["updates"]
	if !strings.HasPrefix(u, "https://") {
		return errcode.Field("telegram.mode", "Telegram calls webhooks over HTTPS only: set WAYMARK_PUBLIC_URL to your https address, or use polling mode")
	}
	if err := p.tg.SetWebhook(ctx, u); err != nil {
		return errcode.Wrap(err, errcode.Unavailable, "Telegram refused the webhook: %v", err)
	}
	return nil
}

// testSend sends one message over a configured channel.
func (cs *channelSet) testSend(ctx context.Context, ch connections.Channel, to, text string) (channels.Result, error) {
	p, err := cs.provider(ch)
	if err != nil {
		return channels.Result{}, err
	}
	res, err := p.sender.Send(ctx, channels.Message{To: to, Text: text, Segments: channels.CountSegments(text).Segments})
	if err != nil {
		se := channels.Classify(err)
		return res, errcode.Wrap(err, errcode.Unavailable, "the provider refused the test message: %s", se.Error())
	}
	return res, nil
}

// webhooks are the provider parsers the HTTP layer uses.
func (cs *channelSet) webhooks() web.Webhooks {
	return web.Webhooks{
		TwilioValidate: func(authToken string, r *http.Request) (url.Values, bool) {
			return twilio.ValidateRequest(authToken, twilio.WebhookURL(cs.publicURL, r), r)
		},
		TwilioInbound: twilio.ParseInbound,
		TwilioStatus:  twilio.ParseStatus,
		TelegramCheck: telegram.CheckSecret,
		TelegramParse: telegram.ParseUpdate,
	}
}

// Reply sends a chatbot answer on a workspace's channel of a kind.
func (cs *channelSet) Reply(ctx context.Context, workspaceID int64, kind channels.Kind, to, text string) (channels.Result, error) {
	s, _, err := cs.senderFor(ctx, workspaceID, nil, kind)
	if err != nil {
		return channels.Result{}, err
	}
	return s.Send(ctx, channels.Message{To: to, Text: text, Segments: channels.CountSegments(text).Segments})
}

// Picker sends a choice of buttons where the channel has them (Telegram), else the text alone.
func (cs *channelSet) Picker(ctx context.Context, workspaceID int64, kind channels.Kind, to, text string, options [][]chatbot.Option) (channels.Result, error) {
	if kind != channels.KindTelegram {
		return cs.Reply(ctx, workspaceID, kind, to, text)
	}
	p, _, err := cs.configured(ctx, workspaceID, kind)
	if err != nil {
		return channels.Result{}, err
	}
	rows := make([][]telegram.Button, len(options))
	for i, row := range options {
		for _, o := range row {
			rows[i] = append(rows[i], telegram.Button{Text: o.Text, Data: o.Data})
		}
	}
	return p.tg.SendKeyboard(ctx, to, text, rows)
}

// AnswerButton answers a Telegram callback query, so the pressed button stops showing progress;
// other channels have no buttons to answer.
func (cs *channelSet) AnswerButton(ctx context.Context, workspaceID int64, kind channels.Kind, callbackQueryID string) error {
	if kind != channels.KindTelegram || callbackQueryID == "" {
		return nil
	}
	p, _, err := cs.configured(ctx, workspaceID, kind)
	if err != nil {
		return err
	}
	return p.tg.AnswerCallbackQuery(ctx, callbackQueryID)
}

// confirmsStop says whether a workspace's channel answers STOP itself: a Twilio number does by
// default (its standard opt-out handling), so a second confirmation would only cost a message.
func (cs *channelSet) confirmsStop(ctx context.Context, workspaceID int64, kind channels.Kind) bool {
	if kind != channels.KindSMS {
		return false
	}
	ch, err := cs.conns.ByKind(ctx, workspaceID, kind)
	return err == nil && ch.Twilio != nil && ch.Twilio.HandlesStop
}
