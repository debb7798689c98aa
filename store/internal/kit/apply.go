package kit

import (
	"context"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Tx is the part of a transaction the apply algorithm needs, scoped to one account and tenant.
// An implementation runs Apply inside its own transaction and commits only when it returns nil.
type Tx interface {
	// Cursor returns the stored cursor of kind, "" when none.
	Cursor(ctx context.Context, kind tenantsync.Kind) (string, error)
	// Hashes returns the stored hash of each item of kind whose ID is in ids, or of every item
	// of kind when ids is nil.
	Hashes(ctx context.Context, kind tenantsync.Kind, ids []string) (map[string]string, error)
	// Upsert stores items, replacing those with the same IDs.
	Upsert(ctx context.Context, kind tenantsync.Kind, items []Item) error
	// Delete removes the items with the given IDs.
	Delete(ctx context.Context, kind tenantsync.Kind, ids []string) error
	// SetCursor stores the kind's cursor.
	SetCursor(ctx context.Context, kind tenantsync.Kind, cursor string) error
}

// Apply applies one kind's change through tx: compare-and-set on the cursor, diff against the
// stored hashes, upsert what is new or different, delete what the listing omits or the change
// set removes, store the new cursor.
func Apply(ctx context.Context, tx Tx, op, tenantID string, ch store.KindApply) (store.Applied, error) {
	res, _, err := ApplyData(ctx, tx, op, tenantID, ch)
	return res, err
}

// ApplyData is Apply that also returns the stored form of each added or updated item, by ID,
// for the change feed.
func ApplyData(ctx context.Context, tx Tx, op, tenantID string, ch store.KindApply) (store.Applied, map[string][]byte, error) {
	res, written, err := apply(ctx, tx, op, tenantID, ch)
	if err != nil {
		return store.Applied{}, nil, err
	}
	data := make(map[string][]byte, len(written))
	for _, it := range written {
		data[it.ID] = it.Data
	}
	return res, data, nil
}

func apply(ctx context.Context, tx Tx, op, tenantID string, ch store.KindApply) (store.Applied, []Item, error) {
	r, err := checkApply(op, ch)
	if err != nil {
		return store.Applied{}, nil, err
	}
	items, err := encode(op, tenantID, r, keepsValues(tx))
	if err != nil {
		return store.Applied{}, nil, err
	}
	return ApplyItems(ctx, tx, op, tenantID, ch, items, r.Removed)
}

// checkApply validates a kind's apply and returns its result.
func checkApply(op string, ch store.KindApply) (*tenantsync.KindResult, error) {
	r := ch.Result
	if r == nil {
		return nil, store.Invalid(op, "pass the source's KindResult", "no result to apply")
	}
	if !r.Kind.Valid() {
		return nil, store.Invalid(op, "use one of the tenantsync.Kind constants", "unknown kind %q", r.Kind)
	}
	if r.Mode != tenantsync.Complete && r.Mode != tenantsync.Changes {
		return nil, store.Invalid(op, "apply only complete listings and change sets; an unavailable kind changes nothing",
			"%s result is %s", r.Kind, r.Mode)
	}
	return r, nil
}

// CheckStagedApply validates a staged apply (KindApply.Stage set) before the store reads its stage.
func CheckStagedApply(op string, ch store.KindApply) error {
	_, err := checkApply(op, ch)
	return err
}

// ApplyItems is Apply of items already encoded (ch.Result's, or a stage's), with removed the
// IDs a change set removes; it returns the items written.
func ApplyItems(ctx context.Context, tx Tx, op, tenantID string, ch store.KindApply, items []Item, removed []string) (store.Applied, []Item, error) {
	r, err := checkApply(op, ch)
	if err != nil {
		return store.Applied{}, nil, err
	}
	cur, err := tx.Cursor(ctx, r.Kind)
	if err != nil {
		return store.Applied{}, nil, err
	}
	if cur != ch.ExpectCursor {
		return store.Applied{}, nil, store.CursorConflict(op, tenantID, r.Kind)
	}
	keep := map[string]bool{}
	for _, id := range ch.Keep {
		keep[id] = true
	}
	if len(keep) > 0 {
		items = slices.DeleteFunc(slices.Clone(items), func(it Item) bool { return keep[it.ID] })
		removed = slices.DeleteFunc(slices.Clone(removed), func(id string) bool { return keep[id] })
	}

	// A change set reads back only the hashes of the IDs it names; a complete listing, all of
	// the kind's, since whatever it omits is removed.
	var ids []string
	if r.Mode == tenantsync.Changes {
		ids = make([]string, 0, len(items)+len(removed))
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		ids = append(ids, removed...)
	}
	existing, err := tx.Hashes(ctx, r.Kind, ids)
	if err != nil {
		return store.Applied{}, nil, err
	}

	res := store.Applied{Kind: r.Kind, Cursor: r.Cursor}
	listed := make(map[string]bool, len(items))
	write := items[:0:0]
	for _, it := range items {
		listed[it.ID] = true
		switch h, ok := existing[it.ID]; {
		case !ok:
			res.Added = append(res.Added, it.ID)
			write = append(write, it)
		case h != it.Hash:
			res.Updated = append(res.Updated, it.ID)
			write = append(write, it)
		default:
			res.Unchanged++
		}
	}
	// What is stored and not listed goes: everything else for a complete listing, the named
	// IDs for a change set (an ID both changed and removed is kept, as the change says).
	gone := slices.Collect(maps.Keys(existing))
	if r.Mode == tenantsync.Changes {
		gone = removed
	}
	for _, id := range gone {
		if _, stored := existing[id]; stored && !listed[id] && !keep[id] {
			res.Removed = append(res.Removed, id)
		}
	}
	slices.Sort(res.Added)
	slices.Sort(res.Updated)
	slices.Sort(res.Removed)
	res.Removed = slices.Compact(res.Removed)
	res.AddedCount, res.UpdatedCount, res.RemovedCount = len(res.Added), len(res.Updated), len(res.Removed)

	if len(write) > 0 {
		if err := tx.Upsert(ctx, r.Kind, write); err != nil {
			return store.Applied{}, nil, err
		}
	}
	if len(res.Removed) > 0 {
		if err := tx.Delete(ctx, r.Kind, res.Removed); err != nil {
			return store.Applied{}, nil, err
		}
	}
	if r.Cursor != cur {
		if err := tx.SetCursor(ctx, r.Kind, r.Cursor); err != nil {
			return store.Applied{}, nil, err
		}
	}
	return res, write, nil
}

// CheckBatch validates b for account and returns a copy of it, whose parts that left the
// tenant ID empty have it filled in, so the caller's batch is never changed.
func CheckBatch(op, account string, b store.Batch) (store.Batch, error) {
	b.Links = slices.Clone(b.Links)
	b.Reviews = slices.Clone(b.Reviews)
	b.Changes = slices.Clone(b.Changes)
	if b.State != nil {
		st := *b.State
		b.State = &st
	}
	return b, checkBatch(op, account, &b)
}

func checkBatch(op, account string, b *store.Batch) error {
	if err := store.CheckTenant(op, account, b.TenantID); err != nil {
		return err
	}
	seen := map[tenantsync.Kind]bool{}
	for _, k := range b.Kinds {
		if k.Result == nil {
			return store.Invalid(op, "pass the source's KindResult", "no result to apply")
		}
		if seen[k.Result.Kind] {
			return store.Invalid(op, "put each kind in a batch once", "kind %s appears twice", k.Result.Kind)
		}
		seen[k.Result.Kind] = true
	}
	for i := range b.Links {
		l := &b.Links[i].Link
		if l.TenantID == "" {
			l.TenantID = b.TenantID
		}
		if l.TenantID != b.TenantID {
			return store.Invalid(op, "a batch holds one tenant's outcome", "contact link of tenant %s in a batch of tenant %s", l.TenantID, b.TenantID)
		}
		if err := CheckLink(op, *l, b.Links[i].Delete); err != nil {
			return err
		}
	}
	for i := range b.Reviews {
		r := &b.Reviews[i]
		if r.TenantID == "" {
			r.TenantID = b.TenantID
		}
		if r.TenantID != b.TenantID {
			return store.Invalid(op, "a batch holds one tenant's outcome", "review of tenant %s in a batch of tenant %s", r.TenantID, b.TenantID)
		}
		if err := CheckReview(op, *r); err != nil {
			return err
		}
	}
	for i := range b.Changes {
		if err := checkBatchChange(op, b.TenantID, &b.Changes[i]); err != nil {
			return err
		}
	}
	if b.State != nil {
		if b.State.TenantID == "" {
			b.State.TenantID = b.TenantID
		}
		if b.State.TenantID != b.TenantID {
			return store.Invalid(op, "a batch holds one tenant's outcome", "sync state of tenant %s in a batch of tenant %s", b.State.TenantID, b.TenantID)
		}
	}
	return nil
}

// CheckLink validates a contact link (only its key when del).
func CheckLink(op string, l store.ContactLink, del bool) error {
	if l.TenantID == "" || l.ObjectID == "" {
		return store.Invalid(op, "identify the user by tenant ID and object ID", "contact link without tenant or object ID")
	}
	if !del && (l.ContactID == "" || l.ClientID == "") {
		return store.Invalid(op, "name the contact by client ID and contact ID", "contact link of user %s without client or contact", l.ObjectID)
	}
	return nil
}

// CheckReview validates a review item.
func CheckReview(op string, r store.Review) error {
	if r.TenantID == "" || r.ObjectID == "" {
		return store.Invalid(op, "identify the user by tenant ID and object ID", "review without tenant or object ID")
	}
	for _, c := range r.Candidates {
		if math.IsNaN(c.Score) || math.IsInf(c.Score, 0) {
			return store.Invalid(op, "give each candidate a finite score", "review of user %s: candidate %q has score %v", r.ObjectID, c.ContactID, c.Score)
		}
	}
	return nil
}

// CheckLease validates lease arguments.
func CheckLease(op, account, tenantID, holder string, ttl time.Duration) error {
	if err := store.CheckTenant(op, account, tenantID); err != nil {
		return err
	}
	if holder == "" {
		return store.Invalid(op, "name the lease holder (e.g. host and process ID)", "no holder")
	}
	if ttl <= 0 {
		return store.Invalid(op, "use a positive lease duration", "lease duration %s", ttl)
	}
	return nil
}
