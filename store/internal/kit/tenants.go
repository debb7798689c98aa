package kit

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// CheckDiscovery validates RecordDiscovery's arguments.
func CheckDiscovery(op, account, source string, tenants []tenantsync.Tenant) error {
	if err := store.CheckAccount(op, account); err != nil {
		return err
	}
	if source == "" {
		return store.Invalid(op, "pass the Source's Name()", "no source")
	}
	for _, t := range tenants {
		if t.ID == "" {
			return store.Invalid(op, "every discovered tenant needs its tenant ID", "tenant %q without an ID", t.DisplayName)
		}
	}
	return nil
}

// NewTenant returns the record of a tenant discovered for the first time.
func NewTenant(t tenantsync.Tenant, source string, now time.Time) store.TenantRecord {
	now = store.Time(now)
	t.Source = source
	t.Domains = slices.Clone(t.Domains)
	return store.TenantRecord{
		Tenant:       t,
		Sources:      []string{source},
		Status:       store.TenantActive,
		FirstSeen:    now,
		LastSeen:     now,
		EnabledKinds: tenantsync.AllKinds(),
	}
}

// Rediscover refreshes rec from a listing of source that includes it, keeping known values the
// listing leaves blank. It reports whether the tenant had vanished and now returns.
func Rediscover(rec *store.TenantRecord, t tenantsync.Tenant, source string, now time.Time) (returned bool) {
	keep := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	keep(&rec.DisplayName, t.DisplayName)
	keep(&rec.DefaultDomain, t.DefaultDomain)
	keep(&rec.InitialDomain, t.InitialDomain)
	keep(&rec.Relationship, t.Relationship)
	if len(t.Domains) > 0 {
		rec.Domains = slices.Clone(t.Domains)
	}
	rec.Source = source
	if !slices.Contains(rec.Sources, source) {
		rec.Sources = append(rec.Sources, source)
		slices.Sort(rec.Sources)
	}
	rec.LastSeen = store.Time(now)
	if rec.Status == store.TenantVanished {
		rec.Status = store.TenantActive
		rec.VanishedAt = time.Time{}
		return true
	}
	return false
}

// Omitted updates rec for a listing of source that omits it. It reports whether the tenant
// has just vanished (no source reports it any more).
func Omitted(rec *store.TenantRecord, source string, now time.Time) (vanished bool) {
	i := slices.Index(rec.Sources, source)
	if i < 0 {
		return false
	}
	rec.Sources = slices.Delete(rec.Sources, i, i+1)
	if len(rec.Sources) == 0 && rec.Status != store.TenantVanished {
		rec.Status = store.TenantVanished
		rec.VanishedAt = store.Time(now)
		return true
	}
	return false
}

// CheckKinds validates a tenant's enabled kinds and returns them deduplicated in AllKinds order.
func CheckKinds(op string, kinds []tenantsync.Kind) ([]tenantsync.Kind, error) {
	for _, k := range kinds {
		if !k.Valid() {
			return nil, store.Invalid(op, "use the tenantsync.Kind constants", "unknown kind %q", k)
		}
	}
	out := []tenantsync.Kind{}
	for _, k := range tenantsync.AllKinds() {
		if slices.Contains(kinds, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// NewID returns a random identifier for reviews and contacts.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Due reports whether a tenant is due for a sync at now, leaving leases aside.
func Due(rec store.TenantRecord, state *store.SyncState, now time.Time) bool {
	if !rec.Linked() || !rec.Syncing || rec.Status == store.TenantVanished {
		return false
	}
	return state == nil || state.NextDue.IsZero() || !state.NextDue.After(now)
}

// NormalizeState returns s with its times normalised for storage.
func NormalizeState(s store.SyncState) store.SyncState {
	s.LastStart = store.Time(s.LastStart)
	s.LastSuccess = store.Time(s.LastSuccess)
	s.LastFinish = store.Time(s.LastFinish)
	s.NextDue = store.Time(s.NextDue)
	if s.LastError != nil {
		e := *s.LastError
		e.At = store.Time(e.At)
		s.LastError = &e
	}
	if len(s.KindErrors) > 0 {
		ke := make(map[tenantsync.Kind]store.SyncError, len(s.KindErrors))
		for k, e := range s.KindErrors {
			e.At = store.Time(e.At)
			ke[k] = e
		}
		s.KindErrors = ke
	}
	if len(s.Recent) > 0 {
		recent := make(map[tenantsync.Kind][]store.RecentLoss, len(s.Recent))
		for k, r := range s.Recent {
			r = slices.Clone(r)
			for i := range r {
				r[i].From, r[i].To = store.Time(r[i].From), store.Time(r[i].To)
			}
			recent[k] = r
		}
		s.Recent = recent
	}
	if len(s.Holds) > 0 {
		holds := make(map[tenantsync.Kind]store.DeletionHold, len(s.Holds))
		for k, h := range s.Holds {
			h.Since, h.LastSeen, h.ReleasedAt = store.Time(h.Since), store.Time(h.LastSeen), store.Time(h.ReleasedAt)
			h.IDs = slices.Clone(h.IDs)
			holds[k] = h
		}
		s.Holds = holds
	}
	if s.ContactsError != nil {
		e := *s.ContactsError
		e.At = store.Time(e.At)
		s.ContactsError = &e
	}
	if len(s.ContactFailures) > 0 {
		fs := make(map[string]store.ContactFailure, len(s.ContactFailures))
		for id, f := range s.ContactFailures {
			f.FirstAt, f.LastAt, f.NextRetry, f.DecidedAt = store.Time(f.FirstAt), store.Time(f.LastAt), store.Time(f.NextRetry), store.Time(f.DecidedAt)
			fs[id] = f
		}
		s.ContactFailures = fs
	} else {
		s.ContactFailures = nil
	}
	if len(s.CreateIntents) > 0 {
		is := make(map[string]store.CreateIntent, len(s.CreateIntents))
		for id, in := range s.CreateIntents {
			in.At = store.Time(in.At)
			in.Contact.AltEmails = slices.Clone(in.Contact.AltEmails)
			in.Existing = slices.Clone(in.Existing)
			is[id] = in
		}
		s.CreateIntents = is
	} else {
		s.CreateIntents = nil
	}
	return s
}

// SortReviews orders reviews by creation time, then ID.
func SortReviews(rs []store.Review) {
	slices.SortFunc(rs, func(a, b store.Review) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
