package partnercenter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync/transport"
)

const (
	testPartnerTenant = "11111111-2222-4333-8444-555555555555"
	tenantA           = "aaaaaaaa-0000-4000-8000-000000000001"
	tenantB           = "bbbbbbbb-0000-4000-8000-000000000002"
	tenantC           = "cccccccc-0000-4000-8000-000000000003"
)

// staticTokens hands out a fixed token per tenant and records which tenants asked.
type staticTokens struct {
	mu      sync.Mutex
	tenants []string
}

func (s *staticTokens) Token(_ context.Context, tenant string) (*oauth2.Token, error) {
	s.mu.Lock()
	s.tenants = append(s.tenants, tenant)
	s.mu.Unlock()
	return &oauth2.Token{AccessToken: "tok-" + tenant, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func (s *staticTokens) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tenants...)
}

// fakes mounts a Partner Center handler under /pc and a Graph handler under /graph of one
// httptest server, so absolute-URL mistakes (dropping the prefix) show.
type fakes struct {
	srv       *httptest.Server
	pcTokens  *staticTokens
	grTokens  *staticTokens
	graphBase string // srv.URL + "/graph"
	pcBase    string
}

func newFakes(t *testing.T, pc, graph http.HandlerFunc) *fakes {
	t.Helper()
	f := &fakes{pcTokens: &staticTokens{}, grTokens: &staticTokens{}}
	mux := http.NewServeMux()
	if pc != nil {
		mux.Handle("/pc/", http.StripPrefix("/pc", pc))
	}
	if graph != nil {
		mux.Handle("/graph/", http.StripPrefix("/graph", graph))
	}
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.graphBase = f.srv.URL + "/graph"
	f.pcBase = f.srv.URL + "/pc"
	return f
}

func (f *fakes) config() Config {
	return Config{
		PartnerTenantID:     testPartnerTenant,
		PartnerCenterTokens: f.pcTokens,
		GraphTokens:         f.grTokens,
		PartnerCenterURL:    f.pcBase,
		GraphURL:            f.graphBase,
		Settings: transport.Settings{
			AllowInsecureHTTP: true,
			MaxRetries:        1,
			MinBackoff:        time.Millisecond,
		},
	}
}

func (f *fakes) client(t *testing.T, mut ...func(*Config)) *Client {
	t.Helper()
	cfg := f.config()
	for _, m := range mut {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	require.NoError(t, err)
	return c
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
