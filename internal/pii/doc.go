// Package pii owns the encryption at rest of personal data: phone numbers,
// Telegram chat ids, names, referral details and channel credentials. It holds
// the secret keys (a [Keyring]), the stored ciphertext format, the blind index
// used to look encrypted values up by exact match, and the key file that
// `waymark demo` and `waymark keys generate` create when WAYMARK_SECRET_KEY is
// not set.
//
// # Keys and rotation
//
// A keyring is written as entries "ID:BASE64" separated by commas or newlines,
// oldest first; each key is 32 random bytes (AES-256). The last entry is the
// newest key and encrypts everything new; every key in the ring can decrypt.
// Every ciphertext records the id of the key that sealed it, so rotating is
// adding a key at the end (see [AppendKey]) and then re-encrypting the rows for
// which [Keyring.NeedsRotation] reports true: [RotateColumn] does so for one
// column, in batches, given the column's queries. An old key may leave the ring
// only once nothing is encrypted with it any more, since what it sealed becomes
// unreadable without it.
//
// # The first key is permanent
//
// The FIRST (oldest) key must never be removed or replaced. The blind index
// ([Keyring.BlindIndex]) and other derived keys ([Keyring.DeriveKey]) come from
// it, precisely so that they survive rotation: a stored blind index has to
// match the index computed for the same value years later. If the first key
// changed, every lookup by phone number or chat id would silently miss, which
// for Waymark means duplicate contacts and, worse, opt-outs that are no longer
// found. Recovering from a leaked first key therefore takes a full re-keying
// (decrypt everything, re-encrypt under a new ring, rebuild every index), which
// appending a key does not do.
//
// # Associated data
//
// Encrypt and Decrypt take associated data (AAD) that is authenticated but not
// stored. Callers pass the place a value lives, such as
// "contact_identity.value" (plus the row id when it is known before the
// insert), so that a ciphertext copied into another column or row fails to
// decrypt instead of passing as someone else's data. The same AAD must be
// given to decrypt; nil and empty AAD are the same.
//
// # Never printed
//
// A Keyring formats, stringifies and logs as its key ids only, for example
// "keyring(k1,k2)", and no error from this package contains key material, so
// a keyring that ends up in a log line or an error does not leak the keys.
package pii
