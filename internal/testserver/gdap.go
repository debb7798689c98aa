package testserver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Entra role template IDs the generator grants (reference §2.3).
const (
	roleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	roleGlobalReader                  = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	roleUserAdministrator             = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleExchangeAdministrator         = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	rolePrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	roleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	roleAuthenticationAdministrator   = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	rolePrivilegedAuthAdministrator   = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	roleSecurityReader                = "5d6b6bb7-de71-4623-b4af-96380a352509"
	roleIntuneAdministrator           = "3a2c62db-5318-420d-8d74-23affee5d9d5"
	roleGroupsAdministrator           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	roleDirectoryReaders              = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	roleServiceSupportAdministrator   = "f023fd81-a637-4b56-95fd-791ac0226033"
)

// RolePropagationDelay is how long the fake waits after a relationship's activation before its
// roles take effect. Microsoft documents 30 minutes to 2 hours; the generator's recently granted
// relationships are younger than this.
const RolePropagationDelay = 90 * time.Minute

// RoleAccess is what the partner user's GDAP relationships give in a tenant for a set of roles.
type RoleAccess int

// Role access states.
const (
	// RoleAbsent: no active relationship holds any of the roles.
	RoleAbsent RoleAccess = iota
	// RolePropagating: an active relationship holds one, but was activated less than
	// RolePropagationDelay ago; Graph still answers 403.
	RolePropagating
	// RoleEffective: the role is in force.
	RoleEffective
)

// RoleAccess reports whether the partner user holds any of roleIDs in t at now through an active
// relationship (Microsoft-led ones included: they grant real access). Graph fakes answer 403
// unless it is RoleEffective. The caller holds the World's lock.
func (t *Tenant) RoleAccess(now time.Time, roleIDs ...string) RoleAccess {
	best := RoleAbsent
	for _, rel := range t.Relationships {
		if !rel.activeAt(now) {
			continue
		}
		for _, id := range roleIDs {
			if !containsFold(rel.Roles, id) {
				continue
			}
			if now.Sub(rel.ActivatedAt) >= RolePropagationDelay {
				return RoleEffective
			}
			best = RolePropagating
		}
	}
	return best
}

// HasActiveRelationship reports whether t has an active GDAP relationship at now. The caller
// holds the World's lock.
func (t *Tenant) HasActiveRelationship(now time.Time) bool {
	for _, rel := range t.Relationships {
		if rel.activeAt(now) {
			return true
		}
	}
	return false
}

// PropagateGDAPRoles makes the fake Graph answer 403 Authorization_RequestDenied in every tenant
// whose active GDAP relationships were all activated less than RolePropagationDelay ago, until
// the delay has passed, as Microsoft Graph does while a newly granted role propagates. Call it
// after the fake starts or after adding a relationship.
func (s *Server) PropagateGDAPRoles() {
	now := time.Now()
	type pending struct {
		tenant string
		left   time.Duration
	}
	var todo []pending
	w := s.World
	w.mu.RLock()
	for _, t := range w.Tenants {
		effective, newest := false, time.Time{}
		for _, rel := range t.Relationships {
			if !rel.activeAt(now) {
				continue
			}
			if now.Sub(rel.ActivatedAt) >= RolePropagationDelay {
				effective = true
			} else if rel.ActivatedAt.After(newest) {
				newest = rel.ActivatedAt
			}
		}
		if !effective && !newest.IsZero() {
			todo = append(todo, pending{t.ID, RolePropagationDelay - now.Sub(newest)})
		}
	}
	w.mu.RUnlock()
	for _, p := range todo {
		s.GraphRolePropagation(p.tenant, p.left)
	}
}

