package testserver

import (
	"crypto"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t thumbprints are SHA-1 by definition (RFC 7515 §4.1.7).
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Audiences of the tokens the fake issues (from the scope's resource).
const (
	AudienceGraph         = "https://graph.microsoft.com"
	AudiencePartnerCenter = "https://api.partnercenter.microsoft.com"
	// A CIPP API client's tokens have audience "api://<clientId>".
)

// audienceOwnAPI, passed to verifyBearer, asks for the audience "api://<the token's appid>":
// a CIPP API client's token is for its own app registration, so the CIPP fake cannot know the
// expected audience before reading the token.
const audienceOwnAPI = "api://"

// DefaultTokenLifetime is the expires_in of an access token unless Options.TokenLifetime says
// otherwise (Entra ID's usual 3599 seconds).
const DefaultTokenLifetime = 3599 * time.Second

// refreshTokenGrace is how long a refresh token that was rotated keeps working, so that workers
// redeeming the same stored token at once all succeed; after it only the new token works, which
// is what makes a client that forgets to store the rotated token fail in tests.
const refreshTokenGrace = 2 * time.Minute

// Credentials identify an app registration: the tenant it lives in, its client ID and a secret.
// Its String form hides the secret, so credentials can be logged in test output.
type Credentials struct {
	TenantID string
	ClientID string
	Secret   string
}

// String redacts the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("{TenantID:%s ClientID:%s Secret:[REDACTED]}", c.TenantID, c.ClientID)
}

// GoString redacts the secret from %#v as well.
func (c Credentials) GoString() string { return "testserver.Credentials" + c.String() }

// App is an app registration known to the fake Entra ID.
type App struct {
	ClientID    string
	DisplayName string
	Secret      string
	HomeTenant  string
	// MultiTenant apps may get tokens in customer tenants where Tenant.Consented is true.
	MultiTenant bool
	// CIPPRole is the CIPP-API role of an API client: "readonly", "editor", "admin", or "" (roleless).
	CIPPRole string
	// SecretExpired makes token requests fail with AADSTS7000222.
	SecretExpired bool
	// Certs are the certificates registered on the app: a client assertion signed by the key of
	// one of them (matched by its x5t#S256 or x5t thumbprint) authenticates the client.
	Certs []*x509.Certificate
}

// Claims are what a fake access token asserts.
type Claims struct {
	Audience string
	TenantID string // tid: the tenant the token was issued for
	AppID    string
	UserID   string // the partner user, for tokens redeemed from a refresh token; "" for app-only
	IssuedAt time.Time
	Expires  time.Time
	// Scope is the delegated scope ("scp") of a user token, "" for app-only tokens.
	Scope string
}

// Token verification failures, wrapped by verifyBearer's errors so each fake can map them onto
// its own 401 body (Graph: "Access token is empty." for errTokenMissing, "Access token has expired
// or is not yet valid." for errTokenExpired, "CompactToken parsing failed…" for errTokenMalformed).
var (
	errTokenMissing   = errors.New("no bearer token")
	errTokenMalformed = errors.New("malformed token")
	errTokenSignature = errors.New("token signature is not valid")
	errTokenExpired   = errors.New("token has expired")
	errTokenAudience  = errors.New("token audience is wrong")
)

// refreshToken is one issued SAM refresh token.
type refreshToken struct {
	userID   string
	clientID string
	issued   time.Time
	lastUsed time.Time
	// rotated is when the token was redeemed and replaced; zero while it is the newest.
	rotated time.Time
	revoked bool
	// expired marks a token dead from inactivity (ExpireRefreshTokens).
	expired bool
}

// authority is the fake Entra ID: app registrations, issued refresh tokens, token signing.
type authority struct {
	s *Server
	// kid names this server's signing key in token headers and the key set. The RSA key itself
	// is shared by every fake in the process (generating one per fake would cost tests tens of
	// milliseconds each); a token carrying another fake's kid is refused as not issued here.
	kid string

	lifetime atomic.Int64 // access token lifetime, nanoseconds

	// issued holds the access tokens issued for reuse, with Options.TokenCache.
	issuedMu sync.Mutex
	issued   map[tokenKey]issuedToken

	mu sync.Mutex
	// apps by client ID.
	apps map[string]*App
	// refresh tokens by value; newest is the last one issued to the partner admin.
	refresh     map[string]*refreshToken
	newest      string
	validFrom   time.Time // tokens issued before this were revoked (RevokeRefreshTokens)
	rng         *rand.Rand
	cippAdmin   string // client ID of CIPPCredentials
	partnerApp  string // client ID of PartnerApp
	partnerUser partnerUser
}

// partnerUser is the partner admin who signed in once for the Secure Application Model.
type partnerUser struct {
	ID  string
	UPN string
}

func newAuthority(s *Server) *authority {
	a := &authority{
		s:       s,
		kid:     randomKID(),
		apps:    map[string]*App{},
		refresh: map[string]*refreshToken{},
		// Credentials follow the seed so a standalone fake started with the same seed prints
		// the same credentials every time.
		rng: rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x656e747261)),
	}
	lifetime := s.opts.TokenLifetime
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	a.lifetime.Store(int64(lifetime))

	w := s.World
	w.mu.RLock()
	home, domain := w.PartnerTenantID, w.PartnerDomain
	w.mu.RUnlock()

	a.cippAdmin = a.register(&App{DisplayName: "CIPP-API tenantsync", HomeTenant: home, CIPPRole: "admin"}).ClientID
	a.partnerApp = a.register(&App{DisplayName: "Partner Sync App", HomeTenant: home, MultiTenant: true}).ClientID
	a.partnerUser = partnerUser{ID: newGUID(a.rng), UPN: "admin@" + domain}
	a.newest = a.issueRefresh(a.partnerUser.ID, a.partnerApp, time.Now())
	return a
}

