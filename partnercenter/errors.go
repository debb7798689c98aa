package partnercenter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/wire"
)

// Partner Center error codes this package reacts to (from the Partner Center REST error table).
const (
	pcCodeTenantNotFound = "60003"
	pcCodeNotFound       = "1000"
)

// requestID returns the request ID Partner Center echoes, or Graph's request-id.
func requestID(h http.Header) string {
	for _, k := range []string{"MS-RequestId", "request-id", "MS-CorrelationId", "client-request-id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func retryAfter(h http.Header, now time.Time) time.Duration {
	if d, ok := httpx.ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return d
	}
	return 0
}

// clip keeps a service message readable in an error string.
func clip(s string) string {
	s = strings.TrimSpace(httpx.Redact(s))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// statusHints words, for one service, what to do about each class of failed status.
type statusHints struct {
	unauthorized, forbidden, notFound, throttled, failed, badRequest, other string
}

var (
	pcHints = statusHints{
		unauthorized: "Partner Center refused the token: it must be issued for https://api.partnercenter.microsoft.com " +
			"(scope .../user_impersonation) for a partner user; re-run the Secure Application Model consent if the refresh token expired",
		forbidden: "the partner user needs the Admin Agent role in Partner Center; consent calls also need a GDAP relationship " +
			"with Global Administrator, Privileged Role Administrator or Cloud Application Administrator in the customer",
		notFound:   "check PartnerCenterURL; the path was not found",
		throttled:  "Partner Center is rate limiting this partner (customers: 500 requests per minute); wait for the retry-after period and retry",
		failed:     "Partner Center failed; retry later and quote the request ID to Microsoft support if it persists",
		badRequest: "Partner Center rejected the request: check the customer ID is the tenant GUID and the values sent",
		other:      "Partner Center answered with an unexpected status; retry later",
	}
	graphHints = statusHints{
		unauthorized: "Graph refused the partner-tenant token: it must be a Graph token for the partner tenant; " +
			"re-run the Secure Application Model consent if the refresh token expired",
		forbidden: "reading GDAP relationships needs DelegatedAdminRelationship.Read.All consented on the partner app " +
			"and a partner user with the Admin Agent role",
		notFound:   "check GraphURL; the GDAP endpoint was not found",
		throttled:  "Graph is throttling the partner tenant; wait for the retry-after period and retry",
		failed:     "Graph failed; retry later",
		badRequest: "Graph rejected the query: check RelationshipPageSize (at most 300)",
		other:      "Graph answered with an unexpected status; retry later",
	}
)

// hintTenantGone is the hint of a customer Partner Center does not (or no longer) know.
const hintTenantGone = "the customer is not (or no longer) a Partner Center customer of this partner: refresh the tenant list"

// classifyStatus sets e's kind and hint from its status, and the wait a 429 or 5xx asked for.
func classifyStatus(e *tenantsync.Error, h http.Header, now time.Time, hints statusHints) {
	switch status := e.Status; {
	case status == http.StatusUnauthorized:
		e.Class, e.Hint = tenantsync.ErrUnauthorized, hints.unauthorized
	case status == http.StatusForbidden:
		e.Class, e.Hint = tenantsync.ErrForbidden, hints.forbidden
	case status == http.StatusNotFound:
		e.Class, e.Hint = tenantsync.ErrNotFound, hints.notFound
	case status == http.StatusTooManyRequests:
		e.Class, e.Hint = tenantsync.ErrThrottled, hints.throttled
		e.RetryAfter = retryAfter(h, now)
	case status >= 500:
		e.Class, e.Hint = tenantsync.ErrUnavailable, hints.failed
		e.RetryAfter = retryAfter(h, now)
	case status == http.StatusBadRequest:
		e.Class, e.Hint = tenantsync.ErrInvalidInput, hints.badRequest
	default:
		e.Class, e.Hint = tenantsync.ErrUnavailable, hints.other
	}
}

// decodePCError maps a non-2xx Partner Center response to a *tenantsync.Error. It reads both
// Partner Center bodies ({code, description, data, source} and the 429 {statusCode, message})
// and tolerates anything else, so a proxy's HTML page still yields a typed error.
func decodePCError(op, tenant string, status int, h http.Header, body []byte, now time.Time) *tenantsync.Error {
	e := &tenantsync.Error{Service: Service, Op: op, Tenant: tenant, Status: status, RequestID: requestID(h)}
	var pe pcError
	var pt pcThrottle
	if json.Unmarshal(body, &pe) == nil && (pe.Code != "" || pe.Description != "") {
		e.Code = string(pe.Code)
		e.Message = clip(pe.Description)
	} else if json.Unmarshal(body, &pt) == nil && pt.Message != "" {
		if pt.StatusCode != 0 {
			e.Code = fmt.Sprint(pt.StatusCode)
		}
		e.Message = clip(pt.Message)
	} else if len(body) > 0 {
		e.Message = clip(string(body))
	}
	classifyStatus(e, h, now, pcHints)
	// A customer call that finds nothing, or Partner Center's own "tenant not found" code, means
	// the customer is gone, not that the URL is wrong.
	if e.Code == pcCodeTenantNotFound || (tenant != "" && (status == http.StatusNotFound || e.Code == pcCodeNotFound)) {
		e.Class, e.Hint = tenantsync.ErrTenantNotFound, hintTenantGone
	}
	return e
}

// decodeGraphError maps a non-2xx Graph response of the GDAP endpoints.
// The request ID is Graph's request-id header, else the body's (either spelling), and only then
// the headers requestID falls back on: a client-request-id header is the caller's own ID echoed
// back, which Microsoft support cannot look up.
func decodeGraphError(op string, status int, h http.Header, body []byte, now time.Time) *tenantsync.Error {
	e := &tenantsync.Error{Service: "graph", Op: op, Status: status, RequestID: h.Get("request-id")}
	ge, parsed := wire.DecodeGraphError(body)
	if e.RequestID == "" && parsed {
		e.RequestID = ge.RequestID()
	}
	if e.RequestID == "" {
		e.RequestID = requestID(h)
	}
	if parsed && ge.Error.Code != "" {
		e.Code = ge.Error.Code
		e.Message = clip(ge.Error.Message)
	} else if len(body) > 0 {
		e.Message = clip(string(body))
	}
	classifyStatus(e, h, now, graphHints)
	return e
}

// decodeFailure is the error for a 2xx body that does not parse: the listing is unknown.
// listed returns an error unless body, a collection's page, holds its array under name: an
// answer without it (an error body or nothing, sent with 200) is not an empty listing, which
// would make every customer look gone.
func listed(body []byte, name string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return err
	}
	if v := bytes.TrimSpace(fields[name]); len(v) == 0 || v[0] != '[' {
		return fmt.Errorf("the page has no %q array", name)
	}
	return nil
}

func decodeFailure(service, op, tenant string, h http.Header, err error) *tenantsync.Error {
	return &tenantsync.Error{Class: tenantsync.ErrIncomplete, Service: service, Op: op, Tenant: tenant,
		RequestID: requestID(h), Message: "response body did not parse: " + clip(err.Error()),
		Hint: "the response was cut short or is not JSON; retry, and check no proxy rewrites the responses", Err: err}
}
