package telegram

import (
	"sync"
	"time"
)

// limiter spaces sends out so that Telegram rarely needs to answer 429: a global interval
// between any two sends, and a per-chat interval between two sends to one chat. It is this
// process's share only; the delivery engine's own rate limits hold across processes, and a 429
// that still comes back is classified Throttled like any other.
//
// Sends reserve a slot and wait for it, so a burst is smoothed rather than refused; a send whose
// slot is further off than maxWait reserves nothing and is told to come back later.
type limiter struct {
	global  time.Duration // least time between any two sends; 0 for none
	perChat time.Duration // least time between two sends to one chat; 0 for none
	maxWait time.Duration

	mu    sync.Mutex
	next  time.Time           // the earliest slot for any send
	chats map[int64]time.Time // the earliest slot per chat
}

// maxChats bounds the per-chat memory; past it, chats whose slot has passed are forgotten, which
// loses nothing since their next send may go at once anyway.
const maxChats = 10_000

func newLimiter(rate float64, perChat, maxWait time.Duration) *limiter {
	l := &limiter{chats: map[int64]time.Time{}, maxWait: maxWait}
	switch {
	case rate == 0:
		l.global = time.Second / DefaultGlobalRate
	case rate > 0:
		l.global = time.Duration(float64(time.Second) / rate)
	}
	switch {
	case perChat == 0:
		l.perChat = DefaultPerChatInterval
	case perChat > 0:
		l.perChat = perChat
	}
	if l.maxWait == 0 {
		l.maxWait = DefaultMaxWait
	}
	return l
}

// reserve finds the first slot at or after now that both limits allow for chat. If it is within
// maxWait it is taken and the wait until it returned with ok; otherwise nothing is taken and the
// wait is returned as the time to come back after.
func (l *limiter) reserve(chat int64, now time.Time) (wait time.Duration, ok bool) {
	interval := l.perChat
	if chat < 0 && l.perChat > 0 && interval < GroupInterval {
		interval = GroupInterval
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	slot := now
	if l.global > 0 && l.next.After(slot) {
		slot = l.next
	}
	if t, ok := l.chats[chat]; interval > 0 && ok && t.After(slot) {
		slot = t
	}
	wait = slot.Sub(now)
	if wait > l.maxWait {
		return wait, false
	}
	if l.global > 0 {
		l.next = slot.Add(l.global)
	}
	if interval > 0 {
		if len(l.chats) >= maxChats {
			for id, t := range l.chats {
				if !t.After(now) {
					delete(l.chats, id)
				}
			}
		}
		l.chats[chat] = slot.Add(interval)
	}
	return wait, true
}
