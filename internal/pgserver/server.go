package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures Start and Ensure.
type Options struct {
	// DataDir is the cluster's data directory, created with mode 0700 when missing. Start needs
	// it; Ensure needs it only when no local PostgreSQL answers. As root it may be moved (see the
	// package documentation); Server.DataDir tells where it is.
	DataDir string
	// BinDir holds initdb, pg_ctl and postgres. Empty means the ones FindBinaries would pick (for
	// an existing cluster, of the version that made it).
	BinDir string
	// Database is the database Ensure makes sure exists and returns a URL for. Default "waymark".
	Database string
	// SkipLocal makes Ensure start a private server even when a local one answers, for people
	// who want Waymark kept apart from a PostgreSQL they run for something else.
	SkipLocal bool
	// Logger receives one Info line from Ensure and Debug lines from the rest. Default slog.Default().
	Logger *slog.Logger
}

// superuser is the role initdb creates; it matches what a packaged PostgreSQL has.
const superuser = "postgres"

// maxSocketPath bounds the socket's path: sun_path holds 104 bytes on macOS and the BSDs (108 on
// Linux), one of which is the terminating NUL.
const maxSocketPath = 103

// configName is the file, included from postgresql.conf, that holds the settings this package
// rewrites at every start (the socket directory may change from run to run).
const configName = "waymark.conf"

// clusterLocale is the locale new clusters get when the system has it: byte-order collation that
// still classifies every script's characters, the same on every machine. Tests change it.
var clusterLocale = "C.UTF-8"

var includeLine = []byte("include_if_exists = '" + configName + "'")

// rootClusterBase is where a root process keeps a cluster its server user could not reach at the
// requested place. See the package documentation for why it is here and not under /tmp.
var rootClusterBase = "/var/lib/waymark/postgres"

// Server is a private PostgreSQL cluster in use by this process, started by it or adopted from an
// earlier or concurrent run on the same data directory.
type Server struct {
	dataDir   string
	binDir    string
	socketDir string
	port      int
	logFile   string
	acct      *account
	logger    *slog.Logger
	reused    bool

	mu    sync.Mutex
	users *os.File // shared lock on dataDir while in use; nil once stopped
}

// Start makes sure a private PostgreSQL runs on opts.DataDir and returns it: it creates the
// cluster when the directory holds none, starts the server, or adopts one already running there.
// Call Stop when done.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("pgserver: Options.DataDir is required")
	}
	requested, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	dataDir, acct, err := placeCluster(requested)
	if err != nil {
		return nil, err
	}
	if dataDir != requested {
		logger.Debug("cluster placed where its server user can reach it", "requested", requested, "data_dir", dataDir, "user", acct.name)
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = binDirForCluster(ctx, dataDir); err != nil {
			return nil, err
		}
	}

	s := &Server{
		dataDir: dataDir,
		binDir:  binDir,
		port:    defaultPort,
		logFile: dataDir + ".log",
		acct:    acct,
		logger:  logger,
	}
	if err := s.makeDirs(); err != nil {
		return nil, err
	}

	setup, err := s.lockSetup(ctx)
	if err != nil {
		return nil, err
	}
	defer setup.Close() // releases the setup lock

	users, err := os.Open(dataDir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	// Only a Stop holding the setup lock ever holds this one exclusively, so this does not wait.
	if err := lockShared(ctx, users); err != nil {
		users.Close()
		return nil, err
	}
	if err := s.bringUp(ctx); err != nil {
		users.Close()
		return nil, err
	}
	s.users = users
	return s, nil
}

