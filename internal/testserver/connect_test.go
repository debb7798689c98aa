package testserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testRedirect = "https://psa.example/cb"

// authorizeOnce runs /authorize with a PKCE challenge of verifier and returns the redirect's query.
func authorizeOnce(t *testing.T, s *Server, base, verifier string, edit func(url.Values)) url.Values {
	t.Helper()
	app := s.PartnerApp()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {app.ClientID}, "response_type": {"code"}, "redirect_uri": {testRedirect}, "state": {"st"},
		"scope":          {"openid offline_access https://api.partnercenter.microsoft.com/user_impersonation"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	if edit != nil {
		edit(q)
	}
	hc := s.CloudHTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(base + "/" + app.TenantID + "/oauth2/v2.0/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "st", loc.Query().Get("state"))
	return loc.Query()
}

func postCodeToken(t *testing.T, s *Server, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	app := s.PartnerApp()
	form.Set("client_id", app.ClientID)
	form.Set("client_secret", app.Secret)
	resp, err := s.CloudHTTPClient().PostForm(base+"/"+app.TenantID+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestAuthorizationCodeIsOneTimeAndBoundToItsVerifier(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 2, Tenants: 2, MinUsers: 1, MaxUsers: 2})
	verifier := strings.Repeat("v", 43)
	cb := authorizeOnce(t, s, s.EntraURL(), verifier, nil)
	redeem := func(code, v, redirect string) (int, map[string]any) {
		return postCodeToken(t, s, s.EntraURL(), url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v},
			"redirect_uri": {redirect}, "scope": {"openid offline_access https://api.partnercenter.microsoft.com/user_impersonation"}})
	}
	status, body := redeem(cb.Get("code"), strings.Repeat("w", 43), testRedirect)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body["error_description"], "AADSTS501481")

	cb = authorizeOnce(t, s, s.EntraURL(), verifier, nil)
	status, body = redeem(cb.Get("code"), verifier, "https://psa.example/other")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body["error_description"], "AADSTS50011")

	cb = authorizeOnce(t, s, s.EntraURL(), verifier, nil)
	status, body = redeem(cb.Get("code"), verifier, testRedirect)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.NotEmpty(t, body["refresh_token"])
	assert.NotEmpty(t, body["id_token"])
	status, body = redeem(cb.Get("code"), verifier, testRedirect)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body["error_description"], "AADSTS54005", "a code redeems once")

	// Without offline_access no refresh token comes back, as from Entra ID.
	cb = authorizeOnce(t, s, s.EntraURL(), verifier, func(q url.Values) {
		q.Set("scope", "openid https://api.partnercenter.microsoft.com/user_impersonation")
	})
	status, body = redeem(cb.Get("code"), verifier, testRedirect)
	require.Equal(t, http.StatusOK, status)
	assert.Nil(t, body["refresh_token"])

	// No PKCE: refused with a redirect that says so.
	cb = authorizeOnce(t, s, s.EntraURL(), verifier, func(q url.Values) { q.Del("code_challenge") })
	assert.Equal(t, "invalid_request", cb.Get("error"))
}

func TestCloudHostsAnswerAsTheirCloud(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 2, Tenants: 2, MinUsers: 6, MaxUsers: 8})
	tn := s.World.Tenants[0]
	s.SetConsent(tn.ID, true)
	app := s.PartnerApp()
	appToken := func(login, scope string) (int, string) {
		resp, err := s.CloudHTTPClient().PostForm("https://"+login+"/"+tn.ID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {scope}})
		require.NoError(t, err)
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body.AccessToken
	}
	get := func(u, tok string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.CloudHTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	s.ResetRequestLog()
	status, high := appToken("login.microsoftonline.us", "https://graph.microsoft.us/.default")
	require.Equal(t, http.StatusOK, status)
	status, body := get("https://graph.microsoft.us/v1.0/users?$top=2", high)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var page struct {
		Next string `json:"@odata.nextLink"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	assert.True(t, strings.HasPrefix(page.Next, "https://graph.microsoft.us/v1.0/users"), "nextLink on the host asked: %s", page.Next)
	status, _ = get(page.Next, high)
	assert.Equal(t, http.StatusOK, status)

	status, _ = get(s.GraphURL()+"/v1.0/users?$top=2", high)
	assert.Equal(t, http.StatusUnauthorized, status, "a GCC High token does not open the global Graph")
	_, global := appToken("login.microsoftonline.com", "https://graph.microsoft.com/.default")
	status, _ = get("https://graph.microsoft.us/v1.0/users?$top=2", global)
	assert.Equal(t, http.StatusUnauthorized, status, "nor a global token GCC High's")
	status, _ = appToken("login.microsoftonline.us", "https://graph.microsoft.com/.default")
	assert.Equal(t, http.StatusBadRequest, status, "the US authority has no global Graph")

	status, china := appToken("login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default")
	require.Equal(t, http.StatusOK, status)
	status, _ = get("https://microsoftgraph.chinacloudapi.cn/v1.0/users?$top=2", china)
	assert.Equal(t, http.StatusOK, status)

	hosts := map[string]bool{}
	for _, r := range s.RequestLog() {
		hosts[r.Host] = true
	}
	assert.True(t, hosts["graph.microsoft.us"] && hosts["login.microsoftonline.us"] && hosts["microsoftgraph.chinacloudapi.cn"])
	s.ResetRequestLog()
	assert.Empty(t, s.RequestLog())
}

// GCC High and DoD share the US Government authority, each with its own Graph.
func TestUSGovernmentAuthorityServesGCCHighAndDoD(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 2, Tenants: 1, MinUsers: 2, MaxUsers: 3})
	app := s.PartnerApp()
	for scope, want := range map[string]int{
		"https://graph.microsoft.us/.default":              http.StatusOK,
		"https://dod-graph.microsoft.us/.default":          http.StatusOK,
		"https://microsoftgraph.chinacloudapi.cn/.default": http.StatusBadRequest,
	} {
		resp, err := s.CloudHTTPClient().PostForm("https://login.microsoftonline.us/"+app.TenantID+"/oauth2/v2.0/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {scope}})
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, scope)
	}
}
