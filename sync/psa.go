package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	stdsync "sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Defaults for the PSA side of Limits.
const (
	DefaultPSACallsPerSync        = 1000
	DefaultMaxCreatesPerSync      = 500
	DefaultPSACallTimeout         = 30 * time.Second
	DefaultPSABackoff             = 5 * time.Second
	DefaultPSAMaxBackoff          = 10 * time.Minute
	DefaultContactAttempts        = 5
	DefaultContactRetryBackoff    = time.Hour
	DefaultContactRetryMaxBackoff = 24 * time.Hour
)

// PSAStatus is the state of the engine's calls to the PSA's contact directory. Every tenant
// shares the PSA's quota, so a pause is engine-wide.
//
// The pause and the rate limit (Limits.PSACallsPerSecond) live in this engine's memory: engines
// in several processes sharing one store each keep their own and each spend the PSA's quota.
// Give each engine its share of the quota (the PSA's limit divided by the number of engines);
// an engine that meets a 429 pauses itself, and the others pause when they meet theirs. A
// restarted engine starts without a pause, and its first call is the probe.
type PSAStatus struct {
	// PausedUntil is when PSA calls resume; zero (or past) when they flow.
	PausedUntil time.Time
	// Cause is the PSA answer that started the pause (its kind, message and hint); nil when
	// calls flow.
	Cause *store.SyncError
	// Pauses counts the pauses since the engine was built (also Counters.PSAPauses).
	Pauses uint64
}

// Paused reports whether PSA calls are paused at now.
func (s PSAStatus) Paused(now time.Time) bool { return now.Before(s.PausedUntil) }

// PSAStatus returns the state of the engine's PSA calls: whether they are paused, until when
// and why.
func (e *Engine) PSAStatus() PSAStatus {
	g := e.psa
	g.mu.Lock()
	defer g.mu.Unlock()
	s := PSAStatus{Pauses: g.pauses.Load()}
	if e.clock.Now().Before(g.until) {
		s.PausedUntil = g.until
		s.Cause = store.SyncErrorOf(g.cause, g.since)
	}
	return s
}

// psaGate is the one door every contact-directory call of the engine goes through: a rate
// limit, and a pause set when the PSA throttles or fails. It runs on the engine's clock.
type psaGate struct {
	clock   Clock
	limiter *rate.Limiter // nil: no rate limit
	timeout time.Duration
	base    time.Duration
	max     time.Duration

	mu      stdsync.Mutex
	until   time.Time
	since   time.Time
	cause   error
	strikes int // pauses without a Retry-After since the last successful call

	pauses atomic.Uint64
	calls  atomic.Uint64
}

func newPSAGate(clock Clock, l Limits) *psaGate {
	g := &psaGate{clock: clock, timeout: l.PSACallTimeout, base: l.PSABackoff, max: l.PSAMaxBackoff}
	if l.PSACallsPerSecond > 0 {
		g.limiter = rate.NewLimiter(rate.Limit(l.PSACallsPerSecond), l.PSABurst)
	}
	return g
}

// admit waits for the rate limit and returns nil when a call may go now, or the pause in force.
// It never waits out a pause: a paused sync stores what it has instead of holding its slot.
func (g *psaGate) admit(ctx context.Context, tenantID string) error {
	if err := g.paused(tenantID); err != nil {
		return err
	}
	if g.limiter == nil {
		return nil
	}
	now := g.clock.Now()
	r := g.limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		select {
		case <-g.clock.After(d):
		case <-ctx.Done():
			r.CancelAt(g.clock.Now())
			return context.Cause(ctx)
		}
	}
	// A pause may have begun while this call waited its turn.
	return g.paused(tenantID)
}

