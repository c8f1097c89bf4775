package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// These tests need what a developer machine or CI image for Waymark has: PostgreSQL server
// binaries, and a PostgreSQL answering on the usual local socket or 127.0.0.1:5432.

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer starts a server and stops it when the test ends, if the test has not already.
func startServer(t *testing.T, ctx context.Context, dataDir string) *Server {
	t.Helper()
	srv, err := Start(ctx, Options{DataDir: dataDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start(%s): %v", dataDir, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

// removeRelocatedCluster deletes, when the test ends, the cluster a root run keeps outside
// dataDir. Register it before starting servers so that it runs after they stop.
func removeRelocatedCluster(t *testing.T, dataDir string) {
	t.Cleanup(func() {
		requested, _ := filepath.Abs(dataDir)
		placed, _, err := placeCluster(requested)
		if err != nil || placed == requested {
			return
		}
		for _, p := range []string{placed, placed + ".log", placed + ".lock"} {
			if err := os.RemoveAll(p); err != nil {
				t.Errorf("remove %s: %v", p, err)
			}
		}
		// Only removes them if now empty, so a real installation's clusters are never touched.
		_ = os.Remove(rootClusterBase)
		_ = os.Remove(filepath.Dir(rootClusterBase))
	})
}

func query[T any](t *testing.T, ctx context.Context, url, sql string) T {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func execSQL(t *testing.T, ctx context.Context, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// assertStopped checks that nothing answers at url any more and the socket file is gone.
func assertStopped(t *testing.T, ctx context.Context, srv *Server, url string) {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := ping(short, url); err == nil {
		t.Errorf("%s still answers after Stop", url)
	}
	socket := filepath.Join(srv.socketDir, socketName(srv.port))
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still exists after Stop (stat: %v)", socket, err)
	}
}

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		e    endpoint
		db   string
		want string
	}{
		{endpoint{host: "/var/run/postgresql", user: "postgres"}, "postgres", "postgres://postgres@/postgres?host=/var/run/postgresql"},
		{endpoint{host: "/tmp/wmpg-1", port: 5432, user: "postgres"}, "waymark", "postgres://postgres@/waymark?host=/tmp/wmpg-1&port=5432"},
		{endpoint{host: "127.0.0.1:5432", user: "ann"}, "waymark", "postgres://ann@127.0.0.1:5432/waymark"},
		{endpoint{host: "/tmp/a b&c", user: "postgres"}, "postgres", "postgres://postgres@/postgres?host=/tmp/a%20b%26c"},
	}
	for _, tt := range tests {
		if got := tt.e.url(tt.db); got != tt.want {
			t.Errorf("%+v.url(%q) = %q, want %q", tt.e, tt.db, got, tt.want)
		}
		if _, err := pgx.ParseConfig(tt.e.url(tt.db)); err != nil {
			t.Errorf("pgx cannot parse %q: %v", tt.e.url(tt.db), err)
		}
	}
	cfg, err := pgx.ParseConfig(endpoint{host: "/tmp/a b&c", user: "postgres"}.url("postgres"))
	if err != nil || cfg.Host != "/tmp/a b&c" {
		t.Errorf("escaped socket directory parses to host %q (err %v), want %q", cfg.Host, err, "/tmp/a b&c")
	}
}

func TestLocalFindsRunningServer(t *testing.T) {
	requireListener(t)
	ctx := testContext(t)
	url, ok := Local(ctx)
	if !ok {
		t.Fatal("Local found no PostgreSQL; this test expects one on /var/run/postgresql, /tmp or 127.0.0.1:5432")
	}
	if got := query[int](t, ctx, url, "SELECT 1"); got != 1 {
		t.Errorf("SELECT 1 through %s = %d", url, got)
	}
	if strings.Contains(url, ":@") || strings.Contains(url, "password") {
		t.Errorf("Local URL %q carries a password", url)
	}
}

func TestLocalNothingAnswers(t *testing.T) {
	// A port that was just free and is closed again: nothing listens on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()

	// A socket file with no server behind it must not count either.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, socketName(defaultPort)), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	setLocalCandidates(t, []string{dir, filepath.Join(dir, "missing")}, closedAddr)

	if url, ok := Local(testContext(t)); ok {
		t.Errorf("Local() = %q, true with nothing listening", url)
	}
}

func setLocalCandidates(t *testing.T, socketDirs []string, tcpAddr string) {
	oldDirs, oldAddr := localSocketDirs, localTCPAddr
	localSocketDirs, localTCPAddr = socketDirs, tcpAddr
	t.Cleanup(func() { localSocketDirs, localTCPAddr = oldDirs, oldAddr })
}

func setSearchPatterns(t *testing.T, patterns ...string) {
	old := binarySearchPatterns
	binarySearchPatterns = patterns
	t.Cleanup(func() { binarySearchPatterns = old })
}

func TestFindBinariesInstalled(t *testing.T) {
	dir, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries: %v", err)
	}
	for _, name := range binaryNames {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%s is a symlink; FindBinaries should return the directory it resolves to", filepath.Join(dir, name))
		}
	}
	if _, err := majorVersion(testContext(t), dir); err != nil {
		t.Errorf("majorVersion(%s): %v", dir, err)
	}
}

