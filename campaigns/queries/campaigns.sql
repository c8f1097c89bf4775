-- name: CampaignInsert :one
INSERT INTO campaigns (workspace_id, name, contents, audience, channel_order, append_opt_out, count_value,
                       schedule, quiet_hours, send_window_seconds, segment_cap)
VALUES (@workspace_id, @name, @contents, @audience, @channel_order, @append_opt_out, @count_value,
        @schedule, @quiet_hours, @send_window_seconds, @segment_cap)
RETURNING *;

-- name: CampaignUpdate :one
UPDATE campaigns SET
    name = @name, contents = @contents, audience = @audience, channel_order = @channel_order,
    append_opt_out = @append_opt_out, count_value = @count_value, schedule = @schedule,
    quiet_hours = @quiet_hours, send_window_seconds = @send_window_seconds, segment_cap = @segment_cap,
    updated_at = now()
WHERE workspace_id = @workspace_id AND id = @id
RETURNING *;

-- name: CampaignGet :one
SELECT * FROM campaigns WHERE workspace_id = @workspace_id AND id = @id;

-- name: CampaignGetByID :one
-- For jobs, which carry ids they were given by a workspace-checked request.
SELECT * FROM campaigns WHERE id = @id;

-- name: CampaignGetByRun :one
-- The campaign of a run, for send jobs, which carry the run's id.
SELECT c.* FROM campaigns c JOIN campaign_runs r ON r.campaign_id = c.id WHERE r.id = @run_id;


-- name: CampaignLock :one
SELECT * FROM campaigns WHERE id = @id FOR UPDATE;

-- name: CampaignList :many
SELECT * FROM campaigns
WHERE workspace_id = @workspace_id
  AND (sqlc.narg(state)::text IS NULL OR state = sqlc.narg(state))
  AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: CampaignSetState :exec
UPDATE campaigns SET state = @state, next_run_at = @next_run_at, updated_at = now() WHERE id = @id;

-- name: RunInsert :one
INSERT INTO campaign_runs (workspace_id, campaign_id, recipients) VALUES (@workspace_id, @campaign_id, @recipients)
RETURNING *;

-- name: RunLock :one
SELECT * FROM campaign_runs WHERE id = @id FOR UPDATE;

-- name: RunActive :one
SELECT * FROM campaign_runs WHERE campaign_id = @campaign_id AND state IN ('fanning_out', 'sending')
ORDER BY id DESC LIMIT 1;

-- name: RunLatest :one
SELECT * FROM campaign_runs WHERE campaign_id = @campaign_id ORDER BY id DESC LIMIT 1;

-- name: RunAdvance :exec
UPDATE campaign_runs SET fanout_cursor = @fanout_cursor, fanned = fanned + @batch_size::int WHERE id = @id;

-- name: RunFannedOut :exec
UPDATE campaign_runs SET state = 'sending', fanout_done_at = now() WHERE id = @id AND state = 'fanning_out';

-- name: RunFinish :exec
UPDATE campaign_runs SET state = @state, completed_at = now() WHERE id = @id AND state IN ('fanning_out', 'sending');

-- name: RunsSending :many
-- Runs whose fan-out is done and that have nothing left to send.
SELECT r.id, r.campaign_id FROM campaign_runs r
WHERE r.state = 'sending'
  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_run_id = r.id AND d.status IN ('queued', 'sending'));

-- name: AudienceBatch :many
-- Contacts of the audience after after_id, each with the first channel of the campaign's order
-- on which they have an address that is not suppressed and an opt-in as their latest consent.
-- Contacts with no such channel are left out: they get nothing.
-- The filters are CASE expressions, not "cardinality(x) = 0 OR ...": in a generic plan on tables
-- without statistics the OR form is estimated as selective, so each batch scanned every contact
-- after after_id (seconds per batch at a million contacts); the CASE form keeps the id-range scan.
SELECT c.id, c.language, c.time_zone, ch.kind::text AS channel_kind
FROM contacts c
CROSS JOIN LATERAL (
    SELECT k.kind
    FROM unnest(@channel_order::text[]) WITH ORDINALITY AS k(kind, ord)
    WHERE EXISTS (
            SELECT 1 FROM contact_identities i
            WHERE i.contact_id = c.id AND i.kind = k.kind
              AND NOT EXISTS (SELECT 1 FROM suppressions s
                              WHERE s.workspace_id = i.workspace_id AND s.channel_kind = i.kind AND s.value_index = i.value_index))
      AND (SELECT ce.status FROM consent_events ce
           WHERE ce.contact_id = c.id AND ce.channel_kind = k.kind
           ORDER BY ce.id DESC LIMIT 1) = 'opt_in'
    ORDER BY k.ord
    LIMIT 1
) ch
WHERE c.workspace_id = @workspace_id
  AND c.id > @after_id
  AND CASE WHEN cardinality(@countries::text[]) = 0 THEN true ELSE c.country = ANY(@countries::text[]) END
  AND CASE WHEN cardinality(@admin_areas::text[]) = 0 THEN true ELSE c.admin_area = ANY(@admin_areas::text[]) END
  AND CASE WHEN cardinality(@languages::text[]) = 0 THEN true ELSE c.language = ANY(@languages::text[]) END
  AND CASE WHEN cardinality(@tags::text[]) = 0 THEN true ELSE c.tags && @tags::text[] END
