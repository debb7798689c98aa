package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// started is a running fakeserver and what it printed.
type started struct {
	out    string
	vals   map[string]string
	client *http.Client
	stop   context.CancelFunc
	done   chan struct{} // closed when run returned
	err    error         // run's result, set before done closes
}

// wait returns run's result once it has returned.
func (s *started) wait() error {
	<-s.done
	return s.err
}

// start runs the command in-process with args and reads its output up to "Ready.".
func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	s := &started{stop: cancel, done: make(chan struct{})}
	go func() {
		s.err = run(ctx, args, pw)
		pw.CloseWithError(io.EOF)
		close(s.done)
	}()
	var b strings.Builder
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Ready.") {
			break
		}
	}
	// Keep draining so the final line does not block the command.
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	s.out = b.String()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	require.Contains(t, s.out, "Ready.", "output:\n%s", s.out)
	s.vals = parseBanner(t, s.out)

	pem, err := os.ReadFile(s.vals["ca"])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem), "the CA file holds a PEM certificate")
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return s
}

var bannerFields = map[string]*regexp.Regexp{
	"ca":             regexp.MustCompile(`(?m)^CA certificate:\s+(\S+)$`),
	"entra":          regexp.MustCompile(`(?m)^Entra ID:\s+(https://\S+)`),
	"cipp":           regexp.MustCompile(`(?m)^CIPP-API:\s+(https://\S+)`),
	"graph":          regexp.MustCompile(`(?m)^Microsoft Graph:\s+(https://\S+)`),
	"pc":             regexp.MustCompile(`(?m)^Partner Center:\s+(https://\S+)`),
	"cipp_tenant":    regexp.MustCompile(`(?s)CIPP API client.*?tenant ID:\s+(\S+)`),
	"cipp_client":    regexp.MustCompile(`(?s)CIPP API client.*?client ID:\s+(\S+)`),
	"cipp_secret":    regexp.MustCompile(`(?s)CIPP API client.*?client secret:\s+(\S+)`),
	"cipp_scope":     regexp.MustCompile(`(?s)CIPP API client.*?scope:\s+(\S+)`),
	"partner_client": regexp.MustCompile(`(?s)Partner app.*?client ID:\s+(\S+)`),
	"partner_secret": regexp.MustCompile(`(?s)Partner app.*?client secret:\s+(\S+)`),
	"refresh":        regexp.MustCompile(`(?s)Partner app.*?refresh token:\s+(\S+)`),
}

func parseBanner(t *testing.T, out string) map[string]string {
	t.Helper()
	vals := map[string]string{}
	for k, re := range bannerFields {
		m := re.FindStringSubmatch(out)
		require.NotNil(t, m, "%s missing from:\n%s", k, out)
		vals[k] = m[1]
	}
	return vals
}

