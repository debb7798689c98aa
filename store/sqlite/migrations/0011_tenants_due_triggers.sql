-- The claim queue's copy of next_due (migration 0010) kept by the database: triggers on
-- sync_state set it in the transaction that writes the state, whoever writes it (the store, an
-- engine of an earlier version during a rolling upgrade, a direct write), and a deleted state (a
-- purge) makes the tenant as new. The copy is then filled again from the states.
CREATE TRIGGER IF NOT EXISTS sync_state_due_insert AFTER INSERT ON sync_state BEGIN
	UPDATE tenants SET next_due = NEW.next_due WHERE account = NEW.account AND tenant_id = NEW.tenant_id AND next_due <> NEW.next_due;
END;
CREATE TRIGGER IF NOT EXISTS sync_state_due_update AFTER UPDATE OF next_due ON sync_state BEGIN
	UPDATE tenants SET next_due = NEW.next_due WHERE account = NEW.account AND tenant_id = NEW.tenant_id AND next_due <> NEW.next_due;
END;
CREATE TRIGGER IF NOT EXISTS sync_state_due_delete AFTER DELETE ON sync_state BEGIN
	UPDATE tenants SET next_due = 0 WHERE account = OLD.account AND tenant_id = OLD.tenant_id AND next_due <> 0;
END;
UPDATE tenants SET next_due = COALESCE((SELECT s.next_due FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id), 0)
	WHERE next_due <> COALESCE((SELECT s.next_due FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id), 0);
