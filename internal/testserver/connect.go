package testserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SignInOutcome is how the fake's authorization endpoint answers the next partner sign-ins: it
// approves at once, as if the partner admin had signed in and accepted, unless told otherwise.
type SignInOutcome int

const (
	// SignInApprove signs in the partner admin (an Admin Agent, with MFA) and issues a code.
	SignInApprove SignInOutcome = iota
	// SignInDeclined redirects with error=access_denied and AADSTS65004 (consent declined).
	SignInDeclined
	// SignInMFARequired redirects with error=interaction_required and AADSTS50076.
	SignInMFARequired
	// SignInNoRefreshToken issues a code whose redemption carries no refresh token, as when
	// offline_access was not granted. A request without offline_access gets none either.
	SignInNoRefreshToken
	// SignInGuest signs in a guest of the partner tenant whose home is a customer tenant: the
	// ID token's idp names that tenant.
	SignInGuest
	// SignInNotAdminAgent signs in a member of the partner tenant without the Admin Agent role:
	// Partner Center answers 403 to its tokens.
	SignInNotAdminAgent
	// SignInWithoutMFA signs in the partner admin without multifactor authentication: the
	// sign-in succeeds, and Partner Center refuses its tokens with 401 (App+User calls require
	// MFA).
	SignInWithoutMFA
)

// connectState is the fake's partner sign-in and cloud machinery.
type connectState struct {
	log requestLog
	// national is set once a national cloud's host was asked (see asCloud).
	national atomic.Bool

	clientOnce sync.Once
	transport  *http.Transport

	mu      sync.Mutex
	outcome SignInOutcome
	codes   map[string]*authCode
	// noAdminAgent and noMFA are users whose Partner Center calls are refused.
	noAdminAgent, noMFA map[string]bool
}

// authCode is one issued authorization code.
type authCode struct {
	clientID, redirectURI, challenge string
	scope                            string
	userID, upn, tid, idp            string
	noRefresh                        bool
	expires                          time.Time
	used                             bool
}

// authCodeLifetime is how long a code may be redeemed (Entra ID: about 10 minutes).
const authCodeLifetime = 10 * time.Minute

// SetSignInOutcome sets how the authorization endpoint answers from now on.
func (s *Server) SetSignInOutcome(o SignInOutcome) {
	s.connect.mu.Lock()
	s.connect.outcome = o
	s.connect.mu.Unlock()
}

// extend adds the handlers of this file to a service's mux: the authorization endpoint and the
// authorization code grant on Entra ID, the Admin Agent and MFA gates on Partner Center.
func (s *Server) extend(service string, h http.Handler) http.Handler {
	switch service {
	case ServiceEntra:
		mux := http.NewServeMux()
		mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize)
		mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
			raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
			if q, err := url.ParseQuery(string(raw)); err == nil && q.Get("grant_type") == "authorization_code" {
				s.redeemCode(w, r, q)
				return
			}
			h.ServeHTTP(w, r)
		})
		mux.Handle("/", h)
		return s.asCloud(service, mux)
	case ServicePartnerCenter:
		return s.asCloud(service, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c := bearerClaims(r); c != nil {
				s.connect.mu.Lock()
				noAgent, noMFA := s.connect.noAdminAgent[c.OID], s.connect.noMFA[c.OID]
				s.connect.mu.Unlock()
				switch {
				case noMFA:
					// [R] Partner Center enforces MFA on App+User calls; the body's code is not
					// documented, so only the status and the description's wording are relied on.
					writePCError(w, r, http.StatusUnauthorized, pcCodeUnauthorized, "Multifactor authentication is required for App+User calls to Partner Center.")
					return
				case noAgent:
					writePCError(w, r, http.StatusForbidden, 403, "The user does not have the required role to access this resource.")
					return
				}
			}
			h.ServeHTTP(w, r)
		}))
	}
	return s.asCloud(service, h)
}

// bearerClaims reads the claims of the request's bearer token without checking it (the
// service handler does that).
func bearerClaims(r *http.Request) *tokenClaims {
	_, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return nil
	}
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return nil
	}
	var c tokenClaims
	if decodeSegment(parts[1], &c) != nil {
		return nil
	}
	return &c
}

