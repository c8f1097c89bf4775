-- name: ChannelInsert :one
INSERT INTO channels (workspace_id, kind, provider, name, config, secrets_enc, webhook_key)
VALUES (@workspace_id, @kind, @provider, @name, @config, @secrets_enc, @webhook_key)
RETURNING *;

-- name: ChannelUpdate :one
UPDATE channels SET name = @name, config = @config, secrets_enc = @secrets_enc, updated_at = now()
WHERE workspace_id = @workspace_id AND id = @id
RETURNING *;

-- name: ChannelGet :one
SELECT * FROM channels WHERE workspace_id = @workspace_id AND id = @id;

-- name: ChannelByKind :one
SELECT * FROM channels WHERE workspace_id = @workspace_id AND kind = @kind;

-- name: ChannelByWebhookKey :one
SELECT * FROM channels WHERE webhook_key = @webhook_key AND provider = @provider;

-- name: ChannelList :many
SELECT * FROM channels WHERE workspace_id = @workspace_id ORDER BY id;

-- name: ChannelsPolling :many
SELECT * FROM channels WHERE provider = 'telegram' AND config->>'mode' = 'polling' ORDER BY id;

-- name: ChannelDelete :execrows
DELETE FROM channels WHERE workspace_id = @workspace_id AND id = @id;

-- name: TelegramOffsetGet :one
SELECT next_offset FROM telegram_offsets WHERE channel_id = @channel_id;

-- name: TelegramOffsetSet :exec
INSERT INTO telegram_offsets (channel_id, next_offset) VALUES (@channel_id, @next_offset)
ON CONFLICT (channel_id) DO UPDATE SET next_offset = greatest(telegram_offsets.next_offset, excluded.next_offset), updated_at = now();

-- name: ChannelByID :one
SELECT * FROM channels WHERE id = @id;
