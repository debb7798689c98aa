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

// tx is a kit.Tx over a working copy of a tenant, which Commit and Apply swap in only when
// everything succeeded.
type tx struct {
	op     string
	t      *tenant
	cloned map[tenantsync.Kind]bool
}

func (t *tenant) working() *tenant {
	cp := *t
	cp.mirror = maps.Clone(t.mirror)
	cp.cursors = maps.Clone(t.cursors)
	cp.links = maps.Clone(t.links)
	return &cp
}

func (x *tx) Cursor(_ context.Context, k tenantsync.Kind) (string, error) { return x.t.cursors[k], nil }

func (x *tx) Hashes(_ context.Context, k tenantsync.Kind, ids []string) (map[string]string, error) {
	items := x.t.mirror[k]
	out := make(map[string]string, len(items))
	if ids == nil {
		for id, it := range items {
			out[id] = it.Hash
		}
		return out, nil
	}
	for _, id := range ids {
		if it, ok := items[id]; ok {
			out[id] = it.Hash
		}
	}
	return out, nil
}

func (x *tx) kind(k tenantsync.Kind) map[string]kit.Item {
	if !x.cloned[k] {
		x.t.mirror[k] = maps.Clone(x.t.mirror[k])
		if x.t.mirror[k] == nil {
			x.t.mirror[k] = map[string]kit.Item{}
		}
		x.cloned[k] = true
	}
	return x.t.mirror[k]
}

// Upsert keeps each item decoded rather than encoded: reads then copy values instead of
// decoding JSON, which is most of what a full reconcile of a large tenant would otherwise do.
func (x *tx) Upsert(_ context.Context, k tenantsync.Kind, items []kit.Item) error {
	m := x.kind(k)
	for _, it := range items {
		it, err := kit.Decoded(x.op, k, it)
		if err != nil {
			return err
		}
		it.Data = nil
		m[it.ID] = it
	}
	return nil
}

func (x *tx) Delete(_ context.Context, k tenantsync.Kind, ids []string) error {
	m := x.kind(k)
	for _, id := range ids {
		delete(m, id)
	}
	return nil
}

func (x *tx) SetCursor(_ context.Context, k tenantsync.Kind, cursor string) error {
	if cursor == "" {
		delete(x.t.cursors, k)
	} else {
		x.t.cursors[k] = cursor
	}
	return nil
}

func (s *Store) Apply(ctx context.Context, acct, tenantID string, ch store.KindApply) (store.Applied, error) {
	res, err := s.commit(ctx, "Apply", acct, store.Batch{TenantID: tenantID, Kinds: []store.KindApply{ch}})
	if err != nil {
		return store.Applied{}, err
	}
	return res.Kinds[0], nil
}

func (s *Store) Commit(ctx context.Context, acct string, b store.Batch) (store.BatchResult, error) {
	return s.commit(ctx, "Commit", acct, b)
}

