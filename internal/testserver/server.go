package testserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Service names, used in faults and request counts.
const (
	ServiceEntra         = "entra"
	ServiceCIPP          = "cipp"
	ServiceGraph         = "graph"
	ServicePartnerCenter = "partnercenter"
)

// Options configures a fake.
type Options struct {
	// Seed makes the generated World reproducible.
	Seed int64
	// Tenants is the number of customer tenants (default 5).
	Tenants int
	// Sizes, when set, gives the user count of the first len(Sizes) tenants.
	Sizes []int
	// MinUsers and MaxUsers bound the user count of the other tenants (default 5 to 60).
	MinUsers, MaxUsers int
	// Latency is added to every request, before any fault.
	Latency time.Duration
	// World, when set, is served instead of a generated one.
	World *World
	// TokenLifetime is the lifetime of issued access tokens (default DefaultTokenLifetime,
	// 3599s); SetTokenLifetime changes it while the fake runs.
	TokenLifetime time.Duration
	// PageCache makes the fake Graph answer each GET, and the fake CIPP each list read, from
	// bytes rendered once per (tenant, request, page), so a benchmark measures the client
	// rather than the fake's rendering. A page is rendered again once the tenant's users change
	// through the World's methods (its change number moves); a tenant with injected Graph
	// faults or custom app permissions, and a CIPP with failing tenants or recorded answers,
	// are never cached. A test that changes a World's fields directly calls InvalidatePages.
	PageCache bool
	// TokenCache makes the fake Entra ID answer a token request with the access token it
	// issued for the same app, tenant, audience, user and scope while at least half its
	// lifetime remains (expires_in says what remains), so a benchmark measures the client
	// rather than the fake's RSA signatures: each is milliseconds of CPU, and a partner's
	// tenants are a token each for every engine process.
	TokenCache bool
	// RecordSpans keeps, until ResetCounts, when each request arrived and was answered, for
	// which tenant and from which program (RequestSpans): the scale-out benchmark's proof that
	// no tenant was synced by two engines at once. RequestLog records arrivals only.
	RecordSpans bool
}

// RequestSpan is one request the fake received, with Options.RecordSpans.
type RequestSpan struct {
	Service string
	Tenant  string // "" when the request names no tenant
	// UserAgent is the caller's User-Agent header: transport.Settings.UserAgent names the
	// calling program in it.
	UserAgent string
	// Arrived is when the request arrived; Done when its handler returned (latency included).
	Arrived, Done time.Time
}

// Server is the running fake: one TLS listener per service, all trusting one CA.
type Server struct {
	World *World

	entra, cipp, graph, pc *httptest.Server
	opts                   Options
	cert                   *x509.Certificate

	latency atomic.Int64 // nanoseconds

	mu     sync.Mutex
	counts map[countKey]int
	// served holds the fake's own service time of each request since ResetCounts, by service:
	// from its arrival to its handler's return, without the injected latency.
	served map[string][]time.Duration
	spans  []RequestSpan // with Options.RecordSpans

	pages *pageCache // nil unless Options.PageCache

	faults    faultSet
	auth      *authority
	closeOnce sync.Once

	transportOnce sync.Once
	transport     *http.Transport
	graphState
	cippState
	pcState
	connect connectState
	// calls logs the Graph and CIPP calls the workflows' tests read (ServedCalls).
	calls callLog
	// cippOffboardScheduled makes ExecOffboardUser answer with a scheduled task.
	cippOffboardScheduled atomic.Bool
}

type countKey struct{ service, tenant string }

