package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/callctx"
	"github.com/tenantsync/tenantsync/transport"
)

const (
	// maxRedirects matches net/http's own limit.
	maxRedirects = 10
)

// origin is a normalised scheme://host:port.
type origin struct{ scheme, host, port string }

func originOf(u *url.URL) origin {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return origin{scheme: scheme, host: strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port: port}
}

func (o origin) String() string {
	if (o.scheme == "https" && o.port == "443") || (o.scheme == "http" && o.port == "80") {
		return o.scheme + "://" + o.host
	}
	return o.scheme + "://" + net.JoinHostPort(o.host, o.port)
}

func newClient(cfg Config) (*Client, error) {
	invalid := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: cfg.Service, Op: "transport",
			Message: Redact(msg), Hint: hint}
	}
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, invalid("the base URL is empty", "set the service's base URL, e.g. https://graph.microsoft.com")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || u.Scheme == "" {
		return nil, invalid(fmt.Sprintf("the base URL %q is not an absolute URL", cfg.BaseURL),
			"give the full URL including https://, e.g. https://cipp-api.example.com")
	}
	if u.User != nil {
		return nil, invalid("the base URL contains a user name or password",
			"remove the credentials from the URL; secrets belong in the connection's secret field")
	}
	o := originOf(u)
	if len(cfg.Hosts) > 0 && !slices.ContainsFunc(cfg.Hosts, func(h string) bool { return strings.EqualFold(strings.TrimSuffix(h, "."), o.host) }) {
		return nil, &tenantsync.Error{Class: tenantsync.ErrHostNotAllowed, Service: cfg.Service, Op: "transport",
			Message: fmt.Sprintf("the base URL's host %s is not one of the connection's cloud hosts (%s)", o.host, strings.Join(cfg.Hosts, ", ")),
			Hint:    "tokens of this connection go only to its cloud's hosts; use the cloud's address or choose the cloud the tenants live in"}
	}
	switch {
	case o.scheme == "https":
	case o.scheme == "http" && cfg.AllowInsecureHTTP:
	default:
		return nil, invalid(fmt.Sprintf("the base URL %s does not use https", o),
			"use the service's https:// address; tokens are never sent over plain http")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"MinBackoff", cfg.MinBackoff}, {"MaxBackoff", cfg.MaxBackoff}, {"MaxRetryAfter", cfg.MaxRetryAfter}, {"Timeout", cfg.Timeout}} {
		if d.v < 0 {
			return nil, invalid(d.name+" is negative", "use a positive duration, or zero for the default")
		}
	}
	if (cfg.MaxRetries < 0 && cfg.MaxRetries != transport.NoRetries) || cfg.MaxBodyBytes < 0 {
		return nil, invalid("MaxRetries and MaxBodyBytes must not be negative",
			"use a positive value, zero for the default, or transport.NoRetries as MaxRetries to send each request once")
	}
	if cfg.Service == "" {
		cfg.Service = o.host
	}
	cfg.UserAgent = UserAgent(cfg.UserAgent, cfg.Service)
	switch cfg.MaxRetries {
	case 0:
		cfg.MaxRetries = transport.DefaultMaxRetries
	case transport.NoRetries:
		cfg.MaxRetries = 0
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = transport.DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = transport.DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = transport.DefaultMaxRetryAfter
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = transport.DefaultMaxBodyBytes
	}
	if cfg.Budget == nil {
		cfg.Budget = transport.NewBudget(0)
	}

	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = transport.DefaultTimeout
		if hc.Timeout > 0 {
			cfg.Timeout = hc.Timeout
		}
	}
	// The per-attempt timeout is applied below the rate limiter (in boundTransport) so that a
	// wait for a rate-limit slot does not eat into the time the service has to answer.
	hc.Timeout = 0
	base := hc.Transport
	if base == nil {
		base = DefaultTransport()
	}
	c := &Client{cfg: cfg, origin: o}
	hc.Transport = &authTransport{c: c, next: &limitTransport{c: c, next: &boundTransport{c: c, next: base}}}
	hc.CheckRedirect = c.checkRedirect
	c.http = hc
	return c, nil
}

