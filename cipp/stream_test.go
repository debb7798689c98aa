package cipp

import (
	"context"
	stdsync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// sinkRecorder is a tenantsync.PageSink that keeps the pages it is given.
type sinkRecorder struct {
	mu    stdsync.Mutex
	pages []*tenantsync.KindResult
}

func (r *sinkRecorder) Page(_ context.Context, p *tenantsync.KindResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pages = append(r.pages, p)
	return nil
}

func (r *sinkRecorder) users() []tenantsync.User {
	var out []tenantsync.User
	for _, p := range r.pages {
		out = append(out, p.Users...)
	}
	return out
}

// Users reach a Sink in pages on both routes, ListUsers and the paged Graph route, and a
// listing cut short is unavailable whatever its pages delivered.
func TestSourceStreamsUsers(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 1, Sizes: []int{1050}})
	c := adminClient(t, srv)
	tn := managedTenant(t, c)
	want := len(srv.World.Tenants[0].ActiveUsers())
	for name, cfg := range map[string]SourceConfig{"ListUsers": {}, "paged": {PageAllUsers: true}} {
		t.Run(name, func(t *testing.T) {
			rec := &sinkRecorder{}
			res, err := mustSource(t, c, cfg).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID,
				Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices}, Sink: rec})
			require.NoError(t, err)
			users := res.Result(tenantsync.KindUsers)
			require.Equal(t, tenantsync.Complete, users.Mode, "%v", users.Err)
			assert.True(t, users.Streamed)
			assert.Empty(t, users.Users)
			assert.Len(t, rec.pages, 3, "1,050 users in pages of 500")
			got := rec.users()
			assert.Len(t, got, want)
			for _, u := range got {
				assert.Equal(t, tn.CustomerID, u.TenantID)
			}
			assert.False(t, res.Result(tenantsync.KindDevices).Streamed, "only users stream")
		})
	}

	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "skiptoken", Kind: testserver.ServerError, Status: 500})
	rec := &sinkRecorder{}
	res, err := mustSource(t, c, SourceConfig{PageAllUsers: true}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers}, Sink: rec})
	require.NoError(t, err)
	users := res.Result(tenantsync.KindUsers)
	assert.NotEmpty(t, rec.pages, "the first page's users were handed on before the failure")
	assert.Equal(t, tenantsync.Unavailable, users.Mode, "a listing cut short is unavailable")
	assert.False(t, users.Streamed)
	assert.ErrorIs(t, users.Err, tenantsync.ErrUnavailable)
}