func (s *Store) commit(ctx context.Context, op, acct string, b store.Batch) (store.BatchResult, error) {
	b.Links = slices.Clone(b.Links)
	b.Reviews = slices.Clone(b.Reviews)
	if b.State != nil {
		st := *b.State
		b.State = &st
	}
	if err := kit.CheckBatch(op, acct, &b); err != nil {
		return store.BatchResult{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.BatchResult{}, err
	}
	defer unlock()
	cur, err := tenantOf(op, a, b.TenantID)
	if err != nil {
		return store.BatchResult{}, err
	}
	if b.Holder != "" {
		l, ok := a.leases[b.TenantID]
		if !ok || l.Holder != b.Holder || !l.ExpiresAt.After(b.Now) {
			holder, until := "", time.Time{}
			if ok {
				holder, until = l.Holder, l.ExpiresAt
			}
			return store.BatchResult{}, store.NewLeaseHeldError(op, b.TenantID, holder, until)
		}
	}
	x := &tx{op: op, t: cur.working(), cloned: map[tenantsync.Kind]bool{}}
	var res store.BatchResult
	for _, k := range b.Kinds {
		ap, err := kit.Apply(ctx, x, op, b.TenantID, k)
		if err != nil {
			return store.BatchResult{}, err
		}
		res.Kinds = append(res.Kinds, ap)
	}
	owners := a.owners
	if len(b.Links) > 0 {
		owners = maps.Clone(a.owners)
		for _, lc := range b.Links {
			if lc.Delete {
				deleteLink(owners, x.t, lc.Link.ObjectID)
				continue
			}
			if err := setLink(op, owners, x.t, lc.Link, s.now()); err != nil {
				return store.BatchResult{}, err
			}
		}
	}
	reviews := a.reviews
	if len(b.Reviews) > 0 {
		reviews = maps.Clone(a.reviews)
		for _, r := range b.Reviews {
			res.Reviews = append(res.Reviews, addReview(reviews, r, s.now()))
		}
	}
	if b.State != nil {
		st := cloneState(kit.NormalizeState(*b.State))
		x.t.state = &st
	}
	a.tenants[b.TenantID] = x.t
	a.owners = owners
	a.reviews = reviews
	return res, nil
}

func (s *Store) ReadKind(_ context.Context, acct, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error) {
	const op = "ReadKind"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	if !kind.Valid() {
		return nil, store.Invalid(op, "use one of the tenantsync.Kind constants", "unknown kind %q", kind)
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		unlock()
		return nil, err
	}
	items := slices.Collect(maps.Values(t.mirror[kind]))
	cursor := t.cursors[kind]
	unlock()
	return kit.Decode(op, kind, cursor, items)
}

func (s *Store) GetUser(_ context.Context, acct, tenantID, objectID string) (tenantsync.User, error) {
	const op = "GetUser"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return tenantsync.User{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return tenantsync.User{}, err
	}
	var it kit.Item
	var ok bool
	if a != nil {
		if t, found := a.tenants[tenantID]; found {
			it, ok = t.mirror[tenantsync.KindUsers][objectID]
		}
	}
	unlock()
	if !ok {
		return tenantsync.User{}, store.NotFound(op, tenantID, "no user %s", objectID)
	}
	return kit.DecodeUser(op, it)
}

func (s *Store) Cursors(_ context.Context, acct, tenantID string) (map[tenantsync.Kind]string, error) {
	const op = "Cursors"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := map[tenantsync.Kind]string{}
	if a != nil {
		if t, ok := a.tenants[tenantID]; ok {
			maps.Copy(out, t.cursors)
		}
	}
	return out, nil
}

func (s *Store) MirrorCounts(_ context.Context, acct, tenantID string) (map[tenantsync.Kind]int, error) {
	const op = "MirrorCounts"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := map[tenantsync.Kind]int{}
	if a != nil {
		if t, ok := a.tenants[tenantID]; ok {
			for k, m := range t.mirror {
				if len(m) > 0 {
					out[k] = len(m)
				}
			}
		}
	}
	return out, nil
}

// Contact links and merges

func setLink(op string, owners map[contactKey]userKey, t *tenant, l store.ContactLink, now time.Time) error {
	ck := contactKey{l.ClientID, l.ContactID}
	uk := userKey{l.TenantID, l.ObjectID}
	if owner, ok := owners[ck]; ok && owner != uk {
		return store.NewContactTakenError(op, l.ContactID, owner.tenant, owner.object)
	}
	if old, ok := t.links[l.ObjectID]; ok {
		delete(owners, contactKey{old.ClientID, old.ContactID})
		if old.ContactID == l.ContactID && old.ClientID == l.ClientID && l.LinkedAt.IsZero() {
			l.LinkedAt = old.LinkedAt
		}
	}
	if l.LinkedAt.IsZero() {
		l.LinkedAt = now
	}
	l.LinkedAt = store.Time(l.LinkedAt)
	owners[ck] = uk
	t.links[l.ObjectID] = l
	return nil
}

func deleteLink(owners map[contactKey]userKey, t *tenant, objectID string) {
	if old, ok := t.links[objectID]; ok {
		delete(owners, contactKey{old.ClientID, old.ContactID})
		delete(t.links, objectID)
	}
}

// mutateTenant runs fn on a working copy of the tenant and the account's contact owners, and
// keeps the result only when fn succeeds.
func (s *Store) mutateTenant(op, acct, tenantID string, fn func(a *account, t *tenant, owners map[contactKey]userKey) error) error {
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		return err
	}
	w := t.working()
	w.merges = maps.Clone(t.merges)
	owners := maps.Clone(a.owners)
	if err := fn(a, w, owners); err != nil {
		return err
	}
	a.tenants[tenantID] = w
	a.owners = owners
	return nil
}

