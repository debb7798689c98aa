package graph

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/transport"
)

// Defaults.
const (
	// DefaultBaseURL is Microsoft Graph's global endpoint; national clouds have their own.
	DefaultBaseURL = "https://graph.microsoft.com"
	// DefaultMaxPages bounds one listing: 1,000 pages of 999 users is a million users, far past
	// any customer tenant, so hitting it means a nextLink loop, not a big tenant.
	DefaultMaxPages = 1000
	// graphScope is the only scope an app-only Graph token can ask for.
	graphScope = "https://graph.microsoft.com/.default"
	// maxBatch is Graph's limit of requests in one JSON $batch.
	maxBatch = 20
	service  = "graph"
)

// AuthMode selects the token the client's calls carry.
type AuthMode int

const (
	// AppOnly uses the partner app's own client-credentials token in each customer tenant. The
	// app must be consented in the tenant; its application permissions decide what it may read.
	AppOnly AuthMode = iota
	// PartnerUser redeems the Secure Application Model refresh token of a partner admin for each
	// customer tenant; the partner user's GDAP roles decide what it may read and write.
	PartnerUser
)

// Config configures a Client. PartnerTenantID, ClientID and one credential (ClientSecret or
// Certificates with PrivateKey) are required, unless TokenSource is set.
type Config struct {
	// PartnerTenantID is the partner's own Entra tenant, home of the multi-tenant app.
	PartnerTenantID string
	// ClientID is the partner app's application (client) ID.
	ClientID string
	// ClientSecret is the app's client secret value (not its secret ID). It renders as
	// [REDACTED] everywhere; build it with tenantsync.NewSecret.
	ClientSecret tenantsync.Secret
	// Certificates and PrivateKey authenticate the app with a certificate instead of a secret:
	// the certificate uploaded to the app registration and its RSA private key
	// (tenantsync.NewPrivateKey or tenantsync.ParsePrivateKeyPEM), which renders as [REDACTED].
	Certificates []*x509.Certificate
	PrivateKey   tenantsync.PrivateKey

	// Auth selects app-only tokens (default) or the partner user's SAM tokens.
	Auth AuthMode
	// RefreshToken is the partner admin's SAM refresh token, required when Auth is PartnerUser.
	// Every redemption returns a new one, handed to OnRefreshTokenRotated for the caller to
	// persist; until it returns nil the token source keeps offering the new token for storage.
	RefreshToken          tenantsync.Secret
	OnRefreshTokenRotated func(ctx context.Context, newToken tenantsync.Secret) error
	// TokenSource, when set, replaces the token source built from the credentials above (for a
	// token broker the caller already runs); the credentials are then not needed.
	TokenSource transport.TokenSource

	// Cloud is the Microsoft cloud the partner and its customers live in (entra.CloudByName).
	// When set, BaseURL and AuthorityHost default to the cloud's hosts and must be them, and
	// tokens are asked for the cloud's Graph audience; the zero Cloud keeps the global defaults
	// and accepts any BaseURL (tests against a fake).
	Cloud entra.Cloud
	// BaseURL is Graph's origin (default DefaultBaseURL); the client appends /v1.0. Tokens are
	// sent to this origin only, and nextLinks are followed only on it.
	BaseURL string
	// AuthorityHost is Entra ID's login origin (default entra.DefaultAuthorityHost).
	AuthorityHost string
	// MaxPages bounds the pages of one listing (0: DefaultMaxPages).
	MaxPages int
	// GrantedAt, when set, returns when the roles for a tenant were last granted (zero when
	// unknown); a 403 within two hours of it is reported as role propagation, not a missing role.
	// It is a client setting, not a source one, because every call's 403 is read with it.
	GrantedAt func(tenantID string) time.Time
	// Now replaces time.Now, for consent state expiry and role-propagation windows in tests
	// (default time.Now).
	Now func() time.Time

	// Settings are the HTTP settings. HTTPClient carries every request, token requests
	// included. A nil Budget gives this client its own, and a nil Limits limiters sized from
	// Microsoft's published Graph limits (transport.GraphRules). MaxRetries and MaxRetryAfter
	// apply to throttled $batch items too; NoRetries sends every request and batch once.
	transport.Settings
}

// MailboxMode selects how the mailboxes kind is read.
type MailboxMode int

const (
	// MailboxesPerUser reads mailboxSettings/userPurpose of every user with a mail address,
	// 20 users per $batch: Graph cannot return mailboxSettings in a user collection (501), and
	// userPurpose is the only v1.0 field that tells a shared, room or equipment mailbox apart.
	MailboxesPerUser MailboxMode = iota
	// MailboxesOff reports the mailboxes kind as unsupported, saving the per-user calls.
	MailboxesOff
)

