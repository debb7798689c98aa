package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// feedSummary is an entry without its time and data, for comparing sequences of entries.
type feedSummary struct {
	Seq    int64
	ID     string
	Tenant string
	Type   store.ChangeType
	Kind   tenantsync.Kind
	Item   string
	Action string
}

func summarize(cs []store.Change) []feedSummary {
	out := []feedSummary{}
	for _, c := range cs {
		out = append(out, feedSummary{c.Seq, c.ID, c.TenantID, c.Type, c.Kind, c.ItemID, c.Action})
	}
	return out
}

func testFeed(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	acct := s.Account(h.acct)
	linked(t, s, h.acct, "tA", "tB")

	head, err := acct.Feed.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, head, "a new account's feed is empty")
	got, err := acct.Feed.Changes(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, got)

	hold := store.DeletionHold{Kind: tenantsync.KindDevices, Source: "cipp", Mode: tenantsync.Complete, IDs: []string{"d9"}, Removals: 1, Of: 2}
	holdData, err := json.Marshal(hold)
	require.NoError(t, err)
	_, err = acct.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Now: t0,
		Kinds: []store.KindApply{
			{Result: snapshot(users("", "u1", "u2"), "c1")},
			{Result: &tenantsync.KindResult{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{{ID: "d1"}}}},
		},
		Links:   []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: "k1"}}},
		Reviews: []store.Review{{ObjectID: "u2", ClientID: "client-1", Reason: "two candidates", Candidates: []store.ReviewCandidate{{ContactID: "k7", Score: 0.5}}}},
		Changes: []store.Change{
			{Type: store.ChangeContact, Kind: tenantsync.KindUsers, ItemID: "u1", ClientID: "client-1", ContactID: "k1", Action: "created"},
			{Type: store.ChangeHoldPlaced, Kind: tenantsync.KindDevices, Data: holdData},
		},
	})
	require.NoError(t, err)
	u1 := user("tA", "u1", "User u1")
	u1.DisplayName = "Renamed"
	_, err = acct.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Now: t0.Add(time.Minute),
		Kinds: []store.KindApply{{Result: changes([]tenantsync.User{u1}, []string{"u2"}, "c2"), ExpectCursor: "c1"}},
		Links: []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1"}, Delete: true}},
	})
	require.NoError(t, err)
	// A kind that changed nothing records nothing.
	for range 2 {
		_, err = acct.Mirror.Commit(ctx, store.Batch{TenantID: "tB", Now: t0.Add(2 * time.Minute),
			Kinds: []store.KindApply{{Result: snapshot(users("", "b1"), "")}}})
		require.NoError(t, err)
	}

	want := []feedSummary{
		{1, "chg_1", "tA", store.ChangeUpserted, tenantsync.KindUsers, "u1", "added"},
		{2, "chg_2", "tA", store.ChangeUpserted, tenantsync.KindUsers, "u2", "added"},
		{3, "chg_3", "tA", store.ChangeUpserted, tenantsync.KindDevices, "d1", "added"},
		{4, "chg_4", "tA", store.ChangeLinked, tenantsync.KindUsers, "u1", ""},
		{5, "chg_5", "tA", store.ChangeReviewQueued, tenantsync.KindUsers, "u2", ""},
		{6, "chg_6", "tA", store.ChangeContact, tenantsync.KindUsers, "u1", "created"},
		{7, "chg_7", "tA", store.ChangeHoldPlaced, tenantsync.KindDevices, "", ""},
		{8, "chg_8", "tA", store.ChangeUpserted, tenantsync.KindUsers, "u1", "updated"},
		{9, "chg_9", "tA", store.ChangeRemoved, tenantsync.KindUsers, "u2", ""},
		{10, "chg_10", "tA", store.ChangeUnlinked, tenantsync.KindUsers, "u1", ""},
		{11, "chg_11", "tB", store.ChangeUpserted, tenantsync.KindUsers, "b1", "added"},
	}
	all, err := acct.Feed.Changes(ctx, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, want, summarize(all))
	head, err = acct.Feed.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(11), head)
	if len(all) == len(want) {
		// Upserts carry the item as stored; links name the contact; caller entries keep their data.
		var u tenantsync.User
		require.NoError(t, json.Unmarshal(all[7].Data, &u))
		assert.Equal(t, "Renamed", u.DisplayName)
		assert.Equal(t, "k1", all[3].ContactID)
		assert.Equal(t, "client-1", all[3].ClientID)
		var gotHold store.DeletionHold
		require.NoError(t, json.Unmarshal(all[6].Data, &gotHold))
		assert.Equal(t, hold.IDs, gotHold.IDs)
		var rv store.Review
		require.NoError(t, json.Unmarshal(all[4].Data, &rv))
		assert.NotEmpty(t, rv.ID, "a queued review's entry carries the stored review")
		assert.True(t, all[0].At.Equal(t0), "entries are stamped with the batch's time, got %v", all[0].At)
		assert.True(t, all[7].At.Equal(t0.Add(time.Minute)))
		assert.Empty(t, all[8].Data, "a removal carries no data")
	}

	// Pages continue from the cursor.
	page, err := acct.Feed.Changes(ctx, 4, 3)
	require.NoError(t, err)
	assert.Equal(t, want[4:7], summarize(page))
	page, err = acct.Feed.Changes(ctx, 11, 0)
	require.NoError(t, err)
	assert.Empty(t, page, "a consumer at the head gets nothing")

	// A failed commit records nothing.
	_, err = acct.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Now: t0.Add(3 * time.Minute),
		Kinds: []store.KindApply{{Result: snapshot(users("", "u7"), "c3"), ExpectCursor: "stale"}}})
	assertKind(t, err, tenantsync.ErrConflict)
	head, err = acct.Feed.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(11), head, "a failed commit appended to the feed")

	// Callers cannot record mirror or link changes, nor another tenant's.
	for _, c := range []store.Change{{Type: store.ChangeUpserted, Kind: tenantsync.KindUsers, ItemID: "ghost"},
		{Type: store.ChangeLinked}, {Type: "made.up"}, {Type: store.ChangeContact, TenantID: "tB"}} {
		_, err = acct.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Changes: []store.Change{c}})
		assertKind(t, err, tenantsync.ErrInvalidInput)
	}

	// Bad arguments and a cursor beyond the head are typed errors.
	_, err = acct.Feed.Changes(ctx, -1, 0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = acct.Feed.Changes(ctx, 0, store.MaxChangesPage+1)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = acct.Feed.Changes(ctx, 12, 0)
	assertKind(t, err, tenantsync.ErrCursorExpired)
	var ce *store.FeedCursorError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int64(11), ce.Head)

	// The feed is the account's own.
	other := s.Account(h.other())
	head, err = other.Feed.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, head)
	got, err = other.Feed.Changes(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = s.Account("").Feed.Changes(ctx, 0, 0)
	assertKind(t, err, tenantsync.ErrInvalidInput)

	// Apply, which stamps with the store's clock, records its changes too.
	applied := h.acct + "-apply"
	discover(t, s, applied, "tC")
	_, err = s.Account(applied).Mirror.Apply(ctx, "tC", store.KindApply{Result: snapshot(users("", "c1"), "")})
	require.NoError(t, err)
	got, err = s.Account(applied).Feed.Changes(ctx, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []feedSummary{{1, "chg_1", "tC", store.ChangeUpserted, tenantsync.KindUsers, "c1", "added"}}, summarize(got))
}

