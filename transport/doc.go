// Package transport holds the HTTP settings every tenantsync service client shares: Settings,
// which cipp.Config, graph.Config and partnercenter.Config embed, the retry Budget and the rate
// Limits that several clients may share, the Attempt an Observer sees, the RequestTracer
// hook that traces each request (one span per request, its retries included; nested under the
// sync engine's sync.Tracer span when a sync made it), and the TokenSource interface a caller
// implements to bring its own tokens (a key vault, a token broker). examples/otel wires both
// hooks to OpenTelemetry.
//
// It is only what a caller must name. The HTTP stack itself (token injection, retries,
// redaction, size and origin guards) is internal to the module and used by every client, and
// Entra ID authentication (MSAL, the Secure Application Model) is the entra package, so a
// program that imports transport compiles neither.
//
// A PSA that runs the cipp, graph and partnercenter clients side by side gives them one Budget
// and one Limits, so a throttling storm is bounded across all of them:
//
//	shared := transport.Settings{
//		Budget: transport.NewBudget(0),
//		Limits: transport.NewLimits(append(transport.GraphRules("graph.microsoft.com"),
//			transport.PartnerCenterRules("api.partnercenter.microsoft.com")...)...),
//		Observer: metrics.Observe, // func(transport.Attempt)
//	}
//	cippClient, err := cipp.NewClient(cipp.Config{BaseURL: u, TenantID: t, ClientID: id, Secret: s, Settings: shared})
//	graphClient, err := graph.NewClient(graph.Config{PartnerTenantID: t, ClientID: id, ClientSecret: s, Settings: shared})
//
// TokenSource is declared here, not in entra, because the HTTP stack is what consumes it: a
// caller with its own token broker implements it without compiling MSAL, and the clients accept
// any implementation in their Config.
//
// Guarantees of the stack these settings drive:
//   - Retries: 429, 500, 502, 503, 504, dropped or refused connections and attempt timeouts
//     are retried up to MaxRetries, waiting the server's Retry-After (seconds, fractional
//     seconds rounded up, or an HTTP date) or exponential backoff with full jitter between
//     MinBackoff and MaxBackoff. A Retry-After above MaxRetryAfter is not waited for: the
//     client reports the service's own code, message and request ID with ErrThrottled and the
//     wait. Requests with side effects (POST, PATCH) are retried only after a 429 unless the
//     client knows them to be idempotent. A 401 invalidates the token (TokenInvalidator) and is
//     retried once with a fresh one. NoRetries sends every request once.
//   - Nothing is retried after the request's context ends; the context's error is returned.
//   - Every retry draws from a Budget (aws-sdk-go-v2's token bucket: RetryCost per retry,
//     TimeoutCost after a timeout, refilled by successes). An empty budget stops retrying, so
//     a throttling storm across many tenants does not multiply traffic.
//   - Limits holds one limiter per (host, customer tenant), sized by the first matching Rule.
//   - A response body longer than MaxBodyBytes fails with ErrLimitExceeded rather than being cut
//     short.
//   - Tokens never leave the configured origin, and https is required unless
//     AllowInsecureHTTP is set (tests against a local fake).
package transport
