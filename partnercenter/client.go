package partnercenter

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/transport"
)

// Service names this package in errors.
const Service = "partnercenter"

// Default endpoints.
const (
	DefaultPartnerCenterURL = "https://api.partnercenter.microsoft.com"
	DefaultGraphURL         = "https://graph.microsoft.com"
)

// Page size limits: Partner Center's SDK validates 1..500 for customers; Graph documents $top up
// to 300 for delegatedAdminRelationships.
const (
	MaxCustomerPageSize     = 500
	MaxRelationshipPageSize = 300
	defaultMaxPages         = 1000
)

// Config configures a Client. Tokens come either from PartnerCenterTokens and GraphTokens, or
// from the partner admin's Secure Application Model refresh token (ClientID, ClientSecret or a
// certificate, and RefreshToken), which builds both. Partner Center tokens enable customer calls
// and consent; Graph tokens enable GDAP relationships.
type Config struct {
	// PartnerTenantID is the partner's own Entra tenant; GDAP relationships are read with a
	// Graph token issued for it. Required with GraphTokens.
	PartnerTenantID string
	// PartnerCenterTokens yields tokens with audience https://api.partnercenter.microsoft.com,
	// asked for tenant "". Most calls, consent included, need an App+User (Secure Application
	// Model) token.
	PartnerCenterTokens transport.TokenSource
	// GraphTokens yields Microsoft Graph tokens for the partner tenant, asked for
	// PartnerTenantID, delegated through the partner user (DelegatedAdminRelationship.Read.All).
	GraphTokens transport.TokenSource
	// ClientID is the partner app's application (client) ID; ClientSecret its secret value, or
	// Certificates and PrivateKey its certificate (the key renders as [REDACTED]; build it with
	// tenantsync.NewPrivateKey or tenantsync.ParsePrivateKeyPEM). RefreshToken is the partner admin's SAM
	// refresh token; every redemption rotates it and hands the new one to
	// OnRefreshTokenRotated, which must store it. AuthorityHost defaults to
	// entra.DefaultAuthorityHost.
	ClientID              string
	ClientSecret          tenantsync.Secret
	Certificates          []*x509.Certificate
	PrivateKey            tenantsync.PrivateKey
	RefreshToken          tenantsync.Secret
	OnRefreshTokenRotated func(ctx context.Context, newToken tenantsync.Secret) error
	AuthorityHost         string
	// PartnerCenterURL and GraphURL default to the public cloud endpoints.
	PartnerCenterURL string
	GraphURL         string
	// Cloud is the Microsoft cloud the partner lives in (entra.CloudByName). When set, the
	// authority, Partner Center and Graph hosts default to the cloud's and must be them, tokens
	// are asked for the cloud's audiences, and GDAP relationships are not read where the cloud
	// does not offer them (they fail with ErrUnsupported and the reason). The zero Cloud keeps
	// the global defaults and accepts any URL (tests against a fake).
	Cloud entra.Cloud
	// CustomerPageSize is the size of a customers page, 1..500 (default 500).
	CustomerPageSize int
	// RelationshipPageSize is $top for relationships, 1..300 (default 300).
	RelationshipPageSize int
	// MaxPages bounds every listing (default 1000); reaching it is an ErrLimitExceeded error,
	// which protects against a service that keeps returning a next link.
	MaxPages int
	// Now replaces time.Now for expiry and propagation windows (tests, replay; default
	// time.Now).
	Now func() time.Time
	// Settings are the HTTP settings of both the Partner Center and the Graph (GDAP) calls,
	// token requests included (HTTPClient). A Retry-After longer than MaxRetryAfter fails at
	// once with ErrThrottled and the wait.
	transport.Settings
}

// Client talks to Partner Center (customers, consent) and to Graph's GDAP endpoints in the
// partner tenant. It is safe for concurrent use.
type Client struct {
	cfg       Config
	pc        *httpx.Client
	graph     *httpx.Client
	pcBase    *url.URL
	graphBase *url.URL
	now       func() time.Time
}

