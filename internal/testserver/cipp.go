package testserver

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fake CIPP-API (reference cipp-api.md): one Function App serving /api/<Endpoint>,
// endpoint names case-insensitive, EasyAuth's bearer check in front (401 with an empty body),
// CIPP's base-role RBAC with its verbatim text/plain refusals, and per endpoint the shapes and
// quirks the reference lists: bare arrays, {Results, Metadata} envelopes, string counts,
// silent empty answers for tenants CIPP does not manage, and errors in whatever form each
// endpoint uses.

// The recorded tenant: its answers are the files of testdata/cipp (copies of the cipp
// package's recorded shapes), served byte for byte, so the client's decoding tests and the fake
// cannot drift apart. It is part of the tenant list only after ServeCIPPRecorded(true).
const (
	CIPPRecordedTenantID = "3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
	CIPPRecordedDomain   = "contoso.com"
	cippRecordedInitial  = "contoso.onmicrosoft.com"
)

//go:embed testdata/cipp
var cippRecordedFS embed.FS

// cippRecorded returns a recorded file.
func cippRecorded(name string) []byte {
	b, err := cippRecordedFS.ReadFile("testdata/cipp/" + name)
	if err != nil {
		return nil
	}
	return b
}

type cippState struct {
	cippRecordedOn atomic.Bool
	cippMu         sync.Mutex
	cippRevoked    map[string]int    // user ID → ExecRevokeSessions calls
	cippFailing    map[string]string // tenant ID → the message CIPP's Graph calls fail with
	cippDBState
}

// Messages CIPP's Get-NormalizedError produces for the usual reasons its calls into a
// customer tenant fail, for FailCIPPTenant.
const (
	CIPPErrConsent      = "We cannot access this tenant as consent has not been given, please try refreshing the CPV permissions in the application settings menu."
	CIPPErrPermissions  = "We do not have permissions to access this resource, try performing a CPV refresh in Application Settings -> Permissions. "
	CIPPErrTokenExpired = "The CIPP user access token has expired. Run the Setup Wizard to refresh your tokens."
	CIPPErrLicence      = "Required license not available for this tenant"
)

// FailCIPPTenant makes every call CIPP makes into a managed tenant fail with message (one of
// the CIPPErr* texts, or any text), each endpoint answering in its own error shape (reference
// cipp-api.md §3.3). An empty message ends the failure.
func (s *Server) FailCIPPTenant(tenantID, message string) {
	s.cippMu.Lock()
	defer s.cippMu.Unlock()
	if s.cippFailing == nil {
		s.cippFailing = map[string]string{}
	}
	if message == "" {
		delete(s.cippFailing, strings.ToLower(tenantID))
		return
	}
	s.cippFailing[strings.ToLower(tenantID)] = message
}

// cippFailure answers a call into a failing tenant the way each endpoint reports errors; it
// returns false when the endpoint is unaffected.
func (s *Server) cippFailure(w http.ResponseWriter, endpoint string, c *cippRequest) bool {
	if c.t == nil {
		return false
	}
	s.cippMu.Lock()
	msg, failing := s.cippFailing[strings.ToLower(c.t.ID)]
	s.cippMu.Unlock()
	if !failing {
		return false
	}
	results := func(status int, text string) { writeCIPPJSON(w, status, map[string]any{"Results": text}) }
	switch endpoint {
	case "listusers", "listlicenses":
		// No try/catch: the exception text as the body.
		writeCIPPText(w, http.StatusInternalServerError, msg)
	case "listmailboxes", "listdevices", "listmfausers":
		writeCIPPJSON(w, http.StatusForbidden, []string{msg})
	case "listgroups":
		writeCIPPText(w, http.StatusForbidden, msg)
	case "listtenantdetails":
		writeCIPPText(w, http.StatusInternalServerError, msg)
	case "listdomains":
		writeCIPPJSON(w, http.StatusInternalServerError, []string{msg})
	case "listgraphrequest":
		writeCIPPText(w, http.StatusBadRequest, "Graph Error: "+msg+" - Endpoint: "+strings.Trim(c.param("Endpoint"), "/"))
	case "listconditionalaccesspolicies":
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []any{}, "Metadata": nil})
	case "execdisableuser":
		results(http.StatusInternalServerError, fmt.Sprintf("Failed to set sign-in state for %s. Error: %s", c.param("ID"), msg))
	case "execresetpass":
		results(http.StatusInternalServerError, fmt.Sprintf("Failed to reset password for %s, %s. Error: %s", c.param("displayName"), c.param("ID"), msg))
	case "execrevokesessions":
		results(http.StatusInternalServerError, fmt.Sprintf("Failed to revoke sessions for %s. Error: %s", c.param("Username"), msg))
	case "execresetmfa":
		results(http.StatusInternalServerError, fmt.Sprintf("Failed to get MFA methods for user %s. Error: %s", c.param("ID"), msg))
	case "editgroup":
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []string{"Error - " + msg}})
	default:
		return false
	}
	return true
}

// DropCIPPTenant takes a tenant out of CIPP's tenant list (dropped) or puts it back. A dropped
// tenant is what CIPP's nightly cleanup or a cache clear whose refresh has not finished leaves
// behind: ListTenants omits it and every endpoint answers as for a tenant CIPP does not manage
// (most lists with 200 [], ListGraphRequest with its "not in CIPP's tenant list" error), while a
// client that cached the list earlier still holds it. A tenant refresh (ListTenants with
// TriggerRefresh or ClearCache) brings it back, as does dropped=false.
func (s *Server) DropCIPPTenant(tenantID string, dropped bool) {
	w := s.World
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.byID[strings.ToLower(tenantID)]; t != nil {
		t.CIPPStale = dropped
	}
}

// Fault kinds for the answers CIPP gives instead of data (reference cipp-api.md §1.5, §3.3,
// §4.2, §4.7-4.9). They are meant for Fault.Service ServiceCIPP; Fault.Message replaces the
// default text.
const (
	// CIPPNotReady answers 200 with the endpoint's "not ready" placeholder while CIPP fills a
	// cache: ListLicenses and ListMFAUsers a one-row "Loading data for all tenants" array,
	// ListGraphRequest a {Results: [], Metadata: {Queued, QueueMessage, QueueId}} envelope,
	// ListConditionalAccessPolicies {Results: [], Metadata: {QueueMessage, QueueId}}, and every
	// other endpoint a one-row [{"Tenant", "Results": "Data still processing, please wait"}].
	CIPPNotReady FaultKind = "cipp-not-ready"
	// CIPPForbidden answers 403 text/plain with an RBAC refusal: by default the custom-role
	// text naming the endpoint's permission.
	CIPPForbidden FaultKind = "cipp-forbidden"
	// CIPPResultsFailed answers 200 {"Results": "Failed ..."}: an endpoint reporting its own
	// failure in a success status.
	CIPPResultsFailed FaultKind = "cipp-results-failed"
)

// cippFaultAnswer writes the answer of a CIPP answer fault.
func (s *Server) cippFaultAnswer(w http.ResponseWriter, r *http.Request, f *Fault) {
	name, _ := strings.CutPrefix(r.URL.Path, "/api/")
	endpoint := strings.ToLower(name)
	query := func(key string) string {
		for k, v := range r.URL.Query() {
			if strings.EqualFold(k, key) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	filter := query("tenantFilter")
	text := func(def string) string {
		if f.Message != "" {
			return f.Message
		}
		return def
	}
	switch f.Kind {
	case CIPPForbidden:
		perm := ""
		for ep, p := range CIPPPermissions {
			if strings.EqualFold(ep, name) {
				perm = p
			}
		}
		writeCIPPText(w, http.StatusForbidden, text("Access to this CIPP API endpoint is not allowed, you do not have the required permission: "+perm))
	case CIPPResultsFailed:
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": text(fmt.Sprintf("Failed to retrieve data for %s: The request timed out.", filter))})
	default: // CIPPNotReady
		switch endpoint {
		case "listlicenses":
			msg := text("Loading data for all tenants. Please check back in 1 minute")
			writeCIPPJSON(w, http.StatusOK, []map[string]string{{"Tenant": msg, "License": msg}})
		case "listmfausers":
			writeCIPPJSON(w, http.StatusOK, []map[string]string{{"UPN": text("Loading data for all tenants. Please check back in a few minutes")}})
		case "listgraphrequest":
			writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []any{}, "Metadata": map[string]any{
				"Endpoint": strings.Trim(query("Endpoint"), "/"), "TenantFilter": filter, "Queued": true,
				"QueueMessage": text(fmt.Sprintf("Loading 12345 rows for %s. Please check back after the job completes", filter)),
				"QueueId":      randomGUID(),
			}})
		case "listconditionalaccesspolicies":
			writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []any{}, "Metadata": map[string]any{
				"QueueMessage": text("Loading data for all tenants. Please check back after the job completes"), "QueueId": randomGUID(),
			}})
		default:
			writeCIPPJSON(w, http.StatusOK, []map[string]string{{"Tenant": filter, "Results": text("Data still processing, please wait")}})
		}
	}
}

