package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cippToken signs a token for a CIPP API client, as the fake Entra ID issues it.
func cippToken(s *Server, c Credentials) string {
	tok, _ := s.signToken(Claims{Audience: "api://" + c.ClientID, TenantID: c.TenantID, AppID: c.ClientID})
	return tok
}

// cippDo calls the fake CIPP, with body as JSON when it is not nil, and returns status, content
// type and body.
func cippDo(t *testing.T, s *Server, method, path, token string, body any) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	var header map[string]string
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
		header = map[string]string{"Content-Type": "application/json"}
	}
	status, h, b := send(t, s, method, s.CIPPURL()+path, token, header, rd)
	return status, h.Get("Content-Type"), b
}

func cippManaged(t *testing.T, s *Server) *Tenant {
	t.Helper()
	for _, tn := range s.World.Tenants {
		if tn.InCIPP && !tn.CIPPStale && len(tn.ActiveUsers()) > 0 {
			return tn
		}
	}
	t.Fatal("no managed tenant")
	return nil
}

func TestCIPPBearerCheck(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 4})
	admin := s.CIPPCredentials()
	other := s.NewCIPPClient("readonly")
	graph, _ := s.signToken(Claims{Audience: AudienceGraph, TenantID: admin.TenantID, AppID: admin.ClientID})
	v2, _ := s.signToken(Claims{Audience: admin.ClientID, TenantID: admin.TenantID, AppID: admin.ClientID})
	crossed, _ := s.signToken(Claims{Audience: "api://" + other.ClientID, TenantID: admin.TenantID, AppID: admin.ClientID})
	customer, _ := s.signToken(Claims{Audience: "api://" + admin.ClientID, TenantID: cippManaged(t, s).ID, AppID: admin.ClientID})
	unknown, _ := s.signToken(Claims{Audience: "api://0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b", TenantID: admin.TenantID, AppID: "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"})
	for name, tok := range map[string]string{"none": "", "garbage": "a.b.c", "graph audience": graph, "v2 audience": v2,
		"another client's audience": crossed, "customer tenant": customer, "unknown client": unknown} {
		status, _, body := cippDo(t, s, http.MethodGet, "/api/ListTenants", tok, nil)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Empty(t, body, "%s: EasyAuth's 401 has no body", name)
	}
	status, ctype, _ := cippDo(t, s, http.MethodGet, "/api/ListTenants", cippToken(s, admin), nil)
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, strings.HasPrefix(ctype, "application/json"))
	status, _, _ = cippDo(t, s, http.MethodGet, "/notapi/ListTenants", cippToken(s, admin), nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestCIPPRoles(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 4})
	tn := cippManaged(t, s)
	clients := map[string]Credentials{"readonly": s.NewCIPPClient("readonly"), "editor": s.NewCIPPClient("editor"), "admin": s.CIPPCredentials(), "": s.NewCIPPClient("")}
	for endpoint, perm := range CIPPPermissions {
		for role, creds := range clients {
			status, ctype, body := cippDo(t, s, http.MethodPost, "/api/"+endpoint, cippToken(s, creds), map[string]any{"tenantFilter": "nobody.example", "Enable": true, "MustChange": true})
			write := strings.HasSuffix(perm, ".ReadWrite")
			switch {
			case role == "":
				assert.Equal(t, http.StatusForbidden, status)
				assert.Equal(t, "Access to this CIPP API endpoint is not allowed, the user does not have the required permission", string(body))
			case role == "readonly" && write:
				assert.Equal(t, http.StatusForbidden, status, endpoint)
				assert.Equal(t, "Access to this CIPP API endpoint is not allowed, the 'readonly' base role does not have the required permission: "+perm, string(body))
				assert.True(t, strings.HasPrefix(ctype, "text/plain"))
			default:
				assert.NotEqual(t, http.StatusForbidden, status, "%s as %s: %s", endpoint, role, body)
			}
		}
	}
	// /api/me answers everyone, roleless included.
	status, _, body := cippDo(t, s, http.MethodGet, "/api/me", cippToken(s, clients[""]), nil)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"clientPrincipal":{"appId":"`+clients[""].ClientID+`","appRole":["cipp-api"]},"permissions":[]}`, string(body))
	_, _, body = cippDo(t, s, http.MethodGet, "/api/ME", cippToken(s, clients["readonly"]), nil)
	var me struct {
		ClientPrincipal struct{ AppRole []string } `json:"clientPrincipal"`
		Permissions     []string                   `json:"permissions"`
	}
	require.NoError(t, json.Unmarshal(body, &me))
	assert.Nil(t, me.ClientPrincipal.AppRole)
	assert.Contains(t, me.Permissions, "Identity.User.Read")
	assert.NotContains(t, me.Permissions, "Identity.User.ReadWrite")
	assert.NotNil(t, tn)
}

func TestPSLike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, p string
		want bool
	}{
		{"Identity.User.Read", "*.Read", true}, {"Identity.User.ReadWrite", "*.Read", false}, {"CIPP.Admin.Read", "CIPP.Admin.*", true},
		{"anything", "*", true}, {"a.b", "A.B", true}, {"a.b", "a.c", false}, {"abc", "a*c", true}, {"ac", "a*b*c", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, psLike(tt.s, tt.p), "%s -like %s", tt.s, tt.p)
	}
	assert.False(t, cippRoleAllows("editor", "Tenant.Standards.ReadWrite"))
	assert.False(t, cippRoleAllows("admin", "CIPP.SuperAdmin.ReadWrite"))
	assert.True(t, cippRoleAllows("superadmin", "CIPP.SuperAdmin.ReadWrite"))
	assert.False(t, cippRoleAllows("nonsense", "Identity.User.Read"))
}

func TestCIPPTenantList(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 5, Tenants: 8})
	tok := cippToken(s, s.CIPPCredentials())
	var stale *Tenant
	managed := 0
	for _, tn := range s.World.Tenants {
		if tn.CIPPStale {
			stale = tn
		}
		if tn.InCIPP && !tn.CIPPStale {
			managed++
		}
	}
	require.NotNil(t, stale)
	rows := func(path string) []map[string]any {
		status, _, body := cippDo(t, s, http.MethodGet, path, tok, nil)
		require.Equal(t, http.StatusOK, status)
		var out []map[string]any
		require.NoError(t, json.Unmarshal(body, &out))
		return out
	}
	list := rows("/api/listtenants")
	require.Len(t, list, managed)
	for i := 1; i < len(list); i++ {
		assert.LessOrEqual(t, strings.ToLower(list[i-1]["displayName"].(string)), strings.ToLower(list[i]["displayName"].(string)), "sorted by displayName")
	}
	sel := rows("/api/ListTenants?AllTenantSelector=true")
	assert.Equal(t, "AllTenants", sel[0]["customerId"])
	assert.Empty(t, rows("/api/ListTenants?TenantFilter="+stale.DefaultDomain), "stale: not in the cache")
	assert.Len(t, rows("/api/ListTenants?TriggerRefresh=true"), managed, "the refresh runs in the background")
	assert.Len(t, rows("/api/ListTenants"), managed+1, "and shows on the next call")
	assert.Len(t, rows("/api/ListTenants?TenantFilter="+stale.ID), 1)

	s.ServeCIPPRecorded(true)
	assert.Len(t, rows("/api/ListTenants"), managed+2)
	assert.Empty(t, s.cippTenant(httptestRequest("/api/ListUsers")))
	assert.Equal(t, CIPPRecordedTenantID, s.cippTenant(httptestRequest("/api/ListUsers?tenantFilter=contoso.com")))
	assert.Equal(t, stale.ID, s.cippTenant(httptestRequest("/api/ListUsers?TenantFilter="+url.QueryEscape(stale.InitialDomain))))
	r := httptestRequest("/api/ExecDisableUser")
	r.Body = io.NopCloser(strings.NewReader(`{"tenantFilter":"` + stale.DefaultDomain + `"}`))
	assert.Equal(t, stale.ID, s.cippTenant(r))
	b, _ := io.ReadAll(r.Body)
	assert.Contains(t, string(b), stale.DefaultDomain, "the body is still there for the handler")
}

func httptestRequest(target string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://cipp.invalid"+target, nil)
	return r
}

func TestCIPPUnmanagedTenantAnswers(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 4})
	tok := cippToken(s, s.CIPPCredentials())
	for _, ep := range []string{"ListUsers", "ListMailboxes", "ListDevices", "ListDomains", "ListLicenses", "ListMFAUsers"} {
		status, _, body := cippDo(t, s, http.MethodGet, "/api/"+ep+"?tenantFilter=nobody.example", tok, nil)
		assert.Equal(t, http.StatusOK, status, ep)
		assert.Equal(t, "[]", string(body), ep)
	}
	status, _, body := cippDo(t, s, http.MethodGet, "/api/ListConditionalAccessPolicies?tenantFilter=nobody.example", tok, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"Results":[],"Metadata":null}`, string(body))
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListUsers?tenantFilter=AllTenants", tok, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), "deprecated")
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListGraphRequest?tenantFilter=x.example&Endpoint=users&nextLink="+url.QueryEscape("https://evil.example/x"), tok, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "Graph Error: Invalid nextLink URL: https://evil.example/x - Endpoint: users", string(body))
	tn := cippManaged(t, s)
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListGraphRequest?tenantFilter="+tn.DefaultDomain+"&Endpoint=groups/x/members", tok, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "Graph Error: Resource not found for the segment 'groups'. - Endpoint: groups/x/members", string(body))
	status, _, _ = cippDo(t, s, http.MethodPost, "/api/ExecResetMFA", tok, map[string]any{"tenantFilter": "nobody.example", "ID": "x"})
	assert.Equal(t, http.StatusInternalServerError, status)
	status, _, body = cippDo(t, s, http.MethodPost, "/api/EditGroup", tok, map[string]any{"tenantFilter": "nobody.example", "groupId": "g"})
	assert.Equal(t, http.StatusOK, status, "EditGroup always answers 200")
	assert.Contains(t, string(body), "Error - Graph request denied")
	status, _, body = cippDo(t, s, http.MethodPost, "/api/ExecDisableUser", tok, map[string]any{"tenantFilter": tn.ID, "ID": "x"})
	assert.Equal(t, http.StatusInternalServerError, status, "Enable is required")
	assert.Contains(t, string(body), "ToBoolean")
	status, _, _ = cippDo(t, s, http.MethodPost, "/api/ExecResetPass", tok, map[string]any{"tenantFilter": tn.ID, "ID": "x"})
	assert.Equal(t, http.StatusInternalServerError, status, "MustChange is required")
}

