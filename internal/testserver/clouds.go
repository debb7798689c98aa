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
//   - an access token is accepted only by the services of the cloud whose authority issued it
//     ("access tokens acquired for a national cloud deployment are not interchangeable").
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

// tokenCloud remembers which cloud's authority issued a token; tokens of the listener and of
// the global authority are not recorded (unknown means global).
type tokenCloud struct {
	mu     sync.Mutex
	byHash map[string]string
}

func (t *tokenCloud) put(tok, cloud string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byHash == nil {
		t.byHash = map[string]string{}
	}
	t.byHash[tok] = cloud
}

func (t *tokenCloud) get(tok string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.byHash[tok]; ok {
		return c
	}
	return CloudGlobal
}

// asCloud makes a listener answer as the cloud whose host a request addressed. Requests to the
// listener's own address pass through untouched.
func (s *Server) asCloud(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cloud, named := cloudOf(r.Host)
		if service == ServicePartnerCenter || service == ServiceGraph {
			if !s.checkCloudToken(w, r, service, cloud) {
				return
			}
		}
		if !named {
			h.ServeHTTP(w, r)
			return
		}
		if service == ServiceEntra && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
			if !s.translateScope(w, r, cloud) {
				return
			}
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		body := bytes.ReplaceAll(rec.body.Bytes(), []byte(s.listener(service).URL), []byte("https://"+strings.ToLower(r.Host)))
		if service == ServiceEntra && rec.status == http.StatusOK && cloud.name != CloudGlobal {
			s.recordTokens(body, cloud.name)
		}
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

// translateScope checks that a token request asks for this cloud's resources and rewrites them
// to the names the fake's token endpoint knows; another cloud's resource is refused the way
// Entra ID refuses a resource it has no service principal for.
func (s *Server) translateScope(w http.ResponseWriter, r *http.Request, cloud fakeCloud) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return false
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		return true
	}
	var out []string
	for _, sc := range strings.Fields(form.Get("scope")) {
		switch {
		case strings.HasPrefix(sc, cloud.graphAudience+"/"):
			sc = AudienceGraph + strings.TrimPrefix(sc, cloud.graphAudience)
		case strings.HasPrefix(sc, cloud.pcAudience+"/"):
			sc = AudiencePartnerCenter + strings.TrimPrefix(sc, cloud.pcAudience)
		case strings.HasPrefix(sc, "https://"):
			res := sc[:strings.LastIndex(sc, "/")]
			writeAADError(w, r, http.StatusBadRequest, "invalid_resource", 500011,
				"The resource principal named "+res+" was not found in the tenant named "+r.PathValue("tenant")+
					". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")
			return false
		}
		out = append(out, sc)
	}
	if len(out) > 0 {
		form.Set("scope", strings.Join(out, " "))
	}
	enc := form.Encode()
	r.Body = io.NopCloser(strings.NewReader(enc))
	r.ContentLength = int64(len(enc))
	r.PostForm, r.Form = nil, nil
	return true
}

// recordTokens notes the access and refresh tokens of a national cloud's token answer.
func (s *Server) recordTokens(body []byte, cloud string) {
	for _, key := range []string{`"access_token":"`, `"refresh_token":"`} {
		if i := bytes.Index(body, []byte(key)); i >= 0 {
			rest := body[i+len(key):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				s.connect.tokens.put(string(rest[:j]), cloud)
			}
		}
	}
}

// checkCloudToken refuses a bearer token issued by the authority of a cloud the addressed host
// does not belong to. Partner Center's US Government API shares the commercial host, so there a
// token of the global or a US Government authority passes.
func (s *Server) checkCloudToken(w http.ResponseWriter, r *http.Request, service string, cloud fakeCloud) bool {
	_, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return true
	}
	issued := s.connect.tokens.get(strings.TrimSpace(tok))
	if issued == cloud.name {
		return true
	}
	if service == ServicePartnerCenter {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		for _, c := range fakeClouds {
			if c.name == issued && c.partner == host {
				return true
			}
		}
	}
	if service == ServiceGraph {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	} else {
		writePCError(w, r, http.StatusUnauthorized, pcCodeUnauthorized, "Unauthorized: the token was issued for another cloud")
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
