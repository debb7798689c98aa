package tenantsynctest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

// Each ready config reaches its fake through the production client, as it would reach the
// real service.
func TestServerConfigsWork(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 2, Tenants: 4, Sizes: []int{9}})
	tenants := fakes.Tenants()
	require.Len(t, tenants, 4)
	first := tenants[0]
	require.Equal(t, 9, first.Users)
	require.True(t, first.Consented && first.InCIPP && first.InPartnerCenter, "tenant 0 is reachable every way")
	require.Len(t, fakes.Users(first.ID), 9)
	assert.Nil(t, fakes.Users("no-such-tenant"))

	cc, err := cipp.NewClient(fakes.CIPPConfig())
	require.NoError(t, err)
	n := 0
	for _, err := range cc.ListUsers(t.Context(), first.ID) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 9, n, "CIPP lists the tenant's users")

	gc, err := graph.NewClient(fakes.GraphConfig())
	require.NoError(t, err)
	n = 0
	for _, err := range gc.ListUsers(t.Context(), first.ID) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 9, n, "Graph lists the tenant's users")

	pc, err := partnercenter.NewClient(fakes.PartnerCenterConfig())
	require.NoError(t, err)
	customers, err := pc.Customers(t.Context())
	require.NoError(t, err)
	inPC := 0
	for _, tn := range tenants {
		if tn.InPartnerCenter {
			inPC++
		}
	}
	assert.Len(t, customers, inPC, "Partner Center lists its customers")
	assert.Positive(t, fakes.Requests(tenantsynctest.ServicePartnerCenter, "*"))
}

// An injected fault reaches the client as the service would send it, and removing it ends it.
func TestServerHTTPFaults(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 5, Tenants: 1, Sizes: []int{3}})
	tenant := fakes.Tenants()[0].ID
	cfg := fakes.CIPPConfig()
	cfg.MaxRetries = transport.NoRetries
	var attempts []transport.Attempt
	cfg.Observer = func(a transport.Attempt) { attempts = append(attempts, a) }
	cc, err := cipp.NewClient(cfg)
	require.NoError(t, err)

	remove, err := fakes.InjectHTTPFault(tenantsynctest.HTTPFault{Service: tenantsynctest.ServiceCIPP, Path: "/api/ListUsers",
		Kind: tenantsynctest.HTTPThrottle, RetryAfter: 7 * time.Second})
	require.NoError(t, err)
	var listErr error
	for _, err := range cc.ListUsers(t.Context(), tenant) {
		listErr = err
	}
	require.Error(t, listErr)
	assert.True(t, errors.Is(listErr, tenantsync.ErrThrottled), "%v", listErr)
	d, ok := tenantsync.Details(listErr)
	require.True(t, ok)
	assert.Equal(t, 7*time.Second, d.RetryAfter)

	remove()
	n := 0
	for _, err := range cc.ListUsers(t.Context(), tenant) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 3, n, "the fault is gone")

	_, err = fakes.InjectHTTPFault(tenantsynctest.HTTPFault{Kind: "flood"})
	assert.True(t, errors.Is(err, tenantsync.ErrInvalidInput), "%v", err)
	_, err = fakes.InjectHTTPFault(tenantsynctest.HTTPFault{Kind: tenantsynctest.HTTPDrop, Service: "smtp"})
	assert.True(t, errors.Is(err, tenantsync.ErrInvalidInput), "%v", err)
}

// Withdrawn consent fails app-only Graph calls with the consent error a PSA must show.
func TestServerSetConsent(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 6, Tenants: 1, Sizes: []int{2}})
	tenant := fakes.Tenants()[0].ID
	fakes.SetConsent(tenant, false)
	gc, err := graph.NewClient(fakes.GraphConfig())
	require.NoError(t, err)
	var listErr error
	for _, err := range gc.ListUsers(t.Context(), tenant) {
		listErr = err
	}
	require.Error(t, listErr)
	d, ok := tenantsync.Details(listErr)
	require.True(t, ok, "%v", listErr)
	assert.NotEmpty(t, d.Hint)
	assert.NotContains(t, listErr.Error(), fakes.PartnerApp().Secret.Reveal(), "no secret in the error")
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	_, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Sizes: []int{-1}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, tenantsync.ErrInvalidInput))
	d, _ := tenantsync.Details(err)
	assert.Contains(t, d.Hint, "ServerOptions")
}
