package partnercenter

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Relationship is a GDAP relationship in the package's terms.
type Relationship struct {
	ID               string
	DisplayName      string
	Status           string // Graph's status: "active", "expired", "approvalPending", ...
	CustomerTenantID string
	CustomerName     string
	Roles            []string // role template IDs
	// AutoExtend is the auto-extend period as Graph gives it ("P180D"; "PT0S" or "P0D" for none).
	AutoExtend  string
	CreatedAt   time.Time
	ActivatedAt time.Time // zero while pending
	EndAt       time.Time // zero while pending
	// MicrosoftLed marks the MLT_ relationships Microsoft created when it moved partners off
	// DAP; they are transitional and not something a partner manages, so merging ignores them.
	MicrosoftLed bool
	// IndirectProviderTenantID is set on relationships an indirect reseller holds.
	IndirectProviderTenantID string
}

// AutoExtends reports whether the relationship renews itself at its end.
func (r Relationship) AutoExtends() bool {
	d, err := ParseISODuration(r.AutoExtend)
	return err == nil && d > 0
}

// Active reports whether the relationship grants access at now. Graph reports "expiring" for an
// active relationship near its end; a relationship past its end date grants nothing whatever
// its status says.
func (r Relationship) Active(now time.Time) bool {
	if r.Status != "active" && r.Status != "expiring" {
		return false
	}
	return r.EndAt.IsZero() || r.EndAt.After(now)
}

func relationshipFromWire(w DelegatedAdminRelationship) Relationship {
	r := Relationship{
		ID:                       w.ID,
		DisplayName:              w.DisplayName,
		Status:                   w.Status,
		CustomerTenantID:         strings.ToLower(w.Customer.TenantID),
		CustomerName:             w.Customer.DisplayName,
		AutoExtend:               w.AutoExtendDuration,
		MicrosoftLed:             strings.HasPrefix(strings.ToUpper(w.DisplayName), "MLT_"),
		IndirectProviderTenantID: w.IndirectProvider,
	}
	for _, ur := range w.AccessDetails.UnifiedRoles {
		if id := strings.ToLower(ur.RoleDefinitionID); id != "" && !slices.Contains(r.Roles, id) {
			r.Roles = append(r.Roles, id)
		}
	}
	if w.CreatedDateTime != nil {
		r.CreatedAt = w.CreatedDateTime.UTC()
	}
	if w.ActivatedDateTime != nil {
		r.ActivatedAt = w.ActivatedDateTime.UTC()
	}
	if w.EndDateTime != nil {
		r.EndAt = w.EndDateTime.UTC()
	}
	return r
}

// RoleGrant is one role a customer's active relationships grant, merged across them.
type RoleGrant struct {
	RoleID string
	Name   string
	// GrantedAt is the earliest activation among the active relationships holding the role:
	// the moment it started to propagate.
	GrantedAt time.Time
	// EndAt is the latest end among them; AutoExtends is true when any of them auto-extends.
	EndAt       time.Time
	AutoExtends bool
	// Relationships names the relationships holding the role.
	Relationships []string
}

// CustomerAccess is what the partner's GDAP relationships with one customer add up to.
type CustomerAccess struct {
	TenantID    string
	DisplayName string
	// Active is true when at least one relationship (Microsoft-led ones aside) is active;
	// ActiveRelationships counts them.
	Active              bool
	ActiveRelationships int
	// Roles is the union of the roles of the active relationships, sorted by name.
	Roles []RoleGrant
	// EndAt is the latest end date among the active relationships; AutoExtends is true when the
	// relationship ending last renews itself.
	EndAt       time.Time
	AutoExtends bool
	// Relationships are the partner-managed relationships, in any status, latest end date first.
	Relationships []Relationship
	// MicrosoftLed are the MLT_ relationships left out of the merge.
	MicrosoftLed []Relationship
}

// Role returns the grant of a role, if an active relationship holds it.
func (a CustomerAccess) Role(id string) (RoleGrant, bool) {
	for _, g := range a.Roles {
		if g.RoleID == id {
			return g, true
		}
	}
	return RoleGrant{}, false
}

// Describe says in one line how the partner reaches the tenant through GDAP, for display and
// for tenantsync.Tenant.Relationship.
func (a CustomerAccess) Describe() string {
	if a.Active {
		s := "GDAP active until " + a.EndAt.Format(time.DateOnly)
		if a.EndAt.IsZero() {
			s = "GDAP active"
		}
		if a.AutoExtends {
			s += " (auto-extends)"
		}
		if a.ActiveRelationships > 1 {
			s += fmt.Sprintf(", %d relationships", a.ActiveRelationships)
		}
		return s
	}
	// A pending invitation says more about what to do next than the relationship it replaces.
	for _, r := range a.Relationships {
		switch r.Status {
		case "approvalPending", "created", "approved", "activating":
			return "GDAP " + r.Status
		}
	}
	for _, r := range a.Relationships {
		switch {
		case r.Status == "expired" || (!r.EndAt.IsZero() && (r.Status == "active" || r.Status == "expiring")):
			return "GDAP expired " + r.EndAt.Format(time.DateOnly)
		case r.Status == "terminated":
			return "GDAP terminated"
		case r.Status != "":
			return "GDAP " + r.Status
		}
	}
	if len(a.MicrosoftLed) > 0 {
		return "only a Microsoft-led (MLT_) relationship"
	}
	return "no GDAP relationship"
}

