-- Foundation: workspaces, their users and API tokens, and the audit log.
-- Every row of Waymark belongs to a workspace, so that several NGOs can share one install.

CREATE TABLE workspaces (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100 AND name = btrim(name)),
    -- Country used to read national-format phone numbers when a row names none (ISO 3166-1 alpha-2).
    default_country text NOT NULL DEFAULT '' CHECK (default_country = '' OR default_country ~ '^[A-Z]{2}$'),
    -- Days to keep audit entries; 0 keeps them for ever.
    audit_retention_days integer NOT NULL DEFAULT 0 CHECK (audit_retention_days >= 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role         text NOT NULL CHECK (role IN ('admin', 'author', 'operator', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, name)
);

-- API tokens are stored only as a SHA-256 hash; the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    role         text NOT NULL CHECK (role IN ('admin', 'author', 'operator', 'viewer')),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The last four characters, so that people can tell their tokens apart.
    hint         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_workspace_idx ON api_tokens (workspace_id);

-- Who did what to which record, reads of sensitive records included.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_kind   text NOT NULL CHECK (actor_kind IN ('user', 'cli', 'system')),
    actor_id     bigint,
    actor_name   text NOT NULL,
    action       text NOT NULL,
    record_type  text NOT NULL,
    record_id    text NOT NULL DEFAULT '',
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_workspace_at_idx ON audit_log (workspace_id, at DESC);
CREATE INDEX audit_log_record_idx ON audit_log (workspace_id, record_type, record_id);
