package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// testListen is the listen address the in-process daemons pretend to serve on.
const testListen = "127.0.0.1:8765"

// lockedBuffer collects the daemon's output, written from several goroutines.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eventRecorder keeps every event the engine delivers to the daemon.
type eventRecorder struct {
	mu  gosync.Mutex
	evs []sync.Event
}

func (r *eventRecorder) wrap(next sync.Sink) sync.Sink {
	return sync.SinkFunc(func(ctx context.Context, ev sync.Event) {
		r.mu.Lock()
		r.evs = append(r.evs, ev)
		r.mu.Unlock()
		next.Handle(ctx, ev)
	})
}

func (r *eventRecorder) all() []sync.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// actorsFile is an actors file written by a test, with each actor's token.
type actorsFile struct {
	path   string
	tokens map[string]string
}

func newToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeActors writes an actors file (mode 0600) giving each name a fresh token.
func writeActors(t *testing.T, names ...string) actorsFile {
	t.Helper()
	f := actorsFile{path: filepath.Join(t.TempDir(), "actors"), tokens: map[string]string{}}
	var b strings.Builder
	b.WriteString("# API callers\n")
	for _, n := range names {
		f.tokens[n] = newToken(t)
		fmt.Fprintf(&b, "%s:%s\n", n, f.tokens[n])
	}
	require.NoError(t, os.WriteFile(f.path, []byte(b.String()), 0o600))
	return f
}

// testDaemon is a daemon built in-process on the demo fakes, its API served by a handler.
type testDaemon struct {
	d      *daemon
	api    *api
	h      http.Handler
	out    *lockedBuffer
	events *eventRecorder
	token  string // the install token, actor admin
	actors actorsFile
}

// newTestDaemon builds a daemon on three small demo tenants with an actor alice, lets edit
// change its configuration, and runs discovery (no sync).
func newTestDaemon(t *testing.T, edit func(*config)) *testDaemon {
	t.Helper()
	return newTestDaemonWith(t, edit, hooks{})
}

// newTestDaemonWith is newTestDaemon with hooks; the event recorder is always installed.
func newTestDaemonWith(t *testing.T, edit func(*config), h hooks) *testDaemon {
	t.Helper()
	td := &testDaemon{out: &lockedBuffer{}, events: &eventRecorder{}, actors: writeActors(t, "alice")}
	cfg, err := parseConfig([]string{"-listen", testListen, "-data-dir", filepath.Join(t.TempDir(), "data"),
		"-demo-tenants", "3", "-demo-huge-users", "40", "-actors-file", td.actors.path}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	if edit != nil {
		edit(&cfg)
	}
	h.sink = td.events.wrap
	d, err := newDaemon(t.Context(), cfg, td.out, h)
	require.NoError(t, err, "%s", td.out)
	t.Cleanup(d.close)
	_, err = d.engine.Discover(t.Context())
	require.NoError(t, err)
	a, err := d.api(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8765})
	require.NoError(t, err)
	td.d, td.api, td.h = d, a, d.connectRoutes(a, a.routes())
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, tokenFileName))
	require.NoError(t, err)
	td.token = strings.TrimSpace(string(b))
	return td
}

