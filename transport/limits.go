package transport

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/time/rate"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/callctx"
)

type limitKey struct {
	rule   int
	host   string
	tenant string
}

type limiter struct {
	rl  *rate.Limiter // nil: no rate limit
	sem chan struct{} // nil: no concurrency cap
}

func (r *Rule) matches(req *http.Request) bool {
	if r.Host != "" && !strings.EqualFold(r.Host, req.URL.Host) && !strings.EqualFold(r.Host, req.URL.Hostname()) {
		return false
	}
	return r.PathPrefix == "" || strings.HasPrefix(req.URL.Path, r.PathPrefix)
}

func (l *Limits) get(key limitKey, r *Rule) *limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.by[key]; ok {
		return lim
	}
	lim := &limiter{}
	if r.Rate > 0 {
		lim.rl = rate.NewLimiter(rate.Limit(r.Rate), max(r.Burst, 1))
	}
	if r.Concurrency > 0 {
		lim.sem = make(chan struct{}, r.Concurrency)
	}
	l.by[key] = lim
	return lim
}

// Wait blocks until req may be sent under the first matching rule's limiter for its
// (host, tenant), the tenant being the one the service client tagged the request with. It
// returns early with ctx's error when ctx ends, and with ErrLimitExceeded when the limiter's
// next slot lies beyond ctx's deadline. The caller must call release once the response is finished with; release
// is never nil.
func (l *Limits) Wait(ctx context.Context, req *http.Request) (release func(), err error) {
	noop := func() {}
	if l == nil || req == nil || req.URL == nil {
		return noop, nil
	}
	idx := -1
	for i := range l.rules {
		if l.rules[i].matches(req) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return noop, nil
	}
	r := &l.rules[idx]
	tenant := callctx.Tenant(ctx)
	lim := l.get(limitKey{rule: idx, host: strings.ToLower(req.URL.Host), tenant: tenant}, r)
	release = noop
	if lim.sem != nil {
		select {
		case lim.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, waitCanceled(ctx, req, tenant)
		}
		var once sync.Once
		release = func() { once.Do(func() { <-lim.sem }) }
	}
	if lim.rl != nil {
		n := 1
		if r.Cost != nil {
			n = min(max(r.Cost(req), 1), lim.rl.Burst())
		}
		if err := lim.rl.WaitN(ctx, n); err != nil {
			release()
			if ctx.Err() != nil {
				return nil, waitCanceled(ctx, req, tenant)
			}
			return nil, &tenantsync.Error{Class: tenantsync.ErrLimitExceeded, Tenant: tenant, Op: "rate limit " + req.URL.Host,
				Message: "the rate limit leaves no slot before the request's deadline", Err: context.DeadlineExceeded,
				Hint: "too many requests are queued for this tenant; allow more time or run fewer at once"}
		}
	}
	return release, nil
}

func waitCanceled(ctx context.Context, req *http.Request, tenant string) error {
	return &callctx.Error{Msg: fmt.Sprintf("waiting for the rate limit of %s (tenant %q): %v", req.URL.Host, tenant, ctx.Err()),
		Err: ctx.Err()}
}
