package testserver

import (
	"bytes"
	"compress/gzip"
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

// appGraphToken gets an app-only Graph token for tenant from the fake's own token endpoint.
func appGraphToken(t *testing.T, s *Server, tenant string) string {
	t.Helper()
	app := s.PartnerApp()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	resp, err := s.HTTPClient().PostForm(s.EntraURL()+"/"+tenant+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotEmpty(t, body.AccessToken)
	return body.AccessToken
}

type graphReply struct {
	status int
	header http.Header
	body   map[string]any
}

func graphDo(t *testing.T, s *Server, token, method, path string, body []byte, gz bool) graphReply {
	t.Helper()
	header := map[string]string{"client-request-id": "c0ffee00-0000-0000-0000-000000000001"}
	var rd io.Reader
	if body != nil {
		header["Content-Type"] = "application/json"
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			require.NoError(t, zw.Close())
			body = buf.Bytes()
			header["Content-Encoding"] = "gzip"
		}
		rd = bytes.NewReader(body)
	}
	status, h, data := send(t, s, method, s.GraphURL()+path, token, header, rd)
	r := graphReply{status: status, header: h}
	if len(data) > 0 {
		r.body = jsonObject(t, data)
	}
	return r
}

func errorCode(r graphReply) string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestGraphShapes(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 2, Sizes: []int{250}})
	tn := s.World.Tenants[0]
	tok := appGraphToken(t, s, tn.ID)

	t.Run("no token", func(t *testing.T) {
		r := graphDo(t, s, "", "GET", "/v1.0/users", nil, false)
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "InvalidAuthenticationToken", errorCode(r))
		inner := r.body["error"].(map[string]any)["innerError"].(map[string]any)
		assert.Equal(t, r.header.Get("request-id"), inner["request-id"])
		assert.Equal(t, "c0ffee00-0000-0000-0000-000000000001", inner["client-request-id"])
	})
	t.Run("default page and absolute nextLink", func(t *testing.T) {
		r := graphDo(t, s, tok, "GET", "/v1.0/users", nil, false)
		require.Equal(t, 200, r.status)
		assert.Len(t, r.body["value"], 100)
		next, _ := r.body["@odata.nextLink"].(string)
		assert.True(t, strings.HasPrefix(next, s.GraphURL()+"/v1.0/users?"), next)
		assert.Contains(t, r.body["@odata.context"], "$metadata#users")
		u := r.body["value"].([]any)[0].(map[string]any)
		assert.Contains(t, u, "businessPhones", "default properties")
		assert.NotContains(t, u, "accountEnabled", "not a default property")
	})
	t.Run("top cap", func(t *testing.T) {
		r := graphDo(t, s, tok, "GET", "/v1.0/users?$top=999&$select=id,accountEnabled", nil, false)
		require.Equal(t, 200, r.status)
		assert.Len(t, r.body["value"], len(tn.ActiveUsers()))
		r = graphDo(t, s, tok, "GET", "/v1.0/users?$top=1000", nil, false)
		assert.Equal(t, 400, r.status)
		r = graphDo(t, s, tok, "GET", "/v1.0/users?$select=id,mailboxSettings", nil, false)
		assert.Equal(t, 501, r.status)
	})
	t.Run("gzip PATCH", func(t *testing.T) {
		u := tn.ActiveUsers()[0]
		r := graphDo(t, s, tok, "PATCH", "/v1.0/users/"+u.ID, []byte(`{"@odata.type":"#microsoft.graph.user","accountEnabled":false}`), true)
		assert.Equal(t, 204, r.status)
		assert.NotEmpty(t, r.header.Get("request-id"))
		r = graphDo(t, s, tok, "GET", "/v1.0/users/"+u.ID+"?$select=id,accountEnabled", nil, false)
		assert.Equal(t, false, r.body["accountEnabled"])
		assert.Equal(t, 1, s.GraphGzipBodies())
	})
	t.Run("batch limits", func(t *testing.T) {
		var reqs []string
		for i := range 21 {
			reqs = append(reqs, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/organization"}`, i))
		}
		r := graphDo(t, s, tok, "POST", "/v1.0/$batch", []byte(`{"requests":[`+strings.Join(reqs, ",")+`]}`), false)
		assert.Equal(t, 400, r.status)
		r = graphDo(t, s, tok, "POST", "/v1.0/$batch", []byte(`{"requests":[{"id":"1","method":"GET","url":"/a"},{"id":"1","method":"GET","url":"/b"}]}`), false)
		assert.Equal(t, 400, r.status)
		r = graphDo(t, s, tok, "POST", "/v1.0/$batch", []byte(`{"requests":[
			{"id":"1","method":"PATCH","url":"/users/x","body":{"accountEnabled":true}},
			{"id":"2","method":"GET","url":"users?$top=1","dependsOn":["1"]},
			{"id":"3","method":"GET","url":"https://graph.microsoft.com/v1.0/users"}]}`), false)
		require.Equal(t, 200, r.status)
		items := r.body["responses"].([]any)
		status := map[string]float64{}
		for _, it := range items {
			m := it.(map[string]any)
			status[m["id"].(string)] = m["status"].(float64)
		}
		assert.Equal(t, map[string]float64{"1": 400, "2": 424, "3": 400}, status)
	})
	t.Run("delta with and without parentheses", func(t *testing.T) {
		// msgraph-sdk-go requests users/delta(); Graph answers it as users/delta.
		want := map[string]bool{}
		for _, u := range tn.ActiveUsers() {
			want[u.ID] = true
		}
		for _, path := range []string{"/v1.0/users/delta?$select=id", "/v1.0/users/delta()?$select=id"} {
			got := map[string]bool{}
			r := graphDo(t, s, tok, "GET", path, nil, false)
			for {
				require.Equal(t, 200, r.status, path)
				for _, it := range r.body["value"].([]any) {
					got[it.(map[string]any)["id"].(string)] = true
				}
				next, _ := r.body["@odata.nextLink"].(string)
				if next == "" {
					break
				}
				r = graphDo(t, s, tok, "GET", strings.TrimPrefix(next, s.GraphURL()), nil, false)
			}
			assert.Contains(t, r.body["@odata.deltaLink"], s.GraphURL()+"/v1.0/users/delta?$deltatoken=", path)
			assert.Equal(t, want, got, path)
		}
		assert.Equal(t, 404, graphDo(t, s, tok, "GET", "/v1.0/users/delta(x)", nil, false).status)
	})
	t.Run("delta removed reasons", func(t *testing.T) {
		r := graphDo(t, s, tok, "GET", "/v1.0/users/delta?$select=id,displayName", nil, false)
		for r.body["@odata.deltaLink"] == nil {
			next := r.body["@odata.nextLink"].(string)
			r = graphDo(t, s, tok, "GET", strings.TrimPrefix(next, s.GraphURL()), nil, false)
		}
		delta := r.body["@odata.deltaLink"].(string)
		users := tn.ActiveUsers()
		require.NoError(t, s.World.DeleteUser(tn.ID, users[1].ID))
		require.NoError(t, s.GraphPurgeUser(tn.ID, users[2].ID))
		r = graphDo(t, s, tok, "GET", strings.TrimPrefix(delta, s.GraphURL()), nil, false)
		require.Equal(t, 200, r.status)
		reasons := map[string]string{}
		for _, it := range r.body["value"].([]any) {
			m := it.(map[string]any)
			if rm, ok := m["@removed"].(map[string]any); ok {
				reasons[m["id"].(string)] = rm["reason"].(string)
			}
		}
		assert.Equal(t, map[string]string{users[1].ID: "changed", users[2].ID: "deleted"}, reasons)
		s.GraphExpireDeltaTokens(tn.ID)
		r = graphDo(t, s, tok, "GET", strings.TrimPrefix(delta, s.GraphURL()), nil, false)
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "syncStateNotFound", errorCode(r))
	})
	t.Run("throttle without Retry-After", func(t *testing.T) {
		s.GraphThrottle(tn.ID, "/identity/conditionalAccess", 1, "")
		r := graphDo(t, s, tok, "GET", "/v1.0/identity/conditionalAccess/policies", nil, false)
		assert.Equal(t, 429, r.status)
		assert.Empty(t, r.header.Get("Retry-After"))
		r = graphDo(t, s, tok, "GET", "/v1.0/identity/conditionalAccess/policies", nil, false)
		assert.Equal(t, 200, r.status)
	})
	t.Run("unknown version and route", func(t *testing.T) {
		assert.Equal(t, 404, graphDo(t, s, tok, "GET", "/v2.0/users", nil, false).status)
		assert.Equal(t, 404, graphDo(t, s, tok, "GET", "/v1.0/nothing", nil, false).status)
		assert.Equal(t, 405, graphDo(t, s, tok, "PUT", "/v1.0/domains", []byte(`{}`), false).status)
	})
}

