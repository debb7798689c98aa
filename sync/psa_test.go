package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// The PSA side's guarantees, on every store: one record the PSA refuses fails its user only, a
// throttling PSA pauses the PSA calls and the sync stores what it has, and a crash after the
// PSA created a contact leaves no second one, even for a user without an email address in a
// PSA that keeps no identity.
func TestPSAScenarios(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"PoisonContactFailsItsUserOnly", psaPoisonContact},
		{"ThrottledPSAPausesAndTheSyncStoresWhatItHas", psaThrottledMidSync},
		{"LostCreateAnswerMakesNoDuplicate", psaLostCreateAnswer},
		{"FailedCommitAfterCreateMakesNoDuplicate", psaFailedCommitAfterCreate},
		{"InterruptedCreateWithoutIdentityMakesNoDuplicate", psaInterruptedCreateWithoutIdentity},
	}
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					h := newHarnessOn(t, func(now func() time.Time) store.Store {
						return &commitFaultStore{dirStore: sc.open(t, now).(dirStore)}
					})
					s.run(t, h)
				})
			}
		})
	}
}

// refusal is how a PSA refuses a record: a validation error with its own message and no hint.
func refusal(msg string) error {
	return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: "psa", Op: "CreateContact", Status: 400, Message: msg}
}

// sentFor counts the creates the PSA received for a user.
func (h *harness) sentFor(objectID string) int {
	n := 0
	for _, c := range h.contacts.Sent() {
		if c.ObjectID == objectID {
			n++
		}
	}
	return n
}

// One record among 100 the PSA refuses every time: the other 99 are linked and the tenant's
// devices stored in the same sync; the refused user is tried again at later syncs, with a
// growing wait, then left for a person, whose decision the engine follows.
func psaPoisonContact(t *testing.T, h *harness) {
	ctx := t.Context()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 100)
	poison := ft.Users[37]
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if c.ObjectID == poison.ObjectID {
			return refusal("MobilePhone: not a valid phone number"), false
		}
		return nil, false
	})
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	firstAt := h.clock.Now()

	require.Nil(t, h.state("t1").LastError, "the tenant synced")
	links := h.links("t1")
	assert.Len(t, links, 99)
	assert.NotContains(t, links, poison.ObjectID)
	devices, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, "t1", tenantsync.KindDevices)
	require.NoError(t, err)
	assert.Len(t, devices.Devices, 2, "the tenant's devices are stored in the same sync")
	assert.Len(t, h.users("t1"), 103)

	status := h.status("t1")
	assert.False(t, status.Healthy())
	assert.Equal(t, 1, status.FailingContacts())
	require.Len(t, status.ContactFailures, 1)
	f := status.ContactFailures[0]
	assert.Equal(t, poison.ObjectID, f.ObjectID)
	assert.Equal(t, poison.UserPrincipalName, f.UPN)
	assert.Equal(t, poison.DisplayName, f.DisplayName)
	assert.Equal(t, store.ContactCreate, f.Op)
	assert.Equal(t, "invalid_input", f.Kind)
	assert.Equal(t, "MobilePhone: not a valid phone number", f.Message, "the PSA's own message")
	assert.Contains(t, f.Hint, "check the user's details")
	assert.Equal(t, 1, f.Attempts)
	assert.False(t, f.NextRetry.After(firstAt), "the next sync tries again")
	assert.False(t, f.NeedsPerson)
	assert.Contains(t, f.String(), poison.UserPrincipalName)
	ev := h.sink.WaitFor(t, EventContactFailed, "t1", 1)
	assert.Equal(t, poison.ObjectID, ev[0].UserID)
	assert.Equal(t, "invalid_input", ev[0].ErrClass)
	assert.Equal(t, 1, ev[0].Attempts)
	assert.Equal(t, uint64(1), h.eng.Counters().ContactsFailed)
	assert.Equal(t, map[string]uint64{"invalid_input": 1}, h.eng.Counters().ContactErrors)

	// The next sync tries again; the one after waits for the backoff.
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Failed)
	assert.Equal(t, 2, h.sentFor(poison.ObjectID))
	f = h.state("t1").ContactFailures[poison.ObjectID]
	assert.Equal(t, 2, f.Attempts)
	assert.Equal(t, h.clock.Now().Add(DefaultContactRetryBackoff), f.NextRetry)
	rep = h.syncNow("t1")
	assert.Zero(t, rep.Contacts.Failed)
	assert.Equal(t, 2, h.sentFor(poison.ObjectID), "no attempt before the backoff ends")
	assert.Equal(t, 2, h.state("t1").ContactFailures[poison.ObjectID].Attempts)

	// Attempts 3, 4 and 5, each after a doubled wait; the fifth leaves it for a person.
	for _, step := range []struct {
		attempt int
		wait    time.Duration
	}{{3, time.Hour}, {4, 2 * time.Hour}, {5, 4 * time.Hour}} {
		h.clock.Advance(step.wait)
		rep = h.syncNow("t1")
		assert.Equal(t, 1, rep.Contacts.Failed, "attempt %d", step.attempt)
		assert.Equal(t, step.attempt, h.sentFor(poison.ObjectID))
	}
	f = h.state("t1").ContactFailures[poison.ObjectID]
	assert.Equal(t, 5, f.Attempts)
	assert.True(t, f.NeedsPerson)
	assert.True(t, f.NextRetry.IsZero())
	assert.True(t, f.FirstAt.Equal(store.Time(firstAt)), "first failed at %v, want %v", f.FirstAt, firstAt)
	gaveUp := h.sink.WaitFor(t, EventContactNeedsPerson, "t1", 1)
	assert.Equal(t, poison.ObjectID, gaveUp[0].UserID)
	assert.Equal(t, uint64(1), h.eng.Counters().ContactsNeedPerson)

	// It waits for a person: no more attempts, days later.
	h.clock.Advance(48 * time.Hour)
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Waiting)
	assert.Equal(t, 5, h.sentFor(poison.ObjectID))
	assert.Len(t, h.links("t1"), 99)

	// The person fixes the phone number in the PSA's rules and asks for a retry.
	h.contacts.Fault(nil)
	require.NoError(t, h.eng.ResolveContactFailure(ctx, "alice", "t1", poison.ObjectID, ContactResolution{Decision: ContactRetry}))
	h.sink.WaitFor(t, EventContactFailureResolved, "t1", 1)
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Created)
	assert.Len(t, h.links("t1"), 100)
	status = h.status("t1")
	assert.Empty(t, status.ContactFailures)
	assert.True(t, status.Healthy())
	assert.Len(t, h.contacts.All(), 100)
}