// do serves one request. By default it carries the listen address as Host, the install token
// and, with a body, Content-Type: application/json; headers (name, value pairs) replace them,
// an empty value removing the header.
func (td *testDaemon) do(t *testing.T, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Host = testListen
	r.Header.Set("Authorization", "Bearer "+td.token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		k, v := headers[i], headers[i+1]
		switch {
		case k == "Host":
			r.Host = v
		case v == "":
			r.Header.Del(k)
		default:
			r.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	td.h.ServeHTTP(rec, r)
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) apiError {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "error body is JSON: %s", rec.Body)
	require.NotEmpty(t, e.Error)
	return e
}

// auditEntries returns the account's audit log.
func (td *testDaemon) auditEntries(t *testing.T) []tenantsync.AuditEntry {
	t.Helper()
	es, err := td.d.store.Account(td.d.cfg.Account).Audit.List(context.WithoutCancel(t.Context()), store.AuditQuery{})
	require.NoError(t, err)
	return es
}

func TestHostMustNameTheDaemon(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	tests := []struct {
		host string
		want int
	}{
		{testListen, http.StatusOK},
		{"localhost:8765", http.StatusOK},
		{"LocalHost:8765", http.StatusOK},
		{"[::1]:8765", http.StatusOK},
		{"127.0.0.2:8765", http.StatusOK},
		{"127.0.0.1:9999", http.StatusMisdirectedRequest},
		{"127.0.0.1", http.StatusMisdirectedRequest},
		{"rebind.attacker.example:8765", http.StatusMisdirectedRequest},
		{"attacker.example", http.StatusMisdirectedRequest},
		{"localhost.:8765", http.StatusMisdirectedRequest},
		{"0.0.0.0:8765", http.StatusMisdirectedRequest},
		{"192.168.1.10:8765", http.StatusMisdirectedRequest},
		{"", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/reviews", "/healthz"} {
			t.Run(tt.host+path, func(t *testing.T) {
				rec := td.do(t, http.MethodGet, path, "", "Host", tt.host)
				require.Equal(t, tt.want, rec.Code, rec.Body.String())
				if tt.want != http.StatusOK {
					e := decodeError(t, rec)
					assert.Contains(t, e.Hint, "http://"+testListen)
				}
			})
		}
	}
}

func TestOriginMustBeTheDaemons(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no origin", nil, http.StatusOK},
		{"own origin", []string{"Origin", "http://" + testListen}, http.StatusOK},
		{"own origin by name", []string{"Origin", "http://localhost:8765"}, http.StatusOK},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"typed in the address bar", []string{"Sec-Fetch-Site", "none"}, http.StatusOK},
		{"another site", []string{"Origin", "http://attacker.example"}, http.StatusForbidden},
		{"sandboxed page", []string{"Origin", "null"}, http.StatusForbidden},
		{"https", []string{"Origin", "https://" + testListen}, http.StatusForbidden},
		{"another port", []string{"Origin", "http://127.0.0.1:9999"}, http.StatusForbidden},
		{"cross-site fetch without origin", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site fetch without origin", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := td.do(t, http.MethodGet, "/api/reviews", "", tt.headers...)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			if tt.want == http.StatusForbidden {
				assert.Equal(t, "forbidden", decodeError(t, rec).Kind)
			}
		})
	}

	// The reproduced attack: a cross-site text/plain form purging a tenant, without a token.
	before := len(td.auditEntries(t))
	rec := td.do(t, http.MethodPost, "/api/tenants/x/unlink", `{"mode":"purge"}`,
		"Origin", "http://attacker.example", "Content-Type", "text/plain", "Authorization", "")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Len(t, td.auditEntries(t), before, "a refused request is not audited")
}

func TestEveryCallButHealthzNeedsAToken(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	// Each refusal counts against the failure limit; move the limiter's clock past the refill
	// so every route answers 401 rather than 429.
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	td.api.failures.now = func() time.Time { now = now.Add(time.Minute); return now }
	tokenFile := filepath.Join(td.d.cfg.DataDir, tokenFileName)
	for _, ep := range td.api.endpoints() {
		method, path, _ := strings.Cut(ep.pattern, " ")
		path = strings.ReplaceAll(path, "{id}", "x")
		body := ""
		if method == http.MethodPost {
			body = `{}`
		}
		t.Run(ep.pattern, func(t *testing.T) {
			if openPath(path) {
				rec := td.do(t, method, path, body, "Authorization", "")
				assert.Equal(t, http.StatusOK, rec.Code, "%s stays open", path)
				return
			}
			for _, auth := range []string{"", "Bearer wrong-token", "Basic " + td.token, td.token} {
				rec := td.do(t, method, path, body, "Authorization", auth)
				require.Equal(t, http.StatusUnauthorized, rec.Code, "Authorization %q: %s", auth, rec.Body)
				assert.Equal(t, `Bearer realm="syncd"`, rec.Header().Get("WWW-Authenticate"))
				e := decodeError(t, rec)
				assert.Equal(t, "unauthorized", e.Kind)
				assert.Contains(t, e.Hint, tokenFile, "the hint names the token file")
				assert.NotContains(t, rec.Body.String(), td.token)
			}
		})
	}

	for name, auth := range map[string]string{
		"install token":          "Bearer " + td.token,
		"lower-case scheme":      "bearer " + td.token,
		"an actor's own token":   "Bearer " + td.actors.tokens["alice"],
		"token with white space": "Bearer  " + td.token + " ",
	} {
		t.Run(name, func(t *testing.T) {
			rec := td.do(t, http.MethodGet, "/api/clients", "", "Authorization", auth)
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		})
	}
}

