package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

const (
	homeTenant   = "11111111-1111-1111-1111-111111111111"
	clientID     = "22222222-2222-2222-2222-222222222222"
	clientSecret = "Qx8~fake-client-secret-value"
)

// fakeEntra is a minimal TLS Entra ID: openid-configuration and the token endpoint, with
// per-tenant failures and strict refresh-token rotation (a used refresh token is dead).
type fakeEntra struct {
	srv *httptest.Server

	mu       sync.Mutex
	fail     map[string]entraFailure // by tenant
	issued   map[string]int          // access tokens issued per tenant
	refresh  string                  // the one live refresh token
	rotation int
	inFlight atomic.Int64
	overlap  atomic.Bool
	forms    []string
	// expiresIn, when set, is every token answer's expires_in.
	expiresIn any
	// hold, when set, stops the next token request until it is closed; arrived reports it.
	hold    chan struct{}
	arrived chan struct{}
	// redirectTo and redirectStatus, when set, answer every token request with a redirect to
	// the same path on redirectTo.
	redirectTo     string
	redirectStatus int
}

type entraFailure struct {
	status int
	err    string
	code   int
}

func newFakeEntra(t *testing.T) *fakeEntra {
	t.Helper()
	f := &fakeEntra{fail: map[string]entraFailure{}, issued: map[string]int{}, refresh: "rt-0"}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	// A redirect target on the fake's own origin: the same endpoints under /moved.
	path, moved := strings.CutPrefix(r.URL.Path, "/moved")
	r.URL.Path = path
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tenant := parts[0]
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		base := f.srv.URL + "/" + tenant
		_ = json.NewEncoder(w).Encode(map[string]string{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 base + "/v2.0",
		})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		f.mu.Lock()
		to, status := f.redirectTo, f.redirectStatus
		f.mu.Unlock()
		if status != 0 && !moved {
			http.Redirect(w, r, to+r.URL.Path, status)
			return
		}
		if f.inFlight.Add(1) > 1 && r.PostFormValue("grant_type") == "refresh_token" {
			f.overlap.Store(true)
		}
		defer f.inFlight.Add(-1)
		time.Sleep(2 * time.Millisecond) // widen the window in which concurrent redemptions would overlap
		f.mu.Lock()
		hold := f.hold
		f.hold = nil
		f.mu.Unlock()
		if hold != nil {
			close(f.arrived)
			<-hold
		}
		f.token(w, r, tenant)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeEntra) token(w http.ResponseWriter, r *http.Request, tenant string) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forms = append(f.forms, r.PostForm.Encode())
	if fl, ok := f.fail[tenant]; ok {
		f.writeError(w, fl)
		return
	}
	if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
		f.writeError(w, entraFailure{401, "invalid_client", 7000215})
		return
	}
	resp := map[string]any{"token_type": "Bearer", "expires_in": 3599}
	if f.expiresIn != nil {
		resp["expires_in"] = f.expiresIn
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != f.refresh {
			f.writeError(w, entraFailure{400, "invalid_grant", 700082})
			return
		}
		f.rotation++
		f.refresh = fmt.Sprintf("rt-%d", f.rotation)
		resp["refresh_token"] = f.refresh
	default:
		f.writeError(w, entraFailure{400, "unsupported_grant_type", 70003})
		return
	}
	f.issued[tenant]++
	resp["access_token"] = fmt.Sprintf("at-%s-%d", tenant, f.issued[tenant])
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeEntra) writeError(w http.ResponseWriter, fl entraFailure) {
	w.WriteHeader(fl.status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": fl.err,
		"error_description": fmt.Sprintf("AADSTS%d: Something about it.\r\nTrace ID: trace-%d\r\nCorrelation ID: corr\r\nTimestamp: 2026-11-22 01:00:00Z",
			fl.code, fl.code),
		"error_codes":    []int{fl.code},
		"timestamp":      "2026-11-22 01:00:00Z",
		"trace_id":       fmt.Sprintf("trace-%d", fl.code),
		"correlation_id": "corr",
	})
}

func (f *fakeEntra) issuedFor(tenant string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued[tenant]
}

func (f *fakeEntra) config() entra.Config {
	return entra.Config{
		AuthorityHost: f.srv.URL,
		TenantID:      homeTenant,
		ClientID:      clientID,
		Secret:        tenantsync.NewSecret(clientSecret),
		Scope:         "https://graph.microsoft.com/.default",
		HTTPClient:    f.srv.Client(),
	}
}

