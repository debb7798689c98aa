package entra

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	tenantA = "0a1b2c3d-0000-4000-8000-00000000000a"
	tenantB = "0a1b2c3d-0000-4000-8000-00000000000b"
	tenantC = "0a1b2c3d-0000-4000-8000-00000000000c"
)

// openIDHost is a login host's OpenID configuration endpoint as a RoundTripper: it answers
// each tenant with answer(tenant) and counts what it was asked.
type openIDHost struct {
	mu     sync.Mutex
	asked  []string
	answer func(tenant string) (int, map[string]any)
}

func (h *openIDHost) RoundTrip(req *http.Request) (*http.Response, error) {
	tenant, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	h.mu.Lock()
	h.asked = append(h.asked, req.URL.Host+" "+tenant)
	h.mu.Unlock()
	status, doc := h.answer(tenant)
	body, _ := json.Marshal(doc)
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(string(body))), Request: req}, nil
}

func (h *openIDHost) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.asked...)
}

// entraAnswer is Entra ID's answer for a tenant on host: its GUID in every URL, and a field
// of its own (its region).
func entraAnswer(host, tid, region string) map[string]any {
	base := "https://" + host + "/" + tid
	return map[string]any{
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"issuer":                 base + "/v2.0",
		"jwks_uri":               base + "/discovery/v2.0/keys",
		"userinfo_endpoint":      "https://graph.microsoft.com/oidc/userinfo",
		"tenant_region_scope":    region,
		"scopes_supported":       []string{"openid", "profile"},
	}
}

func getOpenID(t *testing.T, rt http.RoundTripper, host, tenant string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+host+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	return resp.StatusCode, doc
}

func TestOpenIDTemplateAnswersTheLoginHostsTenants(t *testing.T) {
	t.Parallel()
	const host = "login.microsoftonline.com"
	upstream := &openIDHost{answer: func(tid string) (int, map[string]any) { return 200, entraAnswer(host, tid, "EU") }}
	o := newOpenIDTemplate(upstream, host)

	_, first := getOpenID(t, o, host, tenantA)
	assert.Equal(t, "EU", first["tenant_region_scope"], "a fetched answer reaches MSAL whole")
	status, second := getOpenID(t, o, host, tenantB)
	assert.Equal(t, 200, status)
	_, third := getOpenID(t, o, host, strings.ToUpper(tenantC))

	assert.Equal(t, []string{host + " " + tenantA}, upstream.requests(), "only the first tenant is fetched")
	assert.Equal(t, map[string]any{
		"authorization_endpoint": "https://" + host + "/" + tenantB + "/oauth2/v2.0/authorize",
		"token_endpoint":         "https://" + host + "/" + tenantB + "/oauth2/v2.0/token",
		"issuer":                 "https://" + host + "/" + tenantB + "/v2.0",
		"jwks_uri":               "https://" + host + "/" + tenantB + "/discovery/v2.0/keys",
	}, second, "the URLs under the tenant's path, for this tenant; nothing the first tenant said of itself alone")
	assert.Equal(t, "https://"+host+"/"+tenantC+"/v2.0", third["issuer"], "a GUID in capitals is written in lower case, as Entra ID writes it")
	served, active := o.stats()
	assert.Equal(t, 2, served)
	assert.True(t, active)
}