func TestFindBinariesResolvesPathSymlinks(t *testing.T) {
	realDir, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries: %v", err)
	}
	onPath := t.TempDir()
	for _, name := range binaryNames {
		if err := os.Symlink(filepath.Join(realDir, name), filepath.Join(onPath, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", onPath)
	setSearchPatterns(t)

	got, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries with symlinks on PATH: %v", err)
	}
	if got != realDir {
		t.Errorf("FindBinaries() = %s, want the symlinks' target %s", got, realDir)
	}
}

// writeFakeBinaries makes dir hold executables with the given names.
func writeFakeBinaries(t *testing.T, dir string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindBinariesPrefersNewestComplete(t *testing.T) {
	root := t.TempDir()
	writeFakeBinaries(t, filepath.Join(root, "9.6", "bin"), binaryNames...)
	writeFakeBinaries(t, filepath.Join(root, "15", "bin"), binaryNames...)
	writeFakeBinaries(t, filepath.Join(root, "17", "bin"), "pg_ctl", "psql") // client only
	t.Setenv("PATH", t.TempDir())
	setSearchPatterns(t, filepath.Join(root, "*", "bin"))

	got, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries: %v", err)
	}
	if want := filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("FindBinaries() = %s, want %s (newest with all of %v)", got, want, binaryNames)
	}
}

