-- name: InboundPrune :one
-- Deletes up to max_rows of a workspace's inbound messages received more than days ago, oldest
-- first, with the answers to them, and says how many of each went. A message that a handling
-- job holds at this moment is skipped, not waited for: the next batch or run takes it.
WITH doomed AS (
    SELECT i.id FROM inbound_messages i
    WHERE i.workspace_id = @workspace_id AND i.received_at < now() - make_interval(days => @days::int)
    ORDER BY i.received_at
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
), answers AS (
    -- They would go with their messages anyway (ON DELETE CASCADE); deleted here to be counted.
    DELETE FROM replies r USING doomed d
    WHERE r.message_id = d.id
    RETURNING 1
), gone AS (
    DELETE FROM inbound_messages m USING doomed d
    WHERE m.id = d.id
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone)::bigint AS messages, (SELECT count(*) FROM answers)::bigint AS answers;

-- name: OutboxPrune :execrows
-- Deletes up to max_rows of what a workspace's sandbox sent more than days ago, oldest first.
-- Deliveries keep their own record of each message; they lose nothing they need.
DELETE FROM sandbox_messages
WHERE id IN (
    SELECT s.id FROM sandbox_messages s
    WHERE s.workspace_id = @workspace_id AND s.sent_at < now() - make_interval(days => @days::int)
    ORDER BY s.sent_at
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
);
