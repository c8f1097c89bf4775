-- name: InboundInsert :one
-- Returns no row when the provider's id is already stored: a retried webhook stores nothing.
INSERT INTO inbound_messages (workspace_id, channel_kind, provider_id, from_enc, from_index, text_enc, callback, start_payload,
    callback_query_id)
VALUES (@workspace_id, @channel_kind, @provider_id, @from_enc, @from_index, @text_enc, @callback, @start_payload,
    @callback_query_id)
ON CONFLICT (workspace_id, channel_kind, provider_id) DO NOTHING
RETURNING id;

-- name: InboundGetIDByProviderID :one
SELECT id FROM inbound_messages
WHERE workspace_id = @workspace_id AND channel_kind = @channel_kind AND provider_id = @provider_id;

-- name: InboundGet :one
SELECT * FROM inbound_messages WHERE workspace_id = @workspace_id AND id = @id;

-- name: InboundClaim :execrows
-- Starts handling a message inside the handling transaction: only one run changes the row, and a
-- concurrent run waits on its lock and then finds it handled.
UPDATE inbound_messages SET handled_at = now()
WHERE workspace_id = @workspace_id AND id = @id AND handled_at IS NULL;

-- name: InboundHandled :exec
UPDATE inbound_messages SET handled_at = now(), contact_id = coalesce(sqlc.narg(contact_id), contact_id)
WHERE workspace_id = @workspace_id AND id = @id;

-- name: InboundListByContact :many
-- A page of a contact's messages in time order after the position (after_at, after_in, after_id)
-- of the conversation's order (time, inbound before outbound, id).
SELECT * FROM inbound_messages
WHERE workspace_id = @workspace_id AND contact_id = @contact_id::bigint
  AND (received_at > @after_at OR (received_at = @after_at AND @after_in::boolean AND id > @after_id))
ORDER BY received_at, id LIMIT @max_rows;