func (s *Store) SetContactLink(_ context.Context, acct string, l store.ContactLink) error {
	const op = "SetContactLink"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	if err := kit.CheckLink(op, l, false); err != nil {
		return err
	}
	return s.mutateTenant(op, acct, l.TenantID, func(_ *account, t *tenant, owners map[contactKey]userKey) error {
		return setLink(op, owners, t, l, s.now())
	})
}

func (s *Store) DeleteContactLink(_ context.Context, acct, tenantID, objectID string) error {
	const op = "DeleteContactLink"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	err := s.mutateTenant(op, acct, tenantID, func(_ *account, t *tenant, owners map[contactKey]userKey) error {
		deleteLink(owners, t, objectID)
		return nil
	})
	if tenantsync.KindOf(err) == tenantsync.ErrNotFound {
		return nil
	}
	return err
}

func (s *Store) GetContactLink(_ context.Context, acct, tenantID, objectID string) (store.ContactLink, error) {
	const op = "GetContactLink"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.ContactLink{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.ContactLink{}, err
	}
	defer unlock()
	if a != nil {
		if t, ok := a.tenants[tenantID]; ok {
			if l, ok := t.links[objectID]; ok {
				return l, nil
			}
		}
	}
	return store.ContactLink{}, store.NotFound(op, tenantID, "no contact link for user %s", objectID)
}

func (s *Store) ListContactLinks(_ context.Context, acct, tenantID string) ([]store.ContactLink, error) {
	const op = "ListContactLinks"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []store.ContactLink{}
	if a != nil {
		if t, ok := a.tenants[tenantID]; ok {
			for _, id := range slices.Sorted(maps.Keys(t.links)) {
				out = append(out, t.links[id])
			}
		}
	}
	return out, nil
}

func (s *Store) RememberMerge(_ context.Context, acct string, m store.Merge) error {
	const op = "RememberMerge"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	if err := kit.CheckLink(op, store.ContactLink{TenantID: m.TenantID, ObjectID: m.ObjectID, ClientID: m.ClientID, ContactID: m.ContactID}, false); err != nil {
		return err
	}
	if m.DecidedAt.IsZero() {
		m.DecidedAt = s.now()
	}
	m.DecidedAt = store.Time(m.DecidedAt)
	return s.mutateTenant(op, acct, m.TenantID, func(_ *account, t *tenant, _ map[contactKey]userKey) error {
		t.merges[m.ObjectID] = m
		return nil
	})
}

func (s *Store) ForgetMerge(_ context.Context, acct, tenantID, objectID string) error {
	const op = "ForgetMerge"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	err := s.mutateTenant(op, acct, tenantID, func(_ *account, t *tenant, _ map[contactKey]userKey) error {
		delete(t.merges, objectID)
		return nil
	})
	if tenantsync.KindOf(err) == tenantsync.ErrNotFound {
		return nil
	}
	return err
}

func (s *Store) ListMerges(_ context.Context, acct, tenantID string) ([]store.Merge, error) {
	const op = "ListMerges"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []store.Merge{}
	if a != nil {
		if t, ok := a.tenants[tenantID]; ok {
			for _, id := range slices.Sorted(maps.Keys(t.merges)) {
				out = append(out, t.merges[id])
			}
		}
	}
	return out, nil
}

// Reviews

func cloneReview(r store.Review) store.Review {
	r.Candidates = slices.Clone(r.Candidates)
	return r
}

