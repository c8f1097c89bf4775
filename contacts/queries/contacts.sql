-- name: ContactIDsAllocate :many
-- Ids for a batch of new contacts, taken up front so identities and consent can be copied in
-- with their contact in the same transaction.
SELECT nextval(pg_get_serial_sequence('contacts', 'id'))::bigint AS id
FROM generate_series(1, @n::int);

-- name: ContactCopyIn :copyfrom
INSERT INTO contacts (id, workspace_id, name_enc, language, country, admin_area, time_zone, tags, age_band, sex, channel_order)
VALUES (@id, @workspace_id, @name_enc, @language, @country, @admin_area, @time_zone, @tags, @age_band, @sex, @channel_order);

-- name: IdentityCopyIn :copyfrom
INSERT INTO contact_identities (workspace_id, contact_id, kind, value_enc, value_index)
VALUES (@workspace_id, @contact_id, @kind, @value_enc, @value_index);

-- name: ConsentCopyIn :copyfrom
INSERT INTO consent_events (workspace_id, contact_id, channel_kind, status, source, evidence)
VALUES (@workspace_id, @contact_id, @channel_kind, @status, @source, @evidence);

-- name: ContactInsert :one
INSERT INTO contacts (workspace_id, name_enc, language, country, admin_area, time_zone, tags, age_band, sex, channel_order)
VALUES (@workspace_id, @name_enc, @language, @country, @admin_area, @time_zone, @tags, @age_band, @sex, @channel_order)
RETURNING *;

-- name: ContactUpdate :one
UPDATE contacts SET
    name_enc = @name_enc, language = @language, country = @country, admin_area = @admin_area,
    time_zone = @time_zone, tags = @tags, age_band = @age_band, sex = @sex,
    channel_order = @channel_order, updated_at = now()
WHERE workspace_id = @workspace_id AND id = @id
RETURNING *;

-- name: ContactGet :one
SELECT * FROM contacts WHERE workspace_id = @workspace_id AND id = @id;

-- name: ContactGetForUpdate :one
SELECT * FROM contacts WHERE workspace_id = @workspace_id AND id = @id FOR UPDATE;

-- name: ContactGetMany :many
SELECT * FROM contacts WHERE workspace_id = @workspace_id AND id = ANY(@ids::bigint[]) FOR UPDATE;

-- name: ContactList :many
SELECT c.* FROM contacts c
WHERE c.workspace_id = @workspace_id
  AND c.id > @after_id
  AND (sqlc.narg(language)::text IS NULL OR c.language = sqlc.narg(language))
  AND (sqlc.narg(country)::text IS NULL OR c.country = sqlc.narg(country))
  AND (sqlc.narg(admin_area)::text IS NULL OR c.admin_area = sqlc.narg(admin_area))
  AND (sqlc.narg(tag)::text IS NULL OR c.tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(channel)::text IS NULL OR EXISTS (
        SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id AND i.kind = sqlc.narg(channel)))
  AND (sqlc.narg(consent)::text IS NULL OR (
        CASE WHEN sqlc.narg(consent) = 'none' THEN NOT EXISTS (
                 SELECT 1 FROM contact_consent cc WHERE cc.contact_id = c.id
                   AND (sqlc.narg(channel)::text IS NULL OR cc.channel_kind = sqlc.narg(channel)))
             ELSE EXISTS (
                 SELECT 1 FROM contact_consent cc WHERE cc.contact_id = c.id AND cc.status = sqlc.narg(consent)
                   AND (sqlc.narg(channel)::text IS NULL OR cc.channel_kind = sqlc.narg(channel)))
        END))
ORDER BY c.id
LIMIT @max_rows;

-- name: ContactDelete :execrows
DELETE FROM contacts WHERE workspace_id = @workspace_id AND id = @id;

-- name: IdentityInsert :one
INSERT INTO contact_identities (workspace_id, contact_id, kind, value_enc, value_index)
VALUES (@workspace_id, @contact_id, @kind, @value_enc, @value_index)
RETURNING *;

