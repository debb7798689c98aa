// Package tenantsynctest provides test doubles for programs built on tenantsync, as
// net/http/httptest does for HTTP: things to run in-process in a test instead of the real
// service.
//
// Start runs the fake Entra ID, CIPP-API, Microsoft Graph and Partner Center of a generated
// partner and its customer tenants (from a seed and sizes) on TLS listeners for the length of a
// test. The Server it returns hands out ready configs for tenantsync's clients (CIPPConfig,
// GraphConfig, PartnerCenterConfig), the CA pool and an HTTP client that trusts it, the
// generated tenants and users to write expectations from, and handles for fault injection:
// InjectHTTPFault (429s with Retry-After, 5xx, latency, dropped connections, truncated
// bodies, hangs, per service, tenant and path), SetConsent, ExpireSecret,
// RevokeRefreshTokens, FailCIPPTenant, ThrottleGraph, ExpireGraphDeltaTokens,
// PropagateGDAPRoles, AddUser and DeleteUser. The fakes answer in the services' own shapes:
// Graph's nextLinks and error bodies, CIPP's three response shapes and plain-text errors,
// Entra's AADSTS errors, OpenID configuration and key set.
//
//	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 1, Tenants: 3, Sizes: []int{40}})
//	client, err := cipp.NewClient(fakes.CIPPConfig())
//	// ... cipp.NewSource(client, ...) into sync.Config.Sources, link fakes.Tenants()[0].ID ...
//
// Contacts is a PSA contact directory in memory: it implements tenantsync.Contacts, the half of
// every sync that talks to the PSA, and fails the way ConnectWise Manage, Autotask, HaloPSA and
// Syncro fail. Give it to the sync engine (sync.Config.Contacts) to test how your code, or the
// engine, copes with a PSA that refuses records, throttles, times out, runs out of its hourly
// quota, or loses the answer to a create it carried out.
//
// Faults can be switched on and off while calls run:
//
//   - SetLatency: every call takes this long.
//   - Inject a Fault: a Throttle (429, with or without Retry-After), a ServerError (5xx), a
//     Timeout (a call that hangs until its context ends, or for a fixed time) or a
//     LostResponse (the PSA does the work, the answer never arrives), for a period, for the
//     next N calls, for chosen operations or chosen contacts.
//   - SetQuota: N calls per rolling window, then 429 with Retry-After until a slot frees.
//   - AddRule: validation refusals for chosen records (MaxLength, Required, RefuseEmails,
//     RefuseObjectIDs, or any predicate).
//   - SetUniqueEmails: Autotask's duplicate-email rule.
//   - SetIdentity: whether the PSA keeps the (TenantID, ObjectID) of the contacts it is given
//     and returns the existing contact when asked to create one for a known identity, as
//     tenantsync.Contacts.CreateContact asks implementations to, or not, to test a PSA that
//     cannot.
//
// Every error is a *tenantsync.Error (or embeds one) with Service "psa", matched with errors.Is
// against the root package's error classes: ErrThrottled with RetryAfter when the PSA sent one,
// ErrUnavailable for 5xx, timeouts and lost answers, ErrInvalidInput for a validation refusal
// (a *ValidationError naming the field), ErrConflict for a duplicate email, ErrClientNotFound
// for an unknown client and ErrNotFound for an unknown contact.
//
// Time comes from a Clock. A ManualClock makes periods, quotas and latency deterministic: a
// test advances an hour instead of waiting one.
//
// Calls, All, Get and Duplicates let a test check what happened: how many calls each operation
// received, the contacts as stored, and any person with two active contacts in one client.
//
// # Example
//
//	clock := tenantsynctest.NewManualClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
//	psa := tenantsynctest.NewContacts(clock)
//	psa.AddClient("17", "Contoso")
//	psa.SetQuota(10_000, time.Hour)
//	psa.AddRule(tenantsynctest.MaxLength(tenantsynctest.FieldLastName, 50))
//	_ = psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Throttle{RetryAfter: 30 * time.Second}, For: time.Minute})
//
//	engine, err := sync.New(sync.Config{Contacts: psa /* , ... */})
//	// ... run syncs, clock.Advance(time.Minute), run again ...
//	if d := psa.Duplicates(); len(d) > 0 {
//		t.Errorf("a person has two contacts: %+v", d)
//	}
package tenantsynctest
