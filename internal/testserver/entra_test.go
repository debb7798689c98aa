package testserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenResponse is the token endpoint's answer, success or failure.
type tokenResponse struct {
	Status        int
	AccessToken   string   `json:"access_token"`
	RefreshToken  string   `json:"refresh_token"`
	ExpiresIn     int      `json:"expires_in"`
	TokenType     string   `json:"token_type"`
	Scope         string   `json:"scope"`
	Error         string   `json:"error"`
	SubError      string   `json:"suberror"`
	Description   string   `json:"error_description"`
	ErrorCodes    []int    `json:"error_codes"`
	Timestamp     string   `json:"timestamp"`
	TraceID       string   `json:"trace_id"`
	CorrelationID string   `json:"correlation_id"`
	ErrorURI      string   `json:"error_uri"`
	Extra         []string `json:"-"`
}

func postToken(t *testing.T, srv *Server, tenant string, form url.Values) tokenResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.EntraURL()+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tr tokenResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
	tr.Status = resp.StatusCode
	return tr
}

func secretForm(c Credentials, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.Secret}, "scope": {scope}}
}

func refreshForm(app Credentials, rt, scope string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {app.ClientID}, "client_secret": {app.Secret}, "refresh_token": {rt}, "scope": {scope}}
}

// bearerRequest builds a request carrying tok, for verifyBearer.
func bearerRequest(tok string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://example.invalid/", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

// withRelationship gives tenant an active GDAP relationship (the GDAP generator may give none).
func withRelationship(srv *Server, tenantID string) {
	srv.World.mu.Lock()
	defer srv.World.mu.Unlock()
	t := srv.World.byID[tenantID]
	t.Relationships = append(t.Relationships, &Relationship{ID: "rel-" + tenantID, DisplayName: "Default_GDAP", Status: "active", EndAt: time.Now().Add(24 * time.Hour)})
}

// clearRelationships removes every GDAP relationship of a tenant.
func clearRelationships(srv *Server, tenantID string) {
	srv.World.mu.Lock()
	defer srv.World.mu.Unlock()
	srv.World.byID[tenantID].Relationships = nil
}

func consentedTenant(t *testing.T, srv *Server, consented bool) *Tenant {
	t.Helper()
	for _, tn := range srv.World.Tenants {
		if tn.Consented == consented {
			return tn
		}
	}
	t.Fatalf("no tenant with Consented=%v", consented)
	return nil
}

func TestMSALClientCredentials(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 3, Tenants: 16})
	cipp := srv.CIPPCredentials()
	partner := srv.PartnerApp()
	customer := consentedTenant(t, srv, true)

	tests := []struct {
		name     string
		creds    Credentials
		tenant   string
		scope    string
		audience string
	}{
		{"CIPP API client in the partner tenant", cipp, cipp.TenantID, "api://" + cipp.ClientID + "/.default", "api://" + cipp.ClientID},
		{"partner app, Graph, partner tenant", partner, partner.TenantID, "https://graph.microsoft.com/.default", AudienceGraph},
		{"partner app, Graph, consented customer", partner, customer.ID, "https://graph.microsoft.com/.default", AudienceGraph},
		{"partner app, Graph, customer by domain", partner, customer.DefaultDomain, "https://graph.microsoft.com/.default", AudienceGraph},
		{"partner app, Partner Center", partner, partner.TenantID, "https://api.partnercenter.microsoft.com/.default", AudiencePartnerCenter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cred, err := confidential.NewCredFromSecret(tc.creds.Secret)
			require.NoError(t, err)
			client, err := confidential.New(srv.EntraURL()+"/"+tc.creds.TenantID, tc.creds.ClientID, cred,
				confidential.WithHTTPClient(srv.HTTPClient()), confidential.WithInstanceDiscovery(false))
			require.NoError(t, err)
			res, err := client.AcquireTokenByCredential(t.Context(), []string{tc.scope}, confidential.WithTenantID(tc.tenant))
			require.NoError(t, err)
			claims, err := srv.verifyBearer(bearerRequest(res.AccessToken), tc.audience)
			require.NoError(t, err)
			assert.Equal(t, tc.creds.ClientID, claims.AppID)
			assert.Equal(t, srv.resolveTenant(tc.tenant), claims.TenantID)
			assert.Empty(t, claims.UserID)
			assert.WithinDuration(t, time.Now().Add(DefaultTokenLifetime), claims.Expires, time.Minute)
		})
	}
}

