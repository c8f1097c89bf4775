-- name: ContactNamesToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, name_enc FROM contacts
WHERE id > @after_id AND name_enc IS NOT NULL
  AND substr(name_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: ContactNamesReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE contacts c SET name_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE c.id = x.id AND c.name_enc = x.was;

-- name: IdentityValuesToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, kind, value_enc FROM contact_identities
WHERE id > @after_id AND substr(value_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: IdentityValuesReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE contact_identities i SET value_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE i.id = x.id AND i.value_enc = x.was;
