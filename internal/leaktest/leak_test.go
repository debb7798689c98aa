// Package leaktest proves that no configuration or client of tenantsync renders a credential:
// every exported config and client type of transport, cipp, graph and partnercenter, and
// store.Connection, is built with known secrets, made to fetch tokens from the fake services (so
// its caches hold an access token and its refresh-token chain a rotated token), then rendered
// every way a program might log or print it.
package leaktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/transport"
)

const (
	graphScope = "https://graph.microsoft.com/.default"
	pcScope    = "https://api.partnercenter.microsoft.com/user_impersonation"
	// connectionSecret is the secret of the store.Connection, which reaches no server.
	connectionSecret = "leaktest-connection-secret-8Q~value"
)

// tokenRecorder sits under every client's HTTP client and keeps every credential that crosses
// it: the access and refresh tokens the fake Entra ID issues, the refresh tokens and client
// secrets sent to it, and the bearer tokens sent to the services. These are the strings no
// rendering may contain.
type tokenRecorder struct {
	next http.RoundTripper

	mu      sync.Mutex
	issued  int // token responses: identical claims issued in one second give equal tokens
	access  map[string]bool
	refresh map[string]bool
	sent    map[string]bool
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if auth, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.keep(r.sent, auth)
	}
	if req.Body != nil && strings.Contains(req.URL.Path, "/oauth2/") {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := parseForm(body); err == nil {
			for _, k := range []string{"client_secret", "refresh_token", "client_assertion"} {
				r.keep(r.sent, form.Get(k))
			}
		}
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/oauth2/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &tr) == nil && tr.AccessToken != "" {
		r.mu.Lock()
		r.issued++
		r.mu.Unlock()
		r.keep(r.access, tr.AccessToken)
		r.keep(r.refresh, tr.RefreshToken)
	}
	return resp, nil
}

func (r *tokenRecorder) keep(set map[string]bool, v string) {
	if v == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	set[v] = true
}

func (r *tokenRecorder) all() (issued int, access, refresh, sent []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return r.issued, keys(r.access), keys(r.refresh), keys(r.sent)
}

func parseForm(body []byte) (interface{ Get(string) string }, error) {
	req, err := http.NewRequest(http.MethodPost, "https://form.invalid/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil {
		return nil, err
	}
	return req.PostForm, nil
}

// subject is one value to render, by a name for failure messages.
type subject struct {
	name string
	v    any
}

// withValues adds, for each pointer, the value it points to: fmt expands a struct behind a
// pointer only at the top level, so the value and the pointer render differently. The copy is
// made through reflect because the structs hold mutexes.
func withValues(subjects []subject) []subject {
	out := slices.Clone(subjects)
	for _, s := range subjects {
		if rv := reflect.ValueOf(s.v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			out = append(out, subject{s.name + " (value)", rv.Elem().Interface()})
		}
	}
	return out
}

// renderings is every way a program might print or log v.
func renderings(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out["fmt "+verb] = fmt.Sprintf(verb, v)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("client", "c", v, slog.Any("any", v))
	slog.New(slog.NewJSONHandler(&js, nil)).Info("client", "c", v, slog.Any("any", v))
	out["slog text"], out["slog json"] = text.String(), js.String()
	b, err := json.Marshal(v)
	if err != nil {
		out["encoding/json"] = err.Error()
	} else {
		out["encoding/json"] = string(b)
	}
	return out
}

