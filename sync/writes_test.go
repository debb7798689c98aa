package sync

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func auditEntries(t *testing.T, h *harness) []tenantsync.AuditEntry {
	t.Helper()
	es, err := h.st.Account(testAccount).Audit.List(t.Context(), store.AuditQuery{})
	require.NoError(t, err)
	return es
}

// outcomes lists (phase, outcome, route) of the write entries, skipping links.
func outcomes(es []tenantsync.AuditEntry) [][3]string {
	var out [][3]string
	for _, e := range es {
		if e.Action == "link" || e.Action == "unlink" {
			continue
		}
		out = append(out, [3]string{e.Phase, e.Outcome, e.Route})
	}
	return out
}

func TestWrites(t *testing.T) {
	t.Parallel()
	block := tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: "t1", UserID: "t1-u000", UPN: "first0.last0@contoso.example"}
	reset := tenantsync.WriteRequest{Action: tenantsync.ActionForcePasswordReset, TenantID: "t1", UserID: "t1-u000", TemporaryPassword: tenantsync.NewSecret("Hunter2-Secret!")}
	tests := []struct {
		name     string
		cfg      func(*Config)
		setup    func(h *harness)
		actor    string
		req      tenantsync.WriteRequest
		wantErr  error
		want     [][3]string
		cippCall int
		graph    int
	}{
		{name: "writes disabled", actor: "alice", req: block, wantErr: tenantsync.ErrWritesDisabled,
			want: [][3]string{{"intent", "refused", ""}}},
		{name: "no permission", cfg: enableWrites, actor: "mallory", req: block, wantErr: tenantsync.ErrPermissionDenied,
			want: [][3]string{{"intent", "refused", ""}}},
		{name: "no authorizer", cfg: func(c *Config) { c.WritesEnabled = true; c.Authorizer = nil }, actor: "alice", req: block,
			wantErr: tenantsync.ErrPermissionDenied, want: [][3]string{{"intent", "refused", ""}}},
		{name: "no actor", cfg: enableWrites, actor: "", req: block, wantErr: tenantsync.ErrInvalidInput,
			want: [][3]string{{"intent", "refused", ""}}},
		{name: "invalid request", cfg: enableWrites, actor: "alice", req: tenantsync.WriteRequest{Action: "format_disk", TenantID: "t1", UserID: "x"},
			wantErr: tenantsync.ErrInvalidInput, want: [][3]string{{"intent", "refused", ""}}},
		{name: "unknown tenant", cfg: enableWrites, actor: "alice", req: tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: "zz", UserID: "x"},
			wantErr: tenantsync.ErrTenantNotFound, want: [][3]string{{"intent", "refused", ""}}},
		{name: "awaiting approval", cfg: withApprover(tenantsync.Pending), actor: "alice", req: block, wantErr: tenantsync.ErrApprovalPending,
			want: [][3]string{{"intent", "pending", ""}}},
		{name: "approval denied", cfg: withApprover(tenantsync.Denied), actor: "alice", req: block, wantErr: tenantsync.ErrApprovalDenied,
			want: [][3]string{{"intent", "denied", ""}}},
		{name: "approved and done through cipp", cfg: withApprover(tenantsync.Approved), actor: "alice", req: block,
			want: [][3]string{{"intent", "approved", "cipp"}, {"result", "succeeded", "cipp"}}, cippCall: 1},
		{name: "done through cipp", cfg: enableWrites, actor: "alice", req: reset,
			want: [][3]string{{"intent", "requested", "cipp"}, {"result", "succeeded", "cipp"}}, cippCall: 1},
		{name: "graph when cipp does not reach the tenant", cfg: func(c *Config) {
			enableWrites(c)
			c.Sources[0] = renamed(c.Sources[0].(*FakeSource), "graph")
		}, actor: "alice", req: block, want: [][3]string{{"intent", "requested", "graph"}, {"result", "succeeded", "graph"}}, graph: 1},
		{name: "graph when no cipp writer", cfg: func(c *Config) { enableWrites(c); delete(c.Writers, "cipp") }, actor: "alice", req: block,
			want: [][3]string{{"intent", "requested", "graph"}, {"result", "succeeded", "graph"}}, graph: 1},
		{name: "no route", cfg: func(c *Config) { enableWrites(c); c.Writers = nil }, actor: "alice", req: block,
			wantErr: tenantsync.ErrUnsupported, want: [][3]string{{"intent", "refused", ""}}},
		{name: "route fails", cfg: enableWrites, setup: func(h *harness) {
			h.cipp.Err = &tenantsync.Error{Class: tenantsync.ErrForbidden, Service: "cipp", Status: 403,
				Message: "password Hunter2-Secret! rejected", Hint: "use a read-write CIPP API client"}
		}, actor: "alice", req: reset, wantErr: tenantsync.ErrForbidden,
			want: [][3]string{{"intent", "requested", "cipp"}, {"result", "failed", "cipp"}}, cippCall: 1},
		{name: "route fails without a hint", cfg: enableWrites, setup: func(h *harness) {
			h.cipp.Err = &tenantsync.Error{Class: tenantsync.ErrThrottled, Service: "cipp", Status: 429}
		}, actor: "alice", req: block, wantErr: tenantsync.ErrThrottled,
			want: [][3]string{{"intent", "requested", "cipp"}, {"result", "failed", "cipp"}}, cippCall: 1},
		{name: "route fails with a bare error", cfg: enableWrites, setup: func(h *harness) {
			h.cipp.Err = errors.New("connection reset")
		}, actor: "alice", req: block, wantErr: tenantsync.ErrUnavailable,
			want: [][3]string{{"intent", "requested", "cipp"}, {"result", "failed", "cipp"}}, cippCall: 1},
		{name: "approver fails without a hint", cfg: func(c *Config) {
			enableWrites(c)
			c.Approver = &FakeApprover{Err: errors.New("approval service down")}
		}, actor: "alice", req: block, wantErr: tenantsync.ErrUnavailable, want: [][3]string{{"intent", "refused", ""}}},
		{name: "permission denied without a hint", cfg: func(c *Config) {
			enableWrites(c)
			c.Authorizer = denyAll{}
		}, actor: "alice", req: block, wantErr: tenantsync.ErrPermissionDenied, want: [][3]string{{"intent", "refused", ""}}},
		{name: "dry run", cfg: func(c *Config) { enableWrites(c); c.DryRun = true }, actor: "alice", req: reset,
			want: [][3]string{{"intent", "requested", "cipp"}, {"result", "dry-run", "cipp"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			muts := []func(*Config){}
			if tc.cfg != nil {
				muts = append(muts, tc.cfg)
			}
			h := newHarness(t, muts...)
			src := h.cfg.Sources[0].(*FakeSource)
			src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
			h.src = src
			h.discoverAndLink("t1", "client-1")
			if tc.setup != nil {
				tc.setup(h)
			}

			res, err := h.eng.Write(t.Context(), tc.actor, tc.req)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.NotEmpty(t, tenantsync.HintOf(err), "every refusal says what to do")
			} else {
				require.NoError(t, err)
				assert.NotEmpty(t, res.Route)
				assert.Equal(t, tc.want[len(tc.want)-1][2], res.Route, "the result names the route the audit log names")
			}
			assert.Equal(t, tc.cippCall, h.cipp.Calls())
			assert.Equal(t, tc.graph, h.graph.Calls())

			h.verifyAudit()
			es := auditEntries(t, h)
			assert.Equal(t, tc.want, outcomes(es))
			for _, e := range es {
				assert.NotContains(t, e.Error, "Hunter2-Secret!", "a password is never audited")
				for _, v := range e.Detail {
					assert.NotContains(t, v, "Hunter2-Secret!")
				}
				if e.Action != "link" {
					assert.Equal(t, tc.actor, e.Actor)
					assert.Equal(t, string(tc.req.Action), e.Action)
				}
			}
			if tc.wantErr != nil && len(es) > 1 {
				last := es[len(es)-1]
				assert.NotEmpty(t, last.Error, "a failure is in the audit log")
				assert.Equal(t, tenantsync.ClassName(tc.wantErr), last.Detail["error_kind"])
			}
			if err != nil {
				assert.NotContains(t, err.Error(), "Hunter2-Secret!")
			}
		})
	}
}