func TestFindBinariesNone(t *testing.T) {
	root := t.TempDir()
	writeFakeBinaries(t, filepath.Join(root, "16", "bin"), "initdb") // incomplete: not enough
	t.Setenv("PATH", t.TempDir())
	setSearchPatterns(t, filepath.Join(root, "*", "bin"), filepath.Join(root, "missing-*", "bin"))

	dir, err := FindBinaries()
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("FindBinaries() = %q, %v; want ErrNoBinaries", dir, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("message has more than one line: %q", msg)
	}
	for _, want := range []string{"apt-get install postgresql", "dnf install postgresql-server", "brew install postgresql", "WAYMARK_DATABASE_URL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
}

func TestMajorFromVersionLine(t *testing.T) {
	tests := map[string]string{
		"pg_ctl (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n": "15",
		"pg_ctl (PostgreSQL) 17.0\n":                           "17",
		"pg_ctl (PostgreSQL) 9.6.24\n":                         "9.6",
		"pg_ctl (PostgreSQL) 18beta1\n":                        "18",
	}
	for line, want := range tests {
		if got, err := majorFromVersionLine(line); err != nil || got != want {
			t.Errorf("majorFromVersionLine(%q) = %q, %v; want %q", line, got, err, want)
		}
	}
	if got, err := majorFromVersionLine("something else"); err == nil {
		t.Errorf("majorFromVersionLine(garbage) = %q, want an error", got)
	}
}

func TestSocketDirUsable(t *testing.T) {
	if !socketDirUsable("/tmp/wmpg-4294967295") {
		t.Error("a short temporary directory is not usable")
	}
	if socketDirUsable("/" + strings.Repeat("d", maxSocketPath)) {
		t.Error("a directory too long for sun_path is usable")
	}
	if socketDirUsable("/tmp/a,b") {
		t.Error("a directory with a comma is usable, but unix_socket_directories would split it")
	}
}

func TestStartStopRestartKeepsData(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dataDir := filepath.Join(t.TempDir(), "postgres")
	removeRelocatedCluster(t, dataDir)

	srv := startServer(t, ctx, dataDir)
	if srv.reused {
		t.Error("a fresh data directory reports a reused server")
	}
	if err := srv.EnsureDatabase(ctx, "wm_test"); err != nil {
		t.Fatalf("EnsureDatabase: %v", err)
	}
	if err := srv.EnsureDatabase(ctx, "wm_test"); err != nil {
		t.Fatalf("EnsureDatabase a second time: %v", err)
	}
	url := srv.URL("wm_test")
	if got := query[string](t, ctx, url, "SELECT current_database()"); got != "wm_test" {
		t.Errorf("current_database() = %q", got)
	}
	if got := query[string](t, ctx, url, "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want '' (socket only)", got)
	}
	if got := query[string](t, ctx, url, "SHOW server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", got)
	}
	if got := query[string](t, ctx, url, "SELECT datcollate FROM pg_database WHERE datname = 'wm_test'"); got != clusterLocale {
		t.Errorf("collation = %q, want %q", got, clusterLocale)
	}
	execSQL(t, ctx, url, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')")

	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertStopped(t, ctx, srv, url)

	// As after a crash and a reboot: postmaster.pid names a live process of the server's user
	// that is not PostgreSQL (PostgreSQL itself sees through other users' processes).
	impostor := exec.Command("sleep", "60")
	impostor.SysProcAttr = srv.acct.sysProcAttr()
	if err := impostor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { impostor.Process.Kill(); impostor.Wait() })
	stale := fmt.Sprintf("%d\n%s\n0\n5432\n%s\n\n", impostor.Process.Pid, srv.DataDir(), srv.socketDir)
	pidFile := filepath.Join(srv.DataDir(), "postmaster.pid")
	if err := os.WriteFile(pidFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.acct.chown(pidFile); err != nil {
		t.Fatal(err)
	}

	again := startServer(t, ctx, dataDir)
	if again.reused {
		t.Error("Start adopted a stale postmaster.pid as a running server")
	}
	if again.DataDir() != srv.DataDir() {
		t.Errorf("second start uses %s, first used %s", again.DataDir(), srv.DataDir())
	}
	if got := query[string](t, ctx, again.URL("wm_test"), "SELECT note FROM kept"); got != "still here" {
		t.Errorf("after restart, kept holds %q", got)
	}
	if err := again.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	assertStopped(t, ctx, again, again.URL("wm_test"))
}

func TestSharedServerStopsWithLastUser(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dataDir := filepath.Join(t.TempDir(), "postgres")
	removeRelocatedCluster(t, dataDir)

	first := startServer(t, ctx, dataDir)
	second := startServer(t, ctx, dataDir)
	if !second.reused {
		t.Error("second Start on a running data directory did not reuse the server")
	}
	if first.URL("postgres") != second.URL("postgres") {
		t.Errorf("shared server has two URLs: %s and %s", first.URL("postgres"), second.URL("postgres"))
	}
	if err := second.Stop(ctx); err != nil {
		t.Fatalf("second.Stop: %v", err)
	}
	if got := query[int](t, ctx, first.URL("postgres"), "SELECT 1"); got != 1 {
		t.Error("server stopped while the first user still held it")
	}

	// The first user dies without stopping: its lock goes with it, the server stays up.
	first.mu.Lock()
	first.users.Close()
	first.users = nil
	first.mu.Unlock()

	adopter := startServer(t, ctx, dataDir)
	if !adopter.reused {
		t.Error("Start after a crashed run did not adopt the running server")
	}
	if err := adopter.Stop(ctx); err != nil {
		t.Fatalf("adopter.Stop: %v", err)
	}
	assertStopped(t, ctx, adopter, adopter.URL("postgres"))
}