// The PSA answers 429 (Retry-After one minute) from the eleventh create on, for a minute. The
// sync stores its mirror and the links it made, the engine pauses PSA calls for every tenant,
// a tenant synced meanwhile stores its mirror without a PSA call, and the syncs after the
// minute finish the work with no contact made twice.
func psaThrottledMidSync(t *testing.T, h *harness) {
	ctx := t.Context()
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 30))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 5))
	h.discoverAndStoreLink("t1", "client-1")
	require.NoError(t, h.st.Account(testAccount).Tenants.Link(ctx, "t2", "client-2", h.clock.Now()))
	var creates int
	var until time.Time
	h.contacts.Fault(func(op string, _ tenantsync.Contact) (error, bool) {
		if op != "create" {
			return nil, false
		}
		now := h.clock.Now()
		if until.IsZero() {
			if creates++; creates <= 10 {
				return nil, false
			}
			until = now.Add(time.Minute)
		}
		if now.Before(until) {
			return &tenantsync.Error{Class: tenantsync.ErrThrottled, Service: "psa", Op: "CreateContact", Status: 429,
				Message: "API rate limit exceeded", RetryAfter: time.Minute}, false
		}
		return nil, false
	})

	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	throttledAt := h.clock.Now()
	assert.Equal(t, 10, rep.Contacts.Created)
	assert.Equal(t, 20, rep.Contacts.Pending)
	assert.Zero(t, rep.Contacts.Failed, "a throttled call is no user's fault")
	require.ErrorIs(t, rep.Contacts.Stopped, tenantsync.ErrThrottled)
	assert.True(t, rep.Partial())
	assert.Len(t, h.links("t1"), 10, "the links of the contacts created are stored")
	assert.Len(t, h.users("t1"), 33, "the mirror is stored")
	st := h.state("t1")
	assert.Equal(t, 20, st.ContactsPending)
	require.NotNil(t, st.ContactsError)
	assert.Equal(t, "throttled", st.ContactsError.Kind)
	for id, f := range st.ContactFailures {
		assert.Zero(t, f.Attempts, "the user %s whose write met the quota is only marked to go last", id)
	}
	assert.LessOrEqual(t, len(st.ContactFailures), 1)
	ts, err := h.eng.Status(t.Context(), "t1")
	require.NoError(t, err)
	assert.Empty(t, ts.ContactFailures, "a quota is no user's failure")
	psa := h.eng.PSAStatus()
	assert.Equal(t, throttledAt.Add(time.Minute), psa.PausedUntil, "the PSA's Retry-After is honoured")
	require.NotNil(t, psa.Cause)
	assert.Equal(t, "throttled", psa.Cause.Kind)
	paused := h.sink.WaitFor(t, EventPSAPaused, "t1", 1)
	assert.Equal(t, throttledAt.Add(time.Minute), paused[0].RetryAt)
	assert.Equal(t, "throttled", paused[0].ErrClass)
	pending := h.sink.WaitFor(t, EventContactsPending, "t1", 1)
	assert.Equal(t, 20, pending[0].Count)
	status := h.status("t1")
	assert.Equal(t, 20, status.ContactsPending)
	assert.Equal(t, psa.PausedUntil, status.PSAPausedUntil)
	assert.False(t, status.Healthy())

	// Another tenant meanwhile: its mirror is stored, and the paused PSA is not called at all.
	calls := h.eng.Counters().PSACalls
	sent := len(h.contacts.Sent())
	rep2 := h.syncNow("t2")
	require.NoError(t, rep2.Err)
	assert.Equal(t, calls, h.eng.Counters().PSACalls, "no call reaches the paused PSA")
	assert.Len(t, h.contacts.Sent(), sent)
	assert.Len(t, h.users("t2"), 8)
	assert.Equal(t, 5, rep2.Contacts.Pending, "its five people; the shared mailbox, the room and the guest are owed nothing")
	assert.Equal(t, uint64(1), h.eng.PSAStatus().Pauses)

	// After the minute, the next syncs finish, though neither tenant changed.
	h.clock.Advance(time.Minute)
	rep = h.syncNow("t1")
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
	assert.Equal(t, 20, rep.Contacts.Created)
	assert.Zero(t, rep.Contacts.Pending)
	rep2 = h.syncNow("t2")
	assert.Equal(t, 5, rep2.Contacts.Created)
	assert.Len(t, h.links("t1"), 30)
	assert.Len(t, h.links("t2"), 5)
	assert.Zero(t, h.state("t1").ContactsPending)
	assert.Nil(t, h.state("t1").ContactsError)
	assert.True(t, h.status("t1").Healthy())
	assert.True(t, h.status("t2").Healthy())
	assertNoDuplicates(t, h, 35)
}

