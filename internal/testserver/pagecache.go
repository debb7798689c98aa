package testserver

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// pageCache holds the fake Graph's GET answers as bytes, rendered once per (tenant, request)
// and valid while the tenant's change number stays what it was when they were rendered
// (Options.PageCache).
type pageCache struct {
	mu      sync.Mutex
	entries map[string]pageEntry
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
	s.pages.mu.Unlock()
}

// cacheable reports whether the tenant's answers may come from the cache: no injected Graph
// fault and no custom app permissions, which change answers without a change number.
func (g *graphCall) cacheable() bool {
	id := strings.ToLower(g.tenant.ID)
	g.s.gmu.Lock()
	defer g.s.gmu.Unlock()
	_, faulted := g.s.graphFaults[id]
	_, grants := g.s.appGrants[g.tenant.ID]
	return !faulted && !grants
}

// cached answers a GET from the cache, or renders it with render and keeps the bytes of a
// 200 answer.
func (c *pageCache) cached(g *graphCall, path string, q url.Values, render func() *graphResult) *graphResult {
	if !g.cacheable() {
		return render()
	}
	key := g.tenant.ID + "|" + g.version + path + "?" + q.Encode()
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
	if res.status != http.StatusOK || res.body == nil || g.tenant.Seq() != seq {
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
