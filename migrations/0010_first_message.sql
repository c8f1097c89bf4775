-- The first message a workspace sends a person who writes in for the first time, per language
-- (e.g. {"en": "...", "am": "..."}), before the answer to what they wrote. It can be read on a
-- locked phone by someone else, so it is meant to be neutral. {} sends none.
ALTER TABLE workspaces
    ADD COLUMN first_message jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(first_message) = 'object');
