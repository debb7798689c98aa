CREATE TABLE connections (
	account    TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	config     TEXT    NOT NULL,
	key_id     TEXT    NOT NULL,
	secret     BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account, name)
);

CREATE TABLE tenants (
	account   TEXT    NOT NULL,
	tenant_id TEXT    NOT NULL,
	client_id TEXT    NOT NULL DEFAULT '',
	syncing   INTEGER NOT NULL DEFAULT 0,
	status    TEXT    NOT NULL,
	record    BLOB    NOT NULL,
	PRIMARY KEY (account, tenant_id)
);

CREATE TABLE mirror (
	account   TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	item_id   TEXT NOT NULL,
	hash      TEXT NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (account, tenant_id, kind, item_id),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);

CREATE TABLE cursors (
	account   TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	cursor    TEXT NOT NULL,
	PRIMARY KEY (account, tenant_id, kind),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);

CREATE TABLE contact_links (
	account     TEXT    NOT NULL,
	tenant_id   TEXT    NOT NULL,
	object_id   TEXT    NOT NULL,
	client_id   TEXT    NOT NULL,
	contact_id  TEXT    NOT NULL,
	linked_at   INTEGER NOT NULL,
	deactivated INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account, tenant_id, object_id),
	UNIQUE (account, client_id, contact_id),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);

CREATE TABLE merges (
	account   TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	object_id TEXT NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (account, tenant_id, object_id),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);

CREATE TABLE reviews (
	account    TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	tenant_id  TEXT    NOT NULL,
	object_id  TEXT    NOT NULL,
	resolved   INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	data       BLOB    NOT NULL,
	PRIMARY KEY (account, id),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);
CREATE UNIQUE INDEX reviews_open ON reviews (account, tenant_id, object_id) WHERE resolved = 0;

CREATE TABLE sync_state (
	account   TEXT    NOT NULL,
	tenant_id TEXT    NOT NULL,
	next_due  INTEGER NOT NULL,
	data      BLOB    NOT NULL,
	PRIMARY KEY (account, tenant_id),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);

CREATE TABLE clients (
	account TEXT NOT NULL,
	id      TEXT NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (account, id)
);

CREATE TABLE contacts (
	account   TEXT NOT NULL,
	client_id TEXT NOT NULL,
	id        TEXT NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (account, client_id, id)
);

CREATE TABLE audit (
	account   TEXT    NOT NULL,
	seq       INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	actor     TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	tenant_id TEXT    NOT NULL,
	target    TEXT    NOT NULL,
	phase     TEXT    NOT NULL,
	outcome   TEXT    NOT NULL,
	route     TEXT    NOT NULL,
	error     TEXT    NOT NULL,
	detail    TEXT    NOT NULL,
	prev_hash TEXT    NOT NULL,
	hash      TEXT    NOT NULL,
	PRIMARY KEY (account, seq)
);

CREATE TABLE audit_heads (
	account TEXT    NOT NULL PRIMARY KEY,
	seq     INTEGER NOT NULL,
	hash    TEXT    NOT NULL
);

CREATE TABLE leases (
	account     TEXT    NOT NULL,
	tenant_id   TEXT    NOT NULL,
	holder      TEXT    NOT NULL,
	acquired_at INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (account, tenant_id),
	FOREIGN KEY (account, tenant_id) REFERENCES tenants (account, tenant_id)
);
