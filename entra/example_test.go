package entra_test

import (
	"context"
	"errors"
	"fmt"

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
