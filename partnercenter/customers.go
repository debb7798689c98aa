package partnercenter

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/internal/paging"
)

// ContinuationHeader carries the seek token of the next customers page.
const ContinuationHeader = "MS-ContinuationToken"

// ListCustomersPage returns one page of customers: the first when token is "", else the page the
// continuation token of the previous page points at (Partner Center's seek paging: the token in
// the MS-ContinuationToken header and seekOperation=Next in the query).
func (c *Client) ListCustomersPage(ctx context.Context, token string) (tenantsync.Page[Customer], error) {
	const op = "ListCustomers"
	if c.pc == nil {
		return tenantsync.Page[Customer]{}, notConfigured(op, "Partner Center", "PartnerCenterTokens")
	}
	q := url.Values{"size": {strconv.Itoa(c.cfg.CustomerPageSize)}}
	h := requestIDs()
	if token != "" {
		q.Set("seekOperation", "Next")
		h.Set(ContinuationHeader, token)
	}
	resp, body, err := send(ctx, c.pc, call{service: Service, op: op, method: http.MethodGet,
		url: endpoint(c.pcBase, "/v1/customers", q), header: h})
	if err != nil {
		return tenantsync.Page[Customer]{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return tenantsync.Page[Customer]{}, decodePCError(op, "", resp.StatusCode, resp.Header, body, c.now())
	}
	var col customerCollection
	if err := json.Unmarshal(body, &col); err != nil {
		return tenantsync.Page[Customer]{}, decodeFailure(Service, op, "", resp.Header, err)
	}
	// A page says it is one: its items, or (should an empty one leave them out) a collection
	// that counts none. An error body or nothing sent with 200 is neither.
	if err := listed(body, "items"); err != nil && !emptyCollection(body) {
		return tenantsync.Page[Customer]{}, decodeFailure(Service, op, "", resp.Header, err)
	}
	page := tenantsync.Page[Customer]{Items: col.Items}
	if col.Links.Next != nil {
		page.Next = nextToken(col)
		if page.Next == "" {
			return tenantsync.Page[Customer]{}, &tenantsync.Error{Class: tenantsync.ErrIncomplete, Service: Service, Op: op, RequestID: requestID(resp.Header),
				Message: "the page has a next link but no continuation token",
				Hint:    "Partner Center returned an unusable next link; retry the listing later"}
		}
	}
	return page, nil
}

// nextToken is the token the next link asks to be sent, or the collection's continuationToken.
func nextToken(col customerCollection) string {
	for _, h := range col.Links.Next.Headers {
		if strings.EqualFold(h.Key, ContinuationHeader) && h.Value != "" {
			return h.Value
		}
	}
	return col.ContinuationToken
}

// ListCustomers iterates over every customer, page by page. It stops after yielding the first
// error; a listing that ends in an error is incomplete, not short.
func (c *Client) ListCustomers(ctx context.Context) iter.Seq2[Customer, error] {
	return paging.Walk(c.bounds(Service, "ListCustomers", "customers", "continuation token", "Partner Center"),
		func(token string) (tenantsync.Page[Customer], error) { return c.ListCustomersPage(ctx, token) })
}

// Customers collects ListCustomers; on error it returns nil and the error, never a partial list.
func (c *Client) Customers(ctx context.Context) ([]Customer, error) {
	return paging.Collect(c.ListCustomers(ctx))
}

func checkTenantID(op, id string) error {
	if !ids.IsGUID(id) {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: id,
			Message: fmt.Sprintf("customer ID %q is not a GUID", id),
			Hint:    "pass the customer's tenant ID (a GUID), as ListCustomers reports it"}
	}
	return nil
}

// GetCustomer reads one customer by its ID (the customer's tenant ID).
func (c *Client) GetCustomer(ctx context.Context, customerID string) (*Customer, error) {
	const op = "GetCustomer"
	if c.pc == nil {
		return nil, notConfigured(op, "Partner Center", "PartnerCenterTokens")
	}
	if err := checkTenantID(op, customerID); err != nil {
		return nil, err
	}
	resp, body, err := send(ctx, c.pc, call{service: Service, op: op, tenant: customerID, method: http.MethodGet,
		url: endpoint(c.pcBase, "/v1/customers/"+url.PathEscape(customerID), nil), header: requestIDs()})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodePCError(op, customerID, resp.StatusCode, resp.Header, body, c.now())
	}
	var cu Customer
	if err := json.Unmarshal(body, &cu); err != nil {
		return nil, decodeFailure(Service, op, customerID, resp.Header, err)
	}
	return &cu, nil
}

