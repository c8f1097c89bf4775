-- name: InboundInsert :one
-- Returns no row when the provider's id is already stored: a retried webhook stores nothing.
INSERT INTO inbound_messages (workspace_id, channel_kind, provider_id, from_enc, from_index, text_enc, callback, start_payload)
VALUES (@workspace_id, @channel_kind, @provider_id, @from_enc, @from_index, @text_enc, @callback, @start_payload)
ON CONFLICT (workspace_id, channel_kind, provider_id) DO NOTHING
RETURNING id;

-- name: InboundGetIDByProviderID :one
SELECT id FROM inbound_messages
WHERE workspace_id = @workspace_id AND channel_kind = @channel_kind AND provider_id = @provider_id;

-- name: InboundGet :one
SELECT * FROM inbound_messages WHERE workspace_id = @workspace_id AND id = @id;

-- name: InboundHandled :exec
UPDATE inbound_messages SET handled_at = now(), contact_id = coalesce(sqlc.narg(contact_id), contact_id)
WHERE workspace_id = @workspace_id AND id = @id;

-- name: InboundListByContact :many
SELECT * FROM inbound_messages
WHERE workspace_id = @workspace_id AND contact_id = @contact_id AND id > @after_id
ORDER BY id LIMIT @max_rows;