// TestGraphDeltaTracksSelectedProperties: a change round reports a user only when a property
// the round $selected changed (or the user was added or deleted); mailbox types are no
// directory property and no round reports them.
func TestGraphDeltaTracksSelectedProperties(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 5, Tenants: 1, Sizes: []int{30}})
	tn := s.World.Tenants[0]
	tok := appGraphToken(t, s, tn.ID)
	deltaLink := func(sel string) string {
		r := graphDo(t, s, tok, "GET", "/v1.0/users/delta?$select="+sel, nil, false)
		require.Equal(t, 200, r.status)
		link, _ := r.body["@odata.deltaLink"].(string)
		require.NotEmpty(t, link)
		return strings.TrimPrefix(link, s.GraphURL())
	}
	changedIDs := func(link string) []string {
		r := graphDo(t, s, tok, "GET", link, nil, false)
		require.Equal(t, 200, r.status)
		var ids []string
		for _, it := range r.body["value"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		return ids
	}
	narrow, wide := deltaLink("id,mail,proxyAddresses"), deltaLink("id,mail,jobTitle,assignedLicenses")

	users := tn.ActiveUsers()
	retitled, relicensed, remailed, converted, deleted := users[0], users[1], users[2], users[3], users[4]
	require.NoError(t, s.World.UpdateUser(tn.ID, retitled.ID, func(u *User) { u.JobTitle = "Tracked Elsewhere" }))
	require.NoError(t, s.World.UpdateUser(tn.ID, relicensed.ID, func(u *User) { u.Licenses = append(u.Licenses[:0:0], "new-sku") }))
	require.NoError(t, s.World.UpdateUser(tn.ID, remailed.ID, func(u *User) {
		if len(u.ProxyAddresses) == 0 {
			u.ProxyAddresses = []string{"smtp:x@" + tn.DefaultDomain}
		}
		u.ProxyAddresses[0] = "smtp:changed.in.place@" + tn.DefaultDomain
	}))
	require.NoError(t, s.World.UpdateUser(tn.ID, converted.ID, func(u *User) { u.MailboxType = "SharedMailbox" }))
	require.NoError(t, s.World.DeleteUser(tn.ID, deleted.ID))
	added, err := s.World.AddUser(tn.ID, User{UserPrincipalName: "added@" + tn.DefaultDomain, DisplayName: "Added"})
	require.NoError(t, err)

	assert.ElementsMatch(t, []string{remailed.ID, deleted.ID, added.ID}, changedIDs(narrow))
	assert.ElementsMatch(t, []string{retitled.ID, relicensed.ID, deleted.ID, added.ID}, changedIDs(wide))
}
