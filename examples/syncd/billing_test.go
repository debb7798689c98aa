package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// An actor with a token but without m365.manage (-managers names only admin) can read but
// change no configuration through any route: link, unlink, review resolution, settings,
// disconnect, a deletion hold's release, a contact failure's decision. Each attempt answers 403 with a hint naming -managers, changes nothing, and is on
// the audit log under the attacker's name.
func TestManageRoutesRefuseAnActorWithoutManage(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, func(c *config) { c.Managers = []string{adminActor} })
	ctx := t.Context()
	acct := td.d.store.Account(td.d.cfg.Account)
	world := td.d.fake.Tenants()
	linked, free := world[0].ID, world[1].ID
	require.NoError(t, td.d.engine.Link(ctx, adminActor, linked, "client-001"))
	require.NoError(t, td.d.engine.Wait(ctx))
	rv, err := acct.Reviews.Add(ctx, store.Review{TenantID: linked, ObjectID: "user-9", ClientID: "client-001", Reason: "two contacts share the address"})
	require.NoError(t, err)
	before, err := acct.Tenants.Get(ctx, linked)
	require.NoError(t, err)
	conns, err := acct.Connections.List(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, conns)

	alice := "Bearer " + td.actors.tokens["alice"]
	attempts := []struct{ name, method, path, body, action string }{
		{"link", http.MethodPost, "/api/tenants/" + free + "/link", `{"clientId": "client-002"}`, "link"},
		{"unlink", http.MethodPost, "/api/tenants/" + linked + "/unlink", `{"mode": "purge"}`, "unlink"},
		{"resolve a review", http.MethodPost, "/api/reviews/" + rv.ID + "/resolve", `{"decision": "ignore"}`, "resolve_review"},
		{"change the defaults", http.MethodPut, "/api/settings", `{"autoCreateContacts": false}`, "settings"},
		{"change a client's settings", http.MethodPut, "/api/clients/client-001/settings", `{"kinds": []}`, "settings"},
		{"disconnect", http.MethodPost, "/api/connections/" + conns[0].Name + "/disconnect", `{"mode": "purge"}`, "disconnect"},
		{"release a deletion hold", http.MethodPost, "/api/tenants/" + linked + "/holds/users/release", "", "release_hold"},
		{"resolve a contact failure", http.MethodPost, "/api/tenants/" + linked + "/contact-failures/user-9/resolve",
			`{"decision": "merge", "contactId": "contact-001"}`, "resolve_contact_failure"},
	}
	for _, a := range attempts {
		n := len(td.auditEntries(t))
		rec := td.do(t, a.method, a.path, a.body, "Authorization", alice, "X-Actor", adminActor)
		require.Equal(t, http.StatusForbidden, rec.Code, "%s: %s", a.name, rec.Body)
		e := decodeError(t, rec)
		assert.Equal(t, "permission_denied", e.Kind, a.name)
		assert.Contains(t, e.Hint, "-managers", a.name)
		entries := td.auditEntries(t)[n:]
		require.NotEmpty(t, entries, "%s is audited", a.name)
		last := entries[len(entries)-1]
		assert.Equal(t, a.action, last.Action, a.name)
		assert.Equal(t, "alice", last.Actor, "%s is audited under the token's actor", a.name)
		assert.Equal(t, "refused", last.Outcome, a.name)
	}

	after, err := acct.Tenants.Get(ctx, linked)
	require.NoError(t, err)
	assert.Equal(t, before.ClientID, after.ClientID, "still linked")
	assert.Equal(t, before.EnabledKinds, after.EnabledKinds, "kinds unchanged")
	users, err := acct.Mirror.Counts(ctx, linked)
	require.NoError(t, err)
	assert.Positive(t, users[tenantsync.KindUsers], "not purged")
	rec, err := acct.Tenants.Get(ctx, free)
	require.NoError(t, err)
	assert.False(t, rec.Linked())
	open, err := acct.Reviews.List(ctx, store.ReviewFilter{})
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(open, func(r store.Review) bool { return r.ID == rv.ID }), "the review is still open")
	_, err = acct.Connections.Get(ctx, conns[0].Name)
	require.NoError(t, err, "the connection is still stored")
	def, err := acct.Settings.Defaults(ctx)
	require.NoError(t, err)
	assert.True(t, def.Unset())

	// Reading stays open to alice; admin holds m365.manage and changes the settings.
	r := td.do(t, http.MethodGet, "/api/clients/client-001/settings", "", "Authorization", alice)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r = td.do(t, http.MethodPut, "/api/clients/client-001/settings", `{"autoCreateContacts": false, "kinds": ["mailboxes", "users"]}`)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var got clientSettingsWire
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &got))
	assert.Equal(t, []string{"users", "mailboxes"}, got.Effective.Kinds)
	assert.False(t, got.Effective.AutoCreateContacts)
	require.NotNil(t, got.Own)
	assert.Equal(t, adminActor, got.Own.UpdatedBy)
	after, err = acct.Tenants.Get(ctx, linked)
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}, after.EnabledKinds, "applied to the linked tenant")
}

