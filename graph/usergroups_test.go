package graph_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
)

// answerMemberOf replaces the body of Graph's memberOf answers with body, status 200, and
// passes every other request through.
type answerMemberOf struct {
	next http.RoundTripper
	body string
}

func (a answerMemberOf) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/memberOf/") {
		return resp, err
	}
	_ = resp.Body.Close()
	resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
	resp.Body = io.NopCloser(bytes.NewReader([]byte(a.body)))
	resp.ContentLength = int64(len(a.body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(a.body)))
	return resp, nil
}

// An offboarding removes the user from the groups UserGroups lists: a 200 without the list (an
// error body, null, an object without value) is no list, not an empty one, so UserGroups fails
// rather than report the user in no group; and a next link that repeats a page fails too.
func TestUserGroupsRefusesAnAnswerWithoutItsList(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tn := firstTenant(srv)
	ref := tenantsync.UserRef{TenantID: tn.ID, UserID: tn.Users[0].ID}
	again := srv.GraphURL() + "/v1.0/users/" + ref.UserID + "/memberOf/microsoft.graph.group?$skiptoken=a"
	for _, body := range []string{`{}`, `{"value":null}`, `null`, `{"error":{"code":"Request_ResourceNotFound","message":"gone"}}`,
		`{"value":[{"id":"g1","displayName":"Sales"}],"@odata.nextLink":"` + again + `"}`} {
		c := newClient(t, srv, func(cfg *graph.Config) {
			cfg.Settings.HTTPClient = &http.Client{Transport: answerMemberOf{next: srv.HTTPClient().Transport, body: body}}
		})
		groups, err := c.UserGroups(t.Context(), ref)
		require.ErrorIs(t, err, tenantsync.ErrUnavailable, "%s: %v", body, groups)
		require.Nil(t, groups, body)
	}
	groups, err := newClient(t, srv).UserGroups(t.Context(), ref)
	require.NoError(t, err, "the fake's own answer is a list")
	require.NotNil(t, groups)
}
