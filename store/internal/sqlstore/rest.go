package sqlstore

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// Clients

// PutClient implements store.Clients.
func (s *Store) PutClient(ctx context.Context, acct string, c tenantsync.Client) error {
	const op = "PutClient"
	c, err := kit.CheckClient(op, acct, c)
	if err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		_, err := q.Exec(ctx, `INSERT INTO clients (account, id, data) VALUES (?, ?, ?)
			ON CONFLICT (account, id) DO UPDATE SET data = excluded.data`, acct, c.ID, asJSON(c))
		return err
	})
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, acct, clientID string) (tenantsync.Client, error) {
	const op = "GetClient"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.Client{}, err
	}
	var c tenantsync.Client
	err := s.readOne(ctx, op, "", func(q bq) (err error) {
		c, err = scanJSONRow[tenantsync.Client](q.QueryRow(ctx, `SELECT data FROM clients WHERE account = ? AND id = ?`, acct, clientID))
		if notFound(err) {
			return kit.ClientNotFound(op, clientID)
		}
		return err
	})
	return c, err
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context, acct string) ([]tenantsync.Client, error) {
	return listJSON[tenantsync.Client](ctx, s, "ListClients", acct, "", `SELECT data FROM clients WHERE account = ? ORDER BY id`, acct)
}

// Contacts

// CreateContact implements store.ContactStore.
func (s *Store) CreateContact(ctx context.Context, acct string, c tenantsync.Contact) (tenantsync.Contact, error) {
	const op = "CreateContact"
	c, err := kit.NewContact(op, acct, c)
	if err != nil {
		return tenantsync.Contact{}, err
	}
	err = s.write(ctx, op, "", func(q bq) error {
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM contacts WHERE account = ? AND client_id = ? AND id = ?`, acct, c.ClientID, c.ID).Scan(&one)
		if err == nil {
			return kit.ContactExists(op, c.ID)
		}
		if !notFound(err) {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO contacts (account, client_id, id, data) VALUES (?, ?, ?, ?)`, acct, c.ClientID, c.ID, asJSON(c))
		return err
	})
	if err != nil {
		return tenantsync.Contact{}, err
	}
	return c, nil
}

// UpdateContact implements store.ContactStore.
func (s *Store) UpdateContact(ctx context.Context, acct string, c tenantsync.Contact) error {
	const op = "UpdateContact"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		n, err := q.Exec(ctx, `UPDATE contacts SET data = ? WHERE account = ? AND client_id = ? AND id = ?`, asJSON(c), acct, c.ClientID, c.ID)
		if err == nil && n == 0 {
			return kit.ContactNotFound(op, c.ClientID, c.ID)
		}
		return err
	})
}

// SetContactActive implements store.ContactStore.
func (s *Store) SetContactActive(ctx context.Context, acct, clientID, contactID string, active bool) error {
	const op = "SetContactActive"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		c, err := s.getContact(ctx, q, op, acct, clientID, contactID, s.d.ForUpdate())
		if err != nil {
			return err
		}
		c.Active = active
		_, err = q.Exec(ctx, `UPDATE contacts SET data = ? WHERE account = ? AND client_id = ? AND id = ?`, asJSON(c), acct, clientID, contactID)
		return err
	})
}

func (s *Store) getContact(ctx context.Context, q bq, op, acct, clientID, contactID, lock string) (tenantsync.Contact, error) {
	c, err := scanJSONRow[tenantsync.Contact](q.QueryRow(ctx, `SELECT data FROM contacts WHERE account = ? AND client_id = ? AND id = ?`+lock, acct, clientID, contactID))
	if notFound(err) {
		return c, kit.ContactNotFound(op, clientID, contactID)
	}
	return c, err
}

// GetContact implements store.ContactStore.
func (s *Store) GetContact(ctx context.Context, acct, clientID, contactID string) (tenantsync.Contact, error) {
	const op = "GetContact"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.Contact{}, err
	}
	var c tenantsync.Contact
	err := s.read(ctx, op, "", func(q bq) error {
		var err error
		c, err = s.getContact(ctx, q, op, acct, clientID, contactID, "")
		return err
	})
	return c, err
}

// ListContacts implements store.ContactStore.
func (s *Store) ListContacts(ctx context.Context, acct, clientID string) ([]tenantsync.Contact, error) {
	return listJSON[tenantsync.Contact](ctx, s, "ListContacts", acct, "", `SELECT data FROM contacts WHERE account = ? AND client_id = ? ORDER BY id`, acct, clientID)
}

