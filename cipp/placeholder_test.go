package cipp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// TestNotReadyAnswersAreNotData drives every shape in which CIPP answers "not ready yet" or
// "failed" with a success status (reference cipp-api.md §3.3, §4.2, §4.4, §4.7-4.9): none may
// decode as rows, and none may read as an empty list.
func TestNotReadyAnswersAreNotData(t *testing.T) {
	t.Parallel()
	json200 := func(body string) stubResponse {
		return stubResponse{status: 200, ctype: "application/json", body: body}
	}
	tests := []struct {
		name     string
		endpoint string
		resp     stubResponse
		hint     string
		contains string
	}{
		{"licences placeholder row", "ListLicenses",
			json200(`[{"Tenant":"Loading data for all tenants. Please check back in 1 minute","License":"Loading data for all tenants. Please check back in 1 minute"}]`),
			HintNotReady, "Loading data for all tenants"},
		{"MFA placeholder row", "ListMFAUsers",
			json200(`[{"UPN":"Loading data for all tenants. Please check back in a few minutes"}]`),
			HintNotReady, "check back in a few minutes"},
		{"tenant and results text row", "ListUsers",
			json200(`[{"Tenant":"contoso.com","Results":"Data still processing, please wait"}]`),
			HintNotReady, "Data still processing"},
		{"unrolled placeholder object", "ListDevices",
			json200(`{"Tenant":"contoso.com","Results":"Data still processing, please wait"}`),
			HintNotReady, "Data still processing"},
		{"plain text", "ListMailboxes",
			stubResponse{status: 200, ctype: "text/plain", body: "Data still processing, please wait"},
			HintNotReady, "please wait"},
		{"envelope with results text", "ListDomains",
			json200(`{"Results":"Data still processing, please wait"}`),
			HintNotReady, "please wait"},
		{"queued envelope without Queued flag", "ListConditionalAccessPolicies",
			json200(`{"Results":[],"Metadata":{"QueueMessage":"Loading data for all tenants. Please check back after the job completes","QueueId":"0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"}}`),
			HintQueued, "Please check back after the job completes"},
		{"empty reporting database", "ListMailboxes",
			stubResponse{status: 500, ctype: "application/json", body: `["No mailbox data found in reporting database. Sync the report data first."]`},
			HintNotReady, "reporting database"},
		{"results row saying failed", "ListLicenses",
			json200(`[{"Tenant":"contoso.com","Results":"Failed to retrieve licenses: The request timed out."}]`),
			HintRetry, "Failed to retrieve licenses"},
		{"results strings saying failed", "ListUsers",
			json200(`{"Results":["Failed to retrieve users: The request timed out."]}`),
			HintRetry, "Failed to retrieve users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := stubCIPP(t, map[string]stubResponse{tt.endpoint: tt.resp})
			r, err := c.Call(t.Context(), Request{Method: "GET", Endpoint: tt.endpoint, Tenant: contosoID})
			if err == nil {
				_, err = c.arrayItems(tt.endpoint, contosoID, r)
			}
			require.Error(t, err, "a placeholder is no list")
			assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
			assert.Equal(t, tt.hint, tenantsync.HintOf(err))
			assert.Contains(t, err.Error(), tt.contains)
			if tt.hint != HintRetry {
				assert.ErrorIs(t, err, tenantsync.ErrIncomplete, "the data is unknown, not empty")
			}
			assert.Zero(t, c.UnknownShapes(), "a known shape")
		})
	}
}

// TestNotReadyListGraphRequest: ListGraphRequest's queue answers, with and without the Queued
// flag, and a placeholder row in its Results.
func TestNotReadyListGraphRequest(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, hint string }{
		{"queued", string(readTestdata(t, "ListGraphRequest-queued.json")), HintQueued},
		{"still processing", `{"Results":[],"Metadata":{"Endpoint":"users","TenantFilter":"contoso.com","QueueMessage":"Data still processing, please wait"}}`, HintQueued},
		{"placeholder row", `{"Results":[{"Tenant":"contoso.com","Results":"Data still processing, please wait"}],"Metadata":{"Endpoint":"users"}}`, HintNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: tt.body}})
			_, err := c.ListGraphRequestPage(t.Context(), contosoDomain, GraphRequest{Endpoint: "users"}, "")
			require.ErrorIs(t, err, tenantsync.ErrUnavailable)
			require.ErrorIs(t, err, tenantsync.ErrIncomplete)
			assert.Equal(t, tt.hint, tenantsync.HintOf(err))
		})
	}
}

