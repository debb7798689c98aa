// Package httpx is the HTTP stack every service client (cipp, graph, partnercenter, entra,
// graph/msgraphsdk) sends its requests through: token injection only for the configured origin,
// per (host, tenant) rate limiting, retries with Retry-After and a shared retry budget, bounded
// bodies, and redaction of secrets from every error. Its settings are the public
// transport.Settings; everything a caller of the SDK never names lives here.
//
// Guarantees:
//   - Retries: 429, 500, 502, 503, 504, dropped or refused connections and attempt timeouts are
//     retried up to MaxRetries, waiting the server's Retry-After (seconds, fractional seconds
//     rounded up, or an HTTP date) or exponential backoff with full jitter. A Retry-After above
//     MaxRetryAfter is not waited for: the response comes back at once, as after the last
//     retry, so the service client reports the service's own code, message and request ID with
//     ErrThrottled and the wait. Requests with side effects (POST, PATCH) are retried only after
//     a 429 (refused unprocessed) unless marked Idempotent. A 401 from the configured origin
//     invalidates the token and is retried once with a fresh one. FinalWhen lets a service say
//     which retryable answers are definite (CIPP's 500 carrying an exception's text).
//   - Nothing is retried after the request's context ends; the context's error is returned.
//   - Every retry draws from the transport.Budget; an empty budget stops retrying.
//   - A response body longer than MaxBodyBytes fails with ErrLimitExceeded rather than being
//     cut short; a connection lost mid-body fails with ErrUnavailable.
//   - Tokens never leave the configured origin: other hosts, redirects to them and non-https
//     URLs get no Authorization header, and Allowed refuses such links. A request with a body
//     is never redirected to another origin.
//   - Errors are *tenantsync.Error values built from redacted text (Redact).
package httpx

import (
	"context"
	"net/http"
	"time"

	"github.com/tenantsync/tenantsync/internal/callctx"
	"github.com/tenantsync/tenantsync/transport"
)

// Config configures a Client: the service it speaks to and the shared transport.Settings.
type Config struct {
	// Service names the service in errors and logs ("cipp", "graph", "partnercenter").
	Service string
	// BaseURL is the origin the client was configured for. Bearer tokens are sent only to this
	// scheme://host:port; any other request gets no token (and links are refused by Allowed).
	BaseURL string
	// Tokens, when set, adds "Authorization: Bearer" to requests to BaseURL's origin.
	Tokens transport.TokenSource
	// Hosts, when set, are the only hosts BaseURL may name: a connection's cloud (entra.Cloud
	// Hosts), so a base URL of another cloud is refused before any token is sent.
	Hosts []string
	transport.Settings
}

// Client is the one HTTP stack every service client uses. It is safe for concurrent use.
type Client struct {
	cfg    Config
	origin origin
	http   *http.Client
}

// New validates cfg and builds a Client.
func New(cfg Config) (*Client, error) { return newClient(cfg) }

// Do sends req with token injection, rate limiting and retries. The tenant comes from
// WithTenant on req's context. It returns the final response (a 429 or 5xx after retries are
// exhausted, or whose Retry-After exceeds MaxRetryAfter, is returned, not turned into an error,
// so the service client can decode its body)
// or a *tenantsync.Error for transport failures (ErrUnavailable for connection errors,
// ErrLimitExceeded for an exhausted budget, the context's error on cancellation).
// Requests with a body are retried only when they are idempotent (GET, HEAD, PUT, DELETE,
// OPTIONS) or carry Idempotent(ctx).
func (c *Client) Do(req *http.Request) (*http.Response, error) { return c.do(req) }

// Allowed reports whether rawURL (an @odata.nextLink, a continuation link) is on the configured
// origin; following anything else would leak the bearer token.
func (c *Client) Allowed(rawURL string) error { return c.allowed(rawURL) }

type ctxKey int

const (
	idempotentKey ctxKey = iota
	finalKey
	bodyKey // the request carries a body: no redirect to another origin
)

// FinalFunc reports whether a response the transport would retry (429, 500, 502, 503, 504) is a
// definite answer for the request. head is the start of the body, at most PeekBytes long.
type FinalFunc func(status int, h http.Header, head []byte) bool

// PeekBytes bounds the part of a body a FinalFunc sees.
const PeekBytes = 4096

// WithTenant tags a request context with the customer tenant it concerns: it selects the token
// and the rate limiter, and names the tenant in errors.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return callctx.WithTenant(ctx, tenant)
}

// Idempotent marks a request with a body as safe to retry (e.g. a PATCH that sets a value).
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey, true)
}

// FinalWhen marks the requests made with ctx so that a retryable status for which final
// returns true is handed back at once instead of retried. It is for services whose 5xx are
// sometimes definite answers: CIPP answers an exception inside an endpoint (no consent in the
// tenant, a missing licence) with a 500 and the exception's text, and asking again only repeats
// it. Connection errors and attempt timeouts are not affected, and the body the caller reads is
// whole.
func FinalWhen(ctx context.Context, final FinalFunc) context.Context {
	return context.WithValue(ctx, finalKey, final)
}

// ParseRetryAfter parses a Retry-After value: seconds (fractions rounded up) or an HTTP date
// relative to now. ok is false when the value is absent or malformed.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	return parseRetryAfter(v, now)
}

// Redact removes credentials from s, for errors and logs: bearer and basic authorization, JWTs,
// Entra ID refresh tokens (0.A…, 1.A…) and client secrets (…8Q~…) wherever they appear,
// cookies, API keys, passwords, signed query parameters and authorization codes, and the value
// of any secret-named key (client_secret, refresh_token, secret, …) in JSON (double or single
// quoted, or escaped inside a JSON string), form bodies (URL-encoded once or twice), headers,
// YAML and prose, and the body of a PEM private key (certificates stay). Its time is linear in
// len(s).
func Redact(s string) string { return redact(s) }