// product names tenantsync and its version in a User-Agent, as RFC 9110 §10.1.5 products do.
const product = "tenantsync/" + tenantsync.Version

// UserAgent is the User-Agent of a client of service: the caller's own (Settings.UserAgent)
// followed by tenantsync's product token, or the product token with the service in a comment
// when the caller set none ("tenantsync/1.1.0 (graph)"). Every request names tenantsync's
// version, so a service's logs tell which release made a call.
func UserAgent(custom, service string) string {
	custom = strings.TrimSpace(custom)
	switch {
	case custom == "":
		if service == "" {
			return product
		}
		return product + " (" + service + ")"
	case strings.Contains(custom, product):
		return custom
	}
	return custom + " " + product
}

// withProduct is the User-Agent of one request: the one the request already carries (a
// generated SDK's, such as msgraph-sdk-go's) with tenantsync's product token added, or the
// client's.
func withProduct(onRequest, client string) string {
	if onRequest == "" {
		return client
	}
	return UserAgent(onRequest, "")
}

// userAgentTransport sets the User-Agent of requests sent outside the Client stack (token
// requests, whose User-Agent MSAL would otherwise leave as Go's default).
type userAgentTransport struct {
	ua   string
	next http.RoundTripper
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", withProduct(req.Header.Get("User-Agent"), t.ua))
	return t.next.RoundTrip(r)
}

// DefaultTransport clones http.DefaultTransport without its proxy-from-environment: library
// code reads nothing from the environment; callers who need a proxy pass their own HTTPClient.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.TLSHandshakeTimeout = 10 * time.Second
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// sameOrigin reports whether u is on the configured scheme://host:port.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u != nil && u.User == nil && originOf(u) == c.origin
}

func (c *Client) schemeAllowed(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return c.cfg.AllowInsecureHTTP
	}
	return false
}

func (c *Client) allowed(rawURL string) error {
	u, err := url.Parse(rawURL)
	refuse := func(msg string) error {
		return &tenantsync.Error{Class: tenantsync.ErrHostNotAllowed, Service: c.cfg.Service, Op: "follow link",
			Message: Redact(msg),
			Hint: "the service returned a link outside " + c.origin.String() + "; tenantsync follows links only on " +
				"the configured host so the access token cannot leak. If the service really moved, update the base URL " +
				"in the connection settings"}
	}
	switch {
	case err != nil:
		return refuse("the link is not a valid URL")
	case !u.IsAbs() || u.Host == "":
		return refuse(fmt.Sprintf("the link %q is not an absolute URL", rawURL))
	case u.User != nil:
		return refuse("the link carries a user name or password")
	case !c.schemeAllowed(u):
		return refuse(fmt.Sprintf("the link %s does not use https", safeURL(u)))
	case !c.sameOrigin(u):
		return refuse(fmt.Sprintf("the link points at %s, not at %s", originOf(u), c.origin))
	}
	return nil
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return c.errorFor(req.Context(), tenantsync.ErrLimitExceeded, req, 0,
			fmt.Sprintf("stopped after %d redirects", maxRedirects),
			"the service redirects in a loop; check the base URL", nil)
	}
	if !c.schemeAllowed(req.URL) {
		return c.errorFor(req.Context(), tenantsync.ErrHostNotAllowed, req, 0,
			fmt.Sprintf("refused a redirect to %s", safeURL(req.URL)),
			"the service redirected to a non-https address; check the base URL", nil)
	}
	if !c.sameOrigin(req.URL) {
		if sent, _ := req.Context().Value(bodyKey).(bool); sent {
			// net/http sends the body again on a 307 or 308: a write's payload (a new password,
			// a group change) would reach a host the client was never configured for.
			return c.errorFor(req.Context(), tenantsync.ErrHostNotAllowed, via[0], 0,
				fmt.Sprintf("refused a redirect of a request with a body from %s to %s", c.origin, originOf(req.URL)),
				"the service redirected a request that carries data to another host; tenantsync sends request bodies "+
					"only to "+c.origin.String()+". If the service really moved, update the base URL in the connection settings", nil)
		}
		// net/http keeps Authorization on redirects to subdomains and other ports; the token is
		// bound to one origin, so any other origin gets the request without it.
		req.Header.Del("Authorization")
	}
	return nil
}

