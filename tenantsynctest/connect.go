package tenantsynctest

import (
	"sort"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// SignInOutcome is how the fake Entra ID's authorization endpoint answers a partner admin's
// sign-in (the authorization-code flow of entra.PartnerConnect). The fake shows no sign-in page:
// it answers at once with the outcome set, by redirecting to the redirect URI as Entra ID does
// after the person has acted.
type SignInOutcome int

// The sign-in outcomes, one for each way a partner connection fails.
const (
	// SignInApprove signs in the partner admin (an Admin Agent, with MFA) and issues a code.
	// It is the outcome until SetSignInOutcome changes it.
	SignInApprove = SignInOutcome(testserver.SignInApprove)
	// SignInDeclined redirects with error=access_denied and AADSTS65004: the person declined
	// the consent.
	SignInDeclined = SignInOutcome(testserver.SignInDeclined)
	// SignInMFARequired redirects with error=interaction_required and AADSTS50076: multifactor
	// authentication was required and not completed.
	SignInMFARequired = SignInOutcome(testserver.SignInMFARequired)
	// SignInNoRefreshToken issues a code whose redemption carries no refresh token, as when
	// offline_access was not granted. A request without offline_access gets none either.
	SignInNoRefreshToken = SignInOutcome(testserver.SignInNoRefreshToken)
	// SignInGuest signs in a guest of the partner tenant whose home is a customer tenant.
	SignInGuest = SignInOutcome(testserver.SignInGuest)
	// SignInNotAdminAgent signs in a member of the partner tenant without the Admin Agent
	// role: Partner Center answers 403 to its tokens.
	SignInNotAdminAgent = SignInOutcome(testserver.SignInNotAdminAgent)
	// SignInWithoutMFA signs in the partner admin without multifactor authentication: the
	// sign-in succeeds, and Partner Center refuses its tokens with 401, as App+User calls
	// require MFA.
	SignInWithoutMFA = SignInOutcome(testserver.SignInWithoutMFA)
)

// SetSignInOutcome sets how the authorization endpoint answers partner sign-ins from now on.
func (s *Server) SetSignInOutcome(o SignInOutcome) error {
	if o < SignInApprove || o > SignInWithoutMFA {
		return s.invalid("SetSignInOutcome", "use one of the SignInOutcome constants", "unknown SignInOutcome %d", int(o))
	}
	s.srv.SetSignInOutcome(testserver.SignInOutcome(o))
	return nil
}

// Domains returns a tenant's domains as Graph's /domains reports them (verified or not,
// default, initial, services), in the fake's order; nil for an unknown tenant.
func (s *Server) Domains(tenantID string) []tenantsync.Domain {
	w := s.srv.World
	t := w.Tenant(tenantID) // takes the lock itself; read locks must not nest
	if t == nil {
		return nil
	}
	var out []tenantsync.Domain
	w.Read(func() {
		for _, d := range t.Domains {
			out = append(out, tenantsync.Domain{TenantID: t.ID, Name: d.Name, IsDefault: d.IsDefault, IsInitial: d.IsInitial,
				IsVerified: d.IsVerified, Services: append([]string(nil), d.Services...)})
		}
	})
	return out
}

// MailboxTypes returns the Exchange mailbox type of every user of a tenant that has a mailbox,
// by object ID, in one call: MailboxType for a whole large tenant; nil for an unknown tenant.
func (s *Server) MailboxTypes(tenantID string) map[string]string {
	w := s.srv.World
	t := w.Tenant(tenantID)
	if t == nil {
		return nil
	}
	out := map[string]string{}
	w.Read(func() {
		for _, u := range t.ActiveUsers() {
			if u.MailboxType != "" {
				out[u.ID] = u.MailboxType
			}
		}
	})
	return out
}

// GroupInfo is one of a tenant's groups as the fake holds it.
type GroupInfo struct {
	ID          string
	DisplayName string
	// Type is "Security", "Microsoft365", "MailEnabledSecurity" or "Distribution".
	Type string
	// Members are the object IDs of the group's member users, sorted.
	Members []string
}

// Groups returns a tenant's groups with their members, sorted by name; nil for an unknown
// tenant.
func (s *Server) Groups(tenantID string) []GroupInfo {
	w := s.srv.World
	t := w.Tenant(tenantID)
	if t == nil {
		return nil
	}
	var out []GroupInfo
	w.Read(func() {
		for _, g := range t.Groups {
			gi := GroupInfo{ID: g.ID, DisplayName: g.DisplayName, Type: g.Type}
			for id, in := range g.Members {
				if in {
					gi.Members = append(gi.Members, id)
				}
			}
			sort.Strings(gi.Members)
			out = append(out, gi)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].DisplayName < out[j].DisplayName })
	return out
}

// SetAccountEnabled blocks or unblocks a user's sign-in, as an administrator would in the
// tenant: Graph delta queries and CIPP report the change from then on.
func (s *Server) SetAccountEnabled(tenantID, objectID string, enabled bool) error {
	if err := s.srv.World.UpdateUser(tenantID, objectID, func(u *testserver.User) { u.AccountEnabled = enabled }); err != nil {
		return s.invalid("SetAccountEnabled", "pass a tenant ID and user object ID that Tenants and Users return", "%v", err)
	}
	return nil
}