// GraphResourceAppID is Microsoft Graph's application ID, the usual enterpriseApplicationId of a grant.
const GraphResourceAppID = "00000003-0000-0000-c000-000000000000"

// ConsentResult says what GrantApplicationConsent did.
type ConsentResult struct {
	// Created is false when the consent already existed (Partner Center answered 409).
	Created   bool
	RequestID string
}

// GrantApplicationConsent consents the partner's multi-tenant app in a customer tenant, the
// step GDAP requires before the app can act there (the CPV consent). Partner Center answers
// 409 when the consent already exists; that counts as success with Created false.
func (c *Client) GrantApplicationConsent(ctx context.Context, customerID string, consent ApplicationConsent) (ConsentResult, error) {
	const op = "GrantApplicationConsent"
	if c.pc == nil {
		return ConsentResult{}, notConfigured(op, "Partner Center", "PartnerCenterTokens")
	}
	if err := checkTenantID(op, customerID); err != nil {
		return ConsentResult{}, err
	}
	if err := validateConsent(op, customerID, consent); err != nil {
		return ConsentResult{}, err
	}
	// Repeating the POST is safe, since an existing consent answers 409, which is success; so a
	// dropped connection or a 5xx may be retried like a GET.
	ctx = httpx.Idempotent(ctx)
	resp, body, err := send(ctx, c.pc, call{service: Service, op: op, tenant: customerID, method: http.MethodPost,
		url:    endpoint(c.pcBase, "/v1/customers/"+url.PathEscape(customerID)+"/applicationconsents", nil),
		header: requestIDs(), body: consent})
	if err != nil {
		return ConsentResult{}, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		return ConsentResult{Created: true, RequestID: requestID(resp.Header)}, nil
	case http.StatusConflict:
		return ConsentResult{Created: false, RequestID: requestID(resp.Header)}, nil
	}
	e := decodePCError(op, customerID, resp.StatusCode, resp.Header, body, c.now())
	if e.Class == tenantsync.ErrForbidden {
		e.Hint = "granting consent needs a partner user in AdminAgents with a GDAP relationship holding Global Administrator, " +
			"Privileged Role Administrator or Cloud Application Administrator in this customer; or consent the app through CIPP"
	}
	return ConsentResult{}, e
}

func validateConsent(op, customerID string, a ApplicationConsent) error {
	bad := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: customerID, Message: msg, Hint: hint}
	}
	if !ids.IsGUID(a.ApplicationID) {
		return bad(fmt.Sprintf("applicationId %q is not a GUID", a.ApplicationID), "set ApplicationID to the partner app's client ID")
	}
	if len(a.ApplicationGrants) == 0 {
		return bad("no applicationGrants", "add at least one grant, e.g. {EnterpriseApplicationID: GraphResourceAppID, Scope: \"Directory.Read.All\"}")
	}
	for i, g := range a.ApplicationGrants {
		if !ids.IsGUID(g.EnterpriseApplicationID) {
			return bad(fmt.Sprintf("applicationGrants[%d].enterpriseApplicationId %q is not a GUID", i, g.EnterpriseApplicationID),
				"use the resource's application ID, e.g. GraphResourceAppID")
		}
		if strings.TrimSpace(g.Scope) == "" {
			return bad(fmt.Sprintf("applicationGrants[%d].scope is empty", i), "list the permissions, comma-separated")
		}
	}
	return nil
}

// emptyCollection reports whether body is a Partner Center collection that counts no items:
// totalCount 0 and attributes.objectType "Collection".
func emptyCollection(body []byte) bool {
	var f struct {
		TotalCount *int       `json:"totalCount"`
		Attributes Attributes `json:"attributes"`
	}
	return json.Unmarshal(body, &f) == nil && f.TotalCount != nil && *f.TotalCount == 0 && f.Attributes.ObjectType == "Collection"
}
