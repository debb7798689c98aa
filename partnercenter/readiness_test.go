package partnercenter

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// scriptedProber answers from a table keyed by tenant and capability (nil: works) and records calls.
type scriptedProber struct {
	mu      sync.Mutex
	answers map[string]map[Capability]error
	byTen   map[string]error // an answer for every capability of a tenant
	calls   []string
}

func (p *scriptedProber) Probe(_ context.Context, tenant, capability string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, tenant+"/"+capability)
	if err, ok := p.byTen[tenant]; ok {
		return err
	}
	return p.answers[tenant][Capability(capability)]
}

func (p *scriptedProber) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

var everyRole = []string{RoleDirectoryReaders, RoleSecurityReader, RoleIntuneAdministrator, RoleExchangeAdministrator,
	RoleUserAdministrator, RoleGroupsAdministrator}

func access(now time.Time, rels ...Relationship) CustomerAccess {
	m := MergeRelationships(rels, now)
	if len(m) == 0 {
		return CustomerAccess{}
	}
	return m[0]
}

func forbidden() error {
	return &tenantsync.Error{Class: tenantsync.ErrForbidden, Service: "graph", Status: 403, Code: "Authorization_RequestDenied",
		Hint: "the GDAP role is missing"}
}

func TestCheckerStates(t *testing.T) {
	t.Parallel()
	now := at(0)
	full := func(activated, end time.Time, auto string) Relationship {
		return rel(tenantA, "Standard", "active", activated, end, auto, everyRole...)
	}
	tests := []struct {
		name   string
		access CustomerAccess
		probe  error
		want   map[Capability]State
		reason string
		action string
		probes int
	}{
		{name: "all ready", access: access(now, full(at(-100), at(630), "P180D")),
			want: allStates(StateReady), probes: 6},
		{name: "roles missing are named and not probed",
			access: access(now, rel(tenantA, "Identity", "active", at(-100), at(630), "P180D", RoleDirectoryReaders, RoleUserAdministrator)),
			want: map[Capability]State{CapabilityReadUsers: StateReady, CapabilityWriteUsers: StateReady, CapabilityWriteGroups: StateReady,
				CapabilityReadMFA: StateRoleMissing, CapabilityReadDevices: StateRoleMissing, CapabilityReadMailboxes: StateRoleMissing},
			action: "add the", probes: 3},
		{name: "consent missing stops probing", access: access(now, full(at(-100), at(630), "P180D")),
			probe: &tenantsync.Error{Class: tenantsync.ErrConsentRequired, Code: "AADSTS65001"},
			want:  allStates(StateConsentMissing), action: "applicationconsents", probes: 1},
		{name: "recently granted is propagating", access: access(now, full(now.Add(-40*time.Minute), now.AddDate(2, 0, 0), "P180D")),
			probe: forbidden(), want: allStates(StatePropagating), reason: "recently granted", action: "re-verify later", probes: 6},
		{name: "old grant refused is access denied", access: access(now, full(at(-3), at(700), "P180D")),
			probe: forbidden(), want: allStates(StateAccessDenied), action: "security group", probes: 6},
		{name: "expiring without auto-extend", access: access(now, full(at(-700), at(12), "PT0S")),
			want: allStates(StateExpiring), reason: "(in 12 days) and does not auto-extend", action: "auto-extend", probes: 6},
		{name: "ending soon but auto-extending is ready", access: access(now, full(at(-700), at(12), "P180D")),
			want: allStates(StateReady), probes: 6},
		{name: "licence missing", access: access(now, full(at(-100), at(630), "P180D")),
			probe: &tenantsync.Error{Class: tenantsync.ErrLicenseRequired}, want: allStates(StateLicenseMissing), action: "Entra ID P1", probes: 6},
		{name: "unknown when throttled", access: access(now, full(at(-100), at(630), "P180D")),
			probe: &tenantsync.Error{Class: tenantsync.ErrThrottled, Hint: "wait and retry"}, want: allStates(StateUnknown), action: "wait and retry", probes: 6},
		{name: "expired relationship", access: access(now, rel(tenantA, "Old", "expired", at(-800), at(-70), "PT0S", everyRole...)),
			want: allStates(StateNoRelationship), reason: "no longer active", action: "request a new GDAP relationship", probes: 0},
		{name: "pending invitation", access: access(now, rel(tenantA, "New", "approvalPending", time.Time{}, time.Time{}, "P180D", everyRole...)),
			want: allStates(StateNoRelationship), action: "approve", probes: 0},
		{name: "only Microsoft-led", access: access(now, rel(tenantA, "MLT_9", "active", at(-500), at(100), "PT0S", RoleGlobalReader)),
			want: allStates(StateNoRelationship), reason: "MLT_", probes: 0},
		{name: "Partner Center customer without GDAP", access: CustomerAccess{TenantID: tenantA, DisplayName: "A"},
			want: allStates(StateNoRelationship), action: "Directory Readers", probes: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &scriptedProber{byTen: map[string]error{}}
			if tt.probe != nil {
				p.byTen[tenantA] = tt.probe
			}
			ck := &Checker{Prober: p, Now: func() time.Time { return now }}
			tr := ck.Check(t.Context(), tt.access)
			require.Len(t, tr.Capabilities, 6)
			for _, st := range tr.Capabilities {
				assert.Equal(t, tt.want[st.Capability], st.State, "%s", st.Capability)
				if st.State != StateReady {
					assert.NotEmpty(t, st.Reason, "%s", st.Capability)
					assert.NotEmpty(t, st.Action, "%s", st.Capability)
					assert.Contains(t, st.Reason, tt.reason)
					assert.Contains(t, st.Action, tt.action)
				}
			}
			assert.Equal(t, tt.probes, p.count())
		})
	}
}

