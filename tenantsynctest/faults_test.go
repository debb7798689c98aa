package tenantsynctest_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

func TestFaultEffects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		effect     tenantsynctest.Effect
		kind       error
		status     int
		retryAfter time.Duration
		cause      error         // wrapped by the error, when set
		took       time.Duration // how far the call moved the clock
		created    bool          // the contact exists afterwards
	}{
		{"429 with Retry-After", tenantsynctest.Throttle{RetryAfter: 30 * time.Second}, tenantsync.ErrThrottled, 429, 30 * time.Second, nil, 0, false},
		{"429 without Retry-After", tenantsynctest.Throttle{}, tenantsync.ErrThrottled, 429, 0, nil, 0, false},
		{"503 by default", tenantsynctest.ServerError{}, tenantsync.ErrUnavailable, 503, 0, nil, 0, false},
		{"502", tenantsynctest.ServerError{Status: 502}, tenantsync.ErrUnavailable, 502, 0, nil, 0, false},
		{"timeout after a fixed time", tenantsynctest.Timeout{After: 90 * time.Second}, tenantsync.ErrUnavailable, 0, 0, context.DeadlineExceeded, 90 * time.Second, false},
		{"lost response", tenantsynctest.LostResponse{}, tenantsync.ErrUnavailable, 0, 0, io.ErrUnexpectedEOF, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			psa, clock := newPSA(t)
			require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tt.effect, Times: 1}))
			_, err := psa.CreateContact(t.Context(), pat("1"))
			d := requireDetail(t, err, tt.kind, tenantsynctest.OpCreateContact, tt.status)
			assert.Equal(t, tt.retryAfter, d.RetryAfter)
			if tt.cause != nil {
				assert.ErrorIs(t, err, tt.cause)
			}
			assert.Contains(t, err.Error(), "What to do: ", "the message carries the hint")
			assert.Equal(t, start.Add(tt.took), clock.Now())
			if tt.created {
				all := psa.All()
				require.Len(t, all, 1, "the PSA carried out the create whose answer was lost")
				assert.Equal(t, userA, all[0].ObjectID)
			} else {
				assert.Empty(t, psa.All(), "a failed call changes nothing")
			}
			// The fault caught its one call; the next one goes through.
			_, err = psa.CreateContact(t.Context(), pat("1"))
			require.NoError(t, err)
			assert.Len(t, psa.All(), 1, "a repeated create for a known identity returns the existing contact")
		})
	}
}

func TestLostResponseOnEveryOperation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	c, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}}))

	c.JobTitle = "CFO"
	requireDetail(t, psa.UpdateContact(ctx, c), tenantsync.ErrUnavailable, tenantsynctest.OpUpdateContact, 0)
	requireDetail(t, psa.SetContactActive(ctx, "1", c.ID, false), tenantsync.ErrUnavailable, tenantsynctest.OpSetContactActive, 0)
	_, err = psa.ListContacts(ctx, "1")
	requireDetail(t, err, tenantsync.ErrUnavailable, tenantsynctest.OpListContacts, 0)
	stored, _ := psa.Get(c.ID)
	assert.Equal(t, "CFO", stored.JobTitle, "the update was applied")
	assert.False(t, stored.Active, "the deactivation was applied")

	// A refused operation whose answer is lost is still refused, and still looks lost.
	requireDetail(t, psa.SetContactActive(ctx, "1", "99", true), tenantsync.ErrUnavailable, tenantsynctest.OpSetContactActive, 0)
}

func TestLostResponseWithoutIdentityLeavesADuplicate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	psa.SetIdentity(tenantsynctest.IdentityIgnored)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}, Times: 1}))
	_, err := psa.CreateContact(ctx, pat("1"))
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	_, err = psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	d := psa.Duplicates()
	require.Len(t, d, 2, "the naive retry made a second contact, by identity and by email")
	assert.Len(t, d[0].Contacts, 2)
}

