package tenantsynctest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

func TestServedCallsLogWorkflowCalls(t *testing.T) {
	t.Parallel()
	s := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 3, Tenants: 1})
	tn := s.Tenants()[0]
	users := s.Users(tn.ID)
	require.NotEmpty(t, users)
	s.FailGraph(tn.ID, "/users/"+users[0].ObjectID+"/revokeSignInSessions", 1, http.StatusServiceUnavailable)
	c, err := graph.NewClient(s.GraphConfig())
	require.NoError(t, err)
	u := tenantsync.UserRef{TenantID: tn.ID, UserID: users[0].ObjectID}
	_, err = c.RevokeSessions(t.Context(), u)
	require.Error(t, err, "the injected failure")
	_, err = c.RevokeSessions(t.Context(), u)
	require.NoError(t, err)
	var revokes int
	for _, call := range s.ServedCalls(tenantsynctest.ServiceGraph) {
		if call.Changes() && strings.HasSuffix(call.Path, "/revokeSignInSessions") {
			revokes++
			assert.Equal(t, strings.ToLower(tn.ID), call.TenantID)
		}
	}
	assert.Equal(t, 2, revokes)
	s.ResetServedCalls()
	assert.Empty(t, s.ServedCalls(""))
}
