package msgraphsdk

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

// TokenSource produces bearer tokens per tenant; graph.Client.TokenSource returns one.
type TokenSource interface {
	Token(ctx context.Context, tenant string) (*oauth2.Token, error)
}

// Config says which tenant the SDK client reads and how it reaches Graph. Set Client to share a
// graph.Client's token cache, origin, rate limiters, retry budget and redaction (the usual
// case); without it, TokenSource, BaseURL and Settings build a transport of the SDK's own.
type Config struct {
	// TenantID is the customer tenant the client reads. Required.
	TenantID string
	// Client, when set, supplies the token source (unless TokenSource is set), the Graph origin
	// and the HTTP stack; BaseURL and Settings are then not used.
	Client *graph.Client
	// TokenSource produces the tenant's bearer tokens. Required when Client is nil.
	TokenSource TokenSource
	// BaseURL is Graph's origin (default https://graph.microsoft.com); tokens are sent to it
	// only. Used when Client is nil.
	BaseURL string
	// Settings configure the transport built when Client is nil (HTTP client, retry budget,
	// rate limits, observer).
	transport.Settings
}

// NewGraphServiceClient returns the official msgraph-sdk-go client for one customer tenant,
// authenticated with tokens (the tenant's token from the same source the lean client uses) and
// sent through tenantsync's transport. See NewRequestAdapter for what is changed from the SDK's
// defaults.
func NewGraphServiceClient(ctx context.Context, cfg Config) (*msgraph.GraphServiceClient, error) {
	adapter, err := NewRequestAdapter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return NewServiceClient(adapter), nil
}

// NewServiceClient wraps an adapter from NewRequestAdapter in the SDK's service client. Use it
// instead of msgraph.NewGraphServiceClient, which passes the SDK's package variable
// store.BackingStoreFactoryInstance to kiota's EnableBackingStore, and that writes it back: a
// write that races with every SDK model constructor (they read the variable) as soon as clients
// for two tenants are built, or one is built while another decodes. Passing no factory keeps
// the variable as it is; the adapter's backing store is enabled all the same.
func NewServiceClient(adapter *msgraph.GraphRequestAdapter) *msgraph.GraphServiceClient {
	return &msgraph.GraphServiceClient{GraphBaseServiceClient: *msgraph.NewGraphBaseServiceClient(adapter, nil)}
}

// NewRequestAdapter builds the request adapter NewGraphServiceClient uses. Keep it when you need
// the adapter (msgraphcore.NewPageIterator, batch requests): the SDK's GetAdapter has panicked on
// a set adapter in some versions. Build the service client on it with NewServiceClient.
//
// Differences from the SDK's defaults, and why:
//   - Kiota's retry handler is off: the transport already retries 429/5xx with Retry-After, a
//     shared budget and per-tenant rate limits, and two retry layers would multiply the attempts.
//   - Requests go through the module's HTTP stack (the graph.Client's, with Config.Client), so
//     bodies are bounded, errors redacted, tokens sent only to the configured origin.
//   - The token provider answers only for the configured Graph host and port, and https only.
//
// Kiota's gzip compression of request bodies stays on; Graph (and the fake) accept it.
func NewRequestAdapter(ctx context.Context, cfg Config) (*msgraph.GraphRequestAdapter, error) {
	tenantID, tokens, baseURL := cfg.TenantID, cfg.TokenSource, cfg.BaseURL
	var tr *httpx.Client
	if cfg.Client != nil {
		baseURL, tr = cfg.Client.BaseURL(), cfg.Client.Transport()
		if tokens == nil {
			tokens = cfg.Client.TokenSource()
		}
	}
	if baseURL == "" {
		baseURL = graph.DefaultBaseURL
	}
	if tokens == nil {
		return nil, invalid("set Config.Client to a graph.Client, or Config.TokenSource", "no token source")
	}
	if tenantID == "" || strings.ContainsAny(tenantID, "/?#") {
		return nil, invalid("pass the customer tenant ID", "invalid tenant %q", tenantID)
	}
	base, err := url.Parse(baseURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, invalid("set Config.BaseURL to an https origin such as https://graph.microsoft.com", "invalid base URL %q", baseURL)
	}
	origin := base.Scheme + "://" + base.Host
	if tr == nil {
		tr, err = httpx.New(httpx.Config{
			Service:  "graph",
			BaseURL:  origin,
			Tokens:   tokens,
			Settings: cfg.Settings,
		})
		if err != nil {
			return nil, err
		}
	}
	provider := &tokenProvider{tokens: tokens, tenant: tenantID, origin: base}
	if provider.hosts, err = absauth.NewAllowedHostsValidatorErrorCheck([]string{base.Hostname()}); err != nil {
		return nil, invalid("set a plain host name", "allowed host: %v", err)
	}
	never := func(time.Duration, int, *http.Request, *http.Response) bool { return false }
	middlewares, err := khttp.GetDefaultMiddlewaresWithOptions(&khttp.RetryHandlerOptions{ShouldRetry: never})
	if err != nil {
		return nil, err
	}
	clientOptions := msgraph.GetDefaultClientOptions()
	middlewares = append([]khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&clientOptions),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
	}, middlewares...)
	hc := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(&doer{tr: tr, tenant: tenantID}, middlewares...),
		// Kiota's redirect middleware follows redirects itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		absauth.NewBaseBearerTokenAuthenticationProvider(provider), nil, nil, hc)
	if err != nil {
		return nil, err
	}
	adapter.SetBaseUrl(origin + "/v1.0")
	return adapter, nil
}

func invalid(hint, format string, args ...any) error {
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
	e.Service, e.Op = "graph", "msgraphsdk"
	return e
}

// tokenProvider is kiota's AccessTokenProvider over a per-tenant token source.
type tokenProvider struct {
	tokens TokenSource
	tenant string
	origin *url.URL
	hosts  *absauth.AllowedHostsValidator
}

// GetAuthorizationToken returns the tenant's token for the configured origin and "" (no token)
// for any other URL, as kiota's providers do for hosts they do not serve.
func (p *tokenProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if u == nil || !p.hosts.IsUrlHostValid(u) || !strings.EqualFold(u.Host, p.origin.Host) || u.Scheme != "https" {
		return "", nil
	}
	tok, err := p.tokens.Token(ctx, p.tenant)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// GetAllowedHostsValidator returns the hosts tokens may be sent to.
func (p *tokenProvider) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return p.hosts }

// doer sends the SDK's requests through the transport, tagged with the tenant so the right
// rate limiter and token apply.
type doer struct {
	tr     *httpx.Client
	tenant string
}

func (d *doer) RoundTrip(r *http.Request) (*http.Response, error) {
	return d.tr.Do(r.WithContext(httpx.WithTenant(r.Context(), d.tenant)))
}
