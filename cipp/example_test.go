package cipp_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

// newExampleClient starts the fake CIPP with its recorded tenant, contoso.com, and returns a
// client for it. Against a real CIPP, Config holds the values of CIPP → Integrations → CIPP-API
// and the fake-only fields stay empty.
func newExampleClient() (*cipp.Client, func()) {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 1, Tenants: 2})
	if err != nil {
		panic(err)
	}
	srv.ServeCIPPRecorded(true)
	creds := srv.CIPPCredentials()
	c, err := cipp.NewClient(cipp.Config{
		BaseURL:  srv.CIPPURL(),
		TenantID: creds.TenantID,
		ClientID: creds.ClientID,
		Secret:   creds.Secret,
		// The fake's Entra ID and its TLS roots; in production both fields stay empty.
		AuthorityHost: srv.EntraURL(),
		Settings:      transport.Settings{HTTPClient: srv.HTTPClient()},
	})
	if err != nil {
		panic(err)
	}
	return c, srv.Close
}

func ExampleClient_ListUsers() {
	c, done := newExampleClient()
	defer done()
	for u, err := range c.ListUsers(context.Background(), "contoso.com") {
		if err != nil {
			fmt.Println("listing failed:", err)
			return
		}
		fmt.Println(u.DisplayName, u.UserPrincipalName)
	}
	// Output:
	// Jane Doe jane@contoso.com
	// Boss boss@contoso.com
	// Info info@contoso.com
	// Sam Guest sam_partner.example#EXT#@contoso.onmicrosoft.com
}

func ExampleClient_Licenses() {
	c, done := newExampleClient()
	defer done()
	lics, err := c.Licenses(context.Background(), "contoso.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range lics {
		// CountUsed and TotalLicenses arrive as strings, CountAvailable as a number.
		fmt.Printf("%s: %d of %d used, %d free\n", l.License, l.CountUsed, l.TotalLicenses, l.CountAvailable)
	}
	// Output:
	// Microsoft 365 Business Premium: 18 of 20 used, 2 free
	// Microsoft 365 Business Standard: 1 of 5 used, 4 free
}

func ExampleClient_LookupTenant() {
	c, done := newExampleClient()
	defer done()
	// CIPP answers calls about a tenant it does not manage with an empty list; the client checks
	// the tenant first and says what to do.
	_, err := c.Users(context.Background(), "unknown.example")
	fmt.Println(errors.Is(err, tenantsync.ErrTenantNotFound))
	fmt.Println(tenantsync.HintOf(err))
	// Output:
	// true
	// make CIPP reload its tenant list: in CIPP → Settings, Cache card, press Clear Cache with "Only Clear the Tenant Cache" on (or call cipp.Client.RefreshTenantList), wait a few minutes for the tenant refresh to finish, then retry; if the tenant is still missing, check its GDAP relationship
}

func ExampleSource_Fetch() {
	c, done := newExampleClient()
	defer done()
	src, err := cipp.NewSource(c, cipp.SourceConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := src.Fetch(context.Background(), tenantsync.FetchRequest{TenantID: "contoso.com", Kinds: tenantsync.AllKinds()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range tenantsync.AllKinds() {
		r := res.Result(k)
		fmt.Printf("%s: %s, %d\n", k, r.Mode, r.Len())
	}
	// Output:
	// users: complete, 4
	// mailboxes: complete, 3
	// devices: complete, 1
	// domains: complete, 3
	// subscriptions: complete, 2
	// mfa: complete, 2
	// baseline: complete, 1
	// groups: complete, 2
	// organization: complete, 1
	// signins: complete, 4
	// mailbox_usage: complete, 3
}