// register gives app a client ID and secret (unless set) and stores it. Callers hold no lock or
// a.mu is not yet shared (construction).
func (a *authority) register(app *App) *App {
	if app.ClientID == "" {
		app.ClientID = newGUID(a.rng)
	}
	if app.Secret == "" {
		app.Secret = newSecret(a.rng)
	}
	a.apps[app.ClientID] = app
	return app
}

// newSecret returns a secret in the shape Entra ID generates: three characters, "8Q~", then 34.
func newSecret(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~"
	b := make([]byte, 40)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	copy(b[3:], "8Q~")
	return string(b)
}

// issueRefresh stores a new refresh token; the caller holds a.mu (or is the constructor).
func (a *authority) issueRefresh(userID, clientID string, now time.Time) string {
	b := make([]byte, 48)
	_, _ = cryptorand.Read(b)
	tok := "1.AQ" + base64.RawURLEncoding.EncodeToString(b)
	a.refresh[tok] = &refreshToken{userID: userID, clientID: clientID, issued: now, lastUsed: now}
	return tok
}

// CIPPCredentials returns the admin-role CIPP API client registered in the partner tenant: the
// credentials a PSA enters to reach CIPP-API (token scope "api://<ClientID>/.default").
func (s *Server) CIPPCredentials() Credentials {
	return s.credentials(s.auth.cippAdmin)
}

// NewCIPPClient registers another CIPP API client in the partner tenant with role "readonly",
// "editor", "admin" or "" (a roleless client, which CIPP refuses everything) and returns its
// credentials.
func (s *Server) NewCIPPClient(role string) Credentials {
	home := s.World.partnerTenantID()
	a := s.auth
	a.mu.Lock()
	app := a.register(&App{DisplayName: "CIPP-API " + role, HomeTenant: home, CIPPRole: role})
	a.mu.Unlock()
	return s.credentials(app.ClientID)
}

// PartnerApp returns the partner's multi-tenant app: app-only tokens in the partner tenant and in
// every consented customer tenant, and the client of the SAM refresh token.
func (s *Server) PartnerApp() Credentials { return s.credentials(s.auth.partnerApp) }

// PartnerUserID is the object ID of the partner admin whose refresh token PartnerRefreshToken
// returns (the oid of tokens redeemed from it).
func (s *Server) PartnerUserID() string { return s.auth.partnerUser.ID }

// PartnerRefreshToken returns the newest SAM refresh token of the partner admin user for the
// PartnerApp. Redeeming a refresh token rotates it: the response carries the next one, and the
// redeemed one stops working two minutes later.
func (s *Server) PartnerRefreshToken() string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.newest
}