// TestNotReadyKindsThroughSource: the fake's "not ready" answer on each list endpoint makes that
// kind Unavailable, retried by the next fetch, instead of a listing of placeholder rows (a
// subscription listing of one fake SKU) or an empty one.
func TestNotReadyKindsThroughSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind tenantsync.Kind
		path string
	}{
		{tenantsync.KindSubscriptions, "/api/ListLicenses"},
		{tenantsync.KindMFA, "/api/ListMFAUsers"},
		{tenantsync.KindUsers, "/api/ListUsers"},
		{tenantsync.KindMailboxes, "/api/ListMailboxes"},
		{tenantsync.KindDevices, "/api/ListDevices"},
		{tenantsync.KindDomains, "/api/ListGraphRequest"},
		{tenantsync.KindBaseline, "/api/ListConditionalAccessPolicies"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, testserver.Options{})
			c := adminClient(t, srv)
			tn := managedTenant(t, c)
			srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: tt.path, Kind: testserver.CIPPNotReady})
			switch tt.kind {
			case tenantsync.KindDomains:
				// ListDomains stands in for Graph's domains; both are still loading.
				srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListDomains", Kind: testserver.CIPPNotReady})
			case tenantsync.KindUsers:
				// Users fall back to ListGraphRequest paging, which is loading too.
				srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListGraphRequest", Kind: testserver.CIPPNotReady})
			}
			src := mustSource(t, c, SourceConfig{})
			res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tt.kind}})
			require.NoError(t, err)
			kr := res.Result(tt.kind)
			require.Equal(t, tenantsync.Unavailable, kr.Mode, "a placeholder is not a listing")
			assert.ErrorIs(t, kr.Err, tenantsync.ErrUnavailable)
			assert.Contains(t, []string{HintNotReady, HintQueued}, tenantsync.HintOf(kr.Err))
			assert.Zero(t, kr.Len())

			// CIPP has the data on the next sync.
			srv.ClearFaults()
			res, err = src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tt.kind}})
			require.NoError(t, err)
			require.Equal(t, tenantsync.Complete, res.Result(tt.kind).Mode, "%v", res.Result(tt.kind).Err)
		})
	}
}

// TestAnswerFaultsThroughSource: a plain-text 403 and a 200 whose Results say "Failed" make
// their kind Unavailable with the right kind of error, and leave the other kinds alone.
func TestAnswerFaultsThroughSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault testserver.Fault
		kind  error
		hint  string
	}{
		{"403 text", testserver.Fault{Kind: testserver.CIPPForbidden}, tenantsync.ErrForbidden, HintCustomRole},
		{"403 tenant scope", testserver.Fault{Kind: testserver.CIPPForbidden, Message: "Access to this tenant is not allowed"}, tenantsync.ErrForbidden, HintTenantScope},
		{"200 failed", testserver.Fault{Kind: testserver.CIPPResultsFailed}, tenantsync.ErrUnavailable, HintRetry},
		{"200 failed for consent", testserver.Fault{Kind: testserver.CIPPResultsFailed, Message: "Failed to retrieve licenses: " + testserver.CIPPErrConsent}, tenantsync.ErrConsentRequired, HintConsent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, testserver.Options{})
			c := adminClient(t, srv)
			tn := managedTenant(t, c)
			f := tt.fault
			f.Service, f.Path = testserver.ServiceCIPP, "/api/ListLicenses"
			srv.InjectFault(f)
			res, err := mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID,
				Kinds: []tenantsync.Kind{tenantsync.KindSubscriptions, tenantsync.KindUsers}})
			require.NoError(t, err)
			subs := res.Result(tenantsync.KindSubscriptions)
			require.Equal(t, tenantsync.Unavailable, subs.Mode)
			assert.ErrorIs(t, subs.Err, tt.kind)
			assert.Equal(t, tt.hint, tenantsync.HintOf(subs.Err))
			assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode)
		})
	}
}