// assertNoDuplicates checks that the PSA holds want contacts, one per user.
func assertNoDuplicates(t *testing.T, h *harness, want int) {
	t.Helper()
	all := h.contacts.All()
	assert.Len(t, all, want)
	seen := map[string]string{}
	for _, c := range all {
		key := c.ClientID + "|" + c.FirstName + "|" + c.LastName
		if prev, ok := seen[key]; ok {
			t.Errorf("contacts %s and %s are one person (%s %s)", prev, c.ID, c.FirstName, c.LastName)
		}
		seen[key] = c.ID
	}
}

// withoutMail returns the tenant with its second person's email addresses removed: only
// the UPN is left, which matching reads but a created contact does not carry.
func withoutMail(ft *FakeTenant) tenantsync.User {
	u := &ft.Users[1]
	u.Mail, u.ProxyAddresses = "", nil
	return *u
}

// restart builds a second engine on the harness's store and PSA, as a process started after
// a crash.
func (h *harness) restart() *Engine {
	h.t.Helper()
	cfg := h.cfg
	cfg.InstanceID = "engine-b"
	eng, err := New(cfg)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

// The PSA creates the contact of a user without an email and its answer is lost (a gateway
// timeout); the PSA keeps no identity. After a restart, the engine finds that contact instead
// of creating a second one.
func psaLostCreateAnswer(t *testing.T, h *harness) {
	ctx := t.Context()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 3)
	nomail := withoutMail(ft)
	h.src.AddTenant(ft)
	h.contacts.DropIdentity()
	var lost atomic.Bool
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if op == "create" && c.ObjectID == nomail.ObjectID && lost.CompareAndSwap(false, true) {
			// The intent is in the store before the PSA is called.
			st, err := h.st.Account(testAccount).SyncStates.Get(context.Background(), "t1")
			if assert.NoError(t, err) {
				in, ok := st.CreateIntents[nomail.ObjectID]
				assert.True(t, ok, "the create's intent is stored before the call")
				assert.Equal(t, c.IdempotencyKey(), in.Key)
			}
			return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "psa", Op: "CreateContact", Status: 504,
				Message: "gateway timeout"}, true
		}
		return nil, false
	})
	h.discoverAndLink("t1", "client-1")
	require.True(t, lost.Load())
	require.Len(t, h.contacts.All(), 2, "the PSA made the contact whose answer was lost, and one more before it")
	st := h.state("t1")
	require.Nil(t, st.LastError)
	assert.Contains(t, st.CreateIntents, nomail.ObjectID, "the outcome is unknown: the intent stays")
	assert.Equal(t, "service_unavailable", st.ContactFailures[nomail.ObjectID].Kind)
	assert.NotContains(t, h.links("t1"), nomail.ObjectID)

	eng := h.restart()
	h.clock.Advance(DefaultPSAMaxBackoff)
	rep, err := eng.SyncNow(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Contacts.Recovered)
	assert.Equal(t, 1, rep.Contacts.Created, "the user that waited behind the failure")
	links := h.links("t1")
	assert.Len(t, links, 3)
	assertNoDuplicates(t, h, 3)
	st = h.state("t1")
	assert.Empty(t, st.CreateIntents)
	assert.Empty(t, st.ContactFailures)
	c, ok := h.contacts.Get(links[nomail.ObjectID].ContactID)
	require.True(t, ok)
	assert.Equal(t, nomail.Surname, c.LastName)
}

