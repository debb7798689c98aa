package testserver

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Graph page sizes (reference §3, §4.1).
const (
	graphDefaultPage = 100
	graphMaxUsersTop = 999
	graphMaxTop      = 999
	graphMaxBatch    = 20
)

// graphState is the fake Graph's own state: injected faults per tenant and counters of writes
// that leave no trace in the World.
type graphState struct {
	gmu         sync.Mutex
	graphFaults map[string]*graphFaults
	revocations map[string]int  // tenant/user → revokeSignInSessions calls
	purged      map[string]bool // tenant/user → permanently deleted ("@removed": "deleted")
	gzipBodies  int             // request bodies that arrived gzip-compressed
	// appGrants are the Microsoft Graph application permissions granted to the partner app
	// per tenant (GraphGrantAppPermissions); a tenant without an entry has the defaults.
	appGrants map[string][]string
}

type graphFaults struct {
	propagationUntil time.Time
	deny             []string // path prefixes answered 403 Authorization_RequestDenied
	deltaGeneration  int      // delta and skip tokens of older generations are expired
	throttles        []*graphThrottle
	loops            []string          // path prefixes whose nextLink points back at the same page
	hostileNext      map[string]string // path prefix → nextLink to put in its first page
}

type graphThrottle struct {
	prefix     string
	left       int
	retryAfter string
	status     int    // 429 unless set by GraphFail
	code, msg  string // the error body's code and message
}

func (s *Server) graphFaultsFor(tenantID string) *graphFaults {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if s.graphFaults == nil {
		s.graphFaults = map[string]*graphFaults{}
	}
	id := strings.ToLower(tenantID)
	f := s.graphFaults[id]
	if f == nil {
		f = &graphFaults{hostileNext: map[string]string{}}
		s.graphFaults[id] = f
	}
	return f
}

// GraphRolePropagation makes every Graph call for the tenant fail with 403
// Authorization_RequestDenied for d from now, as right after a GDAP role is granted, when
// Microsoft takes 30 minutes to 2 hours to apply it.
func (s *Server) GraphRolePropagation(tenantID string, d time.Duration) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	f.propagationUntil = time.Now().Add(d)
	s.gmu.Unlock()
}

// GraphDeny answers calls (direct or $batch items) whose path starts with prefix (relative to
// the version root, e.g. "/deviceManagement") with 403 Authorization_RequestDenied, as when the
// role or permission the data needs is missing. deny=false lifts it.
func (s *Server) GraphDeny(tenantID, prefix string, deny bool) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	defer s.gmu.Unlock()
	out := f.deny[:0:0]
	for _, p := range f.deny {
		if p != prefix {
			out = append(out, p)
		}
	}
	if deny {
		out = append(out, prefix)
	}
	f.deny = out
}

// GraphExpireDeltaTokens expires every delta and skip token issued so far for the tenant:
// using one answers 400 syncStateNotFound ("The sync state generation is not found. The delta
// token is expired and data must be synchronized again."), as Graph does after seven days.
func (s *Server) GraphExpireDeltaTokens(tenantID string) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	f.deltaGeneration++
	s.gmu.Unlock()
}

// GraphThrottle answers the next n calls under prefix (direct or $batch items) with 429
// TooManyRequests; retryAfter is the Retry-After value ("" sends none, as the conditional access
// endpoints do).
func (s *Server) GraphThrottle(tenantID, prefix string, n int, retryAfter string) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	f.throttles = append(f.throttles, &graphThrottle{prefix: prefix, left: n, retryAfter: retryAfter,
		status: http.StatusTooManyRequests, code: "TooManyRequests", msg: "Please retry again later."})
	s.gmu.Unlock()
}

// GraphFail answers the next n calls under prefix (direct or $batch items) with status and a
// Graph error body with code, e.g. 503 serviceNotAvailable or 504 UnknownError.
func (s *Server) GraphFail(tenantID, prefix string, n, status int, code string) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	f.throttles = append(f.throttles, &graphThrottle{prefix: prefix, left: n, status: status, code: code,
		msg: "The service is temporarily unavailable. Please retry later."})
	s.gmu.Unlock()
}

// GraphNextLinkLoop makes collections under prefix return a nextLink to the page just served,
// forever: a client must notice the loop instead of hanging.
func (s *Server) GraphNextLinkLoop(tenantID, prefix string) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	f.loops = append(f.loops, prefix)
	s.gmu.Unlock()
}

// GraphHostileNextLink makes the first page of collections under prefix carry link as its
// @odata.nextLink (a link to another host, which a client must refuse to follow).
func (s *Server) GraphHostileNextLink(tenantID, prefix, link string) {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	f.hostileNext[prefix] = link
	s.gmu.Unlock()
}

// GraphGzipBodies returns how many Graph request bodies arrived gzip-compressed (as
// msgraph-sdk-go's compression handler sends them).
func (s *Server) GraphGzipBodies() int {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	return s.gzipBodies
}

// GraphRevocations returns how many times revokeSignInSessions was called for a user.
func (s *Server) GraphRevocations(tenantID, userID string) int {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	return s.revocations[strings.ToLower(tenantID)+"/"+strings.ToLower(userID)]
}

// GraphPurgeUser permanently deletes a user: delta rounds report it with
// "@removed": {"reason": "deleted"} instead of "changed" (a soft delete).
func (s *Server) GraphPurgeUser(tenantID, userID string) error {
	if err := s.World.DeleteUser(tenantID, userID); err != nil {
		return err
	}
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if s.purged == nil {
		s.purged = map[string]bool{}
	}
	s.purged[strings.ToLower(tenantID)+"/"+strings.ToLower(userID)] = true
	return nil
}

func (s *Server) isPurged(tenantID, userID string) bool {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	return s.purged[strings.ToLower(tenantID)+"/"+strings.ToLower(userID)]
}

// graphTenant is the tenant a Graph request concerns: the tid of its bearer token.
func (s *Server) graphTenant(r *http.Request) string {
	c, err := s.verifyBearer(r, AudienceGraph)
	if err != nil {
		return ""
	}
	return strings.ToLower(c.TenantID)
}

func (s *Server) graphHandler() http.Handler {
	gdap := s.gdapHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version, rest, ok := graphVersion(r.URL.Path)
		if !ok {
			writeGraphError(w, r, http.StatusNotFound, "BadRequest", "Invalid version.")
			return
		}
		if strings.HasPrefix(rest, "/tenantRelationships/") || rest == "/tenantRelationships" {
			gdap.ServeHTTP(w, r)
			return
		}
		claims, err := s.verifyBearer(r, AudienceGraph)
		if err != nil {
			writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", graphTokenMessage(err))
			return
		}
		body, err := s.readGraphBody(r)
		if err != nil {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The request body could not be read: "+err.Error())
			return
		}
		g := &graphCall{s: s, version: version, claims: claims, clientRequestID: r.Header.Get("client-request-id")}
		if res := g.authorize(); res != nil {
			res.write(w, r)
			return
		}
		if rest == "/$batch" && r.Method == http.MethodPost {
			g.batch(body).write(w, r)
			return
		}
		g.rawQuery = r.URL.RawQuery
		g.serve(r.Method, rest, r.URL.Query(), r.Header, body).write(w, r)
	})
}

func graphVersion(p string) (version, rest string, ok bool) {
	for _, v := range []string{"/v1.0", "/beta"} {
		if r, found := strings.CutPrefix(p, v); found && (r == "" || r[0] == '/') {
			return v, r, true
		}
	}
	return "", "", false
}

