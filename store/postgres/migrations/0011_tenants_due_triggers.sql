-- The claim queue's copy of next_due (migration 0010) kept by the database: triggers on
-- sync_state set it in the transaction that writes the state, whoever writes it (the store, an
-- engine of an earlier version during a rolling upgrade, a direct write), and a deleted state (a
-- purge) makes the tenant as new. The function's search_path is pinned to this schema, so a
-- session whose search_path names another schema (or none) still updates this schema's
-- tenants. State writes wait while the trigger is installed (a database that has it already,
-- from an earlier form of migration 0010, keeps it and gets the function replaced in place), and
-- the copy is then filled again from the states.
LOCK TABLE sync_state IN SHARE ROW EXCLUSIVE MODE;
CREATE OR REPLACE FUNCTION tenants_due_follow_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE tenants SET next_due = 0 WHERE account = OLD.account AND tenant_id = OLD.tenant_id AND next_due <> 0;
		RETURN OLD;
	END IF;
	UPDATE tenants SET next_due = NEW.next_due WHERE account = NEW.account AND tenant_id = NEW.tenant_id AND next_due <> NEW.next_due;
	RETURN NEW;
END
$$;
DO $$ BEGIN
	EXECUTE format('ALTER FUNCTION tenants_due_follow_state() SET search_path = %I, pg_temp', current_schema());
END $$;
DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'sync_state'::regclass AND tgname = 'sync_state_due') THEN
		CREATE TRIGGER sync_state_due AFTER INSERT OR UPDATE OF next_due OR DELETE ON sync_state
			FOR EACH ROW EXECUTE FUNCTION tenants_due_follow_state();
	END IF;
END $$;
UPDATE tenants SET next_due = COALESCE((SELECT s.next_due FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id), 0)
	WHERE next_due <> COALESCE((SELECT s.next_due FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id), 0);
