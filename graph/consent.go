package graph

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/internal/onetime"
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
	states *onetime.Store[ConsentState]
	now    func() time.Time
}

// NewMemoryConsentStore returns an empty in-memory store.
func NewMemoryConsentStore() *MemoryConsentStore {
	return &MemoryConsentStore{states: onetime.New(func(s ConsentState) time.Time { return s.Expires }), now: time.Now}
}

// Put stores a state.
func (m *MemoryConsentStore) Put(_ context.Context, state string, s ConsentState) error {
	m.states.Put(state, s, m.now())
	return nil
}

// Take returns and deletes a state.
func (m *MemoryConsentStore) Take(_ context.Context, state string) (ConsentState, bool, error) {
	s, ok := m.states.Take(state)
	return s, ok, nil
}

// ConsentConfig configures the admin-consent helper.
type ConsentConfig struct {
	// ClientID is the partner app's client ID.
	ClientID string
	// RedirectURI is the callback registered on the app (an exact match, or AADSTS50011).
	RedirectURI string
	// AuthorityHost is Entra ID's login origin (default entra.DefaultAuthorityHost).
	AuthorityHost string
	// Scope asked for (default "https://graph.microsoft.com/.default": every permission the app
	// registration declares).
	Scope string
	// Required lists the application permissions (role values such as "User.Read.All") the sync
	// needs; a consent granting fewer is reported as incomplete.
	Required []string
	// Store keeps pending states (default: a MemoryConsentStore).
	Store ConsentStore
	// Roles reads the permissions consent really granted in a tenant; required. Pass the
	// partner app's *Client, whose GrantedRoles reads the app role assignments through Graph.
	// The redirect's own scope parameter is never used: whoever follows the link can edit it.
	Roles RoleReader
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
	if !ids.IsGUID(strings.TrimSpace(cfg.ClientID)) {
		return nil, bad("set ClientID to the partner app's Application (client) ID", "client ID %q is not a GUID", cfg.ClientID)
	}
	if err := checkRedirectURI(cfg.RedirectURI); err != nil {
		return nil, err
	}
	if cfg.Roles == nil {
		return nil, bad("set Roles to the partner app's graph.Client: what consent granted is read through Graph, never taken from the redirect",
			"no RoleReader to verify what consent granted")
	}
	var err error
	if cfg.AuthorityHost, err = originOf(cfg.AuthorityHost, entra.DefaultAuthorityHost, "AuthorityHost", false); err != nil {
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

// checkRedirectURI accepts an absolute https URL, and plain http only on a loopback host
// (localhost, 127.0.0.0/8, ::1), which Entra ID also allows for an app under development: the
// authorization response travels in it, so it must not cross a network in clear text, nor
// reach a custom scheme another program can claim.
func checkRedirectURI(raw string) error {
	bad := func(format string, args ...any) error {
		e := tenantsync.Errorf(tenantsync.ErrInvalidInput,
			"set RedirectURI to the https callback URL registered on the app (plain http only for localhost, 127.0.0.1 or [::1] while developing)",
			format, args...)
		e.Service, e.Op = service, "NewConsent"
		return e
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("redirect URI %q is not an absolute URL", raw)
	case u.User != nil:
		return bad("redirect URI carries user info")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("redirect URI %q has a fragment, which OAuth forbids", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return bad("redirect URI %q uses plain http on a host that is not loopback", raw)
	}
	return bad("redirect URI %q uses the scheme %q, not https", raw, u.Scheme)
}

// isLoopback reports whether host is localhost or a loopback address (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
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
	// Granted lists the Microsoft Graph application permissions granted in the tenant, as read
	// through Graph (ConsentConfig.Roles) after the callback.
	Granted []string
	// Verified is true when Granted was read through Graph and checked against
	// ConsentConfig.Required; false when the check could not be made (see the error).
	Verified bool
}

// Callback checks the query of the redirect Entra ID sent back, then reads through Graph what
// the consent granted (the redirect's scope parameter is not trusted). It fails with
// ErrInvalidInput ("Your session has expired…") for an unknown, reused or stale state,
// ErrConsentRequired for a declined or failed consent and for one that did not grant every
// required permission, and with the error of ConsentConfig.Roles when the grants cannot be read
// (the result then names the tenant and account, with Verified false).
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
		e := opError(tenantsync.ErrConsentRequired, op, st.TenantID, "consent did not complete; try connecting again", "%s", httpx.Redact(cb.Description))
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
	res := ConsentResult{TenantID: st.TenantID, Account: st.Account}
	roles, err := c.cfg.Roles.GrantedRoles(ctx, st.TenantID)
	if err != nil {
		return res, err
	}
	res.Granted, res.Verified = roles, true
	var missing []string
	for _, r := range c.cfg.Required {
		if !slices.ContainsFunc(res.Granted, func(g string) bool { return strings.EqualFold(g, r) }) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return res, opError(tenantsync.ErrConsentRequired, op, st.TenantID,
			"consent did not grant every permission the sync needs; add "+strings.Join(missing, ", ")+
				" to the app registration's API permissions (application permissions, with admin consent) and connect the tenant again",
			"consent is missing %s", strings.Join(missing, ", "))
	}
	return res, nil
}

// ConsentCallback is a parsed admin-consent redirect. The redirect's scope parameter is left
// out on purpose: it says what was asked for in a URL anyone can edit, not what was granted
// (Callback reads that through Graph).
type ConsentCallback struct {
	State        string
	Tenant       string
	AdminConsent bool
	Error        string // OAuth error, e.g. "access_denied"
	Code         string // AADSTS code from the description, e.g. "AADSTS65004"
	Description  string
}

// ParseConsentCallback reads an admin-consent redirect's query. It checks shape only; Callback
// checks the state and the grants.
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
	return cb, nil
}