// commitFaultStore fails its next Commit when armed, as a database that drops the connection.
type commitFaultStore struct {
	dirStore
	fail atomic.Bool
}

func (s *commitFaultStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Mirror = commitFaultMirror{a.Mirror, s}
	return a
}

type commitFaultMirror struct {
	store.Mirror
	s *commitFaultStore
}

func (m commitFaultMirror) Commit(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	if m.s.fail.CompareAndSwap(true, false) {
		return store.BatchResult{}, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "store", Op: "Commit",
			Message: "connection reset", Hint: "check the database"}
	}
	return m.Mirror.Commit(ctx, b)
}

// The PSA created every contact and the store's commit failed: nothing of the sync is
// stored, the next engine finds the contacts, that of the user without an email included, in a
// PSA that keeps no identity.
func psaFailedCommitAfterCreate(t *testing.T, h *harness) {
	ctx := t.Context()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 3)
	nomail := withoutMail(ft)
	h.src.AddTenant(ft)
	h.contacts.DropIdentity()
	h.st.(*commitFaultStore).fail.Store(true)
	h.discoverAndStoreLink("t1", "client-1")
	_, err := h.eng.SyncNow(ctx, "t1")
	require.Error(t, err)
	require.Len(t, h.contacts.All(), 3)
	require.Empty(t, h.links("t1"))
	require.Contains(t, h.state("t1").CreateIntents, nomail.ObjectID, "the failed sync's state keeps the intents")

	eng := h.restart()
	h.clock.Advance(DefaultCooldown)
	rep, err := eng.SyncNow(ctx, "t1")
	require.NoError(t, err)
	assert.Zero(t, rep.Contacts.Created)
	assert.Equal(t, 3, rep.Contacts.Linked)
	assert.Equal(t, 1, rep.Contacts.Recovered)
	assert.Len(t, h.links("t1"), 3)
	assertNoDuplicates(t, h, 3)
	assert.Empty(t, h.state("t1").CreateIntents)
}

// A sync cancelled right after the PSA created the contact of a user without an email (a
// PSA without identity): the next sync links that contact.
func psaInterruptedCreateWithoutIdentity(t *testing.T, h *harness) {
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	nomail := withoutMail(ft)
	h.src.AddTenant(ft)
	h.contacts.DropIdentity()
	h.discoverAndStoreLink("t1", "client-1")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once stdsync.Once
	h.contacts.OnChange(func(c tenantsync.Contact) {
		if c.LastName == nomail.Surname {
			once.Do(cancel)
		}
	})
	_, err := h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	h.contacts.OnChange(nil)
	require.Len(t, h.contacts.All(), 2)

	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Recovered)
	assert.Len(t, h.links("t1"), 2)
	assertNoDuplicates(t, h, 2)
}