func TestCIPPBodyNeedsJSONContentType(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 4})
	tn := cippManaged(t, s)
	u := tn.ActiveUsers()[0]
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.CIPPURL()+"/api/ExecDisableUser",
		strings.NewReader(`{"tenantFilter":"`+tn.ID+`","ID":"`+u.ID+`","Enable":false}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+cippToken(s, s.CIPPCredentials()))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := s.HTTPClient().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "with text/plain every body field reads as null")
}

// TestCIPPDropTenant: a tenant CIPP drops while clients have it cached answers as an unmanaged
// one until a tenant refresh brings it back.
func TestCIPPDropTenant(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 6})
	tok := cippToken(s, s.CIPPCredentials())
	tn := cippManaged(t, s)
	get := func(path string) (int, string) {
		status, _, body := cippDo(t, s, http.MethodGet, path, tok, nil)
		return status, string(body)
	}
	listed := func() bool {
		_, body := get("/api/ListTenants")
		return strings.Contains(body, tn.ID)
	}
	require.True(t, listed())
	for _, restore := range []string{"TriggerRefresh", "ClearCache", "undrop"} {
		s.DropCIPPTenant(tn.ID, true)
		assert.False(t, listed(), restore)
		status, body := get("/api/ListUsers?tenantFilter=" + tn.DefaultDomain)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "[]", body, "CIPP's answer for a tenant it does not manage")
		status, body = get("/api/ListGraphRequest?Endpoint=users&tenantFilter=" + tn.DefaultDomain)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, "the tenant is not in CIPP's tenant list")
		assert.Positive(t, s.Requests(ServiceCIPP, tn.ID), "requests still count under the tenant")
		switch restore {
		case "TriggerRefresh":
			get("/api/ListTenants?TriggerRefresh=true")
		case "ClearCache":
			status, _, _ := cippDo(t, s, http.MethodPost, "/api/ListTenants", tok, map[string]any{"ClearCache": true, "TenantsOnly": true})
			require.Equal(t, http.StatusOK, status)
		default:
			s.DropCIPPTenant(tn.ID, false)
		}
		assert.True(t, listed(), restore)
		_, body = get("/api/ListUsers?tenantFilter=" + tn.DefaultDomain)
		assert.NotEqual(t, "[]", body, restore)
	}
	s.DropCIPPTenant("0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b", true) // unknown: nothing happens
}

// TestCIPPAnswerFaults: the CIPP answer faults answer each endpoint in its own shape.
func TestCIPPAnswerFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     FaultKind
		message  string
		path     string
		status   int
		ctype    string
		wantJSON string // exact body, when set
		contains string
	}{
		{"licences loading", CIPPNotReady, "", "/api/ListLicenses", 200, "application/json",
			`[{"License":"Loading data for all tenants. Please check back in 1 minute","Tenant":"Loading data for all tenants. Please check back in 1 minute"}]`, ""},
		{"MFA loading", CIPPNotReady, "", "/api/ListMFAUsers", 200, "application/json",
			`[{"UPN":"Loading data for all tenants. Please check back in a few minutes"}]`, ""},
		{"users still processing", CIPPNotReady, "", "/api/ListUsers", 200, "application/json",
			`[{"Results":"Data still processing, please wait","Tenant":"%s"}]`, ""},
		{"graph queued", CIPPNotReady, "", "/api/ListGraphRequest", 200, "application/json", "", `"Queued":true`},
		{"CA policies queued", CIPPNotReady, "", "/api/ListConditionalAccessPolicies", 200, "application/json", "", `"QueueMessage":"Loading data for all tenants. Please check back after the job completes"`},
		{"message override", CIPPNotReady, "Data still processing, please wait", "/api/ListMFAUsers", 200, "application/json",
			`[{"UPN":"Data still processing, please wait"}]`, ""},
		{"403 text", CIPPForbidden, "", "/api/ListLicenses", 403, "text/plain", "",
			"Access to this CIPP API endpoint is not allowed, you do not have the required permission: Tenant.Directory.Read"},
		{"403 tenant", CIPPForbidden, "Access to this tenant is not allowed", "/api/ListUsers", 403, "text/plain", "", "Access to this tenant is not allowed"},
		{"200 failed", CIPPResultsFailed, "", "/api/ListDevices", 200, "application/json",
			`{"Results":"Failed to retrieve data for %s: The request timed out."}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewT(t, Options{Seed: 3, Tenants: 4})
			tn := cippManaged(t, s)
			s.InjectFault(Fault{Service: ServiceCIPP, Tenant: tn.ID, Path: tt.path, Kind: tt.kind, Message: tt.message})
			tok := cippToken(s, s.CIPPCredentials())
			status, ctype, body := cippDo(t, s, http.MethodGet, tt.path+"?Endpoint=users&tenantFilter="+tn.DefaultDomain, tok, nil)
			assert.Equal(t, tt.status, status)
			assert.True(t, strings.HasPrefix(ctype, tt.ctype), ctype)
			if tt.wantJSON != "" {
				want := tt.wantJSON
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, tn.DefaultDomain)
				}
				assert.JSONEq(t, want, string(body))
			}
			assert.Contains(t, string(body), tt.contains)
			assert.Equal(t, 1, s.FaultCounts()[tt.kind])

			// Other tenants and endpoints are served normally.
			status, _, _ = cippDo(t, s, http.MethodGet, "/api/ListDomains?tenantFilter="+tn.DefaultDomain, tok, nil)
			assert.Equal(t, http.StatusOK, status)
		})
	}
}
