package graph_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// cursorsOf returns the cursors a fetch handed back, as the engine stores them.
func cursorsOf(res *tenantsync.FetchResult) map[tenantsync.Kind]string {
	out := map[tenantsync.Kind]string{}
	for k, kr := range res.Kinds {
		if kr.Mode != tenantsync.Unavailable && kr.Cursor != "" {
			out[k] = kr.Cursor
		}
	}
	return out
}

func mailboxIDs(kr *tenantsync.KindResult) map[string]tenantsync.MailboxType {
	out := map[string]tenantsync.MailboxType{}
	for _, m := range kr.Mailboxes {
		out[m.ObjectID] = m.Type
	}
	return out
}

func userIDs(kr *tenantsync.KindResult) []string {
	out := make([]string, 0, len(kr.Users))
	for _, u := range kr.Users {
		out = append(out, u.ObjectID)
	}
	return out
}

// withMailbox returns a live, licensed user of tn with a mail address and a mailbox of type
// mt, other than the users in not.
func withMailbox(t *testing.T, tn *testserver.Tenant, mt string, not ...string) *testserver.User {
	t.Helper()
	for _, u := range tn.Users {
		if !u.Deleted && u.Mail != "" && u.MailboxType == mt && len(u.Licenses) > 0 && !slices.Contains(not, u.ID) {
			return u
		}
	}
	t.Fatalf("no licensed user with a %s", mt)
	return nil
}

