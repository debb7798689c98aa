package cipp

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
)

// Service is the name of this route in errors, tenants and results.
const Service = "cipp"

// Remediation hints, in the words of the CIPP admin who has to act on them.
const (
	// CIPP reloads its tenant list from the GDAP relationships only on its nightly timer, when
	// its tenant cache is cleared, or on ListTenants?TriggerRefresh=true (Client.RefreshTenantList);
	// the Refresh button above CIPP's tenant tables only reloads the page.
	HintRefreshTenants = "make CIPP reload its tenant list: in CIPP → Settings, Cache card, press Clear Cache with \"Only Clear the Tenant Cache\" on (or call cipp.Client.RefreshTenantList), wait a few minutes for the tenant refresh to finish, then retry; if the tenant is still missing, check its GDAP relationship"
	HintTenantDropped  = "CIPP no longer lists this tenant, so its empty answer was not taken as an empty tenant and nothing was removed: make CIPP reload its tenant list (CIPP → Settings, Cache card, Clear Cache with \"Only Clear the Tenant Cache\" on, or cipp.Client.RefreshTenantList) and sync again once the refresh has finished; if the tenant stays missing, its GDAP relationship has ended or the tenant was excluded in CIPP"
	HintEmptyTenants   = "CIPP returned no tenants for this API client: give it a base role (readonly, or editor for write actions) or a custom role whose allowed tenants include your customers in CIPP → Integrations → CIPP-API, press Save to Azure, and make CIPP reload its tenant list (CIPP → Settings, Cache card, Clear Cache with \"Only Clear the Tenant Cache\" on)"
	HintWriteRole      = "raise the API client's role to editor in CIPP → Integrations → CIPP-API and press Save to Azure (CIPP restarts; allow about 60 seconds), then retry"
	HintReadRole       = "give the API client a role that includes this permission (readonly or higher) in CIPP → Integrations → CIPP-API and press Save to Azure"
	HintNoRole         = "the API client has no role: set one (readonly to read, editor for write actions) in CIPP → Integrations → CIPP-API and press Save to Azure"
	HintCustomRole     = "add the permission to the API client's custom role in CIPP (Advanced → Super Admin → CIPP Roles), or give the client a base role"
	HintBlockedByRole  = "remove the endpoint from the blocked endpoints of the API client's custom role in CIPP (Advanced → Super Admin → CIPP Roles)"
	HintTenantScope    = "add the tenant to the allowed tenants of the API client's custom role in CIPP (Advanced → Super Admin → CIPP Roles)"
	HintIPRange        = "add this machine's public IP address to the API client's allowed IP range in CIPP → Integrations → CIPP-API (or set it to Any) and press Save to Azure"
	HintSubscription   = "the hosted CIPP subscription has ended: renew it to regain access"
	HintUnauthorized   = "check the client ID and secret of the API client in CIPP → Integrations → CIPP-API; the token's audience must be api://<client ID> (keep the app registration on v1 access tokens, not requestedAccessTokenVersion 2); after creating or enabling the client press Save to Azure and allow about 60 seconds for CIPP to restart"
	HintUIURL          = "use the Function App URL (https://<name>.azurewebsites.net, shown as the API URL in CIPP → Integrations → CIPP-API), not the CIPP UI URL"
	HintUpgrade        = "this CIPP version is too old for the endpoint: update CIPP to a current release"
	HintFeatureOff     = "the feature is disabled in this CIPP instance: enable it in CIPP's settings"
	HintConsent        = "CIPP has no consent in this tenant: run a CPV refresh for the tenant in CIPP (Settings → Permissions, or Tenant Administration → Tenants → CPV Refresh), or run the CIPP Setup Wizard to refresh tokens"
	HintCIPPTokens     = "CIPP's own partner tokens have expired or were revoked: run the CIPP Setup Wizard to refresh tokens"
	HintCPV            = "CIPP lacks a permission or GDAP role for this tenant: run a permission check and a CPV refresh in CIPP (Settings → Permissions)"
	HintLicence        = "the tenant lacks the licence this data needs (Entra ID P1 for MFA, conditional access and sign-in activity reports)"
	HintExcluded       = "the tenant is excluded in CIPP: include it again (Tenant Administration → Tenants → Excluded Tenants), then refresh the tenant list"
	HintADSync         = "the user is synchronised from on-premises Active Directory: make the change in the local AD"
	HintRetry          = "CIPP failed; retry later (calls on very large tenants can exceed Azure's ~230 s response limit)"
	HintQueued         = "CIPP queued the request in the background; retry in a few minutes"
	HintNotReady       = "CIPP does not have this data ready yet: it answered with a placeholder (\"Loading data…\", \"Data still processing\") or an empty reporting database instead of the data, and nothing was taken from that answer; the next sync asks again, or retry in a few minutes"
	HintPermCheck      = "run a permission check in CIPP (Settings → Permissions), then retry"
)

