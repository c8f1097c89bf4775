package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/ratelimit"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func take(t *testing.T, db ratelimit.DBTX, key string, lim ratelimit.Limit, n float64) time.Duration {
	t.Helper()
	wait, err := ratelimit.Take(context.Background(), db, key, lim, n)
	if err != nil {
		t.Fatal(err)
	}
	return wait
}

func TestFreshBucketAllowsBurstThenRefuses(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	// A slow rate keeps the expected waits long next to the time the statements themselves take.
	lim := ratelimit.Limit{PerSecond: 2, Burst: 5}
	for i := range 5 {
		if w := take(t, pool, "sms:+1", lim, 1); w != 0 {
			t.Fatalf("take %d of a fresh bucket of 5: wait %v, want 0", i+1, w)
		}
	}
	// The bucket is empty, give or take the moments the five takes lasted, so one token is
	// just under half a second away.
	w := take(t, pool, "sms:+1", lim, 1)
	if w < 300*time.Millisecond || w > 500*time.Millisecond {
		t.Fatalf("wait after the burst = %v, want just under 500ms", w)
	}
	// Two tokens are another half second further.
	if w2 := take(t, pool, "sms:+1", lim, 2); w2 < w+300*time.Millisecond || w2 > time.Second {
		t.Fatalf("wait for 2 tokens = %v, want about %v + 500ms", w2, w)
	}
	// Other keys are other buckets.
	if w := take(t, pool, "sms:+2", lim, 5); w != 0 {
		t.Fatalf("another key: wait %v, want 0", w)
	}
}

func TestRefusalTakesNothing(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	lim := ratelimit.Limit{PerSecond: 2, Burst: 2}
	take(t, pool, "k", lim, 2)
	first := take(t, pool, "k", lim, 1)
	// Refusals in a row must not push the wait out: each one leaves the balance as it was.
	var last time.Duration
	for range 10 {
		last = take(t, pool, "k", lim, 1)
		if last == 0 {
			return // refilled meanwhile on a slow machine; nothing more to check
		}
	}
	if last > first {
		t.Fatalf("wait grew from %v to %v over refusals: a refusal took tokens", first, last)
	}
}

func TestRefills(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	lim := ratelimit.Limit{PerSecond: 50, Burst: 3}
	take(t, pool, "tg:chat", lim, 3)
	w := take(t, pool, "tg:chat", lim, 3)
	if w == 0 {
		t.Fatal("an emptied bucket gave 3 more tokens at once")
	}
	time.Sleep(w)
	if w := take(t, pool, "tg:chat", lim, 3); w != 0 {
		t.Fatalf("after sleeping the wait Take gave: wait %v, want 0", w)
	}
}

func TestRefillIsCappedAtBurst(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	lim := ratelimit.Limit{PerSecond: 10, Burst: 2}
	take(t, pool, "idle", lim, 2)
	time.Sleep(500 * time.Millisecond) // 5 tokens' worth, of which the bucket keeps 2
	if w := take(t, pool, "idle", lim, 2); w != 0 {
		t.Fatalf("after idling: wait %v for a full bucket, want 0", w)
	}
	if w := take(t, pool, "idle", lim, 1); w == 0 {
		t.Fatal("the bucket held more than its burst after idling")
	}
}

func TestDefaultBurst(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	// Burst 0 is one second's worth: 4 tokens at 4/s.
	lim := ratelimit.Limit{PerSecond: 4}
	if w := take(t, pool, "a", lim, 4); w != 0 {
		t.Fatalf("default burst of 4/s: wait %v for 4 tokens, want 0", w)
	}
	if w := take(t, pool, "a", lim, 1); w == 0 {
		t.Fatal("default burst of 4/s gave a fifth token")
	}
	// Below 1/s the burst is still one token, or nothing could ever be taken.
	slow := ratelimit.Limit{PerSecond: 0.1}
	if w := take(t, pool, "b", slow, 1); w != 0 {
		t.Fatalf("0.1/s: wait %v for the first token, want 0", w)
	}
	if w := take(t, pool, "b", slow, 1); w < 9*time.Second || w > 10*time.Second {
		t.Fatalf("0.1/s: wait %v for the second token, want about 10s", w)
	}
}

