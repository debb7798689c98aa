package entra

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/callctx"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

// DefaultAuthorityHost is Entra ID's public-cloud login host.
const DefaultAuthorityHost = "https://login.microsoftonline.com"

const (
	// expiryMargin is how long before expiry a cached token is replaced; MSAL uses the same
	// 5 minutes, so a token handed out always outlives a slow request.
	expiryMargin = 5 * time.Minute
	// tokenTimeout bounds one token request; MSAL applies 30 s when the context has no deadline.
	tokenTimeout = 30 * time.Second
	// maxTokenBody bounds a token endpoint's answer.
	maxTokenBody = 1 << 20
)

// microsoftHosts are the Entra ID authority hosts MSAL's instance discovery knows; any other
// host (a test fake, a sovereign proxy) gets instance discovery turned off.
var microsoftHosts = map[string]bool{
	"login.microsoftonline.com": true, "login.microsoft.com": true, "login.windows.net": true,
	"sts.windows.net": true, "login.microsoftonline.us": true, "login.usgovcloudapi.net": true,
	"login.chinacloudapi.cn": true, "login.partner.microsoftonline.cn": true, "login.microsoftonline.de": true,
}

// Config configures an Entra ID token source.
type Config struct {
	// AuthorityHost is the login host (default https://login.microsoftonline.com); tests pass
	// the fake's URL. It must use https (MSAL refuses anything else).
	AuthorityHost string
	// TenantID is the app's home tenant: the partner tenant, or the tenant CIPP runs in.
	TenantID string
	// ClientID is the app registration's Application (client) ID.
	ClientID string
	// Secret is the client secret's value. Alternatively set Certificates and Key: the
	// certificate uploaded to the app registration and its RSA private key
	// (tenantsync.NewPrivateKey or tenantsync.ParsePrivateKeyPEM), which renders as [REDACTED].
	Secret       tenantsync.Secret
	Certificates []*x509.Certificate
	Key          tenantsync.PrivateKey
	// Scope is the one resource scope requested, e.g. "https://graph.microsoft.com/.default"
	// or "api://<clientId>/.default".
	Scope string
	// HTTPClient carries the token requests (TLS trust for a fake). Default: a client with the
	// package's default transport.
	HTTPClient *http.Client
	// Service names the token source in errors (default "entra").
	Service string
}

func (cfg *Config) validate(op string) (*url.URL, error) {
	if cfg.Service == "" {
		cfg.Service = "entra"
	}
	invalid := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: cfg.Service, Op: op, Message: msg, Hint: hint}
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	u, err := url.Parse(strings.TrimRight(cfg.AuthorityHost, "/"))
	switch {
	case err != nil || u.Host == "":
		return nil, invalid("the authority host is not a URL", "use https://login.microsoftonline.com, or leave it empty")
	case u.Scheme != "https":
		return nil, invalid("the authority host does not use https", "Entra ID is reached only over https")
	case strings.TrimSpace(cfg.TenantID) == "":
		return nil, invalid("the tenant ID is empty", "enter the Directory (tenant) ID of the tenant the app is registered in")
	case strings.ContainsAny(cfg.TenantID, "/?#% "):
		return nil, invalid("the tenant ID is malformed", "enter the Directory (tenant) ID as a GUID or a domain such as contoso.onmicrosoft.com")
	case strings.TrimSpace(cfg.ClientID) == "":
		return nil, invalid("the client ID is empty", "enter the app registration's Application (client) ID")
	case strings.TrimSpace(cfg.Scope) == "":
		return nil, invalid("the scope is empty", "request one resource's .default scope, e.g. https://graph.microsoft.com/.default")
	case cfg.Secret.IsZero() && (len(cfg.Certificates) == 0 || cfg.Key.IsZero()):
		return nil, invalid("neither a client secret nor a certificate and key is set",
			"create a client secret under Certificates & secrets in the app registration and enter its value")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: httpx.DefaultTransport()}
	}
	cfg.HTTPClient = httpx.NoCrossOriginRedirects(cfg.HTTPClient, cfg.Service)
	return u, nil
}