func TestClientCredentialsPerTenantCache(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	cc, err := entra.NewClientCredentials(fe.config())
	require.NoError(t, err)

	home, err := cc.Token(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, "at-"+homeTenant+"-1", home.AccessToken)
	assert.True(t, home.Expiry.After(time.Now().Add(50*time.Minute)))

	cust, err := cc.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.Equal(t, "at-customer-a-1", cust.AccessToken)

	again, err := cc.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.Equal(t, cust.AccessToken, again.AccessToken)
	assert.Equal(t, 1, fe.issuedFor("customer-a"), "the second call is served from the cache")

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			tok, err := cc.Token(t.Context(), "customer-b")
			if assert.NoError(t, err) {
				assert.Equal(t, "at-customer-b-1", tok.AccessToken)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, fe.issuedFor("customer-b"), "concurrent callers share one request")

	cc.Invalidate("customer-a")
	fresh, err := cc.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.Equal(t, "at-customer-a-2", fresh.AccessToken)
	again, err = cc.Token(t.Context(), "customer-b")
	require.NoError(t, err)
	assert.Equal(t, "at-customer-b-1", again.AccessToken, "invalidating one tenant keeps the others")
	assert.Equal(t, 1, fe.issuedFor("customer-b"))
}

func TestClientCredentialsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tenant   string
		failure  entraFailure
		wantKind error
		wantHint string
	}{
		{"noconsent", entraFailure{400, "invalid_grant", 65001}, tenantsync.ErrConsentRequired, "must consent"},
		{"notinstalled", entraFailure{400, "unauthorized_client", 700016}, tenantsync.ErrConsentRequired, "applicationconsents"},
		{"notauthorized", entraFailure{400, "invalid_request", 90099}, tenantsync.ErrConsentRequired, "pre-consent"},
		{"deleted", entraFailure{400, "invalid_request", 90002}, tenantsync.ErrTenantNotFound, "tenant ID was not found"},
		{"expired", entraFailure{401, "invalid_client", 7000222}, tenantsync.ErrUnauthorized, "has expired"},
		{"busy", entraFailure{503, "temporarily_unavailable", 0}, tenantsync.ErrUnavailable, "temporarily unavailable"},
		{"ca", entraFailure{400, "invalid_grant", 530003}, tenantsync.ErrForbidden, "Conditional Access"},
	}
	fe := newFakeEntra(t)
	for _, tt := range tests {
		fe.fail[tt.tenant] = tt.failure
	}
	cc, err := entra.NewClientCredentials(fe.config())
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			_, err := cc.Token(t.Context(), tt.tenant)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantKind)
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.Contains(t, d.Hint, tt.wantHint)
			assert.Equal(t, tt.tenant, d.Tenant)
			assert.Equal(t, tt.failure.status, d.Status)
			if tt.failure.code != 0 {
				assert.Equal(t, fmt.Sprintf("AADSTS%d", tt.failure.code), d.Code)
				assert.Equal(t, fmt.Sprintf("trace-%d", tt.failure.code), d.RequestID)
			}
			assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), clientSecret)
		})
	}
}

func TestClientCredentialsWrongSecretAndClientID(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	cfg := fe.config()
	cfg.Secret = tenantsync.NewSecret("wrong-secret-value")
	cc, err := entra.NewClientCredentials(cfg)
	require.NoError(t, err)
	_, err = cc.Token(t.Context(), "")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Contains(t, tenantsync.HintOf(err), "copy the secret value, not its ID")
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), "wrong-secret-value")

	fe.fail[homeTenant] = entraFailure{400, "unauthorized_client", 700016}
	cc, err = entra.NewClientCredentials(fe.config())
	require.NoError(t, err)
	_, err = cc.Token(t.Context(), "")
	assert.ErrorIs(t, err, tenantsync.ErrUnauthorized, "in the home tenant 700016 means a wrong client ID")
	assert.Contains(t, tenantsync.HintOf(err), "Application (client) ID")
}