ORDER BY c.id
LIMIT @max_rows;

-- name: AudienceCount :one
-- Contacts matching the filters, reachable or not.
SELECT count(*) FROM contacts c
WHERE c.workspace_id = @workspace_id
  AND CASE WHEN cardinality(@countries::text[]) = 0 THEN true ELSE c.country = ANY(@countries::text[]) END
  AND CASE WHEN cardinality(@admin_areas::text[]) = 0 THEN true ELSE c.admin_area = ANY(@admin_areas::text[]) END
  AND CASE WHEN cardinality(@languages::text[]) = 0 THEN true ELSE c.language = ANY(@languages::text[]) END
  AND CASE WHEN cardinality(@tags::text[]) = 0 THEN true ELSE c.tags && @tags::text[] END;

-- name: DeliveryInsertBatch :many
-- Idempotent: a contact already holding a delivery of this run is skipped, and only the rows
-- actually inserted come back, so a fan-out run again makes no second delivery or job.
INSERT INTO deliveries (workspace_id, campaign_id, campaign_run_id, contact_id, channel_kind, language,
                        status, status_rank, not_before, error_reason, final_at)
SELECT @workspace_id, @campaign_id, @run_id, x.contact_id, x.channel_kind, x.language,
       x.status, x.status_rank, x.not_before, nullif(x.reason, ''),
       CASE WHEN x.status = 'skipped' THEN now() END
FROM (SELECT unnest(@contact_ids::bigint[]) AS contact_id, unnest(@channel_kinds::text[]) AS channel_kind,
             unnest(@languages::text[]) AS language, unnest(@statuses::text[]) AS status,
             unnest(@status_ranks::smallint[]) AS status_rank, unnest(@not_befores::timestamptz[]) AS not_before,
             unnest(@reasons::text[]) AS reason) x
ON CONFLICT (campaign_run_id, contact_id) DO NOTHING
RETURNING id, channel_kind, status, not_before;

-- name: DeliveriesClaim :many
-- Locks the still-queued deliveries of a send job, skipping any another worker holds, with what
-- sending needs: the contact's name and address on the delivery's channel (both encrypted) and
-- whether they may still be messaged (latest consent opt-in, address not suppressed), and the
-- campaign's state as of the lock.
SELECT d.id, d.workspace_id, d.campaign_id, d.campaign_run_id, d.contact_id, d.channel_kind, d.language,
       d.snoozes, cm.state AS campaign_state, c.name_enc,
       i.value_enc AS address_enc,
       (i.id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.workspace_id = d.workspace_id
                        AND s.channel_kind = d.channel_kind AND s.value_index = i.value_index)
        AND (SELECT ce.status FROM consent_events ce WHERE ce.contact_id = d.contact_id
             AND ce.channel_kind = d.channel_kind ORDER BY ce.id DESC LIMIT 1) = 'opt_in')::boolean AS reachable
FROM deliveries d
JOIN campaigns cm ON cm.id = d.campaign_id
LEFT JOIN contacts c ON c.id = d.contact_id
LEFT JOIN LATERAL (
    SELECT i.id, i.value_enc, i.value_index FROM contact_identities i
    WHERE i.contact_id = d.contact_id AND i.kind = d.channel_kind ORDER BY i.id LIMIT 1
) i ON true
WHERE d.id = ANY(@ids::bigint[]) AND d.status = 'queued'
ORDER BY d.id
FOR UPDATE OF d SKIP LOCKED;

-- name: DeliveriesMarkSending :exec
UPDATE deliveries SET status = 'sending', status_rank = 20, attempts = attempts + 1, updated_at = now()
WHERE id = ANY(@ids::bigint[]);

-- name: DeliveryRequeue :exec
-- Back to queued after a throttled or temporary failure; snoozes counts throttles.
UPDATE deliveries SET status = 'queued', status_rank = 10, snoozes = snoozes + @snoozed::int,
       error_code = nullif(@error_code::text, ''), error_reason = nullif(@error_reason::text, ''), updated_at = now()