// ExpireSecret marks the client's secret expired: its token requests fail with AADSTS7000222.
func (s *Server) ExpireSecret(clientID string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if app := s.auth.apps[clientID]; app != nil {
		app.SecretExpired = true
	}
}

// RevokeRefreshTokens revokes every refresh token issued so far, as an admin revoking the partner
// user's sessions or resetting their password does (AADSTS50173 afterwards). A fresh token for
// later use is issued at once and returned by PartnerRefreshToken, standing for the partner
// admin signing in again.
func (s *Server) RevokeRefreshTokens() {
	a := s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for _, rt := range a.refresh {
		rt.revoked = true
	}
	a.validFrom = now
	a.newest = a.issueRefresh(a.partnerUser.ID, a.partnerApp, now)
}

// ExpireRefreshTokens makes every refresh token issued so far dead from inactivity
// (AADSTS700082), as after 90 days unused. Like RevokeRefreshTokens it issues a fresh token.
func (s *Server) ExpireRefreshTokens() {
	a := s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rt := range a.refresh {
		rt.expired = true
	}
	a.newest = a.issueRefresh(a.partnerUser.ID, a.partnerApp, time.Now())
}

// SetConsent sets whether the partner app is consented in a customer tenant.
func (s *Server) SetConsent(tenantID string, consented bool) {
	w := s.World
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.byID[strings.ToLower(tenantID)]; t != nil {
		t.Consented = consented
	}
}

// App returns the app registration with clientID, or nil. The fakes read CIPPRole from it; the
// returned App must not be changed.
func (s *Server) App(clientID string) *App {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	app := s.auth.apps[clientID]
	if app == nil {
		return nil
	}
	c := *app
	return &c
}

// RegisterApp adds an app registration (a client ID and secret are generated when empty; an empty
// HomeTenant means the partner tenant) and returns its credentials, for tests of other apps, for
// instance one authenticating with a certificate.
func (s *Server) RegisterApp(app App) Credentials {
	if app.HomeTenant == "" {
		app.HomeTenant = s.World.partnerTenantID()
	}
	s.auth.mu.Lock()
	a := s.auth.register(&app)
	s.auth.mu.Unlock()
	return s.credentials(a.ClientID)
}

// SetTokenLifetime changes the lifetime of access tokens issued from now on.
func (s *Server) SetTokenLifetime(d time.Duration) { s.auth.lifetime.Store(int64(d)) }

func (s *Server) credentials(clientID string) Credentials {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	app := s.auth.apps[clientID]
	return Credentials{TenantID: app.HomeTenant, ClientID: app.ClientID, Secret: app.Secret}
}

func (s *Server) entraHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.jwks)
	mux.HandleFunc("GET /{tenant}/discovery/keys", s.jwks)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	// The v1 endpoint (resource= instead of scope=) is what Partner Center's SAM documentation
	// and older MSP scripts use.
	mux.HandleFunc("POST /{tenant}/oauth2/token", s.token)
	return mux
}

// entraTenant returns the tenant of a token endpoint path: the tenant's ID when the segment
// names a known tenant by ID or domain, else the segment itself.
func (s *Server) entraTenant(r *http.Request) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if id := s.resolveTenant(seg); id != "" {
		return id
	}
	return seg
}