func TestMSALCertificateCredential(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 4, Tenants: 2})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tenantsync"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	creds := srv.RegisterApp(App{DisplayName: "cert app", Certs: []*x509.Certificate{cert}})

	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &otherKey.PublicKey, otherKey)
	require.NoError(t, err)
	otherCert, err := x509.ParseCertificate(otherDER)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		key  *rsa.PrivateKey
		ok   bool
	}{{"registered certificate", cert, key, true}, {"unregistered certificate", otherCert, otherKey, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cred, err := confidential.NewCredFromCert([]*x509.Certificate{tc.cert}, tc.key)
			require.NoError(t, err)
			client, err := confidential.New(srv.EntraURL()+"/"+creds.TenantID, creds.ClientID, cred,
				confidential.WithHTTPClient(srv.HTTPClient()), confidential.WithInstanceDiscovery(false))
			require.NoError(t, err)
			res, err := client.AcquireTokenByCredential(t.Context(), []string{"https://graph.microsoft.com/.default"})
			if !tc.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "AADSTS700027")
				return
			}
			require.NoError(t, err)
			claims, err := srv.verifyBearer(bearerRequest(res.AccessToken), AudienceGraph)
			require.NoError(t, err)
			assert.Equal(t, creds.ClientID, claims.AppID)
		})
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 5, Tenants: 16})
	cipp := srv.CIPPCredentials()
	partner := srv.PartnerApp()
	consented := consentedTenant(t, srv, true)
	unconsented := consentedTenant(t, srv, false)
	expired := srv.NewCIPPClient("readonly")
	srv.ExpireSecret(expired.ClientID)
	withRelationship(srv, unconsented.ID)
	clearRelationships(srv, consented.ID)
	graph := "https://graph.microsoft.com/.default"

	wrongSecret := cipp
	wrongSecret.Secret = "not-the-secret"
	unknown := cipp
	unknown.ClientID = "00000000-0000-0000-0000-000000000001"

	tests := []struct {
		name     string
		tenant   string
		form     url.Values
		status   int
		oauthErr string
		code     int
		text     string
	}{
		{"bad secret", cipp.TenantID, secretForm(wrongSecret, graph), 401, "invalid_client", 7000215, "Invalid client secret"},
		{"expired secret", expired.TenantID, secretForm(expired, graph), 401, "invalid_client", 7000222, "are expired"},
		{"unknown client", cipp.TenantID, secretForm(unknown, graph), 400, "unauthorized_client", 700016, "was not found in the directory"},
		{"unknown tenant", "11111111-2222-3333-4444-555555555555", secretForm(partner, graph), 400, "invalid_request", 90002, "Tenant '11111111-2222-3333-4444-555555555555' not found"},
		{"app-only without consent", unconsented.ID, secretForm(partner, graph), 400, "unauthorized_client", 700016, "Application with identifier '" + partner.ClientID + "' was not found in the directory '" + unconsented.ID + "'"},
		{"single-tenant app in a customer", consented.ID, secretForm(cipp, graph), 400, "unauthorized_client", 700016, "was not found in the directory"},
		{"CIPP scope outside the home tenant", consented.ID, secretForm(partner, "api://"+cipp.ClientID+"/.default"), 400, "invalid_resource", 500011, "resource principal named api://" + cipp.ClientID},
		{"client credentials without .default", cipp.TenantID, secretForm(partner, "https://graph.microsoft.com/User.Read"), 400, "invalid_scope", 1002012, "/.default"},
		{"two resources", cipp.TenantID, secretForm(partner, graph+" https://api.partnercenter.microsoft.com/.default"), 400, "invalid_scope", 70011, "multiple resources"},
		{"unknown resource", cipp.TenantID, secretForm(partner, "https://example.com/.default"), 400, "invalid_scope", 70011, "isn't valid"},
		{"no scope", cipp.TenantID, secretForm(partner, ""), 400, "invalid_request", 900144, "'scope'"},
		{"no credential", cipp.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {cipp.ClientID}, "scope": {graph}}, 401, "invalid_client", 7000218, "client_secret"},
		{"no grant type", cipp.TenantID, url.Values{"client_id": {cipp.ClientID}}, 400, "invalid_request", 900144, "grant_type"},
		{"unsupported grant", cipp.TenantID, url.Values{"grant_type": {"password"}, "client_id": {cipp.ClientID}}, 400, "unsupported_grant_type", 70003, "password"},
		{"no client", cipp.TenantID, url.Values{"grant_type": {"client_credentials"}}, 400, "invalid_request", 900144, "client_id"},
		{"bad assertion type", cipp.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {cipp.ClientID}, "client_assertion": {"a.b.c"}, "client_assertion_type": {"x"}}, 400, "invalid_request", 50027, "client_assertion_type"},
		{"malformed assertion", cipp.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {cipp.ClientID}, "client_assertion": {"nope"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}, 401, "invalid_client", 700027, "not a JWT"},
		{"delegated without consent", unconsented.ID, refreshForm(partner, srv.PartnerRefreshToken(), graph), 400, "invalid_grant", 65001, "has not consented to use the application with ID '" + partner.ClientID + "'"},
		{"delegated without GDAP", consented.ID, refreshForm(partner, srv.PartnerRefreshToken(), graph), 400, "invalid_grant", 50020, "does not exist in tenant"},
		{"unknown refresh token", cipp.TenantID, refreshForm(partner, "1.AQnot-issued", graph), 400, "invalid_grant", 9002313, "malformed"},
		{"refresh token of another client", cipp.TenantID, refreshForm(cipp, srv.PartnerRefreshToken(), graph), 400, "invalid_grant", 70000, "different client"},
		{"missing refresh token", cipp.TenantID, refreshForm(partner, "", graph), 400, "invalid_request", 900144, "refresh_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := postToken(t, srv, tc.tenant, tc.form)
			assert.Equal(t, tc.status, tr.Status)
			assert.Equal(t, tc.oauthErr, tr.Error)
			assert.Equal(t, []int{tc.code}, tr.ErrorCodes)
			assertAADShape(t, tr, tc.code)
			assert.Contains(t, tr.Description, tc.text)
			assert.Empty(t, tr.AccessToken)
		})
	}
}

