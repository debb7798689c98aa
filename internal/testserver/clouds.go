package testserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Microsoft cloud the fake answers for: its login, Graph and Partner Center hosts and the
// resources its tokens are for. Kept apart from the SDK's own table on purpose, so a test that
// compares the two catches a wrong host on either side (learn.microsoft.com/graph/deployments,
// learn.microsoft.com/partner-center/developer/partner-center-rest-urls).
type fakeCloud struct {
	name                      string
	login, graph, partner     string // host names
	graphAudience, pcAudience string
	gdap                      bool
}

// Cloud names, as Request.Cloud reports them.
const (
	CloudGlobal    = "global"
	CloudUSGovHigh = "usgov-high"
	CloudUSGovDoD  = "usgov-dod"
	CloudChina     = "china"
)

var fakeClouds = []fakeCloud{
	{name: CloudGlobal, login: "login.microsoftonline.com", graph: "graph.microsoft.com", partner: "api.partnercenter.microsoft.com",
		graphAudience: AudienceGraph, pcAudience: AudiencePartnerCenter, gdap: true},
	// GCC High and DoD share the US Government authority; Partner Center for Microsoft Cloud for
	// US Government keeps the commercial host, reached with tokens from the US authority.
	{name: CloudUSGovHigh, login: "login.microsoftonline.us", graph: "graph.microsoft.us", partner: "api.partnercenter.microsoft.com",
		graphAudience: "https://graph.microsoft.us", pcAudience: AudiencePartnerCenter},
	{name: CloudUSGovDoD, login: "login.microsoftonline.us", graph: "dod-graph.microsoft.us", partner: "api.partnercenter.microsoft.com",
		graphAudience: "https://dod-graph.microsoft.us", pcAudience: AudiencePartnerCenter},
	{name: CloudChina, login: "login.chinacloudapi.cn", graph: "microsoftgraph.chinacloudapi.cn", partner: "partner.partnercenterapi.microsoftonline.cn",
		graphAudience: "https://microsoftgraph.chinacloudapi.cn", pcAudience: "https://partner.partnercenterapi.microsoftonline.cn"},
}

// hostService maps a Microsoft host name to the fake's service that answers it.
func hostService(host string) (service string, ok bool) {
	host = strings.ToLower(host)
	for _, c := range fakeClouds {
		switch host {
		case c.login:
			return ServiceEntra, true
		case c.graph:
			return ServiceGraph, true
		case c.partner:
			return ServicePartnerCenter, true
		}
	}
	return "", false
}

// Request is one request the fake received, as its request log keeps it.
type Request struct {
	Service string
	// Host is the Host the client addressed: a Microsoft host name when the client reached the
	// fake through CloudHTTPClient, else the listener's loopback address.
	Host   string
	Method string
	Path   string
	At     time.Time
}

// requestLog keeps the last maxLoggedRequests requests.
type requestLog struct {
	mu   sync.Mutex
	reqs []Request
}

const maxLoggedRequests = 100_000

// RequestLog returns the requests received since the fake started or ResetRequestLog, oldest
// first (at most the last 100,000).
func (s *Server) RequestLog() []Request {
	s.connect.log.mu.Lock()
	defer s.connect.log.mu.Unlock()
	return append([]Request(nil), s.connect.log.reqs...)
}

// ResetRequestLog empties the request log.
func (s *Server) ResetRequestLog() {
	s.connect.log.mu.Lock()
	s.connect.log.reqs = nil
	s.connect.log.mu.Unlock()
}

// logRequests records every request before anything else sees it, faults included.
func (s *Server) logRequests(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := &s.connect.log
		l.mu.Lock()
		if len(l.reqs) >= maxLoggedRequests {
			l.reqs = l.reqs[1:]
		}
		l.reqs = append(l.reqs, Request{Service: service, Host: strings.ToLower(r.Host), Method: r.Method, Path: r.URL.Path, At: time.Now()})
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// CloudHTTPClient returns a client that reaches the fake under Microsoft's own host names, for
// every cloud: login.microsoftonline.com/.us, login.chinacloudapi.cn, graph.microsoft.com/.us,
// dod-graph.microsoft.us, microsoftgraph.chinacloudapi.cn, api.partnercenter.microsoft.com and
// partner.partnercenterapi.microsoftonline.cn connect to the matching listener (port 443 or
// none), the TLS certificate is still verified (against the fake's CA), and the Host the SDK
// addressed reaches the fake, which answers as that cloud:
//   - absolute URLs in answers (nextLinks, the OpenID configuration) name the host asked;
//   - a token endpoint asked for another cloud's resource answers AADSTS500011, as Entra ID does;
//   - tokens carry the cloud's own audience (https://graph.microsoft.us, ...), and a service
//     refuses a token for another cloud's ("access tokens acquired for a national cloud
//     deployment are not interchangeable").
//
// Any other host is dialled as usual, so the listener URLs keep working.
func (s *Server) CloudHTTPClient() *http.Client {
	s.connect.clientOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err == nil && port == "443" {
				if svc, ok := hostService(host); ok {
					addr = s.listener(svc).Listener.Addr().String()
				}
			}
			return d.DialContext(ctx, network, addr)
		}
		// The fake's certificate names example.com and the loopback addresses; verifying it
		// under that name keeps TLS checked while the request names the Microsoft host.
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12, ServerName: "example.com"}
		tr.MaxIdleConnsPerHost = 64
		s.connect.transport = tr
	})
	return &http.Client{Transport: s.connect.transport}
}

