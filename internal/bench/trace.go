package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	stdsync "sync"
	"time"
)

// tracer counts the requests a client sends by method and path pattern (IDs elided), and the
// time they took, so a figure that misses its bound shows where the extra round trips go.
type tracer struct {
	next http.RoundTripper
	mu   stdsync.Mutex
	n    map[string]int
	took map[string]time.Duration
}

var idPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[^/]+\.onmicrosoft\.com`)

func newTracer(next http.RoundTripper) *tracer {
	return &tracer{next: next, n: map[string]int{}, took: map[string]time.Duration{}}
}

func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.Host + idPattern.ReplaceAllString(req.URL.Path, "{id}")
	if q := req.URL.Query(); q.Has("$skiptoken") || q.Has("$deltatoken") {
		key += "?" + strings.Join(slices.Sorted(func(yield func(string) bool) {
			for k := range q {
				if k == "$skiptoken" || k == "$deltatoken" {
					if !yield(k) {
						return
					}
				}
			}
		}), "&")
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	end := time.Now()
	requestSpan(req.Context(), start, end)
	t.mu.Lock()
	t.n[key]++
	t.took[key] += end.Sub(start)
	t.mu.Unlock()
	return resp, err
}

func (t *tracer) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.n)
	clear(t.took)
}

func (t *tracer) print(out io.Writer, indent string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.n))
	for k := range t.n {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return t.n[b] - t.n[a] })
	for i, k := range keys {
		if i == 10 {
			fmt.Fprintf(out, "%s... %d more\n", indent, len(keys)-i)
			break
		}
		fmt.Fprintf(out, "%s%6d x %s (mean %s)\n", indent, t.n[k], k, ms(t.took[k]/time.Duration(t.n[k])))
	}
}

// busy is the total time requests were in flight.
func (t *tracer) busy() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var d time.Duration
	for _, v := range t.took {
		d += v
	}
	return d
}

// printUse prints how many requests were in flight on average, against the cap on them when
// there is one (0: none): near the cap, the client keeps the pipe full and the gap to the bound
// is the service's response time above the injected latency; far below it, the client itself
// waits or serialises.
func (t *tracer) printUse(out io.Writer, wall time.Duration, requestCap int, latency time.Duration, trips int) {
	b := t.busy()
	mean := time.Duration(0)
	if trips > 0 {
		mean = b / time.Duration(trips)
	}
	allowed := "no cap"
	if requestCap > 0 {
		allowed = fmt.Sprintf("of %d allowed", requestCap)
	}
	fmt.Fprintf(out, "  requests in flight on average: %.1f (%s); mean round trip %s against the %s latency\n",
		b.Seconds()/wall.Seconds(), allowed, ms(mean), ms(latency))
}

func (t *tracer) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.n {
		n += v
	}
	return n
}