// MergeRelationships groups relationships by customer. Microsoft-led (MLT_) relationships are set
// aside; the roles of the active ones are united, each with when it was first granted and when
// its last holder ends; the customer's end date is the latest among active relationships. The
// result is sorted by display name, then tenant ID.
func MergeRelationships(rels []Relationship, now time.Time) []CustomerAccess {
	byTenant := map[string]*CustomerAccess{}
	var order []string
	for _, r := range rels {
		if r.CustomerTenantID == "" {
			continue
		}
		a, ok := byTenant[r.CustomerTenantID]
		if !ok {
			a = &CustomerAccess{TenantID: r.CustomerTenantID}
			byTenant[r.CustomerTenantID] = a
			order = append(order, r.CustomerTenantID)
		}
		if r.CustomerName != "" && (a.DisplayName == "" || r.Active(now)) {
			a.DisplayName = r.CustomerName
		}
		if r.MicrosoftLed {
			a.MicrosoftLed = append(a.MicrosoftLed, r)
			continue
		}
		a.Relationships = append(a.Relationships, r)
		if !r.Active(now) {
			continue
		}
		a.Active = true
		a.ActiveRelationships++
		if r.EndAt.After(a.EndAt) || (r.EndAt.Equal(a.EndAt) && r.AutoExtends()) {
			a.EndAt = r.EndAt
			a.AutoExtends = r.AutoExtends()
		}
		for _, id := range r.Roles {
			i := slices.IndexFunc(a.Roles, func(g RoleGrant) bool { return g.RoleID == id })
			if i < 0 {
				a.Roles = append(a.Roles, RoleGrant{RoleID: id, Name: RoleName(id), GrantedAt: r.ActivatedAt, EndAt: r.EndAt})
				i = len(a.Roles) - 1
			}
			g := &a.Roles[i]
			if !r.ActivatedAt.IsZero() && (g.GrantedAt.IsZero() || r.ActivatedAt.Before(g.GrantedAt)) {
				g.GrantedAt = r.ActivatedAt
			}
			if r.EndAt.After(g.EndAt) {
				g.EndAt = r.EndAt
			}
			g.AutoExtends = g.AutoExtends || r.AutoExtends()
			g.Relationships = append(g.Relationships, r.DisplayName)
		}
	}
	out := make([]CustomerAccess, 0, len(order))
	for _, id := range order {
		a := byTenant[id]
		slices.SortFunc(a.Roles, func(x, y RoleGrant) int { return strings.Compare(x.Name, y.Name) })
		slices.SortStableFunc(a.Relationships, func(x, y Relationship) int { return y.EndAt.Compare(x.EndAt) })
		out = append(out, *a)
	}
	slices.SortFunc(out, func(x, y CustomerAccess) int {
		if c := strings.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(x.TenantID, y.TenantID)
	})
	return out
}

// ParseISODuration parses the ISO-8601 durations Graph uses for GDAP (P730D, P180D, PT0S, P2Y,
// P1Y6M, PT12H30M). Years count 365 days and months 30, as Partner Center's GDAP screens do.
func ParseISODuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, tenantsync.Errorf(tenantsync.ErrInvalidInput, "use an ISO-8601 duration such as P180D", "duration %q is not ISO-8601", s)
	}
	if s == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(strings.ToUpper(s), "P")
	if !ok || rest == "" {
		return bad()
	}
	const day = 24 * time.Hour
	units := map[bool]map[byte]time.Duration{
		false: {'Y': 365 * day, 'M': 30 * day, 'W': 7 * day, 'D': day},
		true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
	}
	var total float64
	inTime, any := false, false
	type designator struct {
		inTime bool
		unit   byte
	}
	seen := map[designator]bool{}
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return bad()
			}
			inTime, rest = true, rest[1:]
			if rest == "" {
				return bad()
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return bad()
		}
		n, err := strconv.ParseFloat(strings.ReplaceAll(rest[:i], ",", "."), 64)
		unit, known := units[inTime][rest[i]]
		key := designator{inTime, rest[i]}
		if err != nil || !known || n > 1e5 || seen[key] {
			return bad()
		}
		seen[key] = true
		total += n * float64(unit)
		any = true
		rest = rest[i+1:]
	}
	if !any {
		return bad()
	}
	// A time.Duration holds about 292 years; anything longer is not a GDAP duration.
	if total >= float64(math.MaxInt64) {
		return 0, tenantsync.Errorf(tenantsync.ErrInvalidInput, "use an ISO-8601 duration shorter than 290 years, such as P730D", "duration %q is too long", s)
	}
	return time.Duration(total), nil
}

// tenantFromCustomer converts a Partner Center customer. Partner Center's companyProfile.domain
// is the tenant's onmicrosoft.com domain for most customers, a custom default domain for some.
func tenantFromCustomer(cu Customer) tenantsync.Tenant {
	t := tenantsync.Tenant{
		ID:          strings.ToLower(cu.TenantID()),
		DisplayName: cu.CompanyProfile.CompanyName,
		Source:      Service,
	}
	if d := strings.ToLower(strings.TrimSpace(cu.CompanyProfile.Domain)); d != "" {
		if strings.HasSuffix(d, ".onmicrosoft.com") {
			t.InitialDomain = d
		} else {
			t.DefaultDomain = d
		}
		t.Domains = []string{d}
	}
	return t
}

// GrantedAtFunc returns a lookup of when each customer's GDAP roles were last granted (the
// newest activation among its active relationships), the shape of graph.Config.GrantedAt, so
// Graph can tell a role still propagating from a role missing.
func GrantedAtFunc(accesses []CustomerAccess) func(tenantID string) time.Time {
	m := make(map[string]time.Time, len(accesses))
	for _, a := range accesses {
		var newest time.Time
		for _, g := range a.Roles {
			if g.GrantedAt.After(newest) {
				newest = g.GrantedAt
			}
		}
		m[a.TenantID] = newest
	}
	return func(tenantID string) time.Time { return m[strings.ToLower(tenantID)] }
}