// cachedToken is a token and the time it stops being handed out. The access token is a Secret
// so the cache, a map that fmt prints at any depth, never renders it.
type cachedToken struct {
	access    tenantsync.Secret
	tokenType string
	expiry    time.Time
	refreshAt time.Time
}

func newCached(tok *oauth2.Token, now time.Time) cachedToken {
	margin := expiryMargin
	if life := tok.Expiry.Sub(now); life < 2*margin {
		margin = life / 2
	}
	return cachedToken{access: tenantsync.NewSecret(tok.AccessToken), tokenType: tok.TokenType, expiry: tok.Expiry,
		refreshAt: tok.Expiry.Add(-margin)}
}

// token returns a fresh copy for a caller, who may change it.
func (ct cachedToken) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: ct.access.Reveal(), TokenType: ct.tokenType, Expiry: ct.expiry}
}

// tokenCache is a per-tenant access-token cache with single-flight acquisition.
type tokenCache struct {
	mu     sync.Mutex
	tokens map[string]cachedToken
	// gen counts invalidations per tenant: an acquisition that started before an
	// invalidation may return the rejected token, so it is neither stored nor shared with
	// callers who arrive after the invalidation.
	gen map[string]uint64
	sf  singleflight.Group
}

func (c *tokenCache) get(tenant string, now time.Time) *oauth2.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ct, ok := c.tokens[tenant]; ok && now.Before(ct.refreshAt) {
		return ct.token()
	}
	return nil
}

func (c *tokenCache) generation(tenant string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[tenant]
}

func (c *tokenCache) put(tenant string, gen uint64, tok *oauth2.Token, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[tenant] != gen {
		return
	}
	if c.tokens == nil {
		c.tokens = map[string]cachedToken{}
	}
	c.tokens[tenant] = newCached(tok, now)
}

func (c *tokenCache) drop(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tokens, tenant)
	if c.gen == nil {
		c.gen = map[string]uint64{}
	}
	c.gen[tenant]++
}

// fetch returns the cached token or runs acquire once for all concurrent callers of one
// tenant. acquire gets a context detached from any one caller's cancellation, so a caller
// who gives up does not fail the others; each caller still stops waiting when its own ctx ends.
func (c *tokenCache) fetch(ctx context.Context, tenant string, acquire func(context.Context) (*oauth2.Token, error)) (*oauth2.Token, error) {
	if tok := c.get(tenant, time.Now()); tok != nil {
		return tok, nil
	}
	gen := c.generation(tenant)
	ch := c.sf.DoChan(tenant+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		if tok := c.get(tenant, time.Now()); tok != nil {
			return tok, nil
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenTimeout)
		defer cancel()
		tok, err := acquire(actx)
		if err != nil {
			return nil, err
		}
		c.put(tenant, gen, tok, time.Now())
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return nil, &callctx.Error{Msg: fmt.Sprintf("waiting for an access token for tenant %q: %v", tenant, ctx.Err()), Err: ctx.Err()}
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		cp := *res.Val.(*oauth2.Token)
		return &cp, nil
	}
}

// ClientCredentials issues app-only tokens (the client credentials grant) through MSAL for
// Go: one confidential client for the app's home authority, tokens per customer tenant with
// WithTenantID, cached per tenant and replaced 5 minutes before expiry. MSAL's OpenID
// configuration request for each customer tenant is answered from the login host's first answer
// when that answer is the login host's own URLs under the tenant's path, so a tenant's first
// token costs one round trip rather than two. It implements transport.TokenSource and
// transport.TokenInvalidator and is safe for concurrent use.
type ClientCredentials struct {
	cfg   Config
	opts  []confidential.Option
	cache tokenCache
	// discovery answers MSAL's per-tenant OpenID configuration requests from the login host's
	// first answer; it outlives the MSAL client that Invalidate replaces.
	discovery *openIDTemplate

	mu  sync.Mutex
	app *confidential.Client // replaced after Invalidate, dropping MSAL's own cache
}

