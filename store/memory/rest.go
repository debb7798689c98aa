package memory

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// Clients

func cloneClient(c tenantsync.Client) tenantsync.Client {
	c.Domains = slices.Clone(c.Domains)
	c.TenantIDs = slices.Clone(c.TenantIDs)
	return c
}

func (s *Store) PutClient(_ context.Context, acct string, c tenantsync.Client) error {
	const op = "PutClient"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	if c.ID == "" {
		return store.Invalid(op, "give the client its PSA ID", "client %q without an ID", c.Name)
	}
	a, unlock, err := s.lock(op, true, acct)
	if err != nil {
		return err
	}
	defer unlock()
	c = cloneClient(c)
	c.ActiveUntil = store.Time(c.ActiveUntil)
	a.clients[c.ID] = c
	return nil
}

func (s *Store) GetClient(_ context.Context, acct, clientID string) (tenantsync.Client, error) {
	const op = "GetClient"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.Client{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return tenantsync.Client{}, err
	}
	defer unlock()
	if a != nil {
		if c, ok := a.clients[clientID]; ok {
			return cloneClient(c), nil
		}
	}
	return tenantsync.Client{}, store.NotFound(op, "", "no client %q", clientID)
}

func (s *Store) ListClients(_ context.Context, acct string) ([]tenantsync.Client, error) {
	const op = "ListClients"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []tenantsync.Client{}
	if a != nil {
		for _, id := range slices.Sorted(maps.Keys(a.clients)) {
			out = append(out, cloneClient(a.clients[id]))
		}
	}
	return out, nil
}

// Contacts

func cloneContact(c tenantsync.Contact) tenantsync.Contact {
	c.AltEmails = slices.Clone(c.AltEmails)
	return c
}

func (s *Store) CreateContact(_ context.Context, acct string, c tenantsync.Contact) (tenantsync.Contact, error) {
	const op = "CreateContact"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.Contact{}, err
	}
	if c.ClientID == "" {
		return tenantsync.Contact{}, store.Invalid(op, "set the contact's ClientID", "contact without a client")
	}
	a, unlock, err := s.lock(op, true, acct)
	if err != nil {
		return tenantsync.Contact{}, err
	}
	defer unlock()
	if c.ID == "" {
		c.ID = kit.NewID()
	}
	k := contactKey{c.ClientID, c.ID}
	if _, ok := a.contacts[k]; ok {
		return tenantsync.Contact{}, store.Errorf(tenantsync.ErrConflict, op, "", "leave ID empty for the store to assign one", "contact %q exists", c.ID)
	}
	c = cloneContact(c)
	a.contacts[k] = c
	return cloneContact(c), nil
}

func (s *Store) UpdateContact(_ context.Context, acct string, c tenantsync.Contact) error {
	const op = "UpdateContact"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	k := contactKey{c.ClientID, c.ID}
	if a == nil {
		return store.NotFound(op, "", "no contact %q of client %q", c.ID, c.ClientID)
	}
	if _, ok := a.contacts[k]; !ok {
		return store.NotFound(op, "", "no contact %q of client %q", c.ID, c.ClientID)
	}
	a.contacts[k] = cloneContact(c)
	return nil
}

func (s *Store) SetContactActive(_ context.Context, acct, clientID, contactID string, active bool) error {
	const op = "SetContactActive"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	k := contactKey{clientID, contactID}
	if a == nil {
		return store.NotFound(op, "", "no contact %q of client %q", contactID, clientID)
	}
	c, ok := a.contacts[k]
	if !ok {
		return store.NotFound(op, "", "no contact %q of client %q", contactID, clientID)
	}
	c.Active = active
	a.contacts[k] = c
	return nil
}

func (s *Store) GetContact(_ context.Context, acct, clientID, contactID string) (tenantsync.Contact, error) {
	const op = "GetContact"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.Contact{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return tenantsync.Contact{}, err
	}
	defer unlock()
	if a != nil {
		if c, ok := a.contacts[contactKey{clientID, contactID}]; ok {
			return cloneContact(c), nil
		}
	}
	return tenantsync.Contact{}, store.NotFound(op, "", "no contact %q of client %q", contactID, clientID)
}