// Client reads and writes customer tenants through Microsoft Graph.
type Client struct {
	cfg    Config
	origin string // scheme://host[:port] of Graph
	root   string // origin + "/v1.0"
	tr     *httpx.Client
	tokens transport.TokenSource
	now    func() time.Time
	// draw and pause are the random source and the sleep of Batch's item retries (tests
	// replace them to see the waits without waiting).
	draw  func(n int64) int64
	pause func(ctx context.Context, d time.Duration) error
}

// NewClient validates cfg and builds a Client. No network call is made; the first token request
// happens on the first call for a tenant.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, tokens: cfg.TokenSource, now: cfg.Now, draw: rand.Int64N, pause: sleep}
	u, _ := url.Parse(cfg.BaseURL)
	c.origin = u.Scheme + "://" + u.Host
	c.root = c.origin + "/v1.0"

	if cfg.Limits == nil {
		// Microsoft's published per app+tenant limits, so one client never outruns them.
		cfg.Limits = transport.NewLimits(transport.GraphRules(u.Host)...)
		c.cfg.Limits = cfg.Limits
	}
	httpClient := countingClient(cfg.HTTPClient)
	if c.tokens == nil {
		ts, err := newTokenSource(cfg, httpClient)
		if err != nil {
			return nil, err
		}
		c.tokens = ts
	}
	if cfg.Budget == nil {
		// Throttled $batch items are retried here, not by the transport: both draw on one budget.
		cfg.Budget = transport.NewBudget(0)
		c.cfg.Budget = cfg.Budget
	}
	settings := cfg.Settings
	settings.HTTPClient = httpClient
	var hosts []string
	if !cfg.Cloud.IsZero() {
		hosts = cfg.Cloud.Hosts()
	}
	tr, err := httpx.New(httpx.Config{Service: service, BaseURL: c.origin, Tokens: c.tokens, Hosts: hosts, Settings: settings})
	if err != nil {
		return nil, err
	}
	c.tr = tr
	return c, nil
}

func invalidConfig(hint, format string, args ...any) error {
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
	e.Service = service
	e.Op = "NewClient"
	return e
}