func TestOpenIDTemplateFetchesWhatItCannotAssume(t *testing.T) {
	t.Parallel()
	const host = "login.microsoftonline.com"
	cases := []struct {
		name string
		// configured is the authority host the token source was given.
		configured string
		answer     func(tid string) (int, map[string]any)
		// asks are the tenants asked for, in order, on the configured host unless "host tenant".
		asks []string
		// fetched are the requests that reached the host.
		fetched []string
	}{
		{name: "a custom authority whose answer names the login host",
			configured: "login.contoso-proxy.example",
			answer:     func(tid string) (int, map[string]any) { return 200, entraAnswer(host, tid, "EU") },
			asks:       []string{tenantA, tenantB},
			fetched:    []string{"login.contoso-proxy.example " + tenantA, "login.contoso-proxy.example " + tenantB}},
		{name: "another host than the configured one",
			configured: host,
			answer:     func(tid string) (int, map[string]any) { return 200, entraAnswer("login.partner.example", tid, "EU") },
			asks:       []string{"login.partner.example " + tenantA, "login.partner.example " + tenantB},
			fetched:    []string{"login.partner.example " + tenantA, "login.partner.example " + tenantB}},
		{name: "a tenant asked for by domain is answered with its GUID, which the template cannot know",
			configured: host,
			answer: func(tid string) (int, map[string]any) {
				if tid == "contoso.onmicrosoft.com" {
					return 200, entraAnswer(host, tenantC, "NA")
				}
				return 200, entraAnswer(host, tid, "EU")
			},
			asks:    []string{"contoso.onmicrosoft.com", tenantA, tenantB, "contoso.onmicrosoft.com"},
			fetched: []string{host + " contoso.onmicrosoft.com", host + " " + tenantA, host + " contoso.onmicrosoft.com"}},
		{name: "an unknown tenant's error is not learned from",
			configured: host,
			answer: func(tid string) (int, map[string]any) {
				if tid == tenantA {
					return 400, map[string]any{"error": "invalid_tenant", "error_codes": []int{90002}}
				}
				return 200, entraAnswer(host, tid, "EU")
			},
			asks:    []string{tenantA, tenantB, tenantC},
			fetched: []string{host + " " + tenantA, host + " " + tenantB}},
		{name: "a tenant-specific answer that differs from the template turns the template off",
			configured: host,
			answer: func(tid string) (int, map[string]any) {
				if tid == "fabrikam.example" {
					// This tenant's tokens come from elsewhere: the template would have been wrong.
					a := entraAnswer(host, tenantC, "NA")
					a["token_endpoint"] = "https://" + host + "/" + tenantC + "/oauth2/v2.0/token?region=na"
					return 200, a
				}
				return 200, entraAnswer(host, tid, "EU")
			},
			asks:    []string{tenantA, tenantB, "fabrikam.example", tenantB, tenantC},
			fetched: []string{host + " " + tenantA, host + " fabrikam.example", host + " " + tenantB, host + " " + tenantC}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			upstream := &openIDHost{answer: tc.answer}
			o := newOpenIDTemplate(upstream, tc.configured)
			for _, a := range tc.asks {
				h, tenant, ok := strings.Cut(a, " ")
				if !ok {
					h, tenant = tc.configured, a
				}
				status, doc := getOpenID(t, o, h, tenant)
				if status == 200 {
					assert.NotEmpty(t, doc["token_endpoint"])
				}
			}
			assert.Equal(t, tc.fetched, upstream.requests())
		})
	}
}

func TestOpenIDTemplatePassesOtherRequestsOn(t *testing.T) {
	t.Parallel()
	const host = "login.microsoftonline.com"
	upstream := &openIDHost{answer: func(tid string) (int, map[string]any) { return 200, entraAnswer(host, tid, "EU") }}
	o := newOpenIDTemplate(upstream, host)
	getOpenID(t, o, host, tenantA)
	for _, target := range []string{
		"https://" + host + "/" + tenantB + "/oauth2/v2.0/token",
		"https://" + host + "/" + tenantB + "/v2.0/.well-known/openid-configuration?appid=1",
		"http://" + host + "/" + tenantB + "/v2.0/.well-known/openid-configuration",
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
		require.NoError(t, err)
		resp, err := o.RoundTrip(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	assert.Len(t, upstream.requests(), 4, "only a GET over https of the configuration itself is templated")
}

// The tenants a sync starts at once wait for the first tenant's answer instead of each
// fetching its own in the same instant.
func TestOpenIDTemplateTenantsAskingAtOnceWaitForTheFirstAnswer(t *testing.T) {
	t.Parallel()
	const host = "login.microsoftonline.com"
	release := make(chan struct{})
	upstream := &openIDHost{answer: func(tid string) (int, map[string]any) {
		<-release
		return 200, entraAnswer(host, tid, "EU")
	}}
	o := newOpenIDTemplate(upstream, host)
	var wg sync.WaitGroup
	issuers := make([]any, 8)
	for i := range issuers {
		wg.Go(func() {
			// Not getOpenID: require may not stop the test from another goroutine.
			tid := fmt.Sprintf("0a1b2c3d-0000-4000-8000-0000000001%02d", i)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+host+"/"+tid+"/v2.0/.well-known/openid-configuration", nil)
			if !assert.NoError(t, err) {
				return
			}
			resp, err := o.RoundTrip(req)
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			var doc map[string]any
			assert.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
			issuers[i] = doc["issuer"]
		})
	}
	// Every tenant has asked before the first answer comes.
	for range 500 {
		if len(upstream.requests()) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	assert.Len(t, upstream.requests(), 1, "one tenant fetched, the others templated: %v", upstream.requests())
	for i, iss := range issuers {
		assert.Equal(t, fmt.Sprintf("https://%s/0a1b2c3d-0000-4000-8000-0000000001%02d/v2.0", host, i), iss)
	}
}
