package graph_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

func collect[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for it, err := range seq {
		require.NoError(t, err)
		out = append(out, it)
	}
	return out
}

// listAndPage reads a listing of a small tenant both ways, through its iterator and as its
// first page, checks that each holds want items, and returns the iterator's.
func listAndPage[T any](t *testing.T, tenant string, want int,
	list func(context.Context, string) iter.Seq2[T, error],
	page func(context.Context, string, string) (tenantsync.Page[T], error),
) []T {
	t.Helper()
	items := collect(t, list(t.Context(), tenant))
	require.Len(t, items, want)
	p, err := page(t.Context(), tenant, "")
	require.NoError(t, err)
	assert.Len(t, p.Items, want)
	assert.Empty(t, p.Next, "a small tenant fits one page")
	return items
}

func activeUsers(tn *testserver.Tenant) map[string]*testserver.User {
	m := map[string]*testserver.User{}
	for _, u := range tn.Users {
		if !u.Deleted {
			m[u.ID] = u
		}
	}
	return m
}

func TestReadsEveryKind(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	ctx := t.Context()

	t.Run("users", func(t *testing.T) {
		want := activeUsers(tn)
		users := listAndPage(t, tn.ID, len(want), c.ListUsers, c.UsersPage)
		for _, u := range users {
			w := want[u.ID]
			require.NotNil(t, w, u.ID)
			assert.Equal(t, w.UserPrincipalName, u.UserPrincipalName)
			assert.Equal(t, w.ProxyAddresses, nilIfEmpty(u.ProxyAddresses))
			assert.Equal(t, w.Mail, u.Mail)
			require.NotNil(t, u.AccountEnabled, "accountEnabled must be selected")
			assert.Equal(t, w.AccountEnabled, *u.AccountEnabled)
			assert.Equal(t, w.UserType, u.UserType)
			assert.Len(t, u.AssignedLicenses, len(w.Licenses))
		}
	})
	t.Run("subscribedSkus", func(t *testing.T) {
		skus := listAndPage(t, tn.ID, len(tn.SKUs), c.ListSubscribedSKUs, c.SubscribedSKUsPage)
		for i, s := range skus {
			assert.Equal(t, tn.SKUs[i].ID, s.SKUID)
			assert.Equal(t, tn.SKUs[i].PartNumber, s.SKUPartNumber)
			assert.Equal(t, tn.SKUs[i].Enabled, s.PrepaidUnits.Enabled)
			assert.Equal(t, tn.SKUs[i].Consumed, s.ConsumedUnits)
		}
	})
	t.Run("devices", func(t *testing.T) {
		ds := listAndPage(t, tn.ID, len(tn.Devices), c.ListManagedDevices, c.ManagedDevicesPage)
		for i, d := range ds {
			assert.Equal(t, tn.Devices[i].ID, d.ID)
			assert.Equal(t, tn.Devices[i].SerialNumber, d.SerialNumber)
			require.NotNil(t, d.LastSyncDateTime)
		}
	})
	t.Run("domains", func(t *testing.T) {
		ds := listAndPage(t, tn.ID, len(tn.Domains), c.ListDomains, c.DomainsPage)
		var def []string
		for _, d := range ds {
			if d.IsDefault {
				def = append(def, d.ID)
			}
		}
		assert.Equal(t, []string{tn.DefaultDomain}, def)
	})
	t.Run("conditional access", func(t *testing.T) {
		ps := listAndPage(t, tn.ID, len(tn.CAPolicies), c.ListCAPolicies, c.CAPoliciesPage)
		for i, p := range ps {
			assert.Equal(t, tn.CAPolicies[i].RequiresMFA, p.RequiresMFA())
			assert.Equal(t, tn.CAPolicies[i].State, p.State)
		}
	})
	t.Run("secure score", func(t *testing.T) {
		s, err := c.LatestSecureScore(ctx, tn.ID)
		require.NoError(t, err)
		require.NotNil(t, s)
		assert.InDelta(t, tn.SecureScore.Current, s.CurrentScore, 0.001)
		assert.InDelta(t, tn.SecureScore.Max, s.MaxScore, 0.001)
	})
	t.Run("organization", func(t *testing.T) {
		o, err := c.Organization(ctx, tn.ID)
		require.NoError(t, err)
		assert.Equal(t, tn.ID, o.ID)
		assert.Equal(t, tn.Name, o.DisplayName)
	})
	t.Run("security defaults", func(t *testing.T) {
		on, err := c.SecurityDefaults(ctx, tn.ID)
		require.NoError(t, err)
		assert.Equal(t, tn.SecurityDefaults, on)
	})
	t.Run("mailbox purposes", func(t *testing.T) {
		var ids []string
		want := map[string]graph.MailboxPurpose{}
		for _, u := range tn.Users {
			ids = append(ids, u.ID)
			switch u.MailboxType {
			case "UserMailbox":
				want[u.ID] = "user"
			case "SharedMailbox":
				want[u.ID] = "shared"
			case "RoomMailbox":
				want[u.ID] = "room"
			case "EquipmentMailbox":
				want[u.ID] = "equipment"
			default:
				want[u.ID] = ""
			}
		}
		got, err := c.MailboxPurposes(ctx, tn.ID, ids)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestRegistrationDetails(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := t.Context()
	p1 := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return tn.PremiumP1 && tn.Consented })
	want := activeUsers(p1)
	rows := listAndPage(t, p1.ID, len(want), c.ListRegistrationDetails, c.RegistrationDetailsPage)
	for _, r := range rows {
		assert.Equal(t, want[r.ID].MFARegistered, r.IsMFARegistered, r.UserPrincipalName)
	}

	basic := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return !tn.PremiumP1 && tn.Consented })
	var gotErr error
	for _, err := range c.ListRegistrationDetails(ctx, basic.ID) {
		gotErr = err
	}
	require.ErrorIs(t, gotErr, tenantsync.ErrLicenseRequired)
	require.ErrorIs(t, gotErr, tenantsync.ErrForbidden)
	d, ok := tenantsync.Details(gotErr)
	require.True(t, ok)
	assert.Equal(t, 403, d.Status)
	assert.Equal(t, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", d.Code)
	assert.NotEmpty(t, d.RequestID)
	assert.Contains(t, d.Hint, "P1")
}