func (r *Relationship) activeAt(now time.Time) bool {
	return r.Status == "active" && (r.EndAt.IsZero() || r.EndAt.After(now))
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// The role sets the generator hands out. fullRoles is what a partner following CIPP's
// recommended GDAP template grants; it holds Cloud Application Administrator so the Partner
// Center consent call works.
var (
	fullRoles = []string{roleDirectoryReaders, roleUserAdministrator, roleGroupsAdministrator, roleExchangeAdministrator,
		roleIntuneAdministrator, roleSecurityReader, roleAuthenticationAdministrator, rolePrivilegedAuthAdministrator,
		roleCloudApplicationAdministrator}
	// identityRoles lacks Exchange and Intune roles.
	identityRoles = []string{roleDirectoryReaders, roleUserAdministrator, roleCloudApplicationAdministrator}
	workloadRoles = []string{roleGroupsAdministrator, roleSecurityReader}
	serviceRoles  = []string{roleExchangeAdministrator, roleIntuneAdministrator, roleSecurityReader, roleGroupsAdministrator}
	mltRoles      = []string{roleDirectoryReaders, roleGlobalReader, roleServiceSupportAdministrator}
)

// GDAP scenarios, assigned to the first tenants in this order so even a five-tenant World shows
// most readiness states, then drawn at random (mostly healthy) for the rest.
const (
	gdapHealthyWithMLT = iota // one active relationship with every role, plus an active MLT_ one
	gdapMissingRoles          // two active relationships to merge, neither with Exchange or Intune roles
	gdapRecent                // every role, activated minutes ago: still propagating
	gdapExpiring              // every role, ends within 30 days, no auto-extend
	gdapExpired               // the only relationship expired
	gdapMergedHealthy         // two active relationships whose union holds every role
	gdapPending               // an invitation the customer has not approved
	gdapHealthy               // one active relationship with every role
)

// generateRelationships gives every tenant of w its GDAP relationships, deterministically from
// rng apart from the dates: those are set relative to the hour of generation, because Entra and
// Graph judge expiry and role propagation against the wall clock.
func (w *World) generateRelationships(rng *rand.Rand) {
	w.mu.Lock()
	defer w.mu.Unlock()
	anchor := time.Now().UTC().Truncate(time.Hour)
	for i, t := range w.Tenants {
		scenario := i
		if i > gdapPending {
			scenario = []int{gdapHealthy, gdapHealthy, gdapHealthy, gdapHealthy, gdapHealthy, gdapHealthy,
				gdapMergedHealthy, gdapHealthyWithMLT, gdapMissingRoles, gdapExpiring, gdapExpired}[rng.IntN(11)]
		}
		g := relGen{rng: rng, t: t, anchor: anchor}
		switch scenario {
		case gdapHealthyWithMLT:
			g.active("Standard roles", fullRoles, g.daysAgo(60, 400), "P180D")
			mlt := g.active("MLT_"+strings.ToUpper(newGUID(rng)[:8]), mltRoles, g.daysAgo(400, 700), "PT0S")
			mlt.EndAt = anchor.AddDate(0, 0, 30+rng.IntN(200))
		case gdapMissingRoles:
			g.active("Identity", identityRoles, g.daysAgo(30, 300), "P180D")
			g.active("Workloads", workloadRoles, g.daysAgo(10, 200), "P180D")
		case gdapRecent:
			g.active("Standard roles", fullRoles, anchor.Add(-time.Duration(5+rng.IntN(20))*time.Minute), "P180D")
		case gdapExpiring:
			r := g.active("Standard roles", fullRoles, g.daysAgo(300, 700), "PT0S")
			r.EndAt = anchor.Add(time.Duration(7*24+rng.IntN(18*24)) * time.Hour)
		case gdapExpired:
			r := g.active("Standard roles", fullRoles, g.daysAgo(760, 900), "PT0S")
			r.Status = "expired"
			r.EndAt = r.ActivatedAt.AddDate(0, 0, 730)
		case gdapMergedHealthy:
			g.active("Identity", identityRoles, g.daysAgo(100, 500), "P180D")
			g.active("Services", serviceRoles, g.daysAgo(20, 90), "P180D")
		case gdapPending:
			r := g.add("Standard roles", fullRoles, "approvalPending", "P180D")
			r.CreatedAt = anchor.Add(-time.Duration(1+rng.IntN(48)) * time.Hour)
		default:
			g.active("Standard roles", fullRoles, g.daysAgo(30, 600), "P180D")
		}
	}
}

type relGen struct {
	rng    *rand.Rand
	t      *Tenant
	anchor time.Time
}

func (g relGen) daysAgo(lo, hi int) time.Time {
	return g.anchor.Add(-time.Duration(lo*24+g.rng.IntN((hi-lo)*24+1)) * time.Hour)
}

func (g relGen) add(name string, roles []string, status, autoExtend string) *Relationship {
	r := &Relationship{
		ID:         newGUID(g.rng) + "-" + newGUID(g.rng),
		Status:     status,
		Roles:      append([]string(nil), roles...),
		AutoExtend: autoExtend,
	}
	if strings.HasPrefix(name, "MLT_") {
		r.DisplayName = name
	} else {
		r.DisplayName = fmt.Sprintf("%s - %s", g.t.Name, name)
	}
	g.t.Relationships = append(g.t.Relationships, r)
	return r
}

func (g relGen) active(name string, roles []string, activated time.Time, autoExtend string) *Relationship {
	r := g.add(name, roles, "active", autoExtend)
	r.ActivatedAt = activated
	r.CreatedAt = activated.Add(-time.Duration(1+g.rng.IntN(72)) * time.Hour)
	r.EndAt = activated.AddDate(0, 0, 730)
	return r
}

// gdapHandler serves Graph's tenantRelationships endpoints (delegatedAdminRelationships and
// delegatedAdminCustomers) to a Graph token issued in the partner tenant. The Graph handler
// routes /v1.0/tenantRelationships/ and /beta/tenantRelationships/ here.
func (s *Server) gdapHandler() http.Handler {
	mux := http.NewServeMux()
	for _, v := range []string{"v1.0", "beta"} {
		base := "/" + v + "/tenantRelationships/"
		mux.HandleFunc("GET "+base+"delegatedAdminRelationships", s.gdapList)
		mux.HandleFunc("GET "+base+"delegatedAdminRelationships/{id}", s.gdapGet)
		mux.HandleFunc("GET "+base+"delegatedAdminCustomers", s.gdapCustomers)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Resource not found for the segment '%s'.", lastSegment(r.URL.Path)))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.gdapAuthorize(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// gdapAuthorize admits Graph tokens issued in the partner tenant: relationships are the
// partner's, a customer-tenant token cannot list them.
func (s *Server) gdapAuthorize(w http.ResponseWriter, r *http.Request) bool {
	c, err := s.verifyBearer(r, AudienceGraph)
	if err != nil {
		msg := "Access token has expired or is not yet valid."
		switch {
		case errors.Is(err, errTokenMissing):
			msg = "Access token is empty."
		case errors.Is(err, errTokenMalformed), errors.Is(err, errTokenSignature):
			msg = "CompactToken parsing failed with error code: 80049217"
		case errors.Is(err, errTokenAudience):
			msg = "Invalid audience."
		}
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return false
	}
	if !strings.EqualFold(c.TenantID, s.World.partnerTenantID()) {
		writeGraphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return false
	}
	return true
}

func gdapRequestIDs(w http.ResponseWriter, r *http.Request) {
	reqID := randomGUID()
	client := r.Header.Get("client-request-id")
	if client == "" {
		client = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", client)
}

// relationshipJSON renders a relationship as Graph does; a pending one has null activation and
// end dates.
func relationshipJSON(t *Tenant, rel *Relationship) map[string]any {
	roles := make([]map[string]string, 0, len(rel.Roles))
	for _, id := range rel.Roles {
		roles = append(roles, map[string]string{"roleDefinitionId": id})
	}
	var activated, end any
	duration := "P730D"
	if !rel.ActivatedAt.IsZero() {
		activated = rel.ActivatedAt.UTC().Format(time.RFC3339Nano)
	}
	if !rel.EndAt.IsZero() {
		end = rel.EndAt.UTC().Format(time.RFC3339Nano)
		if !rel.ActivatedAt.IsZero() {
			duration = fmt.Sprintf("P%dD", int(rel.EndAt.Sub(rel.ActivatedAt).Hours()/24+0.5))
		}
	}
	modified := rel.CreatedAt
	if rel.ActivatedAt.After(modified) {
		modified = rel.ActivatedAt
	}
	auto := rel.AutoExtend
	if auto == "" {
		auto = "PT0S"
	}
	return map[string]any{
		"@odata.type":          "#microsoft.graph.delegatedAdminRelationship",
		"@odata.etag":          `W/"` + base64.StdEncoding.EncodeToString([]byte(`'"`+rel.ID[:8]+`"'`)) + `"`,
		"id":                   rel.ID,
		"displayName":          rel.DisplayName,
		"duration":             duration,
		"customer":             map[string]string{"tenantId": t.ID, "displayName": t.Name},
		"accessDetails":        map[string]any{"unifiedRoles": roles},
		"status":               rel.Status,
		"autoExtendDuration":   auto,
		"createdDateTime":      rel.CreatedAt.UTC().Format(time.RFC3339Nano),
		"lastModifiedDateTime": modified.UTC().Format(time.RFC3339Nano),
		"activatedDateTime":    activated,
		"endDateTime":          end,
	}
}

type gdapItem struct {
	t   *Tenant
	rel *Relationship
}

// gdapFilter understands the one filter partners use, status eq '<status>'.
func gdapFilter(f string) (status string, ok bool) {
	if f == "" {
		return "", true
	}
	rest, found := strings.CutPrefix(strings.TrimSpace(f), "status eq ")
	if !found || len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
		return "", false
	}
	return rest[1 : len(rest)-1], true
}

func (s *Server) gdapList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	top, offset, status, ok := gdapPaging(w, r, q)
	if !ok {
		return
	}
	world := s.World
	world.mu.RLock()
	var items []gdapItem
	for _, t := range world.Tenants {
		for _, rel := range t.Relationships {
			if status == "" || strings.EqualFold(rel.Status, status) {
				items = append(items, gdapItem{t, rel})
			}
		}
	}
	end := min(offset+top, len(items))
	value := make([]map[string]any, 0, max(0, end-offset))
	for _, it := range items[min(offset, len(items)):end] {
		value = append(value, relationshipJSON(it.t, it.rel))
	}
	world.mu.RUnlock()
	body := map[string]any{
		"@odata.context": s.GraphURL() + "/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships",
		"value":          value,
	}
	if end < len(items) {
		body["@odata.nextLink"] = gdapNextLink(s.GraphURL(), r, top, end)
	}
	gdapRequestIDs(w, r)
	writeJSON(w, http.StatusOK, body)
}

// gdapPaging reads $top (1..300, default 100), $skiptoken and $filter, answering 400 itself.
func gdapPaging(w http.ResponseWriter, r *http.Request, q url.Values) (top, offset int, status string, ok bool) {
	top = 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid value '%s' for $top query option.", v))
			return 0, 0, "", false
		}
		if n > 300 {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The limit of '300' for Top query has been exceeded. The value from the incoming request is '"+v+"'.")
			return 0, 0, "", false
		}
		top = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "gdap:"))
		if err != nil || perr != nil || n < 0 || !strings.HasPrefix(string(b), "gdap:") {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The $skiptoken is invalid or has expired.")
			return 0, 0, "", false
		}
		offset = n
	}
	status, ok = gdapFilter(q.Get("$filter"))
	if !ok {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid filter clause: only status eq '<status>' is supported.")
		return 0, 0, "", false
	}
	return top, offset, status, true
}

