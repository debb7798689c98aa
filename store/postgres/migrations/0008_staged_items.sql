-- The staging area of a streamed sync: a kind's items as a source delivers them page by page,
-- kept apart from the mirror until the commit applies them with the kind's cursor in its one
-- transaction (and deletes them), so no process holds a whole listing and a failed or cut-short
-- listing changes nothing. stage_id names one run; a run opening a stage for a tenant deletes
-- what earlier runs of the tenant left (a killed run's rows). removed marks a change set's
-- removal (no data); blocked a user whose sign-in is blocked, so the deletion guard's count of
-- newly blocked users is one query; action is what the commit's apply did with the row
-- ('added', 'updated'), so the commit writes the feed entries at its end, after the mirror, as it
-- does for a kind in memory. The rows are transient: no foreign key, no feed entry of their own.
CREATE TABLE staged_items (
	account   TEXT    NOT NULL,
	tenant_id TEXT    NOT NULL,
	stage_id  TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	item_id   TEXT    NOT NULL,
	hash      TEXT    NOT NULL,
	data      BYTEA   NOT NULL,
	removed   INTEGER NOT NULL,
	blocked   INTEGER NOT NULL,
	action    TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (account, tenant_id, stage_id, kind, item_id)
);

CREATE TABLE stages (
	account   TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	stage_id  TEXT NOT NULL,
	PRIMARY KEY (account, tenant_id)
);