var (
	_ transport.TokenSource      = (*ClientCredentials)(nil)
	_ transport.TokenInvalidator = (*ClientCredentials)(nil)
)

// NewClientCredentials validates cfg and builds the token source. No request is made until
// the first Token call.
func NewClientCredentials(cfg Config) (*ClientCredentials, error) {
	u, err := cfg.validate("NewClientCredentials")
	if err != nil {
		return nil, err
	}
	discovery := newOpenIDTemplate(cfg.HTTPClient.Transport, u.Host)
	hc := *cfg.HTTPClient
	hc.Transport = discovery
	opts := []confidential.Option{
		confidential.WithHTTPClient(&hc),
		// MSAL otherwise reads MSAL_FORCE_REGION from the environment; library code must not.
		confidential.WithAzureRegion("DisableMsalForceRegion"),
	}
	if !microsoftHosts[strings.ToLower(u.Hostname())] {
		opts = append(opts, confidential.WithInstanceDiscovery(false))
	}
	cc := &ClientCredentials{cfg: cfg, opts: opts, discovery: discovery}
	if _, err := cc.client(); err != nil {
		return nil, err
	}
	return cc, nil
}

func (cc *ClientCredentials) client() (*confidential.Client, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.app != nil {
		return cc.app, nil
	}
	// The credential is rebuilt from the Secret or the PrivateKey each time rather than kept:
	// MSAL's Credential is a struct holding the secret in a plain string field and the key in
	// an interface field, which fmt and encoding/json would print.
	var cred confidential.Credential
	var err error
	if !cc.cfg.Secret.IsZero() {
		cred, err = confidential.NewCredFromSecret(cc.cfg.Secret.Reveal())
	} else {
		cred, err = confidential.NewCredFromCert(cc.cfg.Certificates, cc.cfg.Key.Signer())
	}
	if err != nil {
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: cc.cfg.Service, Op: "NewClientCredentials",
			Message: httpx.Redact(err.Error()), Hint: "check the client secret or the certificate and its private key"}
	}
	authority := strings.TrimRight(cc.cfg.AuthorityHost, "/") + "/" + cc.cfg.TenantID
	app, err := confidential.New(authority, cc.cfg.ClientID, cred, cc.opts...)
	if err != nil {
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: cc.cfg.Service, Op: "NewClientCredentials",
			Message: httpx.Redact(err.Error()), Hint: "check the authority host and the tenant ID"}
	}
	cc.app = &app
	return cc.app, nil
}

// Token returns an access token for tenant ("" for the app's home tenant).
func (cc *ClientCredentials) Token(ctx context.Context, tenant string) (*oauth2.Token, error) {
	return cc.cache.fetch(ctx, tenant, func(ctx context.Context) (*oauth2.Token, error) {
		app, err := cc.client()
		if err != nil {
			return nil, err
		}
		var opts []confidential.AcquireByCredentialOption
		if tenant != "" {
			opts = append(opts, confidential.WithTenantID(tenant))
		}
		res, err := app.AcquireTokenByCredential(ctx, []string{cc.cfg.Scope}, opts...)
		if err != nil {
			e := MapError(err, cc.cfg.Service, tenant)
			if e.Code == "AADSTS700016" && (tenant == "" || strings.EqualFold(tenant, cc.cfg.TenantID)) {
				// In the app's own tenant this code means the client ID is wrong, not consent.
				e.Class = tenantsync.ErrUnauthorized
				e.Hint = "no app with this client ID exists in the tenant: copy the Application (client) ID from the app registration's overview"
			}
			return nil, e
		}
		return &oauth2.Token{AccessToken: res.AccessToken, TokenType: "Bearer", Expiry: res.ExpiresOn}, nil
	})
}

// Invalidate forgets tenant's token so the next Token call fetches a new one (after a 401).
func (cc *ClientCredentials) Invalidate(tenant string) {
	cc.cache.drop(tenant)
	// MSAL would hand back its cached copy of the rejected token; a fresh client has none.
	// Other tenants keep their tokens in cc.cache.
	cc.mu.Lock()
	cc.app = nil
	cc.mu.Unlock()
}

