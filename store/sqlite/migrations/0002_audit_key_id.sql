-- The audit chain is keyed: each entry's hash is an HMAC-SHA256 under a key derived from the
-- KeyProvider's key named here, so keys can rotate. Entries written before this migration keep
-- '' and their unkeyed SHA-256; in the same transaction the store appends to every existing
-- log a keyed entry that vouches for them (sqlstore.keyAuditLogs).
ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
