package testserver

import (
	"net/http"
	"sync"
	"time"
)

// Audiences of the tokens the fake issues (from the scope's resource).
const (
	AudienceGraph         = "https://graph.microsoft.com"
	AudiencePartnerCenter = "https://api.partnercenter.microsoft.com"
	// A CIPP API client's tokens have audience "api://<clientId>".
)

// Credentials identify an app registration: the tenant it lives in, its client ID and a secret.
type Credentials struct {
	TenantID string
	ClientID string
	Secret   string
}

// App is an app registration known to the fake Entra ID.
type App struct {
	ClientID   string
	Secret     string
	HomeTenant string
	// MultiTenant apps may get tokens in customer tenants where Tenant.Consented is true.
	MultiTenant bool
	// CIPPRole is the CIPP-API role of an API client: "readonly", "editor", "admin", or "" (roleless).
	CIPPRole string
	// SecretExpired makes token requests fail with AADSTS7000222.
	SecretExpired bool
}

// Claims are what a fake access token asserts.
type Claims struct {
	Audience string
	TenantID string // tid: the tenant the token was issued for
	AppID    string
	UserID   string // the partner user, for tokens redeemed from a refresh token; "" for app-only
	Expires  time.Time
}

// authority is the fake Entra ID: app registrations, issued refresh tokens, token signing.
type authority struct {
	s  *Server
	mu sync.Mutex
	// apps by client ID.
	apps map[string]*App
}

func newAuthority(s *Server) *authority {
	return &authority{s: s, apps: map[string]*App{}}
}

func (s *Server) entraHandler() http.Handler { return http.NotFoundHandler() }

// entraTenant returns the tenant segment of a token endpoint path.
func (s *Server) entraTenant(r *http.Request) string { return "" }

// verifyBearer checks the Authorization header: a token this fake issued, unexpired, for audience.
// It returns an error describing the failure, for the caller to render in its service's shape.
func (s *Server) verifyBearer(r *http.Request, audience string) (*Claims, error) {
	return nil, errNotImplemented
}