// RefreshTokenSource redeems a stored partner-user refresh token (the Secure Application
// Model) for access tokens per tenant. MSAL for Go cannot redeem a stored refresh token, so
// this is a form POST to the v2.0 token endpoint. Entra ID rotates the refresh token on every
// redemption; the new one is handed to onRotate to persist and used from then on.
// Redemptions are serialised so the rotation forms one chain. It implements transport.TokenSource and
// transport.TokenInvalidator and is safe for concurrent use.
type RefreshTokenSource struct {
	cfg   Config
	base  string
	cache tokenCache
	*refreshChain
}

// refreshChain is the rotating refresh token, shared by the sources of every scope
// (ForScope): a refresh token is bound to the user and the app, not to a resource.
type refreshChain struct {
	onRotate func(ctx context.Context, newRefreshToken tenantsync.Secret) error
	sem      chan struct{} // one redemption at a time
	mu       sync.Mutex
	refresh  tenantsync.Secret
	pending  bool // the current refresh token has not been persisted yet
}

var (
	_ transport.TokenSource      = (*RefreshTokenSource)(nil)
	_ transport.TokenInvalidator = (*RefreshTokenSource)(nil)
)

// NewRefreshTokenSource validates cfg and the refresh token. onRotate may be nil only when
// the caller does not persist the token (tests); production callers must store it, or the
// authorization is lost when the process restarts after the old token expires.
func NewRefreshTokenSource(cfg Config, refreshToken tenantsync.Secret, onRotate func(ctx context.Context, newRefreshToken tenantsync.Secret) error) (*RefreshTokenSource, error) {
	u, err := cfg.validate("NewRefreshTokenSource")
	if err != nil {
		return nil, err
	}
	if refreshToken.IsZero() {
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: cfg.Service, Op: "NewRefreshTokenSource",
			Message: "the refresh token is empty", Hint: "authorize the connection by signing in as a partner admin"}
	}
	if cfg.Secret.IsZero() {
		if _, err := clientAssertion(cfg.Certificates, cfg.Key.Signer(), cfg.ClientID, "check", time.Now()); err != nil {
			return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: cfg.Service, Op: "NewRefreshTokenSource",
				Message: err.Error(), Hint: "use the certificate's RSA private key, or a client secret"}
		}
	}
	return &RefreshTokenSource{cfg: cfg, base: u.String(),
		refreshChain: &refreshChain{onRotate: onRotate, refresh: refreshToken, sem: make(chan struct{}, 1)}}, nil
}

// ForScope returns a source for another resource (e.g. Graph next to Partner Center) that
// shares this one's refresh token: one rotation chain, one onRotate, redemptions serialised
// across both, and its own access-token cache. Two sources built separately from the same
// stored token would each rotate it and persist diverging tokens.
func (rs *RefreshTokenSource) ForScope(scope string) (*RefreshTokenSource, error) {
	if strings.TrimSpace(scope) == "" {
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: rs.cfg.Service, Op: "ForScope",
			Message: "the scope is empty", Hint: "request one resource's scope, e.g. https://graph.microsoft.com/.default"}
	}
	cfg := rs.cfg
	cfg.Scope = scope
	return &RefreshTokenSource{cfg: cfg, base: rs.base, refreshChain: rs.refreshChain}, nil
}

// Token returns an access token for tenant ("" for the app's home tenant).
func (rs *RefreshTokenSource) Token(ctx context.Context, tenant string) (*oauth2.Token, error) {
	if err := rs.persistPending(ctx); err != nil {
		return nil, err
	}
	return rs.cache.fetch(ctx, tenant, func(ctx context.Context) (*oauth2.Token, error) {
		return rs.redeem(ctx, tenant)
	})
}

// Invalidate forgets tenant's access token so the next Token call redeems again.
func (rs *RefreshTokenSource) Invalidate(tenant string) { rs.cache.drop(tenant) }