// NoCrossOriginRedirects returns a copy of hc that refuses a redirect to any other origin.
// Token requests carry the client secret, the refresh token or a client assertion in their
// body, and net/http sends the body again on a 307 or 308 (and follows a 302 as a GET), so
// following one would hand the credential, or at least the request, to whatever host the
// Location header names.
func NoCrossOriginRedirects(hc *http.Client, service string) *http.Client {
	cp := *hc
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = &userAgentTransport{ua: UserAgent("", service), next: base}
	next := hc.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		from, to := originOf(via[0].URL), originOf(req.URL)
		if to != from || req.URL.User != nil {
			return &tenantsync.Error{Class: tenantsync.ErrHostNotAllowed, Service: service, Op: "acquire token",
				Message: Redact(fmt.Sprintf("the token endpoint %s redirected to %s", from, to)),
				Hint: "the Entra ID token endpoint redirected to another host, which would receive the client secret or " +
					"refresh token, so the request was not sent there. Set the authority host to the Entra ID login host " +
					"itself (https://login.microsoftonline.com, or your cloud's), not to a proxy that redirects"}
		}
		if len(via) >= maxRedirects {
			return &tenantsync.Error{Class: tenantsync.ErrLimitExceeded, Service: service, Op: "acquire token",
				Message: fmt.Sprintf("stopped after %d redirects", maxRedirects),
				Hint:    "the token endpoint redirects in a loop; check the authority host"}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &cp
}

// idempotent reports whether req may be sent twice: safe methods, PUT and DELETE, or a
// request the caller marked with Idempotent.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodTrace:
		return true
	}
	v, _ := req.Context().Value(idempotentKey).(bool)
	return v
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: c.cfg.Service,
			Message: "nil request", Hint: "build the request with http.NewRequestWithContext"}
	}
	t := c.cfg.Tracer
	if t == nil {
		resp, _, err := c.send(req)
		return resp, err
	}
	// One call to the tracer per request, whatever its attempts: the span it starts covers the
	// retries and their waits. It sees the path, not the query (filters name people, CIPP's
	// tenantFilter names customers), and never a header.
	start := time.Now()
	ctx, end := t.StartRequest(req.Context(), transport.Request{
		Service: c.cfg.Service, Tenant: callctx.Tenant(req.Context()), Kind: callctx.Kind(req.Context()),
		Method: req.Method, Host: req.URL.Host, Path: req.URL.EscapedPath(),
	})
	if ctx != nil {
		req = req.WithContext(ctx)
	}
	resp, st, err := c.send(req)
	if end != nil {
		out := transport.RequestOutcome{Err: RedactError(err), Duration: time.Since(start)}
		if resp != nil {
			out.Status = resp.StatusCode
		} else if d, ok := tenantsync.Details(err); ok {
			out.Status = d.Status
		}
		if st != nil {
			out.Attempts, out.Retries = st.attempts, st.retries
		}
		end(out)
	}
	return resp, err
}

