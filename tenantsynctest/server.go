package tenantsynctest

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/transport"
)

// ServerOptions say which world the fake services serve. The same Seed gives the same tenants,
// users, client IDs and secrets.
type ServerOptions struct {
	Seed int64
	// Tenants is the number of customer tenants (default 5).
	Tenants int
	// Sizes, when set, gives the user count of the first len(Sizes) tenants, e.g. {10000} for
	// one large tenant.
	Sizes []int
	// MinUsers and MaxUsers bound the user count of the other tenants (default 5 to 60).
	MinUsers, MaxUsers int
	// Latency is added to every request.
	Latency time.Duration
	// TokenLifetime is the lifetime of issued access tokens (default 3599 s, as Entra ID's).
	TokenLifetime time.Duration
}

// Server is a running fake Entra ID, CIPP-API, Microsoft Graph and Partner Center, each on its
// own TLS listener on 127.0.0.1, all with certificates from one CA that HTTPClient and CertPool
// trust. The configs it returns point tenantsync's clients at it; everything else about them
// is as in production, so a test exercises the same code paths a PSA runs.
//
// The world is generated from the seed: companies with verified domains, people with aliases,
// shared and room mailboxes, guests, disabled accounts, devices, licences, MFA states, GDAP
// relationships. Tenant 0 is always consented for the partner app, managed by CIPP and a
// Partner Center customer; the others vary, as a real partner's customers do.
type Server struct {
	srv *testserver.Server
}

