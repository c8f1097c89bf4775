package pii_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/waymark-org/waymark/internal/pii"
)

// TestBlindIndexConstruction recomputes the index from its definition. Stored
// indexes depend on every detail of it, so any change must fail here.
func TestBlindIndexConstruction(t *testing.T) {
	t.Parallel()
	first := testKey("1")
	ring := mustRing(t, entry("k1", first)+","+entry("k2", testKey("2")))
	indexKey, err := hkdf.Key(sha256.New, first, nil, "waymark blind index v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ purpose, value string }{
		{"phone", "+15551234567"},
		{"telegram", "123456789"},
		{"sandbox", ""},
		{"", "value"},
	}
	for _, tt := range tests {
		t.Run(tt.purpose+"/"+tt.value, func(t *testing.T) {
			t.Parallel()
			mac := hmac.New(sha256.New, indexKey)
			mac.Write([]byte{byte(len(tt.purpose))}) // uvarint of a short length
			mac.Write([]byte(tt.purpose))
			mac.Write([]byte(tt.value))
			want := mac.Sum(nil)
			if got := ring.BlindIndex(tt.purpose, tt.value); !bytes.Equal(got, want) {
				t.Errorf("BlindIndex = %x, want %x", got, want)
			}
		})
	}
}

func TestBlindIndexStableAcrossRotation(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := entry("k1", testKey("1")), entry("k2", testKey("2")), entry("k3", testKey("3"))
	base := mustRing(t, k1)
	tests := []struct {
		name string
		ring *pii.Keyring
	}{
		{"one key appended", mustRing(t, k1+","+k2)},
		{"two keys appended", mustRing(t, k1+"\n"+k2+"\n"+k3)},
		{"same first key under another id", mustRing(t, entry("first", testKey("1")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, purpose := range []string{"phone", "telegram", "sandbox"} {
				want := base.BlindIndex(purpose, "+15551234567")
				if got := tt.ring.BlindIndex(purpose, "+15551234567"); !bytes.Equal(got, want) {
					t.Errorf("BlindIndex(%q) = %x, want %x as before rotation", purpose, got, want)
				}
			}
		})
	}
}

func TestBlindIndexDistinct(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, entry("k1", testKey("1")))
	otherFirst := mustRing(t, entry("k2", testKey("2"))+","+entry("k1", testKey("1")))
	type call struct {
		ring           *pii.Keyring
		purpose, value string
	}
	tests := []struct {
		name string
		a, b call
	}{
		{"purposes differ", call{ring, "phone", "123456789"}, call{ring, "telegram", "123456789"}},
		{"sandbox and phone", call{ring, "sandbox", "+15551234567"}, call{ring, "phone", "+15551234567"}},
		{"values differ", call{ring, "phone", "+15551234567"}, call{ring, "phone", "+15551234568"}},
		{"boundary moved", call{ring, "ab", "c"}, call{ring, "a", "bc"}},
		{"empty purpose", call{ring, "", "phone1"}, call{ring, "phone", "1"}},
		{"other first key", call{ring, "phone", "+15551234567"}, call{otherFirst, "phone", "+15551234567"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.a.ring.BlindIndex(tt.a.purpose, tt.a.value)
			b := tt.b.ring.BlindIndex(tt.b.purpose, tt.b.value)
			if len(a) != 32 || len(b) != 32 {
				t.Fatalf("index lengths %d and %d, want 32", len(a), len(b))
			}
			if bytes.Equal(a, b) {
				t.Errorf("indexes collide: %x", a)
			}
			if again := tt.a.ring.BlindIndex(tt.a.purpose, tt.a.value); !bytes.Equal(a, again) {
				t.Errorf("index not deterministic: %x then %x", a, again)
			}
		})
	}
}

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	first := testKey("1")
	ring := mustRing(t, entry("k1", first))
	rotated := mustRing(t, entry("k1", first)+","+entry("k2", testKey("2")))
	indexKey, err := hkdf.Key(sha256.New, first, nil, "waymark blind index v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		purpose string
	}{{"session"}, {"webhook token"}, {""}, {"waymark blind index v1"}}
	seen := map[string]string{}
	for _, tt := range tests {
		key := ring.DeriveKey(tt.purpose)
		if len(key) != 32 {
			t.Fatalf("DeriveKey(%q) is %d bytes, want 32", tt.purpose, len(key))
		}
		if prev, ok := seen[string(key)]; ok {
			t.Errorf("DeriveKey(%q) equals DeriveKey(%q)", tt.purpose, prev)
		}
		seen[string(key)] = tt.purpose
		if bytes.Equal(key, indexKey) {
			t.Errorf("DeriveKey(%q) is the blind index key", tt.purpose)
		}
		if bytes.Equal(key, first) {
			t.Errorf("DeriveKey(%q) is the first key itself", tt.purpose)
		}
		if got := rotated.DeriveKey(tt.purpose); !bytes.Equal(got, key) {
			t.Errorf("DeriveKey(%q) changed with rotation", tt.purpose)
		}
		clear(key)
		if again := ring.DeriveKey(tt.purpose); bytes.Equal(again, key) {
			t.Errorf("DeriveKey(%q) returned shared storage: clearing one result cleared the next", tt.purpose)
		}
	}
}
