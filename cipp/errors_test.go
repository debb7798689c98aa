package cipp

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/transport"
)

// TestErrorKindsAndHints drives every failure CIPP answers with through the client and checks
// the kind, the hint and the code a caller sees.
func TestErrorKindsAndHints(t *testing.T) {
	t.Parallel()
	text := func(status int, file string) stubResponse {
		return stubResponse{status: status, ctype: "text/plain; charset=utf-8", body: string(readTestdata(t, file))}
	}
	js := func(status int, file string) stubResponse {
		return stubResponse{status: status, ctype: "application/json", body: string(readTestdata(t, file))}
	}
	tests := []struct {
		name     string
		endpoint string
		resp     stubResponse
		kind     error
		hint     string
		code     string
		status   int
		contains string
	}{
		{"no token accepted", "ListUsers", stubResponse{status: 401}, tenantsync.ErrUnauthorized, HintUnauthorized, "", 401, "refused the bearer token"},
		{"UI URL redirects to sign-in", "ListUsers", stubResponse{status: 302, header: map[string]string{"Location": "/.auth/login/aad?post_login_redirect_uri=/api/ListUsers"}, body: "<html>"}, tenantsync.ErrInvalidInput, HintUIURL, "", 302, "sign-in page"},
		{"other redirect", "ListUsers", stubResponse{status: 301, header: map[string]string{"Location": "https://elsewhere.example/x?y=1"}}, tenantsync.ErrInvalidInput, HintUIURL, "", 301, "https://elsewhere.example/x"},
		{"readonly client writes", "ListUsers", text(403, "403-readonly-write.txt"), tenantsync.ErrForbidden, HintWriteRole, "Identity.User.ReadWrite", 403, "'readonly' base role"},
		{"base role lacks a read permission", "ListUsers", stubResponse{status: 403, body: "Access to this CIPP API endpoint is not allowed, the 'readonly' base role does not have the required permission: CIPP.AppSettings.Read"}, tenantsync.ErrForbidden, HintReadRole, "CIPP.AppSettings.Read", 403, ""},
		{"roleless client", "ListUsers", text(403, "403-roleless.txt"), tenantsync.ErrForbidden, HintNoRole, "", 403, "does not have the required permission"},
		{"custom role lacks permission", "ListUsers", text(403, "403-custom-permission.txt"), tenantsync.ErrForbidden, HintCustomRole, "Exchange.Mailbox.Read", 403, ""},
		{"custom role blocks endpoint", "ListUsers", text(403, "403-custom-blocked.txt"), tenantsync.ErrForbidden, HintBlockedByRole, "", 403, "helpdesk"},
		{"tenant outside custom role", "ListUsers", text(403, "403-tenant.txt"), tenantsync.ErrForbidden, HintTenantScope, "", 403, ""},
		{"IP not in range", "ListUsers", text(403, "403-ip-range.txt"), tenantsync.ErrForbidden, HintIPRange, "", 403, ""},
		{"subscription ended", "ListUsers", text(403, "403-subscription.txt"), tenantsync.ErrForbidden, HintSubscription, "", 403, ""},
		{"CPV permission missing", "ListMailboxes", js(403, "403-ListMailboxes.json"), tenantsync.ErrRoleMissing, HintCPV, "", 403, "CPV refresh"},
		{"endpoint unknown to this version", "ListUsers", text(404, "404-endpoint.txt"), tenantsync.ErrUnsupported, HintUpgrade, "", 404, "ListUsers"},
		{"other 404", "ListUsers", stubResponse{status: 404, body: "no such user"}, tenantsync.ErrNotFound, "", "", 404, ""},
		{"feature disabled", "ListUsers", text(503, "503-disabled.txt"), tenantsync.ErrUnsupported, HintFeatureOff, "", 503, "Offboarding"},
		{"plain 500", "ListUsers", text(500, "500-text.txt"), tenantsync.ErrUnavailable, HintRetry, "", 500, "504 (Gateway Timeout)"},
		{"consent missing", "ListDomains", js(500, "500-ListDomains-consent.json"), tenantsync.ErrConsentRequired, HintConsent, "AADSTS65001", 500, ""},
		{"CIPP tokens expired", "ListUsers", text(500, "500-ListUsers-token-expired.txt"), tenantsync.ErrAuthorizationRevoked, HintCIPPTokens, "", 500, "Setup Wizard"},
		{"grant revoked", "ListGraphRequest", text(400, "400-ListGraphRequest-revoked.txt"), tenantsync.ErrAuthorizationRevoked, HintCIPPTokens, "AADSTS50173", 400, ""},
		{"tenant not in CIPP", "ListGraphRequest", text(400, "400-ListGraphRequest-unknown-tenant.txt"), tenantsync.ErrTenantNotFound, HintRefreshTenants, "", 400, ""},
		{"tenant excluded", "ListGraphRequest", stubResponse{status: 400, body: "Graph Error: Graph request denied for 'contoso.com': the tenant is excluded from CIPP management. - Endpoint: users"}, tenantsync.ErrTenantNotFound, HintExcluded, "", 400, ""},
		{"bad request", "ListGraphRequest", stubResponse{status: 400, body: "Graph Error: Invalid filter clause - Endpoint: users"}, tenantsync.ErrInvalidInput, "check the request's parameters against CIPP's API documentation", "", 400, "Invalid filter"},
		{"licence missing", "ListUsers", stubResponse{status: 500, body: `["Required license not available for this tenant"]`}, tenantsync.ErrLicenseRequired, HintLicence, "", 500, ""},
		{"insufficient privileges", "ListUsers", stubResponse{status: 500, body: "Insufficient privileges to complete the operation."}, tenantsync.ErrRoleMissing, HintCPV, "", 500, ""},
		{"other AADSTS", "ListUsers", stubResponse{status: 500, body: "AADSTS700024: Client assertion is not within its valid time range."}, tenantsync.ErrAuthorizationRevoked, HintCIPPTokens, "AADSTS700024", 500, ""},
		{"throttled by a proxy", "ListUsers", stubResponse{status: 429, header: map[string]string{"Retry-After": "0"}, body: "slow down"}, tenantsync.ErrThrottled, "wait and retry; CIPP itself does not rate-limit, so something in front of it does", "", 429, ""},
		{"200 with a message array", "ListUsers", stubResponse{status: 200, ctype: "application/json", body: `["Could not connect to the tenant"]`}, tenantsync.ErrUnavailable, HintRetry, "", 200, "Could not connect"},
		{"200 with a message string", "ListUsers", stubResponse{status: 200, ctype: "text/plain", body: `The CIPP user access token has expired.`}, tenantsync.ErrAuthorizationRevoked, HintCIPPTokens, "", 200, ""},
		{"200 AllTenants deprecation", "ListUsers", js(200, "ListUsers-AllTenants.json"), tenantsync.ErrUnsupported, "query one tenant at a time", "", 200, "deprecated"},
		{"200 truncated body", "ListUsers", stubResponse{status: 200, ctype: "application/json", body: `[{"id":"a"},{"id":`}, tenantsync.ErrUnavailable, HintRetry, "", 200, "not valid JSON"},
		{"200 unknown shape", "ListUsers", stubResponse{status: 200, ctype: "application/json", body: `42`}, tenantsync.ErrUnavailable, HintRetry, "", 200, "unexpected unknown response"},
		{"200 empty body", "ListUsers", stubResponse{status: 200}, tenantsync.ErrUnavailable, HintRetry, "", 200, "unexpected empty response"},
		{"200 row of the wrong type", "ListUsers", stubResponse{status: 200, ctype: "application/json", body: `[{"id":5}]`}, tenantsync.ErrUnavailable, "CIPP's response format changed; update tenantsync or report the field named here", "", 200, "did not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := stubCIPP(t, map[string]stubResponse{tt.endpoint: tt.resp})
			var err error
			switch tt.endpoint {
			case "ListGraphRequest":
				_, err = c.ListGraphRequestPage(t.Context(), contosoDomain, GraphRequest{Endpoint: "users"}, "")
			case "ListMailboxes":
				_, err = c.Mailboxes(t.Context(), contosoDomain)
			case "ListDomains":
				_, err = c.Domains(t.Context(), contosoDomain)
			default:
				_, err = c.Users(t.Context(), contosoDomain)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.kind)
			d, ok := tenantsync.Details(err)
			require.True(t, ok, "error carries details: %v", err)
			assert.Equal(t, Service, d.Service)
			assert.Equal(t, tt.hint, d.Hint)
			assert.Equal(t, tt.code, d.Code)
			assert.Equal(t, tt.status, d.Status)
			assert.Contains(t, err.Error(), tt.contains)
			if tt.endpoint != "" && tt.kind != tenantsync.ErrTenantNotFound {
				assert.Equal(t, contosoID, d.Tenant)
			}
		})
	}
}

