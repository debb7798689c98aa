package cipp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/transport"
)

// DefaultAuthorityHost is Entra ID's public cloud sign-in host.
const DefaultAuthorityHost = "https://login.microsoftonline.com"

// DefaultTenantCacheTTL is how long the tenant list used to check tenant arguments is reused.
const DefaultTenantCacheTTL = 10 * time.Minute

// Config identifies a CIPP-API client: the values on CIPP's Integrations → CIPP-API page.
type Config struct {
	// BaseURL is the CIPP-API Function App URL ("API URL" on the integration page), e.g.
	// https://cipp-abc12.azurewebsites.net. Not the CIPP UI (Static Web App) URL.
	BaseURL string
	// TenantID is the ID of the partner tenant CIPP runs in (the token endpoint's tenant).
	TenantID string
	// ClientID is the API client's application (client) ID.
	ClientID string
	// Secret is the API client's secret. It never appears in errors or logs.
	Secret Secret
}

// Secret holds a credential. It prints as "[REDACTED]" through fmt, JSON and slog, so a Config
// can be logged; build one with tenantsync.NewSecret(s).
type Secret = transport.Secret

// Option configures a Client.
type Option func(*options) error

type options struct {
	httpClient    *http.Client
	authorityHost string
	budget        *transport.Budget
	limits        *transport.Limits
	tokens        transport.TokenSource
	tenantTTL     time.Duration
	allowInsecure bool
	onAttempt     func(transport.Attempt)
	maxRetries    int
	minBackoff    time.Duration
	maxBackoff    time.Duration
	timeout       time.Duration
	userAgent     string
}

// WithHTTPClient sets the underlying HTTP client (TLS roots, proxy). Redirects are not followed:
// CIPP's UI answers a misdirected call with a redirect to a sign-in page, which is reported.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		o.httpClient = hc
		return nil
	}
}

// WithAuthorityHost sets the Entra ID host tokens are requested from (default
// https://login.microsoftonline.com; sovereign clouds and tests use others).
func WithAuthorityHost(host string) Option {
	return func(o *options) error {
		u, err := url.Parse(host)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("WithAuthorityHost: %q is not an absolute URL like %s", host, DefaultAuthorityHost)
		}
		o.authorityHost = strings.TrimRight(host, "/")
		return nil
	}
}

// WithBudget shares a retry budget with other clients of the same engine.
func WithBudget(b *transport.Budget) Option {
	return func(o *options) error { o.budget = b; return nil }
}

// WithLimits applies per (host, tenant) rate limiters.
func WithLimits(l *transport.Limits) Option {
	return func(o *options) error { o.limits = l; return nil }
}

// WithTokenSource replaces the client-credentials token source (Config.Secret is then not needed).
func WithTokenSource(ts transport.TokenSource) Option {
	return func(o *options) error {
		if ts == nil {
			return errors.New("WithTokenSource: nil token source")
		}
		o.tokens = ts
		return nil
	}
}

// WithTenantCacheTTL sets how long the tenant list that tenant arguments are checked against is
// reused (default 10 minutes). An unknown tenant always triggers one reload before it is refused.
func WithTenantCacheTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return errors.New("WithTenantCacheTTL: negative duration")
		}
		o.tenantTTL = d
		return nil
	}
}

// WithAllowInsecureHTTP permits an http:// base URL. For tests only.
func WithAllowInsecureHTTP() Option {
	return func(o *options) error { o.allowInsecure = true; return nil }
}

// WithOnAttempt is called after every HTTP attempt (retries included), for metrics.
func WithOnAttempt(f func(transport.Attempt)) Option {
	return func(o *options) error { o.onAttempt = f; return nil }
}

// NoRetries as WithRetry's maxRetries sends every request once (0 already means the default).
const NoRetries = transport.NoRetries

// WithRetry sets the retry policy: at most maxRetries retries per request (0: the transport's
// default of 4; NoRetries: none), with exponential backoff between minBackoff and maxBackoff
// when CIPP gives no Retry-After. A 500 carrying CIPP's exception text is never retried: it is
// the endpoint's answer, not a passing failure.
func WithRetry(maxRetries int, minBackoff, maxBackoff time.Duration) Option {
	return func(o *options) error {
		if (maxRetries < 0 && maxRetries != NoRetries) || minBackoff < 0 || maxBackoff < minBackoff {
			return errors.New("WithRetry: need maxRetries >= 0 (or NoRetries) and 0 <= minBackoff <= maxBackoff")
		}
		o.maxRetries, o.minBackoff, o.maxBackoff = maxRetries, minBackoff, maxBackoff
		return nil
	}
}

