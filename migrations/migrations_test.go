package migrations_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/internal/dbtest"
	"github.com/waymark-org/waymark/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func openEmpty(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbtest.EmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestFilesAreNumberedInOrder(t *testing.T) {
	t.Parallel()
	all := migrations.All()
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range all {
		if m.Version != i+1 || m.SQL == "" {
			t.Fatalf("migration %d: %+v", i, m.Version)
		}
	}
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := openEmpty(t)
	if err := migrations.Check(ctx, pool); !errors.Is(err, migrations.ErrNotMigrated) {
		t.Fatalf("Check on an empty database: %v", err)
	}
	first, err := migrations.Migrate(ctx, pool, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.RiverApplied) == 0 || len(first.WaymarkApplied) != len(migrations.All()) {
		t.Fatalf("first run applied %+v", first)
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Fatalf("Check after migrating: %v", err)
	}
	second, err := migrations.Migrate(ctx, pool, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(second.RiverApplied)+len(second.WaymarkApplied) != 0 {
		t.Fatalf("second run applied %+v", second)
	}
}

func TestConcurrentMigrateIsSafe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyDatabase(t)
	const n = 4
	var wg sync.WaitGroup
	results := make([]*migrations.Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate pools behave like separate processes: separate sessions and locks.
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			results[i], errs[i] = migrations.Migrate(ctx, pool, slog.New(slog.DiscardHandler))
		}()
	}
	wg.Wait()
	applied := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		applied += len(results[i].WaymarkApplied)
	}
	if applied != len(migrations.All()) {
		t.Fatalf("the runs applied %d Waymark migrations between them, want each once (%d)", applied, len(migrations.All()))
	}
}

func TestCheckRefusesNewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := openEmpty(t)
	if _, err := migrations.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO waymark_migrations (version, name) VALUES (9999, 'from_the_future')"); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Check(ctx, pool); !errors.Is(err, migrations.ErrTooNew) {
		t.Fatalf("Check: %v, want ErrTooNew", err)
	}
	if _, err := migrations.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); !errors.Is(err, migrations.ErrTooNew) {
		t.Fatalf("Migrate: %v, want ErrTooNew", err)
	}
}