func TestStartLongDataDirUsesTemporarySocketDir(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	// Made by hand rather than with t.TempDir so that, as root, the server's user can reach it
	// and the cluster stays at its long path instead of moving to a short one.
	base, err := os.MkdirTemp("", "wmpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(base, strings.Repeat("long-directory-name-", 5), "postgres")
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		t.Fatal(err)
	}

	srv := startServer(t, ctx, dataDir)
	if srv.DataDir() != dataDir {
		t.Fatalf("cluster placed in %s, want %s", srv.DataDir(), dataDir)
	}
	if srv.socketDir == dataDir || len(filepath.Join(srv.socketDir, socketName(srv.port))) > maxSocketPath {
		t.Errorf("socket directory %s: want a short one outside the data directory", srv.socketDir)
	}
	url := srv.URL("postgres")
	if got := query[int](t, ctx, url, "SELECT 1"); got != 1 {
		t.Errorf("SELECT 1 = %d", got)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertStopped(t, ctx, srv, url)
	if _, err := os.Stat(srv.socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary socket directory %s left behind (stat: %v)", srv.socketDir, err)
	}
}

func TestEnsureUsesLocalServer(t *testing.T) {
	requireListener(t)
	ctx := testContext(t)
	local, ok := Local(ctx)
	if !ok {
		t.Fatal("Local found no PostgreSQL; this test expects one")
	}
	database := fmt.Sprintf("waymark_pgserver_test_%d", os.Getpid())
	t.Cleanup(func() {
		execSQL(t, context.Background(), local, "DROP DATABASE IF EXISTS "+pgx.Identifier{database}.Sanitize())
	})

	var logs bytes.Buffer
	url, stop, err := Ensure(ctx, Options{Database: database, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if got := query[string](t, ctx, url, "SELECT current_database()"); got != database {
		t.Errorf("Ensure's URL %s reaches database %q, want %q", url, got, database)
	}
	if err := stop(ctx); err != nil {
		t.Errorf("stop for a local server: %v", err)
	}
	if got := query[int](t, ctx, url, "SELECT 1"); got != 1 {
		t.Error("stop for a local server affected it")
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "local PostgreSQL") {
		t.Errorf("want one log line about the local PostgreSQL, got %d: %s", n, logs.String())
	}
}

func TestEnsureStartsPrivateServerWhenNoneAnswers(t *testing.T) {
	setLocalCandidates(t, []string{t.TempDir()}, "")
	ctx := testContext(t)
	dataDir := filepath.Join(t.TempDir(), "postgres")
	removeRelocatedCluster(t, dataDir)

	var logs bytes.Buffer
	url, stop, err := Ensure(ctx, Options{DataDir: dataDir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = stop(context.Background())
		}
	})
	if got := query[string](t, ctx, url, "SELECT current_database()"); got != DefaultDatabase {
		t.Errorf("Ensure's URL %s reaches database %q, want %q", url, got, DefaultDatabase)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "private PostgreSQL") {
		t.Errorf("want one log line about the private PostgreSQL, got %d: %s", n, logs.String())
	}
	if err := stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := ping(short, url); err == nil {
		t.Errorf("%s still answers after stop", url)
	}
}

func TestStartWithoutLocaleFallsBackToNoLocale(t *testing.T) {
	old := clusterLocale
	clusterLocale = "xx_NOWHERE.UTF-8"
	t.Cleanup(func() { clusterLocale = old })
	ctx := testContext(t)
	dataDir := filepath.Join(t.TempDir(), "postgres")
	removeRelocatedCluster(t, dataDir)

	srv := startServer(t, ctx, dataDir)
	url := srv.URL("postgres")
	if got := query[string](t, ctx, url, "SELECT datcollate FROM pg_database WHERE datname = 'postgres'"); got != "C" {
		t.Errorf("collation = %q, want C (--no-locale)", got)
	}
	if got := query[string](t, ctx, url, "SHOW server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", got)
	}
}

// requireListener skips a test about an already running server when nothing listens where one
// would: the suite must also pass on machines without a system PostgreSQL.
func requireListener(t *testing.T) {
	t.Helper()
	for _, sock := range []string{"/var/run/postgresql/.s.PGSQL.5432", "/tmp/.s.PGSQL.5432"} {
		if _, err := os.Stat(sock); err == nil {
			return
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second); err == nil {
		c.Close()
		return
	}
	t.Skip("no PostgreSQL listens on this machine")
}