func allStates(s State) map[Capability]State {
	m := map[Capability]State{}
	for _, c := range Capabilities() {
		m[c] = s
	}
	return m
}

func TestCheckerNamesTheRoleToAddForEveryCapability(t *testing.T) {
	t.Parallel()
	now := at(0)
	a := access(now, rel(tenantA, "Teams only", "active", at(-10), at(700), "P180D", RoleTeamsAdministrator))
	ck := &Checker{Prober: &scriptedProber{}, Now: func() time.Time { return now }}
	tr := ck.Check(t.Context(), a)
	want := map[Capability]string{
		CapabilityReadUsers: "Directory Readers", CapabilityReadMFA: "Security Reader", CapabilityReadDevices: "Intune Administrator",
		CapabilityReadMailboxes: "Exchange Administrator", CapabilityWriteUsers: "User Administrator", CapabilityWriteGroups: "Groups Administrator",
	}
	var buf bytes.Buffer
	require.NoError(t, RenderTable(&buf, []TenantReadiness{tr}))
	out := buf.String()
	for _, st := range tr.Capabilities {
		require.Equal(t, StateRoleMissing, st.State, st.Capability)
		assert.Equal(t, []string{want[st.Capability]}, st.Roles)
		assert.Contains(t, st.Action, want[st.Capability])
		assert.Contains(t, st.Action, `"Teams only"`, "the action names the relationship to change")
		line := lineWith(out, st.Capability.Label()+" [NO ROLE]")
		require.NotEmpty(t, line, "the table lists %s", st.Capability)
		assert.Contains(t, line+nextLine(out, line), want[st.Capability], "the table names the role for %s", st.Capability)
	}
	assert.Equal(t, StateRoleMissing, tr.State())
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func nextLine(s, line string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == line && i+1 < len(lines) {
			return lines[i+1]
		}
	}
	return ""
}

