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
	cp.ordered = maps.Clone(t.ordered)
	cp.cursors = maps.Clone(t.cursors)
	cp.links = maps.Clone(t.links)
	return &cp
}

func (x *tx) Cursor(_ context.Context, k tenantsync.Kind) (string, error) { return x.t.cursors[k], nil }

func (x *tx) Hashes(_ context.Context, k tenantsync.Kind, ids []string) (map[string]string, error) {
	items := x.t.mirror[k]
	if ids == nil {
		out := make(map[string]string, len(items))
		for id, it := range items {
			out[id] = it.Hash
		}
		return out, nil
	}
	// A change set names a few items of what may be a large kind.
	out := make(map[string]string, min(len(ids), len(items)))
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
		delete(x.t.ordered, k)
		if x.t.mirror[k] == nil {
			x.t.mirror[k] = map[string]kit.Item{}
		}
		x.cloned[k] = true
	}
	return x.t.mirror[k]
}

// KeepsValues implements kit.ValueKeeper: items arrive with their values, so Upsert keeps
// them without decoding their JSON.
func (x *tx) KeepsValues() bool { return true }

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

// Apply implements store.Mirror.
func (s *backend) Apply(ctx context.Context, acct, tenantID string, ch store.KindApply) (store.Applied, error) {
	return kit.ApplyOne(ctx, s.commit, acct, tenantID, ch)
}

// Commit implements store.Store.
func (s *backend) Commit(ctx context.Context, acct string, b store.Batch) (store.BatchResult, error) {
	return s.commit(ctx, "Commit", acct, b)
}

