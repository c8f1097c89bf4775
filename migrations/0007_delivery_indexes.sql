-- Sending looks up a contact's first identity on one channel kind (the claim's lateral join):
-- with (contact_id, kind, id) it is one index probe, not a scan of the contact's identities
-- through the primary key, which planned badly on tables without statistics.
CREATE INDEX contact_identities_contact_kind_idx ON contact_identities (contact_id, kind, id);
DROP INDEX contact_identities_contact_idx;

-- Deleting deliveries (campaign deletion, erasure) sets sandbox_messages.delivery_id to NULL:
-- without this index each deleted delivery scanned the whole sandbox outbox.
CREATE INDEX sandbox_messages_delivery_idx ON sandbox_messages (delivery_id) WHERE delivery_id IS NOT NULL;

-- Fan-out inserts deliveries 5,000 rows at a time, and PostgreSQL checks every foreign key once
-- per inserted row: the four checks took longer than the insert itself. The references hold by
-- construction (fan-out writes the contacts, campaign and run it has just read, in the
-- transaction that locks the run), so the per-row checks go, and what the keys did on delete is
-- done by triggers on the parent tables, which fire once per deleted parent: deleting a
-- workspace, campaign or run deletes its deliveries, and deleting (erasing) a contact clears
-- deliveries.contact_id, leaving the delivery as anonymous evidence.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_workspace_id_fkey,
                       DROP CONSTRAINT deliveries_campaign_id_fkey,
                       DROP CONSTRAINT deliveries_campaign_run_id_fkey,
                       DROP CONSTRAINT deliveries_contact_id_fkey;

CREATE FUNCTION deliveries_follow_parent_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'workspaces' THEN DELETE FROM deliveries WHERE workspace_id = OLD.id;
    WHEN 'campaigns' THEN DELETE FROM deliveries WHERE campaign_id = OLD.id;
    WHEN 'campaign_runs' THEN DELETE FROM deliveries WHERE campaign_run_id = OLD.id;
    WHEN 'contacts' THEN UPDATE deliveries SET contact_id = NULL WHERE contact_id = OLD.id;
    END CASE;
    RETURN OLD;
END
$$;
CREATE TRIGGER workspaces_delete_deliveries AFTER DELETE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION deliveries_follow_parent_delete();
CREATE TRIGGER campaigns_delete_deliveries AFTER DELETE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION deliveries_follow_parent_delete();
CREATE TRIGGER campaign_runs_delete_deliveries AFTER DELETE ON campaign_runs
    FOR EACH ROW EXECUTE FUNCTION deliveries_follow_parent_delete();
CREATE TRIGGER contacts_unlink_deliveries AFTER DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION deliveries_follow_parent_delete();

-- deliveries_run_status_idx (campaign_run_id, status) answers "anything queued or sending in
-- this run?" as well; one index fewer to write per delivery and per status change.
DROP INDEX deliveries_pending_idx;