func TestThrottleKeepsRetryAfter(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, map[string]stubResponse{"ListUsers": {status: 429, header: map[string]string{"Retry-After": "600"}}})
	_, err := c.Users(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	d, _ := tenantsync.Details(err)
	assert.GreaterOrEqual(t, d.RetryAfter, 9*time.Minute)
}

func TestRequestIDKept(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, map[string]stubResponse{"ListUsers": {status: 403, body: "Access to this tenant is not allowed", header: map[string]string{"x-ms-request-id": "req-123"}}})
	_, err := c.Users(t.Context(), contosoDomain)
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, "req-123", d.RequestID)
	assert.Contains(t, err.Error(), "request-id req-123")
}

func TestLongMessagesAreCut(t *testing.T) {
	t.Parallel()
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	c, _ := stubCIPP(t, map[string]stubResponse{"ListUsers": {status: 500, body: string(long)}})
	_, err := c.Users(t.Context(), contosoDomain)
	d, _ := tenantsync.Details(err)
	require.NotNil(t, d)
	assert.Less(t, len(d.Message), 700)
}

func TestListTenantsErrorRow(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, map[string]stubResponse{"ListTenants": {status: 200, ctype: "application/json", body: string(readTestdata(t, "ListTenants-error.json"))}})
	_, err := c.ListTenants(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrAuthorizationRevoked, "AADSTS700082 in the row")
	assert.Equal(t, HintCIPPTokens, tenantsync.HintOf(err))

	c2, _ := stubCIPP(t, map[string]stubResponse{"ListTenants": {status: 200, ctype: "application/json", body: `[{"Results":"Failed to retrieve tenants: boom","defaultDomainName":"","displayName":"Failed to retrieve tenants. Perform a permission check.","customerId":""}]`}})
	_, err = c2.Users(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Equal(t, HintPermCheck, tenantsync.HintOf(err))
}