// NewClient validates cfg and builds a Client.
func NewClient(cfg Config) (*Client, error) {
	c := &Client{}
	if err := c.applyDefaults(&cfg); err != nil {
		return nil, err
	}
	c.cfg = cfg
	c.now = cfg.Now
	var err error
	if cfg.PartnerCenterTokens != nil {
		if c.pcBase, c.pc, err = c.newTransport(cfg, "PartnerCenterURL", cfg.PartnerCenterURL, cfg.PartnerCenterTokens); err != nil {
			return nil, err
		}
	}
	if cfg.GraphTokens != nil {
		if c.graphBase, c.graph, err = c.newTransport(cfg, "GraphURL", cfg.GraphURL, cfg.GraphTokens); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func invalidConfig(hint, format string, args ...any) error {
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
	e.Service = Service
	e.Op = "NewClient"
	return e
}

func (c *Client) applyDefaults(cfg *Config) error {
	if !cfg.Cloud.IsZero() {
		if cfg.AuthorityHost == "" {
			cfg.AuthorityHost = cfg.Cloud.AuthorityHost
		}
		if cfg.PartnerCenterURL == "" {
			cfg.PartnerCenterURL = cfg.Cloud.PartnerCenterURL
		}
		if cfg.GraphURL == "" {
			cfg.GraphURL = cfg.Cloud.GraphURL
		}
		for _, f := range [][3]string{{"AuthorityHost", cfg.AuthorityHost, cfg.Cloud.AuthorityHost},
			{"PartnerCenterURL", cfg.PartnerCenterURL, cfg.Cloud.PartnerCenterURL}, {"GraphURL", cfg.GraphURL, cfg.Cloud.GraphURL}} {
			if err := cfg.Cloud.CheckHost(Service, f[0], strings.TrimRight(f[1], "/"), f[2]); err != nil {
				return err
			}
		}
		if ok, _ := cfg.Cloud.Offers(entra.ServiceGDAP); !ok {
			// Graph in this cloud has no GDAP relationships to read; a token source for them
			// would only ever be refused.
			cfg.GraphTokens = nil
		}
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = entra.DefaultAuthorityHost
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := samTokenSources(cfg); err != nil {
		return err
	}
	if cfg.PartnerCenterTokens == nil && cfg.GraphTokens == nil {
		return invalidConfig("set ClientID, ClientSecret and RefreshToken (the partner admin's SAM token), or "+
			"PartnerCenterTokens (customers, consent) and/or GraphTokens (GDAP relationships)",
			"no token source configured")
	}
	if cfg.GraphTokens != nil {
		if cfg.PartnerTenantID == "" {
			return invalidConfig("set PartnerTenantID to your partner tenant's ID (GUID); GDAP relationships are read there",
				"GraphTokens set without PartnerTenantID")
		}
		if !ids.IsGUID(cfg.PartnerTenantID) {
			return invalidConfig("PartnerTenantID must be the partner tenant's GUID, as shown in Entra ID > Overview",
				"PartnerTenantID %q is not a GUID", cfg.PartnerTenantID)
		}
	}
	if cfg.PartnerCenterURL == "" {
		cfg.PartnerCenterURL = DefaultPartnerCenterURL
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	if err := pageSize("CustomerPageSize", &cfg.CustomerPageSize, MaxCustomerPageSize); err != nil {
		return err
	}
	if err := pageSize("RelationshipPageSize", &cfg.RelationshipPageSize, MaxRelationshipPageSize); err != nil {
		return err
	}
	switch {
	case cfg.MaxPages == 0:
		cfg.MaxPages = defaultMaxPages
	case cfg.MaxPages < 0:
		return invalidConfig("use a positive MaxPages, or 0 for the default", "MaxPages %d is negative", cfg.MaxPages)
	}
	return nil
}

// pageSize gives a zero page size the service's maximum and refuses one outside 1..most.
func pageSize(field string, size *int, most int) error {
	switch {
	case *size == 0:
		*size = most
	case *size < 1 || *size > most:
		return invalidConfig(fmt.Sprintf("use a %s between 1 and %d (0 means %d)", field, most, most),
			"%s %d out of range", field, *size)
	}
	return nil
}

func (c *Client) newTransport(cfg Config, field, raw string, tokens transport.TokenSource) (*url.URL, *httpx.Client, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, nil, invalidConfig(fmt.Sprintf("set %s to an absolute URL such as %s", field, map[string]string{
			"PartnerCenterURL": DefaultPartnerCenterURL, "GraphURL": DefaultGraphURL}[field]), "%s %q is not an absolute http(s) URL", field, raw)
	}
	if u.Scheme == "http" && !cfg.AllowInsecureHTTP {
		return nil, nil, invalidConfig("use https, or set AllowInsecureHTTP in tests", "%s %q is not https", field, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, nil, invalidConfig("remove the query and fragment from "+field, "%s %q has a query or fragment", field, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	var hosts []string
	if !cfg.Cloud.IsZero() {
		hosts = cfg.Cloud.Hosts()
	}
	t, err := httpx.New(httpx.Config{Service: Service, BaseURL: u.Scheme + "://" + u.Host, Tokens: tokens, Hosts: hosts, Settings: cfg.Settings})
	if err != nil {
		return nil, nil, err
	}
	return u, t, nil
}

// endpoint joins a path below base (keeping any path prefix base has) with a query.
func endpoint(base *url.URL, path string, q url.Values) string {
	u := *base
	u.Path = base.Path + path
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// call is one request's description.
type call struct {
	service string // Service, or "graph" for GDAP calls (for the error's wording)
	op      string
	tenant  string // the customer tenant concerned, for errors
	method  string
	url     string
	header  http.Header
	body    any
}

// send performs c on t and returns the status, the headers and the body. Non-2xx responses are
// returned too, for the caller to map with its service's error decoder.
func send(ctx context.Context, t *httpx.Client, cl call) (*http.Response, []byte, error) {
	var body io.Reader
	var raw []byte
	if cl.body != nil {
		var err error
		if raw, err = json.Marshal(cl.body); err != nil {
			return nil, nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: cl.op, Tenant: cl.tenant,
				Message: "encode request: " + err.Error(), Hint: "check the request values"}
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
	if err != nil {
		return nil, nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: cl.op, Tenant: cl.tenant,
			Message: httpx.Redact(err.Error()), Hint: "check the configured URL and the IDs passed in"}
	}
	if raw != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, vs := range cl.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := t.Do(req)
	if err != nil {
		return nil, nil, annotate(err, cl)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, annotate(err, cl)
	}
	return resp, b, nil
}

// annotate fills the operation and tenant of a transport error without mutating an error value
// another goroutine may hold.
func annotate(err error, cl call) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if _, ok := tenantsync.Details(err); !ok {
			return err
		}
	}
	d, ok := tenantsync.Details(err)
	if !ok {
		return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: cl.service, Op: cl.op, Tenant: cl.tenant,
			Message: httpx.Redact(err.Error()), Hint: "check the network path to the service and retry", Err: err}
	}
	cp := *d
	if cp.Service == "" {
		cp.Service = cl.service
	}
	if cp.Op == "" {
		cp.Op = cl.op
	}
	if cp.Tenant == "" {
		cp.Tenant = cl.tenant
	}
	return &cp
}

func requestIDs() http.Header {
	h := http.Header{}
	h.Set("MS-RequestId", uuid.NewString())
	h.Set("MS-CorrelationId", uuid.NewString())
	return h
}

func notConfigured(op, what, field string) error {
	return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
		Message: what + " is not configured", Hint: "set Config." + field + " when building the partnercenter.Client"}
}