// cloudOf returns the cloud whose host the request addressed, and whether it is a Microsoft
// host at all (false: the listener's own address, which answers as the global cloud).
func cloudOf(host string) (fakeCloud, bool) {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	for _, c := range fakeClouds {
		if h == c.login || h == c.graph || h == c.partner {
			if h == c.partner && c.name == CloudUSGovDoD {
				continue // the US Government's Partner Center host is listed once, under GCC High
			}
			return c, true
		}
	}
	return fakeClouds[0], false
}

// authorityClouds returns the clouds whose login host is host (GCC High and DoD share one); the
// listener's own address is the global cloud's.
func authorityClouds(host string) []fakeCloud {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	var out []fakeCloud
	for _, c := range fakeClouds {
		if c.login == h {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		out = fakeClouds[:1]
	}
	return out
}

// cloudAudiences lists the resources of every cloud, for splitScope.
func cloudAudiences() []string {
	var out []string
	for _, c := range fakeClouds {
		for _, a := range []string{c.graphAudience, c.pcAudience} {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// canonicalAudience maps a national cloud's audience to the global one of the same service,
// which the service handlers ask verifyBearer for; asCloud has already checked that the token's
// audience is the addressed cloud's.
func canonicalAudience(aud string) string {
	for _, c := range fakeClouds {
		switch aud {
		case c.graphAudience:
			return AudienceGraph
		case c.pcAudience:
			return AudiencePartnerCenter
		}
	}
	return aud
}

// asCloud makes a listener answer as the cloud whose host a request addressed. Requests to the
// listener's own address pass through untouched.
func (s *Server) asCloud(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cloud, named := cloudOf(r.Host)
		if named && cloud.name != CloudGlobal {
			s.connect.national.Store(true)
		}
		// Until a national cloud's host was asked, every token carries a global audience: the
		// listener's hot path skips decoding them.
		if (named || s.connect.national.Load()) && (service == ServicePartnerCenter || service == ServiceGraph) &&
			!checkAudience(w, r, service, cloud) {
			return
		}
		if service == ServiceEntra && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") && !checkScope(w, r) {
			return
		}
		if !named {
			h.ServeHTTP(w, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		body := bytes.ReplaceAll(rec.body.Bytes(), []byte(s.listener(service).URL), []byte("https://"+strings.ToLower(r.Host)))
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		if cl := rec.header.Get("Content-Length"); cl != "" {
			// Keep a declared length that differs from the body (a Truncate fault) as far off.
			if n, err := strconv.Atoi(cl); err == nil {
				w.Header().Set("Content-Length", strconv.Itoa(n+len(body)-rec.body.Len()))
			}
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

// checkScope refuses a token request for another cloud's resource, the way Entra ID refuses a
// resource it has no service principal for: each authority issues tokens for its own cloud's
// Graph and Partner Center only.
func checkScope(w http.ResponseWriter, r *http.Request) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return true // the token endpoint reports the malformed body
	}
	scopes := strings.Fields(form.Get("scope"))
	if res := form.Get("resource"); res != "" {
		scopes = append(scopes, strings.TrimSuffix(res, "/")+"/.default")
	}
	for _, sc := range scopes {
		res, _ := splitScope(sc)
		if res == "" || strings.HasPrefix(res, "api://") || slices.ContainsFunc(authorityClouds(r.Host), func(c fakeCloud) bool {
			return res == c.graphAudience || res == c.pcAudience
		}) {
			continue
		}
		writeAADError(w, r, http.StatusBadRequest, "invalid_resource", 500011,
			"The resource principal named "+res+" was not found in the tenant named "+r.PathValue("tenant")+
				". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")
		return false
	}
	return true
}

// checkAudience refuses a bearer token whose audience is not the addressed cloud's resource for
// the service ("access tokens acquired for a national cloud deployment are not interchangeable").
// A token the fake cannot read is left to the service's own check.
func checkAudience(w http.ResponseWriter, r *http.Request, service string, cloud fakeCloud) bool {
	c := bearerClaims(r)
	if c == nil {
		return true
	}
	want := cloud.graphAudience
	if service == ServicePartnerCenter {
		want = cloud.pcAudience
	}
	if c.Aud == want || !slices.Contains(cloudAudiences(), c.Aud) {
		return true
	}
	if service == ServiceGraph {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	} else {
		writePCError(w, r, http.StatusUnauthorized, pcCodeUnauthorized, "Unauthorized: the token's audience is not this cloud's Partner Center")
	}
	return false
}

// listener returns the httptest server of a service.
func (s *Server) listener(service string) *httptest.Server {
	switch service {
	case ServiceEntra:
		return s.entra
	case ServiceGraph:
		return s.graph
	case ServicePartnerCenter:
		return s.pc
	}
	return s.cipp
}

// bufferedResponse holds an answer so absolute URLs in it can be rewritten.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