func TestLargerThanBurstIsNeverStarved(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	lim := ratelimit.Limit{PerSecond: 10, Burst: 2}
	// A fresh bucket is full, so even 6 tokens go at once, leaving a debt of 4.
	if w := take(t, pool, "big", lim, 6); w != 0 {
		t.Fatalf("6 tokens from a full bucket of 2: wait %v, want 0", w)
	}
	// The debt is paid before anything else goes: 4 tokens owed plus 1 wanted at 10/s.
	if w := take(t, pool, "big", lim, 1); w < 300*time.Millisecond || w > 500*time.Millisecond {
		t.Fatalf("wait after a debt of 4 at 10/s = %v, want just under 500ms", w)
	}
	// A large take waits only until the bucket is full again (the debt of 4 and then 2 tokens),
	// never for 6 to pile up in a bucket that holds 2.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w := take(t, pool, "big", lim, 6)
		if w == 0 {
			break
		}
		if w > 600*time.Millisecond {
			t.Fatalf("6 tokens at 10/s with burst 2: wait %v, want at most the 600ms to fill the bucket after the debt", w)
		}
		if time.Now().After(deadline) {
			t.Fatal("a take larger than the burst never succeeded")
		}
		time.Sleep(w)
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// None of these reach the database, so no pool is needed.
	for _, c := range []struct {
		lim ratelimit.Limit
		n   float64
	}{
		{ratelimit.Limit{PerSecond: 1}, 0},
		{ratelimit.Limit{PerSecond: 1}, -1},
		{ratelimit.Limit{PerSecond: -1}, 1},
		{ratelimit.Limit{PerSecond: 1, Burst: -1}, 1},
	} {
		if _, err := ratelimit.Take(ctx, nil, "k", c.lim, c.n); err == nil {
			t.Errorf("Take(%+v, %v): no error", c.lim, c.n)
		}
	}
	if w, err := ratelimit.Take(ctx, nil, "k", ratelimit.Limit{}, 1000); w != 0 || err != nil {
		t.Errorf("no limit: wait %v, err %v; want 0, nil", w, err)
	}
}

// TestConcurrentTakersNeverOverdraw runs takers as separate processes would: each with its own
// pool, all on one key, for about a second.
func TestConcurrentTakersNeverOverdraw(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	const (
		takers = 8
		rate   = 50.0
		burst  = 10.0
		run    = time.Second
	)
	lim := ratelimit.Limit{PerSecond: rate, Burst: burst}
	pools := make([]*pgxpool.Pool, takers)
	for i := range pools {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 2
		if pools[i], err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		defer pools[i].Close()
		if err := pools[i].Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var taken, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, takers)
	start := time.Now()
	for _, pool := range pools {
		wg.Go(func() {
			for time.Since(start) < run {
				w, err := ratelimit.Take(context.Background(), pool, "shared", lim, 1)
				if err != nil {
					errs <- err
					return
				}
				if w == 0 {
					taken.Add(1)
					continue
				}
				refused.Add(1)
				// Hammer: ask again after a fraction of the wait, as several impatient
				// processes would.
				time.Sleep(w / 4)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The database's clock and this one run at the same speed here, and every take happened
	// between start and the end of elapsed, so this bounds what the bucket may have given.
	limit := burst + rate*elapsed.Seconds() + 1
	t.Logf("%d takers, %v: %d taken, %d refused, at most %.1f allowed", takers, elapsed, taken.Load(), refused.Load(), limit)
	if float64(taken.Load()) > limit {
		t.Fatalf("taken %d tokens in %v, more than burst %v + rate %v/s × elapsed (+1)", taken.Load(), elapsed, burst, rate)
	}
	if taken.Load() < int64(burst) {
		t.Fatalf("taken only %d tokens, less than the burst of a fresh bucket", taken.Load())
	}
}

func BenchmarkTake(b *testing.B) {
	pool := dbtest.Pool(b)
	ctx := context.Background()
	// A rate no benchmark reaches, so every call takes and each measures one round trip with
	// the row lock.
	lim := ratelimit.Limit{PerSecond: 1e9, Burst: 1e9}
	b.Run("one-key", func(b *testing.B) {
		for b.Loop() {
			if _, err := ratelimit.Take(ctx, pool, "bench", lim, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Many workers on one bucket queue on its row lock; this is the contended case.
	b.Run("one-key-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ratelimit.Take(ctx, pool, "bench-shared", lim, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("key-per-worker-parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			key := fmt.Sprintf("bench-%d", next.Add(1))
			for pb.Next() {
				if _, err := ratelimit.Take(ctx, pool, key, lim, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