// maxMessage bounds the service text kept in an error: a misrouted request can return a page of HTML.
const maxMessage = 600

func (c *Client) newError(kind error, op, tenant string, status int, msg, hint string) *tenantsync.Error {
	msg = strings.TrimSpace(httpx.Redact(msg))
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return &tenantsync.Error{Class: kind, Service: Service, Op: op, Tenant: tenant, Status: status, Message: msg, Hint: hint}
}

var (
	reBaseRole   = regexp.MustCompile(`the '([^']*)' base role does not have the required permission: (\S+)`)
	reCustomPerm = regexp.MustCompile(`you do not have the required permission: (\S+)`)
	reAADSTS     = regexp.MustCompile(`AADSTS(\d+)`)
	// reNotReady finds CIPP's "come back later" texts: the placeholders it answers with while a
	// cache or a background job fills ("Loading data for all tenants. Please check back in 1
	// minute", "Loading 12345 rows for contoso.com. Please check back after the job completes",
	// "Data still processing, please wait") and the reporting database's "No mailbox data found
	// in reporting database. Sync the report data first."
	reNotReady = regexp.MustCompile(`(?i)loading data|loading \d+ rows|check back|still processing|please wait|data found in reporting database|sync the report data first`)
	// reFailure is CIPP's own frontend test for a result text that reports a failure
	// (CippApiResults.jsx).
	reFailure = regexp.MustCompile(`(?i)error|failed|exception|not found|invalid_grant`)
)

// applyClass sets e's kind, code and hint from msg when classify recognises it.
func applyClass(e *tenantsync.Error, msg string) bool {
	kind, code, hint, ok := classify(msg)
	if ok {
		e.Class, e.Code, e.Hint = kind, code, hint
		if hint == HintNotReady && e.Err == nil {
			// What CIPP has not loaded yet is unknown, not empty.
			e.Err = tenantsync.ErrIncomplete
		}
	}
	return ok
}

// classify recognises the messages CIPP passes through from Graph and Entra (after its own
// Get-NormalizedError rewording) that mean something a caller can act on.
//
//lint:ignore ST1008 ok reports whether the message was recognised, like a map lookup
func classify(msg string) (kind error, code, hint string, ok bool) {
	lower := strings.ToLower(msg)
	if m := reAADSTS.FindStringSubmatch(msg); m != nil {
		code = "AADSTS" + m[1]
	}
	switch {
	case code == "AADSTS65001" || strings.Contains(lower, "consent has not been given"):
		return tenantsync.ErrConsentRequired, "AADSTS65001", HintConsent, true
	case code == "AADSTS700082" || code == "AADSTS50173" || code == "AADSTS70043" ||
		strings.Contains(lower, "access token has expired") || strings.Contains(lower, "invalid_grant"):
		return tenantsync.ErrAuthorizationRevoked, code, HintCIPPTokens, true
	case strings.Contains(lower, "not in cipp's tenant list") || strings.Contains(lower, "tenants not under your scope"):
		return tenantsync.ErrTenantNotFound, code, HintRefreshTenants, true
	case strings.Contains(lower, "excluded from cipp management"):
		return tenantsync.ErrTenantNotFound, code, HintExcluded, true
	case strings.Contains(lower, "required license not available") || strings.Contains(lower, "doesn't have premium license"):
		return tenantsync.ErrLicenseRequired, code, HintLicence, true
	case strings.Contains(lower, "do not have permissions to access this resource") ||
		strings.Contains(lower, "insufficient privileges") || strings.Contains(lower, "authorization_requestdenied"):
		return tenantsync.ErrRoleMissing, code, HintCPV, true
	case strings.Contains(lower, "ad sync enabled"):
		return tenantsync.ErrUnsupported, code, HintADSync, true
	case strings.Contains(lower, "does not exist or one of its queried reference-property objects are not present"):
		return tenantsync.ErrNotFound, code, "", true
	case code == "" && reNotReady.MatchString(msg):
		return tenantsync.ErrUnavailable, "", HintNotReady, true
	case code != "":
		return tenantsync.ErrAuthorizationRevoked, code, HintCIPPTokens, true
	}
	return nil, "", "", false
}