func graphTokenMessage(err error) string {
	switch {
	case errors.Is(err, errTokenMissing):
		return "Access token is empty."
	case errors.Is(err, errTokenExpired):
		return "Access token has expired or is not yet valid."
	case errors.Is(err, errTokenAudience):
		return "Invalid audience."
	default:
		return "CompactToken parsing failed with error code: 80049217"
	}
}

// readGraphBody reads a request body, gunzipping it as msgraph-sdk-go's compression handler
// sends it (Content-Encoding: gzip).
func (s *Server) readGraphBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") && len(data) > 0 {
		s.gmu.Lock()
		s.gzipBodies++
		s.gmu.Unlock()
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		return io.ReadAll(io.LimitReader(zr, 4<<20))
	}
	return data, nil
}

// graphResult is one answer, written directly or as a $batch item.
type graphResult struct {
	status  int
	headers map[string]string
	body    any // marshalled as JSON; nil for no body
}

func (g *graphResult) write(w http.ResponseWriter, r *http.Request) {
	for k, v := range g.headers {
		w.Header().Set(k, v)
	}
	reqID := g.headers["request-id"]
	if reqID == "" {
		reqID = randomGUID()
		w.Header().Set("request-id", reqID)
	}
	if c := r.Header.Get("client-request-id"); c != "" {
		w.Header().Set("client-request-id", c)
	}
	if g.body == nil {
		w.WriteHeader(g.status)
		return
	}
	if rb, ok := g.body.(rawBody); ok {
		// A report download: CSV, not JSON.
		w.Header().Set("Content-Length", strconv.Itoa(len(rb)))
		w.WriteHeader(g.status)
		_, _ = w.Write(rb)
		return
	}
	if raw, ok := g.body.(json.RawMessage); ok {
		// A cached page (Options.PageCache): its bytes as rendered.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
		w.WriteHeader(g.status)
		_, _ = w.Write(raw)
		return
	}
	writeJSON(w, g.status, g.body)
}

// graphError builds Graph's error body as a result, so $batch items carry the same shape the
// shared writeGraphError sends for whole responses.
func graphError(status int, code, message, clientRequestID string) *graphResult {
	reqID := randomGUID()
	if clientRequestID == "" {
		clientRequestID = reqID
	}
	return &graphResult{
		status:  status,
		headers: map[string]string{"request-id": reqID, "client-request-id": clientRequestID, "Content-Type": "application/json"},
		body: map[string]any{"error": map[string]any{
			"code":    code,
			"message": message,
			"innerError": map[string]any{
				"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
				"request-id":        reqID,
				"client-request-id": clientRequestID,
			},
		}},
	}
}

// graphCall serves the requests of one HTTP request (one call, or the items of a $batch).
type graphCall struct {
	s               *Server
	version         string
	claims          *Claims
	clientRequestID string
	tenant          *Tenant
	// rawQuery is the query of the request being served as the client wrote it, from which
	// nextLinks are built.
	rawQuery string
	// rendering is set while a page for the cache (Options.PageCache) is rendered.
	rendering bool
}

func (g *graphCall) fail(status int, code, message string) *graphResult {
	return graphError(status, code, message, g.clientRequestID)
}

func (g *graphCall) ok(status int, body any) *graphResult {
	return &graphResult{status: status, headers: map[string]string{"request-id": randomGUID(), "Content-Type": "application/json"}, body: body}
}

// authorize checks that the token's tenant is a customer the app may read.
func (g *graphCall) authorize() *graphResult {
	t := g.s.World.Tenant(g.claims.TenantID)
	if t == nil {
		return g.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "The tenant of the access token is not served by this fake Graph.")
	}
	g.s.World.mu.RLock()
	consented := t.Consented
	g.s.World.mu.RUnlock()
	if g.claims.UserID == "" && !consented {
		return g.fail(http.StatusUnauthorized, "Authorization_IdentityNotFound", "The identity of the calling application could not be established.")
	}
	g.tenant = t
	return nil
}

// faults applies the tenant's injected Graph faults to one request.
func (g *graphCall) faults(path string) *graphResult {
	s := g.s
	s.gmu.Lock()
	f := s.graphFaults[strings.ToLower(g.tenant.ID)]
	var res *graphResult
	if f != nil {
		switch {
		case time.Now().Before(f.propagationUntil):
			res = g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		case hasPrefix(path, f.deny):
			res = g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		default:
			for _, th := range f.throttles {
				if th.left > 0 && strings.HasPrefix(path, th.prefix) {
					th.left--
					res = g.fail(th.status, th.code, th.msg)
					if th.retryAfter != "" {
						res.headers["Retry-After"] = th.retryAfter
					}
					break
				}
			}
		}
	}
	s.gmu.Unlock()
	return res
}

func hasPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Role template IDs the Graph fake checks that gdap.go does not declare (reference §2.3).
const (
	roleReportsReader         = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	roleSecurityAdministrator = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	roleHelpdeskAdministrator = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	rolePasswordAdministrator = "966707d0-3269-4727-9be2-8c3a10f19b9d"
)

// graphRoles lists the GDAP roles any one of which lets a partner user make a call, after
// Microsoft's least-privileged role tables; Global Administrator allows everything.
func graphRoles(method, path string) []string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	read := method == http.MethodGet
	switch {
	case strings.HasPrefix(path, "/deviceManagement"):
		return []string{roleIntuneAdministrator, roleGlobalReader}
	case strings.HasPrefix(path, "/reports/authenticationMethods"):
		return []string{roleReportsReader, roleSecurityReader, roleSecurityAdministrator, roleGlobalReader}
	case strings.HasPrefix(path, "/identity/conditionalAccess"), strings.HasPrefix(path, "/policies/"), strings.HasPrefix(path, "/security/"):
		return []string{roleSecurityReader, roleSecurityAdministrator, roleGlobalReader}
	case len(seg) >= 3 && seg[0] == "users" && seg[2] == "mailboxSettings":
		return []string{roleExchangeAdministrator, roleGlobalReader}
	case len(seg) >= 3 && seg[0] == "users" && seg[2] == "authentication":
		if read {
			return []string{roleAuthenticationAdministrator, rolePrivilegedAuthAdministrator, roleGlobalReader}
		}
		return []string{roleAuthenticationAdministrator, rolePrivilegedAuthAdministrator}
	case seg[0] == "groups" && !read:
		return []string{roleGroupsAdministrator, roleUserAdministrator}
	case seg[0] == "users" && !read:
		return []string{roleUserAdministrator, roleHelpdeskAdministrator, rolePasswordAdministrator}
	}
	return []string{roleDirectoryReaders, roleGlobalReader, roleUserAdministrator, roleGroupsAdministrator}
}

