package partnercenter_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

// A readiness table for two customers: one with every role, one whose relationship lacks the
// Exchange and Intune roles. The Prober is graph.Client in production; here every probe works.
func ExampleRenderTable() {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	year := func(d int) time.Time { return now.AddDate(0, 0, d) }
	rels := []partnercenter.Relationship{
		{DisplayName: "Contoso - Standard roles", Status: "active", CustomerTenantID: "52eaad04-13a2-4a2f-9ce8-93a294fadf36",
			CustomerName: "Contoso Ltd", ActivatedAt: year(-100), EndAt: year(630), AutoExtend: "P180D",
			Roles: partnercenter.RecommendedRoles()},
		{DisplayName: "Fabrikam - Identity", Status: "active", CustomerTenantID: "0c4bd7a2-5f2e-4b5e-9d1a-3e8f2a7c6b01",
			CustomerName: "Fabrikam Inc", ActivatedAt: year(-40), EndAt: year(690), AutoExtend: "P180D",
			Roles: []string{partnercenter.RoleDirectoryReaders, partnercenter.RoleUserAdministrator,
				partnercenter.RoleGroupsAdministrator, partnercenter.RoleSecurityReader}},
	}
	works := partnercenter.ProberFunc(func(context.Context, string, string) error { return nil })
	ck := &partnercenter.Checker{Prober: works, Now: func() time.Time { return now }}
	var rows []partnercenter.TenantReadiness
	for _, a := range partnercenter.MergeRelationships(rels, now) {
		rows = append(rows, ck.Check(context.Background(), a))
	}
	_ = partnercenter.RenderTable(os.Stdout, rows)
	// Output:
	// TENANT        STATE         GDAP                                         READ USERS  READ MFA DETAIL  READ DEVICES  EXCHANGE MAILBOXES  WRITE USERS  WRITE GROUPS
	// Contoso Ltd   ready         GDAP active until 2028-08-13 (auto-extends)  ready       ready            ready         ready               ready        ready
	// Fabrikam Inc  role_missing  GDAP active until 2028-10-12 (auto-extends)  ready       ready            NO ROLE       NO ROLE             ready        ready
	//
	// What to do:
	// Fabrikam Inc (0c4bd7a2-5f2e-4b5e-9d1a-3e8f2a7c6b01):
	//   - read devices [NO ROLE]: no active GDAP relationship holds a role that grants read devices (any of: Intune Administrator, Global Reader, Global Administrator).
	//       what to do: add the Intune Administrator role: an approved relationship such as "Fabrikam - Identity" cannot gain roles, so request a GDAP relationship with Intune Administrator in Partner Center and assign it to the partner's security group.
	//   - Exchange mailboxes [NO ROLE]: no active GDAP relationship holds a role that grants Exchange mailboxes (any of: Exchange Administrator, Exchange Recipient Administrator, Global Reader, Global Administrator).
	//       what to do: add the Exchange Administrator role: an approved relationship such as "Fabrikam - Identity" cannot gain roles, so request a GDAP relationship with Exchange Administrator in Partner Center and assign it to the partner's security group.
}

// A probe refused shortly after the role was granted is propagation, not a missing role.
func ExampleChecker_Check() {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	access := partnercenter.MergeRelationships([]partnercenter.Relationship{{
		DisplayName: "New relationship", Status: "active", CustomerTenantID: "52eaad04-13a2-4a2f-9ce8-93a294fadf36",
		ActivatedAt: now.Add(-25 * time.Minute), EndAt: now.AddDate(2, 0, 0), Roles: []string{partnercenter.RoleDirectoryReaders},
	}}, now)[0]
	refused := partnercenter.ProberFunc(func(context.Context, string, string) error {
		return &tenantsync.Error{Class: tenantsync.ErrForbidden, Status: 403, Code: "Authorization_RequestDenied"}
	})
	ck := &partnercenter.Checker{Prober: refused, Now: func() time.Time { return now },
		Capabilities: []partnercenter.Capability{partnercenter.CapabilityReadUsers}}
	st := ck.Check(context.Background(), access).Capabilities[0]
	fmt.Println(st.State)
	fmt.Println(st.Reason)
	// Output:
	// propagating
	// recently granted: the roles were granted 25m0s ago; Microsoft may take 30 minutes to 2 hours to apply them
}

// Microsoft-led relationships are set aside and several relationships with one customer merge.
func ExampleMergeRelationships() {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	tenant := "52eaad04-13a2-4a2f-9ce8-93a294fadf36"
	merged := partnercenter.MergeRelationships([]partnercenter.Relationship{
		{DisplayName: "Identity", Status: "active", CustomerTenantID: tenant, EndAt: now.AddDate(1, 0, 0),
			Roles: []string{partnercenter.RoleUserAdministrator}},
		{DisplayName: "Mail", Status: "active", CustomerTenantID: tenant, EndAt: now.AddDate(2, 0, 0), AutoExtend: "P180D",
			Roles: []string{partnercenter.RoleExchangeAdministrator}},
		{DisplayName: "MLT_8f2c", Status: "active", CustomerTenantID: tenant, EndAt: now.AddDate(0, 3, 0), MicrosoftLed: true,
			Roles: []string{partnercenter.RoleGlobalReader}},
	}, now)
	a := merged[0]
	for _, g := range a.Roles {
		fmt.Println(g.Name)
	}
	fmt.Println(a.Describe())
	fmt.Println(len(a.MicrosoftLed), "Microsoft-led relationship set aside")
	// Output:
	// Exchange Administrator
	// User Administrator
	// GDAP active until 2028-11-22 (auto-extends), 2 relationships
	// 1 Microsoft-led relationship set aside
}

// Discovery with the partner admin's Secure Application Model refresh token: Partner Center
// customers and active GDAP customers, every cycle. The fake stands in for Microsoft; a real
// program leaves the URLs empty and stores every rotated refresh token.
func ExampleDiscovery_ListTenants() {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 4, Tenants: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	app := srv.PartnerApp()
	c, err := partnercenter.NewClient(partnercenter.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    app.Secret,
		RefreshToken:    srv.PartnerRefreshToken(),
		OnRefreshTokenRotated: func(ctx context.Context, newToken tenantsync.Secret) error {
			return nil // store newToken, encrypted, for the next start
		},
		AuthorityHost:    srv.EntraURL(),
		PartnerCenterURL: srv.PartnerCenterURL(),
		GraphURL:         srv.GraphURL(),
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(),
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The method value is the tenant lister graph.Config.TenantLister takes.
	var lister func(context.Context) ([]tenantsync.Tenant, error) = c.Discovery().ListTenants
	tenants, err := lister(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	described := 0
	for _, t := range tenants {
		if t.DisplayName != "" && t.Relationship != "" && t.Source == "partnercenter" {
			described++
		}
	}
	fmt.Println(len(tenants) == described, len(tenants) > 0)
	// Output:
	// true true
}