// ServeCIPPRecorded adds (or removes) the recorded tenant contoso.com to CIPP's tenant list.
func (s *Server) ServeCIPPRecorded(on bool) { s.cippRecordedOn.Store(on) }

// CIPPSessionsRevoked returns how many times ExecRevokeSessions revoked a user's sessions.
func (s *Server) CIPPSessionsRevoked(userID string) int {
	s.cippMu.Lock()
	defer s.cippMu.Unlock()
	return s.cippRevoked[strings.ToLower(userID)]
}

// CIPPPermissions maps each endpoint the fake serves to the permission its .ROLE declares.
var CIPPPermissions = map[string]string{
	"ListTenants":                   "CIPP.Core.Read",
	"ListGraphRequest":              "CIPP.Core.Read",
	"ListUsers":                     "Identity.User.Read",
	"ListMailboxes":                 "Exchange.Mailbox.Read",
	"ListDevices":                   "Endpoint.Device.Read",
	"ListDomains":                   "Tenant.Administration.Read",
	"ListLicenses":                  "Tenant.Directory.Read",
	"ListDefenderState":             "Endpoint.MEM.Read",
	"ListMFAUsers":                  "Identity.User.Read",
	"ListConditionalAccessPolicies": "Tenant.ConditionalAccess.Read",
	"ListDBCache":                   "CIPP.Core.Read",
	"ListGroups":                    "Identity.Group.Read",
	"ListTenantDetails":             "CIPP.Core.Read",
	"ExecResetPass":                 "Identity.User.ReadWrite",
	"ExecDisableUser":               "Identity.User.ReadWrite",
	"ExecResetMFA":                  "Identity.User.ReadWrite",
	"ExecRevokeSessions":            "Identity.User.ReadWrite",
	"EditGroup":                     "Identity.Group.ReadWrite",
	"ExecOffboardUser":              "Identity.User.ReadWrite",
	"AddUser":                       "Identity.User.ReadWrite",
	"EditUser":                      "Identity.User.ReadWrite",
}

// cippRoles is Config/cipp-roles.json.
var cippRoles = map[string]struct{ include, exclude []string }{
	"readonly":   {[]string{"*.Read"}, []string{"CIPP.SuperAdmin.*", "CIPP.Admin.*", "CIPP.AppSettings.*"}},
	"editor":     {[]string{"*.Read", "*.ReadWrite"}, []string{"CIPP.SuperAdmin.*", "CIPP.Admin.*", "CIPP.AppSettings.*", "Tenant.Standards.ReadWrite"}},
	"admin":      {[]string{"*"}, []string{"CIPP.SuperAdmin.*"}},
	"superadmin": {[]string{"*"}, nil},
}

// psLike is PowerShell's -like: case-insensitive, '*' matches any run of characters.
func psLike(s, pattern string) bool {
	s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func cippRoleAllows(role, perm string) bool {
	r, ok := cippRoles[role]
	if !ok {
		return false
	}
	in := false
	for _, p := range r.include {
		in = in || psLike(perm, p)
	}
	for _, p := range r.exclude {
		if psLike(perm, p) {
			return false
		}
	}
	return in
}

type cippRequest struct {
	r      *http.Request
	query  url.Values
	body   map[string]any
	filter string  // tenantFilter as passed
	t      *Tenant // the managed tenant, nil when CIPP does not manage it
	rec    bool    // the recorded tenant
}

// param reads a parameter from the query, then the JSON body, by case-insensitive name; a
// LabelValue object yields its value.
func (c *cippRequest) param(name string) string {
	for k, v := range c.query {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	if v, ok := c.bodyValue(name); ok {
		return cippString(v)
	}
	return ""
}

func (c *cippRequest) bodyValue(name string) (any, bool) {
	for k, v := range c.body {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// cippString renders a body value as PowerShell would read it: strings as they are, a
// {"value": ...} object as its value, booleans as True/False.
func cippString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any:
		for k, vv := range x {
			if strings.EqualFold(k, "value") {
				return cippString(vv)
			}
		}
	}
	return ""
}

// cippBool is [System.Convert]::ToBoolean: true/false or "true"/"false"; ok is false when the
// value is missing or not a boolean, where CIPP's endpoint throws.
func cippBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func (s *Server) cippHandler() http.Handler { return http.HandlerFunc(s.serveCIPP) }

type cippHandlerFunc func(*Server, http.ResponseWriter, *cippRequest)

var cippHandlers = map[string]cippHandlerFunc{
	"listtenants":                   (*Server).cippListTenants,
	"listgraphrequest":              (*Server).cippListGraphRequest,
	"listusers":                     (*Server).cippListUsers,
	"listmailboxes":                 (*Server).cippListMailboxes,
	"listdevices":                   (*Server).cippListDevices,
	"listdomains":                   (*Server).cippListDomains,
	"listlicenses":                  (*Server).cippListLicenses,
	"listdefenderstate":             (*Server).cippListDefenderState,
	"listmfausers":                  (*Server).cippListMFAUsers,
	"listconditionalaccesspolicies": (*Server).cippListCAPolicies,
	"listdbcache":                   (*Server).cippListDBCache,
	"listgroups":                    (*Server).cippListGroups,
	"listtenantdetails":             (*Server).cippListTenantDetails,
	"execresetpass":                 (*Server).cippExecResetPass,
	"execdisableuser":               (*Server).cippExecDisableUser,
	"execresetmfa":                  (*Server).cippExecResetMFA,
	"execrevokesessions":            (*Server).cippExecRevokeSessions,
	"editgroup":                     (*Server).cippEditGroup,
	"execoffboarduser":              (*Server).cippExecOffboardUser,
	"adduser":                       (*Server).cippAddUser,
	"edituser":                      (*Server).cippEditUser,
}

func (s *Server) serveCIPP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	// EasyAuth: a token of this partner tenant, for api://<clientId>, of an enabled client.
	claims, err := s.verifyBearer(r, audienceOwnAPI)
	if err != nil || !strings.EqualFold(claims.TenantID, s.World.partnerTenantID()) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	app := s.App(claims.AppID)
	if app == nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	lower := strings.ToLower(name)
	if lower == "me" {
		s.cippMe(w, app)
		return
	}
	h, ok := cippHandlers[lower]
	if !ok {
		writeCIPPText(w, http.StatusNotFound, "Endpoint not found")
		return
	}
	perm := ""
	for ep, p := range CIPPPermissions {
		if strings.EqualFold(ep, name) {
			perm = p
		}
	}
	if _, known := cippRoles[app.CIPPRole]; !known {
		writeCIPPText(w, http.StatusForbidden, "Access to this CIPP API endpoint is not allowed, the user does not have the required permission")
		return
	}
	if !cippRoleAllows(app.CIPPRole, perm) {
		writeCIPPText(w, http.StatusForbidden, fmt.Sprintf("Access to this CIPP API endpoint is not allowed, the '%s' base role does not have the required permission: %s", app.CIPPRole, perm))
		return
	}
	req := &cippRequest{r: r, query: r.URL.Query()}
	if r.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		ct := r.Header.Get("Content-Type")
		// The Functions worker parses the body only for this content type (or none).
		if ct == "" || strings.HasPrefix(ct, "application/json") {
			_ = json.Unmarshal(b, &req.body)
		}
	}
	req.filter = req.param("tenantFilter")
	if req.filter == "" {
		req.filter = req.param("TenantFilter")
	}
	req.t, req.rec = s.cippLookup(req.filter)
	if req.t != nil {
		s.logCall(ServiceCIPP, req.t.ID, r.Method, name, req.raw())
	} else {
		s.logCall(ServiceCIPP, "", r.Method, name, req.raw())
	}
	if s.cippFailure(w, lower, req) {
		return
	}
	if lower == "listdbcache" {
		s.cippMu.Lock()
		s.dbRequests++
		s.cippMu.Unlock()
	}
	if key, ok := s.cippPageKey(r, lower, req); ok {
		s.pages.cachedHTTP(w, key, func(w http.ResponseWriter) { h(s, w, req) })
		return
	}
	h(s, w, req)
}