// send sends req with the retry policy and returns the policy's state with the outcome (nil
// when the request was refused before it was sent).
func (c *Client) send(req *http.Request) (*http.Response, *attemptState, error) {
	ctx := req.Context()
	if !c.schemeAllowed(req.URL) {
		return nil, nil, c.errorFor(ctx, tenantsync.ErrHostNotAllowed, req, 0,
			fmt.Sprintf("refused to send a request to %s", safeURL(req.URL)),
			"only https:// addresses are allowed; check the base URL", nil)
	}
	rctx := ctx
	if req.Body != nil && req.Body != http.NoBody {
		rctx = context.WithValue(ctx, bodyKey, true)
	}
	r := req.Clone(rctx)
	r.Header.Set("User-Agent", withProduct(r.Header.Get("User-Agent"), c.cfg.UserAgent))
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, nil, c.errorFor(ctx, tenantsync.ErrInvalidInput, req, 0, "reading the request body failed",
				"the request body could not be read", err)
		}
		body = b
	}
	r.Body, r.GetBody, r.ContentLength = nil, nil, 0
	rreq, err := retryablehttp.FromRequest(r)
	if err != nil {
		return nil, nil, c.errorFor(ctx, tenantsync.ErrInvalidInput, req, 0, "preparing the request failed", "", err)
	}
	if body != nil {
		if err := rreq.SetBody(body); err != nil {
			return nil, nil, c.errorFor(ctx, tenantsync.ErrInvalidInput, req, 0, "preparing the request body failed", "", err)
		}
	}
	final, _ := ctx.Value(finalKey).(FinalFunc)
	st := &attemptState{c: c, req: r, tenant: callctx.Tenant(ctx), idempotent: idempotent(req), final: final}
	rc := &retryablehttp.Client{
		HTTPClient: c.http,
		// The state machine in attemptState decides when to stop; this only keeps
		// retryablehttp from stopping first (one extra for the 401 token refresh).
		RetryMax:       c.cfg.MaxRetries + 1,
		RequestLogHook: st.before,
		CheckRetry:     st.check,
		Backoff:        st.backoff,
		ErrorHandler:   func(resp *http.Response, err error, _ int) (*http.Response, error) { return resp, err },
	}
	resp, err := rc.Do(rreq)
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		return nil, st, c.mapError(ctx, r, err)
	}
	return resp, st, nil
}

func drain(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4096))
	_ = body.Close()
}

// tokenError carries a token source's failure through net/http untouched.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func (c *Client) mapError(ctx context.Context, req *http.Request, err error) error {
	if ctx.Err() != nil {
		return &callctx.Error{Msg: fmt.Sprintf("%s: %s %s: %v", c.cfg.Service, req.Method, safeURL(req.URL), ctx.Err()), Err: ctx.Err()}
	}
	var te *tokenError
	if errors.As(err, &te) {
		if d, ok := tenantsync.Details(te.err); ok {
			return d
		}
		return c.errorFor(ctx, tenantsync.ErrUnauthorized, req, 0, "acquiring an access token failed",
			"check the connection's client ID, secret and tenant", te.err)
	}
	if d, ok := tenantsync.Details(err); ok {
		if d.Service == "" {
			cp := *d
			cp.Service = c.cfg.Service
			return &cp
		}
		return d
	}
	hint := "the service could not be reached or dropped the connection; check network access to " +
		c.origin.host + " and retry later"
	if isAttemptTimeout(ctx, err) {
		hint = fmt.Sprintf("the service did not answer within %s; retry later, or raise the timeout for slow calls", c.cfg.Timeout)
	}
	return c.errorFor(ctx, tenantsync.ErrUnavailable, req, 0, "request failed", hint, err)
}

// safeError keeps an underlying error reachable for errors.Is/As while its text is redacted.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string    { return e.msg }
func (e *safeError) Unwrap() error    { return e.err }
func (e *safeError) GoString() string { return strconv.Quote(e.msg) }

// RedactError keeps err reachable for errors.Is and errors.As while its text is redacted.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*tenantsync.Error); ok {
		return err
	}
	return &safeError{msg: Redact(err.Error()), err: err}
}

// errorFor builds the package's error: service and tenant from the client and context, the
// request in redacted form, and cause's text redacted.
func (c *Client) errorFor(ctx context.Context, kind error, req *http.Request, status int, msg, hint string, cause error) *tenantsync.Error {
	e := &tenantsync.Error{Class: kind, Service: c.cfg.Service, Tenant: callctx.Tenant(ctx), Status: status, Hint: hint}
	if req != nil {
		e.Op = req.Method + " " + safeURL(req.URL)
	}
	if cause != nil {
		msg = msg + ": " + cause.Error()
		e.Err = RedactError(cause)
	}
	e.Message = Redact(msg)
	return e
}

// safeURL renders u without user info, query or fragment: query strings carry skip tokens,
// signatures and codes that have no place in an error message.
func safeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return Redact(v.String())
}

func isAttemptTimeout(parent context.Context, err error) bool {
	if parent.Err() != nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
