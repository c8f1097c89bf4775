-- name: OutboxInsert :one
INSERT INTO sandbox_messages (workspace_id, delivery_id, campaign_id, to_enc, to_index, text_enc, language, segments)
VALUES (@workspace_id, sqlc.narg(delivery_id), sqlc.narg(campaign_id), @to_enc, @to_index, @text_enc, @language, @segments)
RETURNING id;

-- name: OutboxReserveIDs :many
-- Row ids for messages a batch recorder writes later (OutboxInsertBatch), so that each message has
-- its provider id when it is sent.
SELECT nextval(pg_get_serial_sequence('sandbox_messages', 'id'))::bigint AS id
FROM generate_series(1, @n::int);

-- name: OutboxInsertBatch :exec
INSERT INTO sandbox_messages (id, workspace_id, delivery_id, campaign_id, to_enc, to_index, text_enc, language, segments, sent_at)
OVERRIDING SYSTEM VALUE
SELECT x.id, @workspace_id, nullif(x.delivery_id, 0), sqlc.narg(campaign_id)::bigint, x.to_enc, x.to_index, x.text_enc,
       x.language, x.segments, x.sent_at
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@delivery_ids::bigint[]) AS delivery_id,
             unnest(@to_encs::bytea[]) AS to_enc, unnest(@to_indexes::bytea[]) AS to_index,
             unnest(@text_encs::bytea[]) AS text_enc, unnest(@languages::text[]) AS language,
             unnest(@segments::int[]) AS segments, unnest(@sent_ats::timestamptz[]) AS sent_at) x;

-- name: OutboxListByTo :many
-- Newest first, so that LIMIT keeps the latest messages; the caller puts them in order. By time
-- sent, not id: batch recorders reserve ids ahead of sending.
SELECT id, campaign_id, to_enc, text_enc, language, status, sent_at
FROM sandbox_messages
WHERE workspace_id = @workspace_id AND to_index = @to_index
ORDER BY sent_at DESC, id DESC
LIMIT @max_rows;

-- name: OutboxSetStatus :one
-- Moves a message's status forward only: the rank guard is checked again on the locked row, so a
-- late or repeated receipt never moves it back. found tells "no such message" from "not forward".
WITH changed AS (
    UPDATE sandbox_messages SET status = @status, status_rank = @status_rank
    WHERE id = @id AND status_rank < @status_rank
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM changed) AS changed,
       EXISTS (SELECT 1 FROM sandbox_messages m WHERE m.id = @id) AS found;

-- name: OutboxSetStatuses :exec
-- OutboxSetStatus for many messages at once (the sandbox's receipts of one send job), forward only.
UPDATE sandbox_messages m SET status = x.status, status_rank = x.status_rank
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@statuses::text[]) AS status,
             unnest(@status_ranks::smallint[]) AS status_rank) x
WHERE m.id = x.id AND m.status_rank < x.status_rank;

-- name: SandboxSettingsGet :one
SELECT * FROM sandbox_settings WHERE workspace_id = @workspace_id;

-- name: SandboxSettingsUpsert :one
INSERT INTO sandbox_settings (workspace_id, fail_share, throttle_share, undelivered_share, rate_per_second)
VALUES (@workspace_id, @fail_share, @throttle_share, @undelivered_share, @rate_per_second)
ON CONFLICT (workspace_id) DO UPDATE SET
    fail_share = excluded.fail_share,
    throttle_share = excluded.throttle_share,
    undelivered_share = excluded.undelivered_share,
    rate_per_second = excluded.rate_per_second,
    updated_at = now()
RETURNING *;
