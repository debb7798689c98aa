package sync

import (
	"context"
	gosync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store/memory"
)

type syncSpanKey struct{}

type syncTracer struct {
	mu      gosync.Mutex
	started []string
	ended   []*Report
}

func (s *syncTracer) StartSync(ctx context.Context, tenantID, trigger string) (context.Context, func(*Report)) {
	s.mu.Lock()
	s.started = append(s.started, tenantID+"/"+trigger)
	s.mu.Unlock()
	return context.WithValue(ctx, syncSpanKey{}, tenantID), func(r *Report) {
		s.mu.Lock()
		s.ended = append(s.ended, r)
		s.mu.Unlock()
	}
}

// spanSource records whether Fetch ran inside the tracer's context.
type spanSource struct {
	*FakeSource
	mu  gosync.Mutex
	got []any
}

func (s *spanSource) Fetch(ctx context.Context, req tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	s.mu.Lock()
	s.got = append(s.got, ctx.Value(syncSpanKey{}))
	s.mu.Unlock()
	return s.FakeSource.Fetch(ctx, req)
}

// Each tenant sync is one StartSync and one end with its Report, and the source fetches in the
// context StartSync returned, so request spans nest under the sync's.
func TestTracerSeesEveryTenantSync(t *testing.T) {
	t.Parallel()
	fs := NewFakeSource("cipp")
	fs.AddTenant(&FakeTenant{Tenant: tenantsync.Tenant{ID: "t1", DisplayName: "Contoso"},
		Users: []tenantsync.User{{ObjectID: "u1", GivenName: "Ada", Surname: "L", Mail: "ada@contoso.example", AccountEnabled: true, UserType: "Member"}}})
	src := &spanSource{FakeSource: fs}
	tr := &syncTracer{}
	eng, err := New(Config{Store: memory.New(memory.Config{}), Account: "a", Sources: []tenantsync.Source{src},
		Contacts: NewFakeContacts(), Tracer: tr})
	require.NoError(t, err)
	defer eng.Close(t.Context())
	_, err = eng.Discover(t.Context())
	require.NoError(t, err)
	require.NoError(t, eng.Link(t.Context(), "alice", "t1", "c1"))
	require.NoError(t, eng.Wait(t.Context()))

	tr.mu.Lock()
	defer tr.mu.Unlock()
	require.Equal(t, []string{"t1/initial"}, tr.started)
	require.Len(t, tr.ended, 1)
	r := tr.ended[0]
	assert.Equal(t, "t1", r.TenantID)
	assert.NoError(t, r.Err)
	assert.Equal(t, tenantsync.Complete, r.Kinds[tenantsync.KindUsers].Mode)
	src.mu.Lock()
	defer src.mu.Unlock()
	require.NotEmpty(t, src.got)
	assert.Equal(t, "t1", src.got[0], "the source fetches in the tracer's context")
}
