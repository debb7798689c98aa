package graph_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
)

// inFlight counts the $batch requests in flight through it and remembers the most at once.
type inFlight struct {
	next    http.RoundTripper
	mu      sync.Mutex
	now, hi int
	total   int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	batch := strings.HasSuffix(r.URL.Path, "/$batch")
	if batch {
		f.mu.Lock()
		f.now++
		f.total++
		f.hi = max(f.hi, f.now)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.now--
			f.mu.Unlock()
		}()
	}
	return f.next.RoundTrip(r)
}

// A large tenant's mailbox types take one $batch per 20 users; they go several at once (each
// round trip waits on the network, not on the one before), never more than the cap, and the
// answer is the same as one batch at a time gives.
func TestMailboxPurposesBatchesGoConcurrently(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 400)
	tn := firstTenant(srv)
	counter := &inFlight{next: srv.HTTPClient().Transport}
	c := newClient(t, srv, func(cfg *graph.Config) { cfg.HTTPClient = &http.Client{Transport: counter} })
	var ids []string
	for _, u := range tn.Users {
		ids = append(ids, u.ID)
	}
	require.Greater(t, len(ids), 8*20, "enough users for more batches than the cap")
	// The token first, so the latency below falls on the batches only.
	_, err := c.MailboxPurposes(t.Context(), tn.ID, ids[:1])
	require.NoError(t, err)
	srv.SetLatency(30 * time.Millisecond)

	got, err := c.MailboxPurposes(t.Context(), tn.ID, ids)
	require.NoError(t, err)
	require.Len(t, got, len(ids))
	for _, u := range tn.Users {
		want := graph.MailboxPurpose("")
		switch u.MailboxType {
		case "UserMailbox":
			want = "user"
		case "SharedMailbox":
			want = "shared"
		case "RoomMailbox":
			want = "room"
		case "EquipmentMailbox":
			want = "equipment"
		}
		assert.Equal(t, want, got[u.ID], u.UserPrincipalName)
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	assert.Equal(t, 1+(len(ids)+19)/20, counter.total, "one $batch per 20 users")
	assert.Greater(t, counter.hi, 1, "the batches went one after another")
	assert.LessOrEqual(t, counter.hi, 8, "more batches in flight than the cap")
}

// A batch refused as a whole fails the call: no partial map of purposes comes back.
func TestMailboxPurposesFailedBatchFailsTheCall(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 100)
	tn := firstTenant(srv)
	c := newClient(t, srv)
	var ids []string
	for _, u := range tn.Users {
		ids = append(ids, u.ID)
	}
	tn.Consented = false
	srv.InvalidatePages()
	got, err := c.MailboxPurposes(t.Context(), tn.ID, ids)
	require.Error(t, err)
	assert.Nil(t, got)
}

// getsInFlight counts the GET requests to Graph (further pages) in flight at once.
type getsInFlight struct {
	next    http.RoundTripper
	host    string
	mu      sync.Mutex
	now, hi int
}

func (f *getsInFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || r.URL.Host != f.host {
		return f.next.RoundTrip(r)
	}
	f.mu.Lock()
	f.now++
	f.hi = max(f.hi, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	return f.next.RoundTrip(r)
}

// Each kind follows its further pages while the others do: the users delta of a large tenant
// and its MFA report's pages overlap instead of waiting for each other.
func TestFetchFollowsKindsPagesConcurrently(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 2500)
	tn := firstTenant(srv)
	tn.PremiumP1, tn.Consented = true, true
	srv.InvalidatePages()
	counter := &getsInFlight{next: srv.HTTPClient().Transport, host: strings.TrimPrefix(srv.GraphURL(), "https://")}
	c := newClient(t, srv, func(cfg *graph.Config) { cfg.HTTPClient = &http.Client{Transport: counter} })
	src := newSource(t, c)
	srv.SetLatency(10 * time.Millisecond)
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMFA}})
	require.NoError(t, err)
	require.NoError(t, res.Result(tenantsync.KindUsers).Err)
	require.NoError(t, res.Result(tenantsync.KindMFA).Err)
	assert.Len(t, res.Result(tenantsync.KindUsers).Users, len(tn.ActiveUsers()))
	assert.Len(t, res.Result(tenantsync.KindMFA).MFA, len(tn.ActiveUsers()))
	counter.mu.Lock()
	defer counter.mu.Unlock()
	assert.Greater(t, counter.hi, 1, "the kinds' further pages went one kind after the other")
}