func TestMailboxesDeltaSteadyState(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return tn.PremiumP1 && tn.Consented })
	src := newSource(t, c)

	srv.ResetCounts()
	full := fetch(t, src, tn.ID, nil, sevenKinds...)
	for _, k := range sevenKinds {
		require.Equal(t, tenantsync.Complete, full.Result(k).Mode, "%s: %v", k, full.Result(k).Err)
	}
	withMail := 0
	for _, u := range tn.Users {
		if !u.Deleted && u.Mail != "" {
			withMail++
		}
	}
	entra, graphCalls := srv.Requests(testserver.ServiceEntra, tn.ID), srv.Requests(testserver.ServiceGraph, tn.ID)
	t.Logf("first full fetch of all kinds, %d users (%d with mail): entra=%d graph=%d", len(activeUsers(tn)), withMail, entra, graphCalls)
	ca := caGroupBatches(tn)
	assert.Equal(t, 1+(withMail+19)/20+ca, graphCalls, "one batch for every kind's first page, one per 20 mailbox types, and the members of the groups CA policies name")
	users, mbs := full.Result(tenantsync.KindUsers), full.Result(tenantsync.KindMailboxes)
	require.NotEmpty(t, mbs.Cursor, "the mailboxes kind returns a cursor")
	assert.Equal(t, users.Cursor, mbs.Cursor, "one round served both kinds")
	assert.Contains(t, mbs.Cursor, srv.GraphURL()+"/v1.0/users/delta?")

	// Unchanged: one request, the batch.
	cursors := cursorsOf(full)
	srv.ResetCounts()
	quiet := fetch(t, src, tn.ID, cursors, sevenKinds...)
	entra, graphCalls = srv.Requests(testserver.ServiceEntra, tn.ID), srv.Requests(testserver.ServiceGraph, tn.ID)
	t.Logf("steady state, unchanged: entra=%d graph=%d reported=%d", entra, graphCalls, quiet.RoundTrips)
	assert.Equal(t, 0, entra, "the token is cached")
	assert.Equal(t, 1+ca, graphCalls, "an unchanged tenant costs one round trip (and MFA coverage its policies' groups)")
	assert.Equal(t, 1+ca, quiet.RoundTrips)
	for _, k := range []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes} {
		kr := quiet.Result(k)
		require.Equal(t, tenantsync.Changes, kr.Mode, "%s: %v", k, kr.Err)
		assert.Zero(t, kr.Len(), k)
		assert.Empty(t, kr.Removed, k)
		assert.NotEmpty(t, kr.Cursor, k)
	}

	// A new shared mailbox, a deleted user with a mailbox, a user whose mail address was
	// removed, a user converted to a shared mailbox with the licence taken away (as a
	// conversion usually goes), one converted in Exchange alone, and a user changed elsewhere.
	deleted := withMailbox(t, tn, "UserMailbox")
	unmailed := withMailbox(t, tn, "UserMailbox", deleted.ID)
	converted := withMailbox(t, tn, "UserMailbox", deleted.ID, unmailed.ID)
	retitled := withMailbox(t, tn, "UserMailbox", deleted.ID, unmailed.ID, converted.ID)
	quietly := withMailbox(t, tn, "UserMailbox", deleted.ID, unmailed.ID, converted.ID, retitled.ID)
	addr := "shared.desk@" + tn.DefaultDomain
	added, err := srv.World.AddUser(tn.ID, testserver.User{UserPrincipalName: addr, DisplayName: "Shared Desk", Mail: addr,
		ProxyAddresses: []string{"SMTP:" + addr, "smtp:desk@" + tn.DefaultDomain}, AccountEnabled: false, MailboxType: "SharedMailbox"})
	require.NoError(t, err)
	require.NoError(t, srv.World.DeleteUser(tn.ID, deleted.ID))
	require.NoError(t, srv.World.UpdateUser(tn.ID, unmailed.ID, func(u *testserver.User) { u.Mail, u.ProxyAddresses, u.MailboxType = "", nil, "" }))
	require.NoError(t, srv.World.UpdateUser(tn.ID, converted.ID, func(u *testserver.User) { u.MailboxType, u.Licenses = "SharedMailbox", nil }))
	require.NoError(t, srv.World.UpdateUser(tn.ID, quietly.ID, func(u *testserver.User) { u.MailboxType = "SharedMailbox" }))
	require.NoError(t, srv.World.UpdateUser(tn.ID, retitled.ID, func(u *testserver.User) { u.JobTitle = "Head of Changes" }))

	cursors = cursorsOf(quiet)
	srv.ResetCounts()
	changed := fetch(t, src, tn.ID, cursors, sevenKinds...)
	graphCalls = srv.Requests(testserver.ServiceGraph, tn.ID)
	t.Logf("steady state, 5 users changed: graph=%d", graphCalls)
	assert.Equal(t, 2+ca, graphCalls, "the batch, and one batch of mailbox types for the 4 changed users with mail")

	uk := changed.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Changes, uk.Mode, "%v", uk.Err)
	assert.ElementsMatch(t, []string{added.ID, unmailed.ID, converted.ID, retitled.ID}, userIDs(uk))
	assert.Equal(t, []string{deleted.ID}, uk.Removed)

	mk := changed.Result(tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Changes, mk.Mode, "%v", mk.Err)
	assert.Equal(t, map[string]tenantsync.MailboxType{
		added.ID:     tenantsync.MailboxShared,
		converted.ID: tenantsync.MailboxShared,
		retitled.ID:  tenantsync.MailboxUser,
	}, mailboxIDs(mk))
	assert.ElementsMatch(t, []string{deleted.ID, unmailed.ID}, mk.Removed)
	for _, m := range mk.Mailboxes {
		if m.ObjectID == added.ID {
			assert.Equal(t, addr, m.PrimarySMTPAddress)
			assert.Equal(t, []string{"desk@" + tn.DefaultDomain}, m.Aliases)
		}
	}
	assert.NotEqual(t, mbs.Cursor, mk.Cursor)
	assert.NotContains(t, mailboxIDs(mk), quietly.ID, "Graph tracks directory properties only: an Exchange-only conversion waits for a full listing")

	// Quiet again.
	srv.ResetCounts()
	again := fetch(t, src, tn.ID, cursorsOf(changed), sevenKinds...)
	assert.Equal(t, 1+ca, srv.Requests(testserver.ServiceGraph, tn.ID))
	assert.Zero(t, again.Result(tenantsync.KindMailboxes).Len())

	// A full listing (the engine drops the cursors) sees the Exchange-only conversion.
	relisted := fetch(t, src, tn.ID, nil, tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Complete, relisted.Result(tenantsync.KindMailboxes).Mode)
	assert.Equal(t, tenantsync.MailboxShared, mailboxIDs(relisted.Result(tenantsync.KindMailboxes))[quietly.ID])
}