// placeCluster decides where the cluster lives and whom its server runs as.
func placeCluster(requested string) (string, *account, error) {
	if !isRoot() {
		return requested, nil, nil
	}
	acct, err := serverAccount(requested)
	if err != nil {
		return "", nil, err
	}
	reachErr := acct.canReach(filepath.Dir(requested))
	if reachErr == nil {
		return requested, acct, nil
	}
	if hasCluster(requested) {
		return "", nil, fmt.Errorf("%w, so the PostgreSQL cluster in %s cannot run as that user (PostgreSQL refuses root): move it or run waymark as %s", reachErr, requested, acct.name)
	}
	// Opening root's home (or a 0700 temporary directory) to other users is worse than keeping
	// the cluster elsewhere; the hash keeps each requested directory's data apart and stable.
	sum := sha256.Sum256([]byte(requested))
	dataDir := filepath.Join(rootClusterBase, hex.EncodeToString(sum[:8]))
	if acct, err = serverAccount(dataDir); err != nil {
		return "", nil, err
	}
	if err := acct.canReach(rootClusterBase); err != nil {
		return "", nil, fmt.Errorf("%w, and it cannot reach %s either: run waymark as an ordinary user or set WAYMARK_DATABASE_URL", reachErr, rootClusterBase)
	}
	return dataDir, acct, nil
}

func hasCluster(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	return err == nil
}

// makeDirs creates the data directory, its parent and the log file, owned by the server's user.
func (s *Server) makeDirs() error {
	parentMode := os.FileMode(0o700)
	if s.acct != nil {
		parentMode = 0o711 // the server's user must pass through, not list
	}
	if err := os.MkdirAll(filepath.Dir(s.dataDir), parentMode); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if err := os.Mkdir(s.dataDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pgserver: %w", err)
	}
	if !hasCluster(s.dataDir) {
		if err := s.acct.chown(s.dataDir); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(s.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	f.Close()
	return s.acct.chown(s.logFile)
}

// lockSetup takes the lock that serialises creating, starting and stopping the cluster between
// processes, so two runs never initdb or start the same directory at once.
func (s *Server) lockSetup(ctx context.Context) (*os.File, error) {
	f, err := os.OpenFile(s.dataDir+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if err := lockExclusive(ctx, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// bringUp adopts a running server or creates and starts one. The caller holds the setup lock.
func (s *Server) bringUp(ctx context.Context) error {
	running, err := s.isRunning(ctx)
	if err != nil {
		return err
	}
	if running {
		return s.adopt(ctx)
	}
	if !hasCluster(s.dataDir) {
		if err := s.initdb(ctx); err != nil {
			return err
		}
	}
	if s.socketDir, err = s.chooseSocketDir(); err != nil {
		return err
	}
	if err := s.writeConfig(); err != nil {
		s.removeSocketDir()
		return err
	}
	out, err := s.command(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", s.dataDir, "-l", s.logFile).CombinedOutput()
	if err != nil {
		s.removeSocketDir()
		return fmt.Errorf("pgserver: start PostgreSQL in %s: %w: %s; end of %s: %s",
			s.dataDir, err, lastLines(out, 5), s.logFile, lastLines(readTail(s.logFile), 5))
	}
	s.logger.Debug("started PostgreSQL", "data_dir", s.dataDir, "socket_dir", s.socketDir)
	return nil
}

// isRunning asks pg_ctl whether a live postmaster owns the data directory.
func (s *Server) isRunning(ctx context.Context) (bool, error) {
	pidFile := filepath.Join(s.dataDir, "postmaster.pid")
	raw, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgserver: %w", err)
	}
	// After a crash and a reboot, postmaster.pid may name a pid that now belongs to some other
	// process; PostgreSQL then refuses to start, believing another server is running. We hold
	// the setup lock, so a pid file whose process is plainly not PostgreSQL can go.
	if pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0])); err == nil && notPostgres(pid) {
		s.logger.Debug("removing stale postmaster.pid", "data_dir", s.dataDir, "pid", pid)
		if err := os.Remove(pidFile); err != nil {
			return false, fmt.Errorf("pgserver: remove stale %s: %w", pidFile, err)
		}
		return false, nil
	}
	out, err := s.command(ctx, "pg_ctl", "status", "-D", s.dataDir).CombinedOutput()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exitErr) && (exitErr.ExitCode() == 3 || exitErr.ExitCode() == 4):
		return false, nil // 3: not running (stale pid file), 4: no cluster yet
	default:
		return false, fmt.Errorf("pgserver: pg_ctl status -D %s: %w: %s", s.dataDir, err, lastLines(out, 3))
	}
}