// authorize is GET /{tenant}/oauth2/v2.0/authorize: it checks the request as Entra ID does
// (known client, redirect URI, response_type=code, a PKCE S256 challenge) and answers with the
// configured outcome by redirecting to redirect_uri.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tenant := s.resolveTenant(r.PathValue("tenant"))
	if tenant == "" {
		writeAADError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", r.PathValue("tenant")))
		return
	}
	app := s.App(q.Get("client_id"))
	if app == nil {
		writeAADError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, appNotFound(q.Get("client_id"), r.PathValue("tenant")))
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		writeAADError(w, r, http.StatusBadRequest, "invalid_request", 50011,
			"The redirect URI specified in the request does not match the redirect URIs configured for the application '"+app.ClientID+"'.")
		return
	}
	fail := func(oauthErr, desc string) {
		v := redirect.Query()
		v.Set("error", oauthErr)
		v.Set("error_description", desc+"\r\nTrace ID: "+randomGUID()+"\r\nCorrelation ID: "+randomGUID()+"\r\nTimestamp: "+aadTime(time.Now()))
		v.Set("state", q.Get("state"))
		redirect.RawQuery = v.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "AADSTS700054: response_type 'id_token' is not enabled for the application.")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		return
	}
	c := &s.connect
	c.mu.Lock()
	outcome := c.outcome
	c.mu.Unlock()
	w0 := s.World
	w0.mu.RLock()
	partnerID, domain := w0.PartnerTenantID, w0.PartnerDomain
	var customer string
	if len(w0.Tenants) > 0 {
		customer = w0.Tenants[0].ID
	}
	w0.mu.RUnlock()
	code := &authCode{clientID: app.ClientID, redirectURI: redirect.String(), challenge: q.Get("code_challenge"), scope: q.Get("scope"),
		userID: s.auth.partnerUser.ID, upn: s.auth.partnerUser.UPN, tid: tenant, expires: time.Now().Add(authCodeLifetime)}
	switch outcome {
	case SignInDeclined:
		fail("access_denied", "AADSTS65004: User declined to consent to access the app.")
		return
	case SignInMFARequired:
		fail("interaction_required", "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '"+partnerID+"'.")
		return
	case SignInNoRefreshToken:
		code.noRefresh = true
	case SignInGuest:
		code.userID, code.upn = randomGUID(), "someone_contoso.example#EXT#@"+domain
		code.idp = "https://sts.windows.net/" + customer + "/"
	case SignInNotAdminAgent, SignInWithoutMFA:
		code.userID, code.upn = randomGUID(), "helpdesk@"+domain
		c.mu.Lock()
		if c.noAdminAgent == nil {
			c.noAdminAgent, c.noMFA = map[string]bool{}, map[string]bool{}
		}
		if outcome == SignInNotAdminAgent {
			c.noAdminAgent[code.userID] = true
		} else {
			c.noMFA[code.userID] = true
		}
		c.mu.Unlock()
	}
	if !strings.Contains(" "+code.scope+" ", " offline_access ") {
		code.noRefresh = true
	}
	value := "1.AQ" + strings.TrimRight(base64.RawURLEncoding.EncodeToString([]byte(randomGUID()+randomGUID())), "=")
	c.mu.Lock()
	if c.codes == nil {
		c.codes = map[string]*authCode{}
	}
	c.codes[value] = code
	c.mu.Unlock()
	v := redirect.Query()
	v.Set("code", value)
	v.Set("state", q.Get("state"))
	v.Set("session_state", randomGUID())
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// redeemCode is the authorization_code grant: a code issued here, once, within its lifetime,
// for the same client and redirect URI, with the PKCE verifier whose S256 hash was sent.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, f url.Values) {
	tr := tokenRequest{tenantSeg: r.PathValue("tenant"), grant: "authorization_code", clientID: f.Get("client_id"),
		secret: f.Get("client_secret"), assertion: f.Get("client_assertion"), assertionType: f.Get("client_assertion_type"), scope: f.Get("scope")}
	fail := func(e *aadError) { writeAADError(w, r, e.status, e.err, e.code, e.message, e.suberror) }
	tr.tenantID = s.resolveTenant(tr.tenantSeg)
	if tr.tenantID == "" {
		fail(badRequest("invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", tr.tenantSeg)))
		return
	}
	app, aerr := s.authenticateClient(tr)
	if aerr != nil {
		fail(aerr)
		return
	}
	c := &s.connect
	c.mu.Lock()
	code := c.codes[f.Get("code")]
	var bad *aadError
	switch {
	case code == nil:
		bad = badRequest("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	case code.used:
		bad = badRequest("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case time.Now().After(code.expires):
		bad = badRequest("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case code.clientID != app.ClientID:
		bad = badRequest("invalid_grant", 70000, "Provided grant is invalid or malformed. The code was issued to a different client.")
	case code.redirectURI != f.Get("redirect_uri"):
		bad = badRequest("invalid_grant", 50011, "The redirect URI specified in the request does not match the redirect URI used to obtain the authorization code.")
	case !pkceMatches(code.challenge, f.Get("code_verifier")):
		bad = badRequest("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	if code != nil {
		code.used = true
	}
	c.mu.Unlock()
	if bad != nil {
		fail(bad)
		return
	}
	resource, scope, aerr := parseScope(code.scope, false)
	if aerr != nil {
		fail(aerr)
		return
	}
	tok, exp := s.signToken(Claims{Audience: resource, TenantID: code.tid, AppID: app.ClientID, UserID: code.userID, Scope: scope})
	now := time.Now()
	id := map[string]any{"aud": app.ClientID, "iss": s.EntraURL() + "/" + code.tid + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "oid": code.userID, "tid": code.tid, "preferred_username": code.upn, "ver": "2.0"}
	if code.idp != "" {
		id["idp"] = code.idp
	}
	payload, _ := json.Marshal(id)
	// The ID token is not signed: the SDK reads it from the token endpoint over TLS, which OpenID
	// Connect accepts in place of its signature in the code flow.
	idToken := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	resp := map[string]any{
		"token_type": "Bearer", "expires_in": int(exp.Seconds()), "ext_expires_in": int(exp.Seconds()),
		"scope": strings.TrimSpace(resource + "/" + scope), "access_token": tok, "id_token": idToken,
	}
	if !code.noRefresh {
		a := s.auth
		a.mu.Lock()
		resp["refresh_token"] = a.issueRefresh(code.userID, app.ClientID, now)
		resp["scope"] = resp["scope"].(string) + " openid profile offline_access"
		a.mu.Unlock()
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func pkceMatches(challenge, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}