func testFeedRetention(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	acct := s.Account(h.acct)
	discover(t, s, h.acct, "tA")
	commitUsers := func(at time.Time, cursor, expect string, ids ...string) {
		t.Helper()
		_, err := acct.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Now: at,
			Kinds: []store.KindApply{{Result: changes(users("", ids...), nil, cursor), ExpectCursor: expect}}})
		require.NoError(t, err)
	}
	commitUsers(t0, "c1", "", "u1", "u2")               // seq 1, 2
	commitUsers(t0.Add(time.Hour), "c2", "c1", "u3")    // seq 3
	commitUsers(t0.Add(24*time.Hour), "c3", "c2", "u4") // seq 4
	all, err := acct.Feed.Changes(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 4, "nothing is older than the retention yet")

	// A commit a little over the default retention after the first two removes them, not the rest.
	commitUsers(t0.Add(store.DefaultChangeRetention+30*time.Minute), "c4", "c3", "u5") // seq 5
	_, err = acct.Feed.Changes(ctx, 0, 0)
	assertKind(t, err, tenantsync.ErrCursorExpired)
	var ce *store.FeedCursorError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int64(3), ce.Oldest)
	assert.Equal(t, int64(5), ce.Head)
	d, _ := tenantsync.Details(err)
	assert.Contains(t, d.Hint, "resync")
	_, err = acct.Feed.Changes(ctx, 1, 0)
	assertKind(t, err, tenantsync.ErrCursorExpired)

	// A consumer that handled entry 2 loses nothing, and reads on.
	rest, err := acct.Feed.Changes(ctx, 2, 0)
	require.NoError(t, err)
	assert.Equal(t, []int64{3, 4, 5}, seqs(rest))
	// Resync: the head, then everything after it.
	head, err := acct.Feed.Head(ctx)
	require.NoError(t, err)
	commitUsers(t0.Add(store.DefaultChangeRetention+time.Hour), "c5", "c4", "u6")
	rest, err = acct.Feed.Changes(ctx, head, 0)
	require.NoError(t, err)
	assert.Equal(t, []int64{6}, seqs(rest))
}

func seqs(cs []store.Change) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.Seq)
	}
	return out
}

// consumer reads the feed with a cursor of its own, and can crash: lose what it read since it
// last saved the cursor, as a process killed between handling and saving would.
type consumer struct {
	saved    int64
	received map[string]int // times each change ID was handled
}

