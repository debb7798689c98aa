package partnercenter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// pagedRelationships serves rels in pages of $top with absolute nextLinks on base.
type pagedRelationships struct {
	mu   sync.Mutex
	rels []DelegatedAdminRelationship
	base *string
	tops []string
	// foreignNext points the first nextLink at another host.
	foreignNext bool
}

func (p *pagedRelationships) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		require.Equal(t, "/v1.0/tenantRelationships/delegatedAdminRelationships", r.URL.Path)
		q := r.URL.Query()
		p.tops = append(p.tops, q.Get("$top"))
		top, err := strconv.Atoi(q.Get("$top"))
		require.NoError(t, err)
		skip, _ := strconv.Atoi(q.Get("$skiptoken"))
		end := min(skip+top, len(p.rels))
		col := relationshipCollection{Value: p.rels[skip:end]}
		if end < len(p.rels) {
			col.NextLink = *p.base + r.URL.Path + "?" + url.Values{"$top": {q.Get("$top")}, "$skiptoken": {strconv.Itoa(end)}}.Encode()
			if p.foreignNext {
				col.NextLink = "https://graph.evil.example/v1.0/tenantRelationships/delegatedAdminRelationships?$skiptoken=2"
			}
		}
		b, err := json.Marshal(col)
		require.NoError(t, err)
		writeJSONBody(w, http.StatusOK, b)
	}
}

func wireRel(i int, tenant, name, status string, roles ...string) DelegatedAdminRelationship {
	act := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
	end := act.AddDate(2, 0, 0)
	w := DelegatedAdminRelationship{ID: fmt.Sprintf("rel-%d", i), DisplayName: name, Status: status,
		Customer: RelationshipCustomer{TenantID: tenant, DisplayName: "Customer " + tenant[:4]}, AutoExtendDuration: "P180D",
		ActivatedDateTime: &act, EndDateTime: &end}
	for _, r := range roles {
		w.AccessDetails.UnifiedRoles = append(w.AccessDetails.UnifiedRoles, UnifiedRole{RoleDefinitionID: r})
	}
	return w
}

func TestListRelationshipsFollowsNextLinksOnTheConfiguredHost(t *testing.T) {
	t.Parallel()
	p := &pagedRelationships{}
	for i := range 7 {
		p.rels = append(p.rels, wireRel(i, tenantA, fmt.Sprintf("r%d", i), "active", RoleDirectoryReaders))
	}
	f := newFakes(t, nil, p.handler(t))
	p.base = &f.graphBase
	c := f.client(t, func(c *Config) { c.RelationshipPageSize = 3 })

	got, err := c.Relationships(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 7)
	assert.Equal(t, "r6", got[6].DisplayName)
	assert.Equal(t, []string{"3", "3", "3"}, p.tops, "three pages of $top=3")
	for _, tn := range f.grTokens.asked() {
		assert.Equal(t, testPartnerTenant, tn, "GDAP is read with a partner-tenant token")
	}
	assert.Empty(t, f.pcTokens.asked(), "no Partner Center token is needed for GDAP")

	page, err := c.ListRelationshipsPage(t.Context(), "")
	require.NoError(t, err)
	require.NotEmpty(t, page.Next)
	next, err := c.ListRelationshipsPage(t.Context(), page.Next)
	require.NoError(t, err)
	assert.Equal(t, "r3", next.Items[0].DisplayName, "a persisted next link resumes the listing")
}

func TestListRelationshipsRefusesANextLinkToAnotherHost(t *testing.T) {
	t.Parallel()
	p := &pagedRelationships{foreignNext: true}
	for i := range 4 {
		p.rels = append(p.rels, wireRel(i, tenantA, fmt.Sprintf("r%d", i), "active"))
	}
	f := newFakes(t, nil, p.handler(t))
	p.base = &f.graphBase
	c := f.client(t, func(c *Config) { c.RelationshipPageSize = 2 })
	got, err := c.Relationships(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
	require.ErrorIs(t, err, tenantsync.ErrIncomplete, "the listing was cut short: unknown, not empty")
	assert.Equal(t, tenantsync.ErrHostNotAllowed, tenantsync.ClassOf(err))
	assert.Nil(t, got)
	assert.Len(t, p.tops, 1, "the foreign link was never requested")
}

func TestListRelationshipsDecodesTheRecordedShape(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "relationships.json")
	f := newFakes(t, nil, func(w http.ResponseWriter, r *http.Request) { writeJSONBody(w, http.StatusOK, body) })
	c := f.client(t)
	rels, err := c.Relationships(t.Context())
	require.NoError(t, err)
	require.Len(t, rels, 3)
	r := rels[0]
	assert.Equal(t, "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836", r.ID)
	assert.Equal(t, "52eaad04-13a2-4a2f-9ce8-93a294fadf36", r.CustomerTenantID)
	assert.Equal(t, []string{RoleDirectoryReaders, RoleUserAdministrator}, r.Roles)
	assert.True(t, r.AutoExtends())
	assert.Equal(t, time.Date(2028, 2, 10, 11, 24, 42, 314826600, time.UTC), r.EndAt)
	assert.False(t, rels[1].AutoExtends(), "PT0S is no auto-extend")
	assert.Equal(t, "approvalPending", rels[2].Status)
	assert.True(t, rels[2].ActivatedAt.IsZero(), "a pending relationship has null dates")
	assert.True(t, rels[2].EndAt.IsZero())
}