// RefreshToken returns the current (latest rotated) refresh token.
func (rs *RefreshTokenSource) RefreshToken() tenantsync.Secret {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.refresh
}

func (rs *RefreshTokenSource) persistPending(ctx context.Context) error {
	rs.mu.Lock()
	pending, rt := rs.pending, rs.refresh
	rs.mu.Unlock()
	if !pending || rs.onRotate == nil {
		return nil
	}
	return rs.persist(ctx, rt)
}

func (rs *RefreshTokenSource) persist(ctx context.Context, rt tenantsync.Secret) error {
	if err := rs.onRotate(ctx, rt); err != nil {
		return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: rs.cfg.Service, Op: "store rotated refresh token",
			Message: httpx.Redact(err.Error()), Err: httpx.RedactError(err),
			Hint: "the renewed authorization could not be saved; check the store, then retry (it is kept in memory until then)"}
	}
	rs.mu.Lock()
	if rs.refresh.Equal(rt) {
		rs.pending = false
	}
	rs.mu.Unlock()
	return nil
}

type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"` // a number, or a string on the v1 endpoint
}

func (rs *RefreshTokenSource) redeem(ctx context.Context, tenant string) (*oauth2.Token, error) {
	select {
	case rs.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &callctx.Error{Msg: "waiting to redeem the refresh token: " + ctx.Err().Error(), Err: ctx.Err()}
	}
	defer func() { <-rs.sem }()

	if tenant == "" {
		tenant = rs.cfg.TenantID
	}
	rt := rs.RefreshToken()
	endpoint := rs.base + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	form := url.Values{
		"client_id":     {rs.cfg.ClientID},
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt.Reveal()},
		"scope":         {rs.cfg.Scope},
	}
	if !rs.cfg.Secret.IsZero() {
		form.Set("client_secret", rs.cfg.Secret.Reveal())
	} else {
		assertion, err := clientAssertion(rs.cfg.Certificates, rs.cfg.Key.Signer(), rs.cfg.ClientID, endpoint, time.Now())
		if err != nil {
			return nil, MapError(err, rs.cfg.Service, tenant)
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", assertion)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, MapError(err, rs.cfg.Service, tenant)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := rs.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, MapError(err, rs.cfg.Service, tenant)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, MapError(err, rs.cfg.Service, tenant)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, MapError(&ResponseError{StatusCode: resp.StatusCode, Body: body}, rs.cfg.Service, tenant)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return nil, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: rs.cfg.Service, Op: "redeem refresh token",
			Tenant: tenant, Status: resp.StatusCode, Message: "the token endpoint's answer has no access token",
			Hint: "check the authority host; retry later"}
	}
	secs, _ := strconv.ParseInt(strings.Trim(string(tr.ExpiresIn), `"`), 10, 64)
	switch {
	case secs <= 0:
		secs = 3600
	case secs > maxTokenLifetime:
		// A lifetime past what Entra ID issues (60-90 minutes, at most a day) is a broken or
		// hostile answer; taken as given it overflows time.Duration into the past, and every
		// call would redeem, and perhaps rotate, the refresh token again.
		secs = maxTokenLifetime
	}
	if tr.RefreshToken != "" && tr.RefreshToken != rt.Reveal() {
		newRT := tenantsync.NewSecret(tr.RefreshToken)
		rs.mu.Lock()
		rs.refresh, rs.pending = newRT, true
		rs.mu.Unlock()
		if rs.onRotate != nil {
			if err := rs.persist(ctx, newRT); err != nil {
				return nil, err
			}
		} else {
			rs.mu.Lock()
			rs.pending = false
			rs.mu.Unlock()
		}
	}
	return &oauth2.Token{AccessToken: tr.AccessToken, TokenType: "Bearer",
		Expiry: time.Now().Add(time.Duration(secs) * time.Second)}, nil
}

// maxTokenLifetime is the longest lifetime, in seconds, an access token is trusted for,
// whatever its answer's expires_in says.
const maxTokenLifetime = 24 * 60 * 60

// ResponseError is a token endpoint's non-200 answer, for MapError.
type ResponseError struct {
	StatusCode int
	Body       []byte
}

