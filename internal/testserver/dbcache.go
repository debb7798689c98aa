package testserver

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// CIPPDBTypes are the ListDBCache types the fake serves (reference cipp-api.md §4.13): the ones
// a sync reads, in the shapes of the endpoints that read the same data live.
var CIPPDBTypes = []string{"Users", "Mailboxes", "ManagedDevices", "Domains", "LicenseOverview", "MFAState",
	"ConditionalAccessPolicies", "SecureScore"}

// cippDBState is the fake's reporting database: when its nightly refresh last ran, whether the
// instance predates ListDBCache (v10.1), and the types a tenant's refresh did not write.
type cippDBState struct {
	dbRefresh  time.Time
	dbAbsent   bool
	dbMissing  map[string]bool // tenant ID + "/" + type
	dbSkew     map[string]int  // tenant ID + "/" + type: added to the count countsOnly reports
	dbRequests int
}

// SetCIPPReportRefresh sets when CIPP's nightly reporting-database refresh last ran (default an
// hour before New): ListDBCache's countsOnly answer reports it as every row's LastRefresh.
func (s *Server) SetCIPPReportRefresh(at time.Time) {
	s.cippMu.Lock()
	s.dbRefresh = at
	s.cippMu.Unlock()
}

// SetCIPPBeforeDBCache makes the fake CIPP an instance older than v10.1, which has no
// ListDBCache: the endpoint answers 400.
func (s *Server) SetCIPPBeforeDBCache(on bool) {
	s.cippMu.Lock()
	s.dbAbsent = on
	s.cippMu.Unlock()
}

// DropCIPPReportType leaves one type of one tenant out of the reporting database, as when that
// tenant's nightly refresh failed for it: neither its rows nor its count are served.
func (s *Server) DropCIPPReportType(tenantID, typ string, dropped bool) {
	s.cippMu.Lock()
	defer s.cippMu.Unlock()
	if s.dbMissing == nil {
		s.dbMissing = map[string]bool{}
	}
	key := strings.ToLower(tenantID) + "/" + strings.ToLower(typ)
	if dropped {
		s.dbMissing[key] = true
	} else {
		delete(s.dbMissing, key)
	}
}

// SkewCIPPReportCount makes the countsOnly answer report n more rows (fewer, when negative)
// of one type of one tenant than a read of the type serves, as when the nightly refresh ran
// between the two calls or rows were lost; 0 ends it.
func (s *Server) SkewCIPPReportCount(tenantID, typ string, n int) {
	s.cippMu.Lock()
	defer s.cippMu.Unlock()
	if s.dbSkew == nil {
		s.dbSkew = map[string]int{}
	}
	key := strings.ToLower(tenantID) + "/" + strings.ToLower(typ)
	if n == 0 {
		delete(s.dbSkew, key)
	} else {
		s.dbSkew[key] = n
	}
}

// CIPPDBCacheRequests returns how many ListDBCache calls the fake answered.
func (s *Server) CIPPDBCacheRequests() int {
	s.cippMu.Lock()
	defer s.cippMu.Unlock()
	return s.dbRequests
}