func (cfg *Config) normalize() error {
	cfg.PartnerTenantID = strings.TrimSpace(cfg.PartnerTenantID)
	cfg.ClientID = strings.TrimSpace(cfg.ClientID)
	switch {
	case cfg.PartnerTenantID == "":
		return invalidConfig("set PartnerTenantID to the partner's Entra tenant ID (a GUID) or its primary domain", "no partner tenant ID")
	case strings.EqualFold(cfg.PartnerTenantID, "common") || strings.EqualFold(cfg.PartnerTenantID, "organizations") || strings.EqualFold(cfg.PartnerTenantID, "consumers"):
		return invalidConfig("set PartnerTenantID to the partner's own tenant ID, not a multi-tenant alias", "partner tenant %q is not a specific tenant", cfg.PartnerTenantID)
	case cfg.ClientID == "":
		return invalidConfig("set ClientID to the partner app's Application (client) ID from its app registration", "no client ID")
	case !ids.IsGUID(cfg.ClientID):
		return invalidConfig("the Application (client) ID is a GUID such as 00000000-0000-0000-0000-000000000000", "client ID %q is not a GUID", cfg.ClientID)
	}
	hasCert := len(cfg.Certificates) > 0 || !cfg.PrivateKey.IsZero()
	switch {
	case cfg.TokenSource != nil:
		// The caller's token source stands in for every credential.
	case cfg.ClientSecret.IsZero() && !hasCert:
		return invalidConfig("set ClientSecret (the secret's Value, not its Secret ID) or Certificates and PrivateKey", "no client credential")
	case !cfg.ClientSecret.IsZero() && hasCert:
		return invalidConfig("set either ClientSecret or a certificate, not both", "two client credentials")
	case hasCert && (len(cfg.Certificates) == 0 || cfg.PrivateKey.IsZero()):
		return invalidConfig("a certificate credential needs both Certificates and the PrivateKey", "incomplete certificate credential")
	case ids.IsGUID(cfg.ClientSecret.Reveal()):
		return invalidConfig("ClientSecret holds a GUID, which is the secret's ID; copy the secret's Value instead", "client secret looks like a secret ID")
	}
	if cfg.Auth == PartnerUser && cfg.RefreshToken.IsZero() && cfg.TokenSource == nil {
		return invalidConfig("PartnerUser auth redeems the partner admin's SAM refresh token: set RefreshToken", "no refresh token")
	}
	if cfg.Auth != AppOnly && cfg.Auth != PartnerUser {
		return invalidConfig("use graph.AppOnly or graph.PartnerUser", "unknown auth mode %d", cfg.Auth)
	}
	var err error
	baseDefault, authorityDefault := DefaultBaseURL, entra.DefaultAuthorityHost
	if !cfg.Cloud.IsZero() {
		baseDefault, authorityDefault = cfg.Cloud.GraphURL, cfg.Cloud.AuthorityHost
	}
	if cfg.BaseURL, err = originOf(cfg.BaseURL, baseDefault, "BaseURL", cfg.AllowInsecureHTTP); err != nil {
		return err
	}
	if cfg.AuthorityHost, err = originOf(cfg.AuthorityHost, authorityDefault, "AuthorityHost", false); err != nil {
		return err
	}
	if err := cfg.Cloud.CheckHost(service, "BaseURL", cfg.BaseURL, cfg.Cloud.GraphURL); err != nil {
		return err
	}
	if err := cfg.Cloud.CheckHost(service, "AuthorityHost", cfg.AuthorityHost, cfg.Cloud.AuthorityHost); err != nil {
		return err
	}
	switch {
	case cfg.MaxPages < 0:
		return invalidConfig("set MaxPages to a positive page count, or 0 for DefaultMaxPages", "MaxPages %d is negative", cfg.MaxPages)
	case cfg.MaxRetries < 0 && cfg.MaxRetries != transport.NoRetries:
		return invalidConfig("set MaxRetries to a positive count, 0 for the default, or transport.NoRetries to send each request once",
			"MaxRetries %d is negative", cfg.MaxRetries)
	case cfg.MaxRetryAfter < 0:
		return invalidConfig("set MaxRetryAfter to a positive duration, or 0 for the default of 5m", "MaxRetryAfter %v is negative", cfg.MaxRetryAfter)
	}
	if cfg.MaxPages == 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = transport.DefaultMaxRetries
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = transport.DefaultMaxRetryAfter
	}
	// Throttled $batch items are retried by the client with the same backoff as the stack's.
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = transport.DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = transport.DefaultMaxBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// originOf checks an https origin and strips any path ("https://graph.microsoft.com/v1.0" is
// accepted as "https://graph.microsoft.com").
func originOf(raw, def, field string, allowHTTP bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return def, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", invalidConfig(fmt.Sprintf("set %s to an origin such as %s", field, def), "%s %q is not an absolute URL", field, raw)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !allowHTTP) {
		return "", invalidConfig(fmt.Sprintf("%s must use https", field), "%s %q is not https", field, raw)
	}
	if u.User != nil {
		return "", invalidConfig(fmt.Sprintf("remove the credentials from %s", field), "%s carries user info", field)
	}
	return u.Scheme + "://" + u.Host, nil
}

// roundTrips counts the HTTP attempts (token requests and retries included) made under a
// context, so Fetch can report its cost.
type roundTrips struct{ n atomic.Int64 }

type countKey struct{}

func withCounter(ctx context.Context) (context.Context, *roundTrips) {
	rt := &roundTrips{}
	return context.WithValue(ctx, countKey{}, rt), rt
}

type countingTransport struct{ next http.RoundTripper }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt, ok := r.Context().Value(countKey{}).(*roundTrips); ok {
		rt.n.Add(1)
	}
	return t.next.RoundTrip(r)
}

// countingClient wraps a client so attempts made under withCounter are counted.
func countingClient(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	c.Transport = countingTransport{next: next}
	return &c
}

// Tenant IDs from callers go into paths and token authorities; refuse anything that could
// change either.
func checkTenant(op, tenant string) error {
	if tenant == "" || strings.ContainsAny(tenant, "/?#%\\ ") || strings.EqualFold(tenant, "common") ||
		strings.EqualFold(tenant, "organizations") || strings.EqualFold(tenant, "consumers") {
		e := tenantsync.Errorf(tenantsync.ErrInvalidInput, "pass the customer's Entra tenant ID (a GUID) or its initial domain", "%q is not a customer tenant", tenant)
		e.Service, e.Op = service, op
		return e
	}
	return nil
}

// TokenSource returns the client's per-tenant token source, for graph/msgraphsdk.
func (c *Client) TokenSource() transport.TokenSource { return c.tokens }

// BaseURL returns the Graph origin the client was configured for.
func (c *Client) BaseURL() string { return c.origin }

// Transport returns the client's HTTP stack (rate limits, retry budget, redaction), so
// graph/msgraphsdk sends the official SDK's requests through the same one.
func (c *Client) Transport() *httpx.Client { return c.tr }
