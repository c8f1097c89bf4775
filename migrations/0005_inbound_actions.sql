-- The parts of an inbound message that are not its text: the data of a pressed inline button
-- (Telegram) and a /start deep-link payload. Both are Waymark's own strings, not personal data.
ALTER TABLE inbound_messages
    ADD COLUMN callback      text NOT NULL DEFAULT '',
    ADD COLUMN start_payload text NOT NULL DEFAULT '';
