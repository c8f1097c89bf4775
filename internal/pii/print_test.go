package pii_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/internal/pii"
)

// TestKeyringNeverPrinted checks every way a keyring reaches text: fmt verbs,
// structs that embed it, slog handlers and errors.
func TestKeyringNeverPrinted(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey("1"), testKey("2")
	ring := mustRing(t, entry("k1", k1)+","+entry("k2", k2))
	// The blind index key is as secret as the keys themselves.
	indexKey, err := hkdf.Key(sha256.New, k1, nil, "waymark blind index v1", 32)
	if err != nil {
		t.Fatal(err)
	}

	type exported struct{ Ring *pii.Keyring }
	type unexported struct{ ring pii.Keyring }

	logged := func(h func(*bytes.Buffer) slog.Handler) string {
		var buf bytes.Buffer
		logger := slog.New(h(&buf))
		logger.Info("starting", "keys", ring, slog.Any("any", ring), slog.Group("g", "ring", ring))
		return buf.String()
	}
	other := mustRing(t, entry("k1", k1))
	ct, err := ring.Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, decErr := other.Decrypt(ct, nil)
	if !errors.Is(decErr, pii.ErrUnknownKey) {
		t.Fatalf("Decrypt error = %v, want ErrUnknownKey", decErr)
	}

	tests := []struct {
		name string
		out  string
		want string // must appear, so an empty output cannot pass
	}{
		{"verbs", fmt.Sprintf("%v %+v %#v %s", ring, ring, ring, ring), "keyring(k1,k2) keyring(k1,k2) pii.Keyring(k1,k2) keyring(k1,k2)"},
		{"odd verbs", fmt.Sprintf("%x %X %q %d %T", ring, ring, ring, ring, ring), "keyring(k1,k2)"},
		{"dereferenced", fmt.Sprintf("%v %+v %#v", *ring, *ring, *ring), ""},
		{"exported field", fmt.Sprintf("%v %+v %#v", exported{ring}, exported{ring}, exported{ring}), "keyring(k1,k2)"},
		{"unexported field", fmt.Sprintf("%v %+v %#v", unexported{*ring}, unexported{*ring}, unexported{*ring}), "{"},
		{"slice", fmt.Sprint([]*pii.Keyring{ring, ring}), "[keyring(k1,k2) keyring(k1,k2)]"},
		{"Sprint and Sprintln", fmt.Sprint(ring) + fmt.Sprintln(ring), "keyring(k1,k2)"},
		{"nil", fmt.Sprint((*pii.Keyring)(nil)), "keyring(nil)"},
		{"slog text", logged(func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }), "keys=keyring(k1,k2)"},
		{"slog json", logged(func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }), `"keys":"keyring(k1,k2)"`},
		{"unknown key error", decErr.Error(), `"k2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.out == "" {
				t.Fatal("nothing was printed")
			}
			if !strings.Contains(tt.out, tt.want) {
				t.Errorf("output %q does not contain %q", tt.out, tt.want)
			}
			for _, k := range [][]byte{k1, k2, indexKey} {
				for _, s := range secretForms(k) {
					assertNoSecret(t, "output", tt.out, s)
				}
			}
		})
	}
}
