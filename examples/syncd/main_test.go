package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// daemonProc is a syncd process started by a test.
type daemonProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	base    string
	dataDir string
	token   string // the install token (actor admin), read once the daemon serves
	mu      sync.Mutex
	out     bytes.Buffer
	done    chan error
}

func (d *daemonProc) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func buildDaemon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "syncd")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run(), "building syncd")
	return bin
}

// startDaemon starts syncd on a loopback port the system picks (-listen 127.0.0.1:0) with
// dataDir and args, learns the port from the address it prints, waits until its API answers and
// reads the install token it created. A port picked by the test and freed before syncd starts
// could be taken by anything in between, syncd's own demo services included.
func startDaemon(t *testing.T, bin, dataDir string, args ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{t: t, dataDir: dataDir, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-data-dir", dataDir}, args...)...)
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	require.NoError(t, d.cmd.Start())
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.out.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
		}
	}()
	go func() {
		err := d.cmd.Wait()
		pw.Close()
		d.done <- err
	}()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	d.waitServing(time.Minute)
	b, err := os.ReadFile(filepath.Join(dataDir, tokenFileName))
	require.NoError(t, err, "the daemon creates its API token before serving")
	d.token = strings.TrimSpace(string(b))
	return d
}

// waitServing waits for the address syncd prints, then polls /healthz until the API answers.
func (d *daemonProc) waitServing(timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.t.Fatalf("syncd exited early: %v\n%s", err, d.output())
		default:
		}
		if d.addr == "" {
			d.addr = listenedOn(d.output())
			d.base = "http://" + d.addr
		}
		if d.addr == "" {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if resp, err := http.Get(d.base + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("syncd not serving after %s\n%s", timeout, d.output())
}

// listenedOn is the address in syncd's "API: http://<addr> ..." line, or "" before it prints it.
func listenedOn(out string) string {
	const prefix = "API: http://"
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			addr, _, _ := strings.Cut(rest, " ")
			return addr
		}
	}
	return ""
}

// get calls path with the install token.
func (d *daemonProc) get(path string, v any) int {
	d.t.Helper()
	return d.do(http.MethodGet, path, d.token, nil, v)
}

