// Package dbtest gives tests a real PostgreSQL: WAYMARK_TEST_DATABASE_URL if set, otherwise a
// local server that answers, otherwise a cluster started from the installed binaries. Each test
// gets its own database cloned from a migrated template, and everything made is dropped again.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waymark-org/waymark/internal/pgserver"
	"github.com/waymark-org/waymark/migrations"
)

// EnvURL names the variable that points the tests at a server of the caller's choosing. The role
// in it must be allowed to create databases.
const EnvURL = "WAYMARK_TEST_DATABASE_URL"

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
	ownServer  *pgserver.Server
	ownDir     string

	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Main runs a package's tests and then drops the template and stops any server it started.
// Packages whose tests use the database call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest cleanup:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if templateName != "" {
		errs = append(errs, dropDatabase(ctx, templateName))
	}
	if ownServer != nil {
		errs = append(errs, ownServer.Stop(ctx))
		errs = append(errs, os.RemoveAll(ownDir))
	}
	return errors.Join(errs...)
}

// AdminURL returns a URL on the test server for a role that may create databases.
func AdminURL(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() { serverURL, serverErr = findServer() })
	if serverErr != nil {
		t.Fatalf("no PostgreSQL for tests: %v", serverErr)
	}
	return serverURL
}

func findServer() (string, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u, ok := pgserver.Local(ctx); ok {
		return u, nil
	}
	dir, err := os.MkdirTemp("", "waymark-test-pg-")
	if err != nil {
		return "", err
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	ownServer, ownDir = srv, dir
	return srv.URL("postgres"), nil
}

// WithDatabase returns u with its database name replaced.
func WithDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		panic(EnvURL + " must be a postgres:// URL")
	}
	parsed.Path = "/" + name
	return parsed.String()
}

func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func adminExec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func dropDatabase(ctx context.Context, name string) error {
	return adminExec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, pgx.Identifier{name}.Sanitize()))
}

// EmptyDatabase creates a database with nothing in it, private to t and dropped when t ends, and
// returns its URL. Tests of the migrations themselves start here.
func EmptyDatabase(t testing.TB) string {
	t.Helper()
	AdminURL(t)
	ctx := context.Background()
	name := randomName("waymark_test_")
	if err := adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return WithDatabase(serverURL, name)
}

func ensureTemplate(t testing.TB) string {
	t.Helper()
	AdminURL(t)
	templateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		name := randomName("waymark_tpl_")
		if err := adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			templateErr = fmt.Errorf("create template: %w", err)
			return
		}
		templateName = name
		pool, err := pgxpool.New(ctx, WithDatabase(serverURL, name))
		if err != nil {
			templateErr = err
			return
		}
		defer pool.Close()
		if _, err := migrations.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
			templateErr = fmt.Errorf("migrate template: %w", err)
		}
	})
	if templateErr != nil {
		t.Fatalf("%v", templateErr)
	}
	return templateName
}

// URL creates a migrated database private to t, dropped when t ends, and returns its URL.
func URL(t testing.TB) string {
	t.Helper()
	tpl := ensureTemplate(t)
	ctx := context.Background()
	name := randomName("waymark_test_")
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{tpl}.Sanitize())
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		err = adminExec(ctx, sql)
		var pe *pgconn.PgError
		// 55006: another session is still connected to the template; it goes away quickly.
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return WithDatabase(serverURL, name)
}

// Pool returns a pool on a migrated database private to t. It is closed and the database
// dropped when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t)
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 6
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