func TestWriteApprovalResubmission(t *testing.T) {
	t.Parallel()
	approver := &FakeApprover{}
	h, _ := newLinked(t, 1, enableWrites, func(c *Config) { c.Approver = approver })
	req := tenantsync.WriteRequest{Action: tenantsync.ActionAddToGroup, TenantID: "t1", UserID: "t1-u000", GroupID: "g-1"}

	approver.Set("t1-u000", tenantsync.Pending)
	_, err := h.eng.Write(t.Context(), "alice", req)
	require.ErrorIs(t, err, tenantsync.ErrApprovalPending)
	assert.Equal(t, 0, h.cipp.Calls())
	h.sink.WaitFor(t, EventWritePending, "t1", 1)
	h.verifyAudit()

	// The approver approved; the PSA resubmits and the action runs.
	approver.Set("t1-u000", tenantsync.Approved)
	res, err := h.eng.Write(t.Context(), "alice", req)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Equal(t, 1, h.cipp.Calls())
	h.sink.WaitFor(t, EventWriteApproved, "t1", 1)
	h.sink.WaitFor(t, EventWriteDone, "t1", 1)
	h.verifyAudit()
	es := auditEntries(t, h)
	assert.Equal(t, [][3]string{{"intent", "pending", ""}, {"intent", "approved", "cipp"}, {"result", "succeeded", "cipp"}}, outcomes(es))
	assert.Equal(t, "g-1", es[len(es)-1].Detail["group"])
	assert.Equal(t, "ticket 42", es[len(es)-1].Detail["approval_note"])

	// Writes can be switched off at run time.
	h.eng.SetWritesEnabled(false)
	assert.False(t, h.eng.WritesEnabled())
	_, err = h.eng.Write(t.Context(), "alice", req)
	require.ErrorIs(t, err, tenantsync.ErrWritesDisabled)
	h.verifyAudit()

	approver.Err = tenantsync.Errorf(tenantsync.ErrUnavailable, "retry later", "approval service down")
	h.eng.SetWritesEnabled(true)
	_, err = h.eng.Write(t.Context(), "alice", req)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	h.verifyAudit()
}

func enableWrites(c *Config) {
	c.WritesEnabled = true
}

func withApprover(d tenantsync.Decision) func(*Config) {
	return func(c *Config) {
		c.WritesEnabled = true
		a := &FakeApprover{}
		a.Set("t1-u000", d)
		c.Approver = a
	}
}

// renamed returns an empty source with another name (the harness's tenants are added later).
func renamed(_ *FakeSource, name string) *FakeSource { return NewFakeSource(name) }

// denyAll refuses everyone with a kind and nothing else.
// denyAll denies every write (the configuration the scenarios set up stays allowed).
type denyAll struct{}

func (denyAll) Authorize(_ context.Context, _, permission string) error {
	if permission == tenantsync.PermissionManage {
		return nil
	}
	return &tenantsync.Error{Class: tenantsync.ErrPermissionDenied, Service: "psa"}
}
