package pii

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvSecretKey is the environment variable that holds the keyring text. It
// takes precedence over the key file.
const EnvSecretKey = "WAYMARK_SECRET_KEY"

// keyFileHeader opens every new key file, so whoever finds the file on disk
// learns what it is and why it must not be edited or lost.
const keyFileHeader = `# Waymark secret keys, ID:BASE64, oldest first. The last key encrypts; all keys decrypt.
# Losing or changing a key makes what it encrypted unreadable. Never remove the first key: lookups derive from it.
`

// GenerateKey returns a keyring entry "ID:BASE64" holding 32 fresh random
// bytes, to be given to WAYMARK_SECRET_KEY or appended to a key file.
func GenerateKey(id string) (entry string, err error) {
	if err := validKeyID(id); err != nil {
		return "", fmt.Errorf("pii: %w", err)
	}
	var key [KeySize]byte
	// crypto/rand.Read never fails; it crashes the program rather than hand
	// out weak bytes.
	_, _ = rand.Read(key[:])
	return id + ":" + base64.StdEncoding.EncodeToString(key[:]), nil
}

// DefaultKeyFile returns where the key file lives inside the data directory.
func DefaultKeyFile(dataDir string) string {
	return filepath.Join(dataDir, "secret.key")
}

// WriteNewKeyFile creates a key file at path holding one fresh key with id
// "k1", readable by its owner only (0600), creating the parent directory with
// mode 0700 if needed. It refuses, with an error wrapping [fs.ErrExist], when
// the file already exists: overwriting a key loses everything encrypted with
// it.
func WriteNewKeyFile(path string) error {
	entry, err := GenerateKey("k1")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("pii: creating key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pii: key file %s already exists; refusing to overwrite it, since data encrypted with its keys would be lost: %w", path, fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("pii: creating key file: %w", err)
	}
	err = writeKeyFile(f, keyFileHeader+entry+"\n")
	if err != nil {
		// Nothing was ever encrypted with this key, so removing the partial
		// file loses nothing and lets the command be run again.
		_ = os.Remove(path)
		return fmt.Errorf("pii: writing key file %s: %w", path, err)
	}
	return nil
}

// writeKeyFile writes content, forces the mode to 0600 whatever the umask
// left, and flushes to disk before reporting success, so that no one encrypts
// under a key that a crash could still lose.
func writeKeyFile(f *os.File, content string) error {
	_, err := f.WriteString(content)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// AppendKey adds a fresh key at the end of the key file at path, making it the
// newest key, and returns its id: "k" followed by a number above both the
// count of keys and any existing "kN" id, so it is never one already used.
// Existing entries, comments and the file mode are left as they are. The
// file is appended to rather than rewritten, so a concurrent or interrupted
// run cannot drop the keys already there.
func AppendKey(path string) (newID string, err error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("pii: reading key file: %w", err)
	}
	ring, err := ParseKeyring(string(content))
	if err != nil {
		return "", fmt.Errorf("pii: key file %s: %w", path, err)
	}
	next := len(ring.keys) + 1
	for _, rk := range ring.keys {
		if num, ok := strings.CutPrefix(rk.id, "k"); ok {
			if v, err := strconv.Atoi(num); err == nil && v >= next {
				next = v + 1
			}
		}
	}
	newID = "k" + strconv.Itoa(next)
	entry, err := GenerateKey(newID)
	if err != nil {
		return "", err
	}
	line := entry + "\n"
	if len(content) > 0 && content[len(content)-1] != '\n' {
		line = "\n" + line
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return "", fmt.Errorf("pii: opening key file: %w", err)
	}
	_, err = f.WriteString(line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("pii: appending to key file %s: %w", path, err)
	}
	// Read the file back: a key is only usable once the ring that holds it
	// parses, with it as the newest.
	check, err := LoadKeyFile(path)
	if err != nil {
		return "", err
	}
	if got := check.NewestKeyID(); got != newID {
		return "", fmt.Errorf("pii: key file %s: newest key is %q after appending %q; was it changed meanwhile?", path, got, newID)
	}
	return newID, nil
}

// LoadKeyFile reads the keyring stored in the key file at path. A missing
// file gives an error wrapping [fs.ErrNotExist].
func LoadKeyFile(path string) (*Keyring, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pii: reading key file: %w", err)
	}
	ring, err := ParseKeyring(string(content))
	if err != nil {
		return nil, fmt.Errorf("pii: key file %s: %w", path, err)
	}
	return ring, nil
}

// Load finds the keyring the way `waymark serve` does and says where it came
// from: envValue (the content of WAYMARK_SECRET_KEY) when it is not blank,
// else the key file in dataDir when it exists, else an error wrapping
// [ErrNoKey] so that the caller refuses to start. An invalid envValue is an
// error, never a reason to fall back to the file: the operator asked for that
// key.
func Load(envValue, dataDir string) (ring *Keyring, source string, err error) {
	if strings.TrimSpace(envValue) != "" {
		ring, err := ParseKeyring(envValue)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvSecretKey, err)
		}
		return ring, EnvSecretKey, nil
	}
	if dataDir == "" {
		return nil, "", fmt.Errorf("%w (%s is empty and there is no data directory)", ErrNoKey, EnvSecretKey)
	}
	path := DefaultKeyFile(dataDir)
	ring, err = LoadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w (%s is empty and %s does not exist)", ErrNoKey, EnvSecretKey, path)
	}
	if err != nil {
		return nil, "", err
	}
	return ring, path, nil
}
