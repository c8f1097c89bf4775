package pii_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/internal/pii"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, entry("k1", testKey("1"))+","+entry("k2", testKey("2")))
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"phone number", []byte("+15551234567"), []byte("contact_identity.value")},
		{"empty plaintext", []byte{}, []byte("contact.name")},
		{"nil aad", []byte("123456789"), nil},
		{"unicode name", []byte("Nguyễn Thị Lan — أحمد"), []byte("contact.name:42")},
		{"binary", []byte{0, 1, 2, 255, 254, 0}, []byte{0}},
		{"large referral", bytes.Repeat([]byte("referral details. "), 10000), []byte("referral.details")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct, err := ring.Encrypt(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(ct, tt.plaintext) {
				t.Error("ciphertext contains the plaintext")
			}
			if id, err := pii.KeyIDOf(ct); err != nil || id != "k2" {
				t.Errorf("KeyIDOf = %q, %v; want the newest key k2", id, err)
			}
			got, err := ring.Decrypt(ct, tt.aad)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) || got == nil {
				t.Errorf("Decrypt = %q, want %q", got, tt.plaintext)
			}
			again, err := ring.Encrypt(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(ct, again) {
				t.Error("two encryptions of the same plaintext are equal; the nonce is not fresh")
			}
		})
	}
}

func TestEncryptStringRoundTrip(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, entry("k1", testKey("1")))
	tests := []struct {
		name, plaintext, aad, decryptAAD string
		wantErr                          error
	}{
		{"same aad", "123456789", "telegram_chat.id", "telegram_chat.id", nil},
		{"empty string", "", "contact.name", "contact.name", nil},
		{"other column", "123456789", "telegram_chat.id", "contact.name", pii.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct, err := ring.EncryptString(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ring.DecryptString(ct, tt.decryptAAD)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecryptString error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got != tt.plaintext {
				t.Errorf("DecryptString = %q, want %q", got, tt.plaintext)
			}
			if tt.wantErr != nil && got != "" {
				t.Errorf("DecryptString returned %q along with an error", got)
			}
		})
	}
}

