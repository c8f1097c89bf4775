//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// account is the unprivileged user a root process runs PostgreSQL as. A nil *account means the
// current user, which is what every non-root run uses.
type account struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	home   string
}

func isRoot() bool { return os.Geteuid() == 0 }

func accountFromUser(u *user.User) (*account, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: user %s has uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: user %s has gid %q: %w", u.Username, u.Gid, err)
	}
	a := &account{name: u.Username, uid: uint32(uid), gid: uint32(gid), home: u.HomeDir}
	// Supplementary groups matter (Debian's postgres reads TLS keys through ssl-cert), and
	// setting them explicitly also drops root's own groups from the child.
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				a.groups = append(a.groups, uint32(g))
			}
		}
	}
	return a, nil
}

// serverAccount chooses whom a root process runs PostgreSQL as: the owner of the cluster when
// one exists in dataDir (its files must keep their owner), else the postgres system user that
// PostgreSQL packages create, else nobody.
func serverAccount(dataDir string) (*account, error) {
	if fi, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		uid := fi.Sys().(*syscall.Stat_t).Uid
		if uid == 0 {
			return nil, fmt.Errorf("pgserver: the cluster in %s is owned by root, and PostgreSQL refuses to run as root", dataDir)
		}
		u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
		if err != nil {
			return nil, fmt.Errorf("pgserver: the cluster in %s is owned by uid %d, which has no user: %w", dataDir, uid, err)
		}
		return accountFromUser(u)
	}
	for _, name := range []string{"postgres", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return accountFromUser(u)
		}
	}
	return nil, errors.New("pgserver: PostgreSQL refuses to run as root and neither the postgres nor the nobody user exists: run waymark as an ordinary user or set WAYMARK_DATABASE_URL")
}

// canReach returns nil when a can search dir and all its ancestors, that is, open paths below
// dir. Directories that do not exist yet are skipped: this package creates them searchable.
// Permission bits are checked the way the kernel does (owner, then group, then others); ACLs are
// not, so a rare ACL-only denial shows up later as an error from initdb or pg_ctl.
func (a *account) canReach(dir string) error {
	if a == nil {
		return nil
	}
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			st := fi.Sys().(*syscall.Stat_t)
			perm := fi.Mode().Perm()
			var ok bool
			switch {
			case st.Uid == a.uid:
				ok = perm&0o100 != 0
			case st.Gid == a.gid || slices.Contains(a.groups, st.Gid):
				ok = perm&0o010 != 0
			default:
				ok = perm&0o001 != 0
			}
			if !ok {
				return fmt.Errorf("pgserver: user %s cannot enter %s", a.name, p)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pgserver: %w", err)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// chown gives path to a; for the current user there is nothing to do.
func (a *account) chown(path string) error {
	if a == nil {
		return nil
	}
	if err := os.Lchown(path, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("pgserver: give %s to user %s: %w", path, a.name, err)
	}
	return nil
}

// sysProcAttr runs a PostgreSQL program as a, in its own process group so that a Ctrl-C meant
// for waymark does not reach the server directly: Stop shuts it down in order instead.
func (a *account) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if a != nil {
		attr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
	}
	return attr
}

// env is the environment for PostgreSQL programs: the caller's, minus PG* variables (PGPORT,
// PGDATA and friends would change what the server does), with the identity of a when set.
func (a *account) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		if a != nil && (hasKey(kv, "HOME") || hasKey(kv, "USER") || hasKey(kv, "LOGNAME")) {
			continue
		}
		env = append(env, kv)
	}
	if a != nil {
		env = append(env, "HOME="+a.home, "USER="+a.name, "LOGNAME="+a.name)
	}
	return env
}

func hasKey(kv, key string) bool {
	return strings.HasPrefix(kv, key+"=")
}

// lockShared, lockExclusive and tryLockExclusive are advisory flock locks; the kernel drops them
// when the process dies, which is what lets a later run adopt a crashed run's server.
func lockShared(ctx context.Context, f *os.File) error {
	return pollLock(ctx, f, syscall.LOCK_SH)
}

func lockExclusive(ctx context.Context, f *os.File) error {
	return pollLock(ctx, f, syscall.LOCK_EX)
}

// tryLockExclusive reports false when another holder exists. Converting a shared lock is not
// atomic, which is fine here: it only happens on the way out.
func tryLockExclusive(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgserver: lock %s: %w", f.Name(), err)
	}
	return true, nil
}

// pollLock waits for a lock without blocking in the kernel, so that ctx can end the wait.
func pollLock(ctx context.Context, f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("pgserver: lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgserver: waiting for lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