// do calls the API with token (none when empty) and body as JSON, and decodes the answer into v.
func (d *daemonProc) do(method, path, token string, body any, v any) int {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(d.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	require.NoError(d.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(d.t, err, "%s %s", method, path)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	if v != nil {
		require.NoError(d.t, json.Unmarshal(raw, v), "decoding %s %s: %s", method, path, raw)
	}
	return resp.StatusCode
}

// waitInitialSync polls /healthz until the daemon reports its initial sync done.
func (d *daemonProc) waitInitialSync(timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.t.Fatalf("syncd exited early: %v\n%s", err, d.output())
		default:
		}
		var h map[string]string
		resp, err := http.Get(d.base + "/healthz")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if h["initialSync"] == "done" {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.t.Fatalf("initial sync not done after %s\n%s", timeout, d.output())
}

func (d *daemonProc) stop() {
	d.t.Helper()
	require.NoError(d.t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-d.done:
		require.NoError(d.t, err, "syncd exit after SIGTERM\n%s", d.output())
	case <-time.After(60 * time.Second):
		d.t.Fatalf("syncd did not stop within 60s of SIGTERM\n%s", d.output())
	}
}

// tenantJSON is a tenant as GET /api/tenants answers it, decoded into the daemon's own wire
// type so that a renamed field fails here too.
type tenantJSON = tenantWire

func linkedTenants(ts []tenantJSON) []tenantJSON {
	var out []tenantJSON
	for _, t := range ts {
		if t.ClientID != "" {
			out = append(out, t)
		}
	}
	return out
}

func TestDaemonEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := buildDaemon(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	actors := writeActors(t, "alice", "mallory")
	args := []string{"-demo-tenants", "6", "-demo-huge-users", "400", "-writes", "-writers", "alice", "-actors-file", actors.path}

	d := startDaemon(t, bin, dataDir, args...)
	d.waitInitialSync(3 * time.Minute)
	assert.Contains(t, d.output(), "data directory: "+dataDir)
	assert.Contains(t, d.output(), "API token: "+filepath.Join(dataDir, tokenFileName))
	assert.NotContains(t, d.output(), d.token, "the token itself is never printed")

	var tenants page[tenantJSON]
	require.Equal(t, http.StatusOK, d.get("/api/tenants", &tenants))
	require.Len(t, tenants.Items, 6)
	linked := linkedTenants(tenants.Items)
	require.NotEmpty(t, linked, "suggestions should link some tenants")
	for _, lt := range linked {
		assert.False(t, lt.Sync.LastSuccess.IsZero(), "tenant %s linked but never synced", lt.DisplayName)
		assert.Positive(t, lt.Sync.Counts["users"], "tenant %s has no users mirrored", lt.DisplayName)
	}

	first := linked[0]
	var contacts page[contactWire]
	require.Equal(t, http.StatusOK, d.get("/api/clients/"+first.ClientID+"/contacts?limit=1000", &contacts))
	require.NotEmpty(t, contacts.Items)
	withLink := 0
	for _, c := range contacts.Items {
		if c.M365 != nil && c.M365.UserID != "" {
			withLink++
		}
	}
	assert.Positive(t, withLink, "contacts of a synced client carry their M365 link")

	// The initial sync started moments ago: sync-now is inside the cooldown.
	var apiErr apiError
	req, err := http.NewRequest(http.MethodPost, d.base+"/api/tenants/"+first.ID+"/sync", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&apiErr))
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Equal(t, "sync_requested_too_soon", apiErr.Kind)

	// A write by someone without m365.write is refused, and the refusal is audited.
	write := map[string]string{"action": "block_sign_in", "tenantId": first.ID, "userId": "00000000-0000-0000-0000-000000000001"}
	apiErr = apiError{}
	assert.Equal(t, http.StatusForbidden, d.do(http.MethodPost, "/api/writes", actors.tokens["mallory"], write, &apiErr))
	assert.Equal(t, "permission_denied", apiErr.Kind)
	assert.NotEmpty(t, apiErr.Hint)

	var audit auditPage
	require.Equal(t, http.StatusOK, d.get("/api/audit?limit=1000", &audit))
	assert.True(t, audit.Verification.Verified, "audit chain verifies")
	refused := false
	for _, e := range audit.Items {
		if e.Actor == "mallory" && e.Action == "block_sign_in" && e.Outcome == "refused" {
			refused = true
		}
	}
	assert.True(t, refused, "the refused write is in the audit log: %+v", audit.Items)

	var metricsText string
	req, err = http.NewRequest(http.MethodGet, d.base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metricsText = string(b)
	assert.Contains(t, metricsText, `tenantsync_syncs_total{outcome="ok"}`)
	assert.Contains(t, metricsText, "tenantsync_round_trips_total")

	d.stop()
	assert.Contains(t, d.output(), "stopped: leases released")

	// Restart on the same data: the links, the synced state and the contacts are kept.
	d2 := startDaemon(t, bin, dataDir, args...)
	d2.waitInitialSync(3 * time.Minute)
	assert.NotContains(t, d2.output(), "demo: created", "the PSA clients are not seeded twice")
	assert.Equal(t, d.token, d2.token, "the install token survives a restart")
	var again page[tenantJSON]
	require.Equal(t, http.StatusOK, d2.get("/api/tenants", &again))
	assert.Len(t, linkedTenants(again.Items), len(linked))
	var contacts2 page[json.RawMessage]
	require.Equal(t, http.StatusOK, d2.get("/api/clients/"+first.ClientID+"/contacts?limit=1000", &contacts2))
	assert.Len(t, contacts2.Items, len(contacts.Items), "contacts kept across the restart, none duplicated")
	head := audit.Verification.Head
	require.NotEqual(t, "0:", head, "the log has entries, so the expected head below means something")
	require.Equal(t, http.StatusOK, d2.get("/api/audit?expect="+url.QueryEscape(head), &audit))
	assert.True(t, audit.Verification.Verified, "the head recorded before the restart is still on the chain")
	d2.stop()
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"cipp secret missing", []string{"-cipp-url", "https://cipp.example.net", "-cipp-tenant-id", "6b9a2d1e-0000-4000-8000-000000000001", "-cipp-client-id", "6b9a2d1e-0000-4000-8000-000000000002"}, nil, "TENANTSYNC_CIPP_SECRET"},
		{"cipp url not https", []string{"-cipp-url", "http://cipp.example.net", "-cipp-tenant-id", "6b9a2d1e-0000-4000-8000-000000000001", "-cipp-client-id", "6b9a2d1e-0000-4000-8000-000000000002"}, map[string]string{"TENANTSYNC_CIPP_SECRET": "s"}, "must use https"},
		{"client id not a guid", []string{"-partner-tenant-id", "6b9a2d1e-0000-4000-8000-000000000001", "-partner-client-id", "my-app"}, map[string]string{"TENANTSYNC_PARTNER_SECRET": "s"}, "is not a GUID"},
		{"listen not loopback", []string{"-listen", "0.0.0.0:8080"}, nil, "not a loopback address"},
		{"bad postgres dsn", nil, map[string]string{"TENANTSYNC_POSTGRES": "mysql://x"}, "DSN is malformed"},
		{"env flag bad value", nil, map[string]string{"TENANTSYNC_CONCURRENCY": "many"}, "TENANTSYNC_CONCURRENCY"},
		{"stray argument", []string{"run"}, nil, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(tt.args, env(tt.env), io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.True(t, c.Demo, "no service configured: demo mode")

	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("s3cret\n"), 0o600))
	c, err = parseConfig([]string{"-cipp-url", "https://cipp.example.net", "-cipp-tenant-id", "6b9a2d1e-0000-4000-8000-000000000001", "-cipp-client-id", "6b9a2d1e-0000-4000-8000-000000000002", "-cipp-secret-file", secretFile}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "s3cret", c.CIPP.Secret.Reveal())
	assert.False(t, c.Demo, "a configured service turns the demo off")
}

func TestHelpDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	_, err := parseConfig([]string{"-help"}, func(string) string { return "" }, &buf)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"TENANTSYNC_CIPP_SECRET", "TENANTSYNC_PARTNER_SECRET", "TENANTSYNC_POSTGRES", "-cipp-url", "-partner-client-id", "-data-dir", "-writers", "-actors-file", "api-token"} {
		assert.Contains(t, buf.String(), want)
	}
}