// resolveTenant maps a tenant ID or domain to the ID of the partner or a customer tenant, or "".
func (s *Server) resolveTenant(seg string) string {
	w := s.World
	w.mu.RLock()
	partnerID, partnerDomain := w.PartnerTenantID, w.PartnerDomain
	w.mu.RUnlock()
	if strings.EqualFold(seg, partnerID) || strings.EqualFold(seg, partnerDomain) {
		return partnerID
	}
	if t := w.Tenant(strings.ToLower(seg)); t != nil {
		return t.ID
	}
	if t := w.TenantByDomain(seg); t != nil {
		return t.ID
	}
	return ""
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if s.resolveTenant(tenant) == "" {
		writeAADError(w, r, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	// Entra ID answers with the tenant's GUID in every URL, whether it was asked by GUID or by
	// one of the tenant's domains: the issuer is what tokens are checked against, and a domain
	// there would make a validator refuse every token.
	base := s.EntraURL() + "/" + s.resolveTenant(tenant)
	writeJSON(w, http.StatusOK, map[string]any{
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "EU",
	})
}

// aadError is one token endpoint failure: the OAuth error, the AADSTS code and its message.
type aadError struct {
	status   int
	err      string
	suberror string
	code     int
	message  string
}

func (e *aadError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.message) }

func invalidClient(code int, msg string) *aadError {
	return &aadError{status: http.StatusUnauthorized, err: "invalid_client", code: code, message: msg}
}

func badRequest(oauthErr string, code int, msg string) *aadError {
	return &aadError{status: http.StatusBadRequest, err: oauthErr, code: code, message: msg}
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	tenantSeg     string // as given in the path
	tenantID      string // resolved, "" when unknown
	grant         string
	clientID      string
	secret        string
	assertion     string
	assertionType string
	resource      string // audience the scope asks for
	scope         string
	refresh       string
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeAADError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	v1 := !strings.Contains(r.URL.Path, "/v2.0/")
	resp, aerr := s.issueToken(r, v1)
	if aerr != nil {
		writeAADError(w, r, aerr.status, aerr.err, aerr.code, aerr.message, aerr.suberror)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) issueToken(r *http.Request, v1 bool) (map[string]any, *aadError) {
	f := r.PostForm
	tr := tokenRequest{
		tenantSeg:     r.PathValue("tenant"),
		grant:         f.Get("grant_type"),
		clientID:      f.Get("client_id"),
		secret:        f.Get("client_secret"),
		assertion:     f.Get("client_assertion"),
		assertionType: f.Get("client_assertion_type"),
		scope:         f.Get("scope"),
		refresh:       f.Get("refresh_token"),
	}
	// client_secret_basic: golang.org/x/oauth2 tries it first. RFC 6749 §2.3.1 form-encodes
	// both parts before base64.
	if id, secret, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if tr.clientID != "" && tr.clientID != id {
			return nil, badRequest("invalid_request", 50027, "The client_id in the Authorization header does not match the client_id in the request body.")
		}
		tr.clientID, tr.secret = id, secret
	}
	if v1 && tr.scope == "" {
		if res := f.Get("resource"); res != "" {
			tr.scope = strings.TrimSuffix(res, "/") + "/.default"
		}
	}
	if tr.grant == "" {
		return nil, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	if tr.grant != "client_credentials" && tr.grant != "refresh_token" {
		return nil, badRequest("unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", tr.grant))
	}
	if tr.clientID == "" {
		return nil, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	tr.tenantID = s.resolveTenant(tr.tenantSeg)
	if tr.tenantID == "" {
		return nil, badRequest("invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. The tenant name wasn't found in the data store.", tr.tenantSeg))
	}
	app, aerr := s.authenticateClient(tr)
	if aerr != nil {
		return nil, aerr
	}
	resource, scope, aerr := parseScope(tr.scope, tr.grant == "client_credentials")
	if aerr != nil {
		return nil, aerr
	}
	tr.resource, tr.scope = resource, scope
	var resp map[string]any
	if tr.grant == "client_credentials" {
		resp, aerr = s.appOnlyToken(app, tr)
	} else {
		resp, aerr = s.delegatedToken(app, tr)
	}
	if aerr != nil || !v1 {
		return resp, aerr
	}
	// v1 answers carry numbers as strings, and the resource instead of the scope.
	now := time.Now().Unix()
	exp := resp["expires_in"].(int)
	resp["expires_in"] = strconv.Itoa(exp)
	resp["ext_expires_in"] = strconv.Itoa(exp)
	resp["expires_on"] = strconv.FormatInt(now+int64(exp), 10)
	resp["not_before"] = strconv.FormatInt(now, 10)
	resp["resource"] = tr.resource
	delete(resp, "scope")
	return resp, nil
}

// authenticateClient finds the app and checks its secret or client assertion.
func (s *Server) authenticateClient(tr tokenRequest) (*App, *aadError) {
	a := s.auth
	a.mu.Lock()
	stored := a.apps[tr.clientID]
	var app App
	if stored != nil {
		app = *stored
	}
	a.mu.Unlock()
	if stored == nil {
		return nil, badRequest("unauthorized_client", 700016, appNotFound(tr.clientID, tr.tenantSeg))
	}
	secret, assertion := tr.secret, tr.assertion
	switch {
	case assertion != "":
		if t := tr.assertionType; t != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, badRequest("invalid_request", 50027, fmt.Sprintf("Invalid client_assertion_type '%s'.", t))
		}
		endpoint := s.EntraURL() + "/" + tr.tenantSeg + "/oauth2/v2.0/token"
		if aerr := verifyAssertion(assertion, &app, endpoint); aerr != nil {
			return nil, aerr
		}
	case secret != "":
		if !hmac.Equal([]byte(secret), []byte(app.Secret)) {
			return nil, invalidClient(7000215, fmt.Sprintf("Invalid client secret is provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID))
		}
		if app.SecretExpired {
			return nil, invalidClient(7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.ClientID))
		}
	default:
		return nil, invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return &app, nil
}

func appNotFound(clientID, tenant string) string {
	return fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
}

// verifyAssertion checks a client assertion JWT as MSAL for Go signs it: PS256 (or RS256 with
// x5t) by the key of one of the app's certificates, aud the token endpoint, iss and sub the client.
func verifyAssertion(assertion string, app *App, endpoint string) *aadError {
	bad := func(reason string) *aadError {
		return invalidClient(700027, "Client assertion failed signature validation. [Reason - "+reason+"]")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return bad("The assertion is not a JWT.")
	}
	var header struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud string      `json:"aud"`
		Iss string      `json:"iss"`
		Sub string      `json:"sub"`
		Exp json.Number `json:"exp"`
		Nbf json.Number `json:"nbf"`
	}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return bad("The assertion could not be decoded.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return bad("The signature could not be decoded.")
	}
	var cert *x509.Certificate
	for _, c := range app.Certs {
		s256 := sha256.Sum256(c.Raw)
		s1 := sha1.Sum(c.Raw) //nolint:gosec // x5t is defined as SHA-1.
		if (header.X5tS256 != "" && thumbprintEqual(header.X5tS256, s256[:])) || (header.X5t != "" && thumbprintEqual(header.X5t, s1[:])) {
			cert = c
			break
		}
	}
	if cert == nil {
		return bad("The key was not found.")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad("The key type is not supported.")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		return bad("The algorithm '" + header.Alg + "' is not supported.")
	}
	if err != nil {
		return bad("The signature does not match the key.")
	}
	if claims.Aud != endpoint {
		return invalidClient(700023, "Client assertion audience claim does not match Realm issuer.")
	}
	if claims.Iss != app.ClientID || claims.Sub != app.ClientID {
		return invalidClient(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
	}
	exp, _ := claims.Exp.Int64()
	if exp == 0 || time.Now().Unix() >= exp {
		return invalidClient(700024, "Client assertion is not within its valid time range.")
	}
	return nil
}

func thumbprintEqual(got string, want []byte) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(got); err == nil {
			return hmac.Equal(b, want)
		}
	}
	if b, err := hex.DecodeString(got); err == nil {
		return hmac.Equal(b, want)
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v)
}