// notPostgres reports whether pid is known to run something other than PostgreSQL. It knows only
// where /proc tells process names (Linux); elsewhere it reports false and pg_ctl decides.
func notPostgres(pid int) bool {
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return false
	}
	name := strings.TrimSpace(string(comm))
	return !strings.HasPrefix(name, "postgres") && !strings.HasPrefix(name, "postmaster")
}

// adopt uses a server already running on the data directory, left by a run that died or shared
// with one still going. Its socket and port are read from postmaster.pid, which the server keeps.
func (s *Server) adopt(ctx context.Context) error {
	raw, err := os.ReadFile(filepath.Join(s.dataDir, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 5 {
		return fmt.Errorf("pgserver: %s is incomplete", filepath.Join(s.dataDir, "postmaster.pid"))
	}
	pid := strings.TrimSpace(lines[0])
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || strings.TrimSpace(lines[4]) == "" {
		return fmt.Errorf("pgserver: a PostgreSQL server (pid %s) runs on %s without a unix socket; stop it with: pg_ctl stop -D %s",
			pid, s.dataDir, s.dataDir)
	}
	s.port, s.socketDir, s.reused = port, strings.TrimSpace(lines[4]), true

	// A server that was mid-recovery when found may take a moment to accept connections.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		err := ping(wait, s.URL("postgres"))
		if err == nil {
			s.logger.Debug("adopted running PostgreSQL", "data_dir", s.dataDir, "pid", pid, "socket_dir", s.socketDir)
			return nil
		}
		select {
		case <-wait.Done():
			return fmt.Errorf("pgserver: process %s holds %s/postmaster.pid but no PostgreSQL answers on %s (%v): stop that server with pg_ctl stop -D %s, or, if pid %s is not PostgreSQL, delete the pid file",
				pid, s.dataDir, s.socketDir, err, s.dataDir, pid)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// initdb creates the cluster: UTF-8, superuser postgres, trust on the local socket only (the
// socket's directory admits only the server's user) and TCP refused should it ever be enabled.
func (s *Server) initdb(ctx context.Context) error {
	base := []string{"-D", s.dataDir, "-U", superuser, "-E", "UTF8", "--auth-local=trust", "--auth-host=reject"}
	out, err := s.command(ctx, "initdb", slices.Concat(base, []string{"--locale=" + clusterLocale})...).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("invalid locale name")) {
		// Older macOS and some minimal images lack C.UTF-8. initdb checks the locale before
		// writing anything, so the directory is still empty for the second try.
		s.logger.Debug("locale unavailable; creating the cluster with --no-locale", "locale", clusterLocale, "data_dir", s.dataDir)
		out, err = s.command(ctx, "initdb", slices.Concat(base, []string{"--no-locale"})...).CombinedOutput()
	}
	if err != nil {
		return fmt.Errorf("pgserver: initdb %s: %w: %s", s.dataDir, err, lastLines(out, 5))
	}
	s.logger.Debug("created PostgreSQL cluster", "data_dir", s.dataDir)
	return nil
}

// chooseSocketDir uses the data directory when the socket's path fits, else a fresh private
// directory under the temporary directory. Either is entered only by the server's user.
func (s *Server) chooseSocketDir() (string, error) {
	if socketDirUsable(s.dataDir) {
		return s.dataDir, nil
	}
	for _, base := range []string{os.TempDir(), "/tmp"} {
		if !socketDirUsable(filepath.Join(base, "wmpg-4294967295")) || s.acct.canReach(base) != nil {
			continue
		}
		dir, err := os.MkdirTemp(base, "wmpg-") // mode 0700, a name nobody could have taken first
		if err != nil {
			continue
		}
		if err := s.acct.chown(dir); err != nil {
			os.Remove(dir)
			return "", err
		}
		return dir, nil
	}
	return "", fmt.Errorf("pgserver: no place for the server's socket: %s and the temporary directory are too long for a unix socket path", s.dataDir)
}

// socketDirUsable reports whether the socket's path fits in sun_path and the directory can be
// named in unix_socket_directories, a comma-separated list, without quoting troubles.
func socketDirUsable(dir string) bool {
	return len(filepath.Join(dir, socketName(defaultPort))) <= maxSocketPath &&
		!strings.ContainsAny(dir, ",'\"\\ \t\r\n")
}

// removeSocketDir deletes a temporary socket directory once the server has left it. os.Remove
// refuses a non-empty directory, so a live server's socket is never pulled away.
func (s *Server) removeSocketDir() {
	if s.socketDir != "" && s.socketDir != s.dataDir {
		_ = os.Remove(s.socketDir)
	}
}

// writeConfig writes the per-start settings and makes postgresql.conf include them. They are
// kept in the cluster rather than passed on the command line so that any later start of the
// directory, by hand with pg_ctl too, stays socket-only.
func (s *Server) writeConfig() error {
	conf := fmt.Sprintf(`# Rewritten by waymark at every start. The server listens on no TCP port, only on a
# unix socket in a directory that only the server's user can enter.
listen_addresses = ''
port = %d
unix_socket_directories = '%s'
unix_socket_permissions = 0700
`, s.port, s.socketDir)
	path := filepath.Join(s.dataDir, configName)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if err := s.acct.chown(path); err != nil {
		return err
	}

	main := filepath.Join(s.dataDir, "postgresql.conf")
	raw, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if bytes.Contains(raw, includeLine) {
		return nil
	}
	f, err := os.OpenFile(main, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Socket-only settings written by waymark at every start.\n%s\n", includeLine)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

// command prepares a PostgreSQL program to run as the server's user.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, name), args...)
	// The caller's working directory (under /root, say) may be closed to the server's user,
	// and initdb and postgres fail when they cannot resolve it.
	cmd.Dir = filepath.Dir(s.dataDir)
	cmd.Env = s.acct.env()
	cmd.SysProcAttr = s.acct.sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// URL returns a pgx connection URL for database on this server, through its unix socket, as the
// superuser postgres. It holds no password: the socket admits only its owner.
func (s *Server) URL(database string) string {
	return endpoint{host: s.socketDir, port: s.port, user: superuser}.url(database)
}

// DataDir returns the directory the cluster lives in, which differs from Options.DataDir when a
// root process had to place it where its server user can reach it.
func (s *Server) DataDir() string { return s.dataDir }

// EnsureDatabase creates database name unless it exists.
func (s *Server) EnsureDatabase(ctx context.Context, name string) error {
	return ensureDatabase(ctx, s.URL("postgres"), name)
}

// Stop releases the server and shuts it down (pg_ctl stop -m fast) when no other process uses it
// any more. That includes a server adopted from a run that died: this process owns the data
// directory, and leaving it running would keep it busy forever. A server another live process
// still uses keeps running; the last one to leave stops it. Stop is safe to call more than once.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := s.users
	if users == nil {
		return nil
	}
	s.users = nil
	defer users.Close()

	setup, err := s.lockSetup(ctx)
	if err != nil {
		return err
	}
	defer setup.Close()

	last, err := tryLockExclusive(users)
	if err != nil {
		return err
	}
	if !last {
		s.logger.Debug("PostgreSQL still in use by another process; leaving it running", "data_dir", s.dataDir)
		return nil
	}
	out, err := s.command(ctx, "pg_ctl", "stop", "-D", s.dataDir, "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		// Someone may have stopped it already; that is the state we want.
		if running, rerr := s.isRunning(ctx); rerr != nil || running {
			return fmt.Errorf("pgserver: stop PostgreSQL in %s: %w: %s", s.dataDir, err, lastLines(out, 3))
		}
	}
	s.removeSocketDir()
	s.logger.Debug("stopped PostgreSQL", "data_dir", s.dataDir)
	return nil
}

// lastLines returns the last n non-empty lines of out joined on one line, for error messages.
func lastLines(out []byte, n int) string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// readTail returns up to the last 4 KiB of a file, or nothing.
func readTail(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const tailSize = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > tailSize {
		_, _ = f.Seek(fi.Size()-tailSize, io.SeekStart)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(f)
	return buf.Bytes()
}