// cippLookup resolves a tenantFilter to a tenant CIPP manages (nil when it does not, or when
// the tenant is missing from CIPP's stale cache).
func (s *Server) cippLookup(filter string) (*Tenant, bool) {
	if filter == "" {
		return nil, false
	}
	if s.cippRecordedOn.Load() && (strings.EqualFold(filter, CIPPRecordedTenantID) || strings.EqualFold(filter, CIPPRecordedDomain) || strings.EqualFold(filter, cippRecordedInitial)) {
		return nil, true
	}
	t := s.World.Tenant(filter)
	if t == nil {
		t = s.World.TenantByDomain(filter)
	}
	if t == nil {
		return nil, false
	}
	s.World.mu.RLock()
	managed := t.InCIPP && !t.CIPPStale
	s.World.mu.RUnlock()
	if !managed {
		return nil, false
	}
	return t, false
}

// cippTenant names the tenant of a request for counts and faults: the ID of the tenant its
// tenantFilter (query or JSON body) names, or "".
func (s *Server) cippTenant(r *http.Request) string {
	filter := ""
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "tenantFilter") && len(v) > 0 {
			filter = v[0]
		}
	}
	if filter == "" && r.Body != nil && r.Body != http.NoBody {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(b))
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			for k, v := range m {
				if strings.EqualFold(k, "tenantFilter") {
					filter = cippString(v)
				}
			}
		}
	}
	if filter == "" {
		return ""
	}
	if strings.EqualFold(filter, CIPPRecordedTenantID) || strings.EqualFold(filter, CIPPRecordedDomain) {
		return CIPPRecordedTenantID
	}
	if t := s.World.Tenant(filter); t != nil {
		return t.ID
	}
	if t := s.World.TenantByDomain(filter); t != nil {
		return t.ID
	}
	return ""
}

func writeCIPPJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeCIPPText(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeCIPPRaw(w, status, bytes.TrimRight(buf.Bytes(), "\n"))
}

func writeCIPPRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveRecorded answers with a recorded file: JSON when it parses as JSON, else text.
func serveRecorded(w http.ResponseWriter, status int, name string) {
	b := cippRecorded(name)
	if b == nil {
		writeCIPPText(w, http.StatusInternalServerError, "testserver: recorded CIPP file missing: "+name)
		return
	}
	if strings.HasSuffix(name, ".txt") {
		writeCIPPText(w, status, string(b))
		return
	}
	writeCIPPRaw(w, status, b)
}

func (s *Server) cippMe(w http.ResponseWriter, app *App) {
	perms := []string{}
	role := app.CIPPRole
	if _, ok := cippRoles[role]; ok {
		seen := map[string]bool{}
		for _, p := range CIPPPermissions {
			if !seen[p] && cippRoleAllows(role, p) {
				seen[p] = true
				perms = append(perms, p)
			}
		}
		sort.Strings(perms)
	}
	var appRole any
	if _, base := cippRoles[role]; !base {
		// A roleless client is treated as the (missing) custom role "cipp-api".
		appRole = []string{"cipp-api"}
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{
		"clientPrincipal": map[string]any{"appId": app.ClientID, "appRole": appRole},
		"permissions":     perms,
	})
}

// --- ListTenants -----------------------------------------------------------------------------

type cippTenantRow struct {
	PartitionKey             string `json:"PartitionKey"`
	RowKey                   string `json:"RowKey"`
	CustomerID               string `json:"customerId"`
	DisplayName              string `json:"displayName"`
	DefaultDomainName        string `json:"defaultDomainName"`
	InitialDomainName        string `json:"initialDomainName"`
	RelationshipEnd          string `json:"relationshipEnd"`
	RelationshipCount        int    `json:"relationshipCount"`
	HasAutoExtend            bool   `json:"hasAutoExtend"`
	DelegatedPrivilegeStatus string `json:"delegatedPrivilegeStatus"`
	Domains                  string `json:"domains"`
	Excluded                 bool   `json:"Excluded"`
	ExcludeUser              string `json:"ExcludeUser"`
	ExcludeDate              string `json:"ExcludeDate"`
	GraphErrorCount          int    `json:"GraphErrorCount"`
	LastGraphError           string `json:"LastGraphError"`
	RequiresRefresh          bool   `json:"RequiresRefresh"`
	LastRefresh              string `json:"LastRefresh"`
	ETag                     string `json:"ETag"`
	Timestamp                string `json:"Timestamp"`
}

// cippRefresh is CIPP's tenant refresh finishing: tenants hidden by a stale cache appear.
func (s *Server) cippRefresh() {
	w := s.World
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.Tenants {
		t.CIPPStale = false
	}
}

func (s *Server) cippTenantRows() []json.RawMessage {
	w := s.World
	refreshed := genEpoch.Add(-10 * time.Hour)
	type named struct {
		name string
		raw  json.RawMessage
	}
	var rows []named
	w.mu.RLock()
	for _, t := range w.Tenants {
		if !t.InCIPP || t.CIPPStale {
			continue
		}
		row := cippTenantRow{
			PartitionKey: "Tenants", RowKey: t.ID, CustomerID: t.ID, DisplayName: t.Name,
			DefaultDomainName: t.DefaultDomain, InitialDomainName: t.InitialDomain,
			DelegatedPrivilegeStatus: "directTenant",
			LastRefresh:              refreshed.Format("2006-01-02T15:04:05.000Z"),
			ETag:                     "W/\"datetime'" + url.QueryEscape(refreshed.Format("2006-01-02T15:04:05.0000000Z")) + "'\"",
			Timestamp:                refreshed.Format("2006-01-02T15:04:05.00+00:00"),
		}
		var end time.Time
		for _, rel := range t.Relationships {
			if rel.Status != "active" {
				continue
			}
			row.RelationshipCount++
			row.DelegatedPrivilegeStatus = "granularDelegatedAdminPrivileges"
			if rel.EndAt.After(end) {
				end = rel.EndAt
			}
			if rel.AutoExtend != "" && rel.AutoExtend != "PT0S" {
				row.HasAutoExtend = true
			}
		}
		if !end.IsZero() {
			row.RelationshipEnd = end.UTC().Format(time.RFC3339)
		}
		b, _ := json.Marshal(row)
		rows = append(rows, named{t.Name, b})
	}
	w.mu.RUnlock()
	if s.cippRecordedOn.Load() {
		var rec []json.RawMessage
		_ = json.Unmarshal(cippRecorded("ListTenants.json"), &rec)
		for _, r := range rec {
			var n struct {
				DisplayName string `json:"displayName"`
			}
			_ = json.Unmarshal(r, &n)
			rows = append(rows, named{n.DisplayName, r})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return strings.ToLower(rows[i].name) < strings.ToLower(rows[j].name) })
	out := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		out[i] = r.raw
	}
	return out
}