// poll reads one page after the saved cursor and handles it; it saves the cursor unless crash.
func (c *consumer) poll(t *testing.T, feed store.ChangeFeed, limit int, crash bool) int {
	t.Helper()
	page, err := feed.Changes(t.Context(), c.saved, limit)
	require.NoError(t, err)
	for _, ch := range page {
		c.received[ch.ID]++
	}
	if !crash && len(page) > 0 {
		c.saved = page[len(page)-1].Seq
	}
	return len(page)
}

func testFeedConsumers(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	acct := s.Account(h.acct)
	discover(t, s, h.acct, "tA")
	a := &consumer{received: map[string]int{}}
	b := &consumer{received: map[string]int{}}
	cursor := ""
	for i := range 20 {
		id := fmt.Sprintf("u%02d", i)
		_, err := acct.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Now: t0.Add(time.Duration(i) * time.Second),
			Kinds: []store.KindApply{{Result: changes(users("", id), nil, "c-"+id), ExpectCursor: cursor}}})
		require.NoError(t, err)
		cursor = "c-" + id
		// a polls every commit in small pages and crashes now and then between handling a
		// page and saving its cursor; b polls every fifth commit in large pages.
		for a.poll(t, acct.Feed, 2, i%3 == 1) > 0 && i%3 != 1 {
		}
		if i%5 == 4 {
			b.poll(t, acct.Feed, 100, false)
		}
	}
	for a.poll(t, acct.Feed, 3, false) > 0 {
	}
	for b.poll(t, acct.Feed, 100, false) > 0 {
	}
	for i := range 20 {
		id := store.ChangeID(int64(i + 1))
		assert.GreaterOrEqual(t, a.received[id], 1, "consumer a never received %s", id)
		assert.Equal(t, 1, b.received[id], "consumer b, which never crashed, received %s", id)
	}
	redelivered := 0
	for _, n := range a.received {
		redelivered += n - 1
	}
	assert.Positive(t, redelivered, "the crashing consumer should have been given entries again")
	assert.Len(t, a.received, 20)
	assert.Len(t, b.received, 20)
	assert.Equal(t, int64(20), a.saved)
	assert.Equal(t, int64(20), b.saved)
}

// testFeedConcurrent commits to several tenants of one account at once while a consumer
// follows the feed: every entry it sees must be the next Seq after its cursor, so no entry can
// become visible after a later one was read (the consumer would have moved past it).
func testFeedConcurrent(t *testing.T, h *harness) { feedConcurrent(t, h, 4, 8, 1) }

// testFeedLargeCommits is testFeedConcurrent with commits of several hundred entries, on
// either side of what one statement of the SQL stores inserts (500), and checks each entry's
// ID.
func testFeedLargeCommits(t *testing.T, h *harness) { feedConcurrent(t, h, 3, 3, 499, 500, 501, 1200) }

// feedConcurrent runs writers committing each times, the i-th commit of a writer adding
// sizes[i%len(sizes)] users, while a consumer follows the feed a page at a time.
func feedConcurrent(t *testing.T, h *harness, writers, each int, sizes ...int) {
	ctx, s := t.Context(), h.s
	acct := s.Account(h.acct)
	total := 0
	for i := range each {
		total += writers * sizes[i%len(sizes)]
	}
	var tenants []string
	for w := range writers {
		tenants = append(tenants, fmt.Sprintf("t%d", w))
	}
	discover(t, s, h.acct, tenants...)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cursor := ""
			for i := range each {
				next := fmt.Sprintf("c%d", i)
				ids := make([]string, sizes[i%len(sizes)])
				for j := range ids {
					ids[j] = fmt.Sprintf("u%d-%d", i, j)
				}
				_, err := acct.Mirror.Commit(ctx, store.Batch{TenantID: tenants[w], Now: t0,
					Kinds: []store.KindApply{{Result: changes(users("", ids...), nil, next), ExpectCursor: cursor}}})
				if err != nil {
					errs <- err
					return
				}
				cursor = next
			}
		}()
	}
	var seen []int64
	var readErr error
	go func() {
		defer close(done)
		var after int64
		for {
			page, err := acct.Feed.Changes(ctx, after, min(store.MaxChangesPage, 5*sizes[0]))
			if err != nil {
				readErr = err
				return
			}
			for _, c := range page {
				if c.Seq != after+1 {
					readErr = fmt.Errorf("after %d the feed showed %d: an entry became visible out of order", after, c.Seq)
					return
				}
				if c.ID != store.ChangeID(c.Seq) {
					readErr = fmt.Errorf("entry %d has the ID %q", c.Seq, c.ID)
					return
				}
				after = c.Seq
				seen = append(seen, c.Seq)
			}
			if after == int64(total) {
				return
			}
			if len(page) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer did not reach the head")
	}
	if readErr != nil && !errors.Is(readErr, tenantsync.ErrUnavailable) {
		require.NoError(t, readErr)
	}
	assert.Len(t, seen, total)
	head, err := acct.Feed.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(total), head)
}