func TestCheckerSpecialCases(t *testing.T) {
	t.Parallel()
	now := at(0)
	ga := access(now, rel(tenantA, "GA", "active", at(-700), at(20), "PT0S", RoleGlobalAdministrator))
	ck := &Checker{Prober: &scriptedProber{}, Now: func() time.Time { return now }, Capabilities: []Capability{CapabilityReadUsers}}
	tr := ck.Check(t.Context(), ga)
	require.Len(t, tr.Capabilities, 1)
	assert.Equal(t, StateExpiring, tr.Capabilities[0].State)
	assert.Contains(t, tr.Capabilities[0].Action, "cannot auto-extend", "Global Administrator relationships cannot auto-extend")

	// A nil prober and a panicking prober are reported, not fatal.
	full := access(now, rel(tenantA, "S", "active", at(-100), at(600), "P180D", everyRole...))
	tr = (&Checker{Now: func() time.Time { return now }}).Check(t.Context(), full)
	assert.Equal(t, StateUnknown, tr.State())
	tr = (&Checker{Prober: ProberFunc(func(context.Context, string, string) error { panic("boom") })}).Check(t.Context(), full)
	st, ok := tr.Status(CapabilityReadUsers)
	require.True(t, ok)
	assert.Equal(t, StateUnknown, st.State)
	assert.Contains(t, st.Reason, "panicked")
	_, ok = tr.Status("nope")
	assert.False(t, ok)

	assert.True(t, StateExpiring.Works())
	assert.False(t, StatePropagating.Works())
	assert.Equal(t, "nope", Capability("nope").Label())
	assert.Equal(t, "nope", RoleName("nope"))
	assert.Equal(t, []string{RoleDirectoryReaders, RoleSecurityReader, RoleIntuneAdministrator, RoleExchangeAdministrator,
		RoleUserAdministrator, RoleGroupsAdministrator}, RecommendedRoles())
	assert.Equal(t, RoleIntuneAdministrator, RequiredRoles(CapabilityReadDevices)[0])
}

func TestRenderTableShowsEveryTenantAndWhatToDo(t *testing.T) {
	t.Parallel()
	now := at(0)
	p := &scriptedProber{byTen: map[string]error{tenantC: &tenantsync.Error{Class: tenantsync.ErrConsentRequired}}}
	ck := &Checker{Prober: p, Now: func() time.Time { return now }}
	rows := []TenantReadiness{
		ck.Check(t.Context(), access(now, rel(tenantA, "A", "active", at(-100), at(600), "P180D", everyRole...))),
		ck.Check(t.Context(), access(now, rel(tenantB, "B", "active", at(-100), at(600), "P180D", RoleDirectoryReaders))),
		ck.Check(t.Context(), access(now, rel(tenantC, "C", "active", at(-100), at(600), "P180D", everyRole...))),
	}
	var buf bytes.Buffer
	require.NoError(t, RenderTable(&buf, rows))
	out := buf.String()
	for _, h := range []string{"TENANT", "STATE", "GDAP", "READ USERS", "READ MFA DETAIL", "READ DEVICES", "EXCHANGE MAILBOXES", "WRITE USERS", "WRITE GROUPS"} {
		assert.Contains(t, out, h)
	}
	assert.Contains(t, lineWith(out, "Cust a"), "ready")
	assert.NotContains(t, lineWith(out, "Cust a"), "NO ", "a ready tenant has no failing badge")
	assert.Contains(t, lineWith(out, "Cust b  "), "NO ROLE")
	assert.Contains(t, lineWith(out, "Cust c  "), "NO CONSENT")
	assert.Contains(t, out, "What to do:")
	assert.Contains(t, out, "Cust b ("+tenantB+"):")
	assert.NotContains(t, out, "Cust a ("+tenantA+"):", "ready tenants have no action section")
	assert.Contains(t, out, "CIPP")

	buf.Reset()
	require.NoError(t, RenderTable(&buf, nil))
	assert.Contains(t, buf.String(), "TENANT")
	require.Error(t, RenderTable(failingWriter{}, rows))
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