func TestFailedAuthenticationIsRateLimitedAndNotAudited(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	td.api.failures.now = func() time.Time { return now }
	auditBefore := len(td.auditEntries(t))
	outBefore := td.out.String()

	for i := range 10 {
		rec := td.do(t, http.MethodPost, "/api/clients/client-001/active", `{"minutes":5}`, "Authorization", "Bearer guess-"+fmt.Sprint(i))
		require.Equal(t, http.StatusUnauthorized, rec.Code, "attempt %d", i+1)
	}
	rec := td.do(t, http.MethodPost, "/api/clients/client-001/active", `{"minutes":5}`, "Authorization", "Bearer guess-11")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "6", rec.Header().Get("Retry-After"))
	e := decodeError(t, rec)
	assert.Equal(t, "throttled", e.Kind)
	assert.Equal(t, 6, e.RetryAfter)

	// Another address has its own allowance; a valid token is never throttled.
	r := httptest.NewRequest(http.MethodGet, "/api/clients", nil)
	r.Host, r.RemoteAddr = testListen, "127.0.0.9:5000"
	other := httptest.NewRecorder()
	td.h.ServeHTTP(other, r)
	assert.Equal(t, http.StatusUnauthorized, other.Code)
	assert.Equal(t, http.StatusOK, td.do(t, http.MethodGet, "/api/clients", "").Code)

	// Refill: one attempt every six seconds.
	now = now.Add(6 * time.Second)
	assert.Equal(t, http.StatusUnauthorized, td.do(t, http.MethodGet, "/api/clients", "", "Authorization", "").Code)
	assert.Equal(t, http.StatusTooManyRequests, td.do(t, http.MethodGet, "/api/clients", "", "Authorization", "").Code)

	assert.Len(t, td.auditEntries(t), auditBefore, "failed authentication is not audited")
	assert.Equal(t, outBefore, td.out.String(), "failed authentication is not logged")
	metrics := td.do(t, http.MethodGet, "/metrics", "").Body.String()
	assert.Contains(t, metrics, `tenantsync_api_auth_failures_total{outcome="refused"} 12`)
	assert.Contains(t, metrics, `tenantsync_api_auth_failures_total{outcome="rate_limited"} 2`)
}

func TestRequestBodiesMustBeOneJSONValue(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	huge := `{"minutes": 5, "pad": "` + strings.Repeat("a", maxBody) + `"}`
	tests := []struct {
		name     string
		body     string
		headers  []string
		chunked  bool // no Content-Length: the cap must stop the read
		want     int
		wantText string
	}{
		{"json", `{"minutes": 5}`, nil, false, http.StatusOK, ""},
		{"json with charset", `{"minutes": 5}`, []string{"Content-Type", "application/json; charset=utf-8"}, false, http.StatusOK, ""},
		{"trailing white space", "{\"minutes\": 5}\n\t ", nil, false, http.StatusOK, ""},
		{"text/plain form", `{"minutes": 5}`, []string{"Content-Type", "text/plain"}, false, http.StatusUnsupportedMediaType, "application/json"},
		{"url-encoded form", `minutes=5`, []string{"Content-Type", "application/x-www-form-urlencoded"}, false, http.StatusUnsupportedMediaType, "application/json"},
		{"multipart form", `--x--`, []string{"Content-Type", "multipart/form-data; boundary=x"}, false, http.StatusUnsupportedMediaType, "application/json"},
		{"no content type", `{"minutes": 5}`, []string{"Content-Type", ""}, false, http.StatusUnsupportedMediaType, "application/json"},
		{"trailing garbage", `{"minutes": 5} garbage`, nil, false, http.StatusBadRequest, "nothing may follow"},
		{"two values", `{"minutes": 5}{"minutes": 6}`, nil, false, http.StatusBadRequest, "nothing may follow"},
		{"unknown field", `{"minutes": 5, "until": "2099-01-01"}`, nil, false, http.StatusBadRequest, "unknown field"},
		{"empty", ``, []string{"Content-Type", "application/json"}, false, http.StatusBadRequest, "empty"},
		{"too large", huge, nil, false, http.StatusRequestEntityTooLarge, "too large"},
		{"too large, chunked", huge, nil, true, http.StatusRequestEntityTooLarge, "too large"},
		{"too large after a value", `{"minutes": 5}` + strings.Repeat(" ", maxBody), nil, true, http.StatusRequestEntityTooLarge, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/clients/client-001/active", strings.NewReader(tt.body))
			r.Host = testListen
			r.Header.Set("Authorization", "Bearer "+td.token)
			r.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(tt.headers); i += 2 {
				if tt.headers[i+1] == "" {
					r.Header.Del(tt.headers[i])
				} else {
					r.Header.Set(tt.headers[i], tt.headers[i+1])
				}
			}
			if tt.chunked {
				r.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			td.h.ServeHTTP(rec, r)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			if tt.wantText != "" {
				assert.Contains(t, decodeError(t, rec).Error, tt.wantText)
			}
		})
	}
}

