-- name: ChannelSecretsToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, secrets_enc FROM channels
WHERE id > @after_id AND substr(secrets_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: ChannelSecretsReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE channels c SET secrets_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE c.id = x.id AND c.secrets_enc = x.was;
