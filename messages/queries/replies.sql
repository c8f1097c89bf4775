-- name: ReplyInsert :one
INSERT INTO replies (workspace_id, contact_id, message_id, seq, channel_kind, text_enc, buttons_enc, status, error)
VALUES (@workspace_id, @contact_id, @message_id, @seq, @channel_kind, @text_enc, sqlc.narg(buttons_enc), @status, @error)
RETURNING id;

-- name: RepliesByMessage :many
SELECT * FROM replies WHERE workspace_id = @workspace_id AND message_id = @message_id ORDER BY seq;

-- name: ReplySent :execrows
-- Only a pending answer becomes sent: a second run of the same send changes nothing.
UPDATE replies SET status = 'sent', provider_id = @provider_id, error = '', sent_at = now()
WHERE workspace_id = @workspace_id AND id = @id AND status = 'pending';

-- name: ReplyFailed :execrows
UPDATE replies SET status = 'failed', error = @error
WHERE workspace_id = @workspace_id AND id = @id AND status = 'pending';

-- name: RepliesListByContact :many
-- A page of the answers to a contact after the position (after_at, after_in, after_id) of the
-- conversation's order (time, inbound before outbound, id).
SELECT * FROM replies
WHERE workspace_id = @workspace_id AND contact_id = @contact_id
  AND (created_at > @after_at OR (created_at = @after_at AND (@after_in::boolean OR id > @after_id)))
ORDER BY created_at, id LIMIT @max_rows;