func TestMarkActiveValidatesMinutesAndClient(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	for _, body := range []string{
		`{"minutes": 9223372036854775807}`, `{"minutes": 0}`, `{"minutes": -5}`, `{"minutes": 10081}`,
		`{"minutes": 1.5}`, `{"minutes": 1e3}`, `{"minutes": "abc"}`, `{"minutes": null}`, `{}`,
	} {
		t.Run(body, func(t *testing.T) {
			rec := td.do(t, http.MethodPost, "/api/clients/client-001/active", body)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			e := decodeError(t, rec)
			assert.Equal(t, "invalid_input", e.Kind)
			assert.Contains(t, e.Error+" "+e.Hint, "minutes", "the answer names the field")
			assert.Contains(t, e.Hint, "1 to 10080")
		})
	}
	c, err := td.d.store.Directory(td.d.cfg.Account).GetClient(t.Context(), "client-001")
	require.NoError(t, err)
	assert.True(t, c.ActiveUntil.IsZero(), "no refused call changed the client")

	for _, minutes := range []int{1, 120, 10080} {
		t.Run(fmt.Sprint(minutes), func(t *testing.T) {
			before := time.Now()
			rec := td.do(t, http.MethodPost, "/api/clients/client-001/active", fmt.Sprintf(`{"minutes": %d}`, minutes))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var out struct{ ActiveUntil time.Time }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			assert.True(t, out.ActiveUntil.After(before), "the active period ends in the future: %s", out.ActiveUntil)
			c, err := td.d.store.Directory(td.d.cfg.Account).GetClient(t.Context(), "client-001")
			require.NoError(t, err)
			assert.True(t, c.ActiveUntil.After(before))
		})
	}

	rec := td.do(t, http.MethodPost, "/api/clients/no-such-client/active", `{"minutes": 5}`)
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	e := decodeError(t, rec)
	assert.Equal(t, "not_found", e.Kind)
	assert.Contains(t, e.Hint, "GET /api/clients")
}

func TestLinkToUnknownClientOrTenantIs404(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	sts, err := td.d.engine.Statuses(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, sts)
	tenantID := sts[0].Tenant.ID

	rec := td.do(t, http.MethodPost, "/api/tenants/"+tenantID+"/link", `{"clientId": "no-such-client"}`)
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	assert.Equal(t, "not_found", decodeError(t, rec).Kind)
	st, err := td.d.engine.Status(t.Context(), tenantID)
	require.NoError(t, err)
	assert.False(t, st.Tenant.Linked(), "the tenant stays unlinked")

	rec = td.do(t, http.MethodPost, "/api/tenants/no-such-tenant/link", `{"clientId": "client-001"}`)
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	assert.Equal(t, "tenant_not_found", decodeError(t, rec).Kind)

	rec = td.do(t, http.MethodPost, "/api/tenants/"+tenantID+"/link", `{}`)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, decodeError(t, rec).Error, "clientId")

	rec = td.do(t, http.MethodPost, "/api/suggestions/accept", fmt.Sprintf(`{"links": [{"tenantId": %q, "clientId": "no-such-client"}]}`, tenantID))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var res page[linkResultWire]
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	require.Len(t, res.Items, 1)
	assert.Equal(t, "failed", res.Items[0].Status)
	assert.Contains(t, res.Items[0].Error, "no-such-client")
}