func TestPagingFollowsNextLinks(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 230)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	ctx := t.Context()

	// Delta rounds are paged at 100 by the service: three pages for 230 users.
	p, err := c.UsersDeltaPage(ctx, tn.ID, "")
	require.NoError(t, err)
	require.Len(t, p.Items, 100)
	require.True(t, strings.HasPrefix(p.Next, srv.GraphURL()+"/v1.0/users/delta?"), p.Next)
	p2, err := c.UsersDeltaPage(ctx, tn.ID, p.Next)
	require.NoError(t, err)
	assert.Len(t, p2.Items, 100)

	d, err := c.UsersDelta(ctx, tn.ID, "")
	require.NoError(t, err)
	assert.True(t, d.Full)
	assert.Len(t, d.Users, len(activeUsers(tn)))
	assert.NotEmpty(t, d.Cursor)

	// The iterator ends when the consumer stops (that no further page is then fetched is
	// internal/paging's test).
	n := 0
	for _, err := range c.ListUsers(ctx, tn.ID) {
		require.NoError(t, err)
		n++
		if n == 5 {
			break
		}
	}
	assert.Equal(t, 5, n)
}

func TestDeltaRound(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	ctx := t.Context()
	src := newSource(t, c)

	full, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
	require.NoError(t, err)
	users := full.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Complete, users.Mode, "%v", users.Err)
	require.Len(t, users.Users, len(activeUsers(tn)))
	require.NotEmpty(t, users.Cursor)

	live := []*testserver.User{}
	for _, u := range tn.Users {
		if !u.Deleted {
			live = append(live, u)
		}
	}
	added, err := srv.World.AddUser(tn.ID, testserver.User{UserPrincipalName: "new.starter@" + tn.DefaultDomain, DisplayName: "New Starter", AccountEnabled: true})
	require.NoError(t, err)
	changed, removed, purged := live[1], live[2], live[3]
	require.NoError(t, srv.World.UpdateUser(tn.ID, changed.ID, func(u *testserver.User) { u.JobTitle = "Head of Changes" }))
	require.NoError(t, srv.World.DeleteUser(tn.ID, removed.ID))
	require.NoError(t, srv.GraphPurgeUser(tn.ID, purged.ID))

	srv.ResetCounts()
	next, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers},
		Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: users.Cursor}})
	require.NoError(t, err)
	ch := next.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Changes, ch.Mode, "%v", ch.Err)
	var upserted []string
	for _, u := range ch.Users {
		upserted = append(upserted, u.ObjectID)
		if u.ObjectID == changed.ID {
			assert.Equal(t, "Head of Changes", u.JobTitle)
		}
	}
	assert.ElementsMatch(t, []string{added.ID, changed.ID}, upserted)
	assert.ElementsMatch(t, []string{removed.ID, purged.ID}, ch.Removed)
	assert.NotEqual(t, users.Cursor, ch.Cursor)
	assert.Equal(t, 1, srv.Requests(testserver.ServiceGraph, tn.ID), "a change round is one batch")

	// An unchanged tenant costs one round trip and reports no changes.
	srv.ResetCounts()
	again, err := c.UsersDelta(ctx, tn.ID, ch.Cursor)
	require.NoError(t, err)
	assert.False(t, again.Full)
	assert.Empty(t, again.Users)
	assert.Empty(t, again.Removed)
	assert.Equal(t, 1, srv.Requests(testserver.ServiceGraph, tn.ID))
}