// parseScope returns the one resource a scope names (its audience) and the delegated scope.
// Client credentials need "<resource>/.default"; OIDC scopes are ignored.
func parseScope(scope string, appOnly bool) (resource, delegated string, _ *aadError) {
	var scopes []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		scopes = append(scopes, sc)
	}
	if len(scopes) == 0 {
		return "", "", badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	var names []string
	for _, sc := range scopes {
		res, perm := splitScope(sc)
		if res == "" {
			return "", "", badRequest("invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid.", sc))
		}
		if resource != "" && res != resource {
			return "", "", badRequest("invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid. Scopes for multiple resources were requested.", scope))
		}
		if appOnly && perm != ".default" {
			return "", "", badRequest("invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", sc))
		}
		resource = res
		if perm != ".default" {
			names = append(names, perm)
		}
	}
	if !appOnly && len(names) == 0 {
		names = []string{"user_impersonation"}
	}
	return resource, strings.Join(names, " "), nil
}

// splitScope splits "https://graph.microsoft.com/User.Read" into resource and permission.
func splitScope(sc string) (resource, perm string) {
	for _, res := range cloudAudiences() {
		if rest, ok := strings.CutPrefix(sc, res+"/"); ok && rest != "" {
			return res, rest
		}
	}
	if rest, ok := strings.CutPrefix(sc, "api://"); ok {
		id, perm, ok := strings.Cut(rest, "/")
		if ok && id != "" && perm != "" {
			return "api://" + id, perm
		}
	}
	return "", ""
}