// checkRoles refuses a partner user's call unless an active GDAP relationship grants a role the
// call needs, and that role has propagated.
func (g *graphCall) checkRoles(method, path string) *graphResult {
	if g.claims.UserID == "" {
		return nil
	}
	roles := append(graphRoles(method, path), roleGlobalAdministrator)
	w := g.s.World
	w.mu.RLock()
	access := g.tenant.RoleAccess(time.Now(), roles...)
	w.mu.RUnlock()
	if access != RoleEffective {
		return g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	return nil
}

// serve answers one request; path is relative to the version root.
func (g *graphCall) serve(method, path string, q url.Values, h http.Header, body []byte) *graphResult {
	if c := g.s.pages; c != nil && method == http.MethodGet && !g.rendering {
		return c.cached(g, path, q, func() *graphResult {
			r := *g
			r.rendering = true
			return r.serve(method, path, q, h, body)
		})
	}
	g.s.logCall(ServiceGraph, g.tenant.ID, method, path, body)
	if res := g.faults(path); res != nil {
		return res
	}
	if res := g.checkRoles(method, path); res != nil {
		return res
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i := range seg {
		if u, err := url.PathUnescape(seg[i]); err == nil {
			seg[i] = u
		}
	}
	if res := g.serveWorkflow(method, path, seg, body); res != nil {
		return res
	}
	if res := g.serveKinds(method, path, seg, q); res != nil {
		return res
	}
	get := method == http.MethodGet
	switch {
	case get && path == "/users":
		return g.listUsers(path, q)
	case get && (path == "/users/delta" || path == "/users/delta()"):
		// Graph names the function both ways; msgraph-sdk-go calls it with the parentheses.
		return g.usersDelta(q)
	case len(seg) == 2 && seg[0] == "users":
		switch method {
		case http.MethodGet:
			return g.getUser(seg[1], q)
		case http.MethodPatch:
			return g.patchUser(seg[1], body)
		}
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "revokeSignInSessions" && method == http.MethodPost:
		return g.revoke(seg[1])
	case get && len(seg) >= 3 && seg[0] == "users" && seg[2] == "mailboxSettings":
		return g.mailboxSettings(seg[1], seg[3:])
	case get && len(seg) == 4 && seg[0] == "users" && seg[2] == "authentication" && seg[3] == "methods":
		return g.listMethods(seg[1])
	case method == http.MethodDelete && len(seg) == 5 && seg[0] == "users" && seg[2] == "authentication":
		return g.deleteMethod(seg[1], seg[3], seg[4])
	case get && path == "/subscribedSkus":
		return g.collection(path, q, "subscribedSkus", g.skus(), graphDefaultPage, graphMaxTop)
	case get && path == "/deviceManagement/mobileThreatDefenseConnectors":
		return g.mtdConnectors(path, q)
	case get && path == "/deviceManagement/managedDevices":
		return g.collection(path, q, "deviceManagement/managedDevices", g.devices(q), graphDefaultPage, graphMaxTop)
	case get && path == "/domains":
		return g.collection(path, q, "domains", g.domains(), graphDefaultPage, graphMaxTop)
	case get && path == "/reports/authenticationMethods/userRegistrationDetails":
		if !g.premium() {
			return g.fail(http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
		}
		return g.collection(path, q, "reports/authenticationMethods/userRegistrationDetails", g.registration(), graphDefaultPage, graphMaxTop)
	case get && path == "/identity/conditionalAccess/policies":
		return g.collection(path, q, "identity/conditionalAccess/policies", g.caPolicies(), graphDefaultPage, graphMaxTop)
	case get && path == "/policies/identitySecurityDefaultsEnforcementPolicy":
		return g.securityDefaults()
	case get && path == "/security/secureScores":
		return g.collection(path, q, "security/secureScores", g.secureScores(), graphDefaultPage, graphMaxTop)
	case get && path == "/organization":
		return g.collection(path, q, "organization", g.organization(), graphDefaultPage, graphMaxTop)
	case get && path == "/servicePrincipals":
		return g.servicePrincipals(path, q)
	case get && len(seg) == 3 && seg[0] == "servicePrincipals" && seg[2] == "appRoleAssignments":
		return g.appRoleAssignments(path, seg[1], q)
	case get && path == "/groups":
		return g.collection(path, q, "groups", g.groups(q), graphDefaultPage, graphMaxTop)
	case get && len(seg) == 2 && seg[0] == "groups":
		return g.getGroup(seg[1])
	case method == http.MethodPost && len(seg) == 4 && seg[0] == "groups" && seg[2] == "members" && seg[3] == "$ref":
		return g.addMember(seg[1], body)
	case method == http.MethodDelete && len(seg) == 5 && seg[0] == "groups" && seg[2] == "members" && seg[4] == "$ref":
		return g.removeMember(seg[1], seg[3])
	}
	if get {
		return g.fail(http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource not found for the segment '%s'.", seg[len(seg)-1]))
	}
	return g.fail(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

// base is the absolute root links are built from: the fake's own URL.
func (g *graphCall) base() string { return g.s.GraphURL() + g.version }

func (g *graphCall) context(entity string) string { return g.base() + "/$metadata#" + entity }

// pageToken is what the fake's $skiptoken and $deltatoken carry.
type pageToken struct {
	Tenant string `json:"t"`
	Off    int    `json:"o,omitempty"`
	Seq    int64  `json:"s,omitempty"`
	Upto   int64  `json:"u,omitempty"`
	Gen    int    `json:"g"`
	Phase  string `json:"p,omitempty"` // "full" or "changes" for delta skip tokens
	Select string `json:"sel,omitempty"`
	Top    int    `json:"top,omitempty"`
}

func (g *graphCall) generation() int {
	g.s.gmu.Lock()
	defer g.s.gmu.Unlock()
	if f := g.s.graphFaults[strings.ToLower(g.tenant.ID)]; f != nil {
		return f.deltaGeneration
	}
	return 0
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (g *graphCall) decodeToken(s string) (pageToken, *graphResult) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || !strings.EqualFold(t.Tenant, g.tenant.ID) {
		return t, g.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid paging token.")
	}
	if t.Gen != g.generation() {
		return t, g.fail(http.StatusBadRequest, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
	}
	return t, nil
}

// pageSize reads $top against a default and a maximum.
func (g *graphCall) pageSize(q url.Values, def, maxTop int) (int, *graphResult) {
	v := q.Get("$top")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, g.fail(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Invalid value '%s' for query parameter $top.", v))
	}
	if n > maxTop {
		return 0, g.fail(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", n, maxTop))
	}
	return n, nil
}

// collection serves a page of items with an absolute nextLink carrying a $skiptoken.
func (g *graphCall) collection(path string, q url.Values, entity string, items []map[string]any, def, maxTop int) *graphResult {
	size, bad := g.pageSize(q, def, maxTop)
	if bad != nil {
		return bad
	}
	off := 0
	if st := q.Get("$skiptoken"); st != "" {
		t, bad := g.decodeToken(st)
		if bad != nil {
			return bad
		}
		off = t.Off
	}
	if sel := q.Get("$select"); sel != "" {
		items = project(items, sel)
	}
	end := min(off+size, len(items))
	page := items[min(off, len(items)):end]
	body := map[string]any{"@odata.context": g.context(entity), "value": nonNil(page)}
	if end < len(items) {
		body["@odata.nextLink"] = g.base() + path + "?" +
			odataNextQuery(g.rawQuery, encodeToken(pageToken{Tenant: g.tenant.ID, Off: end, Gen: g.generation()}))
	}
	g.pagingFaults(path, q, body)
	return g.ok(http.StatusOK, body)
}

// odataNextQuery is the query of a nextLink as Graph writes it: the request's parameters in the
// order the client sent them, the old $skiptoken replaced by the next one at the end
// (users?$top=5&$skiptoken=…).
func odataNextQuery(rawQuery, skiptoken string) string {
	q := odataQuery(rawQuery, "$skiptoken")
	if q != "" {
		q += "&"
	}
	return q + "$skiptoken=" + skiptoken
}

// odataQuery rewrites a raw query as Graph writes the queries of its links: each parameter
// decoded and escaped again, but with the OData characters '$' and ',' left literal (a client
// that sent %24top gets $top back), in the client's order, without the parameters named in drop.
func odataQuery(rawQuery string, drop ...string) string {
	var parts []string
	for _, p := range strings.Split(rawQuery, "&") {
		if p == "" {
			continue
		}
		k, v, hasValue := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if slices.Contains(drop, k) {
			continue
		}
		if !hasValue {
			parts = append(parts, odataEscape(k))
			continue
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		parts = append(parts, odataEscape(k)+"="+odataEscape(v))
	}
	return strings.Join(parts, "&")
}

var odataUnescape = strings.NewReplacer("%24", "$", "%2C", ",", "+", "%20")

func odataEscape(s string) string { return odataUnescape.Replace(url.QueryEscape(s)) }

// pagingFaults rewrites a page's nextLink for the loop and hostile-link faults.
func (g *graphCall) pagingFaults(path string, q url.Values, body map[string]any) {
	g.s.gmu.Lock()
	defer g.s.gmu.Unlock()
	f := g.s.graphFaults[strings.ToLower(g.tenant.ID)]
	if f == nil {
		return
	}
	if hasPrefix(path, f.loops) {
		self := g.base() + path
		if g.rawQuery != "" {
			self += "?" + odataQuery(g.rawQuery)
		}
		body["@odata.nextLink"] = self
		delete(body, "@odata.deltaLink")
		return
	}
	for prefix, link := range f.hostileNext {
		if strings.HasPrefix(path, prefix) && q.Get("$skiptoken") == "" && q.Get("$deltatoken") == "" {
			body["@odata.nextLink"] = link
			delete(body, "@odata.deltaLink")
		}
	}
}

func nonNil(items []map[string]any) []map[string]any {
	if items == nil {
		return []map[string]any{}
	}
	return items
}

// project keeps the $selected properties (and id, and annotations) of each item.
func project(items []map[string]any, sel string) []map[string]any {
	keep := map[string]bool{"id": true}
	for _, f := range strings.Split(sel, ",") {
		keep[strings.TrimSpace(f)] = true
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := make(map[string]any, len(keep))
		for k, v := range it {
			if keep[k] || strings.HasPrefix(k, "@") {
				m[k] = v
			}
		}
		out = append(out, m)
	}
	return out
}

// userDefaults are the properties Graph returns for a user without $select.
var userDefaults = "businessPhones,displayName,givenName,id,jobTitle,mail,mobilePhone,officeLocation,preferredLanguage,surname,userPrincipalName"

// userProperties are the user properties the fake knows; a $select of anything else is refused
// as Graph refuses unknown properties.
var userProperties = map[string]bool{
	"id": true, "userPrincipalName": true, "displayName": true, "givenName": true, "surname": true, "mail": true,
	"otherMails": true, "proxyAddresses": true, "imAddresses": true, "jobTitle": true, "department": true,
	"companyName": true, "officeLocation": true, "mobilePhone": true, "businessPhones": true, "accountEnabled": true,
	"userType": true, "assignedLicenses": true, "createdDateTime": true, "onPremisesSyncEnabled": true,
	"preferredLanguage": true, "mailNickname": true, "usageLocation": true,
}

func (g *graphCall) checkUserSelect(sel string) *graphResult {
	for _, f := range strings.Split(sel, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "mailboxSettings":
			return g.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
		case !userProperties[f]:
			return g.fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", f))
		}
	}
	return nil
}

func userJSON(u *User) map[string]any {
	licences := make([]map[string]any, 0, len(u.Licenses))
	for _, l := range u.Licenses {
		licences = append(licences, map[string]any{"skuId": l, "disabledPlans": []string{}})
	}
	nick, _, _ := strings.Cut(u.UserPrincipalName, "@")
	return map[string]any{
		"id":                    u.ID,
		"userPrincipalName":     u.UserPrincipalName,
		"displayName":           u.DisplayName,
		"givenName":             nullable(u.GivenName),
		"surname":               nullable(u.Surname),
		"mail":                  nullable(u.Mail),
		"otherMails":            strs(u.OtherMails),
		"proxyAddresses":        strs(u.ProxyAddresses),
		"imAddresses":           []string{},
		"jobTitle":              nullable(u.JobTitle),
		"department":            nullable(u.Department),
		"companyName":           nil,
		"officeLocation":        nullable(u.OfficeLocation),
		"mobilePhone":           nullable(u.MobilePhone),
		"businessPhones":        strs(u.BusinessPhones),
		"accountEnabled":        u.AccountEnabled,
		"userType":              u.UserType,
		"assignedLicenses":      licences,
		"createdDateTime":       u.CreatedAt.UTC().Format(time.RFC3339),
		"onPremisesSyncEnabled": nil,
		"preferredLanguage":     nil,
		"mailNickname":          nick,
		"usageLocation":         nullable(u.UsageLocation),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// userSelect is the user $select of q, Graph's default properties when there is none, or the
// error Graph answers for a property it cannot select.
func (g *graphCall) userSelect(q url.Values) (string, *graphResult) {
	sel := q.Get("$select")
	if sel == "" {
		sel = userDefaults
	}
	return sel, g.checkUserSelect(sel)
}

// withUser calls read with the live user id names (an object ID or UPN) under the World's read
// lock, and answers Graph's 404 when there is none.
func (g *graphCall) withUser(id string, read func(u *User)) *graphResult {
	w := g.s.World
	w.mu.RLock()
	u := g.lookupUser(id)
	if u != nil {
		read(u)
	}
	w.mu.RUnlock()
	if u == nil {
		return g.userNotFound(id)
	}
	return nil
}

func (g *graphCall) listUsers(path string, q url.Values) *graphResult {
	sel, bad := g.userSelect(q)
	if bad != nil {
		return bad
	}
	if q.Get("$filter") != "" {
		return g.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "The fake Graph does not support $filter on users.")
	}
	q.Set("$select", sel)
	w := g.s.World
	w.mu.RLock()
	users := g.tenant.ActiveUsers()
	items := make([]map[string]any, 0, len(users))
	for _, u := range users {
		items = append(items, userJSON(u))
	}
	w.mu.RUnlock()
	return g.collection(path, q, "users("+sel+")", items, graphDefaultPage, graphMaxUsersTop)
}

// usersDelta serves /users/delta: a full round paged with skip tokens that ends in a deltaLink
// recording the tenant's change number, and change rounds replaying the World's changes since.
func (g *graphCall) usersDelta(q url.Values) *graphResult {
	const path = "/users/delta"
	gen := g.generation()
	var tok pageToken
	switch {
	case q.Get("$deltatoken") != "":
		t, bad := g.decodeToken(q.Get("$deltatoken"))
		if bad != nil {
			return bad
		}
		tok = pageToken{Tenant: g.tenant.ID, Phase: "changes", Seq: t.Seq, Upto: g.tenant.Seq(), Select: t.Select, Gen: gen}
	case q.Get("$skiptoken") != "":
		t, bad := g.decodeToken(q.Get("$skiptoken"))
		if bad != nil {
			return bad
		}
		tok = t
	default:
		sel, bad := g.userSelect(q)
		if bad != nil {
			return bad
		}
		tok = pageToken{Tenant: g.tenant.ID, Phase: "full", Upto: g.tenant.Seq(), Select: sel, Gen: gen}
	}
	w := g.s.World
	w.mu.RLock()
	var src []*User
	if tok.Phase == "full" {
		src = g.tenant.ActiveUsers()
	} else {
		for _, u := range g.tenant.ChangedSince(tok.Seq) {
			if u.Seq <= tok.Upto && tracked(u, tok.Seq, tok.Select) {
				src = append(src, u)
			}
		}
	}
	end := min(tok.Off+graphDefaultPage, len(src))
	items := make([]map[string]any, 0, end-min(tok.Off, end))
	for _, u := range src[min(tok.Off, end):end] {
		if u.Deleted {
			reason := "changed"
			if g.s.isPurged(g.tenant.ID, u.ID) {
				reason = "deleted"
			}
			items = append(items, map[string]any{"id": u.ID, "@removed": map[string]string{"reason": reason}})
			continue
		}
		items = append(items, userJSON(u))
	}
	w.mu.RUnlock()
	items = project(items, tok.Select)
	body := map[string]any{"@odata.context": g.context("users(" + tok.Select + ")"), "value": items}
	if end < len(src) {
		next := tok
		next.Off = end
		body["@odata.nextLink"] = g.base() + path + "?$skiptoken=" + encodeToken(next)
	} else {
		body["@odata.deltaLink"] = g.base() + path + "?$deltatoken=" + encodeToken(pageToken{Tenant: g.tenant.ID, Seq: tok.Upto, Select: tok.Select, Gen: gen})
	}
	g.pagingFaults(path, q, body)
	return g.ok(http.StatusOK, body)
}

// userFieldProperty names the user property a World field is served as, where the two differ.
var userFieldProperty = map[string]string{"ID": "id", "Licenses": "assignedLicenses", "CreatedAt": "createdDateTime"}

// tracked reports whether a change round that started at change number since reports u: Graph
// tracks only the $selected properties, so a user is reported when it was added or deleted
// (or restored) since, or when a property of sel changed. Fields that are no directory
// property (the mailbox type, MFA registration) are not tracked by any round.
func tracked(u *User, since int64, sel string) bool {
	if u.AddedSeq > since || u.Changed["Deleted"] > since {
		return true
	}
	keep := map[string]bool{}
	for _, f := range strings.Split(sel, ",") {
		keep[strings.TrimSpace(f)] = true
	}
	for field, seq := range u.Changed {
		if seq <= since {
			continue
		}
		prop, ok := userFieldProperty[field]
		if !ok {
			prop = strings.ToLower(field[:1]) + field[1:]
		}
		if keep[prop] && userProperties[prop] {
			return true
		}
		if field == "UserPrincipalName" && keep["mailNickname"] {
			return true
		}
	}
	return false
}

func (g *graphCall) userNotFound(id string) *graphResult {
	return g.fail(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// lookupUser finds a live user by ID or UPN; the caller holds the World's lock.
func (g *graphCall) lookupUser(id string) *User {
	u := g.tenant.User(id)
	if u == nil || u.Deleted {
		return nil
	}
	return u
}

func (g *graphCall) getUser(id string, q url.Values) *graphResult {
	sel, bad := g.userSelect(q)
	if bad != nil {
		return bad
	}
	var m map[string]any
	if res := g.withUser(id, func(u *User) { m = userJSON(u) }); res != nil {
		return res
	}
	m = project([]map[string]any{m}, sel)[0]
	m["@odata.context"] = g.context("users(" + sel + ")/$entity")
	return g.ok(http.StatusOK, m)
}

// patchUser applies accountEnabled and passwordProfile; other properties are accepted and ignored.
func (g *graphCall) patchUser(id string, body []byte) *graphResult {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(body, &patch); err != nil {
		return g.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if t, ok := patch["@odata.type"]; ok && string(t) != `"#microsoft.graph.user"` {
		return g.fail(http.StatusBadRequest, "BadRequest", "A type named '"+strings.Trim(string(t), `"`)+"' could not be resolved by the model.")
	}
	var enabled *bool
	if v, ok := patch["accountEnabled"]; ok {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return g.fail(http.StatusBadRequest, "BadRequest", "Invalid value for property 'accountEnabled'.")
		}
		enabled = &b
	}
	if v, ok := patch["passwordProfile"]; ok {
		var pp struct {
			Password                      *string `json:"password"`
			ForceChangePasswordNextSignIn *bool   `json:"forceChangePasswordNextSignIn"`
		}
		if json.Unmarshal(v, &pp) != nil {
			return g.fail(http.StatusBadRequest, "BadRequest", "Invalid value for property 'passwordProfile'.")
		}
		if pp.Password != nil && !complexPassword(*pp.Password) {
			return g.fail(http.StatusBadRequest, "Request_BadRequest",
				"The specified password does not comply with password complexity requirements. Please provide a different password.")
		}
	}
	var uid string
	if res := g.withUser(id, func(u *User) { uid = u.ID }); res != nil {
		return res
	}
	if err := g.s.World.UpdateUser(g.tenant.ID, uid, func(u *User) {
		if enabled != nil {
			u.AccountEnabled = *enabled
		}
	}); err != nil {
		return g.userNotFound(id)
	}
	return &graphResult{status: http.StatusNoContent, headers: map[string]string{"request-id": randomGUID()}}
}

// complexPassword applies Entra ID's rule: 8 to 256 characters, three of four classes.
func complexPassword(p string) bool {
	if len(p) < 8 || len(p) > 256 {
		return false
	}
	var lower, upper, digit, other bool
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			n++
		}
	}
	return n >= 3
}

func (g *graphCall) revoke(id string) *graphResult {
	var uid string
	if res := g.withUser(id, func(u *User) { uid = u.ID }); res != nil {
		return res
	}
	g.s.gmu.Lock()
	if g.s.revocations == nil {
		g.s.revocations = map[string]int{}
	}
	g.s.revocations[strings.ToLower(g.tenant.ID)+"/"+strings.ToLower(uid)]++
	g.s.gmu.Unlock()
	return g.ok(http.StatusOK, map[string]any{"@odata.context": g.context("Edm.Boolean"), "value": true})
}

// purposeOf maps Exchange's RecipientTypeDetails onto mailboxSettings.userPurpose.
func purposeOf(mailboxType string) string {
	switch mailboxType {
	case "UserMailbox":
		return "user"
	case "SharedMailbox":
		return "shared"
	case "RoomMailbox":
		return "room"
	case "EquipmentMailbox":
		return "equipment"
	}
	return "others"
}

func (g *graphCall) mailboxSettings(id string, rest []string) *graphResult {
	var mt, uid string
	if res := g.withUser(id, func(u *User) { mt, uid = u.MailboxType, u.ID }); res != nil {
		return res
	}
	if mt == "" {
		return g.fail(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.")
	}
	purpose := purposeOf(mt)
	switch {
	case len(rest) == 0:
		return g.ok(http.StatusOK, map[string]any{
			"@odata.context": g.context("users('" + uid + "')/mailboxSettings"),
			"timeZone":       "UTC", "dateFormat": "dd/MM/yyyy", "timeFormat": "HH:mm",
			"userPurpose": purpose,
		})
	case len(rest) == 1 && rest[0] == "userPurpose":
		return g.ok(http.StatusOK, map[string]any{"@odata.context": g.context("users('" + uid + "')/mailboxSettings/userPurpose"), "value": purpose})
	}
	return g.fail(http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '"+rest[len(rest)-1]+"'.")
}

// methodTypes maps registration method names onto authentication method types and the
// collection each is deleted from.
var methodTypes = map[string]struct{ odataType, segment string }{
	"password":                           {"#microsoft.graph.passwordAuthenticationMethod", "passwordMethods"},
	"microsoftAuthenticatorPush":         {"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "microsoftAuthenticatorMethods"},
	"microsoftAuthenticatorPasswordless": {"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "microsoftAuthenticatorMethods"},
	"softwareOneTimePasscode":            {"#microsoft.graph.softwareOathAuthenticationMethod", "softwareOathMethods"},
	"mobilePhone":                        {"#microsoft.graph.phoneAuthenticationMethod", "phoneMethods"},
	"fido2":                              {"#microsoft.graph.fido2AuthenticationMethod", "fido2Methods"},
	"windowsHelloForBusiness":            {"#microsoft.graph.windowsHelloForBusinessAuthenticationMethod", "windowsHelloForBusinessMethods"},
	"email":                              {"#microsoft.graph.emailAuthenticationMethod", "emailMethods"},
	"temporaryAccessPass":                {"#microsoft.graph.temporaryAccessPassAuthenticationMethod", "temporaryAccessPassMethods"},
}

func (g *graphCall) listMethods(id string) *graphResult {
	var items []map[string]any
	res := g.withUser(id, func(u *User) {
		ids := make([]string, 0, len(u.Methods))
		for mid := range u.Methods {
			ids = append(ids, mid)
		}
		sort.Strings(ids)
		for _, mid := range ids {
			mt, ok := methodTypes[u.Methods[mid]]
			if !ok {
				continue
			}
			items = append(items, map[string]any{"@odata.type": mt.odataType, "id": mid})
		}
	})
	if res != nil {
		return res
	}
	return g.ok(http.StatusOK, map[string]any{"@odata.context": g.context("users('" + id + "')/authentication/methods"), "value": nonNil(items)})
}

func (g *graphCall) deleteMethod(id, segment, methodID string) *graphResult {
	var uid, kind string
	if res := g.withUser(id, func(u *User) { uid, kind = u.ID, u.Methods[methodID] }); res != nil {
		return res
	}
	mt, ok := methodTypes[kind]
	if kind == "" || !ok || mt.segment != segment {
		return g.fail(http.StatusNotFound, "itemNotFound", "The requested authentication method was not found.")
	}
	if kind == "password" {
		return g.fail(http.StatusBadRequest, "invalidRequest", "The password authentication method cannot be deleted.")
	}
	err := g.s.World.UpdateUser(g.tenant.ID, uid, func(u *User) {
		delete(u.Methods, methodID)
		u.MFAMethods = nil
		for _, m := range u.Methods {
			if m != "password" {
				u.MFAMethods = append(u.MFAMethods, m)
			}
		}
		sort.Strings(u.MFAMethods)
		u.MFARegistered = len(u.MFAMethods) > 0
		u.MFACapable = u.MFARegistered && u.AccountEnabled
	})
	if err != nil {
		// Deleted between the lookup and the update.
		return g.userNotFound(id)
	}
	return &graphResult{status: http.StatusNoContent, headers: map[string]string{"request-id": randomGUID()}}
}

func (g *graphCall) premium() bool {
	g.s.World.mu.RLock()
	defer g.s.World.mu.RUnlock()
	return g.tenant.PremiumP1
}

func (g *graphCall) skus() []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]map[string]any, 0, len(g.tenant.SKUs))
	for _, k := range g.tenant.SKUs {
		status := "Enabled"
		if k.Suspended > 0 && k.Enabled == 0 {
			status = "Suspended"
		}
		out = append(out, map[string]any{
			"accountName":      g.tenant.Name,
			"accountId":        g.tenant.ID,
			"appliesTo":        "User",
			"capabilityStatus": status,
			"consumedUnits":    k.Consumed,
			"id":               g.tenant.ID + "_" + k.ID,
			"prepaidUnits":     map[string]int{"enabled": k.Enabled, "lockedOut": 0, "suspended": k.Suspended, "warning": k.Warning},
			"servicePlans":     servicePlansJSON(k),
			"skuId":            k.ID,
			"skuPartNumber":    k.PartNumber,
			"subscriptionIds":  []string{},
		})
	}
	return out
}

func (g *graphCall) devices(q url.Values) []map[string]any {
	now := time.Now()
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]map[string]any, 0, len(g.tenant.Devices))
	for _, d := range g.tenant.Devices {
		out = append(out, map[string]any{
			"@odata.type":            "#microsoft.graph.managedDevice",
			"id":                     d.ID,
			"userId":                 d.UserID,
			"deviceName":             d.DeviceName,
			"managedDeviceOwnerType": "company",
			"enrolledDateTime":       d.EnrolledDateTime.UTC().Format(time.RFC3339Nano),
			"lastSyncDateTime":       d.LastSyncDateTime.UTC().Format(time.RFC3339Nano),
			"operatingSystem":        d.OperatingSystem,
			"complianceState":        d.ComplianceState,
			"managementAgent":        "mdm",
			"osVersion":              d.OSVersion,
			"userPrincipalName":      d.UserPrincipalName,
			"model":                  d.Model,
			"manufacturer":           d.Manufacturer,
			"serialNumber":           d.SerialNumber,
			"isEncrypted":            true,
		})
		if expands(q, "windowsProtectionState") {
			out[len(out)-1]["windowsProtectionState"] = protectionJSON(d, now)
		}
	}
	return out
}

func (g *graphCall) domains() []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]map[string]any, 0, len(g.tenant.Domains))
	for _, d := range g.tenant.Domains {
		out = append(out, map[string]any{
			"id": d.Name, "authenticationType": "Managed", "availabilityStatus": nil, "isAdminManaged": true,
			"isDefault": d.IsDefault, "isInitial": d.IsInitial, "isRoot": true, "isVerified": d.IsVerified,
			"passwordNotificationWindowInDays": 14, "passwordValidityPeriodInDays": 2147483647,
			"supportedServices": strs(d.Services), "state": nil,
		})
	}
	return out
}

func (g *graphCall) registration() []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	users := g.tenant.ActiveUsers()
	out := make([]map[string]any, 0, len(users))
	for _, u := range users {
		out = append(out, map[string]any{
			"id": u.ID, "userPrincipalName": u.UserPrincipalName, "userDisplayName": u.DisplayName,
			"isAdmin": u.IsAdmin, "isSsprRegistered": false, "isSsprEnabled": false, "isSsprCapable": false,
			"isMfaRegistered": u.MFARegistered, "isMfaCapable": u.MFACapable, "isPasswordlessCapable": false,
			"lastUpdatedDateTime": u.CreatedAt.UTC().Format(time.RFC3339),
			"methodsRegistered":   strs(u.MFAMethods),
			"userType":            strings.ToLower(u.UserType),
		})
	}
	return out
}

func (g *graphCall) caPolicies() []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]map[string]any, 0, len(g.tenant.CAPolicies))
	for _, p := range g.tenant.CAPolicies {
		controls := []string{}
		if p.RequiresMFA {
			controls = append(controls, "mfa")
		}
		out = append(out, map[string]any{
			"id": p.ID, "displayName": p.DisplayName, "state": p.State,
			"createdDateTime": p.CreatedAt.UTC().Format(time.RFC3339), "modifiedDateTime": nil, "sessionControls": nil,
			"conditions": map[string]any{
				"signInRiskLevels": []string{}, "clientAppTypes": []string{"all"}, "platforms": nil, "locations": nil,
				"applications": map[string]any{"includeApplications": []string{"All"}, "excludeApplications": []string{}, "includeUserActions": []string{}},
				"users":        p.caUsers(),
			},
			"grantControls": map[string]any{"operator": "OR", "builtInControls": controls, "customAuthenticationFactors": []string{}, "termsOfUse": []string{}},
		})
	}
	return out
}

func (g *graphCall) securityDefaults() *graphResult {
	w := g.s.World
	w.mu.RLock()
	on := g.tenant.SecurityDefaults
	w.mu.RUnlock()
	return g.ok(http.StatusOK, map[string]any{
		"@odata.context": g.context("policies/identitySecurityDefaultsEnforcementPolicy/$entity"),
		"id":             "00000000-0000-0000-0000-000000000005",
		"displayName":    "Security Defaults",
		"description":    "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
		"isEnabled":      on,
	})
}

func (g *graphCall) secureScores() []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	sc := g.tenant.SecureScore
	if sc.CreatedAt.IsZero() {
		return nil
	}
	day := sc.CreatedAt.UTC().Format("2006-01-02")
	return []map[string]any{{
		"id": g.tenant.ID + "_" + day, "azureTenantId": g.tenant.ID, "activeUserCount": sc.ActiveUser,
		"createdDateTime": sc.CreatedAt.UTC().Format(time.RFC3339), "currentScore": sc.Current, "maxScore": sc.Max,
		"enabledServices": []string{"HasExchange", "HasSharePoint"}, "licensedUserCount": sc.ActiveUser,
		"averageComparativeScores": []any{}, "controlScores": []any{},
		"vendorInformation": map[string]any{"provider": "SecureScore", "providerVersion": nil, "subProvider": nil, "vendor": "Microsoft"},
	}}
}