// gdapNextLink builds an absolute nextLink on the fake's own Graph URL.
func gdapNextLink(base string, r *http.Request, top, offset int) string {
	// The page size is always written, as Graph does, even when the client asked for the
	// default; the client's other parameters keep their order.
	rawQuery := r.URL.RawQuery
	if !r.URL.Query().Has("$top") {
		rawQuery = "$top=" + strconv.Itoa(top) + "&" + rawQuery
	}
	return base + r.URL.Path + "?" + odataNextQuery(rawQuery, base64.RawURLEncoding.EncodeToString([]byte("gdap:"+strconv.Itoa(offset))))
}

func (s *Server) gdapGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	world := s.World
	world.mu.RLock()
	var body map[string]any
	for _, t := range world.Tenants {
		for _, rel := range t.Relationships {
			if strings.EqualFold(rel.ID, id) {
				body = relationshipJSON(t, rel)
				body["@odata.context"] = s.GraphURL() + "/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships/$entity"
			}
		}
	}
	world.mu.RUnlock()
	if body == nil {
		writeGraphError(w, r, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
		return
	}
	gdapRequestIDs(w, r)
	writeJSON(w, http.StatusOK, body)
}

// gdapCustomers lists the customers the partner has relationships with, one entry per tenant.
func (s *Server) gdapCustomers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	top, offset, _, ok := gdapPaging(w, r, url.Values{"$top": q["$top"], "$skiptoken": q["$skiptoken"]})
	if !ok {
		return
	}
	world := s.World
	world.mu.RLock()
	var all []map[string]any
	for _, t := range world.Tenants {
		if len(t.Relationships) == 0 {
			continue
		}
		all = append(all, map[string]any{
			"@odata.type": "#microsoft.graph.delegatedAdminCustomer",
			"@odata.etag": `W/"` + base64.StdEncoding.EncodeToString([]byte(t.ID[:8])) + `"`,
			"id":          t.ID, "tenantId": t.ID, "displayName": t.Name,
		})
	}
	world.mu.RUnlock()
	end := min(offset+top, len(all))
	body := map[string]any{
		"@odata.context": s.GraphURL() + "/v1.0/tenantRelationships/$metadata#delegatedAdminCustomers",
		"value":          all[min(offset, len(all)):end],
	}
	if end < len(all) {
		body["@odata.nextLink"] = gdapNextLink(s.GraphURL(), r, top, end)
	}
	gdapRequestIDs(w, r)
	writeJSON(w, http.StatusOK, body)
}
