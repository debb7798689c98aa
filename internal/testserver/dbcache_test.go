package testserver

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCIPPListDBCacheShapes(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 5, Tenants: 4})
	tok := cippToken(s, s.CIPPCredentials())
	refresh := time.Date(2026, 8, 8, 3, 12, 0, 0, time.UTC)
	s.SetCIPPReportRefresh(refresh)
	tn := cippManaged(t, s)

	status, _, body := cippDo(t, s, http.MethodGet, "/api/ListDBCache?type=Users", tok, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.JSONEq(t, `{"Results":"Error: tenantFilter query parameter is required"}`, string(body))
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListDBCache?tenantFilter=AllTenants", tok, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, string(body), `"AvailableTypes"`)
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListDBCache?tenantFilter=nobody.example&type=Users", tok, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.JSONEq(t, `{"Results":"Tenant 'nobody.example' not found"}`, string(body))

	var counts struct {
		Results []struct {
			Tenant, Type, LastRefresh string
			Count                     int
		}
	}
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListDBCache?tenantFilter=AllTenants&countsOnly=true", tok, nil)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &counts))
	found := 0
	for _, r := range counts.Results {
		assert.Equal(t, refresh.Format(time.RFC3339), r.LastRefresh)
		if r.Tenant == tn.DefaultDomain && r.Type == "Users" {
			found++
			assert.Equal(t, len(tn.ActiveUsers()), r.Count)
		}
	}
	assert.Equal(t, 1, found)

	var rows struct{ Results []map[string]any }
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListDBCache?tenantFilter=AllTenants&type=Users", tok, nil)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &rows))
	n := 0
	for _, r := range rows.Results {
		require.NotEmpty(t, r["Tenant"], "every AllTenants row names its tenant")
		if r["Tenant"] == tn.DefaultDomain {
			n++
			assert.NotEmpty(t, r["userPrincipalName"])
		}
	}
	assert.Equal(t, len(tn.ActiveUsers()), n)

	s.DropCIPPReportType(tn.ID, "Users", true)
	status, _, body = cippDo(t, s, http.MethodGet, "/api/ListDBCache?tenantFilter=AllTenants&type=Users&countsOnly=true", tok, nil)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, string(body), `"`+tn.DefaultDomain+`"`)

	s.SetCIPPBeforeDBCache(true)
	status, _, _ = cippDo(t, s, http.MethodGet, "/api/ListDBCache?tenantFilter=AllTenants&countsOnly=true", tok, nil)
	assert.Equal(t, http.StatusBadRequest, status, "instances before v10.1")
}
