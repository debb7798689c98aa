package partnercenter

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/transport"
)

// discoveryFakes serves Partner Center customers A and B, and GDAP relationships: A expired,
// B active, C active (not a Partner Center customer), D Microsoft-led only.
func discoveryFakes(t *testing.T, gdapStatus int) *fakes {
	now := time.Now().UTC()
	past, future := now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
	longAgo := now.AddDate(-3, 0, 0)
	customers := customerCollection{Items: []Customer{
		{ID: tenantA, CompanyProfile: CompanyProfile{TenantID: tenantA, Domain: "alpha.onmicrosoft.com", CompanyName: "Alpha"}, RelationshipToPartner: "reseller"},
		{ID: tenantB, CompanyProfile: CompanyProfile{TenantID: tenantB, Domain: "bravo.com", CompanyName: "Bravo"}},
	}}
	rels := relationshipCollection{Value: []DelegatedAdminRelationship{
		{ID: "1", DisplayName: "Alpha roles", Status: "expired", Customer: RelationshipCustomer{TenantID: tenantA, DisplayName: "Alpha"},
			ActivatedDateTime: &longAgo, EndDateTime: &past},
		{ID: "2", DisplayName: "Bravo roles", Status: "active", Customer: RelationshipCustomer{TenantID: tenantB, DisplayName: "Bravo GDAP name"},
			ActivatedDateTime: &past, EndDateTime: &future, AutoExtendDuration: "P180D"},
		{ID: "3", DisplayName: "Charlie roles", Status: "active", Customer: RelationshipCustomer{TenantID: tenantC, DisplayName: "Charlie"},
			ActivatedDateTime: &past, EndDateTime: &future},
		{ID: "4", DisplayName: "MLT_abc", Status: "active", Customer: RelationshipCustomer{TenantID: "dddddddd-0000-4000-8000-000000000004", DisplayName: "Delta"},
			ActivatedDateTime: &past, EndDateTime: &future},
	}}
	return newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(customers)
		writeJSONBody(w, http.StatusOK, b)
	}, func(w http.ResponseWriter, r *http.Request) {
		if gdapStatus != http.StatusOK {
			writeJSONBody(w, gdapStatus, []byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`))
			return
		}
		b, _ := json.Marshal(rels)
		writeJSONBody(w, http.StatusOK, b)
	})
}

func TestDiscoveryListsTheUnionOfCustomersAndActiveGDAP(t *testing.T) {
	t.Parallel()
	f := discoveryFakes(t, http.StatusOK)
	d := f.client(t).Discovery()
	// The method value is the tenant lister graph.Source takes.
	var lister func(context.Context) ([]tenantsync.Tenant, error) = d.ListTenants

	got, err := lister(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 3, "A and B from Partner Center, C from GDAP; D has only a Microsoft-led relationship")
	assert.Equal(t, []string{"Alpha", "Bravo", "Charlie"}, []string{got[0].DisplayName, got[1].DisplayName, got[2].DisplayName})
	for _, tn := range got {
		assert.Equal(t, "partnercenter", tn.Source)
	}
	assert.Equal(t, tenantA, got[0].ID)
	assert.Equal(t, "alpha.onmicrosoft.com", got[0].InitialDomain)
	assert.Equal(t, []string{"alpha.onmicrosoft.com"}, got[0].Domains)
	assert.Contains(t, got[0].Relationship, "Partner Center customer (reseller)")
	assert.Contains(t, got[0].Relationship, "GDAP expired")
	assert.Equal(t, "bravo.com", got[1].DefaultDomain)
	assert.Contains(t, got[1].Relationship, "GDAP active until")
	assert.Contains(t, got[1].Relationship, "auto-extends")
	assert.Equal(t, tenantC, got[2].ID)
	assert.Contains(t, got[2].Relationship, "GDAP active")
	assert.Equal(t, "partnercenter", d.Name())
}

func TestDiscoveryFailsWholeWhenAListingFails(t *testing.T) {
	t.Parallel()
	f := discoveryFakes(t, http.StatusForbidden)
	got, err := f.client(t).Discovery().ListTenants(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrForbidden)
	assert.Nil(t, got, "a failed GDAP listing is not a list without GDAP tenants")
}

func TestDiscoveryWithOneRouteOnly(t *testing.T) {
	t.Parallel()
	f := discoveryFakes(t, http.StatusOK)
	pcOnly := f.client(t, func(c *Config) { c.GraphTokens = nil })
	got, err := pcOnly.Discovery().ListTenants(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "Partner Center customer (reseller)", got[0].Relationship)

	gdapOnly := f.client(t, func(c *Config) { c.PartnerCenterTokens = nil })
	got, err = gdapOnly.Discovery().ListTenants(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 2, "B and C, the active GDAP customers")
	assert.Equal(t, "Bravo GDAP name", got[0].DisplayName)

	_, err = gdapOnly.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "PartnerCenterTokens")
	_, err = pcOnly.Relationships(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = pcOnly.Readiness(t.Context(), &Checker{}, 0)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = gdapOnly.GetCustomer(t.Context(), tenantA)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = gdapOnly.GrantApplicationConsent(t.Context(), tenantA, ApplicationConsent{})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestDiscoveryIsAListerNotAFetcher(t *testing.T) {
	t.Parallel()
	var d any = discoveryFakes(t, http.StatusOK).client(t).Discovery()
	_, lists := d.(tenantsync.TenantLister)
	_, fetches := d.(tenantsync.Fetcher)
	assert.True(t, lists, "Discovery lists tenants")
	assert.False(t, fetches, "Discovery must not pretend to read tenant data")
}

func TestReadinessCoversGDAPAndPartnerCenterCustomers(t *testing.T) {
	t.Parallel()
	f := discoveryFakes(t, http.StatusOK)
	c := f.client(t)
	p := &scriptedProber{}
	rows, err := c.Readiness(t.Context(), &Checker{Prober: p}, 2)
	require.NoError(t, err)
	names := []string{}
	for _, r := range rows {
		names = append(names, r.DisplayName)
	}
	assert.Equal(t, []string{"Alpha", "Bravo GDAP name", "Charlie", "Delta"}, names)
	assert.Equal(t, StateNoRelationship, rows[0].State(), "Alpha's relationship expired")
	assert.Equal(t, StateRoleMissing, rows[1].State(), "Bravo's relationship holds no roles")
	assert.Equal(t, StateNoRelationship, rows[3].State(), "Delta has only an MLT_ relationship")
	assert.Equal(t, 0, p.count(), "nothing to probe without roles")
	_, err = c.Readiness(t.Context(), nil, 0)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	toks := &staticTokens{}
	tests := []struct {
		name string
		cfg  Config
		hint string
	}{
		{"no tokens", Config{}, "PartnerCenterTokens"},
		{"graph without partner tenant", Config{GraphTokens: toks}, "PartnerTenantID"},
		{"partner tenant not a GUID", Config{GraphTokens: toks, PartnerTenantID: "contoso.onmicrosoft.com"}, "GUID"},
		{"customer page too big", Config{PartnerCenterTokens: toks, CustomerPageSize: 501}, "between 1 and 500"},
		{"customer page negative", Config{PartnerCenterTokens: toks, CustomerPageSize: -1}, "between 1 and 500"},
		{"relationship page too big", Config{PartnerCenterTokens: toks, RelationshipPageSize: 301}, "between 1 and 300"},
		{"negative max pages", Config{PartnerCenterTokens: toks, MaxPages: -1}, "positive"},
		{"plain http", Config{PartnerCenterTokens: toks, PartnerCenterURL: "http://pc.example"}, "https"},
		{"relative URL", Config{PartnerCenterTokens: toks, PartnerCenterURL: "/v1"}, "absolute URL"},
		{"query in URL", Config{GraphTokens: toks, PartnerTenantID: testPartnerTenant, GraphURL: "https://graph.example/?x=1"}, "query"},
		{"negative retries", Config{PartnerCenterTokens: toks, Settings: transport.Settings{MaxRetries: -1}}, "NoRetries"},
		{"negative timeout", Config{PartnerCenterTokens: toks, Settings: transport.Settings{Timeout: -time.Second}}, "positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.cfg)
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Nil(t, c)
			assert.Contains(t, tenantsync.HintOf(err), tt.hint)
		})
	}
	c, err := NewClient(Config{PartnerCenterTokens: toks, Now: time.Now})
	require.NoError(t, err)
	assert.Equal(t, MaxCustomerPageSize, c.cfg.CustomerPageSize)
	assert.Equal(t, MaxRelationshipPageSize, c.cfg.RelationshipPageSize)
	assert.Equal(t, DefaultPartnerCenterURL, c.cfg.PartnerCenterURL)
}

func TestTenantReadinessOf(t *testing.T) {
	t.Parallel()
	f := discoveryFakes(t, http.StatusOK)
	c := f.client(t)
	p := &scriptedProber{}
	tr, err := c.TenantReadinessOf(t.Context(), &Checker{Prober: p}, strings.ToUpper(tenantB))
	require.NoError(t, err)
	assert.Equal(t, tenantB, tr.TenantID)
	assert.Equal(t, "Bravo GDAP name", tr.DisplayName)
	assert.Equal(t, StateRoleMissing, tr.State())

	tr, err = c.TenantReadinessOf(t.Context(), &Checker{Prober: p}, "eeeeeeee-0000-4000-8000-000000000005")
	require.NoError(t, err)
	assert.Equal(t, StateNoRelationship, tr.State(), "a tenant without relationships has no GDAP access")

	_, err = c.TenantReadinessOf(t.Context(), &Checker{Prober: p}, "bravo.com")
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = c.TenantReadinessOf(t.Context(), nil, tenantB)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = f.client(t, func(c *Config) { c.GraphTokens = nil }).TenantReadinessOf(t.Context(), &Checker{}, tenantB)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}
