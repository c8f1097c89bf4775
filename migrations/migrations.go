// Package migrations owns Waymark's database schema: forward-only, numbered SQL files embedded in
// the binary, applied after River's own migrations under an advisory lock so that several
// processes starting at once are safe.
//
// The runner's few SQL statements live here rather than in sqlc query files because they manage
// the schema that sqlc itself reads.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// ErrNotMigrated says the database lacks migrations this binary needs. Its message tells the
// operator what to run.
var ErrNotMigrated = errors.New("the database is not migrated: run `waymark migrate`")

// ErrTooNew says the database holds migrations this binary does not know, which happens when an
// older binary starts against a database a newer one migrated.
var ErrTooNew = errors.New("the database was migrated by a newer Waymark: upgrade this binary")

// lockKey is the advisory lock that serialises migration runs across processes ("waymark" in ASCII).
const lockKey int64 = 0x7761796d61726b

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// All returns Waymark's migrations in order. It panics on a misnamed file because that is a
// build mistake, caught by the package tests.
func All() []Migration {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err)
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			panic(fmt.Sprintf("migrations: file %q is not named NNNN_name.sql", e.Name()))
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(files, e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			panic(fmt.Sprintf("migrations: expected version %d, found %d (%s)", i+1, m.Version, m.Name))
		}
	}
	return out
}

// Result says what a run applied.
type Result struct {
	RiverApplied   []int `json:"river_applied"`
	WaymarkApplied []int `json:"waymark_applied"`
}

// Migrate applies River's migrations and then Waymark's, holding a session advisory lock so that
// a second process waits and then finds nothing left to do. Running it again changes nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (*Result, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return nil, fmt.Errorf("migrate: take lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even when ctx was cancelled.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey)
	}()

	res := &Result{}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: quiet(logger)})
	if err != nil {
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	rr, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	for _, v := range rr.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}
	if len(res.RiverApplied) > 0 {
		logger.Info("applied River migrations", "versions", res.RiverApplied)
	}

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS waymark_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: create version table: %w", err)
	}
	applied, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	all := All()
	if err := checkKnown(applied, all); err != nil {
		return nil, err
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO waymark_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("migrate: %04d_%s: %w", m.Version, m.Name, err)
		}
		logger.Info("applied migration", "version", m.Version, "name", m.Name)
		res.WaymarkApplied = append(res.WaymarkApplied, m.Version)
	}
	return res, nil
}

// Check returns nil when River's and Waymark's migrations are all applied, ErrNotMigrated when
// some are missing and ErrTooNew when the database is ahead of this binary.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: quiet(nil)})
	if err != nil {
		return err
	}
	vr, err := rm.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check river migrations: %w", err)
	}
	if !vr.OK {
		return ErrNotMigrated
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('waymark_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if !exists {
		return ErrNotMigrated
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	applied, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return err
	}
	all := All()
	if err := checkKnown(applied, all); err != nil {
		return err
	}
	for _, m := range all {
		if !applied[m.Version] {
			return ErrNotMigrated
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM waymark_migrations")
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	out := make(map[int]bool, len(versions))
	for _, v := range versions {
		out[int(v)] = true
	}
	return out, nil
}

func checkKnown(applied map[int]bool, all []Migration) error {
	for v := range applied {
		if v > len(all) {
			return fmt.Errorf("%w (database at version %d, this binary knows %d)", ErrTooNew, v, len(all))
		}
	}
	return nil
}

// quiet keeps River's migrator from logging each step at info level; Migrate logs a summary.
func quiet(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(warnOnly{logger.Handler()}).With("component", "rivermigrate")
}

// warnOnly passes on warnings and errors only.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }
