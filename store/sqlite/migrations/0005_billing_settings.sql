-- Billing history: each client's billable-user count per UTC day (day is the Unix time of its
-- midnight, in seconds), so a PSA can prorate a month. A later count of the same day replaces
-- the earlier one. snapshot is the store.BillingSnapshot as JSON.
CREATE TABLE billing_snapshots (
	account   TEXT   NOT NULL,
	client_id TEXT   NOT NULL,
	day       BIGINT NOT NULL,
	snapshot  BLOB  NOT NULL,
	PRIMARY KEY (account, client_id, day)
);

CREATE INDEX billing_snapshots_day ON billing_snapshots (account, day);

-- Settings: the account's defaults (client_id '') and each client's own, as JSON
-- (store.ClientSettings); a client's unset fields take the defaults.
CREATE TABLE client_settings (
	account   TEXT NOT NULL,
	client_id TEXT NOT NULL,
	settings  BLOB NOT NULL,
	PRIMARY KEY (account, client_id)
);
