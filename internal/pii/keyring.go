package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// KeySize is the length in bytes of every key in a keyring (AES-256).
const KeySize = 32

// MaxKeyIDLen is the longest key id allowed. Ids are stored in every
// ciphertext, so they are kept short.
const MaxKeyIDLen = 16

// ErrNoKey reports that no secret key is configured. Callers refuse to start
// rather than store personal data unencrypted or under a throwaway key.
var ErrNoKey = errors.New("pii: no secret key: set WAYMARK_SECRET_KEY or run `waymark keys generate`")

// Keyring holds the secret keys that encrypt personal data, oldest first. The
// newest (last) key encrypts; every key decrypts. A Keyring is immutable after
// [ParseKeyring] and safe for concurrent use.
//
// Its keys sit behind pointers so that even printing a dereferenced Keyring by
// reflection (say, as an unexported struct field, where fmt cannot call
// [Keyring.Format]) shows addresses rather than key bytes.
type Keyring struct {
	keys     []*ringKey
	byID     map[string]*ringKey
	indexKey *[KeySize]byte
}

type ringKey struct {
	id     string
	secret [KeySize]byte
	aead   cipher.AEAD
}

// blindIndexInfo is the HKDF info for the blind index key. It is part of every
// stored index: changing it breaks all lookups.
const blindIndexInfo = "waymark blind index v1"

// ParseKeyring reads a keyring in its textual form: entries "ID:BASE64"
// separated by commas or newlines, oldest first, where BASE64 is the standard
// or the unpadded URL-safe base64 of 32 bytes. Blank lines and lines starting
// with '#' are skipped, as are empty entries left by a trailing comma.
//
// Errors name the entry by position and, when the id is valid, by id; they
// never quote the key text, because it is the secret.
func ParseKeyring(s string) (*Keyring, error) {
	k := &Keyring{byID: map[string]*ringKey{}}
	n := 0
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for entry := range strings.SplitSeq(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			n++
			rk, err := parseEntry(n, entry)
			if err != nil {
				return nil, err
			}
			for i, prev := range k.keys {
				if prev.id == rk.id {
					return nil, fmt.Errorf("pii: key entry %d (id %q): duplicate key id, already used by entry %d", n, rk.id, i+1)
				}
				// The same key under two ids is a copy-paste slip that would
				// make a rotation change nothing.
				if subtle.ConstantTimeCompare(prev.secret[:], rk.secret[:]) == 1 {
					return nil, fmt.Errorf("pii: key entry %d (id %q): same key as entry %d (id %q)", n, rk.id, i+1, prev.id)
				}
			}
			k.keys = append(k.keys, rk)
			k.byID[rk.id] = rk
		}
	}
	if len(k.keys) == 0 {
		return nil, errors.New("pii: no keys found: want one or more ID:BASE64 entries separated by commas or newlines")
	}
	idx, err := hkdf.Key(sha256.New, k.keys[0].secret[:], nil, blindIndexInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("pii: deriving blind index key: %w", err)
	}
	k.indexKey = (*[KeySize]byte)(idx)
	return k, nil
}

func parseEntry(n int, entry string) (*ringKey, error) {
	id, b64, ok := strings.Cut(entry, ":")
	if !ok {
		return nil, fmt.Errorf("pii: key entry %d: want ID:BASE64, found no ':'", n)
	}
	id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
	if err := validKeyID(id); err != nil {
		// The id is not quoted: an entry written the wrong way round, or a
		// bare key, would put key material here.
		return nil, fmt.Errorf("pii: key entry %d: %w", n, err)
	}
	if b64 == "" {
		return nil, fmt.Errorf("pii: key entry %d (id %q): key is empty", n, id)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(b64)
	}
	if err != nil {
		// The decoder's error is dropped: only the fact matters, and
		// nothing about the key text should reach a log.
		return nil, fmt.Errorf("pii: key entry %d (id %q): key is not valid base64 (standard, or URL-safe without padding)", n, id)
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("pii: key entry %d (id %q): key is %d bytes, want %d", n, id, len(raw), KeySize)
	}
	rk := &ringKey{id: id}
	copy(rk.secret[:], raw)
	block, err := aes.NewCipher(rk.secret[:])
	if err != nil {
		return nil, fmt.Errorf("pii: key entry %d (id %q): %w", n, id, err)
	}
	// NewGCMWithRandomNonce draws a fresh 96-bit nonce for every Seal and
	// puts it in front of the sealed bytes, which is the stored layout.
	rk.aead, err = cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("pii: key entry %d (id %q): %w", n, id, err)
	}
	return rk, nil
}

// validKeyID reports why id is not a usable key id. The error never contains
// the id itself.
func validKeyID(id string) error {
	if id == "" || len(id) > MaxKeyIDLen {
		return fmt.Errorf("invalid key id of %d characters: want 1 to %d letters, digits, '-' or '_'", len(id), MaxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("invalid key id: character %d is not a letter, digit, '-' or '_'", i+1)
		}
	}
	return nil
}

// NewestKeyID returns the id of the key that encrypts, or "" for a keyring
// without keys.
func (k *Keyring) NewestKeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[len(k.keys)-1].id
}

// first returns the oldest key, which the blind index and derived keys come
// from. Calling it on a Keyring not built by ParseKeyring is a programming
// error, so it panics with a message that says so.
func (k *Keyring) first() *ringKey {
	if k == nil || len(k.keys) == 0 || k.indexKey == nil {
		panic("pii: Keyring has no keys; build it with ParseKeyring or Load")
	}
	return k.keys[0]
}

// String returns the key ids, as in "keyring(k1,k2)", and never key material.
func (k *Keyring) String() string {
	if k == nil {
		return "keyring(nil)"
	}
	ids := make([]string, len(k.keys))
	for i, rk := range k.keys {
		ids[i] = rk.id
	}
	return "keyring(" + strings.Join(ids, ",") + ")"
}

// GoString makes %#v print the key ids only, as "pii.Keyring(k1,k2)".
func (k *Keyring) GoString() string {
	return "pii.Keyring" + strings.TrimPrefix(k.String(), "keyring")
}

// Format makes every fmt verb (%v, %+v, %s, %x, %q...) print the key ids only,
// so no verb can fall through to printing the struct and its keys.
func (k *Keyring) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, k.GoString())
		return
	}
	_, _ = io.WriteString(f, k.String())
}

// LogValue makes slog record the key ids only.
func (k *Keyring) LogValue() slog.Value {
	return slog.StringValue(k.String())
}