// TestMailboxesOwnCursor covers the mailboxes kind whose cursor differs from the users' one
// (listed on its own, or after one of the two kinds failed to apply): its round is a second
// item of the same batch.
func TestMailboxesOwnCursor(t *testing.T) {
	t.Parallel()
	srv, src, tn := sourceTest(t)

	mbOnly := fetch(t, src, tn.ID, nil, tenantsync.KindMailboxes)
	mbs := mbOnly.Result(tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Complete, mbs.Mode, "%v", mbs.Err)
	require.NotEmpty(t, mbs.Cursor)
	want := map[string]tenantsync.MailboxType{}
	for _, u := range tn.Users {
		if !u.Deleted && u.Mail != "" && u.MailboxType != "" {
			want[u.ID] = map[string]tenantsync.MailboxType{"UserMailbox": tenantsync.MailboxUser, "SharedMailbox": tenantsync.MailboxShared,
				"RoomMailbox": tenantsync.MailboxRoom, "EquipmentMailbox": tenantsync.MailboxEquipment}[u.MailboxType]
		}
	}
	assert.Equal(t, want, mailboxIDs(mbs))

	usersOnly := fetch(t, src, tn.ID, nil, tenantsync.KindUsers)
	uc := usersOnly.Result(tenantsync.KindUsers).Cursor
	require.NotEqual(t, uc, mbs.Cursor, "the mailboxes round selects fewer properties")

	cursors := map[tenantsync.Kind]string{tenantsync.KindUsers: uc, tenantsync.KindMailboxes: mbs.Cursor}
	both := []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}
	srv.ResetCounts()
	quiet := fetch(t, src, tn.ID, cursors, both...)
	assert.Equal(t, 1, srv.Requests(testserver.ServiceGraph, tn.ID), "both delta rounds ride in one batch")
	assert.Equal(t, tenantsync.Changes, quiet.Result(tenantsync.KindMailboxes).Mode, "%v", quiet.Result(tenantsync.KindMailboxes).Err)

	// The mailboxes round tracks names and addresses only: a new job title reaches the users
	// kind without a mailbox type read.
	gone := withMailbox(t, tn, "UserMailbox")
	retitled := withMailbox(t, tn, "UserMailbox", gone.ID)
	require.NoError(t, srv.World.DeleteUser(tn.ID, gone.ID))
	require.NoError(t, srv.World.UpdateUser(tn.ID, retitled.ID, func(u *testserver.User) { u.JobTitle = "Only Users Care" }))
	srv.ResetCounts()
	ch := fetch(t, src, tn.ID, cursorsOf(quiet), both...)
	assert.Equal(t, 1, srv.Requests(testserver.ServiceGraph, tn.ID), "no mailbox type was read")
	assert.Equal(t, []string{gone.ID}, ch.Result(tenantsync.KindMailboxes).Removed)
	assert.Zero(t, ch.Result(tenantsync.KindMailboxes).Len())
	assert.Equal(t, []string{gone.ID}, ch.Result(tenantsync.KindUsers).Removed)
	assert.Equal(t, []string{retitled.ID}, userIDs(ch.Result(tenantsync.KindUsers)))

	// A renamed mailbox is read again, and so is one converted to shared with its licence taken.
	converted := withMailbox(t, tn, "UserMailbox", gone.ID, retitled.ID)
	require.NoError(t, srv.World.UpdateUser(tn.ID, retitled.ID, func(u *testserver.User) { u.DisplayName += " (renamed)" }))
	require.NoError(t, srv.World.UpdateUser(tn.ID, converted.ID, func(u *testserver.User) { u.MailboxType, u.Licenses = "SharedMailbox", nil }))
	srv.ResetCounts()
	ren := fetch(t, src, tn.ID, cursorsOf(ch), both...)
	assert.Equal(t, 2, srv.Requests(testserver.ServiceGraph, tn.ID))
	mk := ren.Result(tenantsync.KindMailboxes)
	assert.Equal(t, map[string]tenantsync.MailboxType{retitled.ID: tenantsync.MailboxUser, converted.ID: tenantsync.MailboxShared}, mailboxIDs(mk))
	for _, m := range mk.Mailboxes {
		if m.ObjectID == retitled.ID {
			assert.Contains(t, m.DisplayName, "(renamed)")
		}
	}
}

