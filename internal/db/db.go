// Package db opens Waymark's PostgreSQL connection pool, sized for River, and maps the driver's
// "no rows" to the project's not-found error so domain packages never see pgx.ErrNoRows.
package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns is the pool size when the URL names none. pgxpool's own default,
// max(4, cores), is too small: River holds one connection for LISTEN, each producer polls, and each
// running job may hold a transaction while the HTTP API serves requests beside them.
const DefaultMaxConns = 40

// Open connects to url and checks the server answers. maxConns, when positive, overrides both
// the default and any pool_max_conns in the URL.
func Open(ctx context.Context, url string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL, password included; say only what is wrong.
		return nil, errors.New("WAYMARK_DATABASE_URL is not a valid PostgreSQL URL or DSN")
	}
	switch {
	case maxConns > 0:
		cfg.MaxConns = int32(maxConns)
	case !hasPoolMaxConns(url):
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", Describe(url), err)
	}
	return pool, nil
}

func hasPoolMaxConns(url string) bool {
	return strings.Contains(url, "pool_max_conns")
}

// Describe names a database for logs without its password: user@host:port/database.
func Describe(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "(unparsable URL)"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// ErrNotFound is the single not-found error; domain packages wrap it with what was missing.
var ErrNotFound = errors.New("not found")

// NotFound turns pgx.ErrNoRows into ErrNotFound and passes other errors through.
func NotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
