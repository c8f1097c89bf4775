-- Campaigns, their runs and deliveries; the sandbox channel's outbox and settings; inbound
-- messages; and the shared rate budgets that hold across every worker process.

ALTER TABLE workspaces
    ADD COLUMN default_language text NOT NULL DEFAULT 'en',
    -- The number people can call, offered in messages as {{.Hotline}}.
    ADD COLUMN hotline_number text NOT NULL DEFAULT '',
    -- Fallback chains per language, e.g. {"fa-AF": ["fa", "en"]}; languages without an entry
    -- fall back to their parent tag, then to default_language.
    ADD COLUMN language_fallbacks jsonb NOT NULL DEFAULT '{}';

CREATE TABLE campaigns (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id        bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    state               text NOT NULL DEFAULT 'draft'
                        CHECK (state IN ('draft', 'scheduled', 'sending', 'paused', 'completed', 'cancelled')),
    -- Text per language: {"am": {"other": "...", "one": "..."}}; validated when saved.
    contents            jsonb NOT NULL DEFAULT '{}',
    -- Audience filters: {"countries": [], "admin_areas": [], "languages": [], "tags": []}.
    audience            jsonb NOT NULL DEFAULT '{}',
    channel_order       text[] NOT NULL DEFAULT '{sandbox}',
    append_opt_out      boolean NOT NULL DEFAULT true,
    -- The number plural forms refer to, as {{.Count}}.
    count_value         integer,
    -- {"kind": "now" | "at" | "daily" | "weekly", "at": ..., "time": "09:00", "weekday": 1, "time_zone": "..."}
    schedule            jsonb NOT NULL DEFAULT '{"kind": "now"}',
    -- {"start": "21:00", "end": "08:00"} in each recipient's own time zone; null for none.
    quiet_hours         jsonb,
    send_window_seconds integer NOT NULL DEFAULT 0 CHECK (send_window_seconds >= 0),
    segment_cap         bigint CHECK (segment_cap > 0),
    next_run_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_workspace_idx ON campaigns (workspace_id, id);

-- One run per send of a campaign (one for a one-off, one per occurrence of a recurring one).
CREATE TABLE campaign_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    campaign_id    bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    state          text NOT NULL DEFAULT 'fanning_out'
                   CHECK (state IN ('fanning_out', 'sending', 'completed', 'cancelled')),
    -- The last contact id fanned out: a fan-out resumed after a crash continues from here.
    fanout_cursor  bigint NOT NULL DEFAULT 0,
    -- Contacts fanned out so far, for spreading sends over the window.
    fanned         integer NOT NULL DEFAULT 0,
    -- The audience counted when the run started.
    recipients     integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    fanout_done_at timestamptz,
    completed_at   timestamptz
);
CREATE INDEX campaign_runs_campaign_idx ON campaign_runs (campaign_id, id);

-- One row per message to one person. contact_id is cleared when the contact is erased; the row
-- stays as anonymous evidence. Statuses only move forward (status_rank).
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    campaign_id     bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    campaign_run_id bigint REFERENCES campaign_runs (id) ON DELETE CASCADE,
    contact_id      bigint REFERENCES contacts (id) ON DELETE SET NULL,
    channel_kind    text NOT NULL CHECK (channel_kind IN ('sms', 'telegram', 'sandbox')),
    language        text NOT NULL,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'cancelled', 'skipped')),
    status_rank     smallint NOT NULL DEFAULT 10,
    -- Not before this time: quiet hours and send windows.
    not_before      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    snoozes         integer NOT NULL DEFAULT 0,
    segments        integer,
    provider_id     text,
    error_code      text,
    error_reason    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    final_at        timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_run_id, contact_id)
);
CREATE INDEX deliveries_pending_idx ON deliveries (campaign_run_id) WHERE status IN ('queued', 'sending');
CREATE INDEX deliveries_run_status_idx ON deliveries (campaign_run_id, status);
CREATE INDEX deliveries_provider_idx ON deliveries (channel_kind, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX deliveries_contact_idx ON deliveries (contact_id) WHERE contact_id IS NOT NULL;

-- Token buckets shared by every worker process, one per rate-limited thing (a channel, a sender,
-- a chat). Budgets are taken and refilled in one statement, so concurrent workers cannot overdraw.
CREATE TABLE rate_buckets (
    key        text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The sandbox channel's behaviour per workspace, for tests and demos.
CREATE TABLE sandbox_settings (
    workspace_id      bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    fail_share        real NOT NULL DEFAULT 0 CHECK (fail_share BETWEEN 0 AND 1),
    throttle_share    real NOT NULL DEFAULT 0 CHECK (throttle_share BETWEEN 0 AND 1),
    undelivered_share real NOT NULL DEFAULT 0 CHECK (undelivered_share BETWEEN 0 AND 1),
    -- Messages per second the sandbox accepts; 0 means no limit.
    rate_per_second   real NOT NULL DEFAULT 0 CHECK (rate_per_second >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- What the sandbox "sent": its outbox. Addresses and texts are personal data, so encrypted.
CREATE TABLE sandbox_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    delivery_id  bigint REFERENCES deliveries (id) ON DELETE SET NULL,
    campaign_id  bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    to_enc       bytea NOT NULL,
    to_index     bytea NOT NULL,
    text_enc     bytea NOT NULL,
    language     text NOT NULL,
    segments     integer NOT NULL,
    status       text NOT NULL DEFAULT 'sent',
    status_rank  smallint NOT NULL DEFAULT 30,
    sent_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_messages_to_idx ON sandbox_messages (workspace_id, to_index, id);

-- Every inbound message, stored before it is acknowledged. Handling comes with two-way messaging.
CREATE TABLE inbound_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    channel_kind text NOT NULL CHECK (channel_kind IN ('sms', 'telegram', 'sandbox')),
    -- The provider's id, so a retried webhook is stored once.
    provider_id  text NOT NULL,
    from_enc     bytea NOT NULL,
    from_index   bytea NOT NULL,
    text_enc     bytea NOT NULL,
    contact_id   bigint REFERENCES contacts (id) ON DELETE SET NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    handled_at   timestamptz,
    UNIQUE (workspace_id, channel_kind, provider_id)
);
CREATE INDEX inbound_messages_from_idx ON inbound_messages (workspace_id, from_index, id);
