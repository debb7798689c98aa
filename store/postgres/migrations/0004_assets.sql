-- The default asset directory: a client's configuration items, the PSA stand-in's assets, kept
-- like contacts (data is the tenantsync.Asset as JSON). Assets are retired, never deleted.
CREATE TABLE assets (
	account   TEXT NOT NULL,
	client_id TEXT NOT NULL,
	id        TEXT NOT NULL,
	data      JSONB NOT NULL,
	PRIMARY KEY (account, client_id, id)
);
