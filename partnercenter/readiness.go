package partnercenter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Capability is something the SDK does in a customer tenant. The values are the capability
// names graph.Client.Probe accepts.
type Capability string

// The capabilities a readiness check covers.
const (
	CapabilityReadUsers     Capability = "read_users"
	CapabilityReadMFA       Capability = "read_mfa"
	CapabilityReadDevices   Capability = "read_devices"
	CapabilityReadMailboxes Capability = "read_mailboxes"
	CapabilityWriteUsers    Capability = "write_users"
	CapabilityWriteGroups   Capability = "write_groups"
)

// Capabilities returns every capability, in table order.
func Capabilities() []Capability {
	return []Capability{CapabilityReadUsers, CapabilityReadMFA, CapabilityReadDevices,
		CapabilityReadMailboxes, CapabilityWriteUsers, CapabilityWriteGroups}
}

// Label is the capability's name in a table header.
func (c Capability) Label() string {
	switch c {
	case CapabilityReadUsers:
		return "read users"
	case CapabilityReadMFA:
		return "read MFA detail"
	case CapabilityReadDevices:
		return "read devices"
	case CapabilityReadMailboxes:
		return "Exchange mailboxes"
	case CapabilityWriteUsers:
		return "write users"
	case CapabilityWriteGroups:
		return "write groups"
	}
	return string(c)
}

// Prober tries a capability in a customer tenant with the smallest real call and reports what
// happened: nil when it works, else an error of a tenantsync kind (ErrConsentRequired,
// ErrForbidden, ErrRoleMissing, ErrLicenseRequired, ...). graph.Client implements it.
type Prober interface {
	Probe(ctx context.Context, tenantID, capability string) error
}

// ProberFunc adapts a function to Prober.
type ProberFunc func(ctx context.Context, tenantID, capability string) error

// Probe calls f.
func (f ProberFunc) Probe(ctx context.Context, tenantID, capability string) error {
	return f(ctx, tenantID, capability)
}

// State is the readiness of one capability in one tenant.
type State string

// States, from best to worst for a table's summary. Ready and Expiring work today.
const (
	StateReady          State = "ready"
	StateExpiring       State = "expiring"        // works, but the granting relationship ends within 30 days and does not auto-extend
	StatePropagating    State = "propagating"     // the role was granted recently and Microsoft has not applied it yet
	StateUnknown        State = "unknown"         // the probe failed for another reason (throttled, outage)
	StateLicenseMissing State = "licence_missing" // the tenant lacks the licence the data needs
	StateAccessDenied   State = "access_denied"   // the role is in the relationship but the call is still refused
	StateRoleMissing    State = "role_missing"    // no active relationship holds a role that grants it
	StateConsentMissing State = "consent_missing" // the partner app is not consented in the tenant
	StateNoRelationship State = "no_relationship" // no active GDAP relationship at all
)

var stateRank = map[State]int{StateReady: 0, StateExpiring: 1, StatePropagating: 2, StateUnknown: 3,
	StateLicenseMissing: 4, StateAccessDenied: 5, StateRoleMissing: 6, StateConsentMissing: 7, StateNoRelationship: 8}

// Works reports whether the capability can be used now.
func (s State) Works() bool { return s == StateReady || s == StateExpiring }

// CapabilityStatus is one cell of the readiness table.
type CapabilityStatus struct {
	Capability Capability
	State      State
	// Reason says why the capability is not (or will soon not be) ready; Action what to do.
	Reason string
	Action string
	// Roles names the roles involved: the ones to add when State is StateRoleMissing, else the
	// granted roles that cover the capability.
	Roles []string
	// Err is the probe's error, when a probe ran and failed.
	Err error
}

// TenantReadiness is one row of the readiness table.
type TenantReadiness struct {
	TenantID     string
	DisplayName  string
	Relationship string // CustomerAccess.Describe()
	Capabilities []CapabilityStatus
	CheckedAt    time.Time
}

// Status returns the status of capability c.
func (t TenantReadiness) Status(c Capability) (CapabilityStatus, bool) {
	for _, s := range t.Capabilities {
		if s.Capability == c {
			return s, true
		}
	}
	return CapabilityStatus{}, false
}

// State is the tenant's summary: its worst capability state.
func (t TenantReadiness) State() State {
	worst := StateReady
	for _, s := range t.Capabilities {
		if stateRank[s.State] > stateRank[worst] {
			worst = s.State
		}
	}
	return worst
}

