package graph

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/wire"
)

// access names what a call needs: the GDAP role a partner user must hold and the application
// permission an app-only token must carry. Hints name both, since the client cannot tell which
// of the two the customer will change.
type access struct {
	role       string
	permission string
	// premium names the data that needs Entra ID P1 or P2, for the hint of a tenant without
	// it ("" for MFA registration details).
	premium string
}

var (
	accessUsers     = access{role: "Directory Readers (or Global Reader)", permission: "User.Read.All"}
	accessDevices   = access{role: "Intune Administrator (or Global Reader)", permission: "DeviceManagementManagedDevices.Read.All"}
	accessDomains   = access{role: "Directory Readers (or Global Reader)", permission: "Domain.Read.All"}
	accessSKUs      = access{role: "Directory Readers (or License Administrator)", permission: "Organization.Read.All"}
	accessMFA       = access{role: "Reports Reader (or Security Reader)", permission: "AuditLog.Read.All"}
	accessCA        = access{role: "Security Reader (or Global Reader)", permission: "Policy.Read.All"}
	accessScore     = access{role: "Security Reader (or Global Reader)", permission: "SecurityEvents.Read.All"}
	accessOrg       = access{role: "Directory Readers (or Global Reader)", permission: "Organization.Read.All"}
	accessMailbox   = access{role: "Exchange Administrator (or Global Reader)", permission: "MailboxSettings.Read"}
	accessUserWrite = access{role: "User Administrator", permission: "User.ReadWrite.All"}
	accessPassword  = access{role: "Password Administrator (Privileged Authentication Administrator for admins)", permission: "User-PasswordProfile.ReadWrite.All"}
	accessMethods   = access{role: "Authentication Administrator (Privileged Authentication Administrator for admins)", permission: "UserAuthenticationMethod.ReadWrite.All"}
	accessGroups    = access{role: "Groups Administrator", permission: "GroupMember.ReadWrite.All"}
	accessConnector = access{role: "Intune Administrator (or Global Reader)", permission: "DeviceManagementServiceConfig.Read.All"}
)

// propagationWindow is how long Microsoft may take to apply a newly granted GDAP role.
const propagationWindow = 2 * time.Hour

// apiError turns a failed Graph response (or $batch item) into a *tenantsync.Error.
func (c *Client) apiError(op, tenant string, need access, status int, h http.Header, body []byte) *tenantsync.Error {
	eb, _ := wire.DecodeGraphError(body)
	code, msg := eb.Error.Code, eb.Error.Message
	if code == "" && msg == "" && len(body) > 0 && !json.Valid(body) {
		msg = string(body[:min(len(body), 300)])
	}
	e := &tenantsync.Error{
		Service:   service,
		Op:        op,
		Tenant:    tenant,
		Status:    status,
		Code:      code,
		Message:   httpx.Redact(msg),
		RequestID: h.Get("request-id"),
	}
	if e.RequestID == "" {
		// The header is what Graph sets on every response; a $batch item often has none.
		e.RequestID = eb.RequestID()
	}
	if ra, ok := httpx.ParseRetryAfter(h.Get("Retry-After"), c.now()); ok {
		e.RetryAfter = ra
	}
	e.Hint, e.Class = c.classify(tenant, need, status, code)
	return e
}

// classify returns the remediation hint and the kind of a Graph failure.
func (c *Client) classify(tenant string, need access, status int, code string) (hint string, kind error) {
	switch {
	case status == http.StatusGone || strings.EqualFold(code, "syncStateNotFound") || strings.EqualFold(code, "resyncRequired"):
		return "the delta cursor has expired (Graph keeps them 7 days); list in full and store the new cursor", tenantsync.ErrCursorExpired
	case status == http.StatusUnauthorized && code == "Authorization_IdentityNotFound":
		return "the partner app has no consented service principal in customer tenant " + tenant +
			": open the admin-consent link (graph.Consent) as a Global Administrator of the customer, then retry", tenantsync.ErrConsentRequired
	case status == http.StatusUnauthorized:
		return "Graph refused the token; if it keeps happening, check the app registration's credentials and the tenant ID", tenantsync.ErrUnauthorized
	case status == http.StatusForbidden && code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant":
		if need.premium != "" {
			return need.premium + " needs Microsoft Entra ID P1 or P2 in the customer tenant (Microsoft 365 Business Premium, E3 or E5 include it); " +
				"it stays unavailable until the tenant is licensed", tenantsync.ErrLicenseRequired
		}
		return "MFA registration details need Microsoft Entra ID P1 or P2 in the customer tenant; MFA data stays unavailable until the tenant is licensed", tenantsync.ErrLicenseRequired
	case status == http.StatusForbidden:
		return c.roleHint(tenant, need), tenantsync.ErrRoleMissing
	case status == http.StatusNotFound:
		return "Graph has no such object in tenant " + tenant + " (deleted, or a wrong ID): check the ID, or sync again to see the current objects", tenantsync.ErrNotFound
	case status == http.StatusTooManyRequests:
		return "Microsoft Graph is throttling this tenant; the next sync will retry", tenantsync.ErrThrottled
	case status == http.StatusNotImplemented:
		return "Graph does not support this request", tenantsync.ErrUnsupported
	case status >= 500:
		return "Microsoft Graph failed; the next sync will retry", tenantsync.ErrUnavailable
	}
	return "Graph refused the request as invalid; the error's code and message say which value to correct", tenantsync.ErrInvalidInput
}

func (c *Client) roleHint(tenant string, need access) string {
	if c.cfg.GrantedAt != nil {
		if at := c.cfg.GrantedAt(tenant); !at.IsZero() && c.now().Sub(at) < propagationWindow {
			return "recently granted: Microsoft may take 30 minutes to 2 hours to apply a new GDAP role; re-verify later"
		}
	}
	if need.role == "" {
		return "add the GDAP role this data needs to the partner's security group for this customer; if it was granted in the last 2 hours, Microsoft may take 30 minutes to 2 hours to apply it: re-verify later"
	}
	return "add the GDAP role " + need.role + " to the partner's security group for this customer (app-only access needs the application permission " +
		need.permission + " consented in the tenant); if it was granted in the last 2 hours, Microsoft may take 30 minutes to 2 hours to apply it: re-verify later"
}

func opError(kind error, op, tenant, hint, format string, args ...any) *tenantsync.Error {
	e := tenantsync.Errorf(kind, hint, format, args...)
	e.Service, e.Op, e.Tenant = service, op, tenant
	return e
}

// withOp re-labels an error from the transport with the operation and tenant.
func withOp(err error, op, tenant string) error {
	if d, ok := tenantsync.Details(err); ok {
		e := *d
		if e.Service == "" {
			e.Service = service
		}
		e.Op = op
		if e.Tenant == "" {
			e.Tenant = tenant
		}
		if e.Class == nil {
			e.Class = tenantsync.ErrUnavailable
		}
		e.Err = err
		return &e
	}
	return err
}
