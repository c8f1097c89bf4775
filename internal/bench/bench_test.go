package bench

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waymark-org/waymark/campaigns"
	"github.com/waymark-org/waymark/channels"
	"github.com/waymark-org/waymark/internal/db"
	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/internal/errcode"
	"github.com/waymark-org/waymark/internal/pii"
	"github.com/waymark-org/waymark/worker"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func testKeys(t testing.TB) *pii.Keyring {
	t.Helper()
	entry, err := pii.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pii.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// count runs a count(*) query on the test's private database.
func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// requireNothingLeft fails unless the database holds no trace of a run: the database is private
// to the test, so every row and job there is the bench's.
func requireNothingLeft(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, table := range []string{"workspaces", "contacts", "contact_identities", "consent_events", "campaigns",
		"campaign_runs", "deliveries", "sandbox_messages", "audit_log", "river_job"} {
		if n := count(t, pool, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
}

func TestRunSmall(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	res, err := Run(context.Background(), pool, testKeys(t), Options{Recipients: 500, Workers: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recipients != 500 {
		t.Errorf("recipients %d, want 500", res.Recipients)
	}
	for name, v := range map[string]float64{"seed_seconds": res.SeedSeconds, "fanout_seconds": res.FanoutSeconds,
		"fanout_per_second": res.FanoutPerSecond, "dispatch_seconds": res.DispatchSeconds,
		"dispatch_per_second": res.DispatchPerSecond, "river_insert_per_second": res.RiverInsertPerSecond,
		"river_work_per_second": res.RiverWorkPerSecond, "dispatch_vs_river": res.DispatchVsRiver} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive number", name, v)
		}
	}
	// Seconds are reported to the millisecond, so a rate recomputed from them may be off by
	// 0.5 ms in the duration's share.
	near := func(name string, got, want, secs float64) {
		if math.Abs(got-want) > (0.01+0.0006/secs)*want+0.1 {
			t.Errorf("%s = %v, want about %v", name, got, want)
		}
	}
	near("fanout_per_second", res.FanoutPerSecond, 500/res.FanoutSeconds, res.FanoutSeconds)
	near("dispatch_per_second", res.DispatchPerSecond, 500/res.DispatchSeconds, res.DispatchSeconds)
	near("dispatch_vs_river", res.DispatchVsRiver, res.DispatchPerSecond/res.RiverWorkPerSecond, 1e9)
	if !strings.Contains(res.Machine, runtime.GOARCH) || !strings.Contains(res.Machine, "PostgreSQL 1") {
		t.Errorf("machine %q names no architecture or PostgreSQL version", res.Machine)
	}

	// The JSON is a contract of `waymark bench --json`.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{"dispatch_per_second", "dispatch_seconds", "dispatch_vs_river", "fanout_per_second", "fanout_seconds",
		"machine", "recipients", "river_insert_per_second", "river_work_per_second", "seed_seconds"}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		t.Errorf("JSON fields %v, want %v", got, want)
	}

	requireNothingLeft(t, pool)
}

// cancelOn is a slog handler that cancels a context a little after a given message is logged, to
// interrupt Run during a known step.
type cancelOn struct {
	slog.Handler
	msg    string
	after  time.Duration
	cancel context.CancelFunc
}

func (h cancelOn) Enabled(context.Context, slog.Level) bool { return true }

func (h cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		time.AfterFunc(h.after, h.cancel)
	}
	return nil
}

func (h cancelOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOn) WithGroup(string) slog.Handler      { return h }

func TestRunCleansUpWhenInterrupted(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupted during dispatch, a couple of seconds' work on the test pool, so that deliveries,
	// outbox rows and send and receipt jobs are left in every state. On a much slower or faster
	// machine the interruption lands elsewhere, which must be cleaned up all the same.
	log := slog.New(cancelOn{msg: "bench: fanned out", after: 700 * time.Millisecond, cancel: cancel})
	_, err := Run(ctx, pool, testKeys(t), Options{Recipients: 3000, Logger: log})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want the cancellation", err)
	}
	requireNothingLeft(t, pool)
}