func TestActorComesFromTheTokenNotTheHeader(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	sts, err := td.d.engine.Statuses(t.Context())
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	calls := []struct {
		name, token, method, path, body, action string
	}{
		{"alice marks a client active", td.actors.tokens["alice"], http.MethodPost, "/api/clients/client-001/active", `{"minutes": 30}`, "mark_active"},
		{"admin asks for a write", td.token, http.MethodPost, "/api/writes", fmt.Sprintf(`{"action": "block_sign_in", "tenantId": %q, "userId": "u1"}`, tenantID), "block_sign_in"},
		{"alice links a tenant", td.actors.tokens["alice"], http.MethodPost, "/api/tenants/" + tenantID + "/link", `{"clientId": "client-002"}`, "link"},
		{"admin asks for a sync", td.token, http.MethodPost, "/api/tenants/" + tenantID + "/sync", ``, "sync_now"},
	}
	for _, c := range calls {
		before := len(td.auditEntries(t))
		rec := td.do(t, c.method, c.path, c.body, "Authorization", "Bearer "+c.token, "X-Actor", "mallory")
		require.NotEqual(t, http.StatusUnauthorized, rec.Code, "%s: %s", c.name, rec.Body)
		entries := td.auditEntries(t)[before:]
		require.NotEmpty(t, entries, "%s is audited (status %d: %s)", c.name, rec.Code, rec.Body)
		want := adminActor
		if c.token != td.token {
			want = "alice"
		}
		for _, e := range entries {
			assert.Equal(t, c.action, e.Action, c.name)
			assert.Equal(t, want, e.Actor, "%s is audited under the token's actor, not X-Actor", c.name)
		}
	}
	for _, e := range td.auditEntries(t) {
		assert.NotEqual(t, "mallory", e.Actor)
	}
}

func TestPasswordResetReturnsThePasswordOnlyToTheCaller(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, func(c *config) {
		c.WritesEnabled = true
		c.Writers = []string{adminActor}
	})
	ctx := t.Context()
	routes := map[string]string{} // route → tenant ID
	for _, tn := range td.d.fake.Tenants() {
		rec, err := td.d.store.Account(td.d.cfg.Account).Tenants.Get(ctx, tn.ID)
		require.NoError(t, err)
		route := sync.RouteGraph
		if slices.Contains(rec.Sources, sync.RouteCIPP) {
			route = sync.RouteCIPP
		}
		if _, ok := routes[route]; !ok {
			routes[route] = tn.ID
		}
	}
	require.NotEmpty(t, routes)
	t.Logf("write routes exercised: %v", routes)

	var passwords []string
	for route, tenantID := range routes {
		var user string
		var upn string
		for _, tn := range td.d.fake.Tenants() {
			if tn.ID != tenantID {
				continue
			}
			for _, u := range td.d.fake.Users(tn.ID) {
				if u.UserType != "Guest" && u.AccountEnabled {
					user, upn = u.ObjectID, u.UserPrincipalName
					break
				}
			}
		}
		require.NotEmpty(t, user)
		rec := td.do(t, http.MethodPost, "/api/writes", fmt.Sprintf(`{"action": "force_password_reset", "tenantId": %q, "userId": %q, "upn": %q}`, tenantID, user, upn))
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", route, rec.Body)
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		var res writeReply
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
		require.NotEmpty(t, res.TemporaryPassword, "%s returns the temporary password to the caller", route)
		assert.Equal(t, route, res.Route)
		passwords = append(passwords, res.TemporaryPassword)
	}

	auditView := td.do(t, http.MethodGet, "/api/audit", "").Body.String()
	metricsView := td.do(t, http.MethodGet, "/metrics", "").Body.String()
	// Close delivers every buffered event and stops the engine's log output.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	require.NoError(t, td.d.engine.Close(closeCtx))
	events := td.events.all()
	require.NotEmpty(t, events)
	auditJSON, err := json.Marshal(td.auditEntries(t))
	require.NoError(t, err)
	assert.Contains(t, string(auditJSON), "force_password_reset", "the reset is audited")
	assert.Contains(t, td.out.String(), "force_password_reset", "the reset is logged")

	for _, pw := range passwords {
		assert.NotContains(t, td.out.String(), pw, "log output")
		assert.NotContains(t, string(auditJSON), pw, "audit log")
		assert.NotContains(t, auditView, pw, "GET /api/audit")
		assert.NotContains(t, metricsView, pw, "metrics")
		for _, ev := range events {
			assert.NotContains(t, fmt.Sprintf("%+v", ev), pw, "event %s", ev.Type)
		}
	}
}