func TestMetricsFormat(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	m.add("tenantsync_sync_errors_total", 2, "kind", `role "missing"`)
	var buf bytes.Buffer
	m.writeTo(&buf)
	assert.Contains(t, buf.String(), "# TYPE tenantsync_sync_errors_total counter")
	assert.Contains(t, buf.String(), `tenantsync_sync_errors_total{kind="role \"missing\""} 2`)
}

// TestDaemonAPIGuards runs the built daemon and calls it the ways other local processes and web
// pages would: without a token, under another host name, from another origin, with a form
// body, trailing garbage, an oversize body, and a forged X-Actor.
func TestDaemonAPIGuards(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := buildDaemon(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	actors := writeActors(t, "alice")
	d := startDaemon(t, bin, dataDir, "-demo-tenants", "2", "-demo-huge-users", "30", "-actors-file", actors.path, "-writers", "alice")
	d.waitInitialSync(time.Minute) // the links made at start are audited by then
	tokenFile := filepath.Join(dataDir, tokenFileName)

	type call struct {
		method, path, body string
		headers            map[string]string
	}
	send := func(c call) (*http.Response, apiError) {
		t.Helper()
		var rd io.Reader
		if c.body != "" {
			rd = strings.NewReader(c.body)
		}
		req, err := http.NewRequest(c.method, d.base+c.path, rd)
		require.NoError(t, err)
		for k, v := range c.headers {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "%s %s", c.method, c.path)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var e apiError
		if resp.StatusCode >= 300 {
			require.NoError(t, json.Unmarshal(raw, &e), "error body is JSON: %s", raw)
		}
		return resp, e
	}
	admin := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + d.token, "Content-Type": "application/json"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}

	// /healthz stays open.
	resp, _ := send(call{method: http.MethodGet, path: "/healthz"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// Without the token every call is refused; past ten failures from one address, with 429.
	var routes []string
	for _, ep := range (&api{}).endpoints() {
		if _, path, _ := strings.Cut(ep.pattern, " "); !openPath(path) {
			routes = append(routes, ep.pattern)
		}
	}
	auditBefore := 0
	{
		var audit auditPage
		require.Equal(t, http.StatusOK, d.get("/api/audit?limit=1000", &audit))
		auditBefore = len(audit.Items)
	}
	for i, pattern := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.ReplaceAll(path, "{id}", "client-001")
		c := call{method: method, path: path}
		if method == http.MethodPost {
			c.body, c.headers = `{}`, map[string]string{"Content-Type": "application/json"}
		}
		resp, e := send(c)
		if i < 10 {
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, pattern)
			assert.Equal(t, "unauthorized", e.Kind, pattern)
			assert.Contains(t, e.Hint, tokenFile, pattern)
		} else {
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, pattern)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"), pattern)
		}
	}
	require.Greater(t, len(routes), 10, "the failure limit was reached")

	tests := []struct {
		name     string
		call     call
		want     int
		wantText string
	}{
		{"foreign Host (DNS rebinding)", call{http.MethodGet, "/api/tenants", "", admin(map[string]string{"Host": "rebind.attacker.example:" + d.addr[strings.LastIndex(d.addr, ":")+1:]})}, http.StatusMisdirectedRequest, "does not answer for host"},
		{"foreign Host on /healthz", call{http.MethodGet, "/healthz", "", map[string]string{"Host": "attacker.example"}}, http.StatusMisdirectedRequest, "does not answer for host"},
		{"foreign Origin", call{http.MethodGet, "/api/tenants", "", admin(map[string]string{"Origin": "http://attacker.example"})}, http.StatusForbidden, "origin"},
		{"cross-site form", call{http.MethodPost, "/api/clients/client-001/active", `{"minutes": 5}`, admin(map[string]string{"Content-Type": "text/plain"})}, http.StatusUnsupportedMediaType, "application/json"},
		{"trailing garbage", call{http.MethodPost, "/api/clients/client-001/active", `{"minutes": 5}xyz`, admin(nil)}, http.StatusBadRequest, "nothing may follow"},
		{"oversize", call{http.MethodPost, "/api/suggestions/accept", `{"links": [` + strings.Repeat(`{"TenantID": "t", "ClientID": "c"},`, 40000) + `{}]}`, admin(nil)}, http.StatusRequestEntityTooLarge, "too large"},
		{"minutes out of range", call{http.MethodPost, "/api/clients/client-001/active", `{"minutes": 9223372036854775807}`, admin(nil)}, http.StatusBadRequest, "minutes"},
		{"unknown client", call{http.MethodPost, "/api/clients/no-such-client/active", `{"minutes": 5}`, admin(nil)}, http.StatusNotFound, "no-such-client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, e := send(tt.call)
			assert.Equal(t, tt.want, resp.StatusCode)
			assert.Contains(t, e.Error, tt.wantText)
			assert.NotEmpty(t, e.Hint)
		})
	}

	// X-Actor is ignored: the call is audited under the token's actor.
	resp, _ = send(call{http.MethodPost, "/api/clients/client-001/active", `{"minutes": 5}`,
		map[string]string{"Authorization": "Bearer " + actors.tokens["alice"], "Content-Type": "application/json", "X-Actor": "mallory"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var audit auditPage
	require.Equal(t, http.StatusOK, d.get("/api/audit?limit=1000", &audit))
	assert.True(t, audit.Verification.Verified)
	found := false
	for _, e := range audit.Items {
		assert.NotEqual(t, "mallory", e.Actor)
		if e.Action == "mark_active" && e.Target == "client-001" {
			found = true
			assert.Equal(t, "alice", e.Actor)
		}
	}
	assert.True(t, found, "mark_active is audited: %+v", audit.Items)
	assert.Len(t, audit.Items, auditBefore+1, "only the authenticated state change was audited")

	var metricsText strings.Builder
	req, err := http.NewRequest(http.MethodGet, d.base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.token)
	mresp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = io.Copy(&metricsText, mresp.Body)
	mresp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, metricsText.String(), `tenantsync_api_auth_failures_total{outcome="refused"} 10`)
	assert.Contains(t, metricsText.String(), fmt.Sprintf(`tenantsync_api_auth_failures_total{outcome="rate_limited"} %d`, len(routes)-10))
	assert.NotContains(t, d.output(), d.token)
	d.stop()
}