func TestDecryptWrongAAD(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, entry("k1", testKey("1")))
	ct, err := ring.Encrypt([]byte("+15551234567"), []byte("contact_identity.value:7"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		aad  []byte
	}{
		{"nil", nil},
		{"other column", []byte("contact.name:7")},
		{"other row", []byte("contact_identity.value:8")},
		{"prefix", []byte("contact_identity.value:")},
		{"longer", []byte("contact_identity.value:77")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ring.Decrypt(ct, tt.aad)
			if !errors.Is(err, pii.ErrDecrypt) {
				t.Errorf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestDecryptTampered(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, entry("k1", testKey("1")))
	aad := []byte("contact_identity.value")
	ct, err := ring.Encrypt([]byte("+15551234567"), aad)
	if err != nil {
		t.Fatal(err)
	}
	const header = 2 + len("k1")
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(ct)) }
	tests := []struct {
		name    string
		ct      []byte
		wantErr error
	}{
		{"nil", nil, pii.ErrDecrypt},
		{"one byte", ct[:1], pii.ErrDecrypt},
		{"header only", ct[:header], pii.ErrDecrypt},
		{"no tag", ct[:len(ct)-16], pii.ErrDecrypt},
		{"last byte cut", ct[:len(ct)-1], pii.ErrDecrypt},
		{"byte appended", append(bytes.Clone(ct), 0), pii.ErrDecrypt},
		{"unknown version", mutate(func(b []byte) []byte { b[0] = 2; return b }), pii.ErrDecrypt},
		{"id length zero", mutate(func(b []byte) []byte { b[1] = 0; return b }), pii.ErrDecrypt},
		{"id length past end", mutate(func(b []byte) []byte { b[1] = 200; return b }), pii.ErrDecrypt},
		{"id changed to another valid id", mutate(func(b []byte) []byte { b[3] = '9'; return b }), pii.ErrUnknownKey},
		{"id changed to an invalid id", mutate(func(b []byte) []byte { b[3] = '.'; return b }), pii.ErrDecrypt},
	}
	// Flip one bit in every byte after the header: nonce, sealed data, tag.
	for i := header; i < len(ct); i++ {
		tests = append(tests, struct {
			name    string
			ct      []byte
			wantErr error
		}{"bit flipped at byte " + strconv.Itoa(i), mutate(func(b []byte) []byte { b[i] ^= 0x01; return b }), pii.ErrDecrypt})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ring.Decrypt(tt.ct, aad)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Decrypt = %q, %v; want %v", got, err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("Decrypt returned %q along with an error", got)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := mustRing(t, entry("k1", testKey("1")))
	rotated := mustRing(t, entry("k1", testKey("1"))+"\n"+entry("k2", testKey("2")))
	aad := []byte("contact_identity.value")

	oldCT, err := old.Encrypt([]byte("old secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	newCT, err := rotated.Encrypt([]byte("new secret"), aad)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		ring         *pii.Keyring
		ct           []byte
		wantID       string
		wantRotation bool
		wantPlain    string
		wantErr      error
	}{
		{"old ciphertext, old ring", old, oldCT, "k1", false, "old secret", nil},
		{"old ciphertext, rotated ring", rotated, oldCT, "k1", true, "old secret", nil},
		{"new ciphertext, rotated ring", rotated, newCT, "k2", false, "new secret", nil},
		{"new ciphertext, old ring", old, newCT, "k2", true, "", pii.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if id, err := tt.ring.KeyIDOf(tt.ct); err != nil || id != tt.wantID {
				t.Errorf("KeyIDOf = %q, %v; want %q", id, err, tt.wantID)
			}
			if got := tt.ring.NeedsRotation(tt.ct); got != tt.wantRotation {
				t.Errorf("NeedsRotation = %v, want %v", got, tt.wantRotation)
			}
			got, err := tt.ring.Decrypt(tt.ct, aad)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.wantPlain {
				t.Errorf("Decrypt = %q, want %q", got, tt.wantPlain)
			}
			if tt.wantErr == pii.ErrUnknownKey && !strings.Contains(err.Error(), `"`+tt.wantID+`"`) {
				t.Errorf("error %q does not name the key id %q", err, tt.wantID)
			}
		})
	}
}

func TestNeedsRotationUnreadable(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, entry("k1", testKey("1")))
	for _, ct := range [][]byte{nil, {1}, {9, 2, 'k', '1'}, []byte("plain text")} {
		if !ring.NeedsRotation(ct) {
			t.Errorf("NeedsRotation(%q) = false, want true so a rotation pass reports it", ct)
		}
		if _, err := pii.KeyIDOf(ct); !errors.Is(err, pii.ErrDecrypt) {
			t.Errorf("KeyIDOf(%q) error = %v, want ErrDecrypt", ct, err)
		}
	}
}

// TestStoredFormatV1 builds a ciphertext by hand from the documented layout,
// so that rows already stored keep decrypting whatever Encrypt becomes.
func TestStoredFormatV1(t *testing.T) {
	t.Parallel()
	key := testKey("format")
	ring := mustRing(t, entry("key-7", key))
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	header := append([]byte{1, 5}, "key-7"...)
	nonce := bytes.Repeat([]byte{0xAB}, 12)
	aad := []byte("referral.details:1")
	stored := append(bytes.Clone(header), nonce...)
	stored = gcm.Seal(stored, nonce, []byte("needs shelter"), append(bytes.Clone(header), aad...))

	got, err := ring.Decrypt(stored, aad)
	if err != nil || string(got) != "needs shelter" {
		t.Fatalf("Decrypt of a hand-built v1 ciphertext = %q, %v", got, err)
	}

	// And Encrypt writes that layout.
	ct, err := ring.Encrypt([]byte("needs shelter"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ct, header) {
		t.Errorf("ciphertext starts % x, want header % x", ct[:min(len(ct), len(header))], header)
	}
	if want := len(header) + 12 + len("needs shelter") + 16; len(ct) != want {
		t.Errorf("ciphertext is %d bytes, want %d", len(ct), want)
	}
	opened, err := gcm.Open(nil, ct[len(header):len(header)+12], ct[len(header)+12:], append(bytes.Clone(header), aad...))
	if err != nil || string(opened) != "needs shelter" {
		t.Errorf("plain AES-GCM cannot open Encrypt's output with the documented layout: %q, %v", opened, err)
	}
}

func TestEmptyKeyring(t *testing.T) {
	t.Parallel()
	for name, ring := range map[string]*pii.Keyring{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := ring.Encrypt([]byte("x"), nil); !errors.Is(err, pii.ErrNoKey) {
				t.Errorf("Encrypt error = %v, want ErrNoKey", err)
			}
			if _, err := ring.Decrypt([]byte{1, 2, 'k', '1'}, nil); !errors.Is(err, pii.ErrNoKey) {
				t.Errorf("Decrypt error = %v, want ErrNoKey", err)
			}
			if got := ring.NewestKeyID(); got != "" {
				t.Errorf("NewestKeyID = %q, want empty", got)
			}
		})
	}
}
