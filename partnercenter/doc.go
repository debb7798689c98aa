// Package partnercenter discovers a partner's customer tenants and answers the question every MSP
// asks first: why does this tenant not sync?
//
// It reads Partner Center customers (GET /v1/customers, seek paging with MS-ContinuationToken),
// a customer's details, and grants the partner app's consent in a customer tenant
// (POST /v1/customers/{id}/applicationconsents). It reads the partner's GDAP relationships from
// Microsoft Graph (tenantRelationships/delegatedAdminRelationships), sets Microsoft-led MLT_
// relationships aside and merges several relationships with one customer into a CustomerAccess:
// the union of the active relationships' roles, the latest end date, auto-extension.
//
// A Checker turns a CustomerAccess and a Prober (graph.Client) into a readiness row per tenant:
// for each capability (read users, read MFA detail, read devices, Exchange mailboxes, write
// users, write groups) it is ready, or it says why not and what to do: the GDAP role to add, by
// name; the consent to grant; the relationship about to expire; or that a role granted in the
// last two hours is still propagating. RenderTable prints the table.
//
// Discovery lists the union of Partner Center customers and active GDAP customers as
// tenantsync.Tenant values every cycle, so a tenant added later appears by itself.
//
// # Example
//
//	c, err := partnercenter.NewClient(partnercenter.Config{
//		PartnerTenantID: partnerTenant,
//		ClientID:        appID,
//		ClientSecret:    tenantsync.NewSecret(secret),
//		RefreshToken:    tenantsync.NewSecret(storedRefreshToken), // the partner admin's SAM token
//		OnRefreshTokenRotated: func(ctx context.Context, rt tenantsync.Secret) error {
//			return store.SaveRefreshToken(ctx, rt) // every redemption rotates it
//		},
//	})
//	if err != nil {
//		return err
//	}
//	rows, err := c.Readiness(ctx, &partnercenter.Checker{Prober: graphClient}, 4)
//	if err != nil {
//		return err
//	}
//	partnercenter.RenderTable(os.Stdout, rows)
//
// # Guarantees
//
//   - A listing that fails on any page is an error, never a shorter list; paging is bounded
//     (Config.MaxPages, ErrLimitExceeded) and a repeated continuation token or next link is an
//     ErrLimitExceeded too. A listing cut short after its first page, a next link to another
//     host included, also matches ErrIncomplete.
//   - Next links are followed only on the configured Graph host; continuation tokens are sent
//     only to the configured Partner Center host.
//   - Every error is a *tenantsync.Error with its kind, HTTP status, service code, request ID
//     (MS-RequestId or Graph's request-id) and a hint; 429s carry the Retry-After wait.
//   - Secrets (client secret, refresh tokens) are tenantsync.Secret values that print as "[REDACTED]", and
//     no error string carries a token.
package partnercenter
