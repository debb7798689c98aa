package msgraphsdk_test

import (
	"errors"
	"sync"
	"testing"

	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/graph/msgraphsdk"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

func newGraphClient(t *testing.T, srv *testserver.Server) *graph.Client {
	t.Helper()
	app := srv.PartnerApp()
	c, err := graph.NewClient(graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    tenantsync.NewSecret(app.Secret),
		BaseURL:         srv.GraphURL(),
		AuthorityHost:   srv.EntraURL(),
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(),
		},
	})
	require.NoError(t, err)
	return c
}

func TestSDKListsUsersAndWrites(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 2, Sizes: []int{120}})
	c := newGraphClient(t, srv)
	tn := srv.World.Tenants[0]
	ctx := t.Context()

	adapter, err := msgraphsdk.NewRequestAdapter(ctx, msgraphsdk.Config{TenantID: tn.ID, Client: c})
	require.NoError(t, err)
	sdk := msgraphsdk.NewServiceClient(adapter)

	srv.ResetCounts()
	top := int32(50)
	resp, err := sdk.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id", "displayName", "userPrincipalName", "accountEnabled"}},
	})
	require.NoError(t, err)
	it, err := msgraphcore.NewPageIterator[models.Userable](resp, adapter, models.CreateUserCollectionResponseFromDiscriminatorValue)
	require.NoError(t, err)
	seen := map[string]bool{}
	require.NoError(t, it.Iterate(ctx, func(u models.Userable) bool {
		seen[*u.GetId()] = true
		return true
	}))
	want := 0
	for _, u := range tn.Users {
		if !u.Deleted {
			want++
			assert.True(t, seen[u.ID], u.UserPrincipalName)
		}
	}
	assert.Len(t, seen, want)
	assert.Equal(t, (want+49)/50, srv.Requests(testserver.ServiceGraph, tn.ID), "one request per page of 50")

	// The SDK names the delta function users/delta(); the round pages (100 a page) to a deltaLink.
	delta, err := sdk.Users().Delta().GetAsDeltaGetResponse(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
	})
	require.NoError(t, err)
	inDelta := map[string]bool{}
	for pages := 1; ; pages++ {
		for _, u := range delta.GetValue() {
			inDelta[*u.GetId()] = true
		}
		next := delta.GetOdataNextLink()
		if next == nil {
			assert.Equal(t, (want+99)/100, pages)
			break
		}
		delta, err = sdk.Users().Delta().WithUrl(*next).GetAsDeltaGetResponse(ctx, nil)
		require.NoError(t, err)
	}
	require.NotNil(t, delta.GetOdataDeltaLink(), "the last page carries the cursor")
	assert.Equal(t, seen, inDelta)

	var target *testserver.User
	for _, u := range tn.Users {
		if !u.Deleted && u.AccountEnabled {
			target = u
			break
		}
	}
	require.NotNil(t, target)
	gz := srv.GraphGzipBodies()
	patch := models.NewUser()
	disabled := false
	patch.SetAccountEnabled(&disabled)
	_, err = sdk.Users().ByUserId(target.ID).Patch(ctx, patch, nil)
	require.NoError(t, err)
	var enabled bool
	require.NoError(t, srv.World.UpdateUser(tn.ID, target.ID, func(u *testserver.User) { enabled = u.AccountEnabled }))
	assert.False(t, enabled, "the PATCH reached the World")
	assert.Equal(t, gz+1, srv.GraphGzipBodies(), "the SDK sends the PATCH body gzip-compressed")

	_, err = sdk.Users().ByUserId("00000000-0000-0000-0000-000000000404").Get(ctx, nil)
	var odata *odataerrors.ODataError
	require.True(t, errors.As(err, &odata), "%T %v", err, err)
	assert.Equal(t, 404, odata.ResponseStatusCode)
	require.NotNil(t, odata.GetErrorEscaped())
	assert.Equal(t, "Request_ResourceNotFound", *odata.GetErrorEscaped().GetCode())
}

func TestSDKDoesNotRetryOnTopOfTransport(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 1, Sizes: []int{5}})
	c := newGraphClient(t, srv)
	tn := srv.World.Tenants[0]
	sdk, err := msgraphsdk.NewGraphServiceClient(t.Context(), msgraphsdk.Config{TenantID: tn.ID, Client: c})
	require.NoError(t, err)
	srv.GraphThrottle(tn.ID, "/organization", 1, "1")
	srv.ResetCounts()
	_, err = sdk.Organization().Get(t.Context(), nil)
	require.NoError(t, err)
	// One 429 and one retry by the transport; kiota's own retry handler would add more.
	assert.Equal(t, 2, srv.Requests(testserver.ServiceGraph, tn.ID))
}

func TestNewRequestAdapterValidation(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 1, Sizes: []int{5}})
	c := newGraphClient(t, srv)
	for name, build := range map[string]func() error{
		"no token source": func() error {
			_, err := msgraphsdk.NewRequestAdapter(t.Context(), msgraphsdk.Config{TenantID: "t"})
			return err
		},
		"no tenant": func() error {
			_, err := msgraphsdk.NewRequestAdapter(t.Context(), msgraphsdk.Config{Client: c})
			return err
		},
		"http origin": func() error {
			_, err := msgraphsdk.NewRequestAdapter(t.Context(), msgraphsdk.Config{TenantID: "t", TokenSource: c.TokenSource(), BaseURL: "http://graph.example"})
			return err
		},
	} {
		err := build()
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, name)
		assert.NotEmpty(t, tenantsync.HintOf(err), name)
	}
	a, err := msgraphsdk.NewRequestAdapter(t.Context(), msgraphsdk.Config{TenantID: "t", TokenSource: c.TokenSource(),
		BaseURL: srv.GraphURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}})
	require.NoError(t, err)
	assert.Equal(t, srv.GraphURL()+"/v1.0", a.GetBaseUrl())
}

// The SDK's constructor writes a package variable; clients for several tenants built at once
// must not race (run with -race).
func TestServiceClientsBuiltConcurrently(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 2, Sizes: []int{5}})
	c := newGraphClient(t, srv)
	var wg sync.WaitGroup
	clients := make([]any, 8)
	for i := range clients {
		wg.Go(func() {
			sdk, err := msgraphsdk.NewGraphServiceClient(t.Context(), msgraphsdk.Config{TenantID: srv.World.Tenants[i%2].ID, Client: c})
			assert.NoError(t, err)
			clients[i] = sdk
		})
	}
	wg.Wait()
	for i, sdk := range clients {
		assert.NotNil(t, sdk, i)
	}
}
