// Package cipp is a client for CIPP-API, the HTTP API of a CIPP instance, as an MSP's "CIPP-API
// client" (an Entra ID app registration using client credentials) sees it, plus the adapters that
// make it a tenantsync.Source and a tenantsync.Writer.
//
// CIPP's answers are irregular, and the client absorbs that: bare arrays, {Results, Metadata}
// envelopes, single objects and plain strings (Decode); counts sent as strings or numbers
// (FlexInt); timestamps in several forms (Time); and failures that arrive as 200 with a message.
//
//	c, err := cipp.NewClient(cipp.Config{
//		BaseURL:  "https://cipp-abc12.azurewebsites.net", // the Function App, not the UI
//		TenantID: partnerTenantID,
//		ClientID: apiClientID,
//		Secret:   transport.Secret(secret),
//	})
//	for u, err := range c.ListUsers(ctx, "contoso.com") {
//		...
//	}
//
// # Guarantees
//
//   - Every tenant argument is checked against CIPP's tenant list first. CIPP answers most calls
//     about a tenant it does not manage with an empty 200; here that is tenantsync.ErrTenantNotFound
//     with the hint to refresh CIPP's tenant list.
//   - Every error is a *tenantsync.Error with Service "cipp", a kind matched by errors.Is, the
//     HTTP status, and a hint naming the CIPP screen to fix it on (the API client's role, Save to
//     Azure, the Function App URL, the Setup Wizard).
//   - A listing cut short (a failed page, a truncated body) is an error, never a shorter list.
//   - ListGraphRequest nextLinks are handed back to CIPP as parameters and only when they point
//     at Graph; the bearer token is sent to the configured Function App only.
//   - The secret and tokens never appear in errors or logs; password reset results are redacted
//     in their String form.
package cipp