WHERE id = @id AND status = 'sending';

-- name: DeliveryFail :exec
UPDATE deliveries SET status = @status, status_rank = @status_rank, error_code = nullif(@error_code::text, ''),
       error_reason = nullif(@error_reason::text, ''), final_at = now(), updated_at = now()
WHERE id = @id AND status_rank < @status_rank;

-- name: DeliveryStatusByProvider :one
-- Moves a delivery forward only: a late or repeated callback whose status ranks lower changes nothing.
UPDATE deliveries SET status = @status, status_rank = @status_rank,
       error_code = coalesce(nullif(@error_code::text, ''), error_code),
       final_at = CASE WHEN @final::boolean THEN now() ELSE final_at END, updated_at = now()
WHERE workspace_id = @workspace_id AND channel_kind = @channel_kind AND provider_id = @provider_id
  AND status_rank < @status_rank
RETURNING id;

-- name: DeliveriesStatusBatch :exec
-- DeliveryStatusByProvider for many deliveries of one workspace and channel at once (the sandbox's
-- receipts of one send job), by delivery id; forward only.
UPDATE deliveries d SET status = x.status, status_rank = x.status_rank,
       final_at = CASE WHEN x.final THEN now() ELSE d.final_at END, updated_at = now()
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@statuses::text[]) AS status,
             unnest(@status_ranks::smallint[]) AS status_rank, unnest(@finals::boolean[]) AS final) x
WHERE d.id = x.id AND d.workspace_id = @workspace_id AND d.channel_kind = @channel_kind
  AND d.provider_id IS NOT NULL AND d.status_rank < x.status_rank;

-- name: DeliveriesCancelQueued :execrows
UPDATE deliveries SET status = 'cancelled', status_rank = 70, final_at = now(), updated_at = now()
WHERE campaign_run_id = @run_id AND status = 'queued';

-- name: DeliveriesQueued :many
-- Queued deliveries of a run, for re-enqueueing send jobs after a pause.
SELECT id, channel_kind, not_before FROM deliveries
WHERE campaign_run_id = @run_id AND status = 'queued' AND id > @after_id
ORDER BY id LIMIT @max_rows;

-- name: RunStats :many
SELECT status, channel_kind, language, count(*)::bigint AS n, coalesce(sum(segments), 0)::bigint AS segments
FROM deliveries WHERE campaign_run_id = @run_id
GROUP BY status, channel_kind, language;

-- name: CampaignStats :many
SELECT status, channel_kind, language, count(*)::bigint AS n, coalesce(sum(segments), 0)::bigint AS segments
FROM deliveries WHERE campaign_run_id IN (SELECT r.id FROM campaign_runs r WHERE r.campaign_id = @campaign_id)
GROUP BY status, channel_kind, language;

-- name: DeliveriesRequeueSending :exec
-- A send job's earlier attempt died between claiming and recording: its deliveries go again.
UPDATE deliveries SET status = 'queued', status_rank = 10, updated_at = now()
WHERE id = ANY(@ids::bigint[]) AND status = 'sending';

-- name: DeliveryProvider :many
SELECT id, channel_kind, provider_id FROM deliveries WHERE id = ANY(@ids::bigint[]) AND provider_id IS NOT NULL;

-- name: DeliveryStatusByID :one
-- A status callback that names our delivery (Twilio's callback URL carries its id) may arrive
-- before the send's own commit recorded the provider's id: it then records that id too.
UPDATE deliveries SET status = @status, status_rank = @status_rank,
       provider_id = coalesce(provider_id, @provider_id::text),
       error_code = coalesce(nullif(@error_code::text, ''), error_code),
       final_at = CASE WHEN @final::boolean THEN now() ELSE final_at END, updated_at = now()
WHERE id = @id AND workspace_id = @workspace_id AND channel_kind = @channel_kind
  AND (provider_id IS NULL OR provider_id = @provider_id::text) AND status_rank < @status_rank
RETURNING id;

-- name: DeliveriesSent :exec
-- DeliverySent for a whole job's sent messages in one statement.
UPDATE deliveries d SET
       status = CASE WHEN d.status_rank < 30 THEN 'sent' ELSE d.status END,
       status_rank = greatest(d.status_rank, 30),
       provider_id = coalesce(d.provider_id, x.provider_id), segments = x.segments,
       sent_at = coalesce(d.sent_at, now()), updated_at = now()
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@provider_ids::text[]) AS provider_id,
             unnest(@segments::int[]) AS segments) x
WHERE d.id = x.id;
