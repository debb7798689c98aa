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
//
// # Entra ID
//
// The token endpoint answers POST /{tenant}/oauth2/v2.0/token (and the v1 /{tenant}/oauth2/token
// with resource=) and GET /{tenant}/v2.0/.well-known/openid-configuration for any tenant ID or
// domain of the partner or a customer, so MSAL for Go works against it:
//
//	cred, _ := confidential.NewCredFromSecret(creds.Secret)
//	app, _ := confidential.New(srv.EntraURL()+"/"+creds.TenantID, creds.ClientID, cred,
//		confidential.WithHTTPClient(srv.HTTPClient()), confidential.WithInstanceDiscovery(false))
//
// Grants: client_credentials with a client secret (in the body or a Basic header) or a client
// assertion signed by a certificate registered on the App, and refresh_token for the partner
// admin's Secure Application Model token (PartnerRefreshToken), which redeems in the partner
// tenant and in every customer tenant with an active GDAP relationship and consent, and rotates
// on every use. Scopes: "api://<clientId>/.default" (a CIPP API client, in its home tenant only),
// "https://graph.microsoft.com/.default" and "https://api.partnercenter.microsoft.com/.default"
// or "/user_impersonation". Failures carry the real AADSTS body and status: bad secret 7000215,
// expired secret 7000222 (ExpireSecret), unknown client or app not consented 700016 (SetConsent),
// unknown tenant 90002, delegated consent missing 65001, revoked refresh token 50173
// (RevokeRefreshTokens), expired refresh token 700082 (ExpireRefreshTokens).
//
// The partner admin's sign-in: GET /{tenant}/oauth2/v2.0/authorize checks the client, the
// redirect URI, response_type=code and a PKCE S256 challenge, then answers at once as the
// signed-in admin would, by redirecting to the redirect URI with a code, or with the outcome
// SetSignInOutcome chose: consent declined (access_denied, AADSTS65004), MFA required
// (interaction_required, AADSTS50076), no refresh token (also whenever offline_access was not
// asked for), a guest from another tenant, a member without the Admin Agent role or a sign-in
// without MFA (Partner Center then answers 403, or 401 naming MFA). The authorization_code grant
// redeems a code once, within ten minutes, for the same client and redirect URI and with the
// matching code_verifier (AADSTS54005, 70008, 50011, 501481 otherwise).
//
// Clouds: CloudHTTPClient reaches the fake under Microsoft's host names for the global, GCC
// High, DoD and 21Vianet clouds (login, Graph, Partner Center), with TLS still verified. Answers
// then name the host asked in their absolute URLs, a token endpoint refuses another cloud's
// resource (AADSTS500011), and a service refuses a token another cloud's authority issued.
// RequestLog lists every request with the Host the client addressed, so a test can assert that
// a connection stayed on its cloud's hosts.
//
// Access tokens are HMAC-signed JWTs with the claims aud, tid, appid, oid (delegated only), iat,
// exp, valid for DefaultTokenLifetime unless Options.TokenLifetime or SetTokenLifetime say
// otherwise. The service fakes check them with verifyBearer, whose error wraps errTokenMissing,
// errTokenMalformed, errTokenSignature, errTokenExpired or errTokenAudience so each fake can
// answer 401 in its own shape.
//
// # CIPP-API
//
// The fake CIPP answers /api/<endpoint> for a CIPP API client's token (audience
// api://<clientId>) with its role's permissions, and answers in each endpoint's own shape,
// errors included. ServeCIPPRecorded(true) adds the tenant contoso.com, whose answers are the
// files recorded in the cipp package's testdata, served byte for byte; FailCIPPTenant makes
// CIPP's calls into a tenant fail the way CIPP reports missing consent, expired partner tokens,
// missing permissions or licences (the CIPPErr* texts); DropCIPPTenant takes a tenant out of
// CIPP's tenant list while clients still hold it in their caches, as CIPP's nightly cleanup or a
// cleared tenant cache does, until a tenant refresh brings it back.
//
// Each listener logs to stderr, except for the TLS handshakes that clients hanging up and Close
// cut short: those say nothing about the code under test.
//
// # Faults
//
// InjectFault adds a Fault matched by service, tenant, path substring, method and time window;
// it fires for a share of requests (Rate, drawn from a stream seeded by Options.Seed, so the same
// requests in the same order meet the same faults) or a number of times (Count). Kinds: Throttle
// (429), ServerError (5xx), Latency, Drop (connection closed without a response), Truncate (full
// Content-Length, half the body) and Hang, and for CIPP the answers it gives instead of data:
// CIPPNotReady (each endpoint's "Loading data…" placeholder or queued envelope), CIPPForbidden
// (a 403 text/plain RBAC refusal) and CIPPResultsFailed (200 {"Results": "Failed …"}), with
// Fault.Message replacing the default text. FaultCounts tells a soak harness how many fired.
//
// Error bodies come from one renderer per service, which the service fakes use too:
// writeGraphError (Graph's error/innerError with request-id headers), writePCError and
// writePCThrottle (Partner Center's {code,description,...} and {statusCode,message}),
// writeCIPPText (CIPP's text/plain) and writeAADError (Entra's AADSTS body).
//
// # The World
//
// Generate builds the World from Options: the same seed gives the same tenants, users, devices,
// IDs and credentials, and adding tenants leaves the earlier ones unchanged. A 50,000-user
// tenant with 1,000 others takes a fraction of a second (BenchmarkGenerate). Handlers read the
// World under w.mu.RLock() and must never change it without w.mu.Lock(); tests change users
// through AddUser, UpdateUser and DeleteUser, which number every change (Tenant.Seq,
// User.Seq) so Graph delta queries can replay what changed since a token was issued.
package testserver