func TestReleaseHoldIsAuditedUnderTheTokensActor(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	ctx := t.Context()
	sts, err := td.d.engine.Statuses(ctx)
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	alice := "Bearer " + td.actors.tokens["alice"]
	path := "/api/tenants/" + tenantID + "/holds/users/release"

	rec := td.do(t, http.MethodPost, "/api/tenants/"+tenantID+"/holds/widgets/release", "", "Authorization", alice)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.Contains(t, decodeError(t, rec).Hint, "holds")

	rec = td.do(t, http.MethodPost, path, "", "Authorization", alice)
	require.Equal(t, http.StatusNotFound, rec.Code, "no hold to release: %s", rec.Body)

	// A hold as the engine stores it when a listing would remove most of the tenant's users.
	since := time.Now().Add(-time.Hour).UTC()
	var held []string
	for i := range 3 * sync.MaxHoldExamples {
		held = append(held, fmt.Sprintf("held-user-%02d", i))
	}
	state := store.SyncState{TenantID: tenantID, Holds: map[tenantsync.Kind]store.DeletionHold{
		tenantsync.KindUsers: {Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, IDs: held,
			Removals: len(held), Of: len(held), Since: since, LastSeen: since},
	}}
	require.NoError(t, td.d.store.Account(td.d.cfg.Account).SyncStates.Put(ctx, state))
	rec = td.do(t, http.MethodGet, "/api/tenants/"+tenantID, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, sync.MaxHoldExamples, strings.Count(rec.Body.String(), `"held-user-`),
		"the tenant view shows a few examples, not the full list of held IDs")

	before := len(td.auditEntries(t))
	rec = td.do(t, http.MethodPost, path, "", "Authorization", alice, "X-Actor", "mallory")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	entries := td.auditEntries(t)[before:]
	require.Len(t, entries, 1)
	assert.Equal(t, "release_hold", entries[0].Action)
	assert.Equal(t, "alice", entries[0].Actor)
	assert.Equal(t, "succeeded", entries[0].Outcome)
	got, err := td.d.store.Account(td.d.cfg.Account).SyncStates.Get(ctx, tenantID)
	require.NoError(t, err)
	assert.True(t, got.Holds[tenantsync.KindUsers].Released)
	assert.Equal(t, "alice", got.Holds[tenantsync.KindUsers].ReleasedBy)
}