func TestDeltaCursorExpired(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	ctx := t.Context()
	d, err := c.UsersDelta(ctx, tn.ID, "")
	require.NoError(t, err)
	srv.GraphExpireDeltaTokens(tn.ID)

	_, err = c.UsersDelta(ctx, tn.ID, d.Cursor)
	require.ErrorIs(t, err, tenantsync.ErrCursorExpired)
	det, _ := tenantsync.Details(err)
	assert.Equal(t, "syncStateNotFound", det.Code)
	assert.Equal(t, 400, det.Status)

	res, err := newSource(t, c).Fetch(ctx, tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains},
		Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: d.Cursor}})
	require.NoError(t, err)
	u := res.Result(tenantsync.KindUsers)
	assert.Equal(t, tenantsync.Unavailable, u.Mode)
	assert.ErrorIs(t, u.Err, tenantsync.ErrCursorExpired)
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindDomains).Mode)

	// The fallback: a full listing without the cursor works and yields a fresh cursor.
	full, err := c.UsersDelta(ctx, tn.ID, "")
	require.NoError(t, err)
	assert.True(t, full.Full)
	assert.NotEmpty(t, full.Cursor)
}

func TestFetchPartialFailureLeavesOtherKinds(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return !tn.PremiumP1 && tn.Consented })
	srv.GraphDeny(tn.ID, "/deviceManagement", true)

	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: tenantsync.AllKinds()})
	require.NoError(t, err)
	dev := res.Result(tenantsync.KindDevices)
	require.Equal(t, tenantsync.Unavailable, dev.Mode)
	require.ErrorIs(t, dev.Err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(dev.Err), "Intune Administrator")
	assert.Contains(t, tenantsync.HintOf(dev.Err), "DeviceManagementManagedDevices.Read.All")
	d, _ := tenantsync.Details(dev.Err)
	assert.Equal(t, "Authorization_RequestDenied", d.Code)
	assert.NotEmpty(t, d.RequestID)

	mfa := res.Result(tenantsync.KindMFA)
	require.Equal(t, tenantsync.Unavailable, mfa.Mode)
	assert.ErrorIs(t, mfa.Err, tenantsync.ErrLicenseRequired)

	for _, k := range []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDomains, tenantsync.KindSubscriptions, tenantsync.KindBaseline} {
		kr := res.Result(k)
		assert.Equal(t, tenantsync.Complete, kr.Mode, "%s: %v", k, kr.Err)
	}
	assert.Len(t, res.Result(tenantsync.KindUsers).Users, len(activeUsers(tn)))
	assert.Len(t, res.Result(tenantsync.KindDomains).Domains, len(tn.Domains))
}

