package testserver_test

import (
	"context"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantsync/tenantsync/internal/testserver"
)

// A CIPP API client gets its token from the fake Entra ID with MSAL for Go, exactly as it would
// from login.microsoftonline.com.
func Example() {
	srv, err := testserver.New(testserver.Options{Seed: 1, Tenants: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	creds := srv.CIPPCredentials()
	cred, _ := confidential.NewCredFromSecret(creds.Secret)
	app, err := confidential.New(srv.EntraURL()+"/"+creds.TenantID, creds.ClientID, cred,
		confidential.WithHTTPClient(srv.HTTPClient()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := app.AcquireTokenByCredential(context.Background(), []string{"api://" + creds.ClientID + "/.default"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("got a token:", res.AccessToken != "")
	fmt.Println("tenants:", len(srv.World.Tenants))
	// Output:
	// got a token: true
	// tenants: 3
}

// Faults answer in each service's own error shape; here two throttled Graph requests, then
// normal service.
func ExampleServer_InjectFault() {
	srv, err := testserver.New(testserver.Options{Seed: 1, Tenants: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	remove := srv.InjectFault(testserver.Fault{Service: testserver.ServiceGraph, Kind: testserver.Throttle, Count: 2, RetryAfter: "1"})
	defer remove()
	client := srv.HTTPClient()
	for range 2 {
		resp, err := client.Get(srv.GraphURL() + "/v1.0/organization")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println("throttled:", srv.FaultCounts()[testserver.Throttle])
	// Output:
	// 429 1
	// 429 1
	// throttled: 2
}