-- name: IdentitiesByContact :many
SELECT * FROM contact_identities WHERE workspace_id = @workspace_id AND contact_id = @contact_id ORDER BY id;

-- name: IdentitiesByContacts :many
SELECT contact_id, kind FROM contact_identities
WHERE workspace_id = @workspace_id AND contact_id = ANY(@contact_ids::bigint[])
ORDER BY contact_id, id;

-- name: IdentityDelete :execrows
DELETE FROM contact_identities WHERE workspace_id = @workspace_id AND contact_id = @contact_id AND id = @id;

-- name: IdentityFindByIndexes :many
-- A join on unnest rather than = ANY: during a large import the table's statistics are stale
-- and = ANY over thousands of values degrades to comparing every row with every value.
SELECT i.value_index, i.contact_id
FROM unnest(@indexes::bytea[]) AS x(value_index)
JOIN contact_identities i ON i.value_index = x.value_index
WHERE i.workspace_id = @workspace_id AND i.kind = @kind;

-- name: ConsentInsert :one
INSERT INTO consent_events (workspace_id, contact_id, channel_kind, status, source, evidence)
VALUES (@workspace_id, @contact_id, @channel_kind, @status, @source, @evidence)
RETURNING *;

-- name: ConsentHistory :many
SELECT * FROM consent_events WHERE workspace_id = @workspace_id AND contact_id = @contact_id ORDER BY id;

-- name: ConsentCurrent :many
SELECT channel_kind, status, source, at FROM contact_consent
WHERE workspace_id = @workspace_id AND contact_id = @contact_id ORDER BY channel_kind;

-- name: ConsentCurrentMany :many
SELECT contact_id, channel_kind, status FROM contact_consent
WHERE workspace_id = @workspace_id AND contact_id = ANY(@contact_ids::bigint[]);

-- name: SuppressionInsert :exec
INSERT INTO suppressions (workspace_id, channel_kind, value_index, source)
VALUES (@workspace_id, @channel_kind, @value_index, @source)
ON CONFLICT DO NOTHING;

-- name: SuppressionDelete :execrows
DELETE FROM suppressions WHERE workspace_id = @workspace_id AND channel_kind = @channel_kind AND value_index = @value_index;

-- name: SuppressedIndexes :many
SELECT s.value_index
FROM unnest(@indexes::bytea[]) AS x(value_index)
JOIN suppressions s ON s.value_index = x.value_index
WHERE s.workspace_id = @workspace_id AND s.channel_kind = @channel_kind;

-- name: ErasureMessagesDelete :one
-- Erasure removes the messages a person exchanged: their inbound messages (linked, or from one
-- of their addresses), the answers Waymark sent them, and what the sandbox recorded as sent to
-- them.
WITH idx AS (
    SELECT ci.kind, ci.value_index FROM contact_identities ci
    WHERE ci.workspace_id = @workspace_id::bigint AND ci.contact_id = @contact_id::bigint
), replies AS (
    -- Answers to the inbound messages deleted below go with them too (ON DELETE CASCADE).
    DELETE FROM replies r
    WHERE r.workspace_id = @workspace_id::bigint AND r.contact_id = @contact_id::bigint
    RETURNING 1
), inbound AS (
    DELETE FROM inbound_messages m
    WHERE m.workspace_id = @workspace_id::bigint
      AND (m.contact_id = @contact_id::bigint
           OR EXISTS (SELECT 1 FROM idx WHERE idx.kind = m.channel_kind AND idx.value_index = m.from_index))
    RETURNING 1
), outbox AS (
    DELETE FROM sandbox_messages m
    WHERE m.workspace_id = @workspace_id::bigint
      AND EXISTS (SELECT 1 FROM idx WHERE idx.kind = 'sandbox' AND idx.value_index = m.to_index)
    RETURNING 1
)
SELECT ((SELECT count(*) FROM inbound) + (SELECT count(*) FROM replies) + (SELECT count(*) FROM outbox))::bigint AS deleted;
