// Package transport is the one HTTP stack every tenantsync client uses: token injection only
// for the configured origin, per (host, tenant) rate limiting, retries with Retry-After and a
// shared retry budget, bounded bodies, and redaction of secrets from every error.
//
// It is public because the clients' configurations share its types: a PSA that runs the cipp,
// graph and partnercenter clients side by side gives them one Budget and one Limits so a
// throttling storm is bounded across all of them, passes secrets as Secret, counts round trips
// through Attempt callbacks, and may bring its own TokenSource (a key vault, a token broker).
//
// A service client builds one Client per configured service and tags each request with the
// customer tenant it concerns:
//
//	tokens, err := transport.NewClientCredentials(transport.EntraConfig{
//		TenantID: partnerTenant, ClientID: appID, Secret: secret,
//		Scope: "https://graph.microsoft.com/.default",
//	})
//	c, err := transport.New(transport.Config{
//		Service: "graph", BaseURL: "https://graph.microsoft.com",
//		Tokens: tokens, Budget: engineBudget, Limits: transport.NewLimits(transport.GraphRules()...),
//	})
//	req, _ := http.NewRequestWithContext(transport.WithTenant(ctx, customerTenant), "GET", url, nil)
//	resp, err := c.Do(req)
//
// Each attempt passes auth (a bearer token for the request's tenant, and only when the
// request's scheme, host and port equal BaseURL's), then the (host, tenant) rate limiter,
// then the network; go-retryablehttp drives the attempts with this package's policy.
//
// Guarantees:
//   - Retries: 429, 500, 502, 503, 504, dropped or refused connections and attempt timeouts
//     are retried up to MaxRetries, waiting the server's Retry-After (seconds, fractional
//     seconds rounded up, or an HTTP date) or exponential backoff with full jitter. A
//     Retry-After above MaxRetryAfter is not waited for: the response comes back at once, as
//     after the last retry, so the service client reports the service's own code, message and
//     request ID with ErrThrottled and the wait (cipp, graph and partnercenter do). Requests with side effects (POST, PATCH) are retried only after a
//     429 (refused unprocessed) unless marked Idempotent. A 401 from the configured origin
//     invalidates the token and is retried once with a fresh one. MaxRetries: NoRetries sends
//     every request once; FinalWhen lets a caller say which retryable answers are definite
//     (CIPP's 500 carrying an exception's text) so they come back at once.
//   - Nothing is retried after the request's context ends; the context's error is returned.
//   - Every retry draws from a Budget (aws-sdk-go-v2's token bucket: 5 per retry, 10 after a
//     timeout, refilled by successes). An empty budget stops retrying: the last response is
//     returned, or ErrLimitExceeded when there is none, so a throttling storm across many
//     tenants does not multiply traffic.
//   - A response body longer than MaxBodyBytes fails with ErrLimitExceeded rather than being
//     cut short; a connection lost mid-body fails with ErrUnavailable.
//   - Tokens never leave the configured origin: other hosts, redirects to them and
//     non-https URLs get no Authorization header, and Allowed refuses such links. A request
//     with a body is never redirected to another origin (ErrHostNotAllowed, since net/http
//     would send the body again), and neither is a token request of ClientCredentials or
//     RefreshTokenSource, which carries the client secret or the refresh token.
//   - Errors are *tenantsync.Error values built from redacted text (Redact). Credentials are
//     held as Secret (tenantsync.Secret) wherever they live, configurations, token caches and
//     the refresh-token chain alike, and a certificate's key as tenantsync.PrivateKey, so
//     printing a Config, a Client or a token source with any fmt verb, slog or encoding/json
//     shows [REDACTED], never a secret, a token or a private key.
//
// The Entra ID token sources are ClientCredentials (app-only tokens per customer tenant via
// MSAL for Go) and RefreshTokenSource (the Secure Application Model's stored partner refresh
// token, rotated and persisted on every redemption). MapEntraError turns AADSTS failures into
// error classes with remediation hints.
package transport