func TestEntraConfigValidation(t *testing.T) {
	t.Parallel()
	good := entra.Config{TenantID: homeTenant, ClientID: clientID, Secret: tenantsync.NewSecret(clientSecret), Scope: "https://graph.microsoft.com/.default"}
	tests := []struct {
		name string
		mod  func(*entra.Config)
		want string
	}{
		{"http authority", func(c *entra.Config) { c.AuthorityHost = "http://login.example" }, "https"},
		{"bad authority", func(c *entra.Config) { c.AuthorityHost = "::" }, "not a URL"},
		{"no tenant", func(c *entra.Config) { c.TenantID = "" }, "tenant ID is empty"},
		{"bad tenant", func(c *entra.Config) { c.TenantID = "a/b" }, "malformed"},
		{"no client", func(c *entra.Config) { c.ClientID = " " }, "client ID is empty"},
		{"no scope", func(c *entra.Config) { c.Scope = "" }, "scope is empty"},
		{"no credential", func(c *entra.Config) { c.Secret = tenantsync.Secret{} }, "neither a client secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.mod(&cfg)
			_, err := entra.NewClientCredentials(cfg)
			require.Error(t, err)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotEmpty(t, tenantsync.HintOf(err))
			_, err = entra.NewRefreshTokenSource(cfg, tenantsync.NewSecret("rt"), nil)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		})
	}
	cc, err := entra.NewClientCredentials(good)
	require.NoError(t, err, "the public cloud is the default authority")
	assert.NotNil(t, cc)
	_, err = entra.NewRefreshTokenSource(good, tenantsync.NewSecret(""), nil)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

// rotations records the refresh tokens a RefreshTokenSource hands to its OnRotated callback.
type rotations struct {
	mu     sync.Mutex
	stored []tenantsync.Secret
}

func (r *rotations) store(_ context.Context, rt tenantsync.Secret) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stored = append(r.stored, rt)
	return nil
}

// reveal returns the plaintexts, for comparisons: Secrets compare only with Equal.
func reveal(secrets []tenantsync.Secret) []string {
	out := make([]string, len(secrets))
	for i, s := range secrets {
		out[i] = s.Reveal()
	}
	return out
}

func (r *rotations) all() []tenantsync.Secret {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stored)
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	var rotated rotations
	rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), rotated.store)
	require.NoError(t, err)

	tok, err := rs.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.Equal(t, "at-customer-a-1", tok.AccessToken)
	assert.Equal(t, "rt-1", rs.RefreshToken().Reveal())

	tok, err = rs.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.Equal(t, "at-customer-a-1", tok.AccessToken, "cached")

	// Many tenants at once: each redemption must use the token the previous one returned.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, err := rs.Token(t.Context(), fmt.Sprintf("tenant-%d", i))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.False(t, fe.overlap.Load(), "redemptions are serialised")
	assert.Equal(t, "rt-9", rs.RefreshToken().Reveal())
	stored := rotated.all()
	require.Len(t, stored, 9)
	assert.Equal(t, "rt-9", stored[8].Reveal(), "every rotation is persisted")

	home, err := rs.Token(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, "at-"+homeTenant+"-1", home.AccessToken, `"" redeems in the home tenant`)

	fe.mu.Lock()
	last := fe.forms[len(fe.forms)-1]
	fe.mu.Unlock()
	assert.Contains(t, last, "grant_type=refresh_token")
	assert.Contains(t, last, "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")

	rs.Invalidate("customer-a")
	tok, err = rs.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.Equal(t, "at-customer-a-2", tok.AccessToken)
}

// An expires_in past any real token's lifetime (as a number or a string) is taken as a day: read
// as given it overflowed into the past, so every call redeemed, and rotated, the refresh token
// again.
func TestRefreshTokenLifetimeIsBounded(t *testing.T) {
	t.Parallel()
	for _, lifetime := range []any{int64(10000000000), int64(99999999999), "10000000000"} {
		fe := newFakeEntra(t)
		fe.mu.Lock()
		fe.expiresIn = lifetime
		fe.mu.Unlock()
		var rotated rotations
		rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), rotated.store)
		require.NoError(t, err)
		first, err := rs.Token(t.Context(), "customer-a")
		require.NoError(t, err)
		assert.True(t, first.Expiry.After(time.Now()), "%v: not in the past (%s)", lifetime, first.Expiry)
		assert.False(t, first.Expiry.After(time.Now().Add(24*time.Hour+time.Minute)), "%v: at most a day (%s)", lifetime, first.Expiry)
		for range 4 {
			tok, err := rs.Token(t.Context(), "customer-a")
			require.NoError(t, err)
			assert.Equal(t, first.AccessToken, tok.AccessToken, "%v: cached", lifetime)
		}
		assert.Len(t, rotated.all(), 1, "%v: the refresh token redeemed once", lifetime)
	}
}