// New generates (or takes) a World and starts the four services.
func New(opts Options) (*Server, error) {
	for _, n := range opts.Sizes {
		if n < 0 {
			return nil, fmt.Errorf("testserver: Options.Sizes holds a negative user count (%d)", n)
		}
	}
	if opts.MinUsers < 0 || opts.Latency < 0 || opts.TokenLifetime < 0 {
		return nil, fmt.Errorf("testserver: Options.MinUsers, Latency and TokenLifetime must not be negative")
	}
	if w := opts.World; w != nil && (w.PartnerTenantID == "" || w.PartnerDomain == "") {
		return nil, fmt.Errorf("testserver: Options.World needs PartnerTenantID and PartnerDomain (the partner's token endpoint and admin live there)")
	}
	if opts.Tenants <= 0 && opts.World == nil {
		opts.Tenants = 5
	}
	if opts.MinUsers <= 0 {
		opts.MinUsers = 5
	}
	if opts.MaxUsers < opts.MinUsers {
		opts.MaxUsers = max(60, opts.MinUsers)
	}
	s := &Server{opts: opts, counts: map[countKey]int{}, served: map[string][]time.Duration{}}
	if opts.PageCache {
		s.pages = &pageCache{entries: map[string]pageEntry{}, raw: map[string]httpEntry{}}
	}
	s.faults.init(opts.Seed)
	s.latency.Store(int64(opts.Latency))
	s.dbRefresh = time.Now().Add(-time.Hour)
	if opts.World != nil {
		s.World = opts.World
	} else {
		s.World = Generate(opts)
	}
	s.World.index()
	s.auth = newAuthority(s)

	s.entra = s.start(ServiceEntra, s.entraHandler())
	// The CA of every listener is the same httptest certificate.
	s.cert = s.entra.Certificate()
	s.cipp = s.start(ServiceCIPP, s.cippHandler())
	s.graph = s.start(ServiceGraph, s.graphHandler())
	s.pc = s.start(ServicePartnerCenter, s.partnerCenterHandler())
	return s, nil
}

// NewT starts a fake for a test and closes it when the test ends.
func NewT(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *Server) start(service string, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(s.logRequests(service, s.middleware(service, s.extend(service, h))))
	srv.EnableHTTP2 = false
	srv.Config.ErrorLog = log.New(quietLog{os.Stderr}, "testserver "+service+": ", log.LstdFlags)
	srv.StartTLS()
	return srv
}

// Close stops every listener, ending requests held by Hang faults. Calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.transportOnce.Do(func() {}) // orders the read of s.transport after any HTTPClient call
		if s.transport != nil {
			s.transport.CloseIdleConnections()
		}
		for _, srv := range []*httptest.Server{s.entra, s.cipp, s.graph, s.pc} {
			if srv != nil {
				srv.CloseClientConnections()
				srv.Close()
			}
		}
	})
}

// EntraURL is the base of the fake login.microsoftonline.com; an authority is EntraURL()+"/"+tenant.
func (s *Server) EntraURL() string { return s.entra.URL }

// CIPPURL is the base of the fake CIPP-API Function App (endpoints live under /api/).
func (s *Server) CIPPURL() string { return s.cipp.URL }

// GraphURL is the base of the fake graph.microsoft.com (the client appends /v1.0 or /beta).
func (s *Server) GraphURL() string { return s.graph.URL }

// PartnerCenterURL is the base of the fake api.partnercenter.microsoft.com (paths start with /v1/).
func (s *Server) PartnerCenterURL() string { return s.pc.URL }

// CertPool returns a pool that trusts the fake's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.cert)
	return p
}

// CACertPEM returns the fake's certificate in PEM form, for clients in other processes.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

// HTTPClient returns a new client that trusts the fake's certificate. The clients share one
// transport, so connections (and TLS handshakes) are reused across them.
func (s *Server) HTTPClient() *http.Client {
	s.transportOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
		tr.MaxIdleConnsPerHost = 64
		s.transport = tr
	})
	return &http.Client{Transport: s.transport}
}

// SetLatency changes the latency added to every request.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Requests returns how many requests a service received for a tenant ("" counts requests whose
// tenant is unknown, "*" counts all of the service). Retries count.
func (s *Server) Requests(service, tenant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenant == "*" {
		n := 0
		for k, v := range s.counts {
			if k.service == service {
				n += v
			}
		}
		return n
	}
	return s.counts[countKey{service, tenant}]
}

