package graph

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/transport"
)

// ConsentStateTTL is how long an admin-consent link stays valid.
const ConsentStateTTL = 15 * time.Minute

// sessionExpired is what the person sees when a consent callback's state is unknown, used or stale.
const sessionExpired = "Your session has expired. Please try connecting again."

// ConsentState is what a pending consent remembers between the link and the callback.
type ConsentState struct {
	TenantID string    // the customer tenant the link was built for
	Account  string    // the PSA account that asked, for the caller's bookkeeping
	Expires  time.Time // after this the callback is refused
}

// ConsentStore keeps pending consent states. Take must return a state at most once (a one-time
// token), so a PSA running several instances persists states in its shared database.
type ConsentStore interface {
	Put(ctx context.Context, state string, s ConsentState) error
	// Take returns and deletes the state; ok is false when it is unknown or already taken.
	Take(ctx context.Context, state string) (s ConsentState, ok bool, err error)
}

// MemoryConsentStore is a ConsentStore for one process. Expired states are dropped on Put.
type MemoryConsentStore struct {
	mu     sync.Mutex
	states map[string]ConsentState
	now    func() time.Time
}

// NewMemoryConsentStore returns an empty in-memory store.
func NewMemoryConsentStore() *MemoryConsentStore {
	return &MemoryConsentStore{states: map[string]ConsentState{}, now: time.Now}
}

// Put stores a state.
func (m *MemoryConsentStore) Put(_ context.Context, state string, s ConsentState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, v := range m.states {
		if now.After(v.Expires) {
			delete(m.states, k)
		}
	}
	m.states[state] = s
	return nil
}

// Take returns and deletes a state.
func (m *MemoryConsentStore) Take(_ context.Context, state string) (ConsentState, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[state]
	delete(m.states, state)
	return s, ok, nil
}

