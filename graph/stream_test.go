package graph_test

import (
	"context"
	"errors"
	stdsync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// pageRecorder is a tenantsync.PageSink that keeps what it is given, and can refuse a page.
type pageRecorder struct {
	mu      stdsync.Mutex
	pages   []*tenantsync.KindResult
	failAt  int // refuse the page with this number (1-based); 0 never
	refused error
}

func (p *pageRecorder) Page(_ context.Context, page *tenantsync.KindResult) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = append(p.pages, page)
	if len(p.pages) == p.failAt {
		return p.refused
	}
	return nil
}

// users returns the users of every page, the last appearance of an ID winning, without the
// IDs a later page removed.
func (p *pageRecorder) users() map[string]tenantsync.User {
	out := map[string]tenantsync.User{}
	for _, pg := range p.pages {
		for _, u := range pg.Users {
			out[u.ObjectID] = u
		}
		for _, id := range pg.Removed {
			delete(out, id)
		}
	}
	return out
}

func TestFetchStreamsUsersPageByPage(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 250)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	src := newSource(t, c)
	ctx := t.Context()

	rec := &pageRecorder{}
	res, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains}, Sink: rec})
	require.NoError(t, err)
	kr := res.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Complete, kr.Mode, "%v", kr.Err)
	assert.True(t, kr.Streamed)
	assert.Empty(t, kr.Users, "the items went to the sink")
	assert.NotEmpty(t, kr.Cursor)
	assert.Greater(t, len(rec.pages), 2, "Graph pages users delta at 100")
	for _, pg := range rec.pages {
		assert.Equal(t, tenantsync.KindUsers, pg.Kind)
		assert.Equal(t, tenantsync.Complete, pg.Mode)
		assert.LessOrEqual(t, len(pg.Users), 100)
	}
	got := rec.users()
	assert.Len(t, got, len(activeUsers(tn)))
	for id := range activeUsers(tn) {
		assert.Contains(t, got, id)
	}
	// A kind the source does not stream is answered as before.
	assert.False(t, res.Result(tenantsync.KindDomains).Streamed)
	assert.Len(t, res.Result(tenantsync.KindDomains).Domains, len(tn.Domains))

	// The same listing without a sink carries the same users.
	whole, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
	require.NoError(t, err)
	assert.False(t, whole.Result(tenantsync.KindUsers).Streamed)
	for _, u := range whole.Result(tenantsync.KindUsers).Users {
		assert.Equal(t, u, got[u.ObjectID])
	}

	// From the cursor, a change round streams changes, deletions included.
	var victim, edited string
	for id := range activeUsers(tn) {
		if victim == "" {
			victim = id
		} else if edited == "" {
			edited = id
		}
	}
	require.NoError(t, srv.World.DeleteUser(tn.ID, victim))
	require.NoError(t, srv.World.UpdateUser(tn.ID, edited, func(u *testserver.User) { u.JobTitle = "Streamed" }))
	rec = &pageRecorder{}
	res, err = src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers},
		Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: kr.Cursor}, Sink: rec})
	require.NoError(t, err)
	kr = res.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Changes, kr.Mode, "%v", kr.Err)
	assert.True(t, kr.Streamed)
	var removed []string
	for _, pg := range rec.pages {
		assert.Equal(t, tenantsync.Changes, pg.Mode)
		removed = append(removed, pg.Removed...)
	}
	assert.Equal(t, []string{victim}, removed)
	assert.Equal(t, "Streamed", rec.users()[edited].JobTitle)
}

func TestFetchStreamRefusedPageMakesUsersUnavailable(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 250)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	refused := errors.New("store full")
	rec := &pageRecorder{failAt: 2, refused: refused}
	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains}, Sink: rec})
	require.NoError(t, err, "one kind failing does not fail the fetch")
	kr := res.Result(tenantsync.KindUsers)
	assert.Equal(t, tenantsync.Unavailable, kr.Mode)
	assert.ErrorIs(t, kr.Err, refused)
	assert.Len(t, rec.pages, 2, "no page follows the refused one")
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindDomains).Mode)
}
