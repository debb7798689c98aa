// Package graph reaches customer tenants through Microsoft Graph, the route for MSPs that work
// through GDAP without CIPP.
//
// A partner app (client ID with a secret or certificate, registered in the partner tenant)
// obtains a token per customer tenant: app-only client credentials through MSAL for Go, cached
// and refreshed per tenant, or, with AuthMode PartnerUser, the Secure Application Model exchange
// of a partner admin's refresh token (the rotated token is handed back to persist). Token
// failures become root error classes with a hint: consent missing (AADSTS65001, 700016, 90099),
// bad or expired secret (7000215, 7000222), unknown tenant (90002), revoked authorization
// (700082, 50173), redirect mismatch (50011).
//
// Reads decode into small structs with encoding/json. Every collection is available as an
// iterator (ListUsers) and as a page call returning the nextLink (UsersPage); users also as a
// delta round (UsersDelta) whose deltaLink is the cursor. Source.Fetch puts the first page of
// every kind into one $batch per tenant and follows further pages alone, so a small tenant costs
// one token request and one batch, plus on the first sync one batch of mailbox types per 20
// users with a mail address.
//
// Users and mailboxes both have delta cursors (users delta links). Mailbox types are read only
// for the users a change round reports, and a deleted user, or one left without a mail address
// or an Exchange mailbox, removes its mailbox. With cursors, and the token cached, an unchanged
// tenant costs one request: the $batch. Graph tracks only the $selected directory properties,
// so a mailbox converted in Exchange (user to shared) with no directory change is seen at the
// next full listing; a caller that needs it sooner drops the mailboxes cursor now and then.
//
// Writer performs the write actions (block, unblock, suspend, password reset, revoke sessions,
// MFA reset, group membership); Consent builds admin-consent links and checks their callbacks,
// reading what consent granted through Graph (GrantedRoles: the app role assignments of the
// partner app's service principal in the customer tenant), never from the redirect's scope.
//
//	c, err := graph.NewClient(graph.Config{
//		PartnerTenantID: partnerTenant,
//		ClientID:        appID,
//		ClientSecret:    tenantsync.NewSecret(secret),
//	})
//	if err != nil {
//		return err
//	}
//	// Discovery of GDAP customers comes from partnercenter.Discovery (a tenantsync.TenantLister).
//	src, err := graph.NewSource(c, graph.SourceConfig{TenantLister: pc.Discovery()})
//	if err != nil {
//		return err
//	}
//	res, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: customer, Kinds: tenantsync.AllKinds()})
//
// # Guarantees
//
//   - Tokens go only to the configured Graph origin: a nextLink, deltaLink or stored cursor that
//     points elsewhere is refused with tenantsync.ErrHostNotAllowed before any request is made.
//   - A listing cut short (failed page, nextLink loop, page bound) is Unavailable, never shorter;
//     cut short after its first page, its error also matches tenantsync.ErrIncomplete besides
//     its own kind (ErrHostNotAllowed for a refused nextLink, ErrLimitExceeded for a loop).
//   - A 403 says which: ErrLicenseRequired (MFA detail needs Entra ID P1) or ErrRoleMissing with
//     the GDAP role to add, or that a recent grant may still be propagating.
//   - Throttled $batch items are retried after their own Retry-After, or without one after the
//     transport's exponential backoff with full jitter (Config.MinBackoff to MaxBackoff), so
//     throttled tenants do not retry in lockstep; one kind failing leaves the others intact.
//     Config.MaxRetries bounds both the transport's retries and these; transport.NoRetries
//     sends every request and batch once.
//   - This package does not import msgraph-sdk-go; graph/msgraphsdk does, for callers who want it.
package graph