func (s *Server) cippListDBCache(w http.ResponseWriter, c *cippRequest) {
	s.cippMu.Lock()
	absent, refresh := s.dbAbsent, s.dbRefresh
	skew := maps.Clone(s.dbSkew)
	missing := make(map[string]bool, len(s.dbMissing))
	for k := range s.dbMissing {
		missing[k] = true
	}
	s.cippMu.Unlock()
	if absent {
		writeCIPPText(w, http.StatusBadRequest, "Endpoint ListDBCache does not exist in this version of CIPP-API")
		return
	}
	if c.filter == "" {
		writeCIPPJSON(w, http.StatusBadRequest, map[string]any{"Results": "Error: tenantFilter query parameter is required"})
		return
	}
	typ := c.param("type")
	countsOnly, _ := cippBool(c.param("countsOnly"))
	if strings.EqualFold(typ, "_availableTypes") {
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": CIPPDBTypes})
		return
	}
	if typ == "" && !countsOnly {
		writeCIPPJSON(w, http.StatusBadRequest, map[string]any{"Results": "Error: type query parameter is required", "AvailableTypes": CIPPDBTypes})
		return
	}
	var tenants []*Tenant
	if strings.EqualFold(c.filter, "AllTenants") {
		s.World.mu.RLock()
		for _, t := range s.World.Tenants {
			if t.InCIPP {
				tenants = append(tenants, t)
			}
		}
		s.World.mu.RUnlock()
	} else {
		if c.t == nil {
			writeCIPPJSON(w, http.StatusBadRequest, map[string]any{"Results": "Tenant '" + c.filter + "' not found"})
			return
		}
		tenants = []*Tenant{c.t}
	}
	types := CIPPDBTypes
	if typ != "" {
		i := slices.IndexFunc(CIPPDBTypes, func(t string) bool { return strings.EqualFold(t, typ) })
		if i < 0 {
			writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []any{}})
			return
		}
		types = CIPPDBTypes[i : i+1]
	}
	out := []json.RawMessage{}
	for _, t := range tenants {
		for _, ty := range types {
			if missing[strings.ToLower(t.ID)+"/"+strings.ToLower(ty)] {
				continue
			}
			rows := s.dbRows(t, ty)
			if countsOnly {
				b, _ := json.Marshal(map[string]any{"Tenant": t.DefaultDomain, "Type": ty, "Count": len(rows) + skew[strings.ToLower(t.ID)+"/"+strings.ToLower(ty)],
					"LastRefresh": refresh.UTC().Format(time.RFC3339)})
				out = append(out, b)
				continue
			}
			for _, r := range rows {
				out = append(out, withTenant(r, t.DefaultDomain))
			}
		}
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": out})
}

// dbRows are the rows of one type of one tenant, in the shape its live endpoint answers.
func (s *Server) dbRows(t *Tenant, typ string) []any {
	var rows []any
	add := func(v any) { rows = append(rows, v) }
	switch typ {
	case "Users":
		s.World.mu.RLock()
		for _, u := range t.ActiveUsers() {
			add(graphUser(u, t))
		}
		s.World.mu.RUnlock()
	case "Mailboxes":
		for _, r := range s.mailboxRows(t) {
			add(r)
		}
	case "ManagedDevices":
		for _, r := range s.deviceRows(t) {
			add(r)
		}
	case "Domains":
		s.World.mu.RLock()
		for _, d := range t.Domains {
			add(graphDomainRow(d))
		}
		s.World.mu.RUnlock()
	case "LicenseOverview":
		for _, r := range s.licenseRows(t, t.DefaultDomain) {
			add(r)
		}
	case "MFAState":
		for _, r := range s.mfaRows(t, t.DefaultDomain) {
			add(r)
		}
	case "ConditionalAccessPolicies":
		// Graph's own policy objects, as the cache stores them (not the flattened rows of
		// ListConditionalAccessPolicies).
		s.World.mu.RLock()
		for _, p := range t.CAPolicies {
			control := "block"
			if p.RequiresMFA {
				control = "mfa"
			}
			add(map[string]any{"id": p.ID, "displayName": p.DisplayName, "state": p.State,
				"createdDateTime": graphTime(p.CreatedAt), "modifiedDateTime": graphTime(p.CreatedAt),
				"conditions":    map[string]any{"users": map[string]any{"includeUsers": []string{"All"}}, "applications": map[string]any{"includeApplications": []string{"All"}}},
				"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{control}, "authenticationStrength": nil}})
		}
		s.World.mu.RUnlock()
	case "SecureScore":
		s.World.mu.RLock()
		if !t.SecureScore.CreatedAt.IsZero() {
			add(secureScoreRow(t))
		}
		s.World.mu.RUnlock()
	}
	return rows
}

// withTenant is v as JSON with the Tenant field ListDBCache adds to every AllTenants row.
func withTenant(v any, tenant string) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return b
	}
	if bytes.HasPrefix(b, []byte(`{"Tenant":`)) {
		return b // the rows of ListLicenses and ListMFAUsers name their tenant first
	}
	name, _ := json.Marshal(tenant)
	var buf bytes.Buffer
	buf.WriteString(`{"Tenant":`)
	buf.Write(name)
	if len(b) > 2 {
		buf.WriteByte(',')
	}
	buf.Write(b[1:])
	return buf.Bytes()
}