// statusError turns a non-2xx CIPP answer into a typed error. CIPP has no error envelope: the
// status and the text (plain, a JSON string, ["msg"] or {"Results": "msg"}) are all there is.
func (c *Client) statusError(op, tenant string, resp *http.Response, body []byte) error {
	status := resp.StatusCode
	msg := ""
	if r, err := Decode(body); err == nil {
		msg = r.Message()
	}
	e := c.newError(nil, op, tenant, status, msg, "")
	e.RequestID = requestID(resp.Header)
	switch {
	case status >= 300 && status < 400:
		e.Class, e.Hint = tenantsync.ErrInvalidInput, HintUIURL
		loc := resp.Header.Get(locationHeader)
		if loc == "" {
			loc = resp.Header.Get("Location")
		}
		if strings.Contains(loc, "/.auth/login") {
			e.Message = "CIPP redirected the request to its sign-in page (" + redactURL(loc) + "): the URL is the CIPP UI, not the Function App"
		} else {
			e.Message = "CIPP answered with a redirect to " + redactURL(loc)
		}
		return e
	case status == http.StatusUnauthorized:
		e.Class, e.Hint = tenantsync.ErrUnauthorized, HintUnauthorized
		if e.Message == "" {
			e.Message = "the CIPP Function App refused the bearer token"
		}
		return e
	case status == http.StatusForbidden:
		forbidden(e, msg)
		return e
	case status == http.StatusNotFound && strings.EqualFold(strings.TrimSpace(msg), "Endpoint not found"):
		e.Class, e.Hint = tenantsync.ErrUnsupported, HintUpgrade
		return e
	case status == http.StatusTooManyRequests:
		e.Class = tenantsync.ErrThrottled
		if d, ok := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			e.RetryAfter = d
		}
		e.Hint = "wait and retry; CIPP itself does not rate-limit, so something in front of it does"
		return e
	case status == http.StatusServiceUnavailable && strings.HasPrefix(msg, "This feature has been disabled"):
		e.Class, e.Hint = tenantsync.ErrUnsupported, HintFeatureOff
		return e
	}
	if applyClass(e, msg) {
		return e
	}
	switch {
	case status == http.StatusNotFound:
		e.Class = tenantsync.ErrNotFound
	case status == http.StatusBadRequest:
		e.Class, e.Hint = tenantsync.ErrInvalidInput, "check the request's parameters against CIPP's API documentation"
	default:
		e.Class, e.Hint = tenantsync.ErrUnavailable, HintRetry
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// forbidden reads CIPP's RBAC refusal texts (Test-CIPPAccess.ps1) into a kind and a hint.
func forbidden(e *tenantsync.Error, msg string) {
	e.Class = tenantsync.ErrForbidden
	switch {
	case reBaseRole.MatchString(msg):
		m := reBaseRole.FindStringSubmatch(msg)
		e.Code = m[2]
		if strings.HasSuffix(m[2], ".ReadWrite") {
			e.Hint = HintWriteRole
		} else {
			e.Hint = HintReadRole
		}
	case reCustomPerm.MatchString(msg):
		e.Code = reCustomPerm.FindStringSubmatch(msg)[1]
		e.Hint = HintCustomRole
	case strings.Contains(msg, "has blocked this endpoint"):
		e.Hint = HintBlockedByRole
	case strings.Contains(msg, "Access to this tenant is not allowed"):
		e.Hint = HintTenantScope
	case strings.Contains(msg, "the user does not have the required permission"):
		e.Hint = HintNoRole
	case strings.Contains(msg, "the API Client does not have the required permission"):
		e.Hint = HintIPRange
	case strings.Contains(msg, "subscription has ended"):
		e.Hint = HintSubscription
	default:
		if applyClass(e, msg) {
			return
		}
		e.Class, e.Hint = tenantsync.ErrRoleMissing, HintCPV
	}
}

// reTransient finds, in the text of a CIPP 500, a failure behind CIPP that passes (Graph or
// Exchange timing out or throttling CIPP's own call), which a retry can get past.
var reTransient = regexp.MustCompile(`(?i)timed? ?out|temporar|unavailable|too many requests|throttl|rate limit|gateway|try again`)

// finalAnswer is the httpx.FinalFunc of every CIPP call. A 500 that carries CIPP's text is
// the exception an endpoint threw (no consent in the tenant, a missing licence, CIPP's expired
// partner tokens), and asking again only throws it again: without this, a tenant lacking
// consent would cost five requests per kind. An empty or HTML 500 comes from Azure's front
// end, and a text naming a timeout or throttling is passing, so those are retried, as are 429,
// 502, 503 and 504.
func finalAnswer(status int, _ http.Header, head []byte) bool {
	if status != http.StatusInternalServerError {
		return false
	}
	text := bytes.TrimSpace(head)
	return len(text) > 0 && text[0] != '<' && !reTransient.Match(text)
}

// requestID returns the Azure request identifier of a response, when the front end sent one.
func requestID(h http.Header) string {
	for _, k := range []string{"x-ms-request-id", "x-ms-invocation-id", "request-id", "x-ms-middleware-request-id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// redactURL drops the query of a URL (sign-in redirects carry state and nonces).
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}