// addReview stores r as a new open review, or refreshes the user's open one.
func addReview(reviews map[string]store.Review, r store.Review, now time.Time) store.Review {
	r = cloneReview(r)
	r.Resolved, r.ResolvedAt, r.ResolvedBy, r.Resolution = false, time.Time{}, "", ""
	r.UpdatedAt = now
	for id, old := range reviews {
		if !old.Resolved && old.TenantID == r.TenantID && old.ObjectID == r.ObjectID {
			r.ID, r.CreatedAt = id, old.CreatedAt
			reviews[id] = r
			return cloneReview(r)
		}
	}
	r.ID = kit.NewID()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.CreatedAt = store.Time(r.CreatedAt)
	reviews[r.ID] = r
	return cloneReview(r)
}

func (s *Store) AddReview(_ context.Context, acct string, r store.Review) (store.Review, error) {
	const op = "AddReview"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.Review{}, err
	}
	if err := kit.CheckReview(op, r); err != nil {
		return store.Review{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.Review{}, err
	}
	defer unlock()
	if _, err := tenantOf(op, a, r.TenantID); err != nil {
		return store.Review{}, err
	}
	return addReview(a.reviews, r, s.now()), nil
}

func (s *Store) ListReviews(_ context.Context, acct string, f store.ReviewFilter) ([]store.Review, error) {
	const op = "ListReviews"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []store.Review{}
	if a != nil {
		for _, r := range a.reviews {
			if (f.TenantID == "" || r.TenantID == f.TenantID) && (f.IncludeResolved || !r.Resolved) {
				out = append(out, cloneReview(r))
			}
		}
	}
	kit.SortReviews(out)
	return out, nil
}

func (s *Store) ResolveReview(_ context.Context, acct, id, resolution, by string, at time.Time) (store.Review, error) {
	const op = "ResolveReview"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.Review{}, err
	}
	if resolution == "" {
		return store.Review{}, store.Invalid(op, "resolve with a contact ID, store.ResolutionCreate or store.ResolutionIgnore", "no resolution")
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.Review{}, err
	}
	defer unlock()
	var r store.Review
	var ok bool
	if a != nil {
		r, ok = a.reviews[id]
	}
	if !ok {
		return store.Review{}, store.NotFound(op, "", "no review %q", id)
	}
	if r.Resolved {
		return store.Review{}, store.Errorf(tenantsync.ErrConflict, op, r.TenantID, "reload the review queue", "review %q is already resolved", id)
	}
	if at.IsZero() {
		at = s.now()
	}
	r.Resolved, r.ResolvedAt, r.ResolvedBy, r.Resolution = true, store.Time(at), by, resolution
	a.reviews[id] = r
	return cloneReview(r), nil
}

// Sync state

func cloneState(s store.SyncState) store.SyncState {
	if s.LastError != nil {
		e := *s.LastError
		s.LastError = &e
	}
	s.KindErrors = maps.Clone(s.KindErrors)
	s.Counts = maps.Clone(s.Counts)
	s.Progress = maps.Clone(s.Progress)
	return s
}

func (s *Store) PutSyncState(_ context.Context, acct string, st store.SyncState) error {
	const op = "PutSyncState"
	if err := store.CheckTenant(op, acct, st.TenantID); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := tenantOf(op, a, st.TenantID)
	if err != nil {
		return err
	}
	cp := cloneState(kit.NormalizeState(st))
	t.state = &cp
	return nil
}

func (s *Store) GetSyncState(_ context.Context, acct, tenantID string) (store.SyncState, error) {
	const op = "GetSyncState"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.SyncState{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.SyncState{}, err
	}
	defer unlock()
	if a != nil {
		if t, ok := a.tenants[tenantID]; ok && t.state != nil {
			return cloneState(*t.state), nil
		}
	}
	return store.SyncState{}, store.NotFound(op, tenantID, "no sync state for tenant %s", tenantID)
}

func (s *Store) ListSyncStates(_ context.Context, acct string) ([]store.SyncState, error) {
	const op = "ListSyncStates"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []store.SyncState{}
	if a != nil {
		for _, id := range slices.Sorted(maps.Keys(a.tenants)) {
			if st := a.tenants[id].state; st != nil {
				out = append(out, cloneState(*st))
			}
		}
	}
	return out, nil
}
