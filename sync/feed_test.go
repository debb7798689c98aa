package sync

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// readFeed reads the account's whole feed after cursor.
func (h *harness) readFeed(after int64) []store.Change {
	h.t.Helper()
	var out []store.Change
	for {
		page, err := h.st.Account(testAccount).Feed.Changes(h.t.Context(), after, 100)
		require.NoError(h.t, err)
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

func byType(cs []store.Change, t store.ChangeType) []store.Change {
	var out []store.Change
	for _, c := range cs {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

// What a sync commits reaches the feed with it, on every store: the mirror's items, the links
// and contacts the reconcile wrote, and the deletion guard's holds and their end.
func TestChangeFeedRecordsWhatTheEngineCommits(t *testing.T) {
	t.Parallel()
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessOn(t, func(now func() time.Time) store.Store { return sc.open(t, now) })
			linkedPeople(t, h, 40)
			first := h.readFeed(0)
			// 43 users, their mailboxes and the other kinds, then a link and a created contact per person.
			users := map[string]bool{}
			for _, c := range byType(first, store.ChangeUpserted) {
				if c.Kind == tenantsync.KindUsers {
					users[c.ItemID] = true
					var u tenantsync.User
					require.NoError(t, json.Unmarshal(c.Data, &u))
					assert.Equal(t, c.ItemID, u.ObjectID)
				}
			}
			assert.Len(t, users, 43)
			links := byType(first, store.ChangeLinked)
			contacts := byType(first, store.ChangeContact)
			assert.Len(t, links, 40)
			require.Len(t, contacts, 40)
			for i, c := range contacts {
				assert.Equal(t, "created", c.Action)
				assert.Equal(t, "client-1", c.ClientID)
				assert.NotEmpty(t, c.ContactID)
				assert.Equal(t, h.links("t1")[c.ItemID].ContactID, c.ContactID, "entry %d names the linked contact", i)
			}
			// Events arrive on their own, after the commit.
			assert.Len(t, h.sink.WaitFor(t, EventContactCreated, "t1", len(contacts)), len(contacts), "one entry per contact the engine created")
			for i := range first {
				assert.Equal(t, int64(i+1), first[i].Seq, "the feed has no gaps")
				assert.Equal(t, "t1", first[i].TenantID)
			}

			// An empty listing is held: the feed says so and removes nothing.
			head := first[len(first)-1].Seq
			h.src.SetMode("t1", tenantsync.KindUsers, FakeEmpty, nil)
			h.syncNow("t1")
			held := h.readFeed(head)
			assert.Empty(t, byType(held, store.ChangeRemoved), "a held removal is not in the feed as a removal")
			placed := byType(held, store.ChangeHoldPlaced)
			require.Len(t, placed, 1)
			var hold store.DeletionHold
			require.NoError(t, json.Unmarshal(placed[0].Data, &hold))
			assert.Equal(t, tenantsync.KindUsers, placed[0].Kind)
			assert.Equal(t, 43, hold.Removals)

			// The users come back but one: the hold ends, the one is removed and its contact deactivated.
			head = held[len(held)-1].Seq
			h.src.SetMode("t1", tenantsync.KindUsers, FakeAuto, nil)
			h.src.RemoveUser("t1", "t1-u000")
			h.syncNow("t1")
			back := h.readFeed(head)
			ended := byType(back, store.ChangeHoldEnded)
			require.Len(t, ended, 1)
			assert.Equal(t, "cleared", ended[0].Action)
			removed := byType(back, store.ChangeRemoved)
			require.NotEmpty(t, removed)
			assert.Equal(t, "t1-u000", removed[0].ItemID)
			deact := byType(back, store.ChangeContact)
			require.Len(t, deact, 1)
			assert.Equal(t, "deactivated", deact[0].Action)
			assert.Equal(t, "t1-u000", deact[0].ItemID)

			// A sync that changes nothing adds nothing.
			head = back[len(back)-1].Seq
			h.syncNow("t1")
			assert.Empty(t, h.readFeed(head))
		})
	}
}
