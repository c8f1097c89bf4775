-- name: TreeGet :one
SELECT tree, updated_at FROM chatbot_trees WHERE workspace_id = @workspace_id;

-- name: TreeSave :exec
INSERT INTO chatbot_trees (workspace_id, tree) VALUES (@workspace_id, @tree)
ON CONFLICT (workspace_id) DO UPDATE SET tree = excluded.tree, updated_at = now();

-- name: OverridesList :many
SELECT intent, word, action FROM keyword_overrides WHERE workspace_id = @workspace_id ORDER BY intent, word;

-- name: OverrideSave :exec
INSERT INTO keyword_overrides (workspace_id, intent, word, action) VALUES (@workspace_id, @intent, @word, @action)
ON CONFLICT (workspace_id, intent, word) DO UPDATE SET action = excluded.action;

-- name: OverrideDelete :execrows
DELETE FROM keyword_overrides WHERE workspace_id = @workspace_id AND intent = @intent AND word = @word;

-- name: ConversationGet :one
SELECT node FROM conversations
WHERE workspace_id = @workspace_id AND contact_id = @contact_id AND expires_at > now();

-- name: ConversationSet :exec
INSERT INTO conversations (workspace_id, contact_id, node, expires_at)
VALUES (@workspace_id, @contact_id, @node, now() + make_interval(secs => @ttl_seconds::int))
ON CONFLICT (workspace_id, contact_id) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at;

-- name: ConversationClear :exec
DELETE FROM conversations WHERE workspace_id = @workspace_id AND contact_id = @contact_id;

-- name: ConversationsExpire :execrows
DELETE FROM conversations WHERE expires_at <= now();

-- name: TalkRequestInsert :one
INSERT INTO talk_requests (workspace_id, contact_id, channel_kind, message_id)
VALUES (@workspace_id, @contact_id, @channel_kind, @message_id)
RETURNING id;
