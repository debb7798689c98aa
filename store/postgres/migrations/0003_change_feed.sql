-- The change feed: every change a commit makes to an account's mirror, links and reviews, and
-- what the engine reports with it, appended in the commit's transaction. seq is the entry's
-- place in the account's feed; change_heads records the latest seq assigned and the highest one
-- retention removed, so a cursor older than what is kept is told apart from one that is up to
-- date. entry is the Change without its Data, which data holds as stored (the item's JSON,
-- not encoded again). Entries have no foreign key to tenants: they outlive a purged tenant
-- until retention removes them.
CREATE TABLE change_feed (
	account   TEXT   NOT NULL,
	seq       BIGINT NOT NULL,
	at        BIGINT NOT NULL,
	tenant_id TEXT   NOT NULL,
	entry     JSONB  NOT NULL,
	data      BYTEA  NOT NULL,
	PRIMARY KEY (account, seq)
);

CREATE INDEX change_feed_at ON change_feed (account, at);

CREATE TABLE change_heads (
	account TEXT   NOT NULL PRIMARY KEY,
	head    BIGINT NOT NULL,
	pruned  BIGINT NOT NULL
);
