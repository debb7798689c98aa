package memory

import (
	"context"
	"slices"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// RawAudit and SetRawAudit implement storetest.AuditTamperer for this package's tests only:
// they reach the audit log as someone with access to the store's memory would, so the
// conformance suite can prove VerifyAudit notices what they do.

func (s *Store) RawAudit(_ context.Context, acct string) (entries []tenantsync.AuditEntry, head store.AuditHead, err error) {
	err = s.b.view("RawAudit", acct, false, func(a *account) error {
		entries = slices.Clone(a.audit)
		for i := range entries {
			entries[i] = cloneEntry(entries[i])
		}
		head = a.head
		return nil
	})
	return entries, head, err
}

func (s *Store) SetRawAudit(_ context.Context, acct string, entries []tenantsync.AuditEntry, head store.AuditHead) error {
	return s.b.view("SetRawAudit", acct, true, func(a *account) error {
		a.audit = a.audit[:0:0]
		for _, e := range entries {
			a.audit = append(a.audit, cloneEntry(e))
		}
		a.head = head
		return nil
	})
}