func (g *graphCall) organization() []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	t := g.tenant
	var verified []map[string]any
	for _, d := range t.Domains {
		if d.IsVerified {
			verified = append(verified, map[string]any{"capabilities": strings.Join(d.Services, ", "), "isDefault": d.IsDefault,
				"isInitial": d.IsInitial, "name": d.Name, "type": "Managed"})
		}
	}
	return []map[string]any{orgJSON(t, verified)}
}

func groupJSON(gr *Group) map[string]any { return graphGroupJSON(gr) }

func (g *graphCall) groups(q url.Values) []map[string]any {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]map[string]any, 0, len(g.tenant.Groups))
	for _, gr := range g.tenant.Groups {
		out = append(out, groupJSON(gr))
	}
	return out
}

// group finds a group; the caller holds the World's lock.
func (g *graphCall) group(id string) *Group {
	for _, gr := range g.tenant.Groups {
		if strings.EqualFold(gr.ID, id) {
			return gr
		}
	}
	return nil
}

func (g *graphCall) getGroup(id string) *graphResult {
	w := g.s.World
	w.mu.RLock()
	gr := g.group(id)
	var m map[string]any
	if gr != nil {
		m = groupJSON(gr)
	}
	w.mu.RUnlock()
	if gr == nil {
		return g.userNotFound(id)
	}
	m["@odata.context"] = g.context("groups/$entity")
	return g.ok(http.StatusOK, m)
}

