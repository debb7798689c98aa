package memory

import (
	"context"
	"maps"
	"slices"
	"strings"
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

// PutClient implements store.Clients.
func (s *backend) PutClient(_ context.Context, acct string, c tenantsync.Client) error {
	const op = "PutClient"
	c, err := kit.CheckClient(op, acct, c)
	if err != nil {
		return err
	}
	return s.view(op, acct, true, func(a *account) error {
		a.clients[c.ID] = c
		return nil
	})
}

// GetClient implements store.Clients.
func (s *backend) GetClient(_ context.Context, acct, clientID string) (c tenantsync.Client, err error) {
	const op = "GetClient"
	err = s.view(op, acct, false, func(a *account) error {
		var ok bool
		if c, ok = a.clients[clientID]; !ok {
			return kit.ClientNotFound(op, clientID)
		}
		c = cloneClient(c)
		return nil
	})
	return c, err
}

// ListClients implements store.Clients.
func (s *backend) ListClients(_ context.Context, acct string) (out []tenantsync.Client, err error) {
	err = s.view("ListClients", acct, false, func(a *account) error {
		out = sorted(a.clients, cloneClient)
		return nil
	})
	return out, err
}

// Contacts

func cloneContact(c tenantsync.Contact) tenantsync.Contact {
	c.AltEmails = slices.Clone(c.AltEmails)
	return c
}

// CreateContact implements store.ContactStore.
func (s *backend) CreateContact(_ context.Context, acct string, c tenantsync.Contact) (tenantsync.Contact, error) {
	const op = "CreateContact"
	c, err := kit.NewContact(op, acct, c)
	if err != nil {
		return tenantsync.Contact{}, err
	}
	err = s.view(op, acct, true, func(a *account) error {
		k := contactKey{c.ClientID, c.ID}
		if _, ok := a.contacts[k]; ok {
			return kit.ContactExists(op, c.ID)
		}
		a.contacts[k] = c
		return nil
	})
	if err != nil {
		return tenantsync.Contact{}, err
	}
	return cloneContact(c), nil
}

// contact runs fn under the lock on a stored contact; ErrNotFound when absent.
func (s *backend) contact(op, acct, clientID, contactID string, fn func(a *account, k contactKey, c tenantsync.Contact)) error {
	return s.view(op, acct, false, func(a *account) error {
		k := contactKey{clientID, contactID}
		c, ok := a.contacts[k]
		if !ok {
			return kit.ContactNotFound(op, clientID, contactID)
		}
		fn(a, k, c)
		return nil
	})
}

// UpdateContact implements store.ContactStore.
func (s *backend) UpdateContact(_ context.Context, acct string, c tenantsync.Contact) error {
	return s.contact("UpdateContact", acct, c.ClientID, c.ID, func(a *account, k contactKey, _ tenantsync.Contact) {
		a.contacts[k] = cloneContact(c)
	})
}

// SetContactActive implements store.ContactStore.
func (s *backend) SetContactActive(_ context.Context, acct, clientID, contactID string, active bool) error {
	return s.contact("SetContactActive", acct, clientID, contactID, func(a *account, k contactKey, c tenantsync.Contact) {
		c.Active = active
		a.contacts[k] = c
	})
}

// GetContact implements store.ContactStore.
func (s *backend) GetContact(_ context.Context, acct, clientID, contactID string) (out tenantsync.Contact, err error) {
	err = s.contact("GetContact", acct, clientID, contactID, func(_ *account, _ contactKey, c tenantsync.Contact) {
		out = cloneContact(c)
	})
	return out, err
}

// ListContacts implements store.ContactStore.
func (s *backend) ListContacts(_ context.Context, acct, clientID string) (out []tenantsync.Contact, err error) {
	err = s.view("ListContacts", acct, false, func(a *account) error {
		ofClient := map[string]tenantsync.Contact{}
		for k, c := range a.contacts {
			if k.client == clientID {
				ofClient[k.contact] = c
			}
		}
		out = sorted(ofClient, cloneContact)
		return nil
	})
	return out, err
}

// Audit

func cloneEntry(e tenantsync.AuditEntry) tenantsync.AuditEntry {
	e.Detail = maps.Clone(e.Detail)
	return e
}

// AppendAudit implements store.Audit.
func (s *backend) AppendAudit(ctx context.Context, acct string, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	err := s.view("AppendAudit", acct, true, func(a *account) error {
		if e.At.IsZero() {
			e.At = s.now()
		}
		var err error
		if e, err = store.ChainAudit(ctx, s.auditKeys, acct, a.head, e); err != nil {
			return err
		}
		a.audit = append(a.audit, e)
		a.head = store.AuditHead{Seq: e.Seq, Hash: e.Hash}
		return nil
	})
	if err != nil {
		return tenantsync.AuditEntry{}, err
	}
	return cloneEntry(e), nil
}

// ListAudit implements store.Audit.
func (s *backend) ListAudit(_ context.Context, acct string, q store.AuditQuery) ([]tenantsync.AuditEntry, error) {
	out := []tenantsync.AuditEntry{}
	err := s.view("ListAudit", acct, false, func(a *account) error {
		for _, e := range a.audit {
			if e.Seq <= q.AfterSeq || (q.TenantID != "" && e.TenantID != q.TenantID) {
				continue
			}
			out = append(out, cloneEntry(e))
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// VerifyAudit implements store.Audit.
func (s *backend) VerifyAudit(ctx context.Context, acct string, expect *store.AuditHead) (store.AuditVerification, error) {
	var out store.AuditVerification
	err := s.view("VerifyAudit", acct, false, func(a *account) error {
		v, err := store.NewAuditVerifier(acct, s.auditKeys, a.head, expect)
		if err != nil {
			return err
		}
		for _, e := range a.audit {
			if ok, err := v.Next(ctx, e); err != nil {
				return err
			} else if !ok {
				break
			}
		}
		out = v.Finish()
		return nil
	})
	if err != nil {
		return store.AuditVerification{}, err
	}
	return out, nil
}

// Leases

// AcquireLease implements store.Leases.
func (s *backend) AcquireLease(_ context.Context, acct, tenantID, holder string, now time.Time, ttl time.Duration) (l store.Lease, err error) {
	const op = "AcquireLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	err = s.inTenant(op, acct, tenantID, func(a *account, _ *tenant) error {
		l, err = acquire(op, a, tenantID, holder, now, ttl)
		return err
	})
	return l, err
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

// RenewLease implements store.Leases.
func (s *backend) RenewLease(_ context.Context, acct, tenantID, holder string, now time.Time, ttl time.Duration) (l store.Lease, err error) {
	const op = "RenewLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	err = s.view(op, acct, false, func(a *account) error {
		var ok bool
		if l, ok = a.leases[tenantID]; !ok {
			return kit.LeaseNotFound(op, tenantID)
		}
		if l.Holder != holder {
			return store.NewLeaseHeldError(op, tenantID, l.Holder, l.ExpiresAt)
		}
		l.ExpiresAt = store.Time(now.Add(ttl))
		a.leases[tenantID] = l
		return nil
	})
	if err != nil {
		return store.Lease{}, err
	}
	return l, nil
}

// ReleaseLease implements store.Leases.
func (s *backend) ReleaseLease(_ context.Context, acct, tenantID, holder string) error {
	const op = "ReleaseLease"
	if err := kit.CheckLease(op, acct, tenantID, holder, 1); err != nil {
		return err
	}
	return s.view(op, acct, false, func(a *account) error {
		if l, ok := a.leases[tenantID]; ok && l.Holder == holder {
			delete(a.leases, tenantID)
		}
		return nil
	})
}

// AcquireDue implements store.Leases.
func (s *backend) AcquireDue(_ context.Context, acct, holder string, now time.Time, ttl time.Duration, limit int) ([]store.Lease, error) {
	const op = "AcquireDue"
	if err := kit.CheckLease(op, acct, "-", holder, ttl); err != nil {
		return nil, err
	}
	out := []store.Lease{}
	err := s.view(op, acct, false, func(a *account) error {
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
			return strings.Compare(x.id, y.id)
		})
		for _, c := range cands[:min(max(limit, 0), len(cands))] {
			l, err := acquire(op, a, c.id, holder, now, ttl)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetLease implements store.Leases.
func (s *backend) GetLease(_ context.Context, acct, tenantID string) (l store.Lease, err error) {
	const op = "GetLease"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.Lease{}, err
	}
	err = s.view(op, acct, false, func(a *account) error {
		var ok bool
		if l, ok = a.leases[tenantID]; !ok {
			return kit.LeaseNotFound(op, tenantID)
		}
		return nil
	})
	return l, err
}