func (s *Server) appOnlyToken(app *App, tr tokenRequest) (map[string]any, *aadError) {
	if aerr := s.checkAppInTenant(app, tr); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkResource(tr); aerr != nil {
		return nil, aerr
	}
	tok, exp := s.signToken(Claims{Audience: tr.resource, TenantID: tr.tenantID, AppID: app.ClientID})
	return map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(exp.Seconds()),
		"ext_expires_in": int(exp.Seconds()),
		"access_token":   tok,
	}, nil
}

// checkAppInTenant refuses an app-only request in a tenant where the app has no consented
// service principal.
func (s *Server) checkAppInTenant(app *App, tr tokenRequest) *aadError {
	if tr.tenantID == app.HomeTenant {
		return nil
	}
	if app.MultiTenant {
		w := s.World
		w.mu.RLock()
		t := w.byID[tr.tenantID]
		consented := t != nil && t.Consented
		w.mu.RUnlock()
		if consented {
			return nil
		}
	}
	return badRequest("unauthorized_client", 700016, appNotFound(app.ClientID, tr.tenantSeg))
}

// checkResource refuses an api:// resource that is not an app registration of the tenant.
func (s *Server) checkResource(tr tokenRequest) *aadError {
	id, ok := strings.CutPrefix(tr.resource, "api://")
	if !ok {
		return nil
	}
	s.auth.mu.Lock()
	app := s.auth.apps[id]
	s.auth.mu.Unlock()
	if app != nil && app.HomeTenant == tr.tenantID {
		return nil
	}
	return badRequest("invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", tr.resource, tr.tenantSeg))
}

