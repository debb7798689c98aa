-- The claim queue: a tenant's next due time kept on its row (0 until its first sync, so a
-- tenant never synced comes first, as before), with an index in the order the claim reads, so
-- AcquireDue reads the tenants that are due instead of joining and sorting every tenant and
-- sync state of the account at each claim (4.3 ms a claim at 2,000 tenants on PostgreSQL,
-- growing with the account). sync_state.next_due stays the record; migration 0011's triggers
-- keep the copy equal to it.
ALTER TABLE tenants ADD COLUMN next_due BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET next_due = (SELECT s.next_due FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id)
	WHERE EXISTS (SELECT 1 FROM sync_state s WHERE s.account = tenants.account AND s.tenant_id = tenants.tenant_id);
CREATE INDEX tenants_due ON tenants (account, status, next_due, tenant_id) WHERE syncing AND client_id <> '';
