-- The claim queue: a tenant's next due time kept on its row (0 until its first sync, so a
-- tenant never synced comes first, as before), with an index in the order the claim reads, so
-- AcquireDue reads the tenants that are due instead of joining and sorting every tenant and
-- sync state of the account at each claim (4.3 ms a claim at 2,000 tenants on PostgreSQL,
-- growing with the account). sync_state.next_due stays the record: the trigger keeps the copy
-- equal to it in the transaction that writes the state, whoever writes it (an engine of an
-- earlier version during an upgrade too), and a deleted state (a purge) makes the tenant as new.
ALTER TABLE tenants ADD COLUMN next_due BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET next_due = (SELECT s.next_due FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id)
	WHERE EXISTS (SELECT 1 FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id);
CREATE INDEX tenants_due ON tenants (account, status, next_due, tenant_id) WHERE syncing AND client_id <> '';

CREATE FUNCTION tenants_due_follow_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE tenants SET next_due = 0 WHERE account = OLD.account AND tenant_id = OLD.tenant_id AND next_due <> 0;
		RETURN OLD;
	END IF;
	UPDATE tenants SET next_due = NEW.next_due WHERE account = NEW.account AND tenant_id = NEW.tenant_id AND next_due <> NEW.next_due;
	RETURN NEW;
END
$$;
CREATE TRIGGER sync_state_due AFTER INSERT OR UPDATE OF next_due OR DELETE ON sync_state
	FOR EACH ROW EXECUTE FUNCTION tenants_due_follow_state();
