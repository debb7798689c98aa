package entra

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/internal/onetime"
)

// ConnectStateTTL is how long a partner sign-in link stays valid, as for an admin-consent link.
const ConnectStateTTL = 15 * time.Minute

// connectSessionExpired is what the person sees for an unknown, used or stale state: the same
// words as the admin-consent helper's.
const connectSessionExpired = "Your session has expired. Please try connecting again."

// ConnectState is what a pending partner sign-in remembers between the link and the callback.
// The PKCE verifier never leaves the server: the link carries only its hash.
type ConnectState struct {
	Account  string // the PSA account that asked
	Actor    string // the person who started the sign-in, for the audit
	Verifier tenantsync.Secret
	Expires  time.Time
}

// ConnectStateStore keeps pending sign-ins. Take must return a state at most once (a one-time
// token), so a PSA running several instances keeps them in its shared database.
type ConnectStateStore interface {
	Put(ctx context.Context, state string, s ConnectState) error
	// Take returns and deletes the state; ok is false when it is unknown or already taken.
	Take(ctx context.Context, state string) (s ConnectState, ok bool, err error)
}

// MemoryConnectStateStore is a ConnectStateStore for one process. Expired states are dropped
// on Put.
type MemoryConnectStateStore struct {
	states *onetime.Store[ConnectState]
}

// NewMemoryConnectStateStore returns an empty in-memory store.
func NewMemoryConnectStateStore() *MemoryConnectStateStore {
	return &MemoryConnectStateStore{states: onetime.New(func(s ConnectState) time.Time { return s.Expires })}
}

// Put stores a state.
func (m *MemoryConnectStateStore) Put(_ context.Context, state string, s ConnectState) error {
	m.states.Put(state, s, time.Now())
	return nil
}

// Take returns and deletes a state.
func (m *MemoryConnectStateStore) Take(_ context.Context, state string) (ConnectState, bool, error) {
	s, ok := m.states.Take(state)
	return s, ok, nil
}

// PartnerConnectConfig configures the partner admin's sign-in.
type PartnerConnectConfig struct {
	// Cloud is the partner's cloud (default: global). It gives the authority and the Partner
	// Center scope asked for.
	Cloud Cloud
	// AuthorityHost replaces the cloud's login origin (tests against a fake).
	AuthorityHost string
	// PartnerTenantID is the partner tenant's ID (a GUID): the sign-in page is that tenant's,
	// and an account of any other tenant is refused.
	PartnerTenantID string
	// ClientID is the partner app's Application (client) ID; Secret its secret value, or
	// Certificates and Key its certificate.
	ClientID     string
	Secret       tenantsync.Secret
	Certificates []*x509.Certificate
	Key          tenantsync.PrivateKey
	// RedirectURI is the callback registered on the app (https; plain http only on loopback).
	RedirectURI string
	// States keeps pending sign-ins (default: a MemoryConnectStateStore).
	States ConnectStateStore
	// HTTPClient carries the code redemption (default: the package's transport).
	HTTPClient *http.Client
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// PartnerConnect is the Secure Application Model's one-time sign-in as a library a PSA mounts on
// its own web app: AuthURL builds the sign-in link (authorization code flow with PKCE, scopes
// openid, profile, offline_access and Partner Center's user_impersonation), Callback checks the
// redirect and redeems the code for the partner admin's refresh token. Keep the token with
// RefreshTokenSource (or the clients' RefreshToken settings), which rotates it on every use.
//
// The refresh token is redeemed by hand rather than through MSAL's AcquireTokenByAuthCode:
// MSAL keeps refresh tokens inside its serialized cache and has no call to hand one out or to
// take one in, so a sealed refresh token is the only form that RefreshTokenSource, the store's
// connection secrets and tokens made by existing SAM scripts all share.
type PartnerConnect struct {
	cfg       PartnerConnectConfig
	authority string
}

// NewPartnerConnect validates cfg.
func NewPartnerConnect(cfg PartnerConnectConfig) (*PartnerConnect, error) {
	bad := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: "entra", Op: "NewPartnerConnect", Message: msg, Hint: hint}
	}
	if cfg.Cloud.IsZero() {
		cfg.Cloud, _ = CloudByName(string(CloudGlobal))
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = cfg.Cloud.AuthorityHost
	}
	if ok, why := cfg.Cloud.Offers(ServicePartnerCenter); !ok {
		return nil, bad("Partner Center is not offered in the "+cfg.Cloud.Label+" cloud", why)
	}
	u, err := url.Parse(strings.TrimRight(cfg.AuthorityHost, "/"))
	switch {
	case err != nil || u.Host == "" || u.Scheme != "https":
		return nil, bad("the authority host is not an https URL", "leave AuthorityHost empty to use the cloud's login host")
	case !ids.IsGUID(strings.TrimSpace(cfg.PartnerTenantID)):
		return nil, bad("the partner tenant ID is not a GUID", "enter the partner tenant's Directory (tenant) ID, as shown in Entra ID > Overview")
	case !ids.IsGUID(strings.TrimSpace(cfg.ClientID)):
		return nil, bad("the client ID is not a GUID", "enter the partner app's Application (client) ID")
	case cfg.Secret.IsZero() && (len(cfg.Certificates) == 0 || cfg.Key.IsZero()):
		return nil, bad("neither a client secret nor a certificate and key is set",
			"the code is redeemed by the app: enter its client secret value, or its certificate and key")
	}
	if err := checkRedirect(cfg.RedirectURI); err != nil {
		return nil, err
	}
	if cfg.States == nil {
		cfg.States = NewMemoryConnectStateStore()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: httpx.DefaultTransport()}
	}
	cfg.HTTPClient = httpx.NoCrossOriginRedirects(cfg.HTTPClient, "entra")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PartnerTenantID = strings.ToLower(strings.TrimSpace(cfg.PartnerTenantID))
	return &PartnerConnect{cfg: cfg, authority: u.String()}, nil
}