func (s *started) token(t *testing.T, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.vals["entra"]+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestFakeServerPrintsWorkingCredentials(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "fake.env")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	s := start(t, "-seed", "1", "-tenants", "6", "-latency", "0", "-fault-rate", "0", "-ca-file", caFile, "-env-file", envFile)
	assert.Equal(t, caFile, s.vals["ca"])
	assert.Contains(t, s.out, "6 customer tenants")
	assert.Contains(t, s.out, "curl -sS --cacert "+caFile)
	assert.Contains(t, s.out, s.vals["cipp"]+"/api/ListTenants")

	// The printed CIPP credentials get a token for the CIPP API, as the curl line does.
	status, body := s.token(t, s.vals["cipp_tenant"], url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.vals["cipp_client"]},
		"client_secret": {s.vals["cipp_secret"]}, "scope": {s.vals["cipp_scope"]},
	})
	require.Equal(t, http.StatusOK, status, body)
	token, _ := body["access_token"].(string)
	require.NotEmpty(t, token)
	assert.Equal(t, "Bearer", body["token_type"])
	assert.Equal(t, "api://"+s.vals["cipp_client"]+"/.default", s.vals["cipp_scope"])

	// The printed refresh token redeems for the partner tenant and rotates.
	status, body = s.token(t, s.vals["cipp_tenant"], url.Values{
		"grant_type": {"refresh_token"}, "client_id": {s.vals["partner_client"]},
		"client_secret": {s.vals["partner_secret"]}, "refresh_token": {s.vals["refresh"]},
		"scope": {"https://api.partnercenter.microsoft.com/user_impersonation"},
	})
	require.Equal(t, http.StatusOK, status, body)
	assert.NotEqual(t, s.vals["refresh"], body["refresh_token"])

	// ListTenants with the token, over TLS trusting only the printed CA, as the second curl does.
	listTenants := func(bearer string) (int, []map[string]any) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.vals["cipp"]+"/api/ListTenants", nil)
		require.NoError(t, err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := s.client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var tenants []map[string]any
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&tenants))
		}
		return resp.StatusCode, tenants
	}
	status, tenants := listTenants(token)
	require.Equal(t, http.StatusOK, status)
	listed, err := strconv.Atoi(regexp.MustCompile(`\((\d+) listed by CIPP's ListTenants\)`).FindStringSubmatch(s.out)[1])
	require.NoError(t, err)
	require.NotEmpty(t, tenants)
	assert.Equal(t, len(tenants), listed, "the banner counts what ListTenants returns")
	for _, tn := range tenants {
		assert.NotEmpty(t, tn["customerId"])
		assert.NotEmpty(t, tn["defaultDomainName"])
	}
	status, _ = listTenants("")
	assert.Equal(t, http.StatusUnauthorized, status, "no token, no tenants")

	// The Graph example: an app-only token for the printed customer reads its users.
	m := regexp.MustCompile(`Graph for .* \(([0-9a-f-]{36})\), app-only`).FindStringSubmatch(s.out)
	require.NotNil(t, m, s.out)
	status, body = s.token(t, m[1], url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.vals["partner_client"]},
		"client_secret": {s.vals["partner_secret"]}, "scope": {"https://graph.microsoft.com/.default"},
	})
	require.Equal(t, http.StatusOK, status, body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.vals["graph"]+"/v1.0/users?$top=5", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var users struct {
		Value []map[string]any `json:"value"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&users))
	assert.Len(t, users.Value, 5)

	env, err := os.ReadFile(envFile)
	require.NoError(t, err)
	for _, want := range []string{
		"TENANTSYNC_CIPP_CLIENT_ID=" + s.vals["cipp_client"],
		"TENANTSYNC_CIPP_SECRET=" + s.vals["cipp_secret"],
		"TENANTSYNC_FAKE_CA_FILE=" + caFile,
		"TENANTSYNC_FAKE_GRAPH_URL=" + s.vals["graph"],
		"TENANTSYNC_FAKE_PARTNERCENTER_URL=" + s.vals["pc"],
	} {
		assert.Contains(t, string(env), want+"\n")
	}
	info, err := os.Stat(envFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the env file holds secrets")

	s.stop()
	require.NoError(t, s.wait())
}

func TestFakeServerSameSeedSameCredentials(t *testing.T) {
	t.Parallel()
	a := start(t, "-seed", "7", "-tenants", "3")
	b := start(t, "-seed", "7", "-tenants", "3")
	for _, k := range []string{"cipp_tenant", "cipp_client", "cipp_secret", "partner_client", "partner_secret"} {
		assert.Equal(t, a.vals[k], b.vals[k], k)
	}
	assert.NotEqual(t, a.vals["ca"], "", "default CA path printed")
}

func TestFakeServerDefaultCAFileIsRemoved(t *testing.T) {
	t.Parallel()
	s := start(t, "-seed", "2", "-tenants", "1")
	_, err := os.Stat(s.vals["ca"])
	require.NoError(t, err)
	s.stop()
	require.NoError(t, s.wait())
	_, err = os.Stat(s.vals["ca"])
	assert.True(t, os.IsNotExist(err), "the default CA file is removed on exit")
}

func TestFakeServerFaults(t *testing.T) {
	t.Parallel()
	s := start(t, "-seed", "3", "-tenants", "2", "-fault-rate", "1", "-fault-kind", "server-error", "-fault-services", "graph", "-fault-retry-after", "")
	assert.Contains(t, s.out, "Faults: server-error on 100% of requests to graph")
	resp, err := s.client.Get(s.vals["graph"] + "/v1.0/users")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Retry-After"))
}

func TestFakeServerFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-tenants", "0"}, "-tenants must be at least 1"},
		{[]string{"-fault-rate", "2"}, "-fault-rate must be between 0 and 1"},
		{[]string{"-fault-kind", "explode"}, `-fault-kind "explode"`},
		{[]string{"-fault-services", "exchange"}, `unknown service "exchange"`},
		{[]string{"-sizes", "10,x"}, `"x" is not a user count`},
		{[]string{"-min-users", "10", "-max-users", "5"}, "0 <= min <= max"},
		{[]string{"-token-lifetime", "0s"}, "-token-lifetime must be positive"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFakeServerSizes(t *testing.T) {
	t.Parallel()
	c, err := parseFlags([]string{"-sizes", "100, 20", "-tenants", "1", "-fault-services", "entra, cipp"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []int{100, 20}, c.opts.Sizes)
	assert.Equal(t, []tenantsynctest.ServiceName{tenantsynctest.ServiceEntra, tenantsynctest.ServiceCIPP}, c.faultServices)
	assert.True(t, c.caFileDefault)
}

func TestFakeServerCIPPRecorded(t *testing.T) {
	t.Parallel()
	s := start(t, "-seed", "4", "-tenants", "1", "-cipp-recorded")
	assert.Contains(t, s.out, "Recorded CIPP tenant: contoso.com")
	status, body := s.token(t, s.vals["cipp_tenant"], url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.vals["cipp_client"]},
		"client_secret": {s.vals["cipp_secret"]}, "scope": {s.vals["cipp_scope"]},
	})
	require.Equal(t, http.StatusOK, status, body)
	get := func(path string) []byte {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.vals["cipp"]+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
		resp, err := s.client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return b
	}
	assert.Contains(t, string(get("/api/ListTenants")), `"defaultDomainName":"contoso.com"`)
	want, err := os.ReadFile(filepath.Join("..", "..", "cipp", "testdata", "ListUsers.json"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(get("/api/ListUsers?tenantFilter=contoso.com")), "the recorded answer, byte for byte")

	plain := start(t, "-seed", "4", "-tenants", "1")
	assert.NotContains(t, plain.out, "Recorded CIPP tenant")
}