// commit works on copies of the tenant, the contact owners and the reviews, and swaps them in
// only when the whole batch succeeded.
func (s *backend) commit(ctx context.Context, op, acct string, b store.Batch) (store.BatchResult, error) {
	b, err := kit.CheckBatch(op, acct, b)
	if err != nil {
		return store.BatchResult{}, err
	}
	var res store.BatchResult
	err = s.inTenant(op, acct, b.TenantID, func(a *account, cur *tenant) error {
		if b.Holder != "" {
			if err := kit.CheckHolder(op, b, a.leases[b.TenantID]); err != nil {
				return err
			}
		}
		x := &tx{op: op, t: cur.working(), cloned: map[tenantsync.Kind]bool{}}
		var changed []kit.KindChanges
		var unstage []tenantsync.Kind
		for _, k := range b.Kinds {
			var ap store.Applied
			var data map[string][]byte
			var err error
			if k.Stage != "" {
				ap, data, err = applyStaged(ctx, x, op, cur, k)
				unstage = append(unstage, k.Result.Kind)
			} else {
				ap, data, err = kit.ApplyData(ctx, x, op, b.TenantID, k)
			}
			if err != nil {
				return err
			}
			changed = append(changed, kit.KindChanges{Applied: ap, Data: data})
			if k.Stage != "" {
				ap.Added, ap.Updated, ap.Removed = nil, nil, nil
			}
			res.Kinds = append(res.Kinds, ap)
		}
		owners := a.owners
		if len(b.Links) > 0 {
			owners = maps.Clone(a.owners)
			for _, lc := range b.Links {
				if err := changeLink(op, owners, x.t, lc, s.now()); err != nil {
					return err
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
		at := store.Time(b.Now)
		if at.IsZero() {
			at = s.now()
		}
		entries, err := kit.FeedEntries(b, changed, res.Reviews, at)
		if err != nil {
			return store.Internal(op, b.TenantID, err)
		}
		for _, k := range unstage {
			delete(x.t.stage.kinds, k)
		}
		a.tenants[b.TenantID], a.owners, a.reviews = x.t, owners, reviews
		a.feed.append(entries, at.Add(-s.retention))
		return nil
	})
	if err != nil {
		return store.BatchResult{}, err
	}
	return res, nil
}

// ReadKind implements store.Mirror. The kind's sorted items (kept until the kind is written,
// and never changed) are taken under the lock and copied into the result outside it.
func (s *backend) ReadKind(_ context.Context, acct, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error) {
	const op = "ReadKind"
	if err := kit.CheckReadKind(op, acct, tenantID, kind); err != nil {
		return nil, err
	}
	var items []kit.Item
	var cursor string
	err := s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		items, cursor = t.inOrder(kind), t.cursors[kind]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kit.DecodeOrdered(op, kind, cursor, items)
}

// ReadItems implements store.ItemsReader.
func (s *backend) ReadItems(_ context.Context, acct, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error) {
	const op = "ReadItems"
	if err := kit.CheckReadItems(op, acct, tenantID, kind, ids); err != nil {
		return nil, err
	}
	var items []kit.Item
	err := s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		m := t.mirror[kind]
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if it, ok := m[id]; ok && !seen[id] {
				seen[id] = true
				items = append(items, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kit.DecodeChosen(op, kind, items)
}

// inOrder returns the kind's items sorted by ID, which the caller must not change. It is
// called under the store's lock.
func (t *tenant) inOrder(kind tenantsync.Kind) []kit.Item {
	if items, ok := t.ordered[kind]; ok {
		return items
	}
	items := slices.SortedFunc(maps.Values(t.mirror[kind]), func(a, b kit.Item) int { return strings.Compare(a.ID, b.ID) })
	if t.ordered == nil {
		t.ordered = map[tenantsync.Kind][]kit.Item{}
	}
	t.ordered[kind] = items
	return items
}

// GetUser implements store.Mirror.
func (s *backend) GetUser(_ context.Context, acct, tenantID, objectID string) (tenantsync.User, error) {
	const op = "GetUser"
	var it kit.Item
	err := s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		var ok bool
		if it, ok = t.mirror[tenantsync.KindUsers][objectID]; !ok {
			return kit.UserNotFound(op, tenantID, objectID)
		}
		return nil
	})
	if err != nil {
		return tenantsync.User{}, err
	}
	return kit.DecodeUser(op, it)
}

// Cursors implements store.Mirror.
func (s *backend) Cursors(_ context.Context, acct, tenantID string) (map[tenantsync.Kind]string, error) {
	out := map[tenantsync.Kind]string{}
	return out, ignoreMissing(s.inTenant("Cursors", acct, tenantID, func(_ *account, t *tenant) error {
		maps.Copy(out, t.cursors)
		return nil
	}))
}

// MirrorCounts implements store.Mirror.
func (s *backend) MirrorCounts(_ context.Context, acct, tenantID string) (map[tenantsync.Kind]int, error) {
	out := map[tenantsync.Kind]int{}
	return out, ignoreMissing(s.inTenant("MirrorCounts", acct, tenantID, func(_ *account, t *tenant) error {
		for k, m := range t.mirror {
			if len(m) > 0 {
				out[k] = len(m)
			}
		}
		return nil
	}))
}

// ignoreMissing drops the ErrNotFound of an absent tenant, for the calls whose answer about
// one is the same as about a tenant with nothing stored.
func ignoreMissing(err error) error {
	if tenantsync.ClassOf(err) == tenantsync.ErrNotFound {
		return nil
	}
	return err
}

// Contact links and merges

// changeLink applies one link change to t and the account's contact owners.
func changeLink(op string, owners map[contactKey]userKey, t *tenant, lc store.LinkChange, now time.Time) error {
	l := lc.Link
	old, had := t.links[l.ObjectID]
	if lc.Delete {
		if had {
			delete(owners, contactKey{old.ClientID, old.ContactID})
			delete(t.links, l.ObjectID)
		}
		return nil
	}
	ck, uk := contactKey{l.ClientID, l.ContactID}, userKey{l.TenantID, l.ObjectID}
	if owner, ok := owners[ck]; ok && owner != uk {
		return store.NewContactTakenError(op, l.ContactID, owner.tenant, owner.object)
	}
	var prev *store.ContactLink
	if had {
		delete(owners, contactKey{old.ClientID, old.ContactID})
		prev = &old
	}
	owners[ck] = uk
	t.links[l.ObjectID] = kit.Link(l, prev, now)
	return nil
}

// mutateTenant runs fn on a working copy of the tenant and the account's contact owners, and
// keeps the result only when fn succeeds.
func (s *backend) mutateTenant(op, acct, tenantID string, fn func(t *tenant, owners map[contactKey]userKey) error) error {
	return s.inTenant(op, acct, tenantID, func(a *account, t *tenant) error {
		w := t.working()
		w.merges = maps.Clone(t.merges)
		owners := maps.Clone(a.owners)
		if err := fn(w, owners); err != nil {
			return err
		}
		a.tenants[tenantID], a.owners = w, owners
		return nil
	})
}

// SetContactLink implements store.ContactLinks.
func (s *backend) SetContactLink(_ context.Context, acct string, l store.ContactLink) error {
	const op = "SetContactLink"
	if err := kit.CheckLink(op, l, false); err != nil {
		return err
	}
	return s.mutateTenant(op, acct, l.TenantID, func(t *tenant, owners map[contactKey]userKey) error {
		return changeLink(op, owners, t, store.LinkChange{Link: l}, s.now())
	})
}

// DeleteContactLink implements store.ContactLinks.
func (s *backend) DeleteContactLink(_ context.Context, acct, tenantID, objectID string) error {
	const op = "DeleteContactLink"
	return ignoreMissing(s.mutateTenant(op, acct, tenantID, func(t *tenant, owners map[contactKey]userKey) error {
		return changeLink(op, owners, t, store.LinkChange{Link: store.ContactLink{ObjectID: objectID}, Delete: true}, time.Time{})
	}))
}

// GetContactLink implements store.ContactLinks.
func (s *backend) GetContactLink(_ context.Context, acct, tenantID, objectID string) (l store.ContactLink, err error) {
	const op = "GetContactLink"
	err = s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		var ok bool
		if l, ok = t.links[objectID]; !ok {
			return kit.LinkNotFound(op, tenantID, objectID)
		}
		return nil
	})
	return l, err
}

// ListContactLinks implements store.ContactLinks.
func (s *backend) ListContactLinks(_ context.Context, acct, tenantID string) ([]store.ContactLink, error) {
	out := []store.ContactLink{}
	return out, ignoreMissing(s.inTenant("ListContactLinks", acct, tenantID, func(_ *account, t *tenant) error {
		out = sorted(t.links, same)
		return nil
	}))
}

// RememberMerge implements store.ContactLinks.
func (s *backend) RememberMerge(_ context.Context, acct string, m store.Merge) error {
	const op = "RememberMerge"
	m, err := kit.CheckMerge(op, acct, m, s.now())
	if err != nil {
		return err
	}
	return s.inTenant(op, acct, m.TenantID, func(_ *account, t *tenant) error {
		t.merges[m.ObjectID] = m
		return nil
	})
}

// ForgetMerge implements store.ContactLinks.
func (s *backend) ForgetMerge(_ context.Context, acct, tenantID, objectID string) error {
	return ignoreMissing(s.inTenant("ForgetMerge", acct, tenantID, func(_ *account, t *tenant) error {
		delete(t.merges, objectID)
		return nil
	}))
}

// ListMerges implements store.ContactLinks.
func (s *backend) ListMerges(_ context.Context, acct, tenantID string) ([]store.Merge, error) {
	out := []store.Merge{}
	return out, ignoreMissing(s.inTenant("ListMerges", acct, tenantID, func(_ *account, t *tenant) error {
		out = sorted(t.merges, same)
		return nil
	}))
}

// Reviews

func cloneReview(r store.Review) store.Review {
	r.Candidates = slices.Clone(r.Candidates)
	return r
}

// addReview stores r as the user's open review, refreshing the one already open.
func addReview(reviews map[string]store.Review, r store.Review, now time.Time) store.Review {
	var open *store.Review
	for _, old := range reviews {
		if !old.Resolved && old.TenantID == r.TenantID && old.ObjectID == r.ObjectID {
			open = &old
			break
		}
	}
	r = kit.OpenReview(r, open, now)
	reviews[r.ID] = r
	return cloneReview(r)
}

// AddReview implements store.Reviews.
func (s *backend) AddReview(_ context.Context, acct string, r store.Review) (out store.Review, err error) {
	const op = "AddReview"
	if err := kit.CheckReview(op, r); err != nil {
		return store.Review{}, err
	}
	err = s.inTenant(op, acct, r.TenantID, func(a *account, _ *tenant) error {
		out = addReview(a.reviews, r, s.now())
		return nil
	})
	return out, err
}

// ListReviews implements store.Reviews.
func (s *backend) ListReviews(_ context.Context, acct string, f store.ReviewFilter) ([]store.Review, error) {
	out := []store.Review{}
	err := s.view("ListReviews", acct, false, func(a *account) error {
		for _, r := range a.reviews {
			if (f.TenantID == "" || r.TenantID == f.TenantID) && (f.IncludeResolved || !r.Resolved) {
				out = append(out, cloneReview(r))
			}
		}
		return nil
	})
	kit.SortReviews(out)
	return out, err
}

// ResolveReview implements store.Reviews.
func (s *backend) ResolveReview(_ context.Context, acct, id, resolution, by string, at time.Time) (r store.Review, err error) {
	const op = "ResolveReview"
	if err := kit.CheckResolution(op, acct, resolution); err != nil {
		return store.Review{}, err
	}
	if at.IsZero() {
		at = s.now()
	}
	err = s.view(op, acct, false, func(a *account) error {
		old, ok := a.reviews[id]
		if !ok {
			return kit.ReviewNotFound(op, id)
		}
		if r, err = kit.Resolve(op, old, resolution, by, at); err != nil {
			return err
		}
		a.reviews[id] = r
		return nil
	})
	if err != nil {
		return store.Review{}, err
	}
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
	if s.Recent != nil {
		recent := make(map[tenantsync.Kind][]store.RecentLoss, len(s.Recent))
		for k, r := range s.Recent {
			recent[k] = slices.Clone(r)
		}
		s.Recent = recent
	}
	if s.Holds != nil {
		holds := make(map[tenantsync.Kind]store.DeletionHold, len(s.Holds))
		for k, h := range s.Holds {
			h.IDs = slices.Clone(h.IDs)
			holds[k] = h
		}
		s.Holds = holds
	}
	if s.ContactsError != nil {
		e := *s.ContactsError
		s.ContactsError = &e
	}
	s.ContactFailures = maps.Clone(s.ContactFailures)
	s.Assets = s.Assets.Clone()
	if s.CreateIntents != nil {
		is := make(map[string]store.CreateIntent, len(s.CreateIntents))
		for id, in := range s.CreateIntents {
			in.Contact.AltEmails = slices.Clone(in.Contact.AltEmails)
			in.Existing = slices.Clone(in.Existing)
			is[id] = in
		}
		s.CreateIntents = is
	}
	return s
}

// PutSyncState implements store.SyncStates.
func (s *backend) PutSyncState(_ context.Context, acct string, st store.SyncState) error {
	return s.inTenant("PutSyncState", acct, st.TenantID, func(_ *account, t *tenant) error {
		cp := cloneState(kit.NormalizeState(st))
		t.state = &cp
		return nil
	})
}

// GetSyncState implements store.SyncStates.
func (s *backend) GetSyncState(_ context.Context, acct, tenantID string) (st store.SyncState, err error) {
	const op = "GetSyncState"
	err = s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		if t.state == nil {
			return kit.StateNotFound(op, tenantID)
		}
		st = cloneState(*t.state)
		return nil
	})
	return st, err
}

// ListSyncStates implements store.SyncStates.
func (s *backend) ListSyncStates(_ context.Context, acct string) ([]store.SyncState, error) {
	out := []store.SyncState{}
	err := s.view("ListSyncStates", acct, false, func(a *account) error {
		for _, t := range sorted(a.tenants, same) {
			if t.state != nil {
				out = append(out, cloneState(*t.state))
			}
		}
		return nil
	})
	return out, err
}

// applyStaged applies a kind from the tenant's stage.
func applyStaged(ctx context.Context, x *tx, op string, t *tenant, ch store.KindApply) (store.Applied, map[string][]byte, error) {
	if err := kit.CheckStagedApply(op, ch); err != nil {
		return store.Applied{}, nil, err
	}
	items, removed, err := stagedEntries(op, t, ch)
	if err != nil {
		return store.Applied{}, nil, err
	}
	ap, written, err := kit.ApplyItems(ctx, x, op, t.rec.ID, ch, items, removed)
	if err != nil {
		return store.Applied{}, nil, err
	}
	data := make(map[string][]byte, len(written))
	for _, it := range written {
		data[it.ID] = it.Data
	}
	return ap, data, nil
}