// paused returns the pause in force, as an error of the kind of the answer that caused it.
func (g *psaGate) paused(tenantID string) error {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !now.Before(g.until) {
		return nil
	}
	kind := tenantsync.ClassOf(g.cause)
	if kind == nil {
		kind = tenantsync.ErrUnavailable
	}
	wait := g.until.Sub(now)
	return &tenantsync.Error{Class: kind, Service: Service, Op: "Contacts", Tenant: tenantID, RetryAfter: wait,
		Message: fmt.Sprintf("PSA calls are paused for %s after the PSA answered: %v", wait.Round(time.Second), g.cause),
		Hint: "the PSA throttled or failed: the engine makes no PSA call until the pause ends, stores everything else, " +
			"and the next syncs write the contacts left pending; a pause that keeps coming back is in the PSA's logs or its API quota",
		Err: g.cause}
}

// call runs one PSA call under the per-call timeout and counts it.
func (g *psaGate) call(ctx context.Context, fn func(context.Context) error) error {
	g.calls.Add(1)
	if g.timeout <= 0 {
		return fn(ctx)
	}
	cctx, cancel := context.WithTimeoutCause(ctx, g.timeout, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: Service,
		Op: "Contacts", Message: fmt.Sprintf("the PSA did not answer within %s", g.timeout),
		Hint: "the PSA is slow or down; raise Limits.PSACallTimeout if it is merely slow", Err: context.DeadlineExceeded})
	defer cancel()
	err := fn(cctx)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil && !errors.Is(err, tenantsync.ErrUnavailable) {
		// The call's own deadline, not the sync's: the PSA timed out.
		err = errors.Join(context.Cause(cctx), err)
	}
	return err
}

// succeeded ends the run of back-offs: the PSA answered.
func (g *psaGate) succeeded() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.strikes = 0
}

// pause stops PSA calls after err: for the Retry-After the PSA gave, or else for an
// exponential back-off with jitter. It reports until when, and whether the pause is new or
// longer than the one in force (so it is announced once).
func (g *psaGate) pause(err error) (time.Time, bool) {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	var d time.Duration
	if det, ok := tenantsync.Details(err); ok && det.RetryAfter > 0 {
		d = det.RetryAfter
	} else {
		g.strikes++
		d = g.base << min(g.strikes-1, 30)
		if d <= 0 || d > g.max {
			d = g.max
		}
		// Equal jitter: half fixed, so the pause is never near zero, half random, so engines
		// that paused together do not all return at once.
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	}
	until := now.Add(d)
	if !until.After(g.until) {
		return g.until, false
	}
	fresh := !now.Before(g.until)
	g.until, g.cause = until, err
	if fresh {
		g.since = now
		g.pauses.Add(1)
	}
	return until, true
}

// psaVerdict is what a failed PSA call means for the sync.
type psaVerdict int

const (
	// psaRecord: the PSA refused this record (validation, duplicate, conflict, not found, or
	// an error of no declared kind). Only this user fails.
	psaRecord psaVerdict = iota
	// psaThrottled: the PSA refused for rate or quota reasons; nothing was written. Every PSA
	// call pauses; the user is pending, not failed.
	psaThrottled
	// psaDown: the PSA failed or did not answer. Every PSA call pauses; the user's attempt
	// counts (a PSA that fails on one record alone answers this way too), and a create may
	// have happened.
	psaDown
	// psaRefused: the PSA refused the credentials or the permission. Every PSA call pauses; no
	// record is to blame.
	psaRefused
)

func classifyPSA(err error) psaVerdict {
	var ne net.Error
	switch {
	case errors.Is(err, tenantsync.ErrThrottled), errors.Is(err, tenantsync.ErrLimitExceeded):
		return psaThrottled
	case errors.Is(err, tenantsync.ErrUnauthorized), errors.Is(err, tenantsync.ErrForbidden),
		errors.Is(err, tenantsync.ErrAuthorizationRevoked):
		return psaRefused
	case errors.Is(err, tenantsync.ErrUnavailable), errors.Is(err, tenantsync.ErrIncomplete),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &ne) && ne.Timeout():
		return psaDown
	}
	return psaRecord
}

// accountWide reports whether a verdict pauses every PSA call.
func (v psaVerdict) accountWide() bool { return v != psaRecord }