// Default windows of a Checker.
const (
	// DefaultExpiryWarning: a relationship ending within 30 days without auto-extend is flagged.
	DefaultExpiryWarning = 30 * 24 * time.Hour
	// DefaultPropagation: Microsoft documents 30 minutes to 2 hours before a new GDAP role
	// takes effect; a refusal within this window after the grant is reported as propagation.
	DefaultPropagation = 2 * time.Hour
)

// Checker computes readiness from merged relationships and a Prober.
type Checker struct {
	Prober Prober
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ExpiryWarning and Propagation default to DefaultExpiryWarning and DefaultPropagation.
	ExpiryWarning time.Duration
	Propagation   time.Duration
	// Capabilities limits the check (default: all).
	Capabilities []Capability
}

func (ck *Checker) now() time.Time {
	if ck.Now != nil {
		return ck.Now()
	}
	return time.Now()
}

func (ck *Checker) caps() []Capability {
	if len(ck.Capabilities) > 0 {
		return ck.Capabilities
	}
	return Capabilities()
}

// Check computes one tenant's readiness. Capabilities no active role covers are not probed;
// once a probe shows the app is not consented, the remaining ones are not probed either (they
// would fail the same way).
func (ck *Checker) Check(ctx context.Context, a CustomerAccess) TenantReadiness {
	now := ck.now()
	tr := TenantReadiness{TenantID: a.TenantID, DisplayName: a.DisplayName, Relationship: a.Describe(), CheckedAt: now}
	var consentErr error
	for _, c := range ck.caps() {
		st := CapabilityStatus{Capability: c}
		req := requirements[c].Roles
		var covering []RoleGrant
		for _, id := range req {
			if g, ok := a.Role(id); ok {
				covering = append(covering, g)
			}
		}
		switch {
		case !a.Active:
			ck.noRelationship(&st, a)
		case len(covering) == 0:
			st.State = StateRoleMissing
			st.Roles = []string{RoleName(req[0])}
			st.Reason = fmt.Sprintf("no active GDAP relationship holds a role that grants %s (any of: %s)",
				c.Label(), strings.Join(RoleNames(req), ", "))
			st.Action = fmt.Sprintf("add the %s role: an approved relationship such as %s cannot gain roles, so request a "+
				"GDAP relationship with %s in Partner Center and assign it to the partner's security group",
				RoleName(req[0]), relationshipName(a), RoleName(req[0]))
		default:
			st.Roles = grantNames(covering)
			err := consentErr
			if err == nil {
				err = probe(ctx, ck.Prober, a.TenantID, c)
			}
			ck.classify(&st, err, a, covering, now)
			if st.State == StateConsentMissing {
				consentErr = err
			}
		}
		tr.Capabilities = append(tr.Capabilities, st)
	}
	return tr
}

func probe(ctx context.Context, p Prober, tenant string, c Capability) (err error) {
	if p == nil {
		return tenantsync.Errorf(tenantsync.ErrInvalidInput, "set Checker.Prober (a graph.Client)", "no prober configured")
	}
	defer func() {
		if r := recover(); r != nil {
			err = tenantsync.Errorf(tenantsync.ErrUnavailable, "report the prober's failure", "probe %s panicked: %v", c, r)
		}
	}()
	return p.Probe(ctx, tenant, string(c))
}

func (ck *Checker) noRelationship(st *CapabilityStatus, a CustomerAccess) {
	st.State = StateNoRelationship
	st.Roles = []string{RoleName(requirements[st.Capability].Roles[0])}
	all := strings.Join(RoleNames(RecommendedRoles()), ", ")
	switch d := a.Describe(); {
	case strings.HasPrefix(d, "GDAP expired"), d == "GDAP terminated":
		st.Reason = "the GDAP relationship " + relationshipName(a) + " is no longer active (" + d + ")"
		st.Action = "request a new GDAP relationship in Partner Center with " + all + ", and have the customer's admin approve it"
	case strings.HasPrefix(d, "GDAP "):
		st.Reason = "the GDAP relationship " + relationshipName(a) + " is not active yet (" + strings.TrimPrefix(d, "GDAP ") + ")"
		st.Action = "have the customer's Global Administrator approve the relationship invitation, then re-verify"
	case len(a.MicrosoftLed) > 0:
		st.Reason = "only a Microsoft-led (MLT_) relationship exists; it is transitional and is ignored"
		st.Action = "create a GDAP relationship in Partner Center with " + all
	default:
		st.Reason = "the partner has no GDAP relationship with this customer"
		st.Action = "create a GDAP relationship in Partner Center with " + all + ", and have the customer's admin approve it"
	}
}