func (s *Server) cippListTenants(w http.ResponseWriter, c *cippRequest) {
	if v, ok := c.bodyValue("ClearCache"); ok {
		if b, _ := cippBool(cippString(v)); b {
			removed := 0
			s.World.mu.RLock()
			for _, t := range s.World.Tenants {
				if t.InCIPP {
					removed++
				}
			}
			s.World.mu.RUnlock()
			s.cippRefresh()
			writeCIPPJSON(w, http.StatusOK, map[string]any{
				"Results":  []map[string]string{{"Results": "Cache has been cleared and a tenant refresh is queued."}},
				"Metadata": map[string]any{"Details": []string{fmt.Sprintf("Removed %d tenants", removed), "Cache cleanup complete"}},
			})
			return
		}
	}
	refresh, _ := cippBool(c.param("TriggerRefresh"))
	if c.filter != "" {
		// TenantFilter: that tenant's row, or [] (including for tenants CIPP does not manage).
		switch {
		case c.rec:
			serveRecorded(w, http.StatusOK, "ListTenants.json")
		case c.t != nil:
			var match []json.RawMessage
			for _, raw := range s.cippTenantRows() {
				var row cippTenantRow
				if json.Unmarshal(raw, &row) == nil && strings.EqualFold(row.CustomerID, c.t.ID) {
					match = append(match, raw)
				}
			}
			writeCIPPJSON(w, http.StatusOK, cippNonNil(match))
		default:
			writeCIPPJSON(w, http.StatusOK, []any{})
		}
		if refresh {
			s.cippRefresh()
		}
		return
	}
	rows := s.cippTenantRows()
	if sel, _ := cippBool(c.param("AllTenantSelector")); sel {
		pseudo := json.RawMessage(`{"customerId":"AllTenants","defaultDomainName":"AllTenants","displayName":"*All Tenants","domains":"AllTenants","GraphErrorCount":0}`)
		rows = append([]json.RawMessage{pseudo}, rows...)
	}
	// TriggerRefresh starts the refresh in the background and answers from the current cache.
	writeCIPPJSON(w, http.StatusOK, cippNonNil(rows))
	if refresh {
		s.cippRefresh()
	}
}

func cippNonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// --- users -----------------------------------------------------------------------------------

type cippAssignedLicense struct {
	DisabledPlans []string `json:"disabledPlans"`
	SkuID         string   `json:"skuId"`
}

type cippLabelValue struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type cippUserRow struct {
	ID                    string                `json:"id"`
	AccountEnabled        bool                  `json:"accountEnabled"`
	AssignedLicenses      []cippAssignedLicense `json:"assignedLicenses"`
	BusinessPhones        []string              `json:"businessPhones"`
	CompanyName           *string               `json:"companyName"`
	CreatedDateTime       string                `json:"createdDateTime"`
	Department            *string               `json:"department"`
	DisplayName           string                `json:"displayName"`
	GivenName             *string               `json:"givenName"`
	JobTitle              *string               `json:"jobTitle"`
	Mail                  *string               `json:"mail"`
	MobilePhone           *string               `json:"mobilePhone"`
	OfficeLocation        *string               `json:"officeLocation"`
	OnPremisesSyncEnabled bool                  `json:"onPremisesSyncEnabled"`
	OtherMails            []string              `json:"otherMails"`
	ProxyAddresses        []string              `json:"proxyAddresses"`
	Surname               *string               `json:"surname"`
	UserPrincipalName     string                `json:"userPrincipalName"`
	UserType              string                `json:"userType"`
	Username              string                `json:"username"`
	Aliases               string                `json:"Aliases"`
	LicJoined             string                `json:"LicJoined"`
	PrimDomain            cippLabelValue        `json:"primDomain"`
	Manager               *struct{}             `json:"manager"`
}

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func graphTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func userLicenses(u *User) []cippAssignedLicense {
	out := make([]cippAssignedLicense, 0, len(u.Licenses))
	for _, id := range u.Licenses {
		out = append(out, cippAssignedLicense{DisabledPlans: []string{}, SkuID: id})
	}
	return out
}

func (s *Server) cippListUsers(w http.ResponseWriter, c *cippRequest) {
	if strings.EqualFold(c.filter, "AllTenants") {
		writeCIPPJSON(w, http.StatusOK, []map[string]string{{"Message": "This function has been deprecated for all users, please use ListGraphRequest instead"}})
		return
	}
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListUsers.json")
		return
	}
	rows := []cippUserRow{}
	if c.t != nil {
		one := c.param("UserID")
		s.World.mu.RLock()
		skuName := map[string]string{}
		for _, k := range c.t.SKUs {
			skuName[k.ID] = k.Name
		}
		for _, u := range c.t.ActiveUsers() {
			if one != "" && !strings.EqualFold(u.ID, one) && !strings.EqualFold(u.UserPrincipalName, one) {
				continue
			}
			local, domain, _ := strings.Cut(u.UserPrincipalName, "@")
			var lic []string
			for _, id := range u.Licenses {
				lic = append(lic, skuName[id])
			}
			row := cippUserRow{
				ID: u.ID, AccountEnabled: u.AccountEnabled, AssignedLicenses: userLicenses(u),
				BusinessPhones: cippNonNil(slices.Clone(u.BusinessPhones)), CreatedDateTime: graphTime(u.CreatedAt),
				Department: strOrNull(u.Department), DisplayName: u.DisplayName, GivenName: strOrNull(u.GivenName),
				JobTitle: strOrNull(u.JobTitle), Mail: strOrNull(u.Mail), MobilePhone: strOrNull(u.MobilePhone),
				OfficeLocation: strOrNull(u.OfficeLocation), OtherMails: cippNonNil(slices.Clone(u.OtherMails)),
				ProxyAddresses: cippNonNil(slices.Clone(u.ProxyAddresses)), Surname: strOrNull(u.Surname),
				UserPrincipalName: u.UserPrincipalName, UserType: u.UserType, Username: local,
				Aliases: strings.Join(u.ProxyAddresses, ", "), LicJoined: strings.Join(lic, ", "),
				PrimDomain: cippLabelValue{Value: domain, Label: domain},
			}
			if u.MailboxType == "UserMailbox" && u.UserType == "Member" {
				row.CompanyName = strOrNull(c.t.Name)
			}
			rows = append(rows, row)
		}
		s.World.mu.RUnlock()
	}
	writeCIPPJSON(w, http.StatusOK, rows)
}

// graphUserFields is every field ListGraphRequest users rows carry (those the client selects);
// a $select narrows it.
func graphUser(u *User, t *Tenant) map[string]any {
	m := map[string]any{
		"id": u.ID, "accountEnabled": u.AccountEnabled, "assignedLicenses": userLicenses(u),
		"businessPhones": cippNonNil(slices.Clone(u.BusinessPhones)), "companyName": nil,
		"createdDateTime": graphTime(u.CreatedAt), "department": strOrNull(u.Department),
		"displayName": u.DisplayName, "givenName": strOrNull(u.GivenName), "jobTitle": strOrNull(u.JobTitle),
		"mail": strOrNull(u.Mail), "mobilePhone": strOrNull(u.MobilePhone), "officeLocation": strOrNull(u.OfficeLocation),
		"onPremisesSyncEnabled": nil, "otherMails": cippNonNil(slices.Clone(u.OtherMails)),
		"proxyAddresses": cippNonNil(slices.Clone(u.ProxyAddresses)), "surname": strOrNull(u.Surname),
		"userPrincipalName": u.UserPrincipalName, "userType": u.UserType,
	}
	if u.MailboxType == "UserMailbox" && u.UserType == "Member" {
		m["companyName"] = t.Name
	}
	return m
}

// --- mailboxes, devices, domains, licences, MFA, CA ------------------------------------------