func TestFetchConvertsEveryKind(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return tn.PremiumP1 && tn.Consented })
	var progressed atomic.Int64
	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: tenantsync.AllKinds(),
		Progress: func(tenantsync.Kind, int) { progressed.Add(1) }})
	require.NoError(t, err)
	assert.Equal(t, "graph", res.Source)
	for _, k := range tenantsync.AllKinds() {
		require.Equal(t, tenantsync.Complete, res.Result(k).Mode, "%s: %v", k, res.Result(k).Err)
	}
	assert.Positive(t, progressed.Load())

	mbs := res.Result(tenantsync.KindMailboxes).Mailboxes
	want := map[string]tenantsync.MailboxType{}
	for _, u := range tn.Users {
		if u.Deleted || u.MailboxType == "" || u.Mail == "" {
			continue
		}
		want[u.ID] = map[string]tenantsync.MailboxType{"UserMailbox": tenantsync.MailboxUser, "SharedMailbox": tenantsync.MailboxShared,
			"RoomMailbox": tenantsync.MailboxRoom, "EquipmentMailbox": tenantsync.MailboxEquipment}[u.MailboxType]
	}
	got := map[string]tenantsync.MailboxType{}
	for _, m := range mbs {
		got[m.ObjectID] = m.Type
		assert.NotEmpty(t, m.PrimarySMTPAddress)
		assert.NotContains(t, strings.Join(m.Aliases, ","), ":")
	}
	assert.Equal(t, want, got)

	mfa := res.Result(tenantsync.KindMFA).MFA
	require.Len(t, mfa, len(activeUsers(tn)))
	users := activeUsers(tn)
	covered := 0
	for _, m := range mfa {
		assert.Equal(t, users[m.UserID].MFARegistered, m.Registered)
		assert.Equal(t, tn.CoveredByCA(users[m.UserID]), m.CoveredByCA, "coverage as Entra ID evaluates it: %s", m.UserPrincipalName)
		if m.CoveredByCA {
			covered++
		}
		assert.Equal(t, tn.SecurityDefaults, m.SecurityDefaults)
	}
	b := res.Result(tenantsync.KindBaseline).Baseline
	require.NotNil(t, b)
	require.NotNil(t, b.SecurityDefaults)
	assert.Equal(t, tn.SecurityDefaults, *b.SecurityDefaults)
	assert.Len(t, b.CAPolicies, len(tn.CAPolicies))
	assert.InDelta(t, tn.SecureScore.Current, b.SecureScore, 0.001)
	require.NotNil(t, b.MFA, "the baseline sums up the MFA states read with it")
	assert.Equal(t, len(mfa), b.MFA.Users)
	assert.Equal(t, covered, b.MFA.CoveredByCA)

	subs := res.Result(tenantsync.KindSubscriptions).Subscriptions
	require.Len(t, subs, len(tn.SKUs))
	assert.Equal(t, tn.SKUs[0].PartNumber, subs[0].SKUPartNumber)
	devs := res.Result(tenantsync.KindDevices).Devices
	require.NotEmpty(t, tn.Devices, "the fixture must have devices to convert")
	require.Len(t, devs, len(tn.Devices))
	for _, d := range devs {
		assert.False(t, d.LastSyncAt.IsZero(), d.DeviceName)
	}
}