// The licence-waste report pages its users and names the tenants whose sign-ins are unknown;
// the billing history reads the day's snapshot.
func TestLicenseWasteAndBillingRoutes(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, nil)
	ctx := t.Context()
	tenantID := td.d.fake.Tenants()[0].ID
	// Two licensed people leave: their accounts are blocked, their licences stay.
	var leavers int
	for _, u := range td.d.fake.Users(tenantID) {
		if leavers < 2 && u.AccountEnabled && len(u.AssignedSKUs) > 0 && u.UserType == "Member" {
			require.NoError(t, td.d.fake.SetAccountEnabled(tenantID, u.ObjectID, false))
			leavers++
		}
	}
	require.Equal(t, 2, leavers)
	require.NoError(t, td.d.engine.Link(ctx, adminActor, tenantID, "client-001"))
	require.NoError(t, td.d.engine.Wait(ctx))

	rec := td.do(t, http.MethodGet, "/api/clients/client-001/license-waste?limit=1", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var rep licenseWasteWire
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rep))
	assert.Equal(t, 30, rep.InactiveDays)
	assert.True(t, rep.Complete)
	assert.Empty(t, rep.NoSignIns, "the demo tenant's sign-ins kind is synced and read from the mirror")
	// The demo's disabled users hold licences: each is in the report with its SKUs, next to the
	// licensed users the sign-ins kind shows idle.
	users, err := td.d.store.Account(td.d.cfg.Account).Mirror.ReadKind(ctx, tenantID, tenantsync.KindUsers)
	require.NoError(t, err)
	var disabled int
	for _, u := range users.Users {
		if !u.AccountEnabled && u.IsLicensed() {
			disabled++
		}
	}
	require.Greater(t, disabled, 1, "the demo tenant has disabled users holding licences")
	{
		require.Len(t, rep.Items, 1, "paged")
		require.NotEmpty(t, rep.NextCursor)
		assert.Contains(t, []string{"disabled", "inactive", "never_signed_in"}, rep.Items[0].Reason)
		assert.NotEmpty(t, rep.Items[0].SKUs)
	}
	rec = td.do(t, http.MethodGet, "/api/clients/client-001/license-waste?limit=500", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var all licenseWasteWire
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &all))
	reasons := map[string]int{}
	for _, u := range all.Items {
		reasons[u.Reason]++
	}
	assert.Equal(t, disabled, reasons["disabled"])
	assert.Positive(t, reasons["inactive"]+reasons["never_signed_in"], "idle licensed users are found from the mirrored sign-ins")
	assert.Equal(t, all.WastedUsers, len(all.Items))
	rec = td.do(t, http.MethodGet, "/api/clients/no-such-client/license-waste", "")
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())

	_, err = td.d.engine.SnapshotBilling(ctx)
	require.NoError(t, err)
	today := time.Now().UTC().Format(time.DateOnly)
	rec = td.do(t, http.MethodGet, fmt.Sprintf("/api/billing?clientId=client-001&from=%s&to=%s", today, today), "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var pg page[billingSnapshotWire]
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &pg))
	require.Len(t, pg.Items, 1)
	assert.Equal(t, today, pg.Items[0].Day)
	assert.Positive(t, pg.Items[0].Billable)
	assert.Contains(t, pg.Items[0].PerTenant, tenantID)
	rec = td.do(t, http.MethodGet, "/api/billing?from=2026-01-10&to=2026-01-01", "")
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
}

// The console shows each client's licence waste: its disabled users still holding licences,
// their SKUs, and why inactive users cannot be judged in the demo.
func TestConsoleShowsLicenseWaste(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	ctx := t.Context()
	tenant := c.td.d.fake.Tenants()[0]
	var leaver string
	for _, u := range c.td.d.fake.Users(tenant.ID) {
		if u.AccountEnabled && len(u.AssignedSKUs) > 0 && u.UserType == "Member" {
			require.NoError(t, c.td.d.fake.SetAccountEnabled(tenant.ID, u.ObjectID, false))
			leaver = u.UserPrincipalName
			break
		}
	}
	require.NotEmpty(t, leaver)
	require.NoError(t, c.td.d.engine.Link(ctx, adminActor, tenant.ID, "client-001"))
	require.NoError(t, c.td.d.engine.Wait(ctx))
	c.loginAs(t, "alice")
	rec := c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `id="waste"`)
	assert.Contains(t, body, leaver, "the leaver is listed")
	assert.Contains(t, body, "<td>inactive</td>", "idle users are listed from the mirrored sign-ins")
}
