//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pgserver

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

func TestCanReachFollowsPermissionBits(t *testing.T) {
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody user on this system")
	}
	nobody, err := accountFromUser(u)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "wmpg-reach-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	inner := filepath.Join(base, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := nobody.canReach(inner); err == nil || !strings.Contains(err.Error(), base) {
		t.Errorf("canReach(%s) through a 0700 directory = %v, want an error naming %s", inner, err, base)
	}
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := nobody.canReach(filepath.Join(inner, "not-yet", "made")); err != nil {
		t.Errorf("canReach through 0711 and missing directories: %v", err)
	}
	var current *account
	if err := current.canReach("/root/anything"); err != nil {
		t.Errorf("the current user needs no check, got %v", err)
	}
}