// assertAADShape checks the reference §1.4 body: description lines, IDs and timestamps agree.
func assertAADShape(t *testing.T, tr tokenResponse, code int) {
	t.Helper()
	lines := strings.Split(tr.Description, "\r\n")
	require.Len(t, lines, 4, tr.Description)
	assert.True(t, strings.HasPrefix(lines[0], "AADSTS"+itoa(code)+": "), lines[0])
	assert.Equal(t, "Trace ID: "+tr.TraceID, lines[1])
	assert.Equal(t, "Correlation ID: "+tr.CorrelationID, lines[2])
	assert.Equal(t, "Timestamp: "+tr.Timestamp, lines[3])
	_, err := time.Parse("2006-01-02 15:04:05Z", tr.Timestamp)
	assert.NoError(t, err)
	assert.Equal(t, "https://login.microsoftonline.com/error?code="+itoa(code), tr.ErrorURI)
	assert.Len(t, tr.TraceID, 36)
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestConsentRequiredSuberror(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 5, Tenants: 16})
	tn := consentedTenant(t, srv, false)
	withRelationship(srv, tn.ID)
	tr := postToken(t, srv, tn.ID, refreshForm(srv.PartnerApp(), srv.PartnerRefreshToken(), "https://graph.microsoft.com/.default"))
	assert.Equal(t, "consent_required", tr.SubError)

	srv.SetConsent(tn.ID, true)
	tr = postToken(t, srv, tn.ID, refreshForm(srv.PartnerApp(), srv.PartnerRefreshToken(), "https://graph.microsoft.com/.default"))
	require.Equal(t, 200, tr.Status, tr.Description)
	srv.SetConsent(tn.ID, false)
	tr = postToken(t, srv, tn.ID, secretForm(srv.PartnerApp(), "https://graph.microsoft.com/.default"))
	assert.Equal(t, []int{700016}, tr.ErrorCodes)
}

