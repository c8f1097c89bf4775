-- The answers Waymark sends to inbound messages (the chatbot's confirmations, pickers, menus and
-- answers). Each is stored, pending, in the transaction that handles the message it answers, and
-- marked sent with the provider's id after the provider accepted it: a retried handling job sends
-- only what is still pending, and the conversation view shows both sides.
--
-- The text and buttons are personal data (they show what a person asked about) and are stored
-- encrypted. The address is not stored: it is the sender of the message answered.
CREATE TABLE replies (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    contact_id   bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    message_id   bigint NOT NULL REFERENCES inbound_messages (id) ON DELETE CASCADE,
    -- The answer's place among the answers to its message, from 0.
    seq          smallint NOT NULL CHECK (seq >= 0),
    channel_kind text NOT NULL CHECK (channel_kind IN ('sms', 'telegram', 'sandbox')),
    text_enc     bytea NOT NULL,
    -- Inline buttons (Telegram), encrypted JSON; NULL for plain text.
    buttons_enc  bytea,
    provider_id  text,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    UNIQUE (message_id, seq)
);
-- Contact ids are unique across workspaces: this serves the conversation view and the deletion
-- of a contact alike.
CREATE INDEX replies_contact_idx ON replies (contact_id, created_at, id);

-- A pressed inline button's callback query id (Telegram), which the bot answers once so that the
-- button stops showing progress. Telegram's own id, not personal data.
ALTER TABLE inbound_messages ADD COLUMN callback_query_id text NOT NULL DEFAULT '';

-- The conversation view lists a contact's messages by time; erasing a contact finds them too.
CREATE INDEX inbound_messages_contact_idx ON inbound_messages (contact_id, received_at, id)
    WHERE contact_id IS NOT NULL;
