package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/sandbox"
	"github.com/waymark-org/waymark/internal/ratelimit"
	"github.com/waymark-org/waymark/messages"
)

// Default rate limits of channel kinds until a workspace configures its own: a Twilio long code
// sends one segment a second; Telegram allows about thirty messages a second per bot.
var defaultRates = map[channels.Kind]float64{channels.KindSMS: 1, channels.KindTelegram: 30}

// channelSet wires the workspace's channels: this is the one place that knows the concrete
// providers. Sandbox instances are kept per workspace so their throttle memory lasts across sends.
type channelSet struct {
	pool   *pgxpool.Pool
	outbox *messages.Outbox

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

func newChannelSet(pool *pgxpool.Pool, outbox *messages.Outbox) *channelSet {
	return &channelSet{pool: pool, outbox: outbox, sandboxes: map[int64]cachedSandbox{}}
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
		return c.sb.WithRecorder(cs.outbox.Recorder(cs.pool, workspaceID, campaignID)), ratelimit.Limit{PerSecond: c.rate}, nil
	}
	return nil, ratelimit.Limit{}, campaigns.ErrNoChannel
}

// rate is the campaigns.RateSource for previews.
func (cs *channelSet) rate(ctx context.Context, workspaceID int64, kind channels.Kind) (float64, error) {
	if kind == channels.KindSandbox {
		c, err := cs.sandbox(ctx, workspaceID)
		return c.rate, err
	}
	return defaultRates[kind], nil
}

// receipt decides the sandbox's receipt for a delivery and records it in the outbox.
func (cs *channelSet) receipt(ctx context.Context, tx pgx.Tx, workspaceID, deliveryID int64, providerID string) (channels.Status, error) {
	c, err := cs.sandbox(ctx, workspaceID)
	if err != nil {
		return "", err
	}
	status := c.sb.Receipt(deliveryID)
	if _, err := cs.outbox.SetStatus(ctx, tx, providerID, status); err != nil {
		return "", err
	}
	return status, nil
}

// channelRates is a RateSource for commands that do not send.
func channelRates(pool *pgxpool.Pool) campaigns.RateSource {
	return newChannelSet(pool, messages.NewOutbox(pool, nil)).rate
}
