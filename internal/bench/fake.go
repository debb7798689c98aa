package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// partner describes a generated partner: small tenants of MinUsers..MaxUsers users plus
// large ones of LargeUsers users each.
type partner struct {
	Seed       int64
	Small      int
	MinUsers   int
	MaxUsers   int
	Large      int
	LargeUsers int
}

func (p partner) String() string {
	s := fmt.Sprintf("%d small tenants (%d-%d users)", p.Small, p.MinUsers, p.MaxUsers)
	if p.Large > 0 {
		s += fmt.Sprintf(" + %d large (%d users)", p.Large, p.LargeUsers)
	}
	return s
}

// world generates the partner's tenants, every one reachable by both routes: the partner app
// consented, CIPP managing it with a fresh cache, Entra ID P1 (so MFA details answer), so that
// the figures measure syncing rather than the generator's share of broken tenants.
func (p partner) world() *testserver.World {
	sizes := make([]int, p.Large)
	for i := range sizes {
		sizes[i] = p.LargeUsers
	}
	w := testserver.Generate(testserver.Options{Seed: p.Seed, Tenants: p.Small + p.Large, Sizes: sizes,
		MinUsers: p.MinUsers, MaxUsers: p.MaxUsers})
	for _, t := range w.Tenants {
		t.Consented, t.InCIPP, t.CIPPStale, t.PremiumP1 = true, true, false, true
	}
	return w
}

// endpoints is what a client in another process needs to reach the parent's fake.
type endpoints struct {
	GraphURL      string
	EntraURL      string
	CIPPURL       string
	CAPEM         []byte
	PartnerTenant string
	ClientID      string
	Secret        string
	CIPPTenant    string
	CIPPClient    string
	CIPPSecret    string
	Tenants       []string
	// UserAgent, when set, names the engine in every request's User-Agent (the fake's spans
	// tell engines apart by it).
	UserAgent string
}

func endpointsOf(srv *testserver.Server, tenants []string) endpoints {
	app := srv.PartnerApp()
	cc := srv.CIPPCredentials()
	return endpoints{GraphURL: srv.GraphURL(), EntraURL: srv.EntraURL(), CIPPURL: srv.CIPPURL(), CAPEM: srv.CACertPEM(),
		PartnerTenant: app.TenantID, ClientID: app.ClientID, Secret: app.Secret,
		CIPPTenant: cc.TenantID, CIPPClient: cc.ClientID, CIPPSecret: cc.Secret, Tenants: tenants}
}

func (e endpoints) httpClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.CAPEM) {
		return nil, errors.New("the fake's CA certificate does not parse")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tr}, nil
}

// clients are the route clients of one engine, sharing one retry budget as the daemon does.
type clients struct {
	budget   *transport.Budget
	graph    *graph.Client
	cipp     *cipp.Client
	graphSrc *graph.Source // lists the endpoints' tenants
	cippSrc  *cipp.Source
}

func newClients(e endpoints, hc *http.Client, budget *transport.Budget, mailboxes graph.MailboxMode, cippCfg ...cipp.SourceConfig) (*clients, error) {
	var ts []tenantsync.Tenant
	for _, id := range e.Tenants {
		ts = append(ts, tenantsync.Tenant{ID: id})
	}
	g, err := graph.NewClient(graph.Config{
		PartnerTenantID: e.PartnerTenant,
		ClientID:        e.ClientID,
		ClientSecret:    tenantsync.NewSecret(e.Secret),
		BaseURL:         e.GraphURL,
		AuthorityHost:   e.EntraURL,
		Settings: transport.Settings{
			HTTPClient: hc,
			Budget:     budget,
			Limits:     transport.NewLimits(transport.GraphRules(hostOf(e.GraphURL))...),
			UserAgent:  e.UserAgent,
		},
	})
	if err != nil {
		return nil, err
	}
	gs, err := graph.NewSource(g, graph.SourceConfig{Tenants: ts, Mailboxes: mailboxes})
	if err != nil {
		return nil, err
	}
	c, err := newCIPPClient(e, hc, budget, nil)
	if err != nil {
		return nil, err
	}
	var sc cipp.SourceConfig
	if len(cippCfg) > 0 {
		sc = cippCfg[0]
	}
	cs, err := cipp.NewSource(c, sc)
	if err != nil {
		return nil, err
	}
	return &clients{budget: budget, graph: g, cipp: c, graphSrc: gs, cippSrc: cs}, nil
}

// newCIPPClient builds the CIPP client of the fake's admin API client, sharing budget;
// observer (may be nil) sees every attempt.
func newCIPPClient(e endpoints, hc *http.Client, budget *transport.Budget, observer func(transport.Attempt)) (*cipp.Client, error) {
	return cipp.NewClient(cipp.Config{
		BaseURL:       e.CIPPURL,
		TenantID:      e.CIPPTenant,
		ClientID:      e.CIPPClient,
		Secret:        tenantsync.NewSecret(e.CIPPSecret),
		AuthorityHost: e.EntraURL,
		Settings: transport.Settings{
			HTTPClient: hc,
			Budget:     budget,
			Limits:     transport.NewLimits(transport.CIPPRules(hostOf(e.CIPPURL))...),
			Observer:   observer,
		},
	})
}

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

// runChild re-executes this binary in a child mode with the endpoints on stdin and decodes the
// JSON result it prints on stdout.
func runChild(ctx context.Context, mode string, in any, out any, extra ...string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, append([]string{"-child", mode}, extra...)...)
	cmd.Stdin = strings.NewReader(string(data))
	cmd.Stderr = os.Stderr
	res, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("child %s: %w", mode, err)
	}
	return json.Unmarshal(res, out)
}

// childInput reads what runChild sent.
func childInput(v any) error {
	return json.NewDecoder(os.Stdin).Decode(v)
}

func childOutput(v any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}

// offsetClock is the engine's clock moved ahead on demand, so the steady-state cycle can make
// every tenant due without waiting an hour.
type offsetClock struct{ off atomicDuration }

func (c *offsetClock) Now() time.Time                         { return time.Now().Add(c.off.Load()) }
func (c *offsetClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *offsetClock) Advance(d time.Duration)                { c.off.Add(d) }

// Sleep waits d of real time, as the clock moves with it: the fake PSA's latency and timeouts.
func (c *offsetClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