// WithTimeout bounds one HTTP attempt (default 240 s: Azure cuts HTTP-triggered functions off
// at about 230 s, and CIPP's calls on large tenants can take that long).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("WithTimeout: duration must be positive")
		}
		o.timeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent sent to CIPP.
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
}

// Client calls one CIPP-API instance. It is safe for concurrent use.
type Client struct {
	cfg     Config
	opts    options
	apiBase string // scheme://host[/prefix]/api/
	http    *transport.Client
	tokens  transport.TokenSource

	tenants struct {
		// mu guards rows and at only; it is never held over a call to CIPP, which can take
		// minutes. Concurrent callers share one ListTenants call through sf instead.
		mu   sync.Mutex
		rows []Tenant
		at   time.Time // when the ListTenants call that returned rows began
		sf   singleflight.Group
	}

	unknownShapes atomic.Int64
	attemptsMu    sync.Mutex
	attempts      map[string]int
}

var reGUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s has the form of a GUID (tenant and object IDs).
func IsGUID(s string) bool { return reGUID.MatchString(s) }

func configError(msg, hint string) error {
	return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "NewClient", Message: msg, Hint: hint}
}

// NewClient validates cfg and builds a Client. It does not call CIPP; the first call acquires
// the token, and Me is a cheap way to check the credentials.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	o := options{authorityHost: DefaultAuthorityHost, tenantTTL: DefaultTenantCacheTTL}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, configError(err.Error(), "fix the option passed to cipp.NewClient")
		}
	}
	base, err := validateBaseURL(cfg.BaseURL, o.allowInsecure)
	if err != nil {
		return nil, err
	}
	if o.tokens == nil {
		if !IsGUID(cfg.TenantID) {
			return nil, configError(fmt.Sprintf("Config.TenantID %q is not a tenant ID", cfg.TenantID),
				"set it to the ID (a GUID such as 3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b) of the partner tenant CIPP runs in, shown in the token URL on CIPP → Integrations → CIPP-API")
		}
		if !IsGUID(cfg.ClientID) {
			return nil, configError(fmt.Sprintf("Config.ClientID %q is not an application ID", cfg.ClientID),
				"set it to the API client's Client ID (a GUID) from CIPP → Integrations → CIPP-API")
		}
		if cfg.Secret.IsZero() {
			return nil, configError("Config.Secret is empty",
				"set it to the API client's secret, shown once when the client was created in CIPP → Integrations → CIPP-API (create a new secret there if it was lost)")
		}
	}

	hc := &http.Client{}
	if o.httpClient != nil {
		cp := *o.httpClient
		hc = &cp
	} else {
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = keepRedirects{rt}

	c := &Client{cfg: cfg, opts: o, apiBase: base + "/api/", attempts: map[string]int{}}
	c.tokens = o.tokens
	if c.tokens == nil {
		ts, err := newTokenSource(o.authorityHost, cfg, hc)
		if err != nil {
			return nil, err
		}
		c.tokens = ts
	}
	tc := transport.Config{
		Service:           Service,
		BaseURL:           base,
		AllowInsecureHTTP: o.allowInsecure,
		HTTPClient:        hc,
		Tokens:            c.tokens,
		MaxRetries:        o.maxRetries,
		MinBackoff:        o.minBackoff,
		MaxBackoff:        o.maxBackoff,
		Budget:            o.budget,
		Limits:            o.limits,
		Timeout:           o.timeout,
		UserAgent:         o.userAgent,
		OnAttempt:         c.onAttempt,
	}
	if tc.UserAgent == "" {
		tc.UserAgent = "tenantsync-cipp"
	}
	c.http, err = transport.New(tc)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func validateBaseURL(raw string, allowInsecure bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", configError("Config.BaseURL is empty", HintUIURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", configError(fmt.Sprintf("Config.BaseURL %q is not an absolute URL", raw), HintUIURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	case u.Scheme == "http":
		return "", configError(fmt.Sprintf("Config.BaseURL %q uses http", raw), "use the https:// Function App URL; the bearer token must not travel unencrypted")
	default:
		return "", configError(fmt.Sprintf("Config.BaseURL %q has scheme %q", raw, u.Scheme), HintUIURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", configError(fmt.Sprintf("Config.BaseURL %q carries credentials, a query or a fragment", u.Redacted()), HintUIURL)
	}
	if strings.HasSuffix(strings.ToLower(u.Hostname()), ".azurestaticapps.net") {
		return "", configError(fmt.Sprintf("Config.BaseURL %q is the CIPP UI (Static Web App)", raw), HintUIURL)
	}
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, "/api")
	return u.Scheme + "://" + u.Host + path, nil
}

func (c *Client) onAttempt(a transport.Attempt) {
	c.attemptsMu.Lock()
	c.attempts[a.Tenant]++
	c.attemptsMu.Unlock()
	if c.opts.onAttempt != nil {
		c.opts.onAttempt(a)
	}
}

// attemptCount returns how many HTTP attempts were made for a tenant label so far.
func (c *Client) attemptCount(tenant string) int {
	c.attemptsMu.Lock()
	defer c.attemptsMu.Unlock()
	return c.attempts[tenant]
}

// UnknownShapes returns how many responses had a shape the endpoint does not document (an
// object where an array belongs, a bare number). A rising count means CIPP changed.
func (c *Client) UnknownShapes() int64 { return c.unknownShapes.Load() }

func (c *Client) call(ctx context.Context, method, endpoint, tenant string, query url.Values, body any, idempotent bool) (*Response, error) {
	if endpoint == "" || strings.ContainsAny(endpoint, "/?#") {
		return nil, c.newError(tenantsync.ErrInvalidInput, endpoint, tenant, 0, fmt.Sprintf("bad endpoint name %q", endpoint), "pass the endpoint name only, e.g. ListUsers")
	}
	u := c.apiBase + endpoint
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, c.newError(tenantsync.ErrInvalidInput, endpoint, tenant, 0, "encoding the request body: "+err.Error(), "")
		}
	}
	ctx = transport.FinalWhen(transport.WithTenant(ctx, tenant), finalAnswer)
	if idempotent {
		ctx = transport.Idempotent(ctx)
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, c.newError(tenantsync.ErrInvalidInput, endpoint, tenant, 0, err.Error(), "")
	}
	req.Header.Set("Accept", "application/json, text/plain")
	if payload != nil {
		// CIPP's worker parses the body as JSON only with this exact content type.
		req.Header.Set("Content-Type", "application/json")
	}
	// The transport retries a 401 once with a fresh token (a cached token can be revoked early
	// when the secret rotates or the client is saved again), so a 401 here is final.
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.wrapTransport(endpoint, tenant, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, c.wrapTransport(endpoint, tenant, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(endpoint, tenant, resp, raw)
	}
	r, err := Decode(raw)
	if err != nil {
		e := c.newError(tenantsync.ErrUnavailable, endpoint, tenant, resp.StatusCode, "the response is not valid JSON (truncated?): "+err.Error(), HintRetry)
		e.RequestID = requestID(resp.Header)
		e.Err = tenantsync.ErrIncomplete
		return nil, e
	}
	return r, nil
}

// wrapTransport gives a transport failure this call's operation and tenant.
func (c *Client) wrapTransport(op, tenant string, err error) error {
	if d, ok := tenantsync.Details(err); ok {
		cp := *d
		cp.Service = Service
		if cp.Op == "" {
			cp.Op = op
		}
		if cp.Tenant == "" {
			cp.Tenant = tenant
		}
		if cp.Hint == "" && cp.Class == tenantsync.ErrUnavailable {
			cp.Hint = HintRetry
		}
		return &cp
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	e := c.newError(tenantsync.ErrUnavailable, op, tenant, 0, err.Error(), HintRetry)
	e.Err = err
	return e
}

// locationHeader carries a redirect's Location past net/http, which follows any 3xx with one.
const locationHeader = "X-Tenantsync-Location"

// keepRedirects hides the Location of redirects so they reach the client as answers: CIPP's UI
// host redirects a bearer-token call to its sign-in page, and following it would turn a
// misconfigured base URL into an HTML page or a confusing 404.
type keepRedirects struct{ base http.RoundTripper }

func (k keepRedirects) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.base.RoundTrip(req)
	if err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Del("Location")
			resp.Header.Set(locationHeader, loc)
		}
	}
	return resp, err
}