// Audit

const auditCols = `account, seq, at, actor, action, tenant_id, target, phase, outcome, route, error, detail, prev_hash, hash, key_id`

func scanEntry(r Row) (tenantsync.AuditEntry, error) {
	var e tenantsync.AuditEntry
	var at int64
	var detail string
	err := r.Scan(&e.Account, &e.Seq, &at, &e.Actor, &e.Action, &e.TenantID, &e.Target, &e.Phase, &e.Outcome, &e.Route, &e.Error, &detail, &e.PrevHash, &e.Hash, &e.KeyID)
	if err != nil {
		return e, err
	}
	e.At = fromMicros(at)
	if detail != "" && detail != "null" {
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return e, err
		}
	}
	return e, nil
}

func entryArgs(e tenantsync.AuditEntry) []any {
	detail := ""
	if len(e.Detail) > 0 {
		// A map of strings always encodes.
		b, _ := json.Marshal(e.Detail)
		detail = string(b)
	}
	return []any{e.Account, e.Seq, micros(e.At), e.Actor, e.Action, e.TenantID, e.Target, e.Phase, e.Outcome, e.Route, e.Error, detail, e.PrevHash, e.Hash, e.KeyID}
}

// AppendAudit implements store.Audit.
func (s *Store) AppendAudit(ctx context.Context, acct string, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	const op = "AppendAudit"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.AuditEntry{}, err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	var out tenantsync.AuditEntry
	err := s.write(ctx, op, e.TenantID, func(q bq) (err error) {
		out, err = s.appendAudit(ctx, q, acct, e)
		return err
	})
	return out, err
}

// appendAudit chains e to the account's recorded head and stores both.
func (s *Store) appendAudit(ctx context.Context, q bq, acct string, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	// One appender per account at a time, or two would chain to the same predecessor.
	if err := s.d.LockAccount(ctx, q.q, acct, "audit"); err != nil {
		return e, err
	}
	head, err := auditHead(ctx, q, acct)
	if err != nil {
		return e, err
	}
	out, err := store.ChainAudit(ctx, s.keys, acct, head, e)
	if err != nil {
		return e, err
	}
	if _, err := q.Exec(ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, entryArgs(out)...); err != nil {
		return e, err
	}
	return out, setAuditHead(ctx, q, acct, store.AuditHead{Seq: out.Seq, Hash: out.Hash})
}

// auditHead reads the account's recorded head, the zero head when it has none.
func auditHead(ctx context.Context, q bq, acct string) (store.AuditHead, error) {
	var h store.AuditHead
	err := q.QueryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE account = ?`, acct).Scan(&h.Seq, &h.Hash)
	if notFound(err) {
		return store.AuditHead{}, nil
	}
	return h, err
}

func setAuditHead(ctx context.Context, q bq, acct string, h store.AuditHead) error {
	_, err := q.Exec(ctx, `INSERT INTO audit_heads (account, seq, hash) VALUES (?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, acct, h.Seq, h.Hash)
	return err
}

// ListAudit implements store.Audit.
func (s *Store) ListAudit(ctx context.Context, acct string, aq store.AuditQuery) ([]tenantsync.AuditEntry, error) {
	const op = "ListAudit"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	query := `SELECT ` + auditCols + ` FROM audit WHERE account = ? AND seq > ?`
	args := []any{acct, aq.AfterSeq}
	if aq.TenantID != "" {
		query += ` AND tenant_id = ?`
		args = append(args, aq.TenantID)
	}
	query += ` ORDER BY seq`
	if aq.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, aq.Limit)
	}
	var out []tenantsync.AuditEntry
	err := s.read(ctx, op, "", func(q bq) (err error) {
		out, err = scanAll(ctx, q, scanEntry, query, args...)
		return err
	})
	return out, err
}

// VerifyAudit implements store.Audit.
func (s *Store) VerifyAudit(ctx context.Context, acct string, expect *store.AuditHead) (store.AuditVerification, error) {
	const op = "VerifyAudit"
	if _, err := store.NewAuditVerifier(acct, s.keys, store.AuditHead{}, expect); err != nil {
		return store.AuditVerification{}, err // bad arguments, before any reading
	}
	var out store.AuditVerification
	err := s.read(ctx, op, "", func(q bq) error {
		// One snapshot for the head and the entries, so a concurrent append is seen in both
		// or neither.
		head, err := auditHead(ctx, q, acct)
		if err != nil {
			return err
		}
		v, err := store.NewAuditVerifier(acct, s.keys, head, expect)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+auditCols+` FROM audit WHERE account = ? ORDER BY seq`, acct)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return err
			}
			if ok, err := v.Next(ctx, e); err != nil {
				return err
			} else if !ok {
				break
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		out = v.Finish()
		return nil
	})
	if err != nil {
		return store.AuditVerification{}, err
	}
	return out, nil
}

