package graph_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

// Fetch every kind of one customer tenant through one $batch, then only the user changes.
func Example() {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 1, Tenants: 1, Sizes: []int{8}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	app := srv.PartnerApp()
	c, err := graph.NewClient(graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    app.Secret,
		BaseURL:         srv.GraphURL(), // default https://graph.microsoft.com
		AuthorityHost:   srv.EntraURL(), // default https://login.microsoftonline.com
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(), // trusts the fake's certificate
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	src, err := graph.NewSource(c, graph.SourceConfig{Tenants: []tenantsync.Tenant{{ID: srv.Tenants()[0].ID}}})
	if err != nil {
		log.Fatal(err)
	}
	tenant := srv.Tenants()[0].ID
	ctx := context.Background()

	res, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tenant, Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains}})
	if err != nil {
		log.Fatal(err) // the tenant could not be reached at all
	}
	users := res.Result(tenantsync.KindUsers)
	fmt.Println(users.Mode, len(users.Users), "users")

	next, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tenant, Kinds: []tenantsync.Kind{tenantsync.KindUsers},
		Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: users.Cursor}})
	if err != nil {
		log.Fatal(err)
	}
	changes := next.Result(tenantsync.KindUsers)
	fmt.Println(changes.Mode, len(changes.Users), "changed")
	// Output:
	// complete 8 users
	// changes 0 changed
}

// Build an admin-consent link and check the redirect that comes back; what the consent
// granted is read through Graph, not from the redirect.
func ExampleConsent() {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 1, Tenants: 1, Sizes: []int{8}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	app := srv.PartnerApp()
	client, err := graph.NewClient(graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    app.Secret,
		BaseURL:         srv.GraphURL(),
		AuthorityHost:   srv.EntraURL(),
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	consent, err := graph.NewConsent(graph.ConsentConfig{
		ClientID:    app.ClientID,
		RedirectURI: "https://psa.example.com/m365/consent",
		Required:    []string{"User.Read.All", "AuditLog.Read.All"},
		Roles:       client, // reads the app role assignments in the customer tenant
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	tenant := srv.Tenants()[0].ID
	link, err := consent.URL(ctx, tenant, "account-42")
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(link)
	fmt.Println(u.Path == "/"+tenant+"/v2.0/adminconsent")

	// The customer's administrator granted only some of the permissions.
	srv.GrantGraphAppPermissions(tenant, "Application.Read.All", "User.Read.All")
	// Entra ID redirects the administrator back with these parameters.
	callback := url.Values{
		"admin_consent": {"True"},
		"tenant":        {tenant},
		"state":         {u.Query().Get("state")},
	}
	res, err := consent.Callback(ctx, callback)
	fmt.Println(res.Granted, errors.Is(err, tenantsync.ErrConsentRequired))
	fmt.Println(tenantsync.HintOf(err))

	_, err = consent.Callback(ctx, callback) // the state is one-time
	fmt.Println(tenantsync.HintOf(err))
	// Output:
	// true
	// [Application.Read.All User.Read.All] true
	// consent did not grant every permission the sync needs; add AuditLog.Read.All to the app registration's API permissions (application permissions, with admin consent) and connect the tenant again
	// Your session has expired. Please try connecting again.
}