func TestListRelationshipsErrorsAreGraphErrors(t *testing.T) {
	t.Parallel()
	f := newFakes(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-gdap")
		writeJSONBody(w, http.StatusForbidden, []byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`))
	})
	c := f.client(t)
	_, err := c.GDAPCustomers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrForbidden)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "graph", d.Service)
	assert.Equal(t, "rid-gdap", d.RequestID)
	assert.Contains(t, d.Hint, "DelegatedAdminRelationship.Read.All")
}

func at(days int) time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days) }

func rel(tenant, name, status string, activated, end time.Time, auto string, roles ...string) Relationship {
	return Relationship{ID: name, DisplayName: name, Status: status, CustomerTenantID: tenant, CustomerName: "Cust " + tenant[:1],
		Roles: roles, ActivatedAt: activated, EndAt: end, AutoExtend: auto, MicrosoftLed: len(name) > 4 && name[:4] == "MLT_"}
}

func TestMergeRelationships(t *testing.T) {
	t.Parallel()
	now := at(0)
	rels := []Relationship{
		// A: two active relationships merge; an expired one adds nothing.
		rel(tenantA, "A identity", "active", at(-300), at(430), "P180D", RoleDirectoryReaders, RoleUserAdministrator),
		rel(tenantA, "A services", "active", at(-10), at(720), "PT0S", RoleExchangeAdministrator, RoleUserAdministrator),
		rel(tenantA, "A old", "expired", at(-900), at(-170), "PT0S", RoleGlobalAdministrator),
		// B: an active relationship beside a Microsoft-led one, which is set aside.
		rel(tenantB, "B roles", "active", at(-50), at(680), "P180D", RoleDirectoryReaders),
		rel(tenantB, "MLT_1234", "active", at(-600), at(100), "PT0S", RoleGlobalReader, RoleServiceSupportAdministrator),
		// C: only expired (status still says active, but the end date has passed) and pending.
		rel(tenantC, "C stale", "active", at(-800), at(-70), "PT0S", RoleGlobalReader),
		rel(tenantC, "C invite", "approvalPending", time.Time{}, time.Time{}, "P180D", RoleGlobalReader),
	}
	got := MergeRelationships(rels, now)
	require.Len(t, got, 3)
	byID := map[string]CustomerAccess{}
	for _, a := range got {
		byID[a.TenantID] = a
	}

	a := byID[tenantA]
	assert.True(t, a.Active)
	assert.Equal(t, 2, a.ActiveRelationships)
	assert.Equal(t, at(720), a.EndAt, "the latest end date among active relationships")
	assert.False(t, a.AutoExtends, "the relationship ending last does not auto-extend")
	assert.Equal(t, []string{"Directory Readers", "Exchange Administrator", "User Administrator"}, grantNames(a.Roles),
		"the union of active roles, without the expired relationship's Global Administrator")
	ua, ok := a.Role(RoleUserAdministrator)
	require.True(t, ok)
	assert.Equal(t, at(-300), ua.GrantedAt, "a role held twice counts from its first grant")
	assert.Equal(t, at(720), ua.EndAt, "and lasts until its last holder ends")
	assert.True(t, ua.AutoExtends)
	assert.ElementsMatch(t, []string{"A identity", "A services"}, ua.Relationships)
	_, ok = a.Role(RoleGlobalAdministrator)
	assert.False(t, ok)
	assert.Contains(t, a.Describe(), "2 relationships")

	b := byID[tenantB]
	assert.True(t, b.Active)
	assert.Equal(t, []string{"Directory Readers"}, grantNames(b.Roles), "MLT_ roles are not merged")
	require.Len(t, b.MicrosoftLed, 1)
	assert.Len(t, b.Relationships, 1)
	assert.Equal(t, "GDAP active until 2028-09-11 (auto-extends)", b.Describe())

	c := byID[tenantC]
	assert.False(t, c.Active)
	assert.Empty(t, c.Roles)
	assert.Equal(t, "GDAP approvalPending", c.Describe(), "a new invitation outranks the stale relationship")
	stale := MergeRelationships([]Relationship{rels[5]}, now)
	assert.Equal(t, "GDAP expired 2026-08-23", stale[0].Describe(), "an active status past its end date is expired")

	grantedAt := GrantedAtFunc(got)
	assert.Equal(t, at(-10), grantedAt(strings.ToUpper(tenantA)), "the newest grant among active roles")
	assert.True(t, grantedAt(tenantC).IsZero())

	pendingOnly := MergeRelationships([]Relationship{rels[6]}, now)
	require.Len(t, pendingOnly, 1)
	assert.Equal(t, "GDAP approvalPending", pendingOnly[0].Describe())
	mltOnly := MergeRelationships([]Relationship{rels[4]}, now)
	assert.Equal(t, "only a Microsoft-led (MLT_) relationship", mltOnly[0].Describe())
	assert.Equal(t, "no GDAP relationship", CustomerAccess{}.Describe())
	replaced := MergeRelationships([]Relationship{rels[5], rel(tenantC, "C new", "approvalPending", time.Time{}, time.Time{}, "P180D")}, now)
	assert.Equal(t, "GDAP approvalPending", replaced[0].Describe(), "the pending invitation is what matters next")
	terminated := MergeRelationships([]Relationship{rel(tenantA, "t", "terminated", at(-900), at(-100), "PT0S")}, now)
	assert.Equal(t, "GDAP terminated", terminated[0].Describe())
}

func TestParseISODuration(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"P730D", 730 * day, true}, {"P180D", 180 * day, true}, {"PT0S", 0, true}, {"P0D", 0, true}, {"", 0, true},
		{"P2Y", 730 * day, true}, {"P1Y6M", 545 * day, true}, {"PT12H30M", 12*time.Hour + 30*time.Minute, true},
		{"P1W", 7 * day, true}, {"PT1.5S", 1500 * time.Millisecond, true}, {"p90d", 90 * day, true},
		{"180", 0, false}, {"P", 0, false}, {"PT", 0, false}, {"P1DT", 0, false}, {"PD", 0, false}, {"P1X", 0, false},
		{"P1H", 0, false}, {"P1D1D", 0, false}, {"P99999Y99999Y99999Y", 0, false}, {"PT1D", 0, false}, {"P1DTT1H", 0, false}, {"P99999999D", 0, false},
		{"P700Y", 0, false}, {"P293Y", 0, false}, {"P280Y", 280 * 365 * day, true},
	}
	for _, tt := range tests {
		got, err := ParseISODuration(tt.in)
		if !tt.ok {
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"P730D", "PT0S", "P1Y6M", "PT12H30M", "P1.5D", "P", "PT", "P700Y", "P99999Y99999M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseISODuration(s)
		if err == nil && d < 0 {
			t.Fatalf("%q parsed to a negative duration %v", s, d)
		}
	})
}

func TestListRelationshipsBrokenPagingIsAnError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxPages int
		loop     bool
		kind     error
		msg      string
	}{
		{"next link repeats", 0, true, tenantsync.ErrLimitExceeded, "the next link repeated"},
		{"more pages than allowed", 2, false, tenantsync.ErrLimitExceeded, "more than 2 pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f *fakes
			f = newFakes(t, nil, func(w http.ResponseWriter, r *http.Request) {
				skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
				next := skip + 1
				if tt.loop {
					next = 1 // the second page points at itself
				}
				col := relationshipCollection{Value: []DelegatedAdminRelationship{wireRel(skip, tenantA, fmt.Sprintf("r%d", skip), "active")},
					NextLink: f.graphBase + r.URL.Path + "?$skiptoken=" + strconv.Itoa(next)}
				b, err := json.Marshal(col)
				require.NoError(t, err)
				writeJSONBody(w, http.StatusOK, b)
			})
			c := f.client(t, func(c *Config) { c.MaxPages = tt.maxPages })
			got, err := c.Relationships(t.Context())
			require.ErrorIs(t, err, tt.kind)
			require.ErrorIs(t, err, tenantsync.ErrIncomplete, "the listing was cut short: unknown, not empty")
			assert.Nil(t, got, "a broken listing is not a shorter list")
			assert.Contains(t, err.Error(), tt.msg)
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.Equal(t, "graph", d.Service)
			assert.Equal(t, "ListRelationships", d.Op)
			assert.NotEmpty(t, d.Hint)
		})
	}
}
