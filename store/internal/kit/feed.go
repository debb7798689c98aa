package kit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// KindChanges is what one kind's apply changed, with the stored form of each written item.
type KindChanges struct {
	Applied store.Applied
	Data    map[string][]byte
}

// FeedEntries returns the feed entries of a committed batch, without Seq and ID: the mirror's
// upserts and removals per kind, then link changes, queued reviews and the caller's entries,
// in that order. at stamps every entry.
func FeedEntries(b store.Batch, kinds []KindChanges, reviews []store.Review, at time.Time) ([]store.Change, error) {
	var out []store.Change
	for _, k := range kinds {
		a := k.Applied
		add := func(ids []string, action string) {
			for _, id := range ids {
				out = append(out, store.Change{At: at, TenantID: b.TenantID, Type: store.ChangeUpserted, Kind: a.Kind,
					ItemID: id, Action: action, Data: json.RawMessage(k.Data[id])})
			}
		}
		add(a.Added, "added")
		add(a.Updated, "updated")
		for _, id := range a.Removed {
			out = append(out, store.Change{At: at, TenantID: b.TenantID, Type: store.ChangeRemoved, Kind: a.Kind, ItemID: id})
		}
	}
	for _, lc := range b.Links {
		c := store.Change{At: at, TenantID: b.TenantID, Kind: tenantsync.KindUsers, ItemID: lc.Link.ObjectID}
		if lc.Delete {
			c.Type = store.ChangeUnlinked
		} else {
			c.Type, c.ClientID, c.ContactID = store.ChangeLinked, lc.Link.ClientID, lc.Link.ContactID
		}
		out = append(out, c)
	}
	for _, r := range reviews {
		data, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Change{At: at, TenantID: b.TenantID, Type: store.ChangeReviewQueued, Kind: tenantsync.KindUsers,
			ItemID: r.ObjectID, ClientID: r.ClientID, Data: data})
	}
	for _, c := range b.Changes {
		c.At = at
		out = append(out, c)
	}
	return out, nil
}

// Number gives entries their Seq and ID, continuing after head.
func Number(entries []store.Change, head int64) {
	for i := range entries {
		entries[i].Seq = head + int64(i) + 1
		entries[i].ID = store.ChangeID(entries[i].Seq)
	}
}

// Retention returns the feed retention a store configured with d keeps: d, or
// store.DefaultChangeRetention when d is zero.
func Retention(d time.Duration) time.Duration {
	if d <= 0 {
		return store.DefaultChangeRetention
	}
	return d
}

// FeedWindow checks a Changes cursor against the kept feed: oldest is the Seq of the oldest
// entry kept (head+1 when none), pruned the highest Seq removed by retention (0 when none).
func FeedWindow(op string, after, pruned, head int64) error {
	if after < pruned || after > head {
		return store.NewFeedCursorError(op, after, pruned+1, head)
	}
	return nil
}

// checkBatchChange validates a change a caller put in Batch.Changes for op and fills its
// tenant from the batch. Callers pass only what the store cannot derive itself, so a caller
// cannot record a mirror change that did not happen.
func checkBatchChange(op, tenantID string, c *store.Change) error {
	switch c.Type {
	case store.ChangeContact, store.ChangeAsset, store.ChangeHoldPlaced, store.ChangeHoldEnded:
	default:
		return store.Invalid(op, "put only contact.reconciled, asset.reconciled, hold.placed and hold.ended entries in Batch.Changes; the store records mirror, link and review changes itself",
			"change type %q cannot be passed in a batch", c.Type)
	}
	if c.TenantID != "" && c.TenantID != tenantID {
		return store.Invalid(op, "a batch records changes of its own tenant only", "change of tenant %s in a batch of tenant %s", c.TenantID, tenantID)
	}
	c.TenantID = tenantID
	return nil
}

// CheckChangesPage validates ChangeFeed.Changes' arguments and returns the page size to use.
func CheckChangesPage(op, account string, after int64, limit int) (int, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return 0, err
	}
	if after < 0 {
		return 0, store.Invalid(op, "pass 0 to read from the start, or the seq of the last change handled", "negative cursor %d", after)
	}
	switch {
	case limit == 0:
		return store.MaxChangesPage, nil
	case limit < 0 || limit > store.MaxChangesPage:
		return 0, store.Invalid(op, fmt.Sprintf("ask for 1 to %d changes at a time", store.MaxChangesPage), "limit %d out of range", limit)
	}
	return limit, nil
}
