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

// Defaults applied to zero Settings fields.
const (
	DefaultMaxRetries    = 4
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRetryAfter = 5 * time.Minute
	DefaultMaxBodyBytes  = 64 << 20
	// DefaultTimeout is generous because CIPP-API calls that fan out to Graph and Exchange run
	// for minutes before Azure's front end cuts them at about 230 s.
	DefaultTimeout = 240 * time.Second
)

// NoRetries as Settings.MaxRetries sends every request once: zero already means "the default",
// and other negative values are refused as mistakes.
const NoRetries = math.MinInt32

// Settings are the HTTP settings every service client shares; cipp.Config, graph.Config and
// partnercenter.Config embed them. Zero values take the documented defaults, so the zero
// Settings is a working production configuration.
type Settings struct {
	// HTTPClient is the underlying client (TLS roots, proxy, dialer). Default: a clone of
	// http.DefaultTransport with bounded dial, TLS and header timeouts. Its Transport is used;
	// redirects are handled by the stack (never across origins with a token or a body).
	HTTPClient *http.Client
	// Budget is the retry budget shared by every client and tenant of one engine. Default: a
	// budget private to the client (NewBudget(0)).
	Budget *Budget
	// Limits is the set of per (host, tenant) rate limiters, shared across clients when they
	// reach the same host. Default: Microsoft's published limits (GraphRules) for the graph
	// client, none for the others; pass NewLimits(PartnerCenterRules(...)...) or CIPPRules to
	// pace those.
	Limits *Limits
	// Observer, when set, is called after every HTTP attempt, retries included (metrics,
	// round-trip counts). It must not block.
	Observer func(Attempt)
	// Tracer, when set, is told when each request starts and ends, all its attempts and
	// retries in between, for tracing: one span per request.
	Tracer RequestTracer
	// MaxRetries per request (0: DefaultMaxRetries; NoRetries: each request is sent once, apart
	// from the one fresh-token retry after a 401). Other negative values are refused.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff with full jitter used when the
	// service names no Retry-After (0: DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After (0: DefaultMaxRetryAfter); a longer one is not
	// waited for: the client reports tenantsync.ErrThrottled with the wait at once.
	MaxRetryAfter time.Duration
	// Timeout bounds one attempt (0: DefaultTimeout, 240 s, because CIPP calls can run long).
	Timeout time.Duration
	// MaxBodyBytes bounds every response body (0: DefaultMaxBodyBytes, 64 MiB); reading past it
	// fails with tenantsync.ErrLimitExceeded instead of a shortened body.
	MaxBodyBytes int64
	// UserAgent names the calling program on every request. tenantsync's own product token,
	// "tenantsync/" + tenantsync.Version, always follows it (alone, with the service, when this
	// is empty), token requests to Entra ID included.
	UserAgent string
	// AllowInsecureHTTP permits http:// service URLs. For tests against a local fake only:
	// without it https is required, so a bearer token never travels unencrypted.
	AllowInsecureHTTP bool
}

// Attempt describes one HTTP attempt, for Settings.Observer.
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

// RequestTracer traces the requests of a client: StartRequest is called once per request,
// before its first attempt, with the context the request was made with (which carries the
// caller's span, a tenant sync's for instance) and returns the context the request runs in;
// the stack calls end once, after the last attempt. Neither sees a header, a token, a secret or
// the query string. Both must not block.
type RequestTracer interface {
	StartRequest(ctx context.Context, r Request) (_ context.Context, end func(RequestOutcome))
}

// Request describes a request to a RequestTracer.
type Request struct {
	Service string // "cipp", "graph", "partnercenter"
	Tenant  string // the customer tenant it concerns, "" for partner-level calls
	// Kind is the data kind it reads ("users", "devices", ...) when it reads one; "" for a
	// Graph $batch carrying several, writes and lookups.
	Kind   string
	Method string
	Host   string
	Path   string // the URL's path, escaped; the query is left out
}

// RequestOutcome is how a request ended, for a RequestTracer.
type RequestOutcome struct {
	Status   int   // the last answer's status; 0 when none arrived
	Err      error // the error returned to the caller (redacted), nil on success
	Attempts int   // attempts sent
	Retries  int   // attempts beyond the first that the retry policy made
	Duration time.Duration
}

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