func TestRoundTripsPerSmallTenant(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	src := newSource(t, c)
	kinds := []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices, tenantsync.KindDomains,
		tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline}

	srv.ResetCounts()
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: kinds})
	require.NoError(t, err)
	entra, graphCalls := srv.Requests(testserver.ServiceEntra, tn.ID), srv.Requests(testserver.ServiceGraph, tn.ID)
	t.Logf("full fetch of every kind but mailboxes: entra=%d graph=%d reported=%d", entra, graphCalls, res.RoundTrips)
	assert.Equal(t, 1+caGroupBatches(tn), graphCalls, "one $batch carries the first page of every kind (and MFA coverage its policies' groups)")
	// One token request, preceded on first contact with a tenant by MSAL's OpenID discovery of
	// the tenant's authority (cached for the client's lifetime).
	assert.Positive(t, entra)
	assert.LessOrEqual(t, entra, 2)
	assert.Equal(t, entra+graphCalls, res.RoundTrips)

	srv.ResetCounts()
	res, err = src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: tenantsync.AllKinds()})
	require.NoError(t, err)
	entra, graphCalls = srv.Requests(testserver.ServiceEntra, tn.ID), srv.Requests(testserver.ServiceGraph, tn.ID)
	t.Logf("second fetch of every kind incl. mailboxes (token cached): entra=%d graph=%d reported=%d", entra, graphCalls, res.RoundTrips)
	assert.Equal(t, 0, entra, "the token is cached")
	mailboxUsers := 0
	for _, u := range tn.Users {
		if !u.Deleted && u.Mail != "" {
			mailboxUsers++
		}
	}
	assert.Equal(t, 1+(mailboxUsers+19)/20+caGroupBatches(tn)+laterKindTrips(tn), graphCalls,
		"mailbox types add one batch per 20 users with mail; group member counts one per 20 groups; the usage report its pages")
}

func TestHostileNextLinkIsRefused(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	var hits atomic.Int64
	var sawToken atomic.Bool
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			sawToken.Store(true)
		}
		_, _ = w.Write([]byte(`{"value":[]}`))
	}))
	t.Cleanup(evil.Close)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	srv.GraphHostileNextLink(tn.ID, "/domains", evil.URL+"/v1.0/domains?$skiptoken=steal")
	srv.GraphHostileNextLink(tn.ID, "/users/delta", "https://evil.example.net/v1.0/users/delta?$skiptoken=x")

	var gotErr error
	for _, err := range c.ListDomains(t.Context(), tn.ID) {
		gotErr = err
	}
	require.ErrorIs(t, gotErr, tenantsync.ErrHostNotAllowed)
	require.ErrorIs(t, gotErr, tenantsync.ErrIncomplete, "the listing was cut short: unknown, not empty")
	assert.Equal(t, tenantsync.ErrHostNotAllowed, tenantsync.ClassOf(gotErr))

	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID,
		Kinds: []tenantsync.Kind{tenantsync.KindDomains, tenantsync.KindUsers, tenantsync.KindSubscriptions}})
	require.NoError(t, err)
	for _, k := range []tenantsync.Kind{tenantsync.KindDomains, tenantsync.KindUsers} {
		assert.ErrorIs(t, res.Result(k).Err, tenantsync.ErrHostNotAllowed, k)
		assert.ErrorIs(t, res.Result(k).Err, tenantsync.ErrIncomplete, k)
	}
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindSubscriptions).Mode)

	// A stored cursor pointing elsewhere is refused the same way.
	_, err = c.UsersDelta(t.Context(), tn.ID, evil.URL+"/v1.0/users/delta?$deltatoken=x")
	require.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
	res, err = newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers},
		Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: evil.URL + "/v1.0/users/delta?$deltatoken=x"}})
	require.NoError(t, err)
	assert.ErrorIs(t, res.Result(tenantsync.KindUsers).Err, tenantsync.ErrHostNotAllowed)

	assert.Zero(t, hits.Load(), "nothing may be sent to the other host")
	assert.False(t, sawToken.Load())
}