// Counts returns every request count: service → tenant ("" for requests whose tenant is
// unknown) → requests, retries included.
func (s *Server) Counts() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]int{}
	for k, v := range s.counts {
		if out[k.service] == nil {
			out[k.service] = map[string]int{}
		}
		out[k.service][k.tenant] = v
	}
	return out
}

// ResetCounts sets every request count to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[countKey]int{}
	s.served = map[string][]time.Duration{}
	s.spans = nil
}

// RequestSpans returns the requests received since the last ResetCounts, in the order they
// ended, when Options.RecordSpans is set (nil otherwise).
func (s *Server) RequestSpans() []RequestSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.spans)
}

// ServiceTimes returns the fake's own time for each request a service received since the last
// ResetCounts (or since New): from the request's arrival to the start of its answer, without
// the injected latency. It is what the fake adds to a round trip beyond the latency it was
// asked for; the transfer of the answer (TLS, the kernel, a client slow to read) is not in it.
func (s *Server) ServiceTimes(service string) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.served[service])
}

func (s *Server) recordServed(service string, d time.Duration) {
	s.mu.Lock()
	s.served[service] = append(s.served[service], d)
	s.mu.Unlock()
}

func (s *Server) count(service, tenant string) {
	s.mu.Lock()
	s.counts[countKey{service, tenant}]++
	s.mu.Unlock()
}

// middleware counts the request, adds latency and applies injected faults before h runs.
func (s *Server) middleware(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		tenant := s.requestTenant(service, r)
		s.count(service, tenant)
		if s.opts.RecordSpans {
			defer func() {
				sp := RequestSpan{Service: service, Tenant: tenant, UserAgent: r.UserAgent(), Arrived: start, Done: time.Now()}
				s.mu.Lock()
				s.spans = append(s.spans, sp)
				s.mu.Unlock()
			}()
		}
		var slept time.Duration
		if d := time.Duration(s.latency.Load()); d > 0 {
			t0 := time.Now()
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				// The client left: drop the connection rather than send an empty 200 that a
				// response racing the client's cancellation would read as an answer.
				dropConnection(w)
				return
			}
			slept = time.Since(t0)
		}
		tw := &firstByte{ResponseWriter: w}
		defer func() {
			end := tw.at
			if end.IsZero() {
				end = time.Now()
			}
			s.recordServed(service, end.Sub(start)-slept)
		}()
		if s.applyFault(service, tenant, tw, r, h) {
			return
		}
		h.ServeHTTP(tw, r)
	})
}

// firstByte notes when a handler starts its answer: the fake's service time ends there, and
// what follows is the transfer, which a client busy elsewhere slows by reading late.
type firstByte struct {
	http.ResponseWriter
	at time.Time
}

func (f *firstByte) WriteHeader(status int) {
	if f.at.IsZero() {
		f.at = time.Now()
	}
	f.ResponseWriter.WriteHeader(status)
}

func (f *firstByte) Write(b []byte) (int, error) {
	if f.at.IsZero() {
		f.at = time.Now()
	}
	return f.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (faults hijack it).
func (f *firstByte) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// String names the listeners' URLs, for test logs.
func (s *Server) String() string {
	return fmt.Sprintf("testserver(entra=%s cipp=%s graph=%s partnercenter=%s)", s.EntraURL(), s.CIPPURL(), s.GraphURL(), s.PartnerCenterURL())
}

// quietLog drops net/http's "TLS handshake error" lines: clients closed by a test, and every
// connection still opening when Close stops the listeners, cut handshakes short, and those lines
// would bury the ones that matter (a handler's panic) in a test's or the fakeserver's output.
type quietLog struct{ w io.Writer }

func (q quietLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("TLS handshake error")) {
		return len(p), nil
	}
	return q.w.Write(p)
}
