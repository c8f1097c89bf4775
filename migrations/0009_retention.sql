-- How long a workspace keeps the texts people exchanged with it: inbound messages, the answers to
-- them (replies) and the sandbox's outbox. An hourly job deletes what is older. There is no "keep
-- for ever": these rows hold what people wrote and were told, encrypted but personal. Deliveries,
-- the consent ledger, suppressions and talk requests hold no message text and stay (a talk
-- request only loses its link to the message).
ALTER TABLE workspaces
    ADD COLUMN message_retention_days integer NOT NULL DEFAULT 90
        CHECK (message_retention_days BETWEEN 1 AND 36500);

-- The prune finds a workspace's oldest messages without reading the rest. Answers go with their
-- message (replies.message_id cascades, found through its UNIQUE (message_id, seq) index).
CREATE INDEX inbound_messages_received_idx ON inbound_messages (workspace_id, received_at);
CREATE INDEX sandbox_messages_sent_idx ON sandbox_messages (workspace_id, sent_at);
-- Deleting a message unlinks the talk requests made by it (ON DELETE SET NULL); without this
-- index each deleted message would read every talk request. Erasure deletes messages too.
CREATE INDEX talk_requests_message_idx ON talk_requests (message_id) WHERE message_id IS NOT NULL;