// Start starts the fake services for a test and stops them when the test ends. It fails the
// test if they cannot start.
func Start(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("tenantsynctest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts the fake services for a program (such as a standalone fake server); Close
// stops them.
func NewServer(opts ServerOptions) (*Server, error) {
	srv, err := testserver.New(testserver.Options{
		Seed: opts.Seed, Tenants: opts.Tenants, Sizes: opts.Sizes,
		MinUsers: opts.MinUsers, MaxUsers: opts.MaxUsers, Latency: opts.Latency,
		TokenLifetime: opts.TokenLifetime,
	})
	if err != nil {
		e := tenantsync.Errorf(tenantsync.ErrInvalidInput, "fix the ServerOptions passed to tenantsynctest.Start",
			"%s", strings.TrimPrefix(err.Error(), "testserver: "))
		e.Service, e.Op = "tenantsynctest", "NewServer"
		return nil, e
	}
	return &Server{srv: srv}, nil
}

// Close stops every listener, ending requests held by a Hang fault. Calling it again does
// nothing.
func (s *Server) Close() { s.srv.Close() }

// EntraURL is the fake login.microsoftonline.com (an authority is EntraURL()+"/"+tenant).
func (s *Server) EntraURL() string { return s.srv.EntraURL() }

// CIPPURL is the fake CIPP-API Function App (endpoints under /api/).
func (s *Server) CIPPURL() string { return s.srv.CIPPURL() }

// GraphURL is the fake graph.microsoft.com (paths start with /v1.0 or /beta).
func (s *Server) GraphURL() string { return s.srv.GraphURL() }

// PartnerCenterURL is the fake api.partnercenter.microsoft.com (paths start with /v1/).
func (s *Server) PartnerCenterURL() string { return s.srv.PartnerCenterURL() }

// CertPool returns a pool trusting the CA of every listener.
func (s *Server) CertPool() *x509.CertPool { return s.srv.CertPool() }

// CACertPEM returns that CA's certificate in PEM form, for programs in other processes.
func (s *Server) CACertPEM() []byte { return s.srv.CACertPEM() }

// HTTPClient returns a client that trusts the fake's CA. The clients it returns share one
// connection pool. Configs carry it in Settings.HTTPClient.
func (s *Server) HTTPClient() *http.Client { return s.srv.HTTPClient() }

// Credentials are an app registration's tenant, client ID and secret; printed, the secret shows
// as [REDACTED].
type Credentials struct {
	TenantID string
	ClientID string
	Secret   tenantsync.Secret
}

// CIPPCredentials are the CIPP API client (admin role) of CIPP → Integrations → CIPP-API.
func (s *Server) CIPPCredentials() Credentials { return credentials(s.srv.CIPPCredentials()) }

// PartnerApp is the partner's multi-tenant app: app-only Graph tokens in every consented
// customer tenant, and the client of the partner admin's Secure Application Model refresh token.
func (s *Server) PartnerApp() Credentials { return credentials(s.srv.PartnerApp()) }

// PartnerRefreshToken is the partner admin's newest SAM refresh token. Redeeming one rotates
// it; the redeemed token stops working two minutes later.
func (s *Server) PartnerRefreshToken() tenantsync.Secret {
	return tenantsync.NewSecret(s.srv.PartnerRefreshToken())
}

func credentials(c testserver.Credentials) Credentials {
	return Credentials{TenantID: c.TenantID, ClientID: c.ClientID, Secret: tenantsync.NewSecret(c.Secret)}
}

// CIPPConfig is a ready cipp.Config for the fake CIPP-API: its URL, the CIPP API client's
// credentials, the fake's Entra ID as AuthorityHost and HTTPClient in Settings. Change what a
// test needs (Settings.Observer, MaxRetries) before cipp.NewClient.
func (s *Server) CIPPConfig() cipp.Config {
	c := s.CIPPCredentials()
	return cipp.Config{
		BaseURL: s.CIPPURL(), TenantID: c.TenantID, ClientID: c.ClientID, Secret: c.Secret,
		AuthorityHost: s.EntraURL(),
		Settings:      transport.Settings{HTTPClient: s.HTTPClient()},
	}
}

// GraphConfig is a ready graph.Config for the fake Graph with the partner app's app-only
// credentials: it reads every tenant the app is consented in (SetConsent changes which).
func (s *Server) GraphConfig() graph.Config {
	app := s.PartnerApp()
	return graph.Config{
		PartnerTenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: app.Secret,
		BaseURL: s.GraphURL(), AuthorityHost: s.EntraURL(),
		Settings: transport.Settings{HTTPClient: s.HTTPClient()},
	}
}

// PartnerCenterConfig is a ready partnercenter.Config for the fake Partner Center and the GDAP
// endpoints of the fake Graph, with the partner admin's SAM refresh token. Its
// OnRefreshTokenRotated accepts the rotated token (the fake keeps the newest, which
// PartnerRefreshToken returns); a test of rotation handling sets its own.
func (s *Server) PartnerCenterConfig() partnercenter.Config {
	app := s.PartnerApp()
	return partnercenter.Config{
		PartnerTenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: app.Secret,
		RefreshToken:          s.PartnerRefreshToken(),
		OnRefreshTokenRotated: func(context.Context, tenantsync.Secret) error { return nil },
		AuthorityHost:         s.EntraURL(),
		PartnerCenterURL:      s.PartnerCenterURL(),
		GraphURL:              s.GraphURL(),
		Settings:              transport.Settings{HTTPClient: s.HTTPClient()},
	}
}

// PartnerName is the name of the generated partner (the MSP).
func (s *Server) PartnerName() string {
	var name string
	s.srv.World.Read(func() { name = s.srv.World.PartnerName })
	return name
}

// TenantInfo is a generated customer tenant as the fakes hold it, for a test's expectations.
type TenantInfo struct {
	tenantsync.Tenant
	// InCIPP: CIPP's ListTenants returns it. Consented: the partner app gets app-only Graph
	// tokens there. InPartnerCenter: Partner Center lists it as a customer.
	InCIPP, Consented, InPartnerCenter bool
	// Users is the number of users, deleted ones excluded.
	Users int
}

// Tenants returns the customer tenants in generation order.
func (s *Server) Tenants() []TenantInfo {
	w := s.srv.World
	var out []TenantInfo
	w.Read(func() { out = tenantInfos(w) })
	return out
}

func tenantInfos(w *testserver.World) []TenantInfo {
	var out []TenantInfo
	for _, t := range w.Tenants {
		info := TenantInfo{
			Tenant: tenantsync.Tenant{ID: t.ID, DisplayName: t.Name, DefaultDomain: t.DefaultDomain,
				InitialDomain: t.InitialDomain},
			InCIPP: t.InCIPP, Consented: t.Consented, InPartnerCenter: t.InPartnerCenter,
			Users: len(t.ActiveUsers()),
		}
		for _, d := range t.Domains {
			info.Domains = append(info.Domains, d.Name)
		}
		out = append(out, info)
	}
	return out
}

// Users returns the users of a tenant as Graph reports them, in generation order, deleted
// users excluded; nil for an unknown tenant.
func (s *Server) Users(tenantID string) []tenantsync.User {
	w := s.srv.World
	var out []tenantsync.User
	t := w.Tenant(tenantID) // takes the lock itself; read locks must not nest
	w.Read(func() { out = users(t) })
	return out
}

func users(t *testserver.Tenant) []tenantsync.User {
	if t == nil {
		return nil
	}
	var out []tenantsync.User
	for _, u := range t.ActiveUsers() {
		out = append(out, tenantsync.User{
			TenantID: t.ID, ObjectID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
			GivenName: u.GivenName, Surname: u.Surname, Mail: u.Mail,
			ProxyAddresses: append([]string(nil), u.ProxyAddresses...), OtherMails: append([]string(nil), u.OtherMails...),
			JobTitle: u.JobTitle, Department: u.Department, OfficeLocation: u.OfficeLocation, MobilePhone: u.MobilePhone,
			BusinessPhones: append([]string(nil), u.BusinessPhones...), AccountEnabled: u.AccountEnabled,
			UserType: u.UserType, AssignedSKUs: append([]string(nil), u.Licenses...), CreatedAt: u.CreatedAt,
		})
	}
	return out
}

// MailboxType returns the Exchange mailbox type of a user ("UserMailbox", "SharedMailbox",
// "RoomMailbox", "EquipmentMailbox", or "" for none), for telling the people a sync should
// make contacts for from the rest.
func (s *Server) MailboxType(tenantID, objectID string) string {
	var mt string
	w := s.srv.World
	t := w.Tenant(tenantID)
	if t == nil {
		return ""
	}
	w.Read(func() {
		if u := t.User(objectID); u != nil {
			mt = u.MailboxType
		}
	})
	return mt
}

// ServiceName names one of the fake services, for faults and request counts.
type ServiceName string

// The fake services.
const (
	ServiceEntra         ServiceName = testserver.ServiceEntra
	ServiceCIPP          ServiceName = testserver.ServiceCIPP
	ServiceGraph         ServiceName = testserver.ServiceGraph
	ServicePartnerCenter ServiceName = testserver.ServicePartnerCenter
)

// HTTPFaultKind is what an HTTPFault does to a request it catches.
type HTTPFaultKind string

// What an HTTPFault can do, each in the shape of the service it hits (Graph's error JSON,
// CIPP's plain text, Entra's AADSTS body).
const (
	// HTTPThrottle answers 429 (or Status), with RetryAfter when set.
	HTTPThrottle HTTPFaultKind = HTTPFaultKind(testserver.Throttle)
	// HTTPServerError answers 503 (or Status).
	HTTPServerError HTTPFaultKind = HTTPFaultKind(testserver.ServerError)
	// HTTPLatency waits Delay, then serves the request.
	HTTPLatency HTTPFaultKind = HTTPFaultKind(testserver.Latency)
	// HTTPDrop closes the connection without an answer.
	HTTPDrop HTTPFaultKind = HTTPFaultKind(testserver.Drop)
	// HTTPTruncate sends the full Content-Length but half of the body, then closes.
	HTTPTruncate HTTPFaultKind = HTTPFaultKind(testserver.Truncate)
	// HTTPHang holds the request until the client gives up or the server closes.
	HTTPHang HTTPFaultKind = HTTPFaultKind(testserver.Hang)
)

// HTTPFault is a failure of the fake services, injected with InjectHTTPFault. Empty matching
// fields match every request; the first injected fault that matches and fires handles it.
type HTTPFault struct {
	Service ServiceName
	// Tenant is the customer tenant ID the request is for.
	Tenant string
	// Path is a substring of the request's path and query, e.g. "/api/ListUsers" or "$batch".
	Path   string
	Method string

	Kind HTTPFaultKind
	// Rate is the share of matching requests that get the fault (0 or ≥1: all), drawn from a
	// stream seeded by ServerOptions.Seed.
	Rate float64
	// Count caps how many times it fires (0: no cap).
	Count int
	// Status overrides 429 (HTTPThrottle) or 503 (HTTPServerError).
	Status int
	// RetryAfter is the Retry-After header sent with HTTPThrottle and HTTPServerError, in
	// seconds (with a fraction when it has one); zero sends none.
	RetryAfter time.Duration
	// Delay is waited before the fault acts; for HTTPLatency it is the fault.
	Delay time.Duration
}

// InjectHTTPFault starts a fault; the returned function removes it.
func (s *Server) InjectHTTPFault(f HTTPFault) (remove func(), err error) {
	switch f.Kind {
	case HTTPThrottle, HTTPServerError, HTTPLatency, HTTPDrop, HTTPTruncate, HTTPHang:
	default:
		return nil, s.invalid("InjectHTTPFault", "use one of the HTTPFaultKind constants", "unknown HTTPFault.Kind %q", f.Kind)
	}
	switch f.Service {
	case "", ServiceEntra, ServiceCIPP, ServiceGraph, ServicePartnerCenter:
	default:
		return nil, s.invalid("InjectHTTPFault", "use one of the ServiceName constants", "unknown HTTPFault.Service %q", f.Service)
	}
	if f.Rate < 0 || f.Count < 0 || f.RetryAfter < 0 || f.Delay < 0 {
		return nil, s.invalid("InjectHTTPFault", "use zero for the default", "HTTPFault.Rate, Count, RetryAfter and Delay must not be negative")
	}
	ra := ""
	if f.RetryAfter > 0 {
		// Whole seconds as services send them; a fraction as Graph sometimes does ("2.128").
		ra = strconv.FormatFloat(f.RetryAfter.Seconds(), 'f', -1, 64)
	}
	tf := testserver.Fault{Tenant: f.Tenant, Path: f.Path, Method: f.Method, Kind: testserver.FaultKind(f.Kind),
		Rate: f.Rate, Count: f.Count, Status: f.Status, RetryAfter: ra, Delay: f.Delay}
	if f.Service == "" {
		var removes []func()
		for _, svc := range []ServiceName{ServiceEntra, ServiceCIPP, ServiceGraph, ServicePartnerCenter} {
			tf.Service = string(svc)
			removes = append(removes, s.srv.InjectFault(tf))
		}
		return func() {
			for _, r := range removes {
				r()
			}
		}, nil
	}
	tf.Service = string(f.Service)
	return s.srv.InjectFault(tf), nil
}

// ClearHTTPFaults removes every injected HTTPFault.
func (s *Server) ClearHTTPFaults() { s.srv.ClearFaults() }

// SetLatency changes the latency added to every request.
func (s *Server) SetLatency(d time.Duration) { s.srv.SetLatency(d) }

// Requests returns how many requests a service received for a tenant ("" for requests of no
// known tenant, "*" for all), retries included: a test's measure of round trips.
func (s *Server) Requests(service ServiceName, tenantID string) int {
	return s.srv.Requests(string(service), tenantID)
}

// ResetRequests sets every request count to zero.
func (s *Server) ResetRequests() { s.srv.ResetCounts() }

// SetConsent grants or withdraws the partner app's admin consent in a customer tenant: without
// it, app-only token requests fail with AADSTS700016, as in Entra ID.
func (s *Server) SetConsent(tenantID string, consented bool) { s.srv.SetConsent(tenantID, consented) }

// ExpireSecret makes an app's client secret expired: its token requests fail with
// AADSTS7000222.
func (s *Server) ExpireSecret(clientID string) { s.srv.ExpireSecret(clientID) }

// RevokeRefreshTokens revokes the partner admin's refresh tokens (AADSTS50173 from then on),
// as a password reset or an administrator's revocation does.
func (s *Server) RevokeRefreshTokens() { s.srv.RevokeRefreshTokens() }

// FailCIPPTenant makes CIPP answer every call about a tenant with an error result carrying
// message, as CIPP does when its own access to the tenant breaks; "" restores it.
func (s *Server) FailCIPPTenant(tenantID, message string) { s.srv.FailCIPPTenant(tenantID, message) }

// ThrottleGraph answers the next n Graph requests of a tenant under a path prefix (e.g.
// "/users") with 429 and Retry-After (whole seconds; 0 sends none).
func (s *Server) ThrottleGraph(tenantID, pathPrefix string, n int, retryAfter time.Duration) {
	ra := ""
	if retryAfter > 0 {
		ra = fmt.Sprint(int((retryAfter + time.Second - 1) / time.Second))
	}
	s.srv.GraphThrottle(tenantID, pathPrefix, n, ra)
}

// ExpireGraphDeltaTokens makes every delta link of a tenant issued so far answer 410
// resyncRequired, as Graph does after a delta token's lifetime.
func (s *Server) ExpireGraphDeltaTokens(tenantID string) { s.srv.GraphExpireDeltaTokens(tenantID) }

// AddUser adds a user to a tenant, with a mailbox, and returns it as Users shows it (an empty
// ObjectID is generated; a UserPrincipalName already in use is refused, as Entra ID does). Graph delta queries and CIPP report it from then on.
func (s *Server) AddUser(tenantID string, u tenantsync.User) (tenantsync.User, error) {
	added, err := s.srv.World.AddUser(tenantID, testserver.User{
		ID: u.ObjectID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		GivenName: u.GivenName, Surname: u.Surname, Mail: u.Mail, ProxyAddresses: u.ProxyAddresses,
		JobTitle: u.JobTitle, Department: u.Department, MobilePhone: u.MobilePhone, BusinessPhones: u.BusinessPhones,
		AccountEnabled: u.AccountEnabled, UserType: u.UserType, MailboxType: "UserMailbox",
	})
	if err != nil {
		return tenantsync.User{}, s.invalid("AddUser", "pass the ID of one of Tenants() and a new UserPrincipalName", "%v", err)
	}
	for _, got := range s.Users(tenantID) {
		if got.ObjectID == added.ID {
			return got, nil
		}
	}
	return tenantsync.User{}, nil
}

// DeleteUser removes a user from a tenant; Graph delta queries report it removed.
func (s *Server) DeleteUser(tenantID, objectID string) error {
	if err := s.srv.World.DeleteUser(tenantID, objectID); err != nil {
		return s.invalid("DeleteUser", "pass a tenant ID and object ID from Tenants() and Users()", "%v", err)
	}
	return nil
}

// String names the services' URLs, for test logs.
func (s *Server) String() string {
	return strings.Replace(s.srv.String(), "testserver", "tenantsynctest", 1)
}

func (s *Server) invalid(op, hint, format string, args ...any) *tenantsync.Error {
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
	e.Service, e.Op = "tenantsynctest", op
	return e
}

// The recorded CIPP tenant (ServeCIPPRecorded): CIPP answers for it with the responses
// recorded in tenantsync's cipp/testdata, byte for byte.
const (
	CIPPRecordedTenantID = testserver.CIPPRecordedTenantID
	CIPPRecordedDomain   = testserver.CIPPRecordedDomain
)

// ServeCIPPRecorded adds (or removes) the recorded tenant contoso.com to CIPP's tenant list,
// for tests that compare against fixed bodies.
func (s *Server) ServeCIPPRecorded(on bool) { s.srv.ServeCIPPRecorded(on) }

// GrantGraphAppPermissions sets the Microsoft Graph application permissions admin consent
// granted the partner app in a tenant, as its service principal's app role assignments report
// them; none means none. A tenant keeps every permission until this is called.
func (s *Server) GrantGraphAppPermissions(tenantID string, perms ...string) {
	s.srv.GraphGrantAppPermissions(tenantID, perms...)
}

// PropagateGDAPRoles makes Graph refuse (403 Authorization_RequestDenied) the calls of every
// tenant whose active GDAP relationships were all activated less than 30 minutes ago, until
// then, as Microsoft Graph does while a newly granted role propagates. The generated world has
// such relationships; call it after starting the fakes to see them as a partner would.
func (s *Server) PropagateGDAPRoles() { s.srv.PropagateGDAPRoles() }

// DefenderSetup is a tenant's Microsoft Defender for Endpoint set-up, for SetDefender.
type DefenderSetup struct {
	// Licensed gives the tenant a Defender for Business subscription (service plan MDE_SMB)
	// when none of its SKUs holds a Defender for Endpoint plan; false takes every such plan
	// away, as when the subscriptions that carried them end.
	Licensed bool
	// Connector is the state of Intune's Defender for Endpoint connector, as Graph's
	// mobileThreatDefenseConnectors report its partnerState; DefenderConnectorNotSetUp (or
	// the zero value) removes the connector.
	Connector tenantsync.DefenderConnector
}

// SetDefender sets a tenant's Defender licence and Intune connector, on Graph
// (subscribedSkus' servicePlans, deviceManagement/mobileThreatDefenseConnectors) and on CIPP
// (ListLicenses' ServicePlans, ListGraphRequest). Generated tenants start with the plans their
// SKUs include (Business Premium: Defender for Business; Microsoft 365 E3: Plan 1) and, when
// licensed, a connector that is enabled, available but off, or not set up.
func (s *Server) SetDefender(tenantID string, d DefenderSetup) error {
	partner := string(d.Connector)
	if d.Connector == tenantsync.DefenderConnectorNotSetUp {
		partner = ""
	}
	if err := s.srv.World.SetDefender(tenantID, d.Licensed, partner); err != nil {
		return s.invalid("SetDefender", "pass the ID of one of Tenants()", "%v", err)
	}
	return nil
}

// DenyGraph makes Graph answer a tenant's requests under a path prefix (relative to the version
// root, e.g. "/deviceManagement") with 403 Authorization_RequestDenied, directly and inside
// $batch, as when the GDAP role or app permission the data needs is missing. CIPP's reads of
// the Defender state (ListDefenderState, the connector through ListGraphRequest) fail the same
// way. deny=false lifts it.
func (s *Server) DenyGraph(tenantID, pathPrefix string, deny bool) {
	s.srv.GraphDeny(tenantID, pathPrefix, deny)
}