type cippMailboxRow struct {
	ID                                string   `json:"Id"`
	ExchangeGUID                      string   `json:"ExchangeGuid"`
	ArchiveGUID                       string   `json:"ArchiveGuid"`
	WhenSoftDeleted                   *string  `json:"WhenSoftDeleted"`
	UPN                               string   `json:"UPN"`
	DisplayName                       string   `json:"displayName"`
	PrimarySMTPAddress                string   `json:"primarySmtpAddress"`
	ArchiveEnabled                    bool     `json:"ArchiveEnabled"`
	AutoExpandingArchive              bool     `json:"AutoExpandingArchive"`
	AutoExpandingArchiveScope         string   `json:"AutoExpandingArchiveScope"`
	RecipientType                     string   `json:"recipientType"`
	RecipientTypeDetails              string   `json:"recipientTypeDetails"`
	AdditionalEmailAddresses          string   `json:"AdditionalEmailAddresses"`
	ForwardingSMTPAddress             string   `json:"ForwardingSmtpAddress"`
	InternalForwardingAddress         *string  `json:"InternalForwardingAddress"`
	DeliverToMailboxAndForward        bool     `json:"DeliverToMailboxAndForward"`
	HiddenFromAddressListsEnabled     bool     `json:"HiddenFromAddressListsEnabled"`
	ExternalDirectoryObjectID         string   `json:"ExternalDirectoryObjectId"`
	IsDirSynced                       bool     `json:"IsDirSynced"`
	MessageCopyForSendOnBehalfEnabled bool     `json:"MessageCopyForSendOnBehalfEnabled"`
	MessageCopyForSentAsEnabled       bool     `json:"MessageCopyForSentAsEnabled"`
	LitigationHoldEnabled             bool     `json:"LitigationHoldEnabled"`
	LitigationHoldDate                *string  `json:"LitigationHoldDate"`
	LitigationHoldDuration            string   `json:"LitigationHoldDuration"`
	LicensedForLitigationHold         bool     `json:"LicensedForLitigationHold"`
	ComplianceTagHoldApplied          bool     `json:"ComplianceTagHoldApplied"`
	RetentionHoldEnabled              bool     `json:"RetentionHoldEnabled"`
	InPlaceHolds                      []string `json:"InPlaceHolds"`
	RetentionPolicy                   string   `json:"RetentionPolicy"`
}

// derivedGUID gives an object a stable second identifier (Exchange GUIDs) from its ID.
func derivedGUID(id, salt string) string {
	h := sha256.Sum256([]byte(salt + ":" + id))
	var b [16]byte
	copy(b[:], h[:16])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

func (s *Server) cippListMailboxes(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListMailboxes.json")
		return
	}
	rows := []cippMailboxRow{}
	if c.t != nil {
		rows = s.mailboxRows(c.t)
	}
	writeCIPPJSON(w, http.StatusOK, rows)
}

// mailboxRows are the tenant's ListMailboxes rows.
func (s *Server) mailboxRows(t *Tenant) []cippMailboxRow {
	rows := []cippMailboxRow{}
	{
		s.World.mu.RLock()
		for _, u := range t.Mailboxes() {
			var extra []string
			for _, p := range u.ProxyAddresses {
				if strings.HasPrefix(p, "smtp:") {
					extra = append(extra, p[len("smtp:"):])
				}
			}
			licensed := len(u.Licenses) > 0
			rows = append(rows, cippMailboxRow{
				ID: derivedGUID(u.ID, "mailbox"), ExchangeGUID: derivedGUID(u.ID, "exchange"),
				ArchiveGUID: "00000000-0000-0000-0000-000000000000", UPN: u.UserPrincipalName,
				DisplayName: u.DisplayName, PrimarySMTPAddress: u.Mail, AutoExpandingArchiveScope: "None",
				RecipientType: "UserMailbox", RecipientTypeDetails: u.MailboxType,
				AdditionalEmailAddresses: strings.Join(extra, ", "), ExternalDirectoryObjectID: u.ID,
				LitigationHoldDuration: "Unlimited", LicensedForLitigationHold: licensed,
				InPlaceHolds: []string{}, RetentionPolicy: "Default MRM Policy",
			})
		}
		s.World.mu.RUnlock()
	}
	return rows
}

type cippDeviceRow struct {
	ID                     string `json:"id"`
	UserID                 string `json:"userId"`
	DeviceName             string `json:"deviceName"`
	ManagedDeviceOwnerType string `json:"managedDeviceOwnerType"`
	EnrolledDateTime       string `json:"enrolledDateTime"`
	LastSyncDateTime       string `json:"lastSyncDateTime"`
	OperatingSystem        string `json:"operatingSystem"`
	ComplianceState        string `json:"complianceState"`
	OSVersion              string `json:"osVersion"`
	AzureADDeviceID        string `json:"azureADDeviceId"`
	Model                  string `json:"model"`
	Manufacturer           string `json:"manufacturer"`
	SerialNumber           string `json:"serialNumber"`
	UserPrincipalName      string `json:"userPrincipalName"`
	UserDisplayName        string `json:"userDisplayName"`
	EmailAddress           string `json:"emailAddress"`
	ManagementAgent        string `json:"managementAgent"`
	DeviceEnrollmentType   string `json:"deviceEnrollmentType"`
	IsEncrypted            bool   `json:"isEncrypted"`
}

func (s *Server) deviceRows(t *Tenant) []cippDeviceRow {
	rows := []cippDeviceRow{}
	s.World.mu.RLock()
	defer s.World.mu.RUnlock()
	for _, d := range t.Devices {
		row := cippDeviceRow{
			ID: d.ID, UserID: d.UserID, DeviceName: d.DeviceName, ManagedDeviceOwnerType: "company",
			EnrolledDateTime: graphTime(d.EnrolledDateTime), LastSyncDateTime: d.LastSyncDateTime.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			OperatingSystem: d.OperatingSystem, ComplianceState: d.ComplianceState, OSVersion: d.OSVersion,
			AzureADDeviceID: derivedGUID(d.ID, "entra-device"), Model: d.Model, Manufacturer: d.Manufacturer,
			SerialNumber: d.SerialNumber, UserPrincipalName: d.UserPrincipalName, ManagementAgent: "mdm",
			DeviceEnrollmentType: "windowsAzureADJoin", IsEncrypted: true,
		}
		if d.OperatingSystem != "Windows" {
			row.DeviceEnrollmentType = "userEnrollment"
		}
		if u := t.User(d.UserID); u != nil {
			row.UserDisplayName, row.EmailAddress = u.DisplayName, u.Mail
		}
		rows = append(rows, row)
	}
	return rows
}

func (s *Server) cippListDevices(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListDevices.json")
		return
	}
	rows := []cippDeviceRow{}
	if c.t != nil {
		rows = s.deviceRows(c.t)
	}
	writeCIPPJSON(w, http.StatusOK, rows)
}

type cippDomainRow struct {
	ID        string `json:"id"`
	IsDefault bool   `json:"isDefault"`
	IsInitial bool   `json:"isInitial"`
}

func (s *Server) cippListDomains(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListDomains.json")
		return
	}
	rows := []cippDomainRow{}
	if c.t != nil {
		s.World.mu.RLock()
		for _, d := range c.t.Domains {
			rows = append(rows, cippDomainRow{ID: d.Name, IsDefault: d.IsDefault, IsInitial: d.IsInitial})
		}
		s.World.mu.RUnlock()
	}
	writeCIPPJSON(w, http.StatusOK, rows)
}

type cippTermInfo struct {
	Status            string `json:"Status"`
	Term              string `json:"Term"`
	TotalLicenses     int    `json:"TotalLicenses"`
	DaysUntilRenew    int    `json:"DaysUntilRenew"`
	NextLifecycle     string `json:"NextLifecycle"`
	CreatedDateTime   string `json:"CreatedDateTime"`
	IsTrial           bool   `json:"IsTrial"`
	SubscriptionID    string `json:"SubscriptionId"`
	CSPSubscriptionID string `json:"CSPSubscriptionId"`
	OCPSubscriptionID string `json:"OCPSubscriptionId"`
}

type cippUserRef struct {
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	ID                string `json:"id"`
}

type cippLicenseRow struct {
	Tenant         string         `json:"Tenant"`
	License        string         `json:"License"`
	CountUsed      string         `json:"CountUsed"`
	CountAvailable int            `json:"CountAvailable"`
	TotalLicenses  string         `json:"TotalLicenses"`
	SkuID          string         `json:"skuId"`
	SkuPartNumber  string         `json:"skuPartNumber"`
	AvailableUnits int            `json:"availableUnits"`
	TermInfo       []cippTermInfo `json:"TermInfo"`
	AssignedUsers  []cippUserRef  `json:"AssignedUsers"`
	AssignedGroups []any          `json:"AssignedGroups"`
	ServicePlans   []any          `json:"ServicePlans"`
}

