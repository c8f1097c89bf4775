//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package pgserver

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// errUnsupported makes Start fail clearly where there are no unix sockets, flock or setuid;
// Local still works there, and so does WAYMARK_DATABASE_URL.
var errUnsupported = errors.New("pgserver: starting a private PostgreSQL is not supported on this system: set WAYMARK_DATABASE_URL")

type account struct{ name string }

func isRoot() bool { return false }

func serverAccount(string) (*account, error) { return nil, errUnsupported }

func (a *account) canReach(string) error { return nil }

func (a *account) chown(string) error { return nil }

func (a *account) sysProcAttr() *syscall.SysProcAttr { return nil }

func (a *account) env() []string { return os.Environ() }

func lockShared(context.Context, *os.File) error { return errUnsupported }

func lockExclusive(context.Context, *os.File) error { return errUnsupported }

func tryLockExclusive(*os.File) (bool, error) { return false, errUnsupported }
