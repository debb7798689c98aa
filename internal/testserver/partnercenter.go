package testserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenantsync/tenantsync/internal/ids"
)

// pcState is the Partner Center fake's own state.
type pcState struct {
	pcConsentMu   sync.Mutex
	pcConsentLogs []ConsentRecord

	// pcLimit is Partner Center's documented customer rate limit: 500 requests per minute per
	// partner tenant.
	pcLimitOnce sync.Once
	pcLimit     *rate.Limiter
}

// PartnerCenterRateLimit is the fake's Partner Center request rate per partner, per minute.
const PartnerCenterRateLimit = 500

// pcAllow takes one request from the rate limit, returning the wait when it is spent.
func (s *Server) pcAllow() (ok bool, wait time.Duration) {
	s.pcLimitOnce.Do(func() {
		s.pcLimit = rate.NewLimiter(rate.Limit(PartnerCenterRateLimit)/60, PartnerCenterRateLimit)
	})
	r := s.pcLimit.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d
	}
	return true, 0
}

// ConsentRecord is one application consent the Partner Center fake accepted.
type ConsentRecord struct {
	CustomerID    string
	ApplicationID string
	Grants        []ConsentGrant
	UserID        string // the partner user who granted it
}

// ConsentGrant is one applicationGrants entry.
type ConsentGrant struct {
	EnterpriseApplicationID string `json:"enterpriseApplicationId"`
	Scope                   string `json:"scope"`
}

// ThrottlePartnerCenter makes the next n Partner Center requests fail with 429, Partner Center's
// {statusCode, message} body and Retry-After in whole seconds (0 sends none), through the fault
// injector. It returns the function that removes the fault early.
func (s *Server) ThrottlePartnerCenter(n int, retryAfter time.Duration) (remove func()) {
	f := Fault{Service: ServicePartnerCenter, Kind: Throttle, Count: n}
	if secs := int(math.Ceil(retryAfter.Seconds())); secs > 0 {
		f.RetryAfter = strconv.Itoa(secs)
	}
	return s.InjectFault(f)
}

// Consents returns the application consents the Partner Center fake has accepted, in order.
func (s *Server) Consents() []ConsentRecord {
	s.pcConsentMu.Lock()
	defer s.pcConsentMu.Unlock()
	return append([]ConsentRecord(nil), s.pcConsentLogs...)
}

// Partner Center error codes the fake uses; from the Partner Center REST error table where it
// has one, else reconstructed.
const (
	pcCodeInvalidInput   = 2000   // "Tenant Id must be a GUID." and other validation failures
	pcCodeAccessDenied   = 2032   // 403 access denied
	pcCodeTenantNotFound = 60003  // 404 tenant not found
	pcCodeNotFound       = 1000   // 404 not found
	pcCodeTokenMissing   = 800001 // 401 partner token missing
	pcCodeUnauthorized   = 400    // 401 access denied
	pcCodeConsentExists  = 2010   // 409 (reconstructed)
)

