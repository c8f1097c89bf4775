package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// defaultPort is PostgreSQL's own default; socket names carry it, so a private server can use it
// without colliding with a system server that listens on TCP 5432.
const defaultPort = 5432

// localSocketDirs and localTCPAddr are where Local looks, in order. Tests point them elsewhere.
var (
	localSocketDirs = []string{"/var/run/postgresql", "/tmp"}
	localTCPAddr    = "127.0.0.1:5432"
)

// Local probing stays short so that a machine without PostgreSQL falls through to Start quickly.
const (
	localBudget     = 2 * time.Second
	localAttemptCap = time.Second
)

// endpoint is one way to reach a server: a unix socket directory or a TCP address, and a role.
type endpoint struct {
	host string // socket directory (starts with "/") or host:port
	port int    // for socket directories; 0 means the default
	user string
}

// url returns a pgx connection URL for database on e. It never holds a password: every
// endpoint this package makes is reached through trust or peer authentication.
func (e endpoint) url(database string) string {
	u := url.URL{Scheme: "postgres", User: url.User(e.user), Path: "/" + database}
	if !strings.HasPrefix(e.host, "/") {
		u.Host = e.host
		return u.String()
	}
	q := "host=" + escapeQueryValue(e.host)
	if e.port != 0 {
		q += "&port=" + strconv.Itoa(e.port)
	}
	u.RawQuery = q
	return u.String()
}

// Local returns the URL of the database "postgres" on a PostgreSQL that already answers on this
// machine: first the usual unix sockets, then 127.0.0.1:5432, as the role postgres and then as
// the current OS user. Only a successful SELECT 1 counts, and the whole search takes at most about
// two seconds.
func Local(ctx context.Context) (url string, ok bool) {
	e, ok := findLocal(ctx)
	if !ok {
		return "", false
	}
	return e.url("postgres"), true
}

func findLocal(ctx context.Context) (endpoint, bool) {
	ctx, cancel := context.WithTimeout(ctx, localBudget)
	defer cancel()

	users := []string{"postgres"}
	if u, err := user.Current(); err == nil && u.Username != "" && u.Username != "postgres" {
		users = append(users, u.Username)
	}

	var hosts []string
	for _, dir := range localSocketDirs {
		// A missing socket file means nothing listens there; skipping it saves a dial.
		if _, err := os.Stat(filepath.Join(dir, socketName(defaultPort))); err == nil {
			hosts = append(hosts, dir)
		}
	}
	if localTCPAddr != "" {
		hosts = append(hosts, localTCPAddr)
	}

	for _, host := range hosts {
		for _, name := range users {
			if ctx.Err() != nil {
				return endpoint{}, false
			}
			e := endpoint{host: host, user: name}
			attempt, cancelAttempt := context.WithTimeout(ctx, localAttemptCap)
			err := ping(attempt, e.url("postgres"))
			cancelAttempt()
			if err == nil {
				return e, true
			}
			if isDialError(err) {
				// Nobody listens on this host; other roles would fail the same way.
				break
			}
		}
	}
	return endpoint{}, false
}

// isDialError reports whether err means no server could be reached at all, as opposed to a
// server that answered and refused the role.
func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr)
}

// escapeQueryValue percent-encodes all but unreserved characters and slashes. libpq and pgx
// decode query values by percent-decoding only (a '+' stays a '+'), so url.QueryEscape would
// turn spaces into pluses they keep; slashes stay readable, which they may in a query.
func escapeQueryValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func socketName(port int) string {
	return ".s.PGSQL." + strconv.Itoa(port)
}

// ping connects to rawURL and runs SELECT 1.
func ping(ctx context.Context, rawURL string) error {
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// ensureDatabase creates database name through adminURL unless it exists. CREATE DATABASE takes
// no parameters and cannot run in a transaction, so this administrative statement is built here
// rather than compiled by sqlc with the application's queries.
func ensureDatabase(ctx context.Context, adminURL, name string) error {
	if name == "" {
		return errors.New("pgserver: database name is empty")
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pgserver: connect to create database %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("pgserver: look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		// duplicate_database: another process created it between our check and our CREATE.
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgserver: create database %q: %w", name, err)
	}
	return nil
}