func (s *Server) delegatedToken(app *App, tr tokenRequest) (map[string]any, *aadError) {
	if tr.refresh == "" {
		return nil, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
	}
	a := s.auth
	now := time.Now()
	a.mu.Lock()
	rt := a.refresh[tr.refresh]
	var aerr *aadError
	switch {
	case rt == nil:
		aerr = badRequest("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	case rt.clientID != app.ClientID:
		aerr = badRequest("invalid_grant", 70000, "Provided grant is invalid or malformed. The refresh token was issued to a different client.")
	case rt.revoked:
		aerr = badRequest("invalid_grant", 50173, fmt.Sprintf("The provided grant has expired due to it being revoked, and a fresh auth token is needed. Either an admin or a user revoked the tokens for this user, causing subsequent token refreshes to fail and require reauthentication. Have the user sign in again. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.", aadTime(rt.issued), aadTime(a.validFrom)))
	case rt.expired:
		aerr = badRequest("invalid_grant", 700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00.", aadTime(rt.issued)))
	case !rt.rotated.IsZero() && now.Sub(rt.rotated) > refreshTokenGrace:
		aerr = badRequest("invalid_grant", 70008, fmt.Sprintf("The refresh token has expired due to inactivity. The provided refresh token was redeemed on %s and replaced by a newer one; send the newest refresh token.", aadTime(rt.rotated)))
	}
	if aerr != nil {
		a.mu.Unlock()
		return nil, aerr
	}
	userID := rt.userID
	a.mu.Unlock()

	if aerr := s.checkDelegatedAccess(app, tr); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkResource(tr); aerr != nil {
		return nil, aerr
	}

	a.mu.Lock()
	if rt.rotated.IsZero() {
		rt.rotated = now
	}
	rt.lastUsed = now
	next := a.issueRefresh(userID, app.ClientID, now)
	if userID == a.partnerUser.ID && app.ClientID == a.partnerApp {
		a.newest = next
	}
	a.mu.Unlock()

	tok, exp := s.signToken(Claims{Audience: tr.resource, TenantID: tr.tenantID, AppID: app.ClientID, UserID: userID, Scope: tr.scope})
	scope := strings.TrimSpace(tr.resource + "/" + strings.ReplaceAll(tr.scope, " ", " "+tr.resource+"/"))
	return map[string]any{
		"token_type":     "Bearer",
		"scope":          scope + " openid profile offline_access",
		"expires_in":     int(exp.Seconds()),
		"ext_expires_in": int(exp.Seconds()),
		"access_token":   tok,
		"refresh_token":  next,
	}, nil
}

// checkDelegatedAccess lets the partner user into the partner tenant, and into a customer tenant
// only through an active GDAP relationship and with the app consented there.
func (s *Server) checkDelegatedAccess(app *App, tr tokenRequest) *aadError {
	w := s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	if tr.tenantID == w.PartnerTenantID {
		return nil
	}
	t := w.byID[tr.tenantID]
	if !t.HasActiveRelationship(time.Now()) {
		return badRequest("invalid_grant", 50020, fmt.Sprintf("User account '%s' from identity provider 'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.", s.auth.partnerUser.UPN, w.PartnerTenantID, t.Name, app.ClientID, app.DisplayName))
	}
	if !t.Consented {
		e := badRequest("invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.ClientID, app.DisplayName))
		e.suberror = "consent_required"
		return e
	}
	return nil
}

// tokenClaims is the JSON payload of an issued access token, in Entra v1 access token names.
type tokenClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	Iat   int64  `json:"iat"`
	Nbf   int64  `json:"nbf"`
	Exp   int64  `json:"exp"`
	AppID string `json:"appid"`
	IDTyp string `json:"idtyp"`
	OID   string `json:"oid,omitempty"`
	Scp   string `json:"scp,omitempty"`
	Tid   string `json:"tid"`
	Ver   string `json:"ver"`
}

// tokenKey is what an access token is issued for, and at which lifetime.
type tokenKey struct {
	audience, tenant, app, user, scope string
	lifetime                           time.Duration
}

type issuedToken struct {
	token   string
	expires time.Time
}

// signToken issues an access token for c and returns it with its lifetime. With
// Options.TokenCache, a token issued for the same claims at the same lifetime is handed out
// again while at least half its lifetime remains, with what remains.
func (s *Server) signToken(c Claims) (string, time.Duration) {
	lifetime := time.Duration(s.auth.lifetime.Load())
	now := time.Now()
	key := tokenKey{c.Audience, c.TenantID, c.AppID, c.UserID, c.Scope, lifetime}
	if s.opts.TokenCache {
		s.auth.issuedMu.Lock()
		t, ok := s.auth.issued[key]
		s.auth.issuedMu.Unlock()
		if left := t.expires.Sub(now); ok && left >= lifetime/2 {
			return t.token, left
		}
	}
	tc := tokenClaims{
		Aud: c.Audience, Iss: "https://sts.windows.net/" + c.TenantID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(lifetime).Unix(),
		AppID: c.AppID, IDTyp: "app", OID: c.UserID, Scp: c.Scope, Tid: c.TenantID, Ver: "1.0",
	}
	if c.UserID != "" {
		tc.IDTyp = "user"
	}
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": s.auth.kid, "x5t": s.auth.kid})
	payload, _ := json.Marshal(tc)
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(payload)
	tok := signing + "." + signRS256(signing)
	if s.opts.TokenCache {
		s.auth.issuedMu.Lock()
		if s.auth.issued == nil || len(s.auth.issued) >= maxRemembered {
			s.auth.issued = map[tokenKey]issuedToken{}
		}
		s.auth.issued[key] = issuedToken{tok, time.Unix(tc.Exp, 0)}
		s.auth.issuedMu.Unlock()
	}
	return tok, lifetime
}

// signingKey is the RSA key of every fake in the process, made on first use.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(cryptorand.Reader, 2048)
	if err != nil {
		panic("testserver: generating the token signing key: " + err.Error())
	}
	return k
})