func TestMailboxCursorRefused(t *testing.T) {
	t.Parallel()
	srv, src, tn := sourceTest(t)
	full := fetch(t, src, tn.ID, nil, tenantsync.KindUsers, tenantsync.KindMailboxes)
	cur := full.Result(tenantsync.KindMailboxes).Cursor
	require.NotEmpty(t, cur)

	tests := []struct {
		name    string
		kinds   []tenantsync.Kind
		cursors map[tenantsync.Kind]string
		expire  bool
		want    error
	}{
		{name: "not a delta link", kinds: []tenantsync.Kind{tenantsync.KindMailboxes},
			cursors: map[tenantsync.Kind]string{tenantsync.KindMailboxes: srv.GraphURL() + "/v1.0/users?$top=1"}, want: tenantsync.ErrCursorExpired},
		{name: "another host", kinds: []tenantsync.Kind{tenantsync.KindMailboxes},
			cursors: map[tenantsync.Kind]string{tenantsync.KindMailboxes: "https://graph.example.net/v1.0/users/delta?$deltatoken=x"}, want: tenantsync.ErrHostNotAllowed},
		{name: "users cursor elsewhere too", kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes},
			cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: "https://graph.example.net/v1.0/users/delta?$deltatoken=x",
				tenantsync.KindMailboxes: "https://graph.example.net/v1.0/users/delta?$deltatoken=x"}, want: tenantsync.ErrHostNotAllowed},
		{name: "expired, own round", kinds: []tenantsync.Kind{tenantsync.KindMailboxes},
			cursors: map[tenantsync.Kind]string{tenantsync.KindMailboxes: cur}, expire: true, want: tenantsync.ErrCursorExpired},
		{name: "expired, shared round", kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes},
			cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: cur, tenantsync.KindMailboxes: cur}, expire: true, want: tenantsync.ErrCursorExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Subtests share the tenant's delta generation, so they run in order.
			if tt.expire {
				srv.GraphExpireDeltaTokens(tn.ID)
			}
			res := fetch(t, src, tn.ID, tt.cursors, tt.kinds...)
			for _, k := range tt.kinds {
				kr := res.Result(k)
				require.Equal(t, tenantsync.Unavailable, kr.Mode, k)
				assert.ErrorIs(t, kr.Err, tt.want, k)
			}
		})
	}

	// The engine's fallback: a full listing without cursors yields fresh, working cursors.
	again := fetch(t, src, tn.ID, nil, tenantsync.KindMailboxes)
	mk := again.Result(tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Complete, mk.Mode, "%v", mk.Err)
	next := fetch(t, src, tn.ID, cursorsOf(again), tenantsync.KindMailboxes)
	assert.Equal(t, tenantsync.Changes, next.Result(tenantsync.KindMailboxes).Mode)
}

// TestMailboxTypesFailLeaveUsers: mailbox types that cannot be read make the mailboxes kind
// unavailable (nothing removed, cursor not advanced) while users still advance.
func TestMailboxTypesFailLeaveUsers(t *testing.T) {
	t.Parallel()
	srv, src, tn := sourceTest(t)
	both := []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}
	full := fetch(t, src, tn.ID, nil, both...)
	u := withMailbox(t, tn, "UserMailbox")
	require.NoError(t, srv.World.UpdateUser(tn.ID, u.ID, func(u *testserver.User) { u.MailboxType, u.Licenses = "SharedMailbox", nil }))
	srv.GraphDeny(tn.ID, "/users/"+u.ID+"/mailboxSettings", true)

	res := fetch(t, src, tn.ID, cursorsOf(full), both...)
	assert.Equal(t, tenantsync.Changes, res.Result(tenantsync.KindUsers).Mode)
	mk := res.Result(tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Unavailable, mk.Mode)
	assert.ErrorIs(t, mk.Err, tenantsync.ErrRoleMissing)
	assert.Empty(t, mk.Cursor)
}