func TestResolveContactFailureIsAuditedUnderTheTokensActor(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	ctx := t.Context()
	sts, err := td.d.engine.Statuses(ctx)
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	// Linked in the store alone, so no sync starts and rewrites the state seeded below.
	require.NoError(t, td.d.store.Account(td.d.cfg.Account).Tenants.Link(ctx, tenantID, "client-001", time.Now()))
	now := time.Now().UTC()
	require.NoError(t, td.d.store.Account(td.d.cfg.Account).SyncStates.Put(ctx, store.SyncState{TenantID: tenantID,
		ContactFailures: map[string]store.ContactFailure{"user-1": {ObjectID: "user-1", UPN: "pat@contoso.example",
			Op: store.ContactCreate, Kind: "invalid_input", Message: "LastName: too long", Attempts: 5,
			FirstAt: now, LastAt: now, NeedsPerson: true}}}))
	alice := "Bearer " + td.actors.tokens["alice"]
	path := "/api/tenants/" + tenantID + "/contact-failures/user-1/resolve"

	rec := td.do(t, http.MethodGet, "/api/tenants/"+tenantID, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "LastName: too long", "the tenant shows each failed contact with its reason")

	rec = td.do(t, http.MethodPost, path, `{"decision": "merge"}`, "Authorization", alice)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.Contains(t, decodeError(t, rec).Error, "contactId")
	rec = td.do(t, http.MethodPost, path, `{"decision": "delete"}`, "Authorization", alice)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	rec = td.do(t, http.MethodPost, "/api/tenants/"+tenantID+"/contact-failures/user-2/resolve", `{"decision": "ignore"}`, "Authorization", alice)
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())

	before := len(td.auditEntries(t))
	rec = td.do(t, http.MethodPost, path, `{"decision": "ignore"}`, "Authorization", alice, "X-Actor", "mallory")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	entries := td.auditEntries(t)[before:]
	require.Len(t, entries, 1)
	assert.Equal(t, "resolve_contact_failure", entries[0].Action)
	assert.Equal(t, "alice", entries[0].Actor)
	got, err := td.d.store.Account(td.d.cfg.Account).SyncStates.Get(ctx, tenantID)
	require.NoError(t, err)
	assert.True(t, got.ContactFailures["user-1"].Ignored)
	assert.Equal(t, "alice", got.ContactFailures["user-1"].DecidedBy)
}

// A review is resolved with a typed decision, audited under the token's actor; a malformed
// decision is a 400 that says what to send.
func TestResolveReviewTakesADecision(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	ctx := t.Context()
	sts, err := td.d.engine.Statuses(ctx)
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	acct := td.d.store.Account(td.d.cfg.Account)
	require.NoError(t, acct.Tenants.Link(ctx, tenantID, "client-001", time.Now()))
	c, err := td.d.store.Directory(td.d.cfg.Account).CreateContact(ctx, tenantsync.Contact{ClientID: "client-001", FirstName: "Pat", Active: true})
	require.NoError(t, err)
	rv, err := acct.Reviews.Add(ctx, store.Review{TenantID: tenantID, ObjectID: "user-1", ClientID: "client-001", Reason: "two contacts share the address",
		Candidates: []store.ReviewCandidate{{ContactID: c.ID, Score: 0.8}}})
	require.NoError(t, err)
	alice := "Bearer " + td.actors.tokens["alice"]
	path := "/api/reviews/" + rv.ID + "/resolve"

	for body, want := range map[string]string{
		`{"resolution": "create"}`:                    "decision",
		`{"decision": "link"}`:                        "contactId",
		`{"decision": "create", "contactId": "ct-1"}`: "decision link",
		`{"decision": "merge"}`:                       "link, create or ignore",
	} {
		rec := td.do(t, http.MethodPost, path, body, "Authorization", alice)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", body, rec.Body)
		assert.Contains(t, rec.Body.String(), want, body)
	}
	rec := td.do(t, http.MethodPost, path, fmt.Sprintf(`{"decision": "link", "contactId": %q}`, c.ID), "Authorization", alice, "X-Actor", "mallory")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out reviewWire
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.NotNil(t, out.Resolution)
	assert.True(t, out.Resolved)
	assert.Equal(t, resolutionWire{Decision: "link", ContactID: c.ID, By: "alice", At: out.Resolution.At}, *out.Resolution)
	assert.False(t, out.Resolution.At.IsZero())
	entries := td.auditEntries(t)
	last := entries[len(entries)-1]
	assert.Equal(t, "resolve_review", last.Action)
	assert.Equal(t, "alice", last.Actor)
	assert.Equal(t, c.ID, last.Detail["contact"])
}

// /healthz answers without a token, so a store that does not answer is said as such, and its
// error (which for PostgreSQL names the host, user and database, for SQLite the file) goes to
// the daemon's log only.
func TestHealthzKeepsTheStoresErrorToTheLog(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	require.NoError(t, td.d.store.Close())
	rec := td.do(t, http.MethodGet, "/healthz", "", "Authorization", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "store unavailable")
	assert.NotContains(t, rec.Body.String(), td.d.cfg.DataDir, "no path")
	assert.NotContains(t, rec.Body.String(), "closed", "not the store's own words")
	assert.Contains(t, td.out.String(), "the store did not answer", "the cause is logged")
}