// jane is how the stubs name the user every action test addresses.
var jane = tenantsync.UserRef{TenantID: contosoDomain, UserID: "8c1d4b2a-3e5f-4a6b-9c7d-1e2f3a4b5c6d", UPN: "jane@contoso.com"}

// janeEnabled answers the read a block makes before it writes: jane's sign-in is allowed.
var janeEnabled = stubResponse{status: 200, ctype: "application/json",
	body: `[{"id":"8c1d4b2a-3e5f-4a6b-9c7d-1e2f3a4b5c6d","userPrincipalName":"jane@contoso.com","accountEnabled":true}]`}

func TestActionFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		resp     stubResponse
		kind     error
		hint     string
		call     func(*Client) (tenantsync.WriteResult, error)
		message  string // what the error's message must carry
	}{
		{"AD-synced user", "ExecDisableUser", stubResponse{status: 500, ctype: "application/json", body: string(readTestdata(t, "500-ExecDisableUser.json"))}, tenantsync.ErrUnsupported, HintADSync,
			func(c *Client) (tenantsync.WriteResult, error) { return c.BlockSignIn(t.Context(), jane) }, ""},
		{"licence missing", "ExecResetPass", stubResponse{status: 500, ctype: "application/json", body: string(readTestdata(t, "500-ExecResetPass.json"))}, tenantsync.ErrLicenseRequired, HintLicence,
			func(c *Client) (tenantsync.WriteResult, error) {
				return c.ForcePasswordReset(t.Context(), jane, tenantsync.PasswordReset{MustChange: true})
			}, ""},
		{"plain failure", "ExecRevokeSessions", stubResponse{status: 500, ctype: "application/json", body: `{"Results":"Failed to revoke sessions for jane@contoso.com. Error: Something broke"}`}, tenantsync.ErrUnavailable, "CIPP could not complete the action; the message says why",
			func(c *Client) (tenantsync.WriteResult, error) { return c.RevokeSessions(t.Context(), jane) }, "Something broke"},
		{"partial EditGroup", "EditGroup", stubResponse{status: 200, ctype: "application/json", body: `{"Results":["Success - Added member jane@contoso.com to Sales group","Error - Something broke"]}`}, tenantsync.ErrUnavailable, "CIPP could not complete the action; the message says why",
			func(c *Client) (tenantsync.WriteResult, error) { return c.AddToGroup(t.Context(), jane, "g1") }, "Success - Added member jane@contoso.com to Sales group; Error - Something broke"},
		{"object results with an error state", "ExecResetMFA", stubResponse{status: 200, ctype: "application/json", body: string(readTestdata(t, "Results-objects.json"))}, tenantsync.ErrUnavailable, "CIPP could not complete the action; the message says why",
			func(c *Client) (tenantsync.WriteResult, error) { return c.ResetMFA(t.Context(), jane) }, "Could not update the license assignment"},
		{"unreadable results", "ExecResetMFA", stubResponse{status: 200, ctype: "application/json", body: `{"Results":5}`}, tenantsync.ErrUnavailable, HintRetry,
			func(c *Client) (tenantsync.WriteResult, error) { return c.ResetMFA(t.Context(), jane) }, "unreadable Results"},
		{"array answer", "ExecResetMFA", stubResponse{status: 200, ctype: "application/json", body: `[1]`}, tenantsync.ErrUnavailable, HintRetry,
			func(c *Client) (tenantsync.WriteResult, error) { return c.ResetMFA(t.Context(), jane) }, "response to an action"},
		{"readonly role", "ExecDisableUser", stubResponse{status: 403, body: string(readTestdata(t, "403-readonly-write.txt"))}, tenantsync.ErrForbidden, HintWriteRole,
			func(c *Client) (tenantsync.WriteResult, error) { return c.BlockSignIn(t.Context(), jane) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := stubCIPP(t, map[string]stubResponse{tt.endpoint: tt.resp, "ListUsers": janeEnabled})
			res, err := tt.call(c)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.kind)
			assert.Equal(t, tt.hint, tenantsync.HintOf(err))
			assert.Contains(t, err.Error(), tt.message)
			assert.Zero(t, res, "a failed action reports no result")
		})
	}
}

func TestActionResultForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint, file string
		call           func(*Client) (tenantsync.WriteResult, error)
		message        string
		password       string
		changed        bool
	}{
		{"ExecResetPass", "ExecResetPass.json", func(c *Client) (tenantsync.WriteResult, error) {
			return c.ForcePasswordReset(t.Context(), jane, tenantsync.PasswordReset{MustChange: true})
		}, "Successfully reset the password for Jane Doe", "Xy7#kP2!mQ9z", true},
		{"ExecDisableUser", "ExecDisableUser.json", func(c *Client) (tenantsync.WriteResult, error) {
			return c.BlockSignIn(t.Context(), jane)
		}, "Successfully set account enabled state to False", "", true},
		{"EditGroup", "EditGroup.json", func(c *Client) (tenantsync.WriteResult, error) {
			return c.RemoveFromGroup(t.Context(), jane, "g")
		}, "Success - Added member", "", true},
		// Every failed line says the membership already was as asked: success, nothing changed.
		{"EditGroup", "EditGroup-partial.json", func(c *Client) (tenantsync.WriteResult, error) {
			return c.AddToGroup(t.Context(), jane, "g")
		}, "already a member", "", false},
	}
	for _, tt := range tests {
		c, _ := stubCIPP(t, map[string]stubResponse{tt.endpoint: {status: 200, ctype: "application/json", body: string(readTestdata(t, tt.file))}, "ListUsers": janeEnabled})
		res, err := tt.call(c)
		require.NoError(t, err, tt.file)
		assert.Equal(t, "cipp", res.Route)
		assert.Equal(t, tt.changed, res.Changed, tt.file)
		assert.Contains(t, res.Message, tt.message)
		assert.Equal(t, tt.password, res.TemporaryPassword.Reveal())
		if tt.password != "" {
			assert.NotContains(t, res.Message, tt.password, "the message hides the password")
			assert.Contains(t, res.Message, tenantsync.Redacted)
		}
	}
	// A plain-text 200 answer to an action is its message.
	c, _ := stubCIPP(t, map[string]stubResponse{"ExecRevokeSessions": {status: 200, ctype: "text/plain", body: "Successfully revoked sessions for jane@contoso.com"}})
	res, err := c.RevokeSessions(t.Context(), jane)
	require.NoError(t, err)
	assert.Equal(t, "Successfully revoked sessions for jane@contoso.com", res.Message)
}

