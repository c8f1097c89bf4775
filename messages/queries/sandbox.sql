-- name: OutboxInsert :one
INSERT INTO sandbox_messages (workspace_id, delivery_id, campaign_id, to_enc, to_index, text_enc, language, segments)
VALUES (@workspace_id, sqlc.narg(delivery_id), sqlc.narg(campaign_id), @to_enc, @to_index, @text_enc, @language, @segments)
RETURNING id;

-- name: OutboxListByTo :many
-- Newest first, so that LIMIT keeps the latest messages; the caller puts them in order.
SELECT id, campaign_id, to_enc, text_enc, language, status, sent_at
FROM sandbox_messages
WHERE workspace_id = @workspace_id AND to_index = @to_index
ORDER BY id DESC
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