func (ck *Checker) classify(st *CapabilityStatus, err error, a CustomerAccess, covering []RoleGrant, now time.Time) {
	expiry := ck.ExpiryWarning
	if expiry <= 0 {
		expiry = DefaultExpiryWarning
	}
	propagation := ck.Propagation
	if propagation <= 0 {
		propagation = DefaultPropagation
	}
	switch {
	case err == nil:
		st.State = StateReady
		if g, ends := expiringCover(covering, now, expiry); ends {
			st.State = StateExpiring
			days := int(g.EndAt.Sub(now).Hours()/24 + 0.5)
			st.Reason = fmt.Sprintf("the GDAP relationship %s ends on %s (in %d days) and does not auto-extend",
				quoteList(g.Relationships), g.EndAt.Format(time.DateOnly), days)
			st.Action = "turn on auto-extend (180 days) for the relationship in Partner Center, or request a new relationship before it ends"
			if holdsGlobalAdmin(a, g.Relationships) {
				st.Action = "relationships holding Global Administrator cannot auto-extend: request a new relationship with least-privileged roles before it ends"
			}
		}
	case errors.Is(err, tenantsync.ErrConsentRequired):
		st.State, st.Err = StateConsentMissing, err
		st.Reason = "the partner app is not consented in this tenant (GDAP grants roles to people, not to the app)"
		st.Action = "grant consent with partnercenter.Client.GrantApplicationConsent (POST /v1/customers/{id}/applicationconsents), " +
			"or run CIPP's permission refresh (CPV consent) for the tenant"
	case errors.Is(err, tenantsync.ErrLicenseRequired):
		st.State, st.Err = StateLicenseMissing, err
		st.Reason = "the tenant lacks the licence this data needs (MFA registration detail needs Entra ID P1 or P2)"
		st.Action = "license the tenant with Entra ID P1 (e.g. Microsoft 365 Business Premium), or accept that this capability stays off"
	case errors.Is(err, tenantsync.ErrForbidden) || errors.Is(err, tenantsync.ErrRoleMissing) || errors.Is(err, tenantsync.ErrUnauthorized):
		st.Err = err
		if g, recent := recentCover(covering, now, propagation); recent {
			st.State = StatePropagating
			st.Reason = fmt.Sprintf("recently granted: the roles were granted %s ago; Microsoft may take 30 minutes to 2 hours to apply them",
				now.Sub(g.GrantedAt).Round(time.Minute))
			st.Action = "re-verify later (after " + g.GrantedAt.Add(propagation).Format("15:04 MST") + ")"
			return
		}
		st.State = StateAccessDenied
		st.Reason = fmt.Sprintf("%s is in the GDAP relationship but the call was refused", strings.Join(grantNames(covering), ", "))
		st.Action = "assign the role to a security group that contains the partner user (the relationship's access assignments), " +
			"and check the user signs in with MFA"
		if h := tenantsync.HintOf(err); h != "" {
			st.Action += "; the service says: " + h
		}
	default:
		st.State, st.Err = StateUnknown, err
		st.Reason = "could not verify: " + err.Error()
		st.Action = "re-verify later"
		if h := tenantsync.HintOf(err); h != "" {
			st.Action = h
		}
	}
}

// expiringCover returns the covering grant that lasts longest, and whether even it ends within
// the window without renewing itself.
func expiringCover(covering []RoleGrant, now time.Time, window time.Duration) (RoleGrant, bool) {
	best := covering[0]
	for _, g := range covering {
		if g.AutoExtends || g.EndAt.IsZero() {
			return g, false
		}
		if g.EndAt.After(best.EndAt) {
			best = g
		}
	}
	return best, best.EndAt.Sub(now) <= window
}

// recentCover reports whether every covering grant is younger than the propagation window (an
// older one would already be in effect), returning the newest.
func recentCover(covering []RoleGrant, now time.Time, window time.Duration) (RoleGrant, bool) {
	newest := covering[0]
	for _, g := range covering {
		if g.GrantedAt.IsZero() || now.Sub(g.GrantedAt) >= window {
			return g, false
		}
		if g.GrantedAt.After(newest.GrantedAt) {
			newest = g
		}
	}
	return newest, true
}

