// Package tenantsync is the shared contract of the tenantsync SDK: the domain types a PSA sees
// (tenants, users, mailboxes, devices, domains, subscriptions, MFA state, security baseline,
// contacts, clients, audit entries), the interfaces at its seams (TenantLister, Fetcher, Source,
// Writer, Contacts, Authorizer, Approver) and the error classes every package reports.
//
// The package does no I/O. The routes to Microsoft 365 live in sub-packages: cipp (CIPP-API),
// graph (Microsoft Graph through GDAP) and partnercenter (customer discovery and GDAP readiness).
// The sync package turns any number of Sources into a matched, deduplicated picture of each
// tenant kept in a store.Store.
//
// # Guarantees
//
//   - Identity is (tenant ID, object ID), never an email address.
//   - A Source reports, per kind, either a complete listing, a set of changes since a cursor, or
//     "unavailable" with the error that says why. A listing cut short is unavailable, so nothing
//     downstream mistakes a failed page for an empty tenant. A source may stream a kind's pages
//     into FetchRequest.Sink as they arrive; the kind still counts only once its listing
//     completed.
//   - Every error a package returns can be matched with errors.Is against the classes declared here
//     (ErrForbidden, ErrThrottled, ...) and carries a remediation hint reachable through Details.
//
// # Example
//
//	res, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: id, Kinds: tenantsync.AllKinds()})
//	if err != nil {
//		return err // the tenant could not be reached at all
//	}
//	users := res.Result(tenantsync.KindUsers) // never nil: a kind the source left out is Unavailable
//	if users.Mode == tenantsync.Unavailable {
//		log.Printf("users unavailable: %v (what to do: %s)", users.Err, tenantsync.HintOf(users.Err))
//	}
package tenantsync