func (s *Server) partnerCenterHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/customers", s.pcListCustomers)
	mux.HandleFunc("GET /v1/customers/{id}", s.pcGetCustomer)
	mux.HandleFunc("POST /v1/customers/{id}/applicationconsents", s.pcGrantConsent)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writePCError(w, r, http.StatusNotFound, pcCodeNotFound, "The requested resource was not found.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pcHeaders(w, r)
		c, err := s.verifyBearer(r, AudiencePartnerCenter)
		if err != nil {
			code := pcCodeUnauthorized
			if errors.Is(err, errTokenMissing) {
				code = pcCodeTokenMissing
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="urn:cpsvc:cpid:`+s.World.partnerTenantID()+`"`)
			writePCError(w, r, http.StatusUnauthorized, code, "Unauthorized: "+pcAuthReason(err))
			return
		}
		if ok, wait := s.pcAllow(); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writePCThrottle(w, r, secs)
			return
		}
		if !strings.EqualFold(c.TenantID, s.World.partnerTenantID()) {
			writePCError(w, r, http.StatusForbidden, pcCodeAccessDenied, "Access denied: the token was not issued in the partner tenant.")
			return
		}
		mux.ServeHTTP(w, r.WithContext(withPCClaims(r.Context(), c)))
	})
}

// pcAuthReason words a token failure without echoing the token.
func pcAuthReason(err error) string {
	for _, e := range []error{errTokenMissing, errTokenExpired, errTokenAudience, errTokenSignature, errTokenMalformed} {
		if errors.Is(err, e) {
			return e.Error() + "."
		}
	}
	return "the token is not valid."
}

func (s *Server) pcTenant(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/customers/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return strings.ToLower(id)
}

func customerJSON(t *Tenant, detail bool) map[string]any {
	c := map[string]any{
		"id":         t.ID,
		"commerceId": commerceID(t.ID),
		"companyProfile": map[string]any{
			"tenantId":    t.ID,
			"domain":      t.InitialDomain,
			"companyName": t.Name,
			"attributes":  map[string]string{"objectType": "CustomerCompanyProfile"},
		},
		"relationshipToPartner": "reseller",
		"attributes":            map[string]string{"objectType": "Customer"},
	}
	if detail {
		c["allowDelegatedAccess"] = true
		c["links"] = map[string]any{"self": map[string]any{"uri": "/customers/" + t.ID, "method": "GET", "headers": []any{}}}
	}
	return c
}

// commerceID derives a stable commerce ID from the tenant ID.
func commerceID(id string) string {
	var b [16]byte
	for i := range b {
		b[i] = id[(i*7)%len(id)] ^ byte(i*31)
	}
	return formatGUID(b)
}

// continuation tokens look like Partner Center's (comma-separated parts with base64 in them) and
// carry the offset of the next page.
func pcToken(offset int) string {
	return randomGUID() + "," + base64.StdEncoding.EncodeToString([]byte("pc/offset="+strconv.Itoa(offset))) + ",seek"
}

func pcTokenOffset(tok string) (int, bool) {
	parts := strings.Split(tok, ",")
	if len(parts) != 3 || parts[2] != "seek" {
		return 0, false
	}
	b, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "pc/offset="))
	if err != nil || n < 0 || !strings.HasPrefix(string(b), "pc/offset=") {
		return 0, false
	}
	return n, true
}

func (s *Server) pcListCustomers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, err := strconv.Atoi(q.Get("size"))
	if err != nil || size < 1 || size > 500 {
		writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "The size parameter is required and must be between 1 and 500.")
		return
	}
	offset := 0
	if q.Has("seekOperation") || r.Header.Get("MS-ContinuationToken") != "" {
		if !strings.EqualFold(q.Get("seekOperation"), "Next") {
			writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "The seek operation must be Next when a continuation token is sent.")
			return
		}
		n, ok := pcTokenOffset(r.Header.Get("MS-ContinuationToken"))
		if !ok {
			writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "The continuation token is missing or invalid.")
			return
		}
		offset = n
	}
	world := s.World
	world.mu.RLock()
	var all []*Tenant
	for _, t := range world.Tenants {
		if t.InPartnerCenter {
			all = append(all, t)
		}
	}
	end := min(offset+size, len(all))
	items := make([]map[string]any, 0, max(0, end-offset))
	for _, t := range all[min(offset, len(all)):end] {
		items = append(items, customerJSON(t, false))
	}
	world.mu.RUnlock()
	self := "/v1/customers?size=" + strconv.Itoa(size)
	links := map[string]any{"self": map[string]any{"uri": self, "method": "GET", "headers": []any{}}}
	body := map[string]any{
		"totalCount": len(items),
		"items":      items,
		"links":      links,
		"attributes": map[string]string{"objectType": "Collection"},
	}
	if end < len(all) {
		tok := pcToken(end)
		body["continuationToken"] = tok
		links["next"] = map[string]any{
			"uri":     self + "&seekOperation=Next",
			"method":  "GET",
			"headers": []map[string]string{{"key": "MS-ContinuationToken", "value": tok}},
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// pcCustomer resolves the {id} of a customer path, answering 400 or 404 itself.
func (s *Server) pcCustomer(w http.ResponseWriter, r *http.Request) *Tenant {
	id := r.PathValue("id")
	if !ids.IsGUID(id) {
		writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "Tenant Id must be a GUID.")
		return nil
	}
	t := s.World.Tenant(id)
	if t == nil {
		writePCError(w, r, http.StatusNotFound, pcCodeTenantNotFound, "Tenant not found.")
		return nil
	}
	s.World.mu.RLock()
	in := t.InPartnerCenter
	s.World.mu.RUnlock()
	if !in {
		writePCError(w, r, http.StatusNotFound, pcCodeTenantNotFound, "Tenant not found.")
		return nil
	}
	return t
}

func (s *Server) pcGetCustomer(w http.ResponseWriter, r *http.Request) {
	t := s.pcCustomer(w, r)
	if t == nil {
		return
	}
	s.World.mu.RLock()
	body := customerJSON(t, true)
	s.World.mu.RUnlock()
	writeJSON(w, http.StatusOK, body)
}

// consentRoles are the GDAP roles Partner Center requires of the partner user to consent an app
// in a customer: Global Administrator, Privileged Role Administrator, Cloud Application Administrator.
var consentRoles = []string{roleGlobalAdministrator, rolePrivilegedRoleAdministrator, roleCloudApplicationAdministrator}

func (s *Server) pcGrantConsent(w http.ResponseWriter, r *http.Request) {
	c := pcClaims(r.Context())
	if c == nil || c.UserID == "" {
		writePCError(w, r, http.StatusForbidden, pcCodeAccessDenied, "Access denied: application consent requires an App+User token of a partner user.")
		return
	}
	t := s.pcCustomer(w, r)
	if t == nil {
		return
	}
	var body struct {
		ApplicationID     string         `json:"applicationId"`
		DisplayName       string         `json:"displayName"`
		ApplicationGrants []ConsentGrant `json:"applicationGrants"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(raw, &body) != nil {
		writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "The request body is not valid JSON.")
		return
	}
	if !ids.IsGUID(body.ApplicationID) || len(body.ApplicationGrants) == 0 {
		writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "applicationId must be a GUID and applicationGrants must not be empty.")
		return
	}
	for _, g := range body.ApplicationGrants {
		if !ids.IsGUID(g.EnterpriseApplicationID) || strings.TrimSpace(g.Scope) == "" {
			writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput, "Each application grant needs an enterpriseApplicationId GUID and a scope.")
			return
		}
	}
	app := s.App(body.ApplicationID)
	if app == nil || !app.MultiTenant {
		writePCError(w, r, http.StatusBadRequest, pcCodeInvalidInput,
			fmt.Sprintf("Application %s was not found or is not a multi-tenant application of the partner.", body.ApplicationID))
		return
	}
	world := s.World
	world.mu.Lock()
	if t.RoleAccess(time.Now(), consentRoles...) != RoleEffective {
		world.mu.Unlock()
		writePCError(w, r, http.StatusForbidden, pcCodeAccessDenied,
			"Access denied: the partner user needs a GDAP role of Global Administrator, Privileged Role Administrator or Cloud Application Administrator in this customer.")
		return
	}
	already := t.Consented
	t.Consented = true
	world.mu.Unlock()
	if already {
		writePCError(w, r, http.StatusConflict, pcCodeConsentExists,
			fmt.Sprintf("Permission entry already exists for application %s.", body.ApplicationID))
		return
	}
	s.pcConsentMu.Lock()
	s.pcConsentLogs = append(s.pcConsentLogs, ConsentRecord{CustomerID: t.ID, ApplicationID: body.ApplicationID,
		Grants: body.ApplicationGrants, UserID: c.UserID})
	s.pcConsentMu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"applicationId": body.ApplicationID, "displayName": body.DisplayName, "applicationGrants": body.ApplicationGrants,
	})
}

type pcClaimsKey struct{}

func withPCClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, pcClaimsKey{}, c)
}

func pcClaims(ctx context.Context) *Claims {
	c, _ := ctx.Value(pcClaimsKey{}).(*Claims)
	return c
}
