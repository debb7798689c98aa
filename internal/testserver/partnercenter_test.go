package testserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pcTestToken(s *Server, user string, audience string) string {
	tok, _ := s.signToken(Claims{Audience: audience, TenantID: s.World.PartnerTenantID, AppID: s.PartnerApp().ClientID, UserID: user})
	return tok
}

func pcDo(t *testing.T, s *Server, method, path, token string, header map[string]string, body string) (int, http.Header, map[string]any) {
	t.Helper()
	status, h, b := send(t, s, method, s.PartnerCenterURL()+path, token, header, strings.NewReader(body))
	return status, h, jsonObject(t, b)
}

func TestPartnerCenterEndpoints(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 4, Tenants: 5, MinUsers: 1, MaxUsers: 2})
	user := pcTestToken(s, s.PartnerUserID(), AudiencePartnerCenter)
	app := pcTestToken(s, "", AudiencePartnerCenter)

	status, h, body := pcDo(t, s, http.MethodGet, "/v1/customers?size=2", user, map[string]string{"MS-RequestId": "rid-1"}, "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "rid-1", h.Get("MS-RequestId"), "the request ID is echoed")
	assert.Equal(t, "Collection", body["attributes"].(map[string]any)["objectType"])
	next := body["links"].(map[string]any)["next"].(map[string]any)
	tok := next["headers"].([]any)[0].(map[string]any)["value"].(string)
	assert.Equal(t, body["continuationToken"], tok)
	assert.Equal(t, "/v1/customers?size=2&seekOperation=Next", next["uri"])

	status, _, body = pcDo(t, s, http.MethodGet, "/v1/customers?size=2&seekOperation=Next", app, map[string]string{"MS-ContinuationToken": tok}, "")
	require.Equal(t, http.StatusOK, status, "app-only tokens may list customers")
	assert.Len(t, body["items"], 2)

	for _, tt := range []struct {
		method, path, token string
		header              map[string]string
		body                string
		status              int
		code                float64
	}{
		{"GET", "/v1/customers", user, nil, "", 400, 2000},
		{"GET", "/v1/customers?size=501", user, nil, "", 400, 2000},
		{"GET", "/v1/customers?size=2&seekOperation=Next", user, nil, "", 400, 2000},
		{"GET", "/v1/customers?size=2&seekOperation=Next", user, map[string]string{"MS-ContinuationToken": "a,b,c"}, "", 400, 2000},
		{"GET", "/v1/customers?size=2&seekOperation=Previous", user, map[string]string{"MS-ContinuationToken": tok}, "", 400, 2000},
		{"GET", "/v1/customers/not-a-guid", user, nil, "", 400, 2000},
		{"GET", "/v1/customers/0f0f0f0f-0000-4000-8000-000000000000", user, nil, "", 404, 60003},
		{"GET", "/v1/invoices", user, nil, "", 404, 1000},
		{"GET", "/v1/customers?size=2", "", nil, "", 401, 800001},
		{"GET", "/v1/customers?size=2", pcTestToken(s, "", AudienceGraph), nil, "", 401, 400},
		{"POST", "/v1/customers/" + s.World.Tenants[0].ID + "/applicationconsents", app, nil, `{}`, 403, 2032},
		{"POST", "/v1/customers/" + s.World.Tenants[0].ID + "/applicationconsents", user, nil, `{`, 400, 2000},
		{"POST", "/v1/customers/" + s.World.Tenants[0].ID + "/applicationconsents", user, nil, `{"applicationId":"x","applicationGrants":[]}`, 400, 2000},
		{"POST", "/v1/customers/" + s.World.Tenants[0].ID + "/applicationconsents", user, nil,
			`{"applicationId":"` + s.PartnerApp().ClientID + `","applicationGrants":[{"enterpriseApplicationId":"x","scope":""}]}`, 400, 2000},
		{"POST", "/v1/customers/" + s.World.Tenants[4].ID + "/applicationconsents", user, nil,
			`{"applicationId":"` + s.PartnerApp().ClientID + `","applicationGrants":[{"enterpriseApplicationId":"00000003-0000-0000-c000-000000000000","scope":"User.Read.All"}]}`, 403, 2032},
	} {
		status, h, body := pcDo(t, s, tt.method, tt.path, tt.token, tt.header, tt.body)
		assert.Equal(t, tt.status, status, "%s %s", tt.method, tt.path)
		assert.Equal(t, tt.code, body["code"], "%s %s", tt.method, tt.path)
		assert.NotEmpty(t, body["description"])
		assert.NotEmpty(t, h.Get("MS-RequestId"))
	}

	s.ThrottlePartnerCenter(1, 0)
	status, _, body = pcDo(t, s, http.MethodGet, "/v1/customers?size=2", user, nil, "")
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, float64(429), body["statusCode"])
}

func TestPartnerCenterRateLimit(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 4, Tenants: 2, MinUsers: 1, MaxUsers: 2})
	user := pcTestToken(s, s.PartnerUserID(), AudiencePartnerCenter)
	for range PartnerCenterRateLimit {
		ok, _ := s.pcAllow()
		require.True(t, ok)
	}
	status, h, body := pcDo(t, s, http.MethodGet, "/v1/customers?size=2", user, nil, "")
	assert.Equal(t, http.StatusTooManyRequests, status, "the 501st request within a minute is throttled")
	assert.NotEmpty(t, h.Get("Retry-After"))
	assert.Contains(t, body["message"], "Rate limit is exceeded")
}