// Error gives the status and the redacted body: AADSTS bodies can echo request parameters.
func (e *ResponseError) Error() string {
	return httpx.Redact(fmt.Sprintf("token endpoint answered %d: %s", e.StatusCode, e.Body))
}

// entraErrorBody is the token endpoint's error JSON (reference §1.4).
type entraErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// Hints for Entra ID failures, in the words of the person fixing them.
const (
	hintConsent = "an admin of the customer tenant must consent to the app: use the admin-consent link or the " +
		"Partner Center consent call"
	hintPreConsent = "the app is not present or not authorized in this tenant: pre-consent it for the customer " +
		"through Partner Center (applicationconsents) or CIPP, then wait a few minutes and retry"
	hintBadSecret     = "the client secret is wrong: copy the secret value, not its ID"
	hintExpiredSecret = "the client secret has expired: create a new secret in the app registration and update the connection"
	hintBadCert       = "the certificate was not accepted: upload the certificate to the app registration and check the key matches it"
	hintTenant        = "the tenant ID was not found: check the customer's tenant ID (the tenant may have been deleted)"
	hintReauthorize   = "re-authorize: sign in again as a partner admin to obtain a new refresh token"
	hintRedirect      = "the redirect URI does not match: register the exact redirect URI in the app registration"
	hintMFA           = "a Conditional Access or MFA policy requires interaction: sign in again as the partner admin with MFA " +
		"(re-authorize), and check the customer's Conditional Access policies for partner access"
	hintCABlocked = "a Conditional Access policy blocks this sign-in (for example it requires a compliant device): " +
		"exclude the partner service account or app from that policy, or adjust the policy"
	hintDelegatedBlocked = "Entra ID blocked delegated admin access because of risk on the partner account: review the " +
		"account's sign-in risk in the partner tenant"
	hintScope       = "the requested scope is not valid: request one resource's .default scope"
	hintThrottled   = "too many token requests: wait a minute; tokens are cached, so this points at many processes sharing one app"
	hintUnavailable = "Entra ID is temporarily unavailable; retry in a few minutes"
	hintClient      = "the app's credentials were refused: check the client ID, the secret value and that it has not expired"
	hintRequest     = "the token request was rejected: check the tenant ID, client ID and scope"
	hintUnreachable = "the Entra ID token endpoint could not be reached; check network access to the login host and retry"
)

// MapError turns a token failure (MSAL's errors.CallErr, an *ResponseError, a
// network error) into a *tenantsync.Error: the AADSTS code as Code, trace_id as RequestID,
// the kind and the hint by code, then by the OAuth error value.
func MapError(err error, service, tenant string) *tenantsync.Error {
	if service == "" {
		service = "entra"
	}
	if err == nil {
		return nil
	}
	var te *tenantsync.Error
	if errors.As(err, &te) {
		return te
	}
	e := &tenantsync.Error{Service: service, Op: "acquire token", Tenant: tenant, Err: httpx.RedactError(err)}
	var status int
	var body []byte
	var ce *callErr
	var re *ResponseError
	switch {
	case errors.As(err, &re):
		status, body = re.StatusCode, re.Body
	case asCallErr(err, &ce):
		status, body = ce.status, ce.body
	}
	e.Status = status
	var eb entraErrorBody
	if i := strings.IndexByte(string(body), '{'); i >= 0 {
		_ = json.NewDecoder(strings.NewReader(string(body[i:]))).Decode(&eb)
	}
	if eb.Error == "" && len(eb.Codes) == 0 {
		e.Message = httpx.Redact(err.Error())
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			e.Class, e.Hint = tenantsync.ErrUnavailable, "the token request was cancelled or timed out; retry"
		case status == http.StatusTooManyRequests:
			e.Class, e.Hint = tenantsync.ErrThrottled, hintThrottled
		case status >= 500 || status == 0:
			e.Class, e.Hint = tenantsync.ErrUnavailable, hintUnreachable
			if status >= 500 {
				e.Hint = hintUnavailable
			}
		default:
			e.Class, e.Hint = tenantsync.ErrUnauthorized, hintClient
		}
		return e
	}
	e.RequestID = httpx.Redact(eb.TraceID)
	desc := eb.Description
	if i := strings.Index(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	} else if i := strings.Index(desc, "\n"); i >= 0 {
		desc = desc[:i]
	}
	e.Message = httpx.Redact(strings.TrimSpace(desc))
	if e.Message == "" {
		e.Message = eb.Error
	}
	code := 0
	if len(eb.Codes) > 0 {
		code = eb.Codes[0]
	} else if strings.HasPrefix(desc, "AADSTS") {
		n := strings.IndexFunc(desc[6:], func(r rune) bool { return r < '0' || r > '9' })
		if n < 0 {
			n = len(desc) - 6
		}
		code, _ = strconv.Atoi(desc[6 : 6+n])
	}
	if code != 0 {
		e.Code = "AADSTS" + strconv.Itoa(code)
	} else {
		e.Code = eb.Error
	}
	e.Hint, e.Class = entraKind(code, eb.Error, status)
	return e
}

