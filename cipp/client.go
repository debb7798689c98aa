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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/transport"
)

// DefaultConcurrency is how many requests a Client has in flight at once against one CIPP
// instance. CIPP is one Azure Functions app whose PowerShell workers also serve its own UI,
// timers and queues (host.json lets 10 activity functions run at once), and it does not
// rate-limit callers, so a caller that floods it slows CIPP for its users rather than getting a
// 429; CIPP's guidance is a handful of calls in parallel. Six lets a tenant's nine reads
// overlap while leaving the app's own work room; raise it for an instance on a dedicated plan.
const DefaultConcurrency = 6

// DefaultTenantCacheTTL is how long the tenant list used to check tenant arguments is reused.
const DefaultTenantCacheTTL = 10 * time.Minute

// Config identifies a CIPP-API client: the values on CIPP's Integrations → CIPP-API page, and
// the HTTP settings shared with the engine's other clients.
type Config struct {
	// BaseURL is the CIPP-API Function App URL ("API URL" on the integration page), e.g.
	// https://cipp-abc12.azurewebsites.net. Not the CIPP UI (Static Web App) URL.
	BaseURL string
	// TenantID is the ID of the partner tenant CIPP runs in (the token endpoint's tenant).
	TenantID string
	// ClientID is the API client's application (client) ID.
	ClientID string
	// Secret is the API client's secret. It never appears in errors or logs.
	Secret tenantsync.Secret
	// AuthorityHost is the Entra ID host tokens are requested from (default
	// entra.DefaultAuthorityHost; sovereign clouds and tests use others).
	AuthorityHost string
	// TokenSource, when set, replaces the client-credentials token source (TenantID, ClientID
	// and Secret are then not needed): a token broker the caller already runs.
	TokenSource transport.TokenSource
	// TenantCacheTTL is how long the tenant list that tenant arguments are checked against is
	// reused (0: DefaultTenantCacheTTL). An unknown tenant always triggers one reload before it
	// is refused.
	TenantCacheTTL time.Duration
	// Concurrency is how many requests the client has in flight at once against its CIPP
	// instance, whatever the tenants (0: DefaultConcurrency). Every request waits for a slot.
	Concurrency int
	// Settings are the HTTP settings (client, retry budget, rate limits, observer, retries,
	// timeouts). HTTPClient's redirects are not followed: CIPP's UI answers a misdirected call
	// with a redirect to a sign-in page, which is reported. A 500 carrying CIPP's exception text
	// is never retried: it is the endpoint's answer, not a passing failure. The User-Agent is
	// UserAgent followed by "tenantsync/<version>", or "tenantsync/<version> (cipp)".
	transport.Settings
}

// Client calls one CIPP-API instance. It is safe for concurrent use.
type Client struct {
	cfg     Config
	apiBase string // scheme://host[/prefix]/api/
	http    *httpx.Client
	tokens  transport.TokenSource

	tenants struct {
		// mu guards rows and at only; it is never held over a call to CIPP, which can take
		// minutes. Concurrent callers share one ListTenants call through sf instead.
		mu   sync.Mutex
		rows []Tenant
		at   time.Time // when the ListTenants call that returned rows began
		sf   singleflight.Group
	}

	// slots bounds the requests in flight (Config.Concurrency).
	slots chan struct{}

	unknownShapes atomic.Int64
	attemptsMu    sync.Mutex
	attempts      map[string]int
}

func configError(msg, hint string) error {
	return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "NewClient", Message: msg, Hint: hint}
}

// NewClient validates cfg and builds a Client. It does not call CIPP; the first call acquires
// the token, and Me is a cheap way to check the credentials.
func NewClient(cfg Config) (*Client, error) {
	base, err := validateBaseURL(cfg.BaseURL, cfg.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = entra.DefaultAuthorityHost
	}
	u, err := url.Parse(cfg.AuthorityHost)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, configError(fmt.Sprintf("Config.AuthorityHost %q is not an absolute URL", cfg.AuthorityHost),
			"set it to the Entra ID sign-in host, "+entra.DefaultAuthorityHost+" in the public cloud, or leave it empty")
	}
	cfg.AuthorityHost = strings.TrimRight(cfg.AuthorityHost, "/")
	switch {
	case cfg.TenantCacheTTL < 0:
		return nil, configError(fmt.Sprintf("Config.TenantCacheTTL %v is negative", cfg.TenantCacheTTL),
			"use a positive duration, or 0 for the default of 10 minutes")
	case cfg.TenantCacheTTL == 0:
		cfg.TenantCacheTTL = DefaultTenantCacheTTL
	}
	switch {
	case cfg.Concurrency < 0:
		return nil, configError(fmt.Sprintf("Config.Concurrency %d is negative", cfg.Concurrency),
			"use a positive number of requests, or 0 for the default of 6")
	case cfg.Concurrency == 0:
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.TokenSource == nil {
		if !ids.IsGUID(cfg.TenantID) {
			return nil, configError(fmt.Sprintf("Config.TenantID %q is not a tenant ID", cfg.TenantID),
				"set it to the ID (a GUID such as 3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b) of the partner tenant CIPP runs in, shown in the token URL on CIPP → Integrations → CIPP-API")
		}
		if !ids.IsGUID(cfg.ClientID) {
			return nil, configError(fmt.Sprintf("Config.ClientID %q is not an application ID", cfg.ClientID),
				"set it to the API client's Client ID (a GUID) from CIPP → Integrations → CIPP-API")
		}
		if cfg.Secret.IsZero() {
			return nil, configError("Config.Secret is empty",
				"set it to the API client's secret, shown once when the client was created in CIPP → Integrations → CIPP-API (create a new secret there if it was lost)")
		}
	}

	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	} else {
		hc.Transport = httpx.DefaultTransport()
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = keepRedirects{rt}

	c := &Client{cfg: cfg, apiBase: base + "/api/", attempts: map[string]int{}, slots: make(chan struct{}, cfg.Concurrency)}
	c.tokens = cfg.TokenSource
	if c.tokens == nil {
		ts, err := newTokenSource(cfg, hc)
		if err != nil {
			return nil, err
		}
		c.tokens = ts
	}
	settings := cfg.Settings
	settings.HTTPClient = hc
	settings.Observer = c.onAttempt
	c.http, err = httpx.New(httpx.Config{Service: Service, BaseURL: base, Tokens: c.tokens, Settings: settings})
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
	if c.cfg.Observer != nil {
		c.cfg.Observer(a)
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
	ctx = httpx.FinalWhen(httpx.WithTenant(ctx, tenant), finalAnswer)
	if idempotent {
		ctx = httpx.Idempotent(ctx)
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
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, c.wrapTransport(endpoint, tenant, ctx.Err())
	}
	defer func() { <-c.slots }()
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
