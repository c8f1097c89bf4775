// Package ratelimit owns the send budgets that hold across every worker process: token buckets
// kept in PostgreSQL (table rate_buckets), one per rate-limited thing such as a channel, a sender
// number or a Telegram chat. River has no rate limiting of its own and MaxWorkers only bounds one
// process, so a budget that must hold for the whole install has to live in the database.
//
// A caller that is refused gets the time until its tokens will be there and snoozes its job that
// long; nothing is taken on a refusal, so a snoozed job asks again from scratch.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/waymark-org/waymark/internal/ratelimit/internal/dbq"
)

// DBTX is what Take runs on: a *pgxpool.Pool or a pgx.Tx.
//
// Take locks the bucket's row until the end of the transaction it runs in. Inside a transaction
// that then calls a provider, every other sender on the same bucket waits for that call; give
// Take the pool unless the tokens must come back when the transaction rolls back.
type DBTX = dbq.DBTX

// Limit is a sustained rate and a burst.
type Limit struct {
	// PerSecond is the sustained rate in tokens per second; 0 means no limit.
	PerSecond float64
	// Burst is how many tokens a full bucket holds; 0 means max(1, PerSecond), one second's worth.
	Burst float64
}

// burst returns the bucket's capacity.
func (l Limit) burst() float64 {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, l.PerSecond)
}

// Unlimited reports whether lim imposes no limit at all.
func (l Limit) Unlimited() bool { return l.PerSecond == 0 }

// Take tries to take n tokens (an SMS's segments, or 1 for a message) from the bucket named key,
// refilled first at lim.PerSecond for the time since it was last used, up to lim.Burst. The
// refill, the check and the take are one SQL statement, so takers in any number of processes
// never overdraw, and the time is the database's, so machines with skewed clocks agree.
//
// If the bucket holds enough, the tokens are taken and wait is 0. Otherwise nothing is taken and
// wait is how long until enough will be there; the caller snoozes that long and asks again.
//
// An n above the burst is allowed once the bucket is full and leaves it in debt, which later
// takers wait out: a long message waits no longer than a burst-sized one would, and the
// sustained rate still holds. A bucket never used before is full.
//
// All takers of one key should pass the same Limit; a bucket is only a key and a balance.
func Take(ctx context.Context, db DBTX, key string, lim Limit, n float64) (wait time.Duration, err error) {
	if !(n > 0) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("ratelimit: take %v tokens from %q: want a positive number", n, key)
	}
	if lim.Unlimited() {
		return 0, nil
	}
	if err := lim.check(); err != nil {
		return 0, fmt.Errorf("ratelimit: bucket %q: %w", key, err)
	}
	row, err := dbq.New(db).BucketTake(ctx, dbq.BucketTakeParams{
		Key: key, Burst: lim.burst(), N: n, PerSecond: lim.PerSecond,
	})
	if err != nil {
		return 0, fmt.Errorf("ratelimit: bucket %q: %w", key, err)
	}
	if row.Taken {
		return 0, nil
	}
	// Round up so that a caller sleeping exactly wait finds the tokens there, and never return 0
	// for a refusal, which would read as "taken".
	wait = time.Duration(math.Ceil(row.WaitSeconds * float64(time.Second)))
	return max(wait, time.Microsecond), nil
}

func (l Limit) check() error {
	if !(l.PerSecond > 0) || math.IsInf(l.PerSecond, 0) {
		return errors.New("PerSecond must be a positive number, or 0 for no limit")
	}
	if l.Burst < 0 || math.IsNaN(l.Burst) || math.IsInf(l.Burst, 0) {
		return errors.New("Burst must be a positive number, or 0 for one second's worth")
	}
	return nil
}
