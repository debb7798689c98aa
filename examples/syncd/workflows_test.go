package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkflowsRefuseWhoMayNotWrite: an authenticated actor without m365.write, a caller with
// no token, and a daemon without -writes all send nothing to Microsoft 365, and the refusals
// that reach the workflow are audited with the actor the token names.
func TestWorkflowsRefuseWhoMayNotWrite(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, func(c *config) {
		c.WritesEnabled = true
		c.Writers = []string{adminActor}
	})
	tn := td.d.fake.Tenants()[0]
	var upn string
	for _, u := range td.d.fake.Users(tn.ID) {
		if u.AccountEnabled && td.d.fake.MailboxType(tn.ID, u.ObjectID) == "UserMailbox" {
			upn = u.UserPrincipalName
			break
		}
	}
	require.NotEmpty(t, upn)
	body := fmt.Sprintf(`{"kind": "offboard", "tenantId": %q, "upn": %q, "offboarding": {"blockSignIn": true, "resetPassword": true}}`, tn.ID, upn)
	td.d.fake.ResetServedCalls()

	rec := td.do(t, http.MethodPost, "/api/workflows", body, "Authorization", "Bearer "+td.actors.tokens["alice"])
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	assert.Contains(t, decodeError(t, rec).Hint, "-writers")
	rec = td.do(t, http.MethodPost, "/api/workflows/plan", body, "Authorization", "Bearer "+td.actors.tokens["alice"])
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	rec = td.do(t, http.MethodPost, "/api/workflows", body, "Authorization", "")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	rec = td.do(t, http.MethodPost, "/api/workflows", body, "X-Actor", adminActor, "Authorization", "Bearer "+td.actors.tokens["alice"])
	require.Equal(t, http.StatusForbidden, rec.Code, "the actor comes from the token, not a header")
	for _, c := range td.d.fake.ServedCalls("") {
		assert.False(t, c.Method != http.MethodGet && !strings.HasPrefix(c.Path, "List"), "sent %s %s", c.Method, c.Path)
	}
	var refused int
	for _, e := range td.auditEntries(t) {
		if e.Action == "workflow.offboard" {
			assert.Equal(t, "alice", e.Actor)
			assert.Equal(t, "refused", e.Outcome)
			refused++
		}
	}
	assert.Equal(t, 2, refused, "both refusals that reached the workflow are audited")

	// The writer's run goes through; -dry-run (writes off for workflows) would refuse it.
	rec = td.do(t, http.MethodPost, "/api/workflows", body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	run := decodeAs[workflowRunWire](t, rec)
	require.Len(t, run.Steps, 2)
	rec = td.do(t, http.MethodGet, "/api/workflows/"+run.ID, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, rec.Body.String(), "temporaryPassword", "a password is only in the answer of the run")
}
