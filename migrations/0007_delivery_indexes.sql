-- Sending looks up a contact's first identity on one channel kind (the claim's lateral join):
-- with (contact_id, kind, id) it is one index probe, not a scan of the contact's identities
-- through the primary key, which planned badly on tables without statistics.
CREATE INDEX contact_identities_contact_kind_idx ON contact_identities (contact_id, kind, id);
DROP INDEX contact_identities_contact_idx;

-- Deleting deliveries (campaign deletion, erasure) sets sandbox_messages.delivery_id to NULL:
-- without this index each deleted delivery scanned the whole sandbox outbox.
CREATE INDEX sandbox_messages_delivery_idx ON sandbox_messages (delivery_id) WHERE delivery_id IS NOT NULL;

-- Fan-out inserts deliveries 5,000 rows at a time, and PostgreSQL checks a foreign key once per
-- row: the checks on contact_id and campaign_run_id took about as long as the insert itself.
-- Both references hold by construction (fan-out writes the contacts and run it has just read, in
-- the transaction that locks the run), deleting a campaign still removes its runs and deliveries
-- through campaign_id, and erasure now clears deliveries.contact_id itself (contacts.Erase).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_contact_id_fkey,
                       DROP CONSTRAINT deliveries_campaign_run_id_fkey;

-- deliveries_run_status_idx (campaign_run_id, status) answers "anything queued or sending in
-- this run?" as well; one index fewer to write per delivery and per status change.
DROP INDEX deliveries_pending_idx;
