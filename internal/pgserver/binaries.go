package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoBinaries means no PostgreSQL server binaries were found. Its message is one line that
// tells the user what to install, because it is what `waymark demo` prints on a bare machine.
var ErrNoBinaries = errors.New("no PostgreSQL found: install the PostgreSQL server package " +
	"(Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; " +
	"macOS: brew install postgresql) or set WAYMARK_DATABASE_URL")

// binaryNames are the programs Start needs; a directory counts only if it holds all of them,
// because pg_ctl runs the postgres found next to itself.
var binaryNames = []string{"initdb", "pg_ctl", "postgres"}

// binarySearchPatterns are the places PostgreSQL packages put their binaries when they are not on
// PATH (Debian and Ubuntu never put initdb there). Tests point this at an empty directory.
var binarySearchPatterns = []string{
	"/usr/lib/postgresql/*/bin",                               // Debian, Ubuntu
	"/usr/pgsql-*/bin",                                        // RHEL and Fedora with the PGDG packages (distribution packages use /usr/bin)
	"/opt/homebrew/opt/postgresql*/bin",                       // Homebrew on Apple silicon
	"/usr/local/opt/postgresql*/bin",                          // Homebrew on Intel
	"/Applications/Postgres.app/Contents/Versions/latest/bin", // Postgres.app
}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres: the one they resolve to
// on PATH if any, else the newest version a PostgreSQL package installed. It returns
// ErrNoBinaries when there is none.
func FindBinaries() (binDir string, err error) {
	dirs := binaryDirs()
	if len(dirs) == 0 {
		return "", ErrNoBinaries
	}
	return dirs[0], nil
}

// binaryDirs lists every directory holding all binaryNames, in order of preference.
func binaryDirs() []string {
	var dirs []string
	add := func(dir string) {
		if !slices.Contains(dirs, dir) && holdsBinaries(dir) {
			dirs = append(dirs, dir)
		}
	}

	// Symlinks on PATH (such as /usr/local/bin/initdb) are resolved so the chosen directory is
	// the package's own, where the three programs really sit together.
	for _, name := range binaryNames {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			add(filepath.Dir(real))
		}
	}

	for _, pattern := range binarySearchPatterns {
		matches, _ := filepath.Glob(pattern)
		slices.SortStableFunc(matches, func(a, b string) int {
			return slices.Compare(versionNumbers(b), versionNumbers(a)) // newest first
		})
		for _, m := range matches {
			if real, err := filepath.EvalSymlinks(m); err == nil {
				add(real)
			}
		}
	}
	return dirs
}

func holdsBinaries(dir string) bool {
	for _, name := range binaryNames {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

var digitsRE = regexp.MustCompile(`\d+`)

// versionNumbers extracts the numbers of a path such as /usr/lib/postgresql/15/bin or
// /opt/homebrew/opt/postgresql@16/bin, for ordering the matches of one pattern.
func versionNumbers(s string) []int {
	var nums []int
	for _, d := range digitsRE.FindAllString(s, -1) {
		n, _ := strconv.Atoi(d)
		nums = append(nums, n)
	}
	return nums
}

// majorVersion returns the major version of the binaries in dir in the form PG_VERSION uses:
// "15" for 15.4, "9.6" for 9.6.24.
func majorVersion(ctx context.Context, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "pg_ctl"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("pgserver: %s --version: %w", filepath.Join(dir, "pg_ctl"), err)
	}
	return majorFromVersionLine(string(out))
}

// majorFromVersionLine parses "pg_ctl (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)".
func majorFromVersionLine(line string) (string, error) {
	_, rest, ok := strings.Cut(line, "(PostgreSQL)")
	fields := strings.Fields(rest)
	if !ok || len(fields) == 0 {
		return "", fmt.Errorf("pgserver: unexpected version output %q", strings.TrimSpace(line))
	}
	nums := versionNumbers(fields[0])
	switch {
	case len(nums) == 0:
		return "", fmt.Errorf("pgserver: unexpected version output %q", strings.TrimSpace(line))
	case nums[0] >= 10 || len(nums) == 1:
		return strconv.Itoa(nums[0]), nil
	default:
		return strconv.Itoa(nums[0]) + "." + strconv.Itoa(nums[1]), nil
	}
}

// binDirForCluster picks the binaries for dataDir: any for a new cluster, and for an existing one
// those of the major version that made it, because a server refuses another version's files.
func binDirForCluster(ctx context.Context, dataDir string) (string, error) {
	dirs := binaryDirs()
	if len(dirs) == 0 {
		return "", ErrNoBinaries
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return dirs[0], nil
	}
	want := strings.TrimSpace(string(raw))
	var found []string
	for _, dir := range dirs {
		got, err := majorVersion(ctx, dir)
		if err != nil {
			continue
		}
		if got == want {
			return dir, nil
		}
		found = append(found, got)
	}
	return "", fmt.Errorf("pgserver: the cluster in %s was made by PostgreSQL %s but only PostgreSQL %s is installed: install PostgreSQL %s or use another WAYMARK_DATA_DIR",
		dataDir, want, strings.Join(found, ", "), want)
}