func signRS256(signing string) string {
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(cryptorand.Reader, signingKey(), crypto.SHA256, sum[:])
	if err != nil {
		panic("testserver: signing a token: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(sig)
}

// verified holds the tokens whose signature verified (the key never changes in a process, so
// neither does the outcome), up to maxRemembered of them: every request carries its token, and
// an RSA verification is most of the CPU a fake spends on one.
var (
	verifiedMu sync.Mutex
	verified   = map[[sha256.Size]byte]struct{}{}
)

// maxRemembered bounds the verified tokens and, with Options.TokenCache, the issued ones.
const maxRemembered = 1 << 16

func verifyRS256(signing, sig string) bool {
	key := sha256.Sum256([]byte(signing + "." + sig))
	verifiedMu.Lock()
	_, ok := verified[key]
	verifiedMu.Unlock()
	if ok {
		return true
	}
	b, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(signing))
	if rsa.VerifyPKCS1v15(&signingKey().PublicKey, crypto.SHA256, sum[:], b) != nil {
		return false
	}
	verifiedMu.Lock()
	if len(verified) >= maxRemembered {
		clear(verified)
	}
	verified[key] = struct{}{}
	verifiedMu.Unlock()
	return true
}

// randomKID is a key ID in the form Entra ID uses (27 base64url characters, like an x5t).
func randomKID() string {
	b := make([]byte, 20)
	_, _ = cryptorand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// jwks is the key set at the OpenID configuration's jwks_uri: the public half of the key that
// signs this fake's tokens, in the fields Entra ID publishes (RFC 7517).
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if s.resolveTenant(r.PathValue("tenant")) == "" && !isTenantAlias(r.PathValue("tenant")) {
		writeAADError(w, r, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", r.PathValue("tenant")))
		return
	}
	pub := signingKey().PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": s.auth.kid, "x5t": s.auth.kid,
		"n":      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"issuer": s.EntraURL() + "/{tenantid}/v2.0",
	}}})
}

// isTenantAlias reports the multi-tenant authority names Entra ID serves metadata for.
func isTenantAlias(seg string) bool {
	switch strings.ToLower(seg) {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}

// verifyBearer checks the Authorization header: a token this fake issued, unexpired, for audience
// (audienceOwnAPI accepts "api://<the token's appid>"). Its error wraps one of errTokenMissing,
// errTokenMalformed, errTokenSignature, errTokenExpired or errTokenAudience, for the caller to
// render in its service's shape; it never contains the token.
func (s *Server) verifyBearer(r *http.Request, audience string) (*Claims, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errTokenMissing
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, fmt.Errorf("%w: the Authorization header is not \"Bearer <token>\"", errTokenMissing)
	}
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a JWT (%d segments)", errTokenMalformed, len(parts))
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errTokenMalformed, err)
	}
	if hdr.Alg != "RS256" || hdr.Kid != s.auth.kid || !verifyRS256(parts[0]+"."+parts[1], parts[2]) {
		return nil, fmt.Errorf("%w: not issued by this fake", errTokenSignature)
	}
	var tc tokenClaims
	if err := decodeSegment(parts[1], &tc); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", errTokenMalformed, err)
	}
	c := &Claims{
		Audience: tc.Aud, TenantID: tc.Tid, AppID: tc.AppID, UserID: tc.OID, Scope: tc.Scp,
		IssuedAt: time.Unix(tc.Iat, 0), Expires: time.Unix(tc.Exp, 0),
	}
	if !time.Now().Before(c.Expires) {
		return nil, fmt.Errorf("%w: expired at %s", errTokenExpired, c.Expires.UTC().Format(time.RFC3339))
	}
	if audience == audienceOwnAPI {
		audience = "api://" + c.AppID
	}
	if canonicalAudience(c.Audience) != audience {
		return nil, fmt.Errorf("%w: audience %q, want %q", errTokenAudience, c.Audience, audience)
	}
	return c, nil
}

// aadTime formats a time as AADSTS messages do.
func aadTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// writeAADError writes Entra ID's token endpoint error body (reference §1.4): error,
// error_description "AADSTSnnnn: message\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
// error_codes, timestamp, trace_id, correlation_id, error_uri, plus suberror when given. The
// correlation ID echoes the request's client-request-id as Entra does.
func writeAADError(w http.ResponseWriter, r *http.Request, status int, oauthErr string, code int, message string, suberror ...string) {
	trace := randomGUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = randomGUID()
	}
	ts := aadTime(time.Now())
	body := map[string]any{
		"error":             oauthErr,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", code, message, trace, corr, ts),
		"error_codes":       []int{code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(code),
	}
	if len(suberror) > 0 && suberror[0] != "" {
		body["suberror"] = suberror[0]
	}
	w.Header().Set("x-ms-request-id", trace)
	w.Header().Set("client-request-id", corr)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, status, body)
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// randomGUID returns a random GUID-shaped string for request and trace IDs (not seeded: they
// identify responses, not World objects).
func randomGUID() string {
	var b [16]byte
	_, _ = cryptorand.Read(b[:])
	return formatGUID(b)
}
