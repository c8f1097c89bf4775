package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HOME": "/home/amina"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.DBMaxConns != 40 ||
		c.DataDir != "/home/amina/.local/share/waymark" || c.LogLevel != slog.LevelInfo || c.ShutdownTimeout != 30*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Load(env(map[string]string{"XDG_DATA_HOME": "/data", "WAYMARK_HTTP_ADDR": ":9000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/data/waymark" || c.PublicURL != "http://127.0.0.1:9000" {
		t.Fatalf("derived: %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"WAYMARK_DB_MAX_CONNS":     "lots",
		"WAYMARK_HTTP_ADDR":        "8080",
		"WAYMARK_PUBLIC_URL":       "waymark.example.org",
		"WAYMARK_DATA_DIR":         "relative/dir",
		"WAYMARK_LOG_LEVEL":        "chatty",
		"WAYMARK_LOG_FORMAT":       "xml",
		"WAYMARK_SHUTDOWN_TIMEOUT": "-3s",
	}
	for name, val := range cases {
		_, err := Load(env(map[string]string{"HOME": "/h", name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v does not name the variable", name, val, err)
		}
	}
	// All bad variables are reported at once.
	_, err := Load(env(map[string]string{"HOME": "/h", "WAYMARK_LOG_LEVEL": "x", "WAYMARK_LOG_FORMAT": "y"}))
	if err == nil || !strings.Contains(err.Error(), "WAYMARK_LOG_LEVEL") || !strings.Contains(err.Error(), "WAYMARK_LOG_FORMAT") {
		t.Fatalf("want both variables named: %v", err)
	}
}

func TestSecretsNeverQuoted(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HOME": "/h", "WAYMARK_SECRET_KEY": "k1:c2VjcmV0c2VjcmV0", "WAYMARK_DATABASE_URL": "postgres://u:hunter2@db/x"}))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "config", c)
	if strings.Contains(sb.String(), "hunter2") || strings.Contains(sb.String(), "c2VjcmV0") {
		t.Fatalf("logged config shows a secret: %s", sb.String())
	}
	if !strings.Contains(sb.String(), "secret_key_set=true") {
		t.Fatalf("logged config: %s", sb.String())
	}
}

// TestEveryVariableDocumented keeps deploy/env.example and the README in step with Vars.
func TestEveryVariableDocumented(t *testing.T) {
	t.Parallel()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	example, err := os.ReadFile(filepath.Join(root, "deploy", "env.example"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars() {
		if !strings.Contains(string(example), "# "+v.Name+" (default: "+v.Default+")") {
			t.Errorf("deploy/env.example lacks the line %q", "# "+v.Name+" (default: "+v.Default+")")
		}
		if !strings.Contains(string(readme), "| `"+v.Name+"` | "+v.Default+" |") {
			t.Errorf("README.md lacks the table row for %s with default %s", v.Name, v.Default)
		}
	}
}