func TestNextLinkLoopEnds(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	srv.GraphNextLinkLoop(tn.ID, "/domains")
	srv.GraphNextLinkLoop(tn.ID, "/users/delta")

	var gotErr error
	n := 0
	for _, err := range c.ListDomains(t.Context(), tn.ID) {
		gotErr = err
		n++
	}
	// Detected as a loop after one repeat, not after Config.MaxPages pages.
	require.ErrorIs(t, gotErr, tenantsync.ErrLimitExceeded)
	require.ErrorIs(t, gotErr, tenantsync.ErrIncomplete, "the listing was cut short: unknown, not empty")
	assert.Contains(t, tenantsync.HintOf(gotErr), "nextLink already followed")
	assert.Less(t, n, 20)

	_, err := c.UsersDelta(t.Context(), tn.ID, "")
	require.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	assert.Contains(t, tenantsync.HintOf(err), "nextLink already followed")

	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindDomains}})
	require.NoError(t, err)
	assert.ErrorIs(t, res.Result(tenantsync.KindDomains).Err, tenantsync.ErrLimitExceeded)
	assert.ErrorIs(t, res.Result(tenantsync.KindDomains).Err, tenantsync.ErrIncomplete)
	assert.Contains(t, tenantsync.HintOf(res.Result(tenantsync.KindDomains).Err), "nextLink already followed")
}

// A delta round whose last page carries neither link cannot give a cursor: it is reported
// incomplete, never as a round with no users.
func TestDeltaRoundWithoutDeltaLink(t *testing.T) {
	t.Parallel()
	stub := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[{"id":"u1","userPrincipalName":"a@contoso.example"}]}`))
	}))
	t.Cleanup(stub.Close)
	c, err := graph.NewClient(graph.Config{
		PartnerTenantID: testTenant,
		ClientID:        testApp,
		ClientSecret:    tenantsync.NewSecret("abc8Q~secret-value"),
		BaseURL:         stub.URL,
		Settings: transport.Settings{
			HTTPClient: stub.Client(),
		},
		TokenSource: staticTokens("token"),
	})
	require.NoError(t, err)
	d, err := c.UsersDelta(t.Context(), testTenant, "")
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	assert.Nil(t, d)
	assert.Contains(t, tenantsync.HintOf(err), "without a deltaLink")
}

func TestPageBound(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 230)
	c := newClient(t, srv, func(cfg *graph.Config) { cfg.MaxPages = 2 })
	_, err := c.UsersDelta(t.Context(), firstTenant(srv).ID, "")
	require.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
	assert.Contains(t, tenantsync.HintOf(err), "MaxPages")
}

func TestCAThrottlingWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	srv.GraphThrottle(tn.ID, "/identity/conditionalAccess", 1, "")
	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindBaseline}})
	require.NoError(t, err)
	b := res.Result(tenantsync.KindBaseline)
	require.Equal(t, tenantsync.Complete, b.Mode, "%v", b.Err)
	assert.Len(t, b.Baseline.CAPolicies, len(tn.CAPolicies))
	assert.Equal(t, 2, srv.Requests(testserver.ServiceGraph, tn.ID), "the throttled item is sent again in a second batch")
}

func TestRoleErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tn := firstTenant(srv)
	now := time.Now()
	granted := newClient(t, srv, func(cfg *graph.Config) {
		cfg.GrantedAt = func(string) time.Time { return now.Add(-10 * time.Minute) }
	})
	plain := newClient(t, srv)
	srv.GraphRolePropagation(tn.ID, time.Hour)

	_, err := granted.Organization(t.Context(), tn.ID)
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(err), "recently granted: Microsoft may take 30 minutes to 2 hours")

	_, err = plain.Organization(t.Context(), tn.ID)
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(err), "add the GDAP role Directory Readers")
	assert.Contains(t, tenantsync.HintOf(err), "re-verify later")
}