func TestFaultScope(t *testing.T) {
	t.Parallel()
	create := func(ctx context.Context, psa *tenantsynctest.Contacts) error {
		_, err := psa.CreateContact(ctx, pat("1"))
		return err
	}
	list := func(ctx context.Context, psa *tenantsynctest.Contacts) error {
		_, err := psa.ListContacts(ctx, "1")
		return err
	}
	tests := []struct {
		name  string
		fault tenantsynctest.Fault
		// steps run in order: advance the clock, then call, and expect a failure or not.
		steps []step
	}{
		{"for a period", tenantsynctest.Fault{For: time.Minute},
			[]step{{0, list, true}, {59 * time.Second, list, true}, {time.Second, list, false}, {0, create, false}}},
		{"for the next N calls", tenantsynctest.Fault{Times: 2},
			[]step{{0, list, true}, {time.Hour, create, true}, {0, list, false}, {0, create, false}}},
		{"for N calls within a period, ending with the period", tenantsynctest.Fault{Times: 5, For: time.Minute},
			[]step{{0, list, true}, {time.Minute, list, false}}},
		{"for N calls within a period, ending with the calls", tenantsynctest.Fault{Times: 1, For: time.Minute},
			[]step{{0, list, true}, {0, list, false}}},
		{"until cleared", tenantsynctest.Fault{},
			[]step{{0, list, true}, {24 * time.Hour, create, true}}},
		{"chosen operations", tenantsynctest.Fault{Ops: []tenantsynctest.Op{tenantsynctest.OpCreateContact}},
			[]step{{0, list, false}, {0, create, true}, {0, list, false}}},
		{"chosen contacts", tenantsynctest.Fault{Match: func(c tenantsync.Contact) bool { return c.ObjectID == userA }},
			[]step{{0, list, false}, {0, create, true}, {0, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
				_, err := psa.CreateContact(ctx, tenantsync.Contact{ClientID: "1", ObjectID: userB, TenantID: tenantA})
				return err
			}, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			psa, clock := newPSA(t)
			f := tt.fault
			f.Effect = tenantsynctest.ServerError{}
			require.NoError(t, psa.Inject(f))
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				err := s.call(t.Context(), psa)
				if s.fails {
					assert.ErrorIs(t, err, tenantsync.ErrUnavailable, "step %d", i)
				} else {
					assert.NoError(t, err, "step %d", i)
				}
			}
		})
	}
}

type step struct {
	advance time.Duration
	call    func(context.Context, *tenantsynctest.Contacts) error
	fails   bool
}

func TestFaultMatchOnSetContactActiveSeesTheStoredContact(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	c, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	var seen []tenantsync.Contact
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Throttle{},
		Match: func(c tenantsync.Contact) bool { seen = append(seen, c); return c.Email == "pat@contoso.com" }}))
	require.ErrorIs(t, psa.SetContactActive(ctx, "1", c.ID, false), tenantsync.ErrThrottled)
	require.ErrorIs(t, psa.SetContactActive(ctx, "1", "99", false), tenantsync.ErrNotFound, "an unknown contact is not the one matched")
	require.Len(t, seen, 2)
	assert.Equal(t, c, seen[0])
	assert.Equal(t, tenantsync.Contact{ID: "99", ClientID: "1"}, seen[1])
}

func TestFaultsFirstInjectedWinsAndClear(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Throttle{RetryAfter: time.Second}, Times: 1}))
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.ServerError{}, Times: 1}))
	_, err := psa.ListContacts(ctx, "1")
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	_, err = psa.ListContacts(ctx, "1")
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	_, err = psa.ListContacts(ctx, "1")
	require.NoError(t, err)

	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.ServerError{}}))
	_, err = psa.ListContacts(ctx, "1")
	require.Error(t, err)
	psa.ClearFaults()
	_, err = psa.ListContacts(ctx, "1")
	require.NoError(t, err)
}

func TestInjectRefusesMalformedFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault tenantsynctest.Fault
		says  string
	}{
		{"no effect", tenantsynctest.Fault{}, "no Effect"},
		{"4xx server error", tenantsynctest.Fault{Effect: tenantsynctest.ServerError{Status: 404}}, "not a 5xx"},
		{"600", tenantsynctest.Fault{Effect: tenantsynctest.ServerError{Status: 600}}, "not a 5xx"},
		{"negative Retry-After", tenantsynctest.Fault{Effect: tenantsynctest.Throttle{RetryAfter: -time.Second}}, "negative"},
		{"negative timeout", tenantsynctest.Fault{Effect: tenantsynctest.Timeout{After: -time.Second}}, "negative"},
		{"negative period", tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}, For: -time.Second}, "negative"},
		{"negative count", tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}, Times: -1}, "negative"},
		{"unknown operation", tenantsynctest.Fault{Effect: tenantsynctest.Throttle{}, Ops: []tenantsynctest.Op{"DeleteContact"}}, "unknown operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			psa, _ := newPSA(t)
			err := psa.Inject(tt.fault)
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.says)
			assert.NotEmpty(t, tenantsync.HintOf(err))
			_, err = psa.ListContacts(t.Context(), "1")
			require.NoError(t, err, "a refused fault is not injected")
		})
	}
}

func TestTimeoutUntilContextEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ctx   func(context.Context) (context.Context, context.CancelFunc)
		cause error
	}{
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 10*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(10*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			psa, clock := newPSA(t)
			require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Timeout{}}))
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			_, err := psa.CreateContact(ctx, pat("1"))
			requireDetail(t, err, tenantsync.ErrUnavailable, tenantsynctest.OpCreateContact, 0)
			assert.ErrorIs(t, err, tt.cause)
			assert.Empty(t, psa.All())
			assert.Equal(t, start, clock.Now(), "waiting for the context does not move the clock")
		})
	}
}

func TestTimeoutAfterAFixedTimeRespectsContext(t *testing.T) {
	t.Parallel()
	psa := tenantsynctest.NewContacts(nil) // the wall clock: the timeout really waits
	psa.AddClient("1", "Contoso")
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Timeout{After: time.Hour}}))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := psa.ListContacts(ctx, "1")
	requireDetail(t, err, tenantsync.ErrUnavailable, tenantsynctest.OpListContacts, 0)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "ended before the PSA answered", "the caller's deadline ended it, not the hour")
}

func TestLatency(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, clock := newPSA(t)
	psa.SetLatency(2 * time.Second)
	_, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	_, err = psa.ListContacts(ctx, "1")
	require.NoError(t, err)
	require.NoError(t, psa.SetContactActive(ctx, "1", "1", false))
	assert.Equal(t, start.Add(6*time.Second), clock.Now(), "every call takes the latency")

	psa.SetLatency(0)
	_, err = psa.ListContacts(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, start.Add(6*time.Second), clock.Now())

	// Latency counts against a period: a fault for 5 seconds is over after three slow calls.
	psa.SetLatency(2 * time.Second)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.ServerError{}, For: 5 * time.Second}))
	for i, fails := range []bool{true, true, false} {
		_, err := psa.ListContacts(ctx, "1")
		assert.Equal(t, fails, err != nil, "call %d", i)
	}
}

func TestLatencyRespectsContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		clock tenantsynctest.Clock
		ctx   func(context.Context) (context.Context, context.CancelFunc)
		cause error
	}{
		{"the wall clock stops waiting at the deadline", nil, func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 10*time.Millisecond)
		}, context.DeadlineExceeded},
		{"a context already canceled", tenantsynctest.NewManualClock(start), func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			psa := tenantsynctest.NewContacts(tt.clock)
			psa.AddClient("1", "Contoso")
			psa.SetLatency(time.Hour)
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			_, err := psa.CreateContact(ctx, pat("1"))
			requireDetail(t, err, tenantsync.ErrUnavailable, tenantsynctest.OpCreateContact, 0)
			assert.ErrorIs(t, err, tt.cause)
			assert.Empty(t, psa.All(), "a call its caller gave up on changes nothing")
			assert.Equal(t, 1, psa.Calls()[tenantsynctest.OpCreateContact], "and is still counted")
		})
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, clock := newPSA(t)
	psa.SetQuota(3, time.Hour)
	list := func() error {
		_, err := psa.ListContacts(ctx, "1")
		return err
	}
	// Three calls at 9:00, 9:10 and 9:20.5 fill the hour; the operation does not matter.
	require.NoError(t, list())
	clock.Advance(10 * time.Minute)
	_, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	clock.Advance(10*time.Minute + 500*time.Millisecond)
	require.NoError(t, psa.SetContactActive(ctx, "1", "1", false))

	clock.Advance(10 * time.Minute)
	err = list()
	d := requireDetail(t, err, tenantsync.ErrThrottled, tenantsynctest.OpListContacts, 429)
	assert.Equal(t, 30*time.Minute, d.RetryAfter, "until the 9:00 call leaves the window, 29m59.5s rounded up to the second as a Retry-After header is")
	assert.Contains(t, d.Message, "3 requests per 1h0m0s")

	clock.Advance(d.RetryAfter - time.Second)
	d = requireDetail(t, list(), tenantsync.ErrThrottled, tenantsynctest.OpListContacts, 429)
	assert.Equal(t, time.Second, d.RetryAfter, "half a second is still a second")
	clock.Advance(time.Second)
	require.NoError(t, list(), "refused calls took no slot, so the one freed at 10:00 is there")
	d = requireDetail(t, list(), tenantsync.ErrThrottled, tenantsynctest.OpListContacts, 429)
	assert.Equal(t, 10*time.Minute, d.RetryAfter, "the next slot frees at 10:10")

	clock.Advance(10 * time.Minute)
	require.NoError(t, list())
	d = requireDetail(t, list(), tenantsync.ErrThrottled, tenantsynctest.OpListContacts, 429)
	assert.Equal(t, 10*time.Minute, d.RetryAfter, "the 9:20:00.5 call leaves at 10:20:00.5")

	psa.SetQuota(0, time.Hour)
	require.NoError(t, list(), "a quota of zero is none")
	assert.Equal(t, 8, psa.Calls()[tenantsynctest.OpListContacts], "refused calls are counted as calls")
}

func TestQuotaLowered(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, clock := newPSA(t)
	psa.SetQuota(10, time.Hour)
	for range 3 {
		_, err := psa.ListContacts(ctx, "1")
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	psa.SetQuota(1, time.Hour)
	_, err := psa.ListContacts(ctx, "1")
	d := requireDetail(t, err, tenantsync.ErrThrottled, tenantsynctest.OpListContacts, 429)
	assert.Equal(t, 59*time.Minute, d.RetryAfter, "a slot frees when the last of the calls already made leaves the window")
}

func TestThrottleForAPeriod(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, clock := newPSA(t)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Throttle{RetryAfter: 20 * time.Second}, For: time.Minute}))
	var throttled int
	for range 6 {
		_, err := psa.ListContacts(ctx, "1")
		if err != nil {
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.Equal(t, 20*time.Second, d.RetryAfter)
			throttled++
		}
		clock.Advance(15 * time.Second)
	}
	assert.Equal(t, 4, throttled, "calls at 0, 15, 30 and 45 seconds are throttled; at 60 and 75 they pass")
}

func TestManualClock(t *testing.T) {
	t.Parallel()
	c := tenantsynctest.NewManualClock(start)
	require.NoError(t, c.Sleep(t.Context(), time.Minute))
	assert.Equal(t, start.Add(time.Minute), c.Now())
	c.Advance(-30 * time.Second)
	assert.Equal(t, start.Add(30*time.Second), c.Now())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.True(t, errors.Is(c.Sleep(ctx, time.Hour), context.Canceled))
	assert.Equal(t, start.Add(30*time.Second), c.Now(), "a canceled sleep does not move the clock")
}