// Every create carries the user's identity and so an idempotency key: the engine's own
// syncs and a person's "create" on a review.
func TestEveryCreateCarriesTheIdentity(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 3)
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "A", Email: "shared@contoso.example", Active: true})
	h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "B", Email: "shared@contoso.example", Active: true})
	u := person("t1-u900", "Dana", "Doe", "contoso.example")
	u.ProxyAddresses = append(u.ProxyAddresses, "smtp:"+c.Email)
	h.src.PutUser("t1", u)
	h.syncNow("t1")
	reviews, err := h.st.Account(testAccount).Reviews.List(t.Context(), store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	_, err = h.eng.ResolveReview(t.Context(), "alice", reviews[0].ID, Decision{Action: store.ResolveCreate})
	require.NoError(t, err)

	sent := h.contacts.Sent()
	require.Len(t, sent, 3+1, "the initial sync's people and the review's create")
	for _, c := range sent {
		assert.Equal(t, "t1", c.TenantID)
		assert.NotEmpty(t, c.ObjectID)
		assert.Equal(t, "tenantsync:t1:"+c.ObjectID, c.IdempotencyKey())
	}
}

// A sync sends at most Limits.PSACallsPerSync writes; the rest is pending, in the report and
// the status, and the next syncs write it although the tenant does not change.
func TestPSACallBudgetLeavesTheRestPending(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.PSACallsPerSync = 4 })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 10))
	h.discoverAndStoreLink("t1", "client-1")
	for i, want := range []struct{ created, pending int }{{4, 6}, {4, 2}, {2, 0}} {
		rep := h.syncNow("t1")
		if i > 0 {
			require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode, "nothing changed in the tenant")
		}
		assert.Equal(t, want.created, rep.Contacts.Created, "sync %d", i)
		assert.Equal(t, want.pending, rep.Contacts.Pending, "sync %d", i)
		assert.Equal(t, want.pending, h.status("t1").ContactsPending, "sync %d", i)
		if want.pending > 0 {
			require.ErrorIs(t, rep.Contacts.Stopped, tenantsync.ErrLimitExceeded)
			assert.Nil(t, h.state("t1").ContactsError, "a spent budget is no PSA failure")
		}
	}
	assert.Len(t, h.links("t1"), 10)
	assert.Len(t, h.contacts.All(), 10)
	assert.False(t, h.eng.PSAStatus().Paused(h.clock.Now()))
}

// A failure that the PSA answers with a 5xx for one record alone pauses the PSA, but the
// record goes last at the next syncs, so it delays no other user, and it is left for a person
// after its attempts.
func TestRecordThatAlwaysFailsGoesLast(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.ContactAttempts = 2 })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 6)
	bad := ft.Users[0]
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if c.ObjectID == bad.ObjectID {
			return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "psa", Status: 500, Message: "internal server error"}, false
		}
		return nil, false
	})
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	assert.Empty(t, h.links("t1"), "the first user failed and paused the PSA")
	assert.Equal(t, 5, h.state("t1").ContactsPending)

	h.clock.Advance(DefaultPSAMaxBackoff)
	rep := h.syncNow("t1")
	assert.Equal(t, 5, rep.Contacts.Created, "the failing user went last")
	assert.Equal(t, 1, rep.Contacts.Failed)
	assert.Zero(t, rep.Contacts.Pending)
	f := h.state("t1").ContactFailures[bad.ObjectID]
	assert.True(t, f.NeedsPerson)
	assert.Equal(t, "service_unavailable", f.Kind)

	h.clock.Advance(DefaultPSAMaxBackoff)
	pauses := h.eng.PSAStatus().Pauses
	h.syncNow("t1")
	assert.Equal(t, pauses, h.eng.PSAStatus().Pauses, "a record left for a person no longer pauses the PSA")
}

func TestResolveContactFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	setup := func(t *testing.T) (*harness, tenantsync.User) {
		h := newHarness(t)
		ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
		u := ft.Users[1]
		h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
			if op == "create" && c.ObjectID == u.ObjectID {
				return &tenantsync.Error{Class: tenantsync.ErrConflict, Service: "psa", Status: 409, Message: "a contact with this email exists"}, false
			}
			return nil, false
		})
		h.src.AddTenant(ft)
		h.discoverAndLink("t1", "client-1")
		require.Contains(t, h.state("t1").ContactFailures, u.ObjectID)
		return h, u
	}
	t.Run("Ignore", func(t *testing.T) {
		t.Parallel()
		h, u := setup(t)
		require.NoError(t, h.eng.ResolveContactFailure(ctx, "alice", "t1", u.ObjectID, ContactResolution{Decision: ContactIgnore}))
		f := h.state("t1").ContactFailures[u.ObjectID]
		assert.True(t, f.Ignored)
		assert.Equal(t, "alice", f.DecidedBy)
		status := h.status("t1")
		assert.Zero(t, status.FailingContacts())
		assert.True(t, status.Healthy(), "a decided failure is no longer a problem")
		sent := h.sentFor(u.ObjectID)
		h.clock.Advance(48 * time.Hour)
		rep := h.syncNow("t1")
		assert.Equal(t, 1, rep.Contacts.Waiting)
		assert.Equal(t, sent, h.sentFor(u.ObjectID), "an ignored write is not tried again")
		entries, err := h.st.Account(testAccount).Audit.List(ctx, store.AuditQuery{TenantID: "t1"})
		require.NoError(t, err)
		assert.True(t, slices.ContainsFunc(entries, func(e tenantsync.AuditEntry) bool {
			return e.Action == "resolve_contact_failure" && e.Outcome == "succeeded" && e.Detail["decision"] == "ignore"
		}))
	})
	t.Run("Merge", func(t *testing.T) {
		t.Parallel()
		h, u := setup(t)
		other := h.contacts.Add(tenantsync.Contact{ClientID: "client-2", FirstName: "Elsewhere"})
		err := h.eng.ResolveContactFailure(ctx, "alice", "t1", u.ObjectID, ContactResolution{Decision: ContactMerge, ContactID: other.ID})
		require.ErrorIs(t, err, tenantsync.ErrNotFound, "a contact of another client")
		existing := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Pat", LastName: "Kept", Active: true})
		require.NoError(t, h.eng.ResolveContactFailure(ctx, "alice", "t1", u.ObjectID, ContactResolution{Decision: ContactMerge, ContactID: existing.ID}))
		assert.NotContains(t, h.state("t1").ContactFailures, u.ObjectID)
		h.syncNow("t1")
		assert.Equal(t, existing.ID, h.links("t1")[u.ObjectID].ContactID)
		assert.True(t, h.status("t1").Healthy())
	})
	t.Run("MergeIntoAHeldContact", func(t *testing.T) {
		t.Parallel()
		h, u := setup(t)
		held := h.links("t1")["t1-u000"].ContactID
		require.NotEmpty(t, held)
		err := h.eng.ResolveContactFailure(ctx, "alice", "t1", u.ObjectID, ContactResolution{Decision: ContactMerge, ContactID: held})
		require.ErrorIs(t, err, tenantsync.ErrConflict, "the contact is another user's")
		assert.Contains(t, tenantsync.HintOf(err), "one user")
		assert.Contains(t, h.state("t1").ContactFailures, u.ObjectID, "nothing decided")

		// A merge like it already stored (before the entry points refused it) must not fail
		// every later commit on the one-user-per-contact rule.
		require.NoError(t, h.st.Account(testAccount).Merges.Remember(ctx, store.Merge{TenantID: "t1", ObjectID: u.ObjectID,
			ClientID: "client-1", ContactID: held, DecidedBy: "legacy", DecidedAt: h.clock.Now()}))
		h.eng.invalidateReconcile("t1")
		h.clock.Advance(48 * time.Hour)
		_, err = h.eng.SyncNow(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, held, h.links("t1")["t1-u000"].ContactID, "the holder keeps its contact")
		assert.NotEqual(t, held, h.links("t1")[u.ObjectID].ContactID)
	})
	t.Run("Refusals", func(t *testing.T) {
		t.Parallel()
		h, u := setup(t)
		for _, tc := range []struct {
			name              string
			actor, tenant, id string
			res               ContactResolution
			kind              error
		}{
			{"no actor", "", "t1", u.ObjectID, ContactResolution{Decision: ContactRetry}, tenantsync.ErrInvalidInput},
			{"no decision", "alice", "t1", u.ObjectID, ContactResolution{}, tenantsync.ErrInvalidInput},
			{"merge without contact", "alice", "t1", u.ObjectID, ContactResolution{Decision: ContactMerge}, tenantsync.ErrInvalidInput},
			{"unknown tenant", "alice", "t9", u.ObjectID, ContactResolution{Decision: ContactRetry}, tenantsync.ErrTenantNotFound},
			{"no failure", "alice", "t1", "t1-u000", ContactResolution{Decision: ContactRetry}, tenantsync.ErrNotFound},
		} {
			err := h.eng.ResolveContactFailure(ctx, tc.actor, tc.tenant, tc.id, tc.res)
			require.ErrorIs(t, err, tc.kind, tc.name)
			assert.NotEmpty(t, tenantsync.HintOf(err), tc.name)
		}
	})
}

