// Package cipp is a client for CIPP-API, the HTTP API of a CIPP instance, as an MSP's "CIPP-API
// client" (an Entra ID app registration using client credentials) sees it, plus the adapters that
// make it a tenantsync.Source and a tenantsync.Writer.
//
// CIPP's answers are irregular, and the client absorbs that: bare arrays, {Results, Metadata}
// envelopes, single objects and plain strings (Decode); counts sent as strings or numbers
// (FlexInt); timestamps in several forms (Time); failures that arrive as 200 with a message; and
// errors whose shape differs per endpoint.
//
//	c, err := cipp.NewClient(cipp.Config{
//		BaseURL:  "https://cipp-abc12.azurewebsites.net", // the Function App, not the UI
//		TenantID: partnerTenantID,                        // the tenant CIPP runs in
//		ClientID: apiClientID,                            // CIPP → Integrations → CIPP-API
//		Secret:   tenantsync.NewSecret(secret),
//		Settings: transport.Settings{Budget: budget}, // HTTP settings shared with other clients
//	})
//	for u, err := range c.ListUsers(ctx, "contoso.com") { // or c.Users for a slice
//		...
//	}
//	src, err := cipp.NewSource(c, cipp.SourceConfig{}) // tenantsync.Source: discovery and full listings per kind
//	w := cipp.NewWriter(c)   // tenantsync.Writer: needs the editor role
//
// The token is the API client's own (scope api://<client ID>/.default), from MSAL's
// client-credentials flow in the partner tenant, cached and renewed before it expires.
// ListGraphRequestPage returns a nextLink a caller can persist to resume a large listing;
// ListGraphRequest and GraphUsers iterate over every page. Call reaches endpoints this package
// does not wrap.
//
// A Client keeps at most Config.Concurrency requests (DefaultConcurrency, 6) in flight against
// its instance, whatever the tenants, and Source reads a tenant's kinds at once within that.
// SourceConfig.Bulk reads every tenant from CIPP's nightly reporting database instead
// (ListDBCache, CIPP v10.1 and later: about ten calls for any number of tenants), where its data
// is recent enough, and live where it is not or where someone asked for the sync.
//
// # Guarantees
//
//   - Every tenant argument (a customer ID or one of the tenant's domains) is checked against
//     CIPP's tenant list first. CIPP answers most calls about a tenant it does not manage with an
//     empty 200, and reports success for writes it never made; here that is
//     tenantsync.ErrTenantNotFound with the hint to refresh CIPP's tenant list. The list is
//     cached (10 minutes by default); concurrent callers share one ListTenants call. An empty
//     answer about a tenant is checked against a freshly fetched list before it counts as an
//     empty listing (Source: one such fetch per Fetch), since CIPP answers the same empty 200
//     for a tenant it dropped after the cache was filled.
//   - CIPP's "not ready" answers (a "Loading data for all tenants…" placeholder row, "Data still
//     processing", a queued ListGraphRequest, an empty reporting database) and 200 answers whose
//     text reports a failure are errors (tenantsync.ErrUnavailable with a retry-later hint, or
//     the kind the text names), never rows and never an empty list.
//   - A write action (block or allow sign-in, revoke sessions, reset the password or MFA, group
//     membership) is done only when CIPP's answer says so: state "success", a text opening with
//     "Success", or the text of an action with nothing to change ("No MFA methods found"). Any
//     other 200 is tenantsync.ErrUnavailable saying the change may or may not have been made:
//     CIPP's PowerShell may continue past an error it did not catch and answer 200.
//   - Every error is a *tenantsync.Error with Service "cipp", a kind matched by errors.Is, the
//     HTTP status, and a hint naming the CIPP screen to fix it on (the API client's role, Save to
//     Azure, the Function App URL, the Setup Wizard, a CPV refresh).
//   - A listing cut short (a failed page, a truncated body, an undecodable row) is an error, never
//     a shorter list; Source reports that kind Unavailable and leaves the others intact.
//   - ListGraphRequest nextLinks are handed back to CIPP as parameters and only when they point
//     at Graph; the bearer token is sent to the configured Function App only, and redirects (the
//     CIPP UI's sign-in page) are reported instead of followed.
//   - The secret and tokens never appear in errors or logs; generated passwords appear only in
//     WriteResult.TemporaryPassword, never in messages.
package cipp
