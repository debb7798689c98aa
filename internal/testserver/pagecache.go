package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// pageCache holds the fake Graph's GET answers as bytes, rendered once per (tenant, request)
// and valid while the tenant's change number stays what it was when they were rendered
// (Options.PageCache).
type pageCache struct {
	mu      sync.Mutex
	entries map[string]pageEntry
	raw     map[string]httpEntry // CIPP answers, as written
}

type pageEntry struct {
	seq     int64
	status  int
	headers map[string]string
	body    json.RawMessage
}

// maxPages bounds the cache: past it, it starts again empty (delta tokens make new keys every
// cycle, and the pages of old ones are never asked for again).
const maxPages = 200000

// InvalidatePages drops every page the fake Graph cached (Options.PageCache): for a test that
// changed a World's fields directly rather than through its methods.
func (s *Server) InvalidatePages() {
	if s.pages == nil {
		return
	}
	s.pages.mu.Lock()
	s.pages.entries = map[string]pageEntry{}
	s.pages.raw = map[string]httpEntry{}
	s.pages.mu.Unlock()
}

// cacheable reports whether the call's answers may come from the cache: an app-only call to a
// tenant with no injected Graph fault and no custom app permissions, which change answers
// without a change number.
func (g *graphCall) cacheable() bool {
	id := strings.ToLower(g.tenant.ID)
	g.s.gmu.Lock()
	defer g.s.gmu.Unlock()
	_, faulted := g.s.graphFaults[id]
	_, grants := g.s.appGrants[g.tenant.ID]
	// A user's token is checked against its GDAP roles at every request: only app-only calls
	// are cached.
	return !faulted && !grants && g.claims.UserID == ""
}

// cached answers a GET from the cache, or renders it with render and keeps the bytes of a
// 200 answer.
func (c *pageCache) cached(g *graphCall, path string, q url.Values, render func() *graphResult) *graphResult {
	if !g.cacheable() {
		return render()
	}
	// The raw query, not q.Encode(): a page's nextLink repeats the query as the client wrote
	// it, so two spellings of one query are two pages.
	key := g.tenant.ID + "|" + g.version + path + "?" + g.rawQuery
	seq := g.tenant.Seq()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.seq == seq {
		h := make(map[string]string, len(e.headers)+1)
		for k, v := range e.headers {
			h[k] = v
		}
		h["request-id"] = randomGUID()
		return &graphResult{status: e.status, headers: h, body: e.body}
	}
	res := render()
	if _, csv := res.body.(rawBody); csv || res.status != http.StatusOK || res.body == nil || g.tenant.Seq() != seq {
		return res
	}
	b, err := json.Marshal(res.body)
	if err != nil {
		return res
	}
	h := map[string]string{}
	for k, v := range res.headers {
		if k != "request-id" {
			h[k] = v
		}
	}
	c.mu.Lock()
	if len(c.entries) >= maxPages {
		c.entries = map[string]pageEntry{}
	}
	c.entries[key] = pageEntry{seq: seq, status: res.status, headers: h, body: b}
	c.mu.Unlock()
	res.body = json.RawMessage(b)
	return res
}

// cippListEndpoints are the CIPP reads whose answers are cached (Options.PageCache).
var cippListEndpoints = map[string]bool{
	"listusers": true, "listmailboxes": true, "listdevices": true, "listdomains": true, "listlicenses": true,
	"listmfausers": true, "listconditionalaccesspolicies": true, "listgraphrequest": true, "listdbcache": true,
}

// cippPageKey returns the cache key of a CIPP read, and whether it may be cached: a GET of a
// list endpoint about a managed tenant (or ListDBCache), with no recorded answers and no
// failing tenant. The key carries the change numbers the answer depends on: the tenant's, or
// every tenant's and the reporting database's state for ListDBCache.
func (s *Server) cippPageKey(r *http.Request, endpoint string, c *cippRequest) (string, bool) {
	if s.pages == nil || r.Method != http.MethodGet || !cippListEndpoints[endpoint] || s.cippRecordedOn.Load() {
		return "", false
	}
	s.cippMu.Lock()
	failing := len(s.cippFailing) > 0
	db := fmt.Sprintf("%d/%d/%t", s.dbRefresh.UnixNano(), len(s.dbMissing), s.dbAbsent)
	s.cippMu.Unlock()
	if failing {
		return "", false
	}
	key := "cipp|" + endpoint + "?" + r.URL.RawQuery + "|"
	switch {
	case c.t != nil:
		return key + c.t.ID + "@" + strconv.FormatInt(c.t.Seq(), 10), true
	case endpoint == "listdbcache":
		var sum int64
		s.World.mu.RLock()
		for _, t := range s.World.Tenants {
			sum += t.Seq()
			if t.InCIPP {
				sum++
			}
		}
		s.World.mu.RUnlock()
		return key + db + "@" + strconv.FormatInt(sum, 10), true
	}
	return "", false
}

// pageRecorder keeps what a handler writes.
type pageRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header { return p.h }
func (p *pageRecorder) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
func (p *pageRecorder) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return p.body.Write(b)
}

type httpEntry struct {
	header http.Header
	body   []byte
}

// cachedHTTP answers from the bytes a handler wrote for the same key, or runs it and keeps a
// 200 answer.
func (c *pageCache) cachedHTTP(w http.ResponseWriter, key string, handle func(http.ResponseWriter)) {
	c.mu.Lock()
	e, ok := c.raw[key]
	c.mu.Unlock()
	if !ok {
		rec := &pageRecorder{h: http.Header{}}
		handle(rec)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		e = httpEntry{header: rec.h, body: rec.body.Bytes()}
		if rec.status == http.StatusOK {
			c.mu.Lock()
			if len(c.raw) >= maxPages {
				c.raw = map[string]httpEntry{}
			}
			c.raw[key] = e
			c.mu.Unlock()
		}
		for k, v := range e.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(e.body)
		return
	}
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.body)
}