func (s *Store) ListContacts(_ context.Context, acct, clientID string) ([]tenantsync.Contact, error) {
	const op = "ListContacts"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []tenantsync.Contact{}
	if a != nil {
		for k, c := range a.contacts {
			if k.client == clientID {
				out = append(out, cloneContact(c))
			}
		}
	}
	slices.SortFunc(out, func(x, y tenantsync.Contact) int {
		switch {
		case x.ID < y.ID:
			return -1
		case x.ID > y.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// Audit

func cloneEntry(e tenantsync.AuditEntry) tenantsync.AuditEntry {
	e.Detail = maps.Clone(e.Detail)
	return e
}

func (s *Store) AppendAudit(_ context.Context, acct string, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	const op = "AppendAudit"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.AuditEntry{}, err
	}
	a, unlock, err := s.lock(op, true, acct)
	if err != nil {
		return tenantsync.AuditEntry{}, err
	}
	defer unlock()
	if e.At.IsZero() {
		e.At = s.now()
	}
	var prev *tenantsync.AuditEntry
	if n := len(a.audit); n > 0 {
		prev = &a.audit[n-1]
	}
	e = store.ChainAudit(acct, prev, e)
	a.audit = append(a.audit, e)
	return cloneEntry(e), nil
}

func (s *Store) ListAudit(_ context.Context, acct string, q store.AuditQuery) ([]tenantsync.AuditEntry, error) {
	const op = "ListAudit"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []tenantsync.AuditEntry{}
	if a == nil {
		return out, nil
	}
	for _, e := range a.audit {
		if e.Seq <= q.AfterSeq || (q.TenantID != "" && e.TenantID != q.TenantID) {
			continue
		}
		out = append(out, cloneEntry(e))
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (s *Store) VerifyAudit(_ context.Context, acct string) (store.AuditReport, error) {
	const op = "VerifyAudit"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.AuditReport{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.AuditReport{}, err
	}
	defer unlock()
	v := store.AuditVerifier{Account: acct}
	if a != nil {
		for _, e := range a.audit {
			if !v.Next(e) {
				break
			}
		}
	}
	return v.Report(), nil
}

// TamperAudit implements store.Tamperer.
func (s *Store) TamperAudit(_ context.Context, acct string, seq int64, mutate func(*tenantsync.AuditEntry)) error {
	a, unlock, err := s.lock("TamperAudit", false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	if a != nil {
		for i := range a.audit {
			if a.audit[i].Seq == seq {
				mutate(&a.audit[i])
				return nil
			}
		}
	}
	return store.NotFound("TamperAudit", "", "no audit entry %d", seq)
}

// Leases

func (s *Store) AcquireLease(_ context.Context, acct, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	const op = "AcquireLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.Lease{}, err
	}
	defer unlock()
	if _, err := tenantOf(op, a, tenantID); err != nil {
		return store.Lease{}, err
	}
	return acquire(op, a, tenantID, holder, now, ttl)
}

func acquire(op string, a *account, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	now = store.Time(now)
	l, ok := a.leases[tenantID]
	switch {
	case ok && l.Holder == holder && l.ExpiresAt.After(now):
		l.ExpiresAt = store.Time(now.Add(ttl))
	case ok && l.ExpiresAt.After(now):
		return store.Lease{}, store.NewLeaseHeldError(op, tenantID, l.Holder, l.ExpiresAt)
	default:
		l = store.Lease{TenantID: tenantID, Holder: holder, AcquiredAt: now, ExpiresAt: store.Time(now.Add(ttl))}
	}
	a.leases[tenantID] = l
	return l, nil
}

func (s *Store) RenewLease(_ context.Context, acct, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error) {
	const op = "RenewLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.Lease{}, err
	}
	defer unlock()
	var l store.Lease
	var ok bool
	if a != nil {
		l, ok = a.leases[tenantID]
	}
	if !ok {
		return store.Lease{}, store.NotFound(op, tenantID, "no lease on tenant %s; acquire it again", tenantID)
	}
	if l.Holder != holder {
		return store.Lease{}, store.NewLeaseHeldError(op, tenantID, l.Holder, l.ExpiresAt)
	}
	l.ExpiresAt = store.Time(now.Add(ttl))
	a.leases[tenantID] = l
	return l, nil
}

func (s *Store) ReleaseLease(_ context.Context, acct, tenantID, holder string) error {
	const op = "ReleaseLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, 1); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	if a != nil {
		if l, ok := a.leases[tenantID]; ok && l.Holder == holder {
			delete(a.leases, tenantID)
		}
	}
	return nil
}

func (s *Store) AcquireDue(_ context.Context, acct, holder string, now time.Time, ttl time.Duration, max int) ([]store.Lease, error) {
	const op = "AcquireDue"
	if err := kit.CheckLease(op, acct, "-", holder, ttl); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []store.Lease{}
	if a == nil || max <= 0 {
		return out, nil
	}
	type cand struct {
		id  string
		due time.Time
	}
	var cands []cand
	for id, t := range a.tenants {
		if !kit.Due(t.rec, t.state, now) {
			continue
		}
		if l, ok := a.leases[id]; ok && l.ExpiresAt.After(now) {
			continue
		}
		var due time.Time
		if t.state != nil {
			due = t.state.NextDue
		}
		cands = append(cands, cand{id, due})
	}
	slices.SortFunc(cands, func(x, y cand) int {
		if c := x.due.Compare(y.due); c != 0 {
			return c
		}
		if x.id < y.id {
			return -1
		}
		return 1
	})
	for _, c := range cands[:min(max, len(cands))] {
		l, err := acquire(op, a, c.id, holder, now, ttl)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (s *Store) GetLease(_ context.Context, acct, tenantID string) (store.Lease, error) {
	const op = "GetLease"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.Lease{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.Lease{}, err
	}
	defer unlock()
	if a != nil {
		if l, ok := a.leases[tenantID]; ok {
			return l, nil
		}
	}
	return store.Lease{}, store.NotFound(op, tenantID, "no lease on tenant %s", tenantID)
}