func TestRunRefusesWhileJobsWait(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ins, err := worker.NewInserter(pool)
	if err != nil {
		t.Fatal(err)
	}
	// Another workspace's send job, waiting in the queue the bench would work.
	other := campaigns.SendArgs{RunID: 987, Channel: channels.KindSandbox, DeliveryIDs: []int64{1}}
	if _, err := ins.Insert(context.Background(), other, &river.InsertOpts{Queue: campaigns.SendQueue(channels.KindSandbox)}); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), pool, testKeys(t), Options{Recipients: 10})
	if errcode.CodeOf(err) != errcode.Precondition {
		t.Fatalf("Run returned %v, want a precondition error", err)
	}
	if n := count(t, pool, "SELECT count(*) FROM workspaces"); n != 0 {
		t.Errorf("a refused run created %d workspaces", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM river_job WHERE kind = 'campaign_send' AND state = 'available'"); n != 1 {
		t.Errorf("the other workspace's job is gone or changed: %d available", n)
	}
}

func TestIdleCheckIgnoresMaintenanceAndLaterJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	ins, err := worker.NewInserter(pool)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{pool: pool, inserter: ins}
	// Left behind by a stopped worker, or due long after a run would end: no reason to refuse.
	if _, err := ins.Insert(ctx, campaigns.ProgressArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ins.Insert(ctx, worker.AuditPruneArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ins.Insert(ctx, campaigns.StartArgs{CampaignID: 1}, &river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := r.checkQueuesIdle(ctx); err != nil {
		t.Fatalf("refused with only maintenance and tomorrow's jobs waiting: %v", err)
	}
	// A campaign start due in ten minutes would run during the benchmark.
	if _, err := ins.Insert(ctx, campaigns.StartArgs{CampaignID: 2}, &river.InsertOpts{ScheduledAt: time.Now().Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := r.checkQueuesIdle(ctx); errcode.CodeOf(err) != errcode.Precondition {
		t.Fatalf("a start due in ten minutes gave %v, want a precondition error", err)
	}
}

func TestWorkspaceNamesSortByTime(t *testing.T) {
	a := workspaceName(time.Date(2026, 11, 28, 9, 59, 59, 999_999_000, time.UTC))
	b := workspaceName(time.Date(2026, 11, 28, 10, 0, 0, 0, time.FixedZone("EAT", 3*3600)))
	if !strings.HasPrefix(a, "bench-") || len(a) > 100 || !(a > b) {
		// b is 07:00 UTC, so it sorts first.
		t.Fatalf("names %q and %q", a, b)
	}
}

// BenchmarkFanout measures fan-out alone: each iteration starts a new campaign's run over the
// same seeded contacts and writes its deliveries and send jobs. Rows accumulate across
// iterations, as they do in a database that has run campaigns before.
func BenchmarkFanout(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Pool(b)
	ins, err := worker.NewInserter(pool)
	if err != nil {
		b.Fatal(err)
	}
	jobs := &countingInserter{JobInserter: ins}
	const recipients = 20_000
	r := &run{pool: pool, keys: testKeys(b), opts: Options{Recipients: recipients}, log: slog.New(slog.DiscardHandler),
		inserter: ins, jobs: jobs}
	r.campaigns = campaigns.NewStore(pool, r.keys, jobs)
	if err := r.seed(ctx); err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		id, err := r.createCampaign(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := fanOut(ctx, pool, r.campaigns, jobs, id, r.log)
		if err != nil {
			b.Fatal(err)
		}
		if res.deliveries != recipients {
			b.Fatalf("fan-out wrote %d deliveries, want %d", res.deliveries, recipients)
		}
		elapsed += res.elapsed
	}
	b.ReportMetric(float64(recipients*b.N)/elapsed.Seconds(), "deliveries/s")
}

// TestRunLarge is the measurement behind docs/benchmarks.md: a million recipients on the test
// server, with the pool sized as the binary sizes it. It runs only when WAYMARK_BENCH_LARGE=1;
// WAYMARK_BENCH_RECIPIENTS, WAYMARK_BENCH_WORKERS and WAYMARK_BENCH_MAX_CONNS change its size,
// concurrency and pool. The import itself gathers statistics on the seeded contacts.
func TestRunLarge(t *testing.T) {
	if os.Getenv("WAYMARK_BENCH_LARGE") != "1" {
		t.Skip("set WAYMARK_BENCH_LARGE=1 to run the large benchmark")
	}
	opts := Options{Recipients: 1_000_000, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	maxConns := 0
	for name, dst := range map[string]*int{"WAYMARK_BENCH_RECIPIENTS": &opts.Recipients, "WAYMARK_BENCH_WORKERS": &opts.Workers,
		"WAYMARK_BENCH_MAX_CONNS": &maxConns} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q is not a positive number", name, v)
			}
			*dst = n
		}
	}
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), maxConns)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	res, err := Run(ctx, pool, testKeys(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("result:\n%s", out)
	requireNothingLeft(t, pool)
}