func (s *Server) cippListLicenses(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListLicenses.json")
		return
	}
	rows := []cippLicenseRow{}
	if c.t != nil {
		rows = s.licenseRows(c.t, c.filter)
	}
	writeCIPPJSON(w, http.StatusOK, rows)
}

// licenseRows are the tenant's ListLicenses rows (Get-CIPPLicenseOverview), Tenant set to filter.
func (s *Server) licenseRows(t *Tenant, filter string) []cippLicenseRow {
	rows := []cippLicenseRow{}
	c := struct {
		t      *Tenant
		filter string
	}{t, filter}
	{
		s.World.mu.RLock()
		for _, k := range c.t.SKUs {
			name := k.Name
			if name == "" {
				name = k.PartNumber
			}
			row := cippLicenseRow{
				Tenant: c.filter, License: name, CountUsed: strconv.Itoa(k.Consumed), CountAvailable: k.Enabled - k.Consumed,
				TotalLicenses: strconv.Itoa(k.Enabled), SkuID: k.ID, SkuPartNumber: name, AvailableUnits: k.Enabled - k.Consumed,
				AssignedUsers: []cippUserRef{}, ServicePlans: servicePlansJSON(k),
			}
			terms := []struct {
				status string
				n      int
			}{{"Enabled", k.Enabled}, {"Suspended", k.Suspended}, {"Warning", k.Warning}}
			for _, tm := range terms {
				if tm.n == 0 {
					continue
				}
				row.TermInfo = append(row.TermInfo, cippTermInfo{
					Status: tm.status, Term: "Yearly", TotalLicenses: tm.n, DaysUntilRenew: 143,
					NextLifecycle: genEpoch.AddDate(0, 5, 0).Format(time.RFC3339), CreatedDateTime: genEpoch.AddDate(-1, 0, 0).Format(time.RFC3339),
					SubscriptionID: derivedGUID(k.ID+tm.status, "subscription"), CSPSubscriptionID: derivedGUID(k.ID+tm.status, "csp"),
					OCPSubscriptionID: derivedGUID(k.ID+tm.status, "ocp"),
				})
			}
			row.TermInfo = cippNonNil(row.TermInfo)
			for _, u := range c.t.ActiveUsers() {
				if slices.Contains(u.Licenses, k.ID) {
					row.AssignedUsers = append(row.AssignedUsers, cippUserRef{u.DisplayName, u.UserPrincipalName, u.ID})
				}
			}
			rows = append(rows, row)
		}
		s.World.mu.RUnlock()
	}
	return rows
}

type cippMFACAPolicy struct {
	DisplayName  string `json:"DisplayName"`
	UserIncluded bool   `json:"UserIncluded"`
	AllApps      bool   `json:"AllApps"`
	PolicyState  string `json:"PolicyState"`
}

type cippMFARow struct {
	Tenant          string            `json:"Tenant"`
	ID              string            `json:"ID"`
	UPN             string            `json:"UPN"`
	DisplayName     string            `json:"DisplayName"`
	AccountEnabled  bool              `json:"AccountEnabled"`
	PerUser         string            `json:"PerUser"`
	IsLicensed      bool              `json:"isLicensed"`
	MFARegistration *bool             `json:"MFARegistration"`
	MFACapable      *bool             `json:"MFACapable"`
	MFAMethods      []string          `json:"MFAMethods"`
	CoveredByCA     string            `json:"CoveredByCA"`
	CAPolicies      []cippMFACAPolicy `json:"CAPolicies"`
	CoveredBySD     *bool             `json:"CoveredBySD"`
	IsAdmin         bool              `json:"IsAdmin"`
	UserType        string            `json:"UserType"`
	RowKey          string            `json:"RowKey"`
	PartitionKey    string            `json:"PartitionKey"`
}

func (s *Server) cippListMFAUsers(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListMFAUsers.json")
		return
	}
	rows := []cippMFARow{}
	if c.t != nil {
		rows = s.mfaRows(c.t, c.filter)
	}
	writeCIPPJSON(w, http.StatusOK, rows)
}

// mfaRows are the tenant's ListMFAUsers rows, Tenant set to filter.
func (s *Server) mfaRows(t *Tenant, filter string) []cippMFARow {
	rows := []cippMFARow{}
	c := struct{ filter string }{filter}
	{
		s.World.mu.RLock()
		var mfaPolicies []cippMFACAPolicy
		for _, p := range t.CAPolicies {
			if p.RequiresMFA && p.State == "enabled" {
				mfaPolicies = append(mfaPolicies, cippMFACAPolicy{DisplayName: p.DisplayName, UserIncluded: true, AllApps: true, PolicyState: p.State})
			}
		}
		sd := t.SecurityDefaults
		for _, u := range t.ActiveUsers() {
			row := cippMFARow{
				Tenant: c.filter, ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName,
				AccountEnabled: u.AccountEnabled, PerUser: u.PerUserMFA, IsLicensed: len(u.Licenses) > 0,
				MFAMethods: cippNonNil(slices.Clone(u.MFAMethods)), CAPolicies: []cippMFACAPolicy{}, CoveredBySD: &sd,
				IsAdmin: u.IsAdmin, UserType: u.UserType, RowKey: u.UserPrincipalName, PartitionKey: "users",
			}
			if row.PerUser == "" {
				row.PerUser = "disabled"
			}
			switch {
			case !t.PremiumP1:
				row.CoveredByCA = "MFA registration not available - licensing required for Conditional Access reporting"
			case t.CoveredByCA(u):
				row.CoveredByCA = "Enforced - All Apps"
				row.CAPolicies = mfaPolicies
			default:
				row.CoveredByCA = "Not Enforced"
			}
			if t.PremiumP1 {
				reg, capable := u.MFARegistered, u.MFACapable
				row.MFARegistration, row.MFACapable = &reg, &capable
			}
			rows = append(rows, row)
		}
		s.World.mu.RUnlock()
	}
	return rows
}

type cippCARow struct {
	ID                    string `json:"id"`
	DisplayName           string `json:"displayName"`
	Customer              string `json:"customer"`
	Tenant                string `json:"Tenant"`
	CreatedDateTime       string `json:"createdDateTime"`
	ModifiedDateTime      string `json:"modifiedDateTime"`
	State                 string `json:"state"`
	ClientAppTypes        string `json:"clientAppTypes"`
	IncludePlatforms      string `json:"includePlatforms"`
	ExcludePlatforms      string `json:"excludePlatforms"`
	IncludeLocations      string `json:"includeLocations"`
	ExcludeLocations      string `json:"excludeLocations"`
	IncludeApplications   string `json:"includeApplications"`
	ExcludeApplications   string `json:"excludeApplications"`
	IncludeUserActions    string `json:"includeUserActions"`
	IncludeAuthContext    string `json:"includeAuthenticationContextClassReferences"`
	IncludeUsers          string `json:"includeUsers"`
	ExcludeUsers          string `json:"excludeUsers"`
	IncludeGroups         string `json:"includeGroups"`
	ExcludeGroups         string `json:"excludeGroups"`
	IncludeRoles          string `json:"includeRoles"`
	ExcludeRoles          string `json:"excludeRoles"`
	GrantControlsOperator string `json:"grantControlsOperator"`
	BuiltInControls       string `json:"builtInControls"`
	CustomAuthFactors     string `json:"customAuthenticationFactors"`
	TermsOfUse            string `json:"termsOfUse"`
	RawJSON               string `json:"rawjson"`
}