// RawAudit returns an account's stored audit rows and recorded head as they are, for tests
// that tamper with them.
func RawAudit(ctx context.Context, s *Store, acct string) ([]tenantsync.AuditEntry, store.AuditHead, error) {
	var entries []tenantsync.AuditEntry
	var head store.AuditHead
	err := s.read(ctx, "RawAudit", "", func(q bq) (err error) {
		if head, err = auditHead(ctx, q, acct); err != nil {
			return err
		}
		entries, err = scanAll(ctx, q, scanEntry, `SELECT `+auditCols+` FROM audit WHERE account = ? ORDER BY seq`, acct)
		return err
	})
	return entries, head, err
}

// SetRawAudit replaces an account's stored audit rows and recorded head with these, written as
// they are, as someone with write access to the database could; for tests that prove
// VerifyAudit notices. A zero head removes the recorded head.
func SetRawAudit(ctx context.Context, s *Store, acct string, entries []tenantsync.AuditEntry, head store.AuditHead) error {
	return s.write(ctx, "SetRawAudit", "", func(q bq) error {
		if _, err := q.Exec(ctx, `DELETE FROM audit WHERE account = ?`, acct); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM audit_heads WHERE account = ?`, acct); err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := q.Exec(ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, entryArgs(e)...); err != nil {
				return err
			}
		}
		if head.IsZero() {
			return nil
		}
		return setAuditHead(ctx, q, acct, head)
	})
}

// keyAuditLogs is the upgrade of migration 2, which adds the key ID to audit entries: it
// appends a keyed entry to every account's existing log, chained to the unkeyed entries
// before it. That entry vouches for them under the key, so from then on a verification
// accepts unkeyed entries only as a prefix that a keyed entry follows; a log rewritten
// without the key as unkeyed entries throughout fails.
//
// It runs once, in the migration's transaction, so the chain it vouches for is the chain as
// the upgrade found it; a database written to by someone without the key before the upgrade
// is not made trustworthy by it.
func keyAuditLogs(s *Store) Upgrade {
	return func(ctx context.Context, q Q) error {
		b := bq{q, s}
		type legacy struct {
			account string
			seq     int64
		}
		logs, err := scanAll(ctx, b, func(r Row) (l legacy, err error) {
			return l, r.Scan(&l.account, &l.seq)
		}, `SELECT account, seq FROM audit_heads ORDER BY account`)
		if err != nil || len(logs) == 0 {
			return err
		}
		if s.keys == nil {
			return store.Invalid("Open", "open the store with its KeyProvider: upgrading the database keys the existing audit logs with it",
				"%d accounts have an audit log to key and no key provider was given", len(logs))
		}
		now := s.now()
		for _, l := range logs {
			_, err = s.appendAudit(ctx, b, l.account, tenantsync.AuditEntry{At: now, Actor: "tenantsync", Action: "key_audit_log",
				Phase: "result", Outcome: "succeeded", Detail: map[string]string{"unkeyed_entries": strconv.FormatInt(l.seq, 10)}})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// Leases

// claim takes the tenant's lease for holder when it is free, expired, or (when own) already
// the holder's, in one statement, so racing claimants cannot both win.
func claim(ctx context.Context, q bq, acct, tenantID, holder string, now time.Time, ttl time.Duration, own bool) (bool, error) {
	n, t := micros(now), micros(store.Time(now.Add(ttl)))
	query := `INSERT INTO leases (account, tenant_id, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account, tenant_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
		acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > ? THEN leases.acquired_at ELSE excluded.acquired_at END
		WHERE leases.expires_at <= ?`
	args := []any{acct, tenantID, holder, n, t, n, n}
	if own {
		query += ` OR leases.holder = excluded.holder`
	}
	rows, err := q.Exec(ctx, query, args...)
	return rows == 1, err
}

// getLease reads the tenant's lease; lock is "" or the dialect's ForUpdate.
func (s *Store) getLease(ctx context.Context, q bq, acct, tenantID, lock string) (store.Lease, error) {
	l := store.Lease{TenantID: tenantID}
	var acq, exp int64
	err := q.QueryRow(ctx, `SELECT holder, acquired_at, expires_at FROM leases WHERE account = ? AND tenant_id = ?`+lock, acct, tenantID).Scan(&l.Holder, &acq, &exp)
	if err != nil {
		return store.Lease{}, err
	}
	l.AcquiredAt, l.ExpiresAt = fromMicros(acq), fromMicros(exp)
	return l, nil
}

// AcquireLease implements store.Leases.
func (s *Store) AcquireLease(ctx context.Context, acct, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	const op = "AcquireLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	now = store.Time(now)
	var l store.Lease
	err := s.write(ctx, op, tenantID, func(q bq) error {
		if err := tenantExists(ctx, q, op, acct, tenantID); err != nil {
			return err
		}
		ok, err := claim(ctx, q, acct, tenantID, holder, now, ttl, true)
		if err != nil {
			return err
		}
		if l, err = s.getLease(ctx, q, acct, tenantID, ""); err != nil {
			return err
		}
		if !ok {
			return store.NewLeaseHeldError(op, tenantID, l.Holder, l.ExpiresAt)
		}
		return nil
	})
	return l, err
}

// RenewLease implements store.Leases.
func (s *Store) RenewLease(ctx context.Context, acct, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	const op = "RenewLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	var l store.Lease
	err := s.write(ctx, op, tenantID, func(q bq) error {
		n, err := q.Exec(ctx, `UPDATE leases SET expires_at = ? WHERE account = ? AND tenant_id = ? AND holder = ?`,
			micros(store.Time(now.Add(ttl))), acct, tenantID, holder)
		if err != nil {
			return err
		}
		l, err = s.getLease(ctx, q, acct, tenantID, "")
		if notFound(err) {
			return kit.LeaseNotFound(op, tenantID)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return store.NewLeaseHeldError(op, tenantID, l.Holder, l.ExpiresAt)
		}
		return nil
	})
	return l, err
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, acct, tenantID, holder string) error {
	const op = "ReleaseLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, 1); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		_, err := q.Exec(ctx, `DELETE FROM leases WHERE account = ? AND tenant_id = ? AND holder = ?`, acct, tenantID, holder)
		return err
	})
}

// GetLease implements store.Leases.
func (s *Store) GetLease(ctx context.Context, acct, tenantID string) (store.Lease, error) {
	const op = "GetLease"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.Lease{}, err
	}
	var l store.Lease
	err := s.read(ctx, op, tenantID, func(q bq) error {
		var err error
		l, err = s.getLease(ctx, q, acct, tenantID, "")
		if notFound(err) {
			return kit.LeaseNotFound(op, tenantID)
		}
		return err
	})
	return l, err
}

// AcquireDue implements store.Leases.
func (s *Store) AcquireDue(ctx context.Context, acct, holder string, now time.Time, ttl time.Duration, limit int) ([]store.Lease, error) {
	const op = "AcquireDue"
	if err := kit.CheckLease(op, acct, "-", holder, ttl); err != nil {
		return nil, err
	}
	now = store.Time(now)
	out := []store.Lease{}
	if limit <= 0 {
		return out, nil
	}
	n := micros(now)
	err := s.write(ctx, op, "", func(q bq) error {
		out = out[:0]
		// The tenants are read in due order from the claim queue's index (migrations 0010 and
		// 0011: the tenant row's next_due, which triggers keep equal to its sync state's, 0
		// without one); the scan stops at the first tenant not yet due, so a claim reads the
		// due tenants, not the account. Candidate tenant rows are locked, skipping rows another
		// claimant holds, so concurrent callers spread over different tenants instead of
		// queueing on the same ones. The claim below re-checks expiry against the latest
		// committed lease, so even a candidate read from an older snapshot cannot be handed out
		// twice.
		ids, err := scanAll(ctx, q, scanString, `SELECT t.tenant_id FROM tenants t
			LEFT JOIN leases l ON l.account = t.account AND l.tenant_id = t.tenant_id
			WHERE t.account = ? AND t.status = ? AND t.syncing AND t.client_id <> '' AND t.next_due <= ?
			AND (l.expires_at IS NULL OR l.expires_at <= ?)
			ORDER BY t.next_due, t.tenant_id
			LIMIT ?`+s.d.SkipLocked(), acct, string(store.TenantActive), n, n, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			ok, err := claim(ctx, q, acct, id, holder, now, ttl, false)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, store.Lease{TenantID: id, Holder: holder, AcquiredAt: now, ExpiresAt: store.Time(now.Add(ttl))})
			}
		}
		return nil
	})
	return out, err
}