func TestNoConfigOrClientRendersACredential(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := testserver.NewT(t, testserver.Options{Seed: 5, Tenants: 2, MinUsers: 2, MaxUsers: 3})
	rec := &tokenRecorder{next: srv.HTTPClient().Transport, access: map[string]bool{}, refresh: map[string]bool{}, sent: map[string]bool{}}
	hc := &http.Client{Transport: rec}
	customer := srv.World.Tenants[0].ID
	cippCreds, app := srv.CIPPCredentials(), srv.PartnerApp()
	firstRefresh := srv.PartnerRefreshToken()

	var rotatedMu sync.Mutex
	var rotated []string
	onRotate := func(_ context.Context, s tenantsync.Secret) error {
		rotatedMu.Lock()
		defer rotatedMu.Unlock()
		rotated = append(rotated, s.Reveal())
		return nil
	}

	// transport: both Entra token sources, and a Client that sends a token.
	entra := func(scope string) transport.EntraConfig {
		return transport.EntraConfig{AuthorityHost: srv.EntraURL(), TenantID: app.TenantID, ClientID: app.ClientID,
			Secret: tenantsync.NewSecret(app.Secret), Scope: scope, HTTPClient: hc, Service: "leaktest"}
	}
	entraCfg := entra(graphScope)
	cc, err := transport.NewClientCredentials(entraCfg)
	require.NoError(t, err)
	_, err = cc.Token(ctx, customer)
	require.NoError(t, err)
	rs, err := transport.NewRefreshTokenSource(entra(pcScope), tenantsync.NewSecret(firstRefresh), onRotate)
	require.NoError(t, err)
	_, err = rs.Token(ctx, "")
	require.NoError(t, err)
	rsGraph, err := rs.ForScope(graphScope)
	require.NoError(t, err)
	_, err = rsGraph.Token(ctx, "")
	require.NoError(t, err)
	budget, limits := transport.NewBudget(0), transport.NewLimits(transport.GraphRules()...)
	trCfg := transport.Config{Service: "graph", BaseURL: srv.GraphURL(), HTTPClient: hc, Tokens: cc, Budget: budget, Limits: limits}
	tc, err := transport.New(trCfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(transport.WithTenant(ctx, customer), http.MethodGet, srv.GraphURL()+"/v1.0/organization", nil)
	require.NoError(t, err)
	resp, err := tc.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()

	// cipp.
	cippCfg := cipp.Config{BaseURL: srv.CIPPURL(), TenantID: cippCreds.TenantID, ClientID: cippCreds.ClientID,
		Secret: tenantsync.NewSecret(cippCreds.Secret)}
	cc2, err := cipp.NewClient(cippCfg, cipp.WithHTTPClient(hc), cipp.WithAuthorityHost(srv.EntraURL()))
	require.NoError(t, err)
	_, err = cc2.Me(ctx)
	require.NoError(t, err)

	// graph, app-only and as the partner user (a refresh-token chain of its own).
	graphCfg := graph.Config{PartnerTenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: tenantsync.NewSecret(app.Secret),
		BaseURL: srv.GraphURL(), AuthorityHost: srv.EntraURL(), HTTPClient: hc}
	gApp, err := graph.NewClient(graphCfg)
	require.NoError(t, err)
	_, err = gApp.Organization(ctx, customer)
	require.NoError(t, err)
	graphUserCfg := graphCfg
	graphUserCfg.Auth, graphUserCfg.RefreshToken, graphUserCfg.OnRefreshTokenRotated = graph.PartnerUser, tenantsync.NewSecret(firstRefresh), onRotate
	gUser, err := graph.NewClient(graphUserCfg)
	require.NoError(t, err)
	_, err = gUser.Organization(ctx, customer)
	require.NoError(t, err)

	// partnercenter, on the partner admin's refresh token: Partner Center and Graph tokens.
	pcCfg := partnercenter.Config{PartnerTenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: tenantsync.NewSecret(app.Secret),
		RefreshToken: tenantsync.NewSecret(firstRefresh), OnRefreshTokenRotated: onRotate, AuthorityHost: srv.EntraURL(),
		PartnerCenterURL: srv.PartnerCenterURL(), GraphURL: srv.GraphURL(), HTTPClient: hc}
	pc, err := partnercenter.NewClient(pcCfg)
	require.NoError(t, err)
	_, err = pc.AllCustomers(ctx)
	require.NoError(t, err)
	_, err = pc.AllRelationships(ctx)
	require.NoError(t, err)

	conn := store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{"clientId":"x"}`),
		Secret: store.NewSecret(connectionSecret)}

	subjects := withValues([]subject{
		{"transport.EntraConfig", &entraCfg}, {"transport.Config", &trCfg}, {"*transport.Client", tc},
		{"*transport.ClientCredentials", cc}, {"*transport.RefreshTokenSource", rs},
		{"*transport.RefreshTokenSource (ForScope)", rsGraph}, {"*transport.Budget", budget}, {"*transport.Limits", limits},
		{"cipp.Config", &cippCfg}, {"*cipp.Client", cc2}, {"*cipp.Source", cipp.NewSource(cc2)}, {"*cipp.Writer", cipp.NewWriter(cc2)},
		{"graph.Config", &graphCfg}, {"graph.Config (partner user)", &graphUserCfg}, {"*graph.Client", gApp},
		{"*graph.Client (partner user)", gUser}, {"*graph.Source", graph.NewSource(gUser)}, {"*graph.Writer", graph.NewWriter(gUser)},
		{"partnercenter.Config", &pcCfg}, {"*partnercenter.Client", pc}, {"*partnercenter.Discovery", pc.Discovery()},
		{"store.Connection", &conn},
	})

	issued, access, refresh, sent := rec.all()
	// The recorder must have seen what the clients hold, or the test proves nothing: an access
	// token per token request, and rotated refresh tokens from the three chains.
	require.GreaterOrEqual(t, issued, 7, "token responses: transport x3, cipp, graph x2, partnercenter x2")
	require.NotEmpty(t, access)
	require.GreaterOrEqual(t, len(refresh), 3, "refresh tokens rotated")
	rotatedMu.Lock()
	require.NotEmpty(t, rotated)
	for _, r := range rotated {
		require.Contains(t, refresh, r, "every rotated token passed the recorder")
	}
	rotatedMu.Unlock()

	secrets := map[string]string{"CIPP client secret": cippCreds.Secret, "partner app secret": app.Secret,
		"first refresh token": firstRefresh, "connection secret": connectionSecret}
	for i, v := range access {
		secrets[fmt.Sprintf("access token %d", i)] = v
	}
	for i, v := range refresh {
		secrets[fmt.Sprintf("refresh token %d", i)] = v
	}
	for i, v := range sent {
		secrets[fmt.Sprintf("sent credential %d", i)] = v
	}

	for _, s := range subjects {
		for how, out := range renderings(s.v) {
			lower := strings.ToLower(out)
			for what, secret := range secrets {
				if strings.Contains(out, secret) || strings.Contains(lower, fmt.Sprintf("%x", secret)) {
					t.Errorf("%s rendered with %s shows the %s", s.name, how, what)
				}
			}
		}
	}
	assert.Contains(t, fmt.Sprintf("%+v", cippCfg), tenantsync.Redacted, "a configured secret shows as redacted, not as nothing")
}