// ConsentConfig configures the admin-consent helper.
type ConsentConfig struct {
	// ClientID is the partner app's client ID.
	ClientID string
	// RedirectURI is the callback registered on the app (an exact match, or AADSTS50011).
	RedirectURI string
	// AuthorityHost is Entra ID's login origin (default DefaultAuthorityHost).
	AuthorityHost string
	// Scope asked for (default "https://graph.microsoft.com/.default": every permission the app
	// registration declares).
	Scope string
	// Required lists the application permissions (role values such as "User.Read.All") the sync
	// needs; a consent granting fewer is reported as incomplete.
	Required []string
	// Store keeps pending states (default: a MemoryConsentStore).
	Store ConsentStore
	// GrantedRoles, when set, reads the permissions actually granted in a tenant after consent
	// (for example from the roles claim of a fresh app-only token, see Client.GrantedRoles); it is
	// used when the callback does not list the granted scopes.
	GrantedRoles func(ctx context.Context, tenantID string) ([]string, error)
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Consent builds admin-consent links for customer tenants and checks their callbacks.
type Consent struct {
	cfg ConsentConfig
}

// NewConsent validates cfg.
func NewConsent(cfg ConsentConfig) (*Consent, error) {
	bad := func(hint, format string, args ...any) error {
		e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
		e.Service, e.Op = service, "NewConsent"
		return e
	}
	if !isGUID(strings.TrimSpace(cfg.ClientID)) {
		return nil, bad("set ClientID to the partner app's Application (client) ID", "client ID %q is not a GUID", cfg.ClientID)
	}
	u, err := url.Parse(cfg.RedirectURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Hostname() != "localhost") {
		return nil, bad("set RedirectURI to the https callback URL registered on the app", "redirect URI %q is not an https URL", cfg.RedirectURI)
	}
	if cfg.AuthorityHost, err = originOf(cfg.AuthorityHost, DefaultAuthorityHost, "AuthorityHost"); err != nil {
		return nil, err
	}
	if cfg.Scope == "" {
		cfg.Scope = graphScope
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryConsentStore()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Consent{cfg: cfg}, nil
}

// URL returns the admin-consent link for a customer tenant, with a fresh one-time state that
// expires after ConsentStateTTL. A Global Administrator of the customer opens it.
func (c *Consent) URL(ctx context.Context, tenantID, account string) (string, error) {
	if err := checkTenant("ConsentURL", tenantID); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", opError(tenantsync.ErrUnavailable, "ConsentURL", tenantID, "the system's random source failed; try again", "random state: %v", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b)
	if err := c.cfg.Store.Put(ctx, state, ConsentState{TenantID: tenantID, Account: account, Expires: c.cfg.Now().Add(ConsentStateTTL)}); err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("client_id", c.cfg.ClientID)
	q.Set("redirect_uri", c.cfg.RedirectURI)
	q.Set("scope", c.cfg.Scope)
	q.Set("state", state)
	return c.cfg.AuthorityHost + "/" + url.PathEscape(tenantID) + "/v2.0/adminconsent?" + q.Encode(), nil
}

// ConsentResult is a checked consent callback.
type ConsentResult struct {
	TenantID string
	Account  string
	// Granted lists the permissions known to be granted (from the callback's scope or from
	// GrantedRoles); empty when neither said.
	Granted []string
	// Verified is true when Granted was checked against ConsentConfig.Required.
	Verified bool
}

// Callback checks the query of the redirect Entra ID sent back. It fails with ErrInvalidInput
// ("Your session has expired…") for an unknown, reused or stale state, ErrConsentRequired for a
// declined or failed consent and for one that did not grant every required permission.
func (c *Consent) Callback(ctx context.Context, query url.Values) (ConsentResult, error) {
	const op = "ConsentCallback"
	cb, err := ParseConsentCallback(query)
	if err != nil {
		return ConsentResult{}, err
	}
	st, ok, err := c.cfg.Store.Take(ctx, cb.State)
	if err != nil {
		return ConsentResult{}, err
	}
	if !ok || c.cfg.Now().After(st.Expires) {
		e := opError(tenantsync.ErrInvalidInput, op, cb.Tenant, sessionExpired, "%s", sessionExpired)
		return ConsentResult{}, e
	}
	if cb.Error != "" {
		e := opError(tenantsync.ErrConsentRequired, op, st.TenantID, "consent did not complete; try connecting again", "%s", transport.Redact(cb.Description))
		e.Code = cb.Code
		if e.Code == "" {
			e.Code = cb.Error
		}
		switch {
		case cb.Error == "access_denied" || cb.Code == "AADSTS65004":
			e.Hint = "the administrator declined consent; ask a Global Administrator of the customer tenant to open the link again and accept"
		default:
			e.Hint = entraHint(cb.Code, c.cfg.ClientID, st.TenantID)
			if e.Hint == "" {
				e.Hint = "consent did not complete; try connecting again"
			}
		}
		return ConsentResult{}, e
	}
	if cb.Tenant != "" && !strings.EqualFold(cb.Tenant, st.TenantID) {
		return ConsentResult{}, opError(tenantsync.ErrConsentRequired, op, st.TenantID,
			"sign in with an administrator of the customer tenant the link was made for, not of another tenant",
			"consent was granted in tenant %s, not %s", cb.Tenant, st.TenantID)
	}
	res := ConsentResult{TenantID: st.TenantID, Account: st.Account, Granted: cb.Scopes}
	if len(res.Granted) == 0 && c.cfg.GrantedRoles != nil {
		roles, err := c.cfg.GrantedRoles(ctx, st.TenantID)
		if err != nil {
			return res, err
		}
		res.Granted = roles
	}
	if len(c.cfg.Required) > 0 && len(res.Granted) > 0 {
		res.Verified = true
		var missing []string
		for _, r := range c.cfg.Required {
			if !slices.ContainsFunc(res.Granted, func(g string) bool { return strings.EqualFold(g, r) }) {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			return res, opError(tenantsync.ErrConsentRequired, op, st.TenantID,
				"consent did not grant every permission the sync needs; add "+strings.Join(missing, ", ")+
					" to the app registration's API permissions and connect the tenant again",
				"consent is missing %s", strings.Join(missing, ", "))
		}
	}
	return res, nil
}

// ConsentCallback is a parsed admin-consent redirect.
type ConsentCallback struct {
	State        string
	Tenant       string
	AdminConsent bool
	Scopes       []string // the granted permissions, when the redirect lists them
	Error        string   // OAuth error, e.g. "access_denied"
	Code         string   // AADSTS code from the description, e.g. "AADSTS65004"
	Description  string
}

// ParseConsentCallback reads an admin-consent redirect's query. It checks shape only; Callback
// checks the state.
func ParseConsentCallback(q url.Values) (ConsentCallback, error) {
	const op = "ConsentCallback"
	cb := ConsentCallback{
		State:       q.Get("state"),
		Tenant:      q.Get("tenant"),
		Error:       q.Get("error"),
		Description: q.Get("error_description"),
	}
	if cb.State == "" || len(cb.State) > 256 {
		return cb, opError(tenantsync.ErrInvalidInput, op, "", sessionExpired, "%s", sessionExpired)
	}
	if cb.Tenant != "" && checkTenant(op, cb.Tenant) != nil {
		return cb, opError(tenantsync.ErrInvalidInput, op, "", "try connecting again", "callback names an invalid tenant")
	}
	if i := strings.Index(cb.Description, "AADSTS"); i >= 0 {
		j := i + len("AADSTS")
		for j < len(cb.Description) && cb.Description[j] >= '0' && cb.Description[j] <= '9' {
			j++
		}
		if j > i+len("AADSTS") {
			cb.Code = cb.Description[i:j]
		}
	}
	if cb.Error != "" {
		return cb, nil
	}
	cb.AdminConsent = strings.EqualFold(q.Get("admin_consent"), "true")
	if !cb.AdminConsent {
		return cb, opError(tenantsync.ErrConsentRequired, op, cb.Tenant, "try connecting again and accept the permissions", "the redirect does not confirm admin consent")
	}
	if cb.Tenant == "" {
		return cb, opError(tenantsync.ErrInvalidInput, op, "", "try connecting again", "the redirect names no tenant")
	}
	for _, s := range strings.Fields(q.Get("scope")) {
		// Scopes come back as resource URIs ("https://graph.microsoft.com/User.Read.All").
		if i := strings.LastIndex(s, "/"); i >= 0 {
			s = s[i+1:]
		}
		if s != "" && s != ".default" {
			cb.Scopes = append(cb.Scopes, s)
		}
	}
	return cb, nil
}

// GrantedRoles acquires a fresh app-only token for the tenant and returns the application
// permissions in its roles claim: what consent actually granted. The token's signature is not
// checked; the claim is read for reporting, the token itself was just received over TLS from
// Entra ID.
func (c *Client) GrantedRoles(ctx context.Context, tenant string) ([]string, error) {
	const op = "GrantedRoles"
	if err := checkTenant(op, tenant); err != nil {
		return nil, err
	}
	tok, err := c.token(ctx, op, tenant)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(tok.AccessToken, ".")
	var claims struct {
		Roles []string `json:"roles"`
	}
	if len(parts) != 3 {
		return nil, opError(tenantsync.ErrUnsupported, op, tenant, "verify the granted permissions in the customer's Enterprise applications blade", "the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return nil, opError(tenantsync.ErrUnsupported, op, tenant, "verify the granted permissions in the customer's Enterprise applications blade", "the access token's claims could not be read")
	}
	return claims.Roles, nil
}
