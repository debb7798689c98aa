package transport

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// TokenSource produces bearer tokens per tenant: oauth2.TokenSource's shape with a context and a
// tenant ("" for services with one token, such as CIPP-API and Partner Center).
type TokenSource interface {
	Token(ctx context.Context, tenant string) (*oauth2.Token, error)
}

// TokenInvalidator is implemented by token sources that can drop a cached token after a 401.
type TokenInvalidator interface {
	Invalidate(tenant string)
}

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// Service names the service in errors and logs ("cipp", "graph", "partnercenter").
	Service string
	// BaseURL is the origin the client was configured for. Bearer tokens are sent only to this
	// scheme://host:port; any other request gets no token (and links are refused by Allowed).
	BaseURL string
	// AllowInsecureHTTP permits an http:// BaseURL (tests only); otherwise https is required.
	AllowInsecureHTTP bool
	// HTTPClient is the underlying client (TLS settings, dialer). Default: a clone of
	// http.DefaultTransport with sane timeouts.
	HTTPClient *http.Client
	// Tokens, when set, adds "Authorization: Bearer" to requests to BaseURL's origin.
	Tokens TokenSource
	// MaxRetries per request (0: the default of 4; NoRetries: none, each request is sent once,
	// apart from the one fresh-token retry after a 401). MinBackoff/MaxBackoff bound the exponential backoff with
	// jitter used when no Retry-After is given (default 500ms / 30s). MaxRetryAfter caps a
	// server's Retry-After (default 5m); a longer one is not waited for: the response is
	// returned at once, for the service client to decode with its Retry-After as the wait.
	MaxRetries    int
	MinBackoff    time.Duration
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration
	// Budget is the retry budget shared by every client and tenant of one engine (default: a
	// budget private to this client).
	Budget *Budget
	// Limits is the set of per (host, tenant) rate limiters (default: none).
	Limits *Limits
	// MaxBodyBytes bounds every response body (default 64 MiB); reading past it fails with
	// tenantsync.ErrLimitExceeded.
	MaxBodyBytes int64
	// Timeout bounds one attempt (default 240s: CIPP calls can run long).
	Timeout time.Duration
	// UserAgent is sent on every request.
	UserAgent string
	// OnAttempt, when set, is called after every attempt (for metrics and round-trip counts).
	OnAttempt func(Attempt)
}

// Attempt describes one HTTP attempt, for metrics.
type Attempt struct {
	Service  string
	Tenant   string
	Method   string
	Host     string
	Status   int // 0 when no response
	Err      error
	Retry    bool          // another attempt follows
	Wait     time.Duration // the wait before the next attempt
	Duration time.Duration
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

// Budget is a retry budget shared across clients and tenants, in the manner of
// aws-sdk-go-v2's retry token bucket: a retry takes tokens, a success returns some.
// A nil *Budget never refuses.
type Budget struct {
	mu        sync.Mutex
	capacity  int
	available int
	retries   int64
	refused   int64
}

// NewBudget returns a budget of capacity tokens (500 when capacity <= 0); a retry costs
// RetryCost tokens (a timeout costs TimeoutCost), and every success refills one.
func NewBudget(capacity int) *Budget {
	if capacity <= 0 {
		capacity = DefaultBudgetCapacity
	}
	return &Budget{capacity: capacity, available: capacity}
}

// Limits holds one rate limiter per (host, tenant), created on first use from a rule.
// A nil *Limits never waits.
type Limits struct {
	rules []Rule
	mu    sync.Mutex
	by    map[limitKey]*limiter
}

// Rule sizes the limiter of every tenant on a host: Rate events per second with Burst.
type Rule struct {
	Host  string // host name or host:port, or "" for any host
	Rate  float64
	Burst int
	// PathPrefix, when set, restricts the rule to request paths starting with it (e.g. Graph's
	// conditional-access endpoints, which have a far lower limit than the rest of the host).
	PathPrefix string
	// Cost, when set, returns the events a request takes from the bucket (Graph charges
	// resource units per call: GET users costs 2). Nil means 1; values are clamped to [1, Burst].
	Cost func(req *http.Request) int
	// Concurrency, when > 0, caps the requests in flight per (host, tenant) under this rule.
	// A slot is held until the response body is read to the end or closed.
	Concurrency int
}

// NewLimits builds per (host, tenant) limiters from rules; the first rule whose Host (and
// PathPrefix) matches wins. A rule with Rate <= 0 does not rate-limit (it may still cap
// concurrency).
func NewLimits(rules ...Rule) *Limits {
	return &Limits{rules: slices.Clone(rules), by: map[limitKey]*limiter{}}
}

type ctxKey int

const (
	tenantKey ctxKey = iota
	idempotentKey
	finalKey
	bodyKey // the request carries a body: no redirect to another origin
)

// NoRetries as Config.MaxRetries sends every request once: zero already means "the default",
// and other negative values are refused as mistakes.
const NoRetries = math.MinInt32

// FinalFunc reports whether a response the transport would retry (429, 500, 502, 503, 504) is a
// definite answer for the request. head is the start of the body, at most PeekBytes long.
type FinalFunc func(status int, h http.Header, head []byte) bool

// PeekBytes bounds the part of a body a FinalFunc sees.
const PeekBytes = 4096

// WithTenant tags a request context with the customer tenant it concerns: it selects the token
// and the rate limiter, and names the tenant in errors.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey, tenant)
}

// TenantFrom returns the tenant set by WithTenant.
func TenantFrom(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey).(string)
	return t
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
