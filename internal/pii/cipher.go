package pii

import (
	"errors"
	"fmt"
)

// The stored ciphertext layout, version 1:
//
//	byte 0        version (1)
//	byte 1        n, the length of the key id (1 to MaxKeyIDLen)
//	bytes 2..2+n  key id
//	next 12       GCM nonce, random per encryption
//	rest          AES-256-GCM ciphertext followed by its 16-byte tag
//
// The header (version, n and id) is authenticated along with the caller's
// associated data, so it cannot be edited without decryption failing. Rows
// written in this layout must stay readable for as long as the data is kept:
// a new layout takes a new version byte, never a change to this one.
const (
	formatV1  = 1
	nonceSize = 12
	tagSize   = 16
)

var (
	// ErrUnknownKey reports a ciphertext sealed with a key id that is not in
	// the keyring, typically because an old key was removed too early or the
	// wrong key file is loaded. The wrapping error names the id.
	ErrUnknownKey = errors.New("pii: unknown key id")

	// ErrDecrypt reports a ciphertext that cannot be opened: truncated,
	// tampered with, not in a known layout, or given the wrong associated
	// data. They share one error because AES-GCM cannot tell an altered byte
	// from a wrong key or wrong associated data; the message adds what is known.
	ErrDecrypt = errors.New("pii: cannot decrypt")
)

// Encrypt seals plaintext with the newest key under AES-256-GCM and returns
// the self-describing stored form (version, key id, nonce, sealed bytes).
// aad binds the ciphertext to where it is stored, such as
// "contact_identity.value"; Decrypt must be given the same aad. Each call uses
// a fresh random nonce, so equal plaintexts give unequal ciphertexts; use
// [Keyring.BlindIndex] to look values up.
//
// A random 96-bit nonce allows about 2^32 encryptions per key before the
// collision risk stops being negligible; rotating keys long before then keeps
// the margin.
func (k *Keyring) Encrypt(plaintext, aad []byte) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, ErrNoKey
	}
	rk := k.keys[len(k.keys)-1]
	out := make([]byte, 0, 2+len(rk.id)+nonceSize+len(plaintext)+tagSize)
	out = appendHeader(out, rk.id)
	header := out
	return rk.aead.Seal(out, nil, plaintext, additionalData(header, aad)), nil
}

// appendHeader appends the version 1 header naming key id to b.
func appendHeader(b []byte, id string) []byte {
	b = append(b, formatV1, byte(len(id)))
	return append(b, id...)
}

// NewestHeader returns the bytes every ciphertext sealed by the newest key begins with: the
// layout's version and the key id. A stored value that does not begin with them is one for which
// [Keyring.NeedsRotation] reports true, so a database query can pick out the values to rotate
// without sending every row. It is nil for a keyring without keys, and holds no key material.
func (k *Keyring) NewestHeader() []byte {
	if k == nil || len(k.keys) == 0 {
		return nil
	}
	return appendHeader(nil, k.NewestKeyID())
}

// Decrypt opens a ciphertext made by [Keyring.Encrypt] with the key whose id
// it records, checking it against aad. It returns an error wrapping
// [ErrUnknownKey] when that key is not in the ring, and one wrapping
// [ErrDecrypt] when the bytes are malformed, altered or the aad differs.
func (k *Keyring) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, ErrNoKey
	}
	id, headerLen, err := parseHeader(ciphertext)
	if err != nil {
		return nil, err
	}
	rk, ok := k.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q: the ring holds %s", ErrUnknownKey, id, k)
	}
	if len(ciphertext)-headerLen < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: ciphertext too short", ErrDecrypt)
	}
	header := ciphertext[:headerLen]
	plaintext, err := rk.aead.Open(nil, nil, ciphertext[headerLen:], additionalData(header, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (altered data, wrong key or wrong associated data)", ErrDecrypt)
	}
	if plaintext == nil {
		// Keep "decrypted to empty" distinct from the nil of a failure.
		plaintext = []byte{}
	}
	return plaintext, nil
}

// EncryptString is [Keyring.Encrypt] for text, with the aad given as a
// string such as "contact_identity.value". The result is the same binary
// stored form, so KeyIDOf and NeedsRotation apply to it.
func (k *Keyring) EncryptString(plaintext, aad string) ([]byte, error) {
	return k.Encrypt([]byte(plaintext), []byte(aad))
}

// DecryptString is [Keyring.Decrypt] for values stored by
// [Keyring.EncryptString].
func (k *Keyring) DecryptString(ciphertext []byte, aad string) (string, error) {
	p, err := k.Decrypt(ciphertext, []byte(aad))
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// KeyIDOf returns the id of the key that sealed ciphertext, without
// decrypting it, so that maintenance jobs can count rows per key before an
// old key is retired. A malformed header gives an error wrapping [ErrDecrypt].
func KeyIDOf(ciphertext []byte) (string, error) {
	id, _, err := parseHeader(ciphertext)
	return id, err
}

// KeyIDOf is the package function [KeyIDOf], offered on the keyring for
// callers that only hold one.
func (k *Keyring) KeyIDOf(ciphertext []byte) (string, error) {
	return KeyIDOf(ciphertext)
}

// NeedsRotation reports whether ciphertext was not sealed with the newest key
// and should be re-encrypted. It is also true for a ciphertext whose header
// cannot be read, so that a re-encryption pass reaches it and reports the
// decryption error instead of skipping it silently.
func (k *Keyring) NeedsRotation(ciphertext []byte) bool {
	id, err := KeyIDOf(ciphertext)
	return err != nil || id != k.NewestKeyID()
}

// parseHeader returns the key id recorded in ciphertext and the header length.
func parseHeader(ciphertext []byte) (id string, headerLen int, err error) {
	if len(ciphertext) < 2 {
		return "", 0, fmt.Errorf("%w: ciphertext too short", ErrDecrypt)
	}
	if ciphertext[0] != formatV1 {
		return "", 0, fmt.Errorf("%w: unknown ciphertext version %d", ErrDecrypt, ciphertext[0])
	}
	n := int(ciphertext[1])
	if n == 0 || n > MaxKeyIDLen || len(ciphertext) < 2+n {
		return "", 0, fmt.Errorf("%w: malformed key id in ciphertext header", ErrDecrypt)
	}
	id = string(ciphertext[2 : 2+n])
	if validKeyID(id) != nil {
		return "", 0, fmt.Errorf("%w: malformed key id in ciphertext header", ErrDecrypt)
	}
	return id, 2 + n, nil
}

// additionalData authenticates the header together with the caller's aad. The
// header states its own length, so the concatenation is unambiguous.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}