func TestRefreshTokenRevoked(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-stale-value"), nil)
	require.NoError(t, err)
	_, err = rs.Token(t.Context(), "customer-a")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrAuthorizationRevoked)
	assert.Contains(t, tenantsync.HintOf(err), "sign in again as a partner admin")
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "AADSTS700082", d.Code)
	assert.Equal(t, "trace-700082", d.RequestID)
	s := fmt.Sprintf("%v %+v", err, err)
	assert.NotContains(t, s, "rt-stale-value")
	assert.NotContains(t, s, clientSecret)
}

func TestRefreshTokenPersistFailure(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	var fail atomic.Bool
	fail.Store(true)
	var mu sync.Mutex
	var stored []tenantsync.Secret
	rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), func(_ context.Context, rt tenantsync.Secret) error {
		if fail.Load() {
			return errors.New("database is locked")
		}
		mu.Lock()
		stored = append(stored, rt)
		mu.Unlock()
		return nil
	})
	require.NoError(t, err)
	_, err = rs.Token(t.Context(), "customer-a")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Contains(t, tenantsync.HintOf(err), "could not be saved")
	assert.Equal(t, "rt-1", rs.RefreshToken().Reveal(), "the rotated token is kept in memory")

	_, err = rs.Token(t.Context(), "customer-a")
	require.Error(t, err, "still failing to persist")

	fail.Store(false)
	tok, err := rs.Token(t.Context(), "customer-a")
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"rt-1", "rt-2"}, reveal(stored), "the pending token is persisted before the next redemption")
}

