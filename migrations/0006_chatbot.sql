-- Two-way messaging: a workspace's chatbot tree and keyword changes, conversation state per
-- contact, and the settings that keep replies safe.

ALTER TABLE workspaces
    -- The neutral name HELP answers with; never the organisation's name if that could endanger.
    ADD COLUMN sender_name text NOT NULL DEFAULT '',
    -- Replies one sender can trigger per hour, so nobody can make the platform text numbers in bulk.
    ADD COLUMN replies_per_hour integer NOT NULL DEFAULT 6 CHECK (replies_per_hour BETWEEN 1 AND 1000),
    -- How long a conversation's place in the menus is remembered.
    ADD COLUMN conversation_ttl_seconds integer NOT NULL DEFAULT 1800 CHECK (conversation_ttl_seconds BETWEEN 60 AND 604800);

CREATE TABLE chatbot_trees (
    workspace_id bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    tree         jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Words a workspace adds to or removes from the shipped keywords, stored normalised.
CREATE TABLE keyword_overrides (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    intent       text NOT NULL CHECK (intent IN ('stop', 'start', 'help', 'language', 'talk')),
    word         text NOT NULL CHECK (length(word) BETWEEN 1 AND 64),
    action       text NOT NULL CHECK (action IN ('add', 'remove')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, intent, word)
);

-- Where each contact is in the chatbot's menus; gone after the workspace's TTL.
CREATE TABLE conversations (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id   bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    node         text NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);

-- Requests to talk to a person, recorded until the hotline takes them over.
CREATE TABLE talk_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id   bigint REFERENCES contacts (id) ON DELETE CASCADE,
    channel_kind text NOT NULL,
    message_id   bigint REFERENCES inbound_messages (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
