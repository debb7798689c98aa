package testserver

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateRelationshipsScenarios(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 1, Tenants: 8, MinUsers: 1, MaxUsers: 2})
	now := time.Now()
	ts := w.Tenants
	reads := []string{roleDirectoryReaders}

	require.Len(t, ts[0].Relationships, 2)
	assert.True(t, strings.HasPrefix(ts[0].Relationships[1].DisplayName, "MLT_"), "an MLT_ relationship beside the partner's own")
	assert.Equal(t, RoleEffective, ts[0].RoleAccess(now, roleExchangeAdministrator))

	require.Len(t, ts[1].Relationships, 2, "two relationships to merge")
	assert.Equal(t, RoleAbsent, ts[1].RoleAccess(now, roleExchangeAdministrator, roleIntuneAdministrator))
	assert.Equal(t, RoleEffective, ts[1].RoleAccess(now, roleGroupsAdministrator))

	assert.Equal(t, RolePropagating, ts[2].RoleAccess(now, reads...), "recently granted")
	assert.Equal(t, RoleEffective, ts[2].RoleAccess(now.Add(RolePropagationDelay), reads...))

	r3 := ts[3].Relationships[0]
	assert.Less(t, time.Until(r3.EndAt), 30*24*time.Hour, "expiring within 30 days")
	assert.Equal(t, "PT0S", r3.AutoExtend)
	assert.True(t, ts[3].HasActiveRelationship(now))

	assert.Equal(t, "expired", ts[4].Relationships[0].Status)
	assert.False(t, ts[4].HasActiveRelationship(now))
	assert.Equal(t, RoleAbsent, ts[4].RoleAccess(now, reads...))
	assert.Len(t, ts[5].Relationships, 2)
	assert.Equal(t, "approvalPending", ts[6].Relationships[0].Status)
	assert.True(t, ts[6].Relationships[0].ActivatedAt.IsZero())

	again := Generate(Options{Seed: 1, Tenants: 8, MinUsers: 1, MaxUsers: 2})
	for i := range ts {
		for j, r := range ts[i].Relationships {
			assert.Equal(t, r.ID, again.Tenants[i].Relationships[j].ID, "relationship IDs come from the seed")
			assert.Len(t, r.ID, 73, "GDAP relationship IDs are <guid>-<guid>")
		}
	}
}

// graphToken mints a token the fake accepts, without a trip to the token endpoint.
func graphToken(s *Server, tenant, user string) string {
	tok, _ := s.signToken(Claims{Audience: AudienceGraph, TenantID: tenant, AppID: s.PartnerApp().ClientID, UserID: user})
	return tok
}

func gdapGet(t *testing.T, s *Server, rawURL, token string) (int, http.Header, map[string]any) {
	t.Helper()
	status, h, b := send(t, s, http.MethodGet, rawURL, token, nil, nil)
	return status, h, jsonObject(t, b)
}

func TestGDAPEndpoints(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 2, Tenants: 6, MinUsers: 1, MaxUsers: 2})
	partner := s.World.PartnerTenantID
	tok := graphToken(s, partner, s.PartnerUserID())
	base := s.GraphURL() + "/v1.0/tenantRelationships/delegatedAdminRelationships"
	total := 0
	for _, tn := range s.World.Tenants {
		total += len(tn.Relationships)
	}

	var seen []string
	next := base + "?$top=3"
	for next != "" {
		status, h, body := gdapGet(t, s, next, tok)
		require.Equal(t, http.StatusOK, status, body)
		assert.NotEmpty(t, h.Get("request-id"))
		for _, v := range body["value"].([]any) {
			item := v.(map[string]any)
			seen = append(seen, item["id"].(string))
			assert.Contains(t, item, "accessDetails")
			assert.Equal(t, "#microsoft.graph.delegatedAdminRelationship", item["@odata.type"])
		}
		next, _ = body["@odata.nextLink"].(string)
		if next != "" {
			assert.True(t, strings.HasPrefix(next, s.GraphURL()+"/v1.0/"), "absolute nextLink on the fake's own host")
		}
	}
	assert.Len(t, seen, total)

	status, _, body := gdapGet(t, s, base+"?$filter="+strings.ReplaceAll("status eq 'expired'", " ", "%20"), tok)
	require.Equal(t, http.StatusOK, status)
	for _, v := range body["value"].([]any) {
		assert.Equal(t, "expired", v.(map[string]any)["status"])
	}

	status, _, body = gdapGet(t, s, base+"/"+seen[0], tok)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, seen[0], body["id"])

	status, _, body = gdapGet(t, s, s.GraphURL()+"/beta/tenantRelationships/delegatedAdminCustomers?$top=2", tok)
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, body["value"], 2)
	assert.Contains(t, body, "@odata.nextLink")

	for _, tt := range []struct {
		url, token string
		status     int
		code       string
	}{
		{base + "?$top=301", tok, 400, "BadRequest"},
		{base + "?$top=x", tok, 400, "BadRequest"},
		{base + "?$skiptoken=bogus", tok, 400, "BadRequest"},
		{base + "?$filter=displayName%20eq%20'x'", tok, 400, "BadRequest"},
		{base + "/nope", tok, 404, "Request_ResourceNotFound"},
		{s.GraphURL() + "/v1.0/tenantRelationships/other", tok, 400, "BadRequest"},
		{base, "", 401, "InvalidAuthenticationToken"},
		{base, "not.a.token", 401, "InvalidAuthenticationToken"},
		{base, graphToken(s, s.World.Tenants[0].ID, ""), 403, "Authorization_RequestDenied"},
	} {
		status, _, body := gdapGet(t, s, tt.url, tt.token)
		assert.Equal(t, tt.status, status, tt.url)
		assert.Equal(t, tt.code, body["error"].(map[string]any)["code"], tt.url)
	}
}

func TestPropagateGDAPRoles(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 1, Tenants: 3, MinUsers: 1, MaxUsers: 2})
	recent := s.World.Tenants[2]
	settled := s.World.Tenants[0]
	s.PropagateGDAPRoles()
	status, _, body := gdapGet(t, s, s.GraphURL()+"/v1.0/users?$top=1", graphToken(s, recent.ID, s.PartnerUserID()))
	assert.Equal(t, http.StatusForbidden, status, "a recently granted role is not in force yet")
	assert.Equal(t, "Authorization_RequestDenied", body["error"].(map[string]any)["code"])
	status, _, _ = gdapGet(t, s, s.GraphURL()+"/v1.0/users?$top=1", graphToken(s, settled.ID, s.PartnerUserID()))
	assert.Equal(t, http.StatusOK, status)
}