func TestTokenWaitHonoursContext(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = rs.Token(ctx, "customer-a")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestClientCredentialsWithTransport(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	cc, err := entra.NewClientCredentials(fe.config())
	require.NoError(t, err)
	var seen []string
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get("Authorization"))
		if len(seen) == 1 {
			w.WriteHeader(http.StatusUnauthorized) // e.g. the token was revoked since it was cached
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c, err := httpx.New(httpx.Config{Service: "test", BaseURL: srv.URL, Tokens: cc,
		Settings: transport.Settings{HTTPClient: srv.Client()}})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(httpx.WithTenant(t.Context(), "customer-a"), http.MethodGet, srv.URL+"/api/users", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, []string{"Bearer at-customer-a-1", "Bearer at-customer-a-2"}, seen)
}

func TestMapEntraError(t *testing.T) {
	t.Parallel()
	body := func(oauthErr string, code int) []byte {
		desc := "Something failed."
		if code != 0 {
			desc = fmt.Sprintf("AADSTS%d: Something failed. client_secret=leaked-value", code)
		}
		b, _ := json.Marshal(map[string]any{"error": oauthErr, "error_description": desc + "\r\nTrace ID: t1", "error_codes": []int{code}, "trace_id": "t1"})
		if code == 0 {
			b, _ = json.Marshal(map[string]any{"error": oauthErr, "error_description": desc, "trace_id": "t1"})
		}
		return b
	}
	tests := []struct {
		oauthErr string
		code     int
		status   int
		want     error
		hint     string
	}{
		{"invalid_grant", 65001, 400, tenantsync.ErrConsentRequired, "admin-consent link"},
		{"invalid_grant", 65004, 400, tenantsync.ErrConsentRequired, "Partner Center consent call"},
		{"unauthorized_client", 700016, 400, tenantsync.ErrConsentRequired, "applicationconsents"},
		{"invalid_request", 90099, 400, tenantsync.ErrConsentRequired, "CIPP"},
		{"invalid_client", 7000215, 401, tenantsync.ErrUnauthorized, "not its ID"},
		{"invalid_client", 7000222, 401, tenantsync.ErrUnauthorized, "create a new secret"},
		{"invalid_client", 700027, 401, tenantsync.ErrUnauthorized, "certificate"},
		{"invalid_request", 90002, 400, tenantsync.ErrTenantNotFound, "tenant ID"},
		{"invalid_grant", 700082, 400, tenantsync.ErrAuthorizationRevoked, "re-authorize"},
		{"invalid_grant", 70008, 400, tenantsync.ErrAuthorizationRevoked, "re-authorize"},
		{"invalid_grant", 50173, 400, tenantsync.ErrAuthorizationRevoked, "re-authorize"},
		{"invalid_request", 50011, 400, tenantsync.ErrInvalidInput, "redirect URI"},
		{"invalid_grant", 50076, 400, tenantsync.ErrAuthorizationRevoked, "MFA"},
		{"interaction_required", 50079, 400, tenantsync.ErrAuthorizationRevoked, "Conditional Access"},
		{"invalid_grant", 53000, 400, tenantsync.ErrForbidden, "Conditional Access"},
		{"invalid_grant", 53003, 400, tenantsync.ErrForbidden, "Conditional Access"},
		{"invalid_grant", 530003, 400, tenantsync.ErrForbidden, "compliant device"},
		{"invalid_grant", 530034, 400, tenantsync.ErrForbidden, "risk"},
		{"invalid_scope", 70011, 400, tenantsync.ErrInvalidInput, ".default"},
		{"invalid_request", 90055, 400, tenantsync.ErrThrottled, "wait"},
		{"invalid_resource", 500011, 400, tenantsync.ErrConsentRequired, "consent"},
		{"invalid_grant", 0, 400, tenantsync.ErrAuthorizationRevoked, "re-authorize"},
		{"interaction_required", 0, 400, tenantsync.ErrAuthorizationRevoked, "re-authorize"},
		{"consent_required", 0, 400, tenantsync.ErrConsentRequired, "consent"},
		{"unauthorized_client", 0, 400, tenantsync.ErrConsentRequired, "pre-consent"},
		{"invalid_client", 0, 401, tenantsync.ErrUnauthorized, "client ID"},
		{"temporarily_unavailable", 0, 503, tenantsync.ErrUnavailable, "retry"},
		{"invalid_request", 0, 400, tenantsync.ErrInvalidInput, "tenant ID"},
		{"unsupported_grant_type", 0, 400, tenantsync.ErrInvalidInput, "tenant ID"},
		{"something_new", 0, 429, tenantsync.ErrThrottled, "wait"},
		{"something_new", 0, 500, tenantsync.ErrUnavailable, "retry"},
		{"something_new", 0, 400, tenantsync.ErrUnauthorized, "client ID"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%d", tt.oauthErr, tt.code)
		e := entra.MapError(&entra.ResponseError{StatusCode: tt.status, Body: body(tt.oauthErr, tt.code)}, "graph", "cust")
		require.NotNil(t, e, name)
		assert.ErrorIs(t, e, tt.want, name)
		assert.Contains(t, e.Hint, tt.hint, name)
		assert.Equal(t, "graph", e.Service, name)
		assert.Equal(t, "cust", e.Tenant, name)
		assert.Equal(t, "t1", e.RequestID, name)
		assert.Equal(t, tt.status, e.Status, name)
		if tt.code != 0 {
			assert.Equal(t, fmt.Sprintf("AADSTS%d", tt.code), e.Code, name)
		} else {
			assert.Equal(t, tt.oauthErr, e.Code, name)
		}
		assert.NotContains(t, fmt.Sprintf("%v %+v", e, e), "leaked-value", name)
		assert.NotContains(t, e.Message, "Trace ID", name)
	}

	// Codes only in the description, no error_codes array.
	e := entra.MapError(&entra.ResponseError{StatusCode: 400,
		Body: []byte(`{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented."}`)}, "", "")
	assert.Equal(t, "AADSTS65001", e.Code)
	assert.Equal(t, "entra", e.Service)
	assert.ErrorIs(t, e, tenantsync.ErrConsentRequired)

	// Failures without an Entra body.
	assert.Nil(t, entra.MapError(nil, "x", ""))
	typed := &tenantsync.Error{Class: tenantsync.ErrForbidden}
	assert.Same(t, typed, entra.MapError(fmt.Errorf("wrapped: %w", typed), "x", ""))
	assert.ErrorIs(t, entra.MapError(context.DeadlineExceeded, "x", ""), tenantsync.ErrUnavailable)
	assert.ErrorIs(t, entra.MapError(errors.New("dial tcp: connection refused"), "x", ""), tenantsync.ErrUnavailable)
	assert.ErrorIs(t, entra.MapError(&entra.ResponseError{StatusCode: 429}, "x", ""), tenantsync.ErrThrottled)
	assert.ErrorIs(t, entra.MapError(&entra.ResponseError{StatusCode: 502, Body: []byte("<html>")}, "x", ""), tenantsync.ErrUnavailable)
	assert.ErrorIs(t, entra.MapError(&entra.ResponseError{StatusCode: 400, Body: []byte("nope")}, "x", ""), tenantsync.ErrUnauthorized)
	re := &entra.ResponseError{StatusCode: 400, Body: []byte(`refresh_token=abcdef123`)}
	assert.NotContains(t, re.Error(), "abcdef123")
}

func TestInvalidateDuringAcquisition(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	hold := make(chan struct{})
	fe.hold, fe.arrived = hold, make(chan struct{})
	rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), nil)
	require.NoError(t, err)

	first := make(chan string, 1)
	go func() {
		tok, err := rs.Token(t.Context(), "a")
		if assert.NoError(t, err) {
			first <- tok.AccessToken
		}
	}()
	<-fe.arrived
	// The token being fetched is (say) the one a resource just rejected.
	rs.Invalidate("a")
	second := make(chan string, 1)
	go func() {
		tok, err := rs.Token(t.Context(), "a")
		if assert.NoError(t, err) {
			second <- tok.AccessToken
		}
	}()
	close(hold)
	assert.Equal(t, "at-a-1", <-first)
	assert.Equal(t, "at-a-2", <-second, "a caller after Invalidate does not share the earlier acquisition")
	tok, err := rs.Token(t.Context(), "a")
	require.NoError(t, err)
	assert.Equal(t, "at-a-2", tok.AccessToken, "only the post-invalidation token is cached")
}

