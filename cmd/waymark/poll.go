package main

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/channels/telegram"
	"github.com/waymark-org/waymark/connections"
)

// pollLockKey is the advisory lock class of Telegram pollers: Telegram answers 409 to two
// concurrent getUpdates on one bot, so only one process polls each channel.
const pollLockKey int32 = 0x74676c70 // "tglp"

// pollTimeout is how long one getUpdates waits for an update to arrive.
const pollTimeout = 25 * time.Second

// pollOnce fetches the updates after the channel's stored offset, stores them and advances the
// offset in the same transaction, so a crash at any point either keeps the updates or fetches
// them again: none is ever skipped.
func pollOnce(ctx context.Context, a *app, ch connections.Channel, client *telegram.Client, timeout time.Duration) (int, error) {
	offset, err := a.conns.TelegramOffset(ctx, ch.ID)
	if err != nil {
		return 0, err
	}
	raws, err := client.GetUpdates(ctx, offset, timeout)
	if err != nil || len(raws) == 0 {
		return 0, err
	}
	ws, err := a.workspaces.Get(ctx, ch.WorkspaceID)
	if err != nil {
		return 0, err
	}
	stored := 0
	err = pgx.BeginFunc(ctx, a.campaigns.Pool(), func(tx pgx.Tx) error {
		next := offset
		for _, raw := range raws {
			next = max(next, raw.ID+1)
			in, _, ok, err := telegram.ParseUpdate(raw.Body)
			if err != nil || !ok {
				// Unreadable or of a kind Waymark does not handle: nothing to keep; moving past
				// it is what Telegram's own acknowledgement of a webhook would do.
				continue
			}
			if _, _, err := a.chatbot.Receive(ctx, tx, a.inbox, a.contacts, a.jobs, ws, in); err != nil {
				return err
			}
			stored++
		}
		return a.conns.SetTelegramOffset(ctx, tx, ch.ID, next)
	})
	return stored, err
}

// runPollers keeps one poller running per Telegram channel in polling mode, in whichever process
// holds that channel's advisory lock.
func runPollers(ctx context.Context, e *env, a *app) {
	running := map[int64]context.CancelFunc{}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		list, err := a.conns.Polling(ctx)
		if err != nil && ctx.Err() == nil {
			e.logger.Warn("telegram polling: list channels", "err", err)
		}
		want := map[int64]bool{}
		for _, ch := range list {
			want[ch.ID] = true
			if _, ok := running[ch.ID]; !ok {
				pctx, cancel := context.WithCancel(ctx)
				running[ch.ID] = cancel
				go pollChannel(pctx, e, a, ch.ID)
			}
		}
		for id, cancel := range running {
			if !want[id] {
				cancel()
				delete(running, id)
			}
		}
		select {
		case <-ctx.Done():
			for _, cancel := range running {
				cancel()
			}
			return
		case <-tick.C:
		}
	}
}

// pollChannel polls one channel while this process holds its lock.
func pollChannel(ctx context.Context, e *env, a *app, channelID int64) {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", pollLockKey, int32(channelID)).Scan(&locked); err != nil || !locked {
		return // another process polls this channel
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", pollLockKey, int32(channelID))
	}()
	for ctx.Err() == nil {
		ch, err := a.conns.ByID(ctx, channelID)
		if err != nil || ch.Telegram == nil || ch.Telegram.Mode != "polling" {
			return
		}
		p, err := a.channels.provider(ch)
		if err != nil {
			e.logger.Warn("telegram polling", "channel", channelID, "err", err)
			sleep(ctx, 30*time.Second)
			continue
		}
		if _, err := pollOnce(ctx, a, ch, p.tg, pollTimeout); err != nil && ctx.Err() == nil {
			wait := 5 * time.Second
			var se *channels.SendError
			if errors.As(err, &se) && se.Class == channels.Throttled && se.RetryAfter > 0 {
				wait = se.RetryAfter
			}
			e.logger.Warn("telegram polling", "channel", channelID, "err", err)
			sleep(ctx, wait)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