// checkRedirect accepts an absolute https URL, or plain http on a loopback host only (the
// authorization code travels in it), without a fragment or user info.
func checkRedirect(raw string) error {
	bad := func(msg string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: "entra", Op: "NewPartnerConnect", Message: msg,
			Hint: "set RedirectURI to the https callback URL registered on the app (plain http only for localhost while developing)"}
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("the redirect URI is not an absolute URL")
	case u.User != nil || u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("the redirect URI carries user info or a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http":
		if strings.EqualFold(u.Hostname(), "localhost") {
			return nil
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.Unmap().IsLoopback() {
			return nil
		}
	}
	return bad("the redirect URI must use https (plain http only on a loopback host)")
}

// Scopes returns the scopes the sign-in asks for: OpenID (to learn who signed in),
// offline_access (without it no refresh token is issued) and Partner Center's delegated scope.
// The refresh token then redeems for Graph in customer tenants too: it is bound to the user and
// the app, not to a resource.
func (p *PartnerConnect) Scopes() []string {
	return []string{"openid", "profile", "offline_access", p.cfg.Cloud.PartnerCenterScope()}
}

// AuthURL returns the sign-in link for a partner admin, with a fresh one-time state that
// expires after ConnectStateTTL and a PKCE challenge whose verifier stays in the state store.
// account and actor are kept for the callback (the audit names the actor).
func (p *PartnerConnect) AuthURL(ctx context.Context, account, actor string) (string, error) {
	state, err := randomToken()
	if err != nil {
		return "", err
	}
	verifier, err := randomToken()
	if err != nil {
		return "", err
	}
	if err := p.cfg.States.Put(ctx, state, ConnectState{Account: account, Actor: actor,
		Verifier: tenantsync.NewSecret(verifier), Expires: p.cfg.Now().Add(ConnectStateTTL)}); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{}
	q.Set("client_id", p.cfg.ClientID)
	q.Set("response_type", "code")
	q.Set("response_mode", "query")
	q.Set("redirect_uri", p.cfg.RedirectURI)
	q.Set("scope", strings.Join(p.Scopes(), " "))
	q.Set("state", state)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	return p.authority + "/" + p.cfg.PartnerTenantID + "/oauth2/v2.0/authorize?" + q.Encode(), nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "entra", Op: "AuthURL",
			Message: "the system's random source failed", Hint: "try again"}
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// PartnerAuthorization is a redeemed partner sign-in: who signed in, and the refresh token to
// keep sealed. It prints without the token.
type PartnerAuthorization struct {
	Account string
	Actor   string
	// TenantID, UserID and UserPrincipalName identify the partner admin who signed in.
	TenantID          string
	UserID            string
	UserPrincipalName string
	// RefreshToken is the partner admin's refresh token: store it sealed, and hand it to a
	// RefreshTokenSource (or the clients' RefreshToken), which rotates it on every use.
	RefreshToken tenantsync.Secret
	// Scopes are the scopes Entra ID granted.
	Scopes []string
}

// Callback checks the query of the redirect Entra ID sent back and redeems its code. It fails
// with ErrInvalidInput ("Your session has expired…") for an unknown, reused or stale state,
// and otherwise explains each failure to the person who signed in: consent declined
// (ErrConsentRequired), multifactor authentication not satisfied (ErrAuthorizationRevoked), an
// account outside the partner tenant (ErrForbidden), no refresh token issued
// (ErrConsentRequired, offline_access), or the redemption's own Entra ID error. A failure after
// the state was accepted still returns the result with Account and Actor (and no token), so the
// caller can audit who tried.
func (p *PartnerConnect) Callback(ctx context.Context, query url.Values) (*PartnerAuthorization, error) {
	const op = "ConnectCallback"
	state := query.Get("state")
	if state == "" || len(state) > 256 {
		return nil, connectError(tenantsync.ErrInvalidInput, op, "", connectSessionExpired, connectSessionExpired)
	}
	st, ok, err := p.cfg.States.Take(ctx, state)
	if err != nil {
		return nil, err
	}
	if !ok || p.cfg.Now().After(st.Expires) {
		return nil, connectError(tenantsync.ErrInvalidInput, op, "", connectSessionExpired, connectSessionExpired)
	}
	who := &PartnerAuthorization{Account: st.Account, Actor: st.Actor}
	if e := query.Get("error"); e != "" {
		return who, p.signInError(op, e, query.Get("error_description"))
	}
	code := query.Get("code")
	if code == "" || len(code) > 8192 {
		return who, connectError(tenantsync.ErrInvalidInput, op, "", "Microsoft sent no authorization code back; try connecting again",
			"the redirect carries neither a code nor an error")
	}
	auth, err := p.Redeem(ctx, code, st.Verifier)
	if err != nil {
		return who, err
	}
	auth.Account, auth.Actor = st.Account, st.Actor
	return auth, nil
}

// Hints for the partner sign-in, in the words of the partner admin.
const (
	hintConnectDeclined = "the permissions the app asked for were declined: connect again and choose Accept; if your " +
		"organisation requires an administrator's approval, ask a Global Administrator of the partner tenant to approve the app"
	hintConnectMFA = "Partner Center requires multifactor authentication and this sign-in did not complete it: connect " +
		"again and finish the MFA prompt (register a method first if the account has none)"
	hintConnectOtherTenant = "the account you signed in with does not belong to the partner tenant: sign out, then connect " +
		"again with a partner admin account of the partner tenant (not a customer's account or a guest)"
	hintConnectNoRefresh = "Microsoft did not provide a refresh token, so the connection could not be kept: the sign-in " +
		"must grant offline_access (check the app registration's API permissions include offline_access and that the " +
		"admin consent covers it), then connect again"
)

// signInError explains an error the authorization endpoint redirected with.
func (p *PartnerConnect) signInError(op, oauthErr, desc string) error {
	code := aadstsCode(desc)
	msg := httpx.Redact(firstLine(desc))
	if msg == "" {
		msg = oauthErr
	}
	e := &tenantsync.Error{Service: "entra", Op: op, Tenant: p.cfg.PartnerTenantID, Message: msg, Code: code}
	if e.Code == "" {
		e.Code = oauthErr
	}
	switch {
	case oauthErr == "access_denied" || code == "AADSTS65004" || code == "AADSTS65001" && oauthErr == "consent_required":
		e.Class, e.Hint = tenantsync.ErrConsentRequired, hintConnectDeclined
	case code == "AADSTS50076" || code == "AADSTS50079" || code == "AADSTS50074" || oauthErr == "interaction_required":
		e.Class, e.Hint = tenantsync.ErrAuthorizationRevoked, hintConnectMFA
	case code == "AADSTS50020" || code == "AADSTS500200":
		e.Class, e.Hint = tenantsync.ErrForbidden, hintConnectOtherTenant
	default:
		hint, class := entraKind(atoiCode(code), oauthErr, 0)
		e.Class, e.Hint = class, hint
	}
	return e
}

func connectError(class error, op, tenant, hint, msg string) error {
	return &tenantsync.Error{Class: class, Service: "entra", Op: op, Tenant: tenant, Message: msg, Hint: hint}
}

func aadstsCode(desc string) string {
	i := strings.Index(desc, "AADSTS")
	if i < 0 {
		return ""
	}
	j := i + len("AADSTS")
	for j < len(desc) && desc[j] >= '0' && desc[j] <= '9' {
		j++
	}
	if j == i+len("AADSTS") {
		return ""
	}
	return desc[i:j]
}

func atoiCode(code string) int {
	n := 0
	for _, r := range strings.TrimPrefix(code, "AADSTS") {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// codeResponse is the token endpoint's answer to an authorization code.
type codeResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// idClaims are the ID token claims Redeem reads. The ID token comes straight from the token
// endpoint over TLS, which OpenID Connect Core (3.1.3.7) accepts in place of checking its
// signature in the code flow.
type idClaims struct {
	TID               string `json:"tid"`
	OID               string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	// IDP is set for a guest: the tenant that really authenticated the account.
	IDP string `json:"idp"`
}

// Redeem exchanges an authorization code and its PKCE verifier for the partner admin's tokens
// and checks that a refresh token came back and that the account belongs to the partner tenant.
func (p *PartnerConnect) Redeem(ctx context.Context, code string, verifier tenantsync.Secret) (*PartnerAuthorization, error) {
	const op = "RedeemCode"
	tenant := p.cfg.PartnerTenantID
	endpoint := p.authority + "/" + tenant + "/oauth2/v2.0/token"
	form := url.Values{
		"client_id":     {p.cfg.ClientID},
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.cfg.RedirectURI},
		"code_verifier": {verifier.Reveal()},
		"scope":         {strings.Join(p.Scopes(), " ")},
	}
	if !p.cfg.Secret.IsZero() {
		form.Set("client_secret", p.cfg.Secret.Reveal())
	} else {
		assertion, err := clientAssertion(p.cfg.Certificates, p.cfg.Key.Signer(), p.cfg.ClientID, endpoint, time.Now())
		if err != nil {
			return nil, MapError(err, "entra", tenant)
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", assertion)
	}
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, MapError(err, "entra", tenant)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, MapError(err, "entra", tenant)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, MapError(err, "entra", tenant)
	}
	if resp.StatusCode != http.StatusOK {
		e := MapError(&ResponseError{StatusCode: resp.StatusCode, Body: body}, "entra", tenant)
		e.Op = op
		switch e.Code {
		case "AADSTS50076", "AADSTS50079":
			e.Class, e.Hint = tenantsync.ErrAuthorizationRevoked, hintConnectMFA
		case "AADSTS50020":
			e.Class, e.Hint = tenantsync.ErrForbidden, hintConnectOtherTenant
		case "AADSTS54005", "AADSTS70008", "AADSTS50148", "AADSTS501481":
			e.Class, e.Hint = tenantsync.ErrInvalidInput, "the sign-in was already used or did not match this request: connect again"
		}
		return nil, e
	}
	var cr codeResponse
	if err := json.Unmarshal(body, &cr); err != nil || cr.AccessToken == "" {
		return nil, connectError(tenantsync.ErrUnavailable, op, tenant, "check the authority host; connect again later",
			"the token endpoint's answer has no access token")
	}
	if cr.RefreshToken == "" {
		e := &tenantsync.Error{Class: tenantsync.ErrConsentRequired, Service: "entra", Op: op, Tenant: tenant,
			Code: "no_refresh_token", Message: "Microsoft did not provide a refresh token", Hint: hintConnectNoRefresh}
		return nil, e
	}
	var claims idClaims
	if !decodeJWTClaims(cr.IDToken, &claims) {
		return nil, connectError(tenantsync.ErrUnavailable, op, tenant, "connect again; the sign-in must ask for the openid scope",
			"the token endpoint's answer has no readable ID token")
	}
	if !strings.EqualFold(claims.TID, tenant) || (claims.IDP != "" && !strings.Contains(strings.ToLower(claims.IDP), tenant)) {
		return nil, &tenantsync.Error{Class: tenantsync.ErrForbidden, Service: "entra", Op: op, Tenant: tenant,
			Message: "the signed-in account " + httpx.Redact(claims.PreferredUsername) + " is not a member of the partner tenant",
			Hint:    hintConnectOtherTenant}
	}
	return &PartnerAuthorization{TenantID: strings.ToLower(claims.TID), UserID: claims.OID, UserPrincipalName: claims.PreferredUsername,
		RefreshToken: tenantsync.NewSecret(cr.RefreshToken), Scopes: strings.Fields(cr.Scope)}, nil
}

// decodeJWTClaims reads a JWT's payload into v, without checking its signature.
func decodeJWTClaims(tok string, v any) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}
