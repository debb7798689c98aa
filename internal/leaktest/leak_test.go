// Package leaktest proves that no configuration or client of tenantsync renders a credential:
// every exported config and client type of transport, cipp, graph and partnercenter, and
// store.Connection, is built with known secrets, and those that take one with a certificate and
// its private key, made to fetch tokens from the fake services (so its caches hold an access
// token and its refresh-token chain a rotated token), then rendered every way a program might log
// or print it.
package leaktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/httpx"
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

	mu         sync.Mutex
	issued     int // token responses: identical claims issued in one second give equal tokens
	assertions int // token requests authenticated by a certificate's client assertion
	access     map[string]bool
	refresh    map[string]bool
	sent       map[string]bool
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
			if form.Get("client_assertion") != "" {
				r.mu.Lock()
				r.assertions++
				r.mu.Unlock()
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

func (r *tokenRecorder) assertionCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.assertions
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

// newCertificate returns an RSA key and a self-signed certificate for it, as an MSP would upload
// to the partner app's registration.
func newCertificate(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tenantsync leaktest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return key, cert
}

// keyMaterial is every spelling of the key's private parts a printer could produce: the private
// exponent, the primes and the CRT values in decimal (fmt and encoding/json of a big.Int), hex
// (%x) and base64 (of their bytes, and of the key's DER as PEM carries it). They are compared
// case-insensitively, which covers %X.
func keyMaterial(t *testing.T, k *rsa.PrivateKey) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, n := range map[string]*big.Int{"D": k.D, "P": k.Primes[0], "Q": k.Primes[1],
		"Dp": k.Precomputed.Dp, "Dq": k.Precomputed.Dq, "Qinv": k.Precomputed.Qinv} {
		require.NotNil(t, n, name)
		out["certificate's key "+name+" decimal"] = n.String()
		out["certificate's key "+name+" hex"] = n.Text(16)
		out["certificate's key "+name+" base64"] = base64.StdEncoding.EncodeToString(n.Bytes())[:40]
		out["certificate's key "+name+" base64url"] = base64.RawURLEncoding.EncodeToString(n.Bytes())[:40]
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	b64 := base64.StdEncoding.EncodeToString(der)
	out["certificate's key PKCS #8 base64"] = b64[len(b64)/2 : len(b64)/2+48] // its start is the same in every key
	return out
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

	// The partner app gets a certificate too, as an MSP uploads one next to the secret, so the
	// same app and refresh token authenticate both ways.
	rsaKey, cert := newCertificate(t)
	partnerReg := srv.App(app.ClientID)
	require.NotNil(t, partnerReg)
	partnerReg.Certs = []*x509.Certificate{cert}
	srv.RegisterApp(*partnerReg)
	key, certs := tenantsync.NewPrivateKey(rsaKey), []*x509.Certificate{cert}

	var rotatedMu sync.Mutex
	var rotated []string
	onRotate := func(_ context.Context, s tenantsync.Secret) error {
		rotatedMu.Lock()
		defer rotatedMu.Unlock()
		rotated = append(rotated, s.Reveal())
		return nil
	}

	// entra: both token sources; httpx: the HTTP stack sending a token.
	entraConfig := func(scope string) entra.Config {
		return entra.Config{AuthorityHost: srv.EntraURL(), TenantID: app.TenantID, ClientID: app.ClientID,
			Secret: tenantsync.NewSecret(app.Secret), Scope: scope, HTTPClient: hc, Service: "leaktest"}
	}
	entraCfg := entraConfig(graphScope)
	cc, err := entra.NewClientCredentials(entraCfg)
	require.NoError(t, err)
	_, err = cc.Token(ctx, customer)
	require.NoError(t, err)
	rs, err := entra.NewRefreshTokenSource(entraConfig(pcScope), tenantsync.NewSecret(firstRefresh), onRotate)
	require.NoError(t, err)
	_, err = rs.Token(ctx, "")
	require.NoError(t, err)
	rsGraph, err := rs.ForScope(graphScope)
	require.NoError(t, err)
	_, err = rsGraph.Token(ctx, "")
	require.NoError(t, err)
	// The same two token sources, authenticated by the certificate: MSAL's assertion and the
	// refresh-token source's own.
	entraCertCfg := entraConfig(graphScope)
	entraCertCfg.Secret, entraCertCfg.Certificates, entraCertCfg.Key = tenantsync.Secret{}, certs, key
	// As a program holds it before NewClientCredentials fills in an HTTP client, which
	// encoding/json cannot encode (so a config with one renders only as an error there).
	entraCertPlain := entraCertCfg
	entraCertPlain.HTTPClient = nil
	ccCert, err := entra.NewClientCredentials(entraCertCfg)
	require.NoError(t, err)
	_, err = ccCert.Token(ctx, customer)
	require.NoError(t, err)
	rsCert, err := entra.NewRefreshTokenSource(entraCertCfg, tenantsync.NewSecret(firstRefresh), onRotate)
	require.NoError(t, err)
	_, err = rsCert.Token(ctx, "")
	require.NoError(t, err)

	budget, limits := transport.NewBudget(0), transport.NewLimits(transport.GraphRules()...)
	settings := transport.Settings{HTTPClient: hc, Budget: budget, Limits: limits}
	trCfg := httpx.Config{Service: "graph", BaseURL: srv.GraphURL(), Tokens: cc, Settings: settings}
	tc, err := httpx.New(trCfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(httpx.WithTenant(ctx, customer), http.MethodGet, srv.GraphURL()+"/v1.0/organization", nil)
	require.NoError(t, err)
	resp, err := tc.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()

	// cipp.
	cippCfg := cipp.Config{
		BaseURL:       srv.CIPPURL(),
		TenantID:      cippCreds.TenantID,
		ClientID:      cippCreds.ClientID,
		Secret:        tenantsync.NewSecret(cippCreds.Secret),
		AuthorityHost: srv.EntraURL(),
		Settings:      transport.Settings{HTTPClient: hc},
	}
	cc2, err := cipp.NewClient(cippCfg)
	require.NoError(t, err)
	cippSrc, err := cipp.NewSource(cc2, cipp.SourceConfig{})
	require.NoError(t, err)
	_, err = cc2.Me(ctx)
	require.NoError(t, err)

	// graph, app-only and as the partner user (a refresh-token chain of its own).
	graphCfg := graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    tenantsync.NewSecret(app.Secret),
		BaseURL:         srv.GraphURL(),
		AuthorityHost:   srv.EntraURL(),
		Settings: transport.Settings{
			HTTPClient: hc,
		},
	}
	gApp, err := graph.NewClient(graphCfg)
	require.NoError(t, err)
	_, err = gApp.Organization(ctx, customer)
	require.NoError(t, err)
	graphUserCfg := graphCfg
	graphUserCfg.Auth, graphUserCfg.RefreshToken, graphUserCfg.OnRefreshTokenRotated = graph.PartnerUser, tenantsync.NewSecret(firstRefresh), onRotate
	gUser, err := graph.NewClient(graphUserCfg)
	require.NoError(t, err)
	graphSrc, err := graph.NewSource(gUser, graph.SourceConfig{})
	require.NoError(t, err)
	_, err = gUser.Organization(ctx, customer)
	require.NoError(t, err)

	graphCertCfg := graphCfg
	graphCertCfg.ClientSecret, graphCertCfg.Certificates, graphCertCfg.PrivateKey = tenantsync.Secret{}, certs, key
	gCert, err := graph.NewClient(graphCertCfg)
	require.NoError(t, err)
	_, err = gCert.Organization(ctx, customer)
	require.NoError(t, err)
	graphCertUserCfg := graphUserCfg
	graphCertUserCfg.ClientSecret, graphCertUserCfg.Certificates, graphCertUserCfg.PrivateKey = tenantsync.Secret{}, certs, key
	gCertUser, err := graph.NewClient(graphCertUserCfg)
	require.NoError(t, err)
	_, err = gCertUser.Organization(ctx, customer)
	require.NoError(t, err)

	// partnercenter, on the partner admin's refresh token: Partner Center and Graph tokens.
	pcCfg := partnercenter.Config{
		PartnerTenantID:       app.TenantID,
		ClientID:              app.ClientID,
		ClientSecret:          tenantsync.NewSecret(app.Secret),
		RefreshToken:          tenantsync.NewSecret(firstRefresh),
		OnRefreshTokenRotated: onRotate,
		AuthorityHost:         srv.EntraURL(),
		PartnerCenterURL:      srv.PartnerCenterURL(),
		GraphURL:              srv.GraphURL(),
		Settings: transport.Settings{
			HTTPClient: hc,
		},
	}
	pc, err := partnercenter.NewClient(pcCfg)
	require.NoError(t, err)
	_, err = pc.Customers(ctx)
	require.NoError(t, err)
	_, err = pc.Relationships(ctx)
	require.NoError(t, err)
	pcCertCfg := pcCfg
	pcCertCfg.ClientSecret, pcCertCfg.Certificates, pcCertCfg.PrivateKey = tenantsync.Secret{}, certs, key
	pcCert, err := partnercenter.NewClient(pcCertCfg)
	require.NoError(t, err)
	_, err = pcCert.Customers(ctx)
	require.NoError(t, err)
	_, err = pcCert.Relationships(ctx)
	require.NoError(t, err)

	conn := store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{"clientId":"x"}`),
		Secret: store.NewSecret(connectionSecret)}
	sealKey := make([]byte, 32)
	_, err = rand.Read(sealKey)
	require.NoError(t, err)
	sealing, err := store.NewStaticKeys("k1", map[string][]byte{"k1": sealKey})
	require.NoError(t, err)
	// A program's own configuration holding the provider, as a field fmt walks by reflection.
	type daemonConfig struct {
		Account string
		keys    store.StaticKeys
		Keys    *store.StaticKeys
	}
	withKeys := daemonConfig{Account: "msp", keys: *sealing, Keys: sealing}

	subjects := withValues([]subject{
		{"entra.Config", &entraCfg}, {"transport.Settings", &settings}, {"httpx.Config", &trCfg}, {"*httpx.Client", tc},
		{"*entra.ClientCredentials", cc}, {"*entra.RefreshTokenSource", rs},
		{"*entra.RefreshTokenSource (ForScope)", rsGraph}, {"*transport.Budget", budget}, {"*transport.Limits", limits},
		{"cipp.Config", &cippCfg}, {"*cipp.Client", cc2}, {"*cipp.Source", cippSrc}, {"*cipp.Writer", cipp.NewWriter(cc2)},
		{"graph.Config", &graphCfg}, {"graph.Config (partner user)", &graphUserCfg}, {"*graph.Client", gApp},
		{"*graph.Client (partner user)", gUser}, {"*graph.Source", graphSrc}, {"*graph.Writer", graph.NewWriter(gUser)},
		{"partnercenter.Config", &pcCfg}, {"*partnercenter.Client", pc}, {"*partnercenter.Discovery", pc.Discovery()},
		{"store.Connection", &conn},
		{"entra.Config (certificate)", &entraCertCfg}, {"entra.Config (certificate, no HTTP client)", &entraCertPlain}, {"*entra.ClientCredentials (certificate)", ccCert},
		{"*entra.RefreshTokenSource (certificate)", rsCert},
		{"graph.Config (certificate)", &graphCertCfg}, {"graph.Config (certificate, partner user)", &graphCertUserCfg},
		{"*graph.Client (certificate)", gCert}, {"*graph.Client (certificate, partner user)", gCertUser},
		{"partnercenter.Config (certificate)", &pcCertCfg}, {"*partnercenter.Client (certificate)", pcCert},
		{"tenantsync.PrivateKey", &key},
		{"*store.StaticKeys", sealing}, {"a struct holding store.StaticKeys", &withKeys},
	})

	issued, access, refresh, sent := rec.all()
	// The recorder must have seen what the clients hold, or the test proves nothing: an access
	// token per token request, and rotated refresh tokens from the three chains.
	require.GreaterOrEqual(t, issued, 14, "token responses: transport x5, cipp, graph x4, partnercenter x4")
	// MSAL's and the refresh-token source's assertions, each from transport, graph and
	// partnercenter: the fake accepted the certificate every way it is used.
	require.GreaterOrEqual(t, rec.assertionCount(), 5, "token requests signed with the certificate's key")
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

	material := keyMaterial(t, rsaKey)
	// The sealing key's bytes as fmt prints a []byte (%v: decimal), and as base64.
	material["sealing key decimal"] = strings.Trim(fmt.Sprint(sealKey), "[]")[:40]
	material["sealing key base64"] = base64.StdEncoding.EncodeToString(sealKey)[:24]
	secrets["sealing key"] = string(sealKey)
	// The needles find a bare key, or the check below proves nothing.
	require.Contains(t, fmt.Sprintf("%v", map[string][]byte{"k1": sealKey}), material["sealing key decimal"])
	// The needles find a bare key, or the check below proves nothing.
	require.Contains(t, renderings(rsaKey)["encoding/json"], material["certificate's key D decimal"])
	require.Contains(t, renderings(rsaKey)["fmt %x"], material["certificate's key D hex"])

	for _, s := range subjects {
		for how, out := range renderings(s.v) {
			lower := strings.ToLower(out)
			for what, secret := range secrets {
				if strings.Contains(out, secret) || strings.Contains(lower, fmt.Sprintf("%x", secret)) {
					t.Errorf("%s rendered with %s shows the %s", s.name, how, what)
				}
			}
			for what, needle := range material {
				if strings.Contains(lower, strings.ToLower(needle)) {
					t.Errorf("%s rendered with %s shows the %s", s.name, how, what)
				}
			}
		}
	}
	assert.Contains(t, fmt.Sprintf("%+v", cippCfg), tenantsync.Redacted, "a configured secret shows as redacted, not as nothing")
	assert.Contains(t, fmt.Sprintf("%+v", graphCertCfg), "PrivateKey:"+tenantsync.Redacted, "a configured key shows as redacted, not as nothing")
}