func TestRefreshTokenForScopeSharesRotation(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	var rotated rotations
	pc, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), rotated.store)
	require.NoError(t, err)
	graph, err := pc.ForScope("https://graph.microsoft.com/.default")
	require.NoError(t, err)
	_, err = pc.ForScope(" ")
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			_, err := pc.Token(t.Context(), fmt.Sprintf("t%d", i))
			assert.NoError(t, err)
		})
		wg.Go(func() {
			_, err := graph.Token(t.Context(), fmt.Sprintf("t%d", i))
			assert.NoError(t, err, "the fake refuses any refresh token but the newest")
		})
	}
	wg.Wait()
	assert.Equal(t, pc.RefreshToken().Reveal(), graph.RefreshToken().Reveal())
	assert.Equal(t, "rt-8", graph.RefreshToken().Reveal())
	assert.Len(t, rotated.all(), 8)
}

// TestTokenRequestsRefuseCrossOriginRedirects: a token request carries the client secret and,
// for the refresh-token flow, the refresh token in its body; net/http resends the body on a
// 307 or 308 and follows a 302 as a GET. A token endpoint redirecting elsewhere must get an
// error, and the other host no request at all.
func TestTokenRequestsRefuseCrossOriginRedirects(t *testing.T) {
	t.Parallel()
	flows := map[string]func(t *testing.T, cfg entra.Config) error{
		"client credentials (MSAL)": func(t *testing.T, cfg entra.Config) error {
			cc, err := entra.NewClientCredentials(cfg)
			require.NoError(t, err)
			_, err = cc.Token(t.Context(), "customer-a")
			return err
		},
		"refresh token": func(t *testing.T, cfg entra.Config) error {
			rs, err := entra.NewRefreshTokenSource(cfg, tenantsync.NewSecret("rt-0"), nil)
			require.NoError(t, err)
			_, err = rs.Token(t.Context(), "customer-a")
			return err
		},
	}
	for name, flow := range flows {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			t.Run(fmt.Sprintf("%s %d", name, status), func(t *testing.T) {
				t.Parallel()
				var reached atomic.Int64
				other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					reached.Add(1)
					w.Header().Set("Content-Type", "application/json")
					_, _ = fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"stolen","refresh_token":"stolen"}`)
				}))
				t.Cleanup(other.Close)
				fe := newFakeEntra(t)
				fe.redirectTo, fe.redirectStatus = other.URL, status

				err := flow(t, fe.config()) // fe's client trusts other too: httptest shares one certificate
				require.Error(t, err)
				assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
				assert.Contains(t, tenantsync.HintOf(err), "authority host")
				assert.Zero(t, reached.Load(), "the other host received a request")
				assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), clientSecret)
			})
		}
	}
}

func TestTokenRequestsFollowSameOriginRedirects(t *testing.T) {
	t.Parallel()
	fe := newFakeEntra(t)
	fe.redirectTo, fe.redirectStatus = fe.srv.URL+"/moved", http.StatusTemporaryRedirect
	rs, err := entra.NewRefreshTokenSource(fe.config(), tenantsync.NewSecret("rt-0"), nil)
	require.NoError(t, err)
	tok, err := rs.Token(t.Context(), "customer-a")
	require.NoError(t, err, "a redirect on the token endpoint's own origin is followed")
	assert.Equal(t, "at-customer-a-1", tok.AccessToken)
}
