package graph_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// Fetch every kind of one customer tenant through one $batch, then only the user changes.
func Example() {
	srv, err := testserver.New(testserver.Options{Seed: 1, Tenants: 1, Sizes: []int{8}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	app := srv.PartnerApp()
	c, err := graph.NewClient(graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    tenantsync.NewSecret(app.Secret),
		BaseURL:         srv.GraphURL(),   // default https://graph.microsoft.com
		AuthorityHost:   srv.EntraURL(),   // default https://login.microsoftonline.com
		HTTPClient:      srv.HTTPClient(), // trusts the fake's certificate
	})
	if err != nil {
		log.Fatal(err)
	}
	src := graph.NewSource(c)
	tenant := srv.World.Tenants[0].ID
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

// Build an admin-consent link and check the redirect that comes back.
func ExampleConsent() {
	consent, err := graph.NewConsent(graph.ConsentConfig{
		ClientID:    "11111111-2222-3333-4444-555555555555",
		RedirectURI: "https://psa.example.com/m365/consent",
		Required:    []string{"User.Read.All"},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	link, err := consent.URL(ctx, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "account-42")
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(link)
	fmt.Println(u.Host, u.Path)

	// Entra ID redirects the administrator back with these parameters.
	callback := url.Values{
		"admin_consent": {"True"},
		"tenant":        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
		"state":         {u.Query().Get("state")},
		"scope":         {"https://graph.microsoft.com/User.Read.All"},
	}
	res, err := consent.Callback(ctx, callback)
	fmt.Println(res.TenantID, res.Verified, err)

	_, err = consent.Callback(ctx, callback) // the state is one-time
	fmt.Println(tenantsync.HintOf(err))
	// Output:
	// login.microsoftonline.com /aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/v2.0/adminconsent
	// aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee true <nil>
	// Your session has expired. Please try connecting again.
}