func entraKind(code int, oauthErr string, status int) (hint string, kind error) {
	switch code {
	case 65001, 65004, 500011, 650052, 650057:
		return hintConsent, tenantsync.ErrConsentRequired
	case 700016, 90099:
		return hintPreConsent, tenantsync.ErrConsentRequired
	case 7000215:
		return hintBadSecret, tenantsync.ErrUnauthorized
	case 7000222:
		return hintExpiredSecret, tenantsync.ErrUnauthorized
	case 700027:
		return hintBadCert, tenantsync.ErrUnauthorized
	case 90002:
		return hintTenant, tenantsync.ErrTenantNotFound
	case 700082, 70008, 50173:
		return hintReauthorize, tenantsync.ErrAuthorizationRevoked
	case 50011:
		return hintRedirect, tenantsync.ErrInvalidInput
	case 50076, 50079:
		return hintMFA, tenantsync.ErrAuthorizationRevoked
	case 53000, 53003, 530003:
		return hintCABlocked, tenantsync.ErrForbidden
	case 530034:
		return hintDelegatedBlocked, tenantsync.ErrForbidden
	case 70011:
		return hintScope, tenantsync.ErrInvalidInput
	case 90055, 50196:
		return hintThrottled, tenantsync.ErrThrottled
	}
	switch oauthErr {
	case "invalid_grant", "interaction_required":
		return hintReauthorize, tenantsync.ErrAuthorizationRevoked
	case "consent_required", "invalid_resource":
		return hintConsent, tenantsync.ErrConsentRequired
	case "unauthorized_client":
		return hintPreConsent, tenantsync.ErrConsentRequired
	case "invalid_client":
		return hintClient, tenantsync.ErrUnauthorized
	case "invalid_scope":
		return hintScope, tenantsync.ErrInvalidInput
	case "temporarily_unavailable":
		return hintUnavailable, tenantsync.ErrUnavailable
	case "invalid_request", "unsupported_grant_type":
		return hintRequest, tenantsync.ErrInvalidInput
	}
	switch {
	case status == http.StatusTooManyRequests:
		return hintThrottled, tenantsync.ErrThrottled
	case status >= 500:
		return hintUnavailable, tenantsync.ErrUnavailable
	}
	return hintClient, tenantsync.ErrUnauthorized
}

// callErr is what MapError needs from MSAL's errors.CallErr: MSAL has already read the
// response body, and keeps it only in the error text after the status line.
type callErr struct {
	status int
	body   []byte
}

func asCallErr(err error, out **callErr) bool {
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		var pce *msalerrors.CallErr
		if !errors.As(err, &pce) || pce == nil {
			return false
		}
		ce = *pce
	}
	c := &callErr{}
	if ce.Resp != nil {
		c.status = ce.Resp.StatusCode
	}
	if ce.Err != nil {
		c.body = []byte(ce.Err.Error())
	}
	*out = c
	return true
}