// holdsGlobalAdmin reports whether one of the named relationships holds Global Administrator,
// which Partner Center does not allow to auto-extend.
func holdsGlobalAdmin(a CustomerAccess, names []string) bool {
	for _, r := range a.Relationships {
		if slices.Contains(names, r.DisplayName) && slices.Contains(r.Roles, RoleGlobalAdministrator) {
			return true
		}
	}
	return false
}

func grantNames(gs []RoleGrant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func quoteList(names []string) string {
	q := make([]string, 0, len(names))
	for _, n := range names {
		q = append(q, fmt.Sprintf("%q", n))
	}
	return strings.Join(q, ", ")
}

// relationshipName names the relationship to change: the first named one in the order
// MergeRelationships leaves them, latest end date first, so an active relationship comes before
// expired ones.
func relationshipName(a CustomerAccess) string {
	for _, r := range a.Relationships {
		if r.DisplayName != "" {
			return fmt.Sprintf("%q", r.DisplayName)
		}
	}
	return "with this customer"
}

// Readiness lists the partner's customers (GDAP relationships and, when Partner Center is
// configured, Partner Center customers without one) and checks each with ck, at most
// concurrency tenants at a time (default 4). The list is sorted by display name.
func (c *Client) Readiness(ctx context.Context, ck *Checker, concurrency int) ([]TenantReadiness, error) {
	if err := c.noGDAP("Readiness"); err != nil {
		return nil, err
	}
	if c.graph == nil {
		return nil, notConfigured("Readiness", "Graph (GDAP relationships)", "GraphTokens")
	}
	if ck == nil {
		return nil, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "Readiness",
			Message: "no checker", Hint: "pass &partnercenter.Checker{Prober: graphClient}"}
	}
	accesses, err := c.customerAccesses(ctx)
	if err != nil {
		return nil, err
	}
	if concurrency <= 0 {
		concurrency = 4
	}
	out := make([]TenantReadiness, len(accesses))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, a := range accesses {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = ck.Check(ctx, a)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// TenantReadinessOf re-verifies one tenant, for a "check again" button once a role has
// propagated or consent was granted. Relationships cannot be filtered by customer on the
// wire, so it reads the partner's listing and checks only this tenant.
func (c *Client) TenantReadinessOf(ctx context.Context, ck *Checker, tenantID string) (TenantReadiness, error) {
	if err := checkTenantID("TenantReadinessOf", tenantID); err != nil {
		return TenantReadiness{}, err
	}
	if err := c.noGDAP("TenantReadinessOf"); err != nil {
		return TenantReadiness{}, err
	}
	if c.graph == nil {
		return TenantReadiness{}, notConfigured("TenantReadinessOf", "Graph (GDAP relationships)", "GraphTokens")
	}
	if ck == nil {
		return TenantReadiness{}, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "TenantReadinessOf",
			Message: "no checker", Hint: "pass &partnercenter.Checker{Prober: graphClient}"}
	}
	accesses, err := c.GDAPCustomers(ctx)
	if err != nil {
		return TenantReadiness{}, err
	}
	id := strings.ToLower(tenantID)
	for _, a := range accesses {
		if a.TenantID == id {
			return ck.Check(ctx, a), nil
		}
	}
	return ck.Check(ctx, CustomerAccess{TenantID: id}), nil
}

// customerAccesses merges GDAP customers with Partner Center customers that have no relationship.
func (c *Client) customerAccesses(ctx context.Context) ([]CustomerAccess, error) {
	var accesses []CustomerAccess
	if c.graph != nil {
		var err error
		if accesses, err = c.GDAPCustomers(ctx); err != nil {
			return nil, err
		}
	}
	if c.pc != nil {
		customers, err := c.Customers(ctx)
		if err != nil {
			return nil, err
		}
		known := map[string]int{}
		for i, a := range accesses {
			known[a.TenantID] = i
		}
		for _, cu := range customers {
			t := tenantFromCustomer(cu)
			if i, ok := known[t.ID]; ok {
				if accesses[i].DisplayName == "" {
					accesses[i].DisplayName = t.DisplayName
				}
				continue
			}
			known[t.ID] = len(accesses)
			accesses = append(accesses, CustomerAccess{TenantID: t.ID, DisplayName: t.DisplayName})
		}
		slices.SortFunc(accesses, func(x, y CustomerAccess) int {
			if c := strings.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName)); c != 0 {
				return c
			}
			return strings.Compare(x.TenantID, y.TenantID)
		})
	}
	return accesses, nil
}
