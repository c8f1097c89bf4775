-- Provider channels a workspace connects (the sandbox is built in and needs no row). Secrets are
-- stored only encrypted; webhook_key names the channel in webhook URLs and is not a secret:
-- Twilio's signature and Telegram's secret token are the checks.

CREATE TABLE channels (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('sms', 'telegram')),
    provider     text NOT NULL CHECK (provider IN ('twilio', 'telegram')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Settings that are not secret: sender number or Messaging Service, account SID, mode, rates.
    config       jsonb NOT NULL DEFAULT '{}',
    secrets_enc  bytea NOT NULL,
    webhook_key  text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- One channel per kind and workspace: campaigns choose channels by kind.
    UNIQUE (workspace_id, kind)
);

-- Where a Telegram channel in polling mode has read up to; advanced only in the transaction that
-- stores the updates, so a crash never skips one.
CREATE TABLE telegram_offsets (
    channel_id  bigint PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    next_offset bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