// roundTrips counts a fetch's Graph requests by what they were for.
type roundTrips struct {
	mu     sync.Mutex
	byKind map[string]int
	next   http.RoundTripper
}

func (r *roundTrips) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.URL.Path
	if i := strings.Index(key, "/v1.0"); i >= 0 {
		key = key[i+len("/v1.0"):]
	}
	r.mu.Lock()
	r.byKind[key]++
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *roundTrips) reset() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.byKind
	r.byKind = map[string]int{}
	return out
}

// BenchmarkFetchRoundTrips reports the Graph requests per tenant of a first full fetch of every
// kind, an unchanged steady-state fetch and one where 1% of the users changed, for a small and
// a 10,500-user tenant, with the requests by endpoint:
//
//	go test -run '^$' -bench FetchRoundTrips -benchtime 1x -timeout 30m -v ./graph/
//
// The wall time is mostly the client keeping to Microsoft's published limits (the
// authentication methods reports allow 0.5 requests a second), not the fake.
func BenchmarkFetchRoundTrips(b *testing.B) {
	for _, size := range []int{12, 10500} {
		b.Run(strconv.Itoa(size)+"users", func(b *testing.B) {
			srv := testserver.NewT(b, testserver.Options{Seed: 7, Tenants: 1, Sizes: []int{size}})
			tn := srv.World.Tenants[0]
			// With Entra ID P1 the MFA registration details are listed too, as in most tenants
			// this size; set before the fake serves anything.
			tn.PremiumP1 = true
			counter := &roundTrips{byKind: map[string]int{}}
			cfg := baseConfig(srv)
			hc := *srv.HTTPClient()
			counter.next = hc.Transport
			hc.Transport = counter
			cfg.HTTPClient = &hc
			c, err := graph.NewClient(cfg)
			require.NoError(b, err)
			src := newSource(b, c)
			for b.Loop() {
				srv.ResetCounts()
				counter.reset()
				full := fetch(b, src, tn.ID, nil, sevenKinds...)
				fullTrips := srv.Requests(testserver.ServiceGraph, tn.ID) + srv.Requests(testserver.ServiceEntra, tn.ID)
				fullBy := counter.reset()

				srv.ResetCounts()
				quiet := fetch(b, src, tn.ID, cursorsOf(full), sevenKinds...)
				quietTrips := srv.Requests(testserver.ServiceGraph, tn.ID) + srv.Requests(testserver.ServiceEntra, tn.ID)
				quietBy := counter.reset()

				n := 0
				for _, u := range tn.Users {
					if !u.Deleted && n < max(1, size/100) {
						require.NoError(b, srv.World.UpdateUser(tn.ID, u.ID, func(u *testserver.User) { u.JobTitle += " (changed)" }))
						n++
					}
				}
				srv.ResetCounts()
				_ = fetch(b, src, tn.ID, cursorsOf(quiet), sevenKinds...)
				changedTrips := srv.Requests(testserver.ServiceGraph, tn.ID) + srv.Requests(testserver.ServiceEntra, tn.ID)
				changedBy := counter.reset()

				b.ReportMetric(float64(fullTrips), "full-trips")
				b.ReportMetric(float64(quietTrips), "unchanged-trips")
				b.ReportMetric(float64(changedTrips), "1%changed-trips")
				b.Logf("%d users: full=%d %v; unchanged=%d %v; %d changed=%d %v", size, fullTrips, fullBy, quietTrips, quietBy, n, changedTrips, changedBy)
			}
		})
	}
}
