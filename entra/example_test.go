package entra_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

func ExampleMapError() {
	body := []byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0000aaaa","error_codes":[7000215],"trace_id":"0000aaaa"}`)
	err := entra.MapError(&entra.ResponseError{StatusCode: 401, Body: body}, "graph", "")
	fmt.Println(errors.Is(err, tenantsync.ErrUnauthorized), err.Code, err.RequestID)
	fmt.Println(err.Hint)
	// Output:
	// true AADSTS7000215 0000aaaa
	// the client secret is wrong: copy the secret value, not its ID
}

// App-only tokens for one customer tenant, from the partner app's client secret. Against Entra
// ID, AuthorityHost and HTTPClient stay empty; here they point at the module's fake.
func ExampleNewClientCredentials() {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 1, Tenants: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	app := srv.PartnerApp()
	tokens, err := entra.NewClientCredentials(entra.Config{
		TenantID:      app.TenantID,
		ClientID:      app.ClientID,
		Secret:        app.Secret,
		Scope:         "https://graph.microsoft.com/.default",
		AuthorityHost: srv.EntraURL(),
		HTTPClient:    srv.HTTPClient(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	customer := srv.Tenants()[0].ID
	srv.SetConsent(customer, true)
	tok, err := tokens.Token(context.Background(), customer)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, tok.AccessToken != "")
	// Output:
	// Bearer true
}

// The partner admin's one-time sign-in, as a PSA mounts it: AuthURL when the admin clicks
// "Connect", Callback in the handler of the redirect URI. Here the fake's Entra ID signs the
// admin in at once; against Microsoft the admin's browser goes to the link.
func ExamplePartnerConnect() {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 1, Tenants: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	app := srv.PartnerApp()
	pc, err := entra.NewPartnerConnect(entra.PartnerConnectConfig{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		Secret:          app.Secret,
		RedirectURI:     "https://psa.example/connect/callback",
		AuthorityHost:   srv.EntraURL(), // leave empty for Microsoft (or set Cloud)
		HTTPClient:      srv.HTTPClient(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	link, err := pc.AuthURL(ctx, "msp-1", "alice")
	if err != nil {
		fmt.Println(err)
		return
	}

	// The browser's round trip: the fake answers the link with a redirect to the callback.
	browser := srv.HTTPClient()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(link)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	callback, _ := url.Parse(resp.Header.Get("Location"))

	auth, err := pc.Callback(ctx, callback.Query())
	if err != nil {
		fmt.Println(tenantsync.HintOf(err))
		return
	}
	// Store auth.RefreshToken sealed; RefreshTokenSource rotates it on every use.
	fmt.Println(auth.Actor, auth.UserPrincipalName != "", !auth.RefreshToken.IsZero())
	fmt.Printf("%v\n", auth.RefreshToken)
	// Output:
	// alice true true
	// [REDACTED]
}
