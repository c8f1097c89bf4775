package pii

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// derivedKeyInfo prefixes the HKDF info of every [Keyring.DeriveKey] key. It
// differs from blindIndexInfo, so no purpose can yield the blind index key.
const derivedKeyInfo = "waymark derived key v1:"

// BlindIndex returns a 32-byte HMAC-SHA256 of value for exact-match lookups
// of encrypted data: store it next to the ciphertext and query by it. The
// HMAC key is derived with HKDF-SHA256 from the first key in the ring, so the
// index stays the same when keys are appended; see the package documentation
// for why that key must never be removed.
//
// purpose names what is indexed ("phone", "telegram", "sandbox") and is mixed
// into the HMAC input with a length prefix, so equal values under different
// purposes never share an index and (purpose, value) pairs cannot run into
// each other. The match is on exact bytes: callers normalise first (E.164 for
// phone numbers), or the same person gets two indexes.
func (k *Keyring) BlindIndex(purpose, value string) []byte {
	k.first()
	mac := hmac.New(sha256.New, k.indexKey[:])
	mac.Write(binary.AppendUvarint(nil, uint64(len(purpose))))
	mac.Write([]byte(purpose))
	mac.Write([]byte(value))
	return mac.Sum(nil)
}

// DeriveKey returns a 32-byte key for purpose, derived with HKDF-SHA256 from
// the first key in the ring, for secrets that are not personal data but must
// not need a key of their own, such as signing session cookies or webhook
// tokens. Different purposes give independent keys. Like the blind index, a
// derived key does not change when keys are appended, so what it protects
// survives rotation; changing a derived key means choosing a new purpose.
// Each call returns a new slice that the caller may keep or clear.
func (k *Keyring) DeriveKey(purpose string) []byte {
	first := k.first()
	key, err := hkdf.Key(sha256.New, first.secret[:], nil, derivedKeyInfo+purpose, KeySize)
	if err != nil {
		// hkdf.Key fails only for lengths beyond 255 hash sizes.
		panic("pii: deriving key: " + err.Error())
	}
	return key
}