func TestClassifyIsStableForUnknownText(t *testing.T) {
	t.Parallel()
	_, _, _, ok := classify("everything is fine")
	assert.False(t, ok)
	kind, _, _, ok := classify("Resource 'x' does not exist or one of its queried reference-property objects are not present.")
	assert.True(t, ok)
	assert.True(t, errors.Is(kind, tenantsync.ErrNotFound))
	assert.Equal(t, "https://x.example/a", redactURL("https://x.example/a?code=secret#frag"))
	assert.Empty(t, requestID(http.Header{}))
}

// TestRetriesOnlyPassingFailures counts the requests one call makes: a 500 carrying CIPP's
// exception text is its answer and is asked once; a 500 from the front end, one naming a
// timeout, and 502/503/504 are retried (fastRetry allows one retry).
func TestRetriesOnlyPassingFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		resp  stubResponse
		sends int
	}{
		{"consent missing", stubResponse{status: 500, body: string(readTestdata(t, "500-ListDomains-consent.json"))}, 1},
		{"CIPP tokens expired", stubResponse{status: 500, body: string(readTestdata(t, "500-ListUsers-token-expired.txt"))}, 1},
		{"licence missing", stubResponse{status: 500, body: `["Required license not available for this tenant"]`}, 1},
		{"Graph timed out behind CIPP", stubResponse{status: 500, body: string(readTestdata(t, "500-text.txt"))}, 2},
		{"empty 500 from the front end", stubResponse{status: 500}, 2},
		{"HTML 500 from the front end", stubResponse{status: 500, ctype: "text/html", body: "<html><body>Internal Server Error</body></html>"}, 2},
		{"bad gateway", stubResponse{status: 502, body: "CIPP answered oddly"}, 2},
		{"gateway timeout", stubResponse{status: 504}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, seen := stubCIPP(t, map[string]stubResponse{"ListUsers": tt.resp})
			_, err := c.Users(t.Context(), contosoDomain)
			require.Error(t, err)
			sends := 0
			for _, r := range *seen {
				if strings.HasSuffix(r.URL.Path, "/ListUsers") {
					sends++
				}
			}
			assert.Equal(t, tt.sends, sends)
		})
	}
}

func TestNoRetriesSendsOnce(t *testing.T) {
	t.Parallel()
	c, seen := stubCIPP(t, map[string]stubResponse{"ListUsers": {status: 503}}, func(c *Config) { c.MaxRetries = transport.NoRetries })
	_, err := c.Users(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Len(t, *seen, 2, "one ListTenants for the tenant check and one ListUsers")
}