func (s *Server) cippListCAPolicies(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListConditionalAccessPolicies.json")
		return
	}
	// Errors and unknown tenants are swallowed into an empty list with status 200.
	rows := []cippCARow{}
	if c.t != nil {
		s.World.mu.RLock()
		for _, p := range c.t.CAPolicies {
			control := "block"
			if p.RequiresMFA {
				control = "mfa"
			}
			raw, _ := json.Marshal(map[string]any{
				"id": p.ID, "displayName": p.DisplayName, "state": p.State,
				"createdDateTime": graphTime(p.CreatedAt),
				"grantControls":   map[string]any{"operator": "OR", "builtInControls": []string{control}, "authenticationStrength": nil},
				"conditions":      map[string]any{"users": p.caUsers()},
			})
			rows = append(rows, cippCARow{
				ID: p.ID, DisplayName: p.DisplayName, Customer: c.t.Name, Tenant: c.filter,
				CreatedDateTime: graphTime(p.CreatedAt), ModifiedDateTime: graphTime(p.CreatedAt), State: p.State,
				ClientAppTypes: "all", IncludeApplications: "All", IncludeUsers: "All\r\n",
				GrantControlsOperator: "OR", BuiltInControls: control, RawJSON: string(raw),
			})
		}
		s.World.mu.RUnlock()
		sort.Slice(rows, func(i, j int) bool { return rows[i].ID > rows[j].ID })
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": rows, "Metadata": nil})
}

// --- ListGraphRequest ------------------------------------------------------------------------

type cippGraphMetadata struct {
	Endpoint         string            `json:"Endpoint"`
	Parameters       map[string]string `json:"Parameters"`
	CippLink         *string           `json:"CippLink"`
	TenantFilter     string            `json:"TenantFilter"`
	ManualPagination bool              `json:"ManualPagination,omitempty"`
	NoPagination     bool              `json:"NoPagination,omitempty"`
	NextLink         string            `json:"nextLink,omitempty"`
}

const cippGraphBase = "https://graph.microsoft.com/"

func (s *Server) cippListGraphRequest(w http.ResponseWriter, c *cippRequest) {
	endpoint := strings.Trim(c.param("Endpoint"), "/")
	graphError := func(msg string) {
		writeCIPPText(w, http.StatusBadRequest, "Graph Error: "+msg+" - Endpoint: "+endpoint)
	}
	nextLink := c.param("nextLink")
	if nextLink != "" && !strings.HasPrefix(nextLink, cippGraphBase) {
		graphError("Invalid nextLink URL: " + nextLink)
		return
	}
	if c.rec {
		s.cippRecordedGraph(w, endpoint, nextLink, graphError)
		return
	}
	if c.t == nil {
		graphError(fmt.Sprintf("Graph request denied for '%s': the tenant is not in CIPP's tenant list.", c.filter))
		return
	}
	// OData options come from the nextLink when there is one, else from the query.
	odata := url.Values{}
	if nextLink != "" {
		u, err := url.Parse(nextLink)
		if err != nil {
			graphError("Invalid nextLink URL: " + nextLink)
			return
		}
		odata = u.Query()
	} else {
		for k, v := range c.query {
			if strings.HasPrefix(k, "$") {
				odata[k] = v
			}
		}
	}
	manual, _ := cippBool(c.param("manualPagination"))
	noPaging, _ := cippBool(c.param("NoPagination"))
	manual = manual || nextLink != ""

	var rows []map[string]any
	pageable := false
	s.World.mu.RLock()
	t := c.t
	switch strings.ToLower(endpoint) {
	case "users":
		pageable = true
		signIns := selects(odata.Get("$select"), "signInActivity")
		if signIns && !t.PremiumP1 {
			s.World.mu.RUnlock()
			graphError("Neither tenant is B2C or tenant doesn't have premium license")
			return
		}
		for _, u := range t.ActiveUsers() {
			row := graphUser(u, t)
			if signIns {
				row["signInActivity"] = signInJSON(u)
			}
			rows = append(rows, row)
		}
	case "reports/getmailboxusagedetail(period='d7')":
		pageable = true
		rows = t.mailboxUsageRows()
	case "domains":
		for _, d := range t.Domains {
			rows = append(rows, graphDomainRow(d))
		}
	case "security/securescores":
		if sc := t.SecureScore; !sc.CreatedAt.IsZero() {
			rows = append(rows, secureScoreRow(t))
		}
	case "devicemanagement/mobilethreatdefenseconnectors":
		if s.graphDenied(t.ID, "/deviceManagement/mobileThreatDefenseConnectors") {
			s.World.mu.RUnlock()
			graphError("Insufficient privileges to complete the operation.")
			return
		}
		rows = connectorRows(t)
	case "policies/identitysecuritydefaultsenforcementpolicy":
		rows = append(rows, map[string]any{
			"id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
			"description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
			"isEnabled":   t.SecurityDefaults,
		})
	default:
		s.World.mu.RUnlock()
		seg, _, _ := strings.Cut(endpoint, "/")
		graphError(fmt.Sprintf("Resource not found for the segment '%s'.", seg))
		return
	}
	s.World.mu.RUnlock()

	if sel := odata.Get("$select"); sel != "" {
		keep := map[string]bool{}
		for f := range strings.SplitSeq(sel, ",") {
			keep[strings.TrimSpace(f)] = true
		}
		for _, r := range rows {
			for k := range r {
				if !keep[k] && k != "id" {
					delete(r, k)
				}
			}
		}
	}
	md := cippGraphMetadata{Endpoint: endpoint, Parameters: map[string]string{}, TenantFilter: c.filter, ManualPagination: manual, NoPagination: noPaging}
	for k, v := range odata {
		if k != "$skiptoken" {
			md.Parameters[k] = v[0]
		}
	}
	if pageable && (manual || noPaging) {
		top := 100
		if n, err := strconv.Atoi(odata.Get("$top")); err == nil && n > 0 {
			top = min(n, 999)
		}
		offset := 0
		if tok := odata.Get("$skiptoken"); tok != "" {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
			if err != nil || err2 != nil || n < 0 || n > len(rows) {
				graphError("Invalid $skiptoken.")
				return
			}
			offset = n
		}
		end := min(offset+top, len(rows))
		if end < len(rows) && manual {
			q := url.Values{}
			for k, v := range odata {
				q[k] = v
			}
			q.Set("$top", strconv.Itoa(top))
			q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(end))))
			md.NextLink = cippGraphBase + "beta/" + endpoint + "?" + q.Encode()
		}
		rows = rows[offset:end]
	}
	for _, r := range rows {
		r["Tenant"] = c.filter
		r["CippStatus"] = "Good"
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": cippNonNil(rows), "Metadata": md})
}

// cippRecordedGraph serves the recorded ListGraphRequest pages of the recorded tenant.
func (s *Server) cippRecordedGraph(w http.ResponseWriter, endpoint, nextLink string, graphError func(string)) {
	switch strings.ToLower(endpoint) {
	case "users":
		if nextLink == "" {
			serveRecorded(w, http.StatusOK, "ListGraphRequest-users-1.json")
			return
		}
		var first struct {
			Metadata struct {
				NextLink string `json:"nextLink"`
			} `json:"Metadata"`
		}
		_ = json.Unmarshal(cippRecorded("ListGraphRequest-users-1.json"), &first)
		if nextLink == first.Metadata.NextLink {
			serveRecorded(w, http.StatusOK, "ListGraphRequest-users-2.json")
			return
		}
		graphError("Invalid $skiptoken.")
	case "domains":
		serveRecorded(w, http.StatusOK, "ListGraphRequest-domains.json")
	case "security/securescores":
		serveRecorded(w, http.StatusOK, "ListGraphRequest-secureScores.json")
	case "policies/identitysecuritydefaultsenforcementpolicy":
		serveRecorded(w, http.StatusOK, "ListGraphRequest-securityDefaults.json")
	case "reports/getmailboxusagedetail(period='d7')":
		serveRecorded(w, http.StatusOK, "ListGraphRequest-mailboxUsage.json")
	default:
		seg, _, _ := strings.Cut(endpoint, "/")
		graphError(fmt.Sprintf("Resource not found for the segment '%s'.", seg))
	}
}

// --- write actions ---------------------------------------------------------------------------

const graphNotExist = "Resource '%s' does not exist or one of its queried reference-property objects are not present."

func psBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (s *Server) cippExecDisableUser(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ExecDisableUser.json")
		return
	}
	id := c.param("ID")
	enable, ok := cippBool(c.param("Enable"))
	if !ok {
		writeCIPPText(w, http.StatusInternalServerError, "Exception calling \"ToBoolean\" with \"1\" argument(s): \"String '' was not recognized as a valid Boolean.\"")
		return
	}
	if c.t != nil {
		err := s.World.UpdateUser(c.t.ID, id, func(u *User) { u.AccountEnabled = enable })
		if err != nil {
			writeCIPPJSON(w, http.StatusInternalServerError, map[string]string{"Results": fmt.Sprintf("Failed to set sign-in state for %s. Error: "+graphNotExist, id, id)})
			return
		}
	}
	// For a tenant CIPP does not manage, the Graph call fails silently and CIPP reports success.
	writeCIPPJSON(w, http.StatusOK, map[string]string{"Results": fmt.Sprintf("Successfully set account enabled state to %s for %s", psBool(enable), id)})
}

func (s *Server) cippExecResetPass(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ExecResetPass.json")
		return
	}
	id, name := c.param("ID"), c.param("displayName")
	must, ok := cippBool(c.param("MustChange"))
	if !ok {
		writeCIPPText(w, http.StatusInternalServerError, "Exception calling \"ToBoolean\" with \"1\" argument(s): \"String '' was not recognized as a valid Boolean.\"")
		return
	}
	if c.t != nil {
		s.World.mu.RLock()
		u := c.t.User(id)
		s.World.mu.RUnlock()
		if u == nil || u.Deleted {
			writeCIPPJSON(w, http.StatusInternalServerError, map[string]string{"Results": fmt.Sprintf("Failed to reset password for %s, %s. Error: "+graphNotExist, name, id, id)})
			return
		}
	}
	pw := cippPassword()
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": map[string]string{
		"resultText": fmt.Sprintf("Successfully reset the password for %s, %s. User must change password is set to %s. The new password is %s", name, id, psBool(must), pw),
		"copyField":  pw,
		"state":      "success",
	}})
}

// cippPassword is a password of the kind CIPP generates.
func cippPassword() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789#!$%"
	b := make([]byte, 14)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *Server) cippExecResetMFA(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ExecResetMFA.json")
		return
	}
	// Body only: the query is ignored.
	idv, _ := c.bodyValue("ID")
	id := cippString(idv)
	if c.t == nil {
		writeCIPPJSON(w, http.StatusInternalServerError, map[string]string{"Results": fmt.Sprintf("Failed to get MFA methods for user %s. Error: Graph request denied for '%s': the tenant is not in CIPP's tenant list.", id, c.filter)})
		return
	}
	var removed []string
	err := s.World.UpdateUser(c.t.ID, id, func(u *User) {
		for mid, kind := range u.Methods {
			if kind != "password" {
				removed = append(removed, kind)
				delete(u.Methods, mid)
			}
		}
		if len(removed) > 0 {
			u.MFARegistered, u.MFACapable, u.MFAMethods = false, false, nil
		}
	})
	if err != nil {
		writeCIPPJSON(w, http.StatusInternalServerError, map[string]string{"Results": fmt.Sprintf("Failed to get MFA methods for user %s. Error: "+graphNotExist, id, id)})
		return
	}
	if len(removed) == 0 {
		writeCIPPJSON(w, http.StatusOK, map[string]string{"Results": "No MFA methods found for user " + id})
		return
	}
	sort.Strings(removed)
	writeCIPPJSON(w, http.StatusOK, map[string]string{"Results": fmt.Sprintf("Successfully removed MFA methods (%s) for user %s. User must supply MFA at next logon", strings.Join(removed, ", "), id)})
}

func (s *Server) cippExecRevokeSessions(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ExecRevokeSessions.json")
		return
	}
	id, name := c.param("id"), c.param("Username")
	if c.t != nil {
		s.World.mu.RLock()
		u := c.t.User(id)
		s.World.mu.RUnlock()
		if u == nil || u.Deleted {
			writeCIPPJSON(w, http.StatusInternalServerError, map[string]string{"Results": fmt.Sprintf("Failed to revoke sessions for %s. Error: "+graphNotExist, name, id)})
			return
		}
		s.cippMu.Lock()
		if s.cippRevoked == nil {
			s.cippRevoked = map[string]int{}
		}
		s.cippRevoked[strings.ToLower(u.ID)]++
		s.cippMu.Unlock()
	}
	writeCIPPJSON(w, http.StatusOK, map[string]string{"Results": "Successfully revoked sessions for " + name})
}

// cippMember reads an AddMember/RemoveMember entry: {"value": id, "addedFields": {"userPrincipalName"}}
// or a bare UPN string.
func cippMember(v any) (id, upn string) {
	switch x := v.(type) {
	case string:
		return "", x
	case map[string]any:
		id = cippString(x)
		if af, ok := x["addedFields"].(map[string]any); ok {
			upn, _ = af["userPrincipalName"].(string)
		}
		if strings.Contains(id, "@") {
			id, upn = "", id
		}
	}
	return id, upn
}

func (s *Server) cippEditGroup(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "EditGroup.json")
		return
	}
	gv, _ := c.bodyValue("groupId")
	groupID := cippString(gv)
	var lines []string
	if c.t == nil {
		lines = append(lines, fmt.Sprintf("Error - Graph request denied for '%s': the tenant is not in CIPP's tenant list.", c.filter))
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": lines})
		return
	}
	w0 := s.World
	w0.mu.Lock()
	var grp *Group
	for _, g := range c.t.Groups {
		if strings.EqualFold(g.ID, groupID) {
			grp = g
		}
	}
	ops := []struct {
		field string
		add   bool
	}{{"AddMember", true}, {"RemoveMember", false}}
	for _, op := range ops {
		v, _ := c.bodyValue(op.field)
		list, _ := v.([]any)
		for _, m := range list {
			id, upn := cippMember(m)
			var u *User
			if id != "" {
				u = c.t.User(id)
			} else if upn != "" {
				u = c.t.User(upn)
			}
			who := upn
			if who == "" {
				who = id
			}
			switch {
			case grp == nil:
				lines = append(lines, "Error - "+fmt.Sprintf(graphNotExist, groupID))
			case u == nil || u.Deleted:
				lines = append(lines, "Error - "+fmt.Sprintf(graphNotExist, who))
			case op.add && grp.Members[u.ID]:
				lines = append(lines, "Error - This user is already a member of this group.")
			case op.add:
				grp.Members[u.ID] = true
				lines = append(lines, fmt.Sprintf("Success - Added member %s to %s group", u.UserPrincipalName, grp.DisplayName))
			case !grp.Members[u.ID]:
				lines = append(lines, "Error - One or more removed object references do not exist for the following modified properties: 'members'.")
			default:
				delete(grp.Members, u.ID)
				lines = append(lines, fmt.Sprintf("Success - Removed member %s from %s group", u.UserPrincipalName, grp.DisplayName))
			}
		}
	}
	w0.mu.Unlock()
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": cippNonNil(lines)})
}

// graphDomainRow is a Graph domain as CIPP passes it through (ListGraphRequest, ListDBCache).
func graphDomainRow(d *Domain) map[string]any {
	return map[string]any{
		"id": d.Name, "authenticationType": "Managed", "availabilityStatus": nil, "isAdminManaged": true,
		"isDefault": d.IsDefault, "isInitial": d.IsInitial, "isRoot": true, "isVerified": d.IsVerified,
		"supportedServices": cippNonNil(slices.Clone(d.Services)), "passwordNotificationWindowInDays": 14,
		"passwordValidityPeriodInDays": 2147483647, "state": nil,
	}
}

// secureScoreRow is the tenant's latest Graph secureScore as CIPP passes it through.
func secureScoreRow(t *Tenant) map[string]any {
	sc := t.SecureScore
	return map[string]any{
		"id": t.ID + "_" + sc.CreatedAt.Format("2006-01-02"), "azureTenantId": t.ID, "activeUserCount": sc.ActiveUser,
		"createdDateTime": graphTime(sc.CreatedAt), "currentScore": sc.Current, "enabledServices": []string{"HasExchange", "HasSharePoint", "HasOD4B"},
		"licensedUserCount": sc.ActiveUser, "maxScore": sc.Max, "averageComparativeScores": []any{}, "controlScores": []any{},
		"vendorInformation": map[string]any{"provider": "SecureScore", "providerVersion": nil, "subProvider": nil, "vendor": "Microsoft"},
	}
}