func TestSAMRefreshToken(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 6, Tenants: 8})
	partner := srv.PartnerApp()
	customer := consentedTenant(t, srv, true)
	withRelationship(srv, customer.ID)

	first := srv.PartnerRefreshToken()
	tr := postToken(t, srv, customer.ID, refreshForm(partner, first, "https://graph.microsoft.com/.default"))
	require.Equal(t, 200, tr.Status, tr.Description)
	require.NotEmpty(t, tr.RefreshToken)
	assert.NotEqual(t, first, tr.RefreshToken, "the refresh token rotates")
	assert.Equal(t, tr.RefreshToken, srv.PartnerRefreshToken())
	assert.Equal(t, "Bearer", tr.TokenType)
	assert.Contains(t, tr.Scope, "https://graph.microsoft.com/")
	claims, err := srv.verifyBearer(bearerRequest(tr.AccessToken), AudienceGraph)
	require.NoError(t, err)
	assert.Equal(t, customer.ID, claims.TenantID)
	assert.Equal(t, srv.PartnerUserID(), claims.UserID)
	assert.Equal(t, partner.ClientID, claims.AppID)

	// Partner Center for the partner tenant, user_impersonation, with the rotated token.
	second := tr.RefreshToken
	tr = postToken(t, srv, partner.TenantID, refreshForm(partner, second, "https://api.partnercenter.microsoft.com/user_impersonation offline_access"))
	require.Equal(t, 200, tr.Status, tr.Description)
	claims, err = srv.verifyBearer(bearerRequest(tr.AccessToken), AudiencePartnerCenter)
	require.NoError(t, err)
	assert.Equal(t, "user_impersonation", claims.Scope)
	assert.Equal(t, partner.TenantID, claims.TenantID)

	// Within the grace period the redeemed token still works (concurrent workers).
	tr = postToken(t, srv, customer.ID, refreshForm(partner, first, "https://graph.microsoft.com/.default"))
	require.Equal(t, 200, tr.Status, tr.Description)

	// After the grace period only the newest works.
	srv.auth.mu.Lock()
	srv.auth.refresh[first].rotated = time.Now().Add(-refreshTokenGrace - time.Second)
	srv.auth.mu.Unlock()
	tr = postToken(t, srv, customer.ID, refreshForm(partner, first, "https://graph.microsoft.com/.default"))
	assert.Equal(t, "invalid_grant", tr.Error)
	assert.Equal(t, []int{70008}, tr.ErrorCodes)

	// Revoked: every token issued so far fails with 50173; the fresh sign-in works.
	latest := srv.PartnerRefreshToken()
	srv.RevokeRefreshTokens()
	tr = postToken(t, srv, customer.ID, refreshForm(partner, latest, "https://graph.microsoft.com/.default"))
	assert.Equal(t, []int{50173}, tr.ErrorCodes)
	assert.Contains(t, tr.Description, "revoked")
	assertAADShape(t, tr, 50173)
	tr = postToken(t, srv, customer.ID, refreshForm(partner, srv.PartnerRefreshToken(), "https://graph.microsoft.com/.default"))
	require.Equal(t, 200, tr.Status, tr.Description)

	// Expired from inactivity: 700082.
	latest = srv.PartnerRefreshToken()
	srv.ExpireRefreshTokens()
	tr = postToken(t, srv, customer.ID, refreshForm(partner, latest, "https://graph.microsoft.com/.default"))
	assert.Equal(t, "invalid_grant", tr.Error)
	assert.Equal(t, []int{700082}, tr.ErrorCodes)
	assert.Contains(t, tr.Description, "expired due to inactivity")
	assertAADShape(t, tr, 700082)
}

func TestOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 7, Tenants: 2})
	tenant := srv.World.Tenants[0].ID
	resp, err := srv.HTTPClient().Get(srv.EntraURL() + "/" + tenant + "/v2.0/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var cfg map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&cfg))
	assert.Equal(t, srv.EntraURL()+"/"+tenant+"/oauth2/v2.0/token", cfg["token_endpoint"])
	assert.Equal(t, srv.EntraURL()+"/"+tenant+"/oauth2/v2.0/authorize", cfg["authorization_endpoint"])
	assert.Equal(t, srv.EntraURL()+"/"+tenant+"/v2.0", cfg["issuer"])

	resp2, err := srv.HTTPClient().Get(srv.EntraURL() + "/nosuch.example/v2.0/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp2.StatusCode)
}

func TestVerifyBearer(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 8, Tenants: 2})
	other := NewT(t, Options{Seed: 8, Tenants: 2})
	c := Claims{Audience: AudienceGraph, TenantID: srv.World.Tenants[0].ID, AppID: "app"}
	good, _ := srv.signToken(c)
	foreign, _ := other.signToken(c)
	cipp, _ := srv.signToken(Claims{Audience: "api://app", TenantID: srv.World.PartnerTenantID, AppID: "app"})
	srv.SetTokenLifetime(-time.Second)
	expired, _ := srv.signToken(c)
	srv.SetTokenLifetime(DefaultTokenLifetime)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]

	tests := []struct {
		name     string
		header   string
		audience string
		want     error
	}{
		{"valid", "Bearer " + good, AudienceGraph, nil},
		{"own api audience", "Bearer " + cipp, audienceOwnAPI, nil},
		{"missing", "", AudienceGraph, errTokenMissing},
		{"basic scheme", "Basic dXNlcjpwYXNz", AudienceGraph, errTokenMissing},
		{"not a JWT", "Bearer abc", AudienceGraph, errTokenMalformed},
		{"other server's key", "Bearer " + foreign, AudienceGraph, errTokenSignature},
		{"tampered payload", "Bearer " + tampered, AudienceGraph, errTokenSignature},
		{"expired", "Bearer " + expired, AudienceGraph, errTokenExpired},
		{"wrong audience", "Bearer " + good, AudiencePartnerCenter, errTokenAudience},
		{"graph token for CIPP", "Bearer " + good, audienceOwnAPI, errTokenAudience},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := bearerRequest("")
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			claims, err := srv.verifyBearer(r, tc.audience)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "app", claims.AppID)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "%v is not %v", err, tc.want)
			assert.NotContains(t, err.Error(), good)
			assert.Nil(t, claims)
		})
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 9, Tenants: 2, TokenLifetime: 10 * time.Minute})
	cipp := srv.CIPPCredentials()
	assert.Equal(t, srv.World.PartnerTenantID, cipp.TenantID)
	assert.Equal(t, "admin", srv.App(cipp.ClientID).CIPPRole)
	assert.Nil(t, srv.App("nope"))
	for _, role := range []string{"readonly", "editor", "admin", ""} {
		c := srv.NewCIPPClient(role)
		assert.Equal(t, role, srv.App(c.ClientID).CIPPRole)
		assert.NotEqual(t, cipp.ClientID, c.ClientID)
	}
	assert.True(t, srv.App(srv.PartnerApp().ClientID).MultiTenant)
	assert.NotContains(t, cipp.String(), cipp.Secret)
	assert.NotContains(t, cipp.GoString(), cipp.Secret)
	assert.Contains(t, cipp.String(), cipp.ClientID)

	tr := postToken(t, srv, cipp.TenantID, secretForm(cipp, "api://"+cipp.ClientID+"/.default"))
	require.Equal(t, 200, tr.Status)
	assert.Equal(t, 600, tr.ExpiresIn)

	// The same seed gives the same credentials (a standalone fake prints stable values).
	again := NewT(t, Options{Seed: 9, Tenants: 2})
	assert.Equal(t, cipp, again.CIPPCredentials())
	assert.Equal(t, srv.PartnerApp(), again.PartnerApp())
	assert.NotEqual(t, srv.PartnerRefreshToken(), again.PartnerRefreshToken(), "refresh tokens are random")
}

