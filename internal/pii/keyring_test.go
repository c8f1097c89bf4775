package pii_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/internal/pii"
)

// testKey returns a fixed 32-byte key for seed, so that failures reproduce.
func testKey(seed string) []byte {
	k := sha256.Sum256([]byte("pii test key " + seed))
	return k[:]
}

// entry returns "id:base64" with the standard encoding.
func entry(id string, key []byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(key)
}

// mustRing parses s or stops the test.
func mustRing(t *testing.T, s string) *pii.Keyring {
	t.Helper()
	ring, err := pii.ParseKeyring(s)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return ring
}

// secretForms lists the ways key could show up in text.
func secretForms(key []byte) []string {
	dec := fmt.Sprint(key[:6])
	return []string{
		base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
		hex.EncodeToString(key),
		strings.ToUpper(hex.EncodeToString(key)),
		string(key),
		strings.TrimSuffix(dec, "]"), // "[a b c d e f" as %v prints a byte slice or array
	}
}

// assertNoSecret fails when text contains secret or any 8-character piece of
// it, so that a truncated or partly quoted key also counts as a leak.
func assertNoSecret(t *testing.T, what, text, secret string) {
	t.Helper()
	const window = 8
	if len(secret) < window {
		if strings.Contains(text, secret) {
			t.Errorf("%s contains secret %q: %s", what, secret, text)
		}
		return
	}
	for i := 0; i+window <= len(secret); i++ {
		if piece := secret[i : i+window]; strings.Contains(text, piece) {
			t.Errorf("%s contains %q from the key material: %q", what, piece, text)
			return
		}
	}
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := testKey("1"), testKey("2"), testKey("3")
	tests := []struct {
		name       string
		in         string
		wantString string
		wantNewest string
	}{
		{"single standard base64", entry("k1", k1), "keyring(k1)", "k1"},
		{"single raw URL base64", "k1:" + base64.RawURLEncoding.EncodeToString(k1), "keyring(k1)", "k1"},
		{"commas with spaces", entry("k1", k1) + " , " + entry("k2", k2), "keyring(k1,k2)", "k2"},
		{"trailing comma", entry("k1", k1) + ",", "keyring(k1)", "k1"},
		{"spaces around colon", "k1 : " + base64.StdEncoding.EncodeToString(k1), "keyring(k1)", "k1"},
		{
			"file with comments, blank lines and CRLF",
			"# keys, oldest first, do not edit\r\n\r\n" + entry("k1", k1) + "\r\n  # another, comment\n" + entry("k2", k2) + "\n\n",
			"keyring(k1,k2)", "k2",
		},
		{"commas and newlines mixed", entry("a", k1) + "," + entry("b", k2) + "\n" + entry("c", k3), "keyring(a,b,c)", "c"},
		{"newest is last, not highest", entry("k9", k1) + "," + entry("k1", k2), "keyring(k9,k1)", "k1"},
		{"longest id with dash and underscore", entry("Prod_2024-Key-01", k1), "keyring(Prod_2024-Key-01)", "Prod_2024-Key-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ring := mustRing(t, tt.in)
			if got := ring.String(); got != tt.wantString {
				t.Errorf("String() = %q, want %q", got, tt.wantString)
			}
			if got := ring.NewestKeyID(); got != tt.wantNewest {
				t.Errorf("NewestKeyID() = %q, want %q", got, tt.wantNewest)
			}
		})
	}
}

// TestParseKeyringEncodings checks that both accepted encodings decode to the
// same key, not merely that both parse.
func TestParseKeyringEncodings(t *testing.T) {
	t.Parallel()
	key := testKey("enc")
	std := mustRing(t, "k1:"+base64.StdEncoding.EncodeToString(key))
	rawURL := mustRing(t, "k1:"+base64.RawURLEncoding.EncodeToString(key))
	ct, err := std.Encrypt([]byte("+15551234567"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := rawURL.Decrypt(ct, []byte("aad"))
	if err != nil || string(got) != "+15551234567" {
		t.Errorf("ring from raw URL base64 decrypts %q, %v; want the plaintext", got, err)
	}
	if a, b := std.BlindIndex("phone", "x"), rawURL.BlindIndex("phone", "x"); !slices.Equal(a, b) {
		t.Error("blind index differs between the two encodings of the same key")
	}
}

func TestParseKeyringErrors(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey("1"), testKey("2")
	std1 := base64.StdEncoding.EncodeToString(k1)
	raw1 := base64.RawURLEncoding.EncodeToString(k1)
	short := base64.StdEncoding.EncodeToString(k2[:31])
	long := base64.StdEncoding.EncodeToString(append(slices.Clone(k2), 7))
	badB64 := std1[:20] + "!*" + std1[22:]
	tests := []struct {
		name    string
		in      string
		wantErr []string // pieces the message must contain
		secrets []string // key text that must not appear
	}{
		{"empty", "", []string{"no keys"}, nil},
		{"only blanks and comments", "\n  \n# k1:" + std1 + "\n,\n", []string{"no keys"}, []string{std1}},
		{"bad base64", entry("k2", k2) + ",k1:" + badB64, []string{"entry 2", `"k1"`, "base64"}, []string{badB64}},
		{"key too short", "k1:" + short, []string{"entry 1", `"k1"`, "31 bytes", "want 32"}, []string{short}},
		{"key too long", entry("k1", k1) + "\nk2:" + long, []string{"entry 2", `"k2"`, "33 bytes"}, []string{long, std1}},
		{"empty key", entry("k1", k1) + ",k2:", []string{"entry 2", `"k2"`, "empty"}, []string{std1}},
		{"duplicate id", entry("k1", k1) + "," + entry("k1", k2), []string{"entry 2", `"k1"`, "duplicate", "entry 1"}, []string{std1, base64.StdEncoding.EncodeToString(k2)}},
		{"same key under two ids", entry("k1", k1) + "," + entry("k2", k1), []string{"entry 2", `"k2"`, "same key", "entry 1"}, []string{std1}},
		{"bare key without id", std1, []string{"entry 1", "ID:BASE64"}, []string{std1}},
		{"bare raw URL key without id", raw1, []string{"entry 1", "ID:BASE64"}, []string{raw1}},
		{"key and id swapped", std1 + ":k1", []string{"entry 1", "invalid key id"}, []string{std1}},
		{"raw URL key and id swapped", raw1 + ":k1", []string{"entry 1", "invalid key id", "43 characters"}, []string{raw1}},
		{"id too long", entry("abcdefghijklmnopq", k1), []string{"entry 1", "invalid key id", "17 characters"}, []string{std1}},
		{"id with a dot", entry("k.1", k1), []string{"entry 1", "invalid key id", "character 2"}, []string{std1}},
		{"id with a space", entry("k1", k2) + "\n" + entry("k 2", k1), []string{"entry 2", "invalid key id"}, []string{std1}},
		{"empty id", ":" + std1, []string{"entry 1", "invalid key id"}, []string{std1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ring, err := pii.ParseKeyring(tt.in)
			if err == nil {
				t.Fatalf("ParseKeyring succeeded with %v, want an error", ring)
			}
			msg := err.Error()
			for _, want := range tt.wantErr {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			for _, s := range tt.secrets {
				assertNoSecret(t, "error", msg, s)
			}
			for _, k := range [][]byte{k1, k2} {
				for _, s := range secretForms(k) {
					assertNoSecret(t, "error", msg, s)
				}
			}
		})
	}
}
