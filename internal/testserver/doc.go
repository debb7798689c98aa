// Package testserver is a faithful fake of the services tenantsync talks to: Entra ID's token
// endpoint, CIPP-API, Microsoft Graph and Partner Center, each served over TLS on its own
// loopback listener (so host guards are exercised for real), backed by one seeded World of
// generated customer tenants, with fault injection set per test.
//
// Every response shape follows the reference wire formats, irregularities included (CIPP's three
// response shapes and string-or-number counts, Graph's absolute nextLinks and delta tokens,
// Partner Center's continuation tokens, AADSTS error bodies).
//
// Use New in programs and NewT in tests:
//
//	srv := testserver.NewT(t, testserver.Options{Seed: 1, Tenants: 5})
//	httpClient := srv.HTTPClient() // trusts the fake's CA
//	creds := srv.CIPPCredentials()
package testserver