// autoClock is a Clock whose timers fire at once, moving the time forward by their wait: a
// test of pacing reads how far the time moved instead of waiting.
type autoClock struct {
	mu  stdsync.Mutex
	now time.Time
}

func (c *autoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *autoClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(max(d, 0))
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// The rate limit spaces the PSA calls of every tenant together on the engine's clock.
func TestPSARateLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		rate  float64
		burst int
		calls int
		want  time.Duration
	}{
		{"no limit", 0, 0, 50, 0},
		{"one a second, burst 2", 1, 2, 10, 8 * time.Second},
		{"ten a second, burst 1", 10, 1, 21, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &autoClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			g := newPSAGate(clock, Limits{PSACallsPerSecond: tc.rate, PSABurst: tc.burst}.withDefaults())
			start := clock.Now()
			for range tc.calls {
				require.NoError(t, g.admit(t.Context(), "t1"))
			}
			assert.InDelta(t, tc.want.Seconds(), clock.Now().Sub(start).Seconds(), 0.01)
		})
	}
}

// A pause honours the PSA's Retry-After; without one it backs off exponentially with equal
// jitter (between half and all of the doubled wait), up to the maximum, and a successful call
// starts the doubling over. A paused gate refuses at once with the pause's kind and wait.
func TestPSAGatePauses(t *testing.T) {
	t.Parallel()
	clock := NewManualClock()
	lim := Limits{PSABackoff: 4 * time.Second, PSAMaxBackoff: 20 * time.Second}.withDefaults()
	g := newPSAGate(clock, lim)
	unavailable := &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "psa", Status: 503, Message: "maintenance"}
	for i, want := range []time.Duration{4 * time.Second, 8 * time.Second, 16 * time.Second, 20 * time.Second, 20 * time.Second} {
		now := clock.Now()
		until, moved := g.pause(unavailable)
		require.True(t, moved)
		assert.GreaterOrEqual(t, until.Sub(now), want/2, "pause %d", i)
		assert.LessOrEqual(t, until.Sub(now), want, "pause %d", i)
		err := g.admit(t.Context(), "t1")
		require.ErrorIs(t, err, tenantsync.ErrUnavailable)
		d, ok := tenantsync.Details(err)
		require.True(t, ok)
		assert.Equal(t, until.Sub(now), d.RetryAfter)
		assert.NotEmpty(t, d.Hint)
		clock.Advance(until.Sub(now))
		require.NoError(t, g.admit(t.Context(), "t1"), "the pause is over")
	}
	g.succeeded()
	now := clock.Now()
	until, _ := g.pause(unavailable)
	assert.LessOrEqual(t, until.Sub(now), 4*time.Second, "a success starts the doubling over")
	clock.Advance(time.Minute)

	now = clock.Now()
	throttled := &tenantsync.Error{Class: tenantsync.ErrThrottled, Service: "psa", Status: 429, RetryAfter: 90 * time.Second}
	until, moved := g.pause(throttled)
	require.True(t, moved)
	assert.Equal(t, now.Add(90*time.Second), until)
	_, moved = g.pause(&tenantsync.Error{Class: tenantsync.ErrThrottled, RetryAfter: time.Second})
	assert.False(t, moved, "a shorter pause does not cut the one in force")
	require.ErrorIs(t, g.admit(t.Context(), "t1"), tenantsync.ErrThrottled)
	assert.Equal(t, uint64(7), g.pauses.Load())
}

func TestClassifyPSA(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want psaVerdict
	}{
		{tenantsync.Errorf(tenantsync.ErrInvalidInput, "", "bad phone"), psaRecord},
		{tenantsync.Errorf(tenantsync.ErrConflict, "", "duplicate email"), psaRecord},
		{tenantsync.Errorf(tenantsync.ErrNotFound, "", "gone"), psaRecord},
		{errors.New("contact rejected"), psaRecord},
		{context.DeadlineExceeded, psaDown},
		{tenantsync.Errorf(tenantsync.ErrUnavailable, "", "502"), psaDown},
		{tenantsync.Errorf(tenantsync.ErrThrottled, "", "429"), psaThrottled},
		{tenantsync.Errorf(tenantsync.ErrLimitExceeded, "", "hourly quota"), psaThrottled},
		{tenantsync.Errorf(tenantsync.ErrUnauthorized, "", "401"), psaRefused},
		{tenantsync.Errorf(tenantsync.ErrRoleMissing, "", "403"), psaRefused},
	} {
		assert.Equal(t, tc.want, classifyPSA(tc.err), "%v", tc.err)
	}
}

