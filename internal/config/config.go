// Package config reads Waymark's one typed configuration from WAYMARK_* environment variables,
// applies documented defaults and validates it at start with errors that name the variable.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole process configuration. There is no global copy: main reads it once and
// hands the parts on.
type Config struct {
	// DatabaseURL is the PostgreSQL URL or DSN; empty means zero-setup (a local server, or one
	// started from the installed binaries).
	DatabaseURL string
	// LocalPostgres is "auto" (use a local server that answers) or "never" (always a private one).
	LocalPostgres string
	// DBMaxConns caps the connection pool.
	DBMaxConns int
	// HTTPAddr is where `serve` listens.
	HTTPAddr string
	// PublicURL is the address providers call; webhook signatures are checked against it.
	PublicURL string
	// DataDir holds the key file and, in zero-setup mode, the PostgreSQL cluster.
	DataDir string
	// SecretKey holds the keys that encrypt personal data. Never logged.
	SecretKey string
	// Workspace names the workspace CLI commands act on.
	Workspace string
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// LogFormat is text or json.
	LogFormat string
	// SendWorkers is how many send jobs a process works at once per channel kind.
	SendWorkers int
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration
	// RescueAfter is when a job left running by a dead process runs again.
	RescueAfter time.Duration
}

// Var documents one environment variable.
type Var struct {
	Name    string
	Default string // as written in the docs
	Doc     string
	Secret  bool
	set     func(c *Config, v string) error
}

// Vars lists every variable Waymark reads, in the order the docs show them.
func Vars() []Var {
	return []Var{
		{Name: "WAYMARK_DATABASE_URL", Default: "(zero-setup)", Secret: true,
			Doc: "PostgreSQL URL or DSN. Unset: use a local server that answers, else start one from the installed PostgreSQL binaries under WAYMARK_DATA_DIR.",
			set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{Name: "WAYMARK_LOCAL_POSTGRES", Default: "auto",
			Doc: "Zero-setup only: auto uses a local PostgreSQL that answers; never always starts a private cluster under WAYMARK_DATA_DIR.",
			set: func(c *Config, v string) error {
				if v != "auto" && v != "never" {
					return fmt.Errorf("want auto or never")
				}
				c.LocalPostgres = v
				return nil
			}},
		{Name: "WAYMARK_DB_MAX_CONNS", Default: "40",
			Doc: "Largest number of database connections per process (River, workers and HTTP share them).",
			set: func(c *Config, v string) error { return positiveInt(&c.DBMaxConns, v, 2, 10000) }},
		{Name: "WAYMARK_HTTP_ADDR", Default: "127.0.0.1:8080",
			Doc: "Address `waymark serve` listens on (host:port).",
			set: func(c *Config, v string) error {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("want host:port, such as 127.0.0.1:8080 or :8080")
				}
				c.HTTPAddr = v
				return nil
			}},
		{Name: "WAYMARK_PUBLIC_URL", Default: "http://WAYMARK_HTTP_ADDR",
			Doc: "Base URL that providers (Twilio, Telegram) call; webhook signatures are checked against it. Set it to your HTTPS address in production.",
			set: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
					return fmt.Errorf("want an absolute http or https URL without query, such as https://waymark.example.org")
				}
				c.PublicURL = strings.TrimSuffix(v, "/")
				return nil
			}},
		{Name: "WAYMARK_DATA_DIR", Default: "$XDG_DATA_HOME/waymark or ~/.local/share/waymark",
			Doc: "Folder for the key file and, in zero-setup mode, the PostgreSQL cluster.",
			set: func(c *Config, v string) error {
				if !filepath.IsAbs(v) {
					return fmt.Errorf("want an absolute path")
				}
				c.DataDir = filepath.Clean(v)
				return nil
			}},
		{Name: "WAYMARK_SECRET_KEY", Default: "(key file in WAYMARK_DATA_DIR)", Secret: true,
			Doc: "Keys that encrypt personal data: comma-separated ID:BASE64 entries, newest last. Unset: the key file that `waymark keys generate` writes.",
			set: func(c *Config, v string) error { c.SecretKey = v; return nil }},
		{Name: "WAYMARK_WORKSPACE", Default: "(the only workspace)",
			Doc: "Workspace that CLI commands act on, by name; --workspace overrides it.",
			set: func(c *Config, v string) error { c.Workspace = v; return nil }},
		{Name: "WAYMARK_SEND_WORKERS", Default: "20",
			Doc: "Send jobs a process works at once per channel kind (each job carries up to 50 messages).",
			set: func(c *Config, v string) error { return positiveInt(&c.SendWorkers, v, 1, 1000) }},
		{Name: "WAYMARK_LOG_LEVEL", Default: "info",
			Doc: "debug, info, warn or error.",
			set: func(c *Config, v string) error {
				return c.LogLevel.UnmarshalText([]byte(v))
			}},
		{Name: "WAYMARK_LOG_FORMAT", Default: "text",
			Doc: "text or json (one JSON object per line, for log collectors).",
			set: func(c *Config, v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("want text or json")
				}
				c.LogFormat = v
				return nil
			}},
		{Name: "WAYMARK_SHUTDOWN_TIMEOUT", Default: "30s",
			Doc: "How long a graceful stop waits for requests and running jobs before cancelling them.",
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return fmt.Errorf("want a positive duration such as 30s")
				}
				c.ShutdownTimeout = d
				return nil
			}},
		{Name: "WAYMARK_RESCUE_AFTER", Default: "10m",
			Doc: "How long a job stays claimed by a worker process that died (kill -9, power loss) before another process runs it again.",
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < time.Second {
					return fmt.Errorf("want a duration of at least 1s, such as 10m")
				}
				c.RescueAfter = d
				return nil
			}},
	}
}

func positiveInt(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("want a whole number from %d to %d", lo, hi)
	}
	*dst = n
	return nil
}

// Load reads the configuration through getenv (os.Getenv in production). Every invalid variable
// is reported, each error naming it; secret values are never quoted.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{
		LocalPostgres:   "auto",
		DBMaxConns:      40,
		SendWorkers:     20,
		HTTPAddr:        "127.0.0.1:8080",
		LogLevel:        slog.LevelInfo,
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,
		RescueAfter:     10 * time.Minute,
	}
	var errs []error
	for _, v := range Vars() {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			continue
		}
		if err := v.set(c, val); err != nil {
			if v.Secret {
				errs = append(errs, fmt.Errorf("%s: %v", v.Name, err))
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: %v", v.Name, val, err))
			}
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
		if strings.HasPrefix(c.HTTPAddr, ":") {
			c.PublicURL = "http://127.0.0.1" + c.HTTPAddr
		}
	}
	if c.DataDir == "" {
		dir, err := defaultDataDir(getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("WAYMARK_DATA_DIR: %v; set it to an absolute path", err))
		}
		c.DataDir = dir
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func defaultDataDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "waymark"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("no home directory to put the default data folder in")
		}
		home = h
	}
	return filepath.Join(home, ".local", "share", "waymark"), nil
}

// LogValue keeps secrets out of logs when the whole config is logged.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("database_url_set", c.DatabaseURL != ""),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("public_url", c.PublicURL),
		slog.String("data_dir", c.DataDir),
		slog.Bool("secret_key_set", c.SecretKey != ""),
		slog.String("log_level", c.LogLevel.String()),
	)
}

// NewLogger builds the process logger from the configuration.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