func (g *graphCall) addMember(groupID string, body []byte) *graphResult {
	var ref struct {
		ID string `json:"@odata.id"`
	}
	if json.Unmarshal(body, &ref) != nil || ref.ID == "" {
		return g.fail(http.StatusBadRequest, "BadRequest", "Invalid request body: an '@odata.id' reference is required.")
	}
	i := strings.LastIndex(ref.ID, "/")
	userID := ref.ID[i+1:]
	w := g.s.World
	w.mu.Lock()
	defer w.mu.Unlock()
	gr := g.group(groupID)
	if gr == nil {
		return g.userNotFound(groupID)
	}
	u := g.lookupUser(userID)
	if u == nil {
		return g.userNotFound(userID)
	}
	if gr.Members[u.ID] {
		return g.fail(http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
	}
	if gr.Members == nil {
		gr.Members = map[string]bool{}
	}
	gr.Members[u.ID] = true
	return &graphResult{status: http.StatusNoContent, headers: map[string]string{"request-id": randomGUID()}}
}

func (g *graphCall) removeMember(groupID, userID string) *graphResult {
	w := g.s.World
	w.mu.Lock()
	defer w.mu.Unlock()
	gr := g.group(groupID)
	if gr == nil {
		return g.userNotFound(groupID)
	}
	if !gr.Members[userID] {
		return g.fail(http.StatusNotFound, "Request_ResourceNotFound", "One or more removed object references do not exist for the following modified properties: 'members'.")
	}
	delete(gr.Members, userID)
	return &graphResult{status: http.StatusNoContent, headers: map[string]string{"request-id": randomGUID()}}
}

// batch serves a JSON $batch (reference §4.2): at most 20 requests with unique IDs, each answered
// with its own status, headers and body; a request whose dependency failed gets 424.
func (g *graphCall) batch(body []byte) *graphResult {
	var in struct {
		Requests []struct {
			ID        string            `json:"id"`
			Method    string            `json:"method"`
			URL       string            `json:"url"`
			Headers   map[string]string `json:"headers"`
			Body      json.RawMessage   `json:"body"`
			DependsOn []string          `json:"dependsOn"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return g.fail(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(in.Requests) == 0 {
		return g.fail(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(in.Requests) > graphMaxBatch {
		return g.fail(http.StatusBadRequest, "BadRequest", "The number of batch requests exceeds the limit of 20.")
	}
	seen := map[string]bool{}
	for _, r := range in.Requests {
		if r.ID == "" || seen[r.ID] {
			return g.fail(http.StatusBadRequest, "BadRequest", "Batch request ids must be unique and non-empty.")
		}
		seen[r.ID] = true
	}
	status := map[string]int{}
	out := make([]map[string]any, 0, len(in.Requests))
	cached := false
	for _, r := range in.Requests {
		var res *graphResult
		for _, d := range r.DependsOn {
			if st, ok := status[d]; !ok || st >= 400 {
				res = g.fail(http.StatusFailedDependency, "BadRequest", "Failed dependency.")
				break
			}
		}
		if res == nil {
			res = g.batchItem(r.Method, r.URL, r.Headers, r.Body)
		}
		status[r.ID] = res.status
		item := map[string]any{"id": r.ID, "status": res.status, "headers": res.headers}
		if res.body != nil {
			item["body"] = res.body
			_, raw := res.body.(json.RawMessage)
			cached = cached || raw
		}
		out = append(out, item)
	}
	if cached {
		return g.ok(http.StatusOK, batchBody(out))
	}
	return g.ok(http.StatusOK, map[string]any{"responses": out})
}

func (g *graphCall) batchItem(method, rawURL string, headers map[string]string, body json.RawMessage) *graphResult {
	if strings.Contains(rawURL, "://") {
		return g.fail(http.StatusBadRequest, "BadRequest", "Batch request URLs must be relative.")
	}
	if !strings.HasPrefix(rawURL, "/") {
		rawURL = "/" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return g.fail(http.StatusBadRequest, "BadRequest", "Invalid request URL.")
	}
	hasBody := len(body) > 0 && string(body) != "null"
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	if hasBody && h.Get("Content-Type") == "" {
		return g.fail(http.StatusBadRequest, "BadRequest", "Content-Type header must be specified for a request with a body.")
	}
	g.rawQuery = u.RawQuery
	return g.serve(strings.ToUpper(method), u.Path, u.Query(), h, body)
}

// GraphResourceAppID is Microsoft Graph's application ID, the same in every tenant: the
// resource of the partner app's Graph application permissions.
const GraphResourceAppID = "00000003-0000-0000-c000-000000000000"

// graphAppPermissions are the Microsoft Graph application permissions (app role values) the
// fake's Microsoft Graph service principal declares. Their IDs are the fake's own, derived from
// the value, not Microsoft's.
var graphAppPermissions = []string{
	"Application.Read.All", "AuditLog.Read.All", "DeviceManagementManagedDevices.Read.All", "DeviceManagementServiceConfig.Read.All",
	"Directory.Read.All", "Domain.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All",
	"MailboxSettings.Read", "Organization.Read.All", "Policy.Read.All", "Reports.Read.All",
	"SecurityEvents.Read.All", "User-PasswordProfile.ReadWrite.All", "User.Read.All",
	"User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All",
}

// DefaultAppPermissions returns the Microsoft Graph application permissions admin consent
// granted the partner app in a consented tenant unless GraphGrantAppPermissions says otherwise:
// every permission the fake's Graph declares.
func DefaultAppPermissions() []string { return append([]string(nil), graphAppPermissions...) }

// GraphGrantAppPermissions sets the Microsoft Graph application permissions admin consent
// granted the partner app in the tenant, as its service principal's app role assignments
// report them (GET /servicePrincipals/{id}/appRoleAssignments). No permissions means none.
func (s *Server) GraphGrantAppPermissions(tenantID string, perms ...string) {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if s.appGrants == nil {
		s.appGrants = map[string][]string{}
	}
	s.appGrants[strings.ToLower(tenantID)] = append([]string{}, perms...)
}

func (s *Server) appPermissions(tenantID string) []string {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if p, ok := s.appGrants[strings.ToLower(tenantID)]; ok {
		return append([]string(nil), p...)
	}
	return DefaultAppPermissions()
}

// stableGUID is a GUID-shaped ID derived from parts, so one object keeps its ID across calls.
func stableGUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var b [16]byte
	copy(b[:], sum[:16])
	return formatGUID(b)
}

func (g *graphCall) servicePrincipalID(appID string) string {
	return stableGUID("servicePrincipal", strings.ToLower(g.tenant.ID), strings.ToLower(appID))
}

func appRoleID(value string) string { return stableGUID("graphAppRole", value) }

// partnerAppConsented reports whether the partner app has a service principal in the tenant.
func (g *graphCall) partnerAppConsented() bool {
	w := g.s.World
	w.mu.RLock()
	defer w.mu.RUnlock()
	return g.tenant.Consented
}

func (g *graphCall) partnerAppName() string {
	if app := g.s.App(g.s.PartnerApp().ClientID); app != nil {
		return app.DisplayName
	}
	return ""
}

// mayReadApplications is whether the caller may read service principals: a partner user through
// its GDAP roles (checked by checkRoles), an app-only caller with Application.Read.All or
// Directory.Read.All consented.
func (g *graphCall) mayReadApplications() bool {
	if g.claims.UserID != "" {
		return true
	}
	for _, p := range g.s.appPermissions(g.tenant.ID) {
		switch p {
		case "Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All":
			return true
		}
	}
	return false
}

// servicePrincipals serves GET /servicePrincipals?$filter=appId eq '<appId>', the one filter
// the fake understands: the partner app's service principal (in a consented tenant) and
// Microsoft Graph's, with the app roles it declares.
func (g *graphCall) servicePrincipals(path string, q url.Values) *graphResult {
	if !g.mayReadApplications() {
		return g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	f := strings.TrimSpace(q.Get("$filter"))
	rest, ok := strings.CutPrefix(strings.ToLower(f), "appid eq '")
	appID, ok2 := strings.CutSuffix(rest, "'")
	if !ok || !ok2 || f == "" {
		return g.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query.")
	}
	var items []map[string]any
	partner := g.s.PartnerApp()
	switch {
	case strings.EqualFold(appID, partner.ClientID) && g.partnerAppConsented():
		items = append(items, map[string]any{"id": g.servicePrincipalID(partner.ClientID), "appId": partner.ClientID,
			"displayName": g.partnerAppName(), "servicePrincipalType": "Application", "accountEnabled": true, "appRoles": []any{}})
	case appID == GraphResourceAppID:
		declared := map[string]bool{}
		var roles []map[string]any
		for _, v := range append(DefaultAppPermissions(), g.s.appPermissions(g.tenant.ID)...) {
			if declared[v] {
				continue
			}
			declared[v] = true
			roles = append(roles, map[string]any{"allowedMemberTypes": []string{"Application"}, "id": appRoleID(v),
				"displayName": v, "description": v, "isEnabled": true, "origin": "Application", "value": v})
		}
		items = append(items, map[string]any{"id": g.servicePrincipalID(GraphResourceAppID), "appId": GraphResourceAppID,
			"displayName": "Microsoft Graph", "servicePrincipalType": "Application", "accountEnabled": true, "appRoles": roles})
	}
	return g.collection(path, q, "servicePrincipals", items, graphDefaultPage, graphMaxTop)
}

// appRoleAssignments serves GET /servicePrincipals/{id}/appRoleAssignments: the Microsoft Graph
// application permissions granted to the partner app's service principal.
func (g *graphCall) appRoleAssignments(path, spID string, q url.Values) *graphResult {
	if !g.mayReadApplications() {
		return g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	partner := g.s.PartnerApp()
	own := g.servicePrincipalID(partner.ClientID)
	if !strings.EqualFold(spID, own) || !g.partnerAppConsented() {
		return g.fail(http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", spID))
	}
	perms := g.s.appPermissions(g.tenant.ID)
	sort.Strings(perms)
	items := make([]map[string]any, 0, len(perms))
	for _, v := range perms {
		items = append(items, map[string]any{"id": stableGUID("appRoleAssignment", own, v), "appRoleId": appRoleID(v),
			"createdDateTime": "2024-01-01T00:00:00Z", "deletedDateTime": nil, "principalDisplayName": g.partnerAppName(),
			"principalId": own, "principalType": "ServicePrincipal", "resourceDisplayName": "Microsoft Graph",
			"resourceId": g.servicePrincipalID(GraphResourceAppID)})
	}
	return g.collection(path, q, "servicePrincipals('"+spID+"')/appRoleAssignments", items, graphDefaultPage, graphMaxTop)
}

// batchBody writes a $batch answer whose items hold cached pages (Options.PageCache) as bytes:
// the pages were valid JSON when rendered, so they are copied rather than parsed again.
func batchBody(items []map[string]any) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteString(`{"responses":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		body, hasBody := it["body"]
		delete(it, "body")
		head, _ := json.Marshal(it)
		if !hasBody {
			buf.Write(head)
			continue
		}
		buf.Write(head[:len(head)-1])
		buf.WriteString(`,"body":`)
		if raw, ok := body.(json.RawMessage); ok {
			buf.Write(raw)
		} else {
			b, _ := json.Marshal(body)
			buf.Write(b)
		}
		buf.WriteByte('}')
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}