// hangingContacts never answers a create: the call lasts until its context ends.
type hangingContacts struct{ *FakeContacts }

func (h hangingContacts) CreateContact(ctx context.Context, _ tenantsync.Contact) (tenantsync.Contact, error) {
	<-ctx.Done()
	return tenantsync.Contact{}, ctx.Err()
}

// A PSA call that does not answer within Limits.PSACallTimeout counts as the PSA failing: the
// sync goes on without it and stores what it has, and PSA calls pause.
func TestPSACallTimeoutPausesThePSA(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Limits.PSACallTimeout = 20 * time.Millisecond
	})
	eng, err := New(func() Config {
		c := h.cfg
		c.Contacts = hangingContacts{h.contacts}
		c.InstanceID = "engine-h"
		return c
	}())
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.discoverAndStoreLink("t1", "client-1")
	rep, err := eng.SyncNow(t.Context(), "t1")
	require.NoError(t, err, "the sync is not lost to a hanging PSA")
	assert.Len(t, h.users("t1"), 6)
	assert.Equal(t, 1, rep.Contacts.Failed, "the user whose create hung")
	assert.Equal(t, 2, rep.Contacts.Pending)
	require.ErrorIs(t, rep.Contacts.Stopped, tenantsync.ErrUnavailable)
	f := h.state("t1").ContactFailures["t1-u000"]
	assert.Equal(t, "service_unavailable", f.Kind)
	assert.Contains(t, f.Message, "did not answer within")
	assert.True(t, eng.PSAStatus().Paused(h.clock.Now()))
	assert.Contains(t, h.state("t1").CreateIntents, "t1-u000", "a create that timed out may have happened")
}

// While the PSA is paused the run cannot list contacts; the users it counts pending are those
// still owed a write, not the tenant's shared mailboxes, guests and already-linked users.
func TestPendingWhilePausedCountsOnlyUsersOwedAWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.MaxCreatesPerSync = 4 })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 10)
	h.src.AddTenant(ft)
	h.discoverAndStoreLink("t1", "client-1")
	h.syncNow("t1")
	h.syncNow("t1")
	h.syncNow("t1")
	require.Len(t, h.links("t1"), 10, "ten people linked; the shared mailbox, the room and the guest are not people")

	for i := range 3 {
		h.src.PutUser("t1", person(fmt.Sprintf("t1-new%d", i), "New", fmt.Sprint("Person", i), "contoso.example"))
	}
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		return &tenantsync.Error{Class: tenantsync.ErrThrottled, Service: "psa", Status: 429, RetryAfter: time.Hour}, false
	})
	h.eng.invalidateReconcile("t1")
	h.syncNow("t1") // the first create meets the quota: the PSA pauses
	for range 2 {
		h.clock.Advance(time.Minute)
		h.eng.invalidateReconcile("t1")
		h.syncNow("t1") // paused: the contacts cannot even be listed
		assert.Equal(t, 3, h.state("t1").ContactsPending, "the three new people, nobody else")
	}
}

// The soak's case, with a PSA that keeps no identity: a create's answer is lost, then the
// user's mail changes to an address a hand-entered contact holds. The contact the create made
// is the user's; linking the hand-entered one by address would leave the made one a duplicate.
func TestInterruptedCreateWinsOverANewAddressMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	u := ft.Users[1]
	h.src.AddTenant(ft)
	h.contacts.DropIdentity()
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if op == "create" && c.LastName == u.Surname {
			return tenantsync.Errorf(tenantsync.ErrUnavailable, "", "connection reset"), true
		}
		return nil, false
	})
	h.discoverAndStoreLink("t1", "client-1")
	h.syncNow("t1")
	h.contacts.Fault(nil)
	made := h.contacts.Sent()
	require.NotEmpty(t, made)
	require.NotContains(t, h.links("t1"), u.ObjectID, "the answer was lost")

	held := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Former", LastName: "Staff",
		Email: "former.staff@contoso.example", Active: true})
	u.Mail = held.Email
	u.ProxyAddresses = []string{"SMTP:" + held.Email}
	h.src.PutUser("t1", u)
	h.clock.Advance(time.Hour)
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Recovered)
	link := h.links("t1")[u.ObjectID]
	require.NotEmpty(t, link.ContactID)
	assert.NotEqual(t, held.ID, link.ContactID, "the contact made for the user, not the hand-entered one")
	got, ok := h.contacts.Get(link.ContactID)
	require.True(t, ok)
	assert.Equal(t, u.Surname, got.LastName)
}
