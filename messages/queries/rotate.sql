-- name: InboundFromToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, channel_kind, from_enc FROM inbound_messages
WHERE id > @after_id AND substr(from_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: InboundFromReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE inbound_messages m SET from_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE m.id = x.id AND m.from_enc = x.was;

-- name: InboundTextToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, channel_kind, text_enc FROM inbound_messages
WHERE id > @after_id AND substr(text_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: InboundTextReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE inbound_messages m SET text_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE m.id = x.id AND m.text_enc = x.was;

-- name: ReplyTextToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, channel_kind, text_enc FROM replies
WHERE id > @after_id AND substr(text_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: ReplyTextReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE replies r SET text_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE r.id = x.id AND r.text_enc = x.was;

-- name: ReplyButtonsToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, channel_kind, buttons_enc FROM replies
WHERE id > @after_id AND buttons_enc IS NOT NULL
  AND substr(buttons_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: ReplyButtonsReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE replies r SET buttons_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE r.id = x.id AND r.buttons_enc = x.was;

-- name: OutboxToToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, to_enc FROM sandbox_messages
WHERE id > @after_id AND substr(to_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: OutboxToReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE sandbox_messages m SET to_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE m.id = x.id AND m.to_enc = x.was;

-- name: OutboxTextToRotate :many
-- Values not sealed by the key whose ciphertexts begin with header (pii.Keyring.NewestHeader),
-- in id order after after_id: a batch of a key rotation.
SELECT id, text_enc FROM sandbox_messages
WHERE id > @after_id AND substr(text_enc, 1, octet_length(@header::bytea)) <> @header::bytea
ORDER BY id LIMIT @max_rows;

-- name: OutboxTextReseal :execrows
-- Stores re-encrypted values, each only where the row still holds the value read, so that a
-- value written meanwhile is never overwritten.
UPDATE sandbox_messages m SET text_enc = x.sealed
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@was::bytea[]) AS was, unnest(@sealed::bytea[]) AS sealed) x
WHERE m.id = x.id AND m.text_enc = x.was;