func TestTokenEndpointVariants(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 10, Tenants: 3})
	partner := srv.PartnerApp()

	t.Run("client_secret_basic", func(t *testing.T) {
		t.Parallel()
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.EntraURL()+"/"+partner.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(partner.ClientID), url.QueryEscape(partner.Secret))
		resp, err := srv.HTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var tr tokenResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
		require.Equal(t, http.StatusOK, resp.StatusCode, tr.Description)
		claims, err := srv.verifyBearer(bearerRequest(tr.AccessToken), AudienceGraph)
		require.NoError(t, err)
		assert.Equal(t, partner.ClientID, claims.AppID)
	})
	t.Run("basic and body disagree", func(t *testing.T) {
		t.Parallel()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"someone-else"}, "scope": {"https://graph.microsoft.com/.default"}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.EntraURL()+"/"+partner.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(partner.ClientID, partner.Secret)
		resp, err := srv.HTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("v1 endpoint with resource", func(t *testing.T) {
		t.Parallel()
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {partner.ClientID}, "client_secret": {partner.Secret},
			"refresh_token": {srv.PartnerRefreshToken()}, "resource": {"https://api.partnercenter.microsoft.com"}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.EntraURL()+"/"+partner.TenantID+"/oauth2/token", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := srv.HTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "3599", body["expires_in"], "v1 numbers are strings")
		assert.Equal(t, AudiencePartnerCenter, body["resource"])
		assert.NotEmpty(t, body["expires_on"])
		assert.NotEmpty(t, body["refresh_token"])
		claims, err := srv.verifyBearer(bearerRequest(body["access_token"].(string)), AudiencePartnerCenter)
		require.NoError(t, err)
		assert.Equal(t, srv.PartnerUserID(), claims.UserID)
	})
	t.Run("unparseable body", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.EntraURL()+"/"+partner.TenantID+"/oauth2/v2.0/token", strings.NewReader("%zz"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := srv.HTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

// A verified signature is remembered by the token it signs: the same signature on a changed
// payload, or on a changed header, is still refused, and an expired token still expires.
func TestVerifyBearerRemembersOnlyWhatItVerified(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 8, Tenants: 1})
	c := Claims{Audience: AudienceGraph, TenantID: srv.World.Tenants[0].ID, AppID: "app"}
	verify := func(tok string) error {
		r := bearerRequest("")
		r.Header.Set("Authorization", "Bearer "+tok)
		_, err := srv.verifyBearer(r, AudienceGraph)
		return err
	}
	srv.SetTokenLifetime(3 * time.Second) // at least 2 s, as exp is in whole seconds
	short, _ := srv.signToken(c)
	for range 2 {
		require.NoError(t, verify(short))
	}
	srv.SetTokenLifetime(DefaultTokenLifetime)
	good, _ := srv.signToken(c)
	for range 2 {
		require.NoError(t, verify(good))
	}
	p := strings.Split(good, ".")
	other := strings.Split(short, ".")
	assert.ErrorIs(t, verify(p[0]+"."+other[1]+"."+p[2]), errTokenSignature, "another token's payload under this signature")
	assert.ErrorIs(t, verify(other[0]+"."+p[1]+"."+other[2]), errTokenSignature)
	require.Eventually(t, func() bool { return errors.Is(verify(short), errTokenExpired) }, 5*time.Second, 50*time.Millisecond,
		"a token verified before stays refused once expired")
}

// With TokenCache a token request for the same claims is answered with the token issued
// before while half its lifetime remains, and with what remains; other claims, or another
// lifetime, get a token of their own.
func TestTokenCacheHandsOutFreshTokensAgain(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 8, Tenants: 2, TokenCache: true, TokenLifetime: 4 * time.Second})
	c := Claims{Audience: AudienceGraph, TenantID: srv.World.Tenants[0].ID, AppID: "app"}
	first, life := srv.signToken(c)
	assert.Equal(t, 4*time.Second, life)
	again, left := srv.signToken(c)
	assert.Equal(t, first, again)
	assert.Less(t, left, 4*time.Second, "the token issued before, with what remains of it")
	assert.GreaterOrEqual(t, left, 2*time.Second)

	c2 := c
	c2.TenantID = srv.World.Tenants[1].ID
	other, _ := srv.signToken(c2)
	assert.NotEqual(t, first, other)
	c3 := c
	c3.Scope = "User.Read"
	scoped, _ := srv.signToken(c3)
	assert.NotEqual(t, first, scoped)

	srv.SetTokenLifetime(time.Hour)
	longer, life := srv.signToken(c)
	assert.NotEqual(t, first, longer)
	assert.Equal(t, time.Hour, life)

	srv.SetTokenLifetime(4 * time.Second)
	require.Eventually(t, func() bool {
		tok, left := srv.signToken(c)
		return tok != first && left == 4*time.Second
	}, 5*time.Second, 100*time.Millisecond, "a token past half its lifetime is issued anew")
}
