-- name: WorkspaceCreate :one
INSERT INTO workspaces (name, default_country)
VALUES (@name, @default_country)
RETURNING *;

-- name: WorkspaceGetByID :one
SELECT * FROM workspaces WHERE id = @id;

-- name: WorkspaceGetByName :one
SELECT * FROM workspaces WHERE name = @name;

-- name: WorkspaceList :many
SELECT * FROM workspaces ORDER BY id;

-- name: WorkspaceUpdateSettings :one
UPDATE workspaces
SET default_country = @default_country, audit_retention_days = @audit_retention_days,
    default_language = @default_language, hotline_number = @hotline_number,
    language_fallbacks = @language_fallbacks, sender_name = @sender_name,
    replies_per_hour = @replies_per_hour, conversation_ttl_seconds = @conversation_ttl_seconds,
    message_retention_days = @message_retention_days, first_message = @first_message
WHERE id = @id
RETURNING *;

-- name: UserUpsert :one
-- Tokens belong to a user; the CLI reuses a user of that name and role.
INSERT INTO users (workspace_id, name, role)
VALUES (@workspace_id, @name, @role)
ON CONFLICT (workspace_id, name) DO UPDATE SET role = users.role
RETURNING *;

-- name: UserGetByID :one
SELECT * FROM users WHERE workspace_id = @workspace_id AND id = @id;

-- name: UserList :many
SELECT * FROM users WHERE workspace_id = @workspace_id ORDER BY id;

-- name: TokenCreate :one
INSERT INTO api_tokens (workspace_id, user_id, name, role, token_hash, hint)
VALUES (@workspace_id, @user_id, @name, @role, @token_hash, @hint)
RETURNING *;

-- name: TokenAuthenticate :one
-- Finds a live token by its hash and marks it used (at most once a minute, to spare writes).
WITH found AS (
    SELECT t.id, t.workspace_id, t.user_id, t.role, t.name, t.last_used_at
    FROM api_tokens t
    WHERE t.token_hash = @token_hash AND t.revoked_at IS NULL
), touched AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE id = (SELECT id FROM found)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT found.id, found.workspace_id, found.user_id, found.role, found.name, u.name AS user_name
FROM found JOIN users u ON u.id = found.user_id;

-- name: TokenList :many
SELECT id, workspace_id, user_id, name, role, hint, created_at, last_used_at, revoked_at
FROM api_tokens WHERE workspace_id = @workspace_id ORDER BY id;

-- name: TokenRevoke :one
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
WHERE workspace_id = @workspace_id AND id = @id
RETURNING id, workspace_id, user_id, name, role, hint, created_at, last_used_at, revoked_at;

-- name: AuditInsert :exec
INSERT INTO audit_log (workspace_id, actor_kind, actor_id, actor_name, action, record_type, record_id, detail)
VALUES (@workspace_id, @actor_kind, @actor_id, @actor_name, @action, @record_type, @record_id, @detail);

-- name: AuditList :many
SELECT * FROM audit_log
WHERE workspace_id = @workspace_id
  AND (sqlc.narg(record_type)::text IS NULL OR record_type = sqlc.narg(record_type))
  AND (sqlc.narg(record_id)::text IS NULL OR record_id = sqlc.narg(record_id))
  AND (sqlc.narg(before_id)::bigint IS NULL OR id < sqlc.narg(before_id))
ORDER BY id DESC
LIMIT @max_rows;

-- name: AuditPrune :execrows
-- Deletes audit entries older than each workspace's retention; 0 days keeps them for ever.
DELETE FROM audit_log a
USING workspaces w
WHERE a.workspace_id = w.id
  AND w.audit_retention_days > 0
  AND a.at < now() - make_interval(days => w.audit_retention_days);
