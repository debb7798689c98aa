package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tenantsync/tenantsync"
)

// ChangeType names what a change-feed entry records.
type ChangeType string

// Change types. The store writes the mirror and link entries itself from what a commit
// changed; the engine passes the others in Batch.Changes.
const (
	// ChangeUpserted: an item of Kind was added (Added) or updated; Data is the item as stored.
	ChangeUpserted ChangeType = "item.upserted"
	// ChangeRemoved: an item of Kind was removed from the mirror.
	ChangeRemoved ChangeType = "item.removed"
	// ChangeLinked: the user ItemID was linked to the contact ContactID of ClientID.
	ChangeLinked ChangeType = "link.set"
	// ChangeUnlinked: the user ItemID lost its contact link.
	ChangeUnlinked ChangeType = "link.deleted"
	// ChangeReviewQueued: the user ItemID waits for a person to pick its contact; Data is the
	// stored review.
	ChangeReviewQueued ChangeType = "review.queued"

	// ChangeContact: the engine wrote the user ItemID's contact ContactID in the PSA: Action
	// says how (created, updated, linked, deactivated, reactivated).
	ChangeContact ChangeType = "contact.reconciled"
	// ChangeAsset: the engine wrote or linked the device ItemID's asset AssetID of ClientID in
	// the PSA: Action says how (created, updated, linked, retired, reactivated), or queued the
	// device for a person (review).
	ChangeAsset ChangeType = "asset.reconciled"
	// ChangeHoldPlaced: the deletion guard held a removal of Kind; Data is the DeletionHold.
	ChangeHoldPlaced ChangeType = "hold.placed"
	// ChangeHoldEnded: a hold of Kind ended: Action says how (applied, cleared).
	ChangeHoldEnded ChangeType = "hold.ended"

	// ChangeTenantUnlinked: a disconnect removed the tenant's link to ClientID; Action is the
	// unlink mode (keep, purge).
	ChangeTenantUnlinked ChangeType = "tenant.unlinked"
	// ChangeDisconnected: the connection ItemID and its stored authorization were removed.
	ChangeDisconnected ChangeType = "connection.disconnected"
)

// Valid reports whether t is a declared change type.
func (t ChangeType) Valid() bool {
	switch t {
	case ChangeUpserted, ChangeRemoved, ChangeLinked, ChangeUnlinked, ChangeReviewQueued,
		ChangeContact, ChangeAsset, ChangeHoldPlaced, ChangeHoldEnded, ChangeTenantUnlinked, ChangeDisconnected:
		return true
	}
	return false
}

// Change is one entry of an account's change feed: something a sync committed, written in the
// same transaction as the change itself.
type Change struct {
	// Seq is the entry's place in the account's feed: 1, 2, ... in commit order, with no entry
	// committed later ever taking a smaller one. A consumer's cursor is the last Seq it handled.
	Seq int64 `json:"seq"`
	// ID identifies the entry for idempotency: a consumer that receives an entry twice (the
	// feed is delivered at least once) sees the same ID. Unique within the account.
	ID       string          `json:"id"`
	At       time.Time       `json:"at"`
	TenantID string          `json:"tenantId"`
	Type     ChangeType      `json:"type"`
	Kind     tenantsync.Kind `json:"kind,omitempty"`
	// ItemID is the mirrored item's ID (ChangeUpserted, ChangeRemoved) or the user's object ID
	// (links, reviews, contacts), or the device ID (assets).
	ItemID    string `json:"itemId,omitempty"`
	ClientID  string `json:"clientId,omitempty"`
	ContactID string `json:"contactId,omitempty"`
	AssetID   string `json:"assetId,omitempty"`
	// Action refines Type: "added" or "updated" for ChangeUpserted, what the engine did for
	// ChangeContact, ChangeAsset and ChangeHoldEnded.
	Action string `json:"action,omitempty"`
	// Data is the entry's object as JSON, where its Type says there is one.
	Data json.RawMessage `json:"data,omitempty"`
}

// ChangeID is the ID of the entry at seq of an account's feed.
func ChangeID(seq int64) string { return "chg_" + strconv.FormatInt(seq, 10) }

// DefaultChangeRetention is how long the stores keep feed entries unless configured otherwise.
const DefaultChangeRetention = 7 * 24 * time.Hour

// MaxChangesPage is the most entries one ChangeFeed.Changes call returns.
const MaxChangesPage = 1000

// ChangeFeed reads the account's change feed. Entries are appended only by Mirror.Commit (and
// Mirror.Apply), in the transaction of the change they record; each consumer keeps its own
// cursor (the Seq of the last entry it handled) and reads on from it, so delivery is at least
// once: a consumer that fails before saving its cursor reads the same entries, with the same
// IDs, again. Entries older than the store's retention are removed; a cursor that points before
// the oldest kept entry fails rather than skip what was removed.
type ChangeFeed interface {
	// Changes returns up to limit entries (1..MaxChangesPage; 0 for MaxChangesPage) with Seq
	// greater than after, in Seq order; none when the consumer is up to date. An after older
	// than retention keeps, or beyond the feed's head, fails with a *FeedCursorError
	// (ErrCursorExpired).
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// Head returns the Seq of the latest entry, 0 when the feed is empty. A consumer that
	// resyncs reads Head first, then the mirror, and continues from that Head.
	Head(ctx context.Context) (int64, error)
}

// FeedCursorError says a feed cursor can no longer be continued: the entries after it were
// removed by retention (After < Oldest-1), or it is beyond the feed's head (the store was
// replaced or restored). It matches tenantsync.ErrCursorExpired.
type FeedCursorError struct {
	detail
	After  int64 // the cursor given
	Oldest int64 // the Seq of the oldest entry kept (Head+1 when none are)
	Head   int64 // the latest Seq
}

// NewFeedCursorError builds the error for op: after cannot continue a feed keeping entries
// oldest..head.
func NewFeedCursorError(op string, after, oldest, head int64) *FeedCursorError {
	msg := fmt.Sprintf("change feed cursor %d is older than the oldest entry kept (%d)", after, oldest)
	if after > head {
		msg = fmt.Sprintf("change feed cursor %d is beyond the feed's head (%d)", after, head)
	}
	return &FeedCursorError{
		detail: tenantsync.Error{Class: tenantsync.ErrCursorExpired, Service: Service, Op: op, Message: msg,
			Hint: "resync: read the feed's head, reload the mirror in full (tenants, users, devices, links), then read changes after that head"},
		After: after, Oldest: oldest, Head: head,
	}
}
