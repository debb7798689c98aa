package partnercenter

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// pagedCustomers serves n customers in pages of the requested size, with Partner Center's seek
// paging; it records every request's query and continuation header.
type pagedCustomers struct {
	mu       sync.Mutex
	n        int
	requests []customerRequest
	// sameToken makes every page hand out the same token (a paging loop).
	sameToken bool
	// noToken drops the token from the next link.
	noToken bool
}

type customerRequest struct {
	size, seek, token, requestID, correlationID, auth string
}

func customerID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i+1, i+1) }

func (p *pagedCustomers) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		q := r.URL.Query()
		cr := customerRequest{size: q.Get("size"), seek: q.Get("seekOperation"), token: r.Header.Get(ContinuationHeader),
			requestID: r.Header.Get("MS-RequestId"), correlationID: r.Header.Get("MS-CorrelationId"), auth: r.Header.Get("Authorization")}
		p.requests = append(p.requests, cr)
		if r.URL.Path != "/v1/customers" {
			http.NotFound(w, r)
			return
		}
		var size, offset int
		_, err := fmt.Sscan(cr.size, &size)
		require.NoError(t, err)
		if cr.token != "" {
			// The token looks like Partner Center's: commas, slashes and padding inside.
			_, err := fmt.Sscanf(strings.Split(cr.token, ",")[1], "off/%d=", &offset)
			require.NoError(t, err)
		}
		end := min(offset+size, p.n)
		col := customerCollection{Attributes: Attributes{ObjectType: "Collection"}}
		for i := offset; i < end; i++ {
			col.Items = append(col.Items, Customer{ID: customerID(i), CompanyProfile: CompanyProfile{
				TenantID: customerID(i), Domain: fmt.Sprintf("cust%d.onmicrosoft.com", i), CompanyName: fmt.Sprintf("Customer %02d", i)},
				RelationshipToPartner: "reseller", Attributes: Attributes{ObjectType: "Customer"}})
		}
		col.TotalCount = len(col.Items)
		col.Links.Self = &Link{URI: "/v1/customers?size=" + cr.size, Method: "GET", Headers: []Header{}}
		if end < p.n {
			if p.sameToken {
				end = size
			}
			tok := fmt.Sprintf("%s,off/%d=,x", uuid.NewString(), end)
			if p.sameToken {
				tok = fmt.Sprintf("d19617b8,off/%d=,x", end)
			}
			next := &Link{URI: "/v1/customers?size=" + cr.size + "&seekOperation=Next", Method: "GET"}
			if !p.noToken {
				next.Headers = []Header{{Key: ContinuationHeader, Value: tok}}
				col.ContinuationToken = tok
			}
			col.Links.Next = next
		}
		b, err := json.Marshal(col)
		require.NoError(t, err)
		w.Header().Set("MS-RequestId", cr.requestID)
		writeJSONBody(w, http.StatusOK, b)
	}
}

func TestListCustomersFollowsContinuationTokensAcrossPages(t *testing.T) {
	t.Parallel()
	p := &pagedCustomers{n: 7}
	f := newFakes(t, p.handler(t), nil)
	c := f.client(t, func(c *Config) { c.CustomerPageSize = 3 })

	got, err := c.Customers(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 7)
	for i, cu := range got {
		assert.Equal(t, customerID(i), cu.TenantID())
	}
	require.Len(t, p.requests, 3, "7 customers in pages of 3")
	assert.Equal(t, "3", p.requests[0].size)
	assert.Empty(t, p.requests[0].seek, "the first page is not a seek")
	assert.Empty(t, p.requests[0].token)
	for i, r := range p.requests[1:] {
		assert.Equal(t, "Next", r.seek, "page %d", i+2)
		assert.Equal(t, "3", r.size)
		assert.Contains(t, r.token, fmt.Sprintf("off/%d=", 3*(i+1)), "the token of the previous page is sent back verbatim")
	}
	for _, r := range p.requests {
		_, err := uuid.Parse(r.requestID)
		assert.NoError(t, err, "MS-RequestId is a GUID")
		_, err = uuid.Parse(r.correlationID)
		assert.NoError(t, err, "MS-CorrelationId is a GUID")
		assert.Equal(t, "Bearer tok-", r.auth, "Partner Center tokens are asked for tenant \"\"")
	}
}

func TestListCustomersPageReturnsTheTokenToResumeFrom(t *testing.T) {
	t.Parallel()
	p := &pagedCustomers{n: 5}
	f := newFakes(t, p.handler(t), nil)
	c := f.client(t, func(c *Config) { c.CustomerPageSize = 2 })

	first, err := c.ListCustomersPage(t.Context(), "")
	require.NoError(t, err)
	require.Len(t, first.Items, 2)
	require.NotEmpty(t, first.Next)

	// A later process resumes from the persisted token.
	second, err := c.ListCustomersPage(t.Context(), first.Next)
	require.NoError(t, err)
	require.Len(t, second.Items, 2)
	assert.Equal(t, customerID(2), second.Items[0].ID)

	third, err := c.ListCustomersPage(t.Context(), second.Next)
	require.NoError(t, err)
	assert.Len(t, third.Items, 1)
	assert.Empty(t, third.Next, "the last page has no next link")
}

func TestListCustomersDecodesTheRecordedShape(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "customers_page1.json")
	var token string
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		token = r.Header.Get(ContinuationHeader)
		writeJSONBody(w, http.StatusOK, body)
	}, nil)
	c := f.client(t)
	page, err := c.ListCustomersPage(t.Context(), "")
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	assert.Equal(t, "Contoso Ltd", page.Items[0].CompanyProfile.CompanyName)
	assert.Equal(t, "reseller", page.Items[0].RelationshipToPartner)
	assert.True(t, strings.HasPrefix(page.Next, "d19617b8-"), "the token comes from links.next.headers")
	assert.Contains(t, page.Next, "/80/", "the token is kept byte for byte")
	assert.Empty(t, token)

	tn := tenantFromCustomer(page.Items[1])
	assert.Equal(t, "0c4bd7a2-5f2e-4b5e-9d1a-3e8f2a7c6b01", tn.ID, "tenant IDs are lower-cased")
	assert.Equal(t, "fabrikam.com", tn.DefaultDomain)
	assert.Equal(t, "contosoltd.onmicrosoft.com", tenantFromCustomer(page.Items[0]).InitialDomain)
}

func TestListCustomersStopsWhenTheCallerStops(t *testing.T) {
	t.Parallel()
	p := &pagedCustomers{n: 9}
	f := newFakes(t, p.handler(t), nil)
	c := f.client(t, func(c *Config) { c.CustomerPageSize = 3 })
	n := 0
	for _, err := range c.ListCustomers(t.Context()) {
		require.NoError(t, err)
		n++
		if n == 4 {
			break
		}
	}
	assert.Equal(t, 4, n)
	assert.Len(t, p.requests, 2, "no page is fetched after the caller stops")
}

func TestListCustomersBrokenPagingIsAnError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		p        *pagedCustomers
		maxPages int
		kind     error
	}{
		{"token repeats", &pagedCustomers{n: 10, sameToken: true}, 0, tenantsync.ErrIncomplete},
		{"next link without token", &pagedCustomers{n: 10, noToken: true}, 0, tenantsync.ErrIncomplete},
		{"more pages than allowed", &pagedCustomers{n: 10}, 2, tenantsync.ErrLimitExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, tt.p.handler(t), nil)
			c := f.client(t, func(c *Config) { c.CustomerPageSize = 2; c.MaxPages = tt.maxPages })
			got, err := c.Customers(t.Context())
			require.ErrorIs(t, err, tt.kind)
			assert.Nil(t, got, "a broken listing is not a shorter list")
			assert.NotEmpty(t, tenantsync.HintOf(err))
		})
	}
}

func TestListCustomersFailingPageFailsTheListing(t *testing.T) {
	t.Parallel()
	p := &pagedCustomers{n: 6}
	h := p.handler(t)
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ContinuationHeader) != "" {
			w.Header().Set("MS-RequestId", "req-500")
			writeJSONBody(w, http.StatusInternalServerError, []byte(`{"code":800003,"description":"Unexpected service error","data":[],"source":"PartnerFD"}`))
			return
		}
		h(w, r)
	}, nil)
	c := f.client(t, func(c *Config) { c.CustomerPageSize = 2 })
	got, err := c.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Nil(t, got)
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, "800003", d.Code)
	assert.Equal(t, "req-500", d.RequestID)
}

func TestGetCustomer(t *testing.T) {
	t.Parallel()
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/customers/"+tenantA {
			writeJSONBody(w, http.StatusNotFound, []byte(`{"code":60003,"description":"Tenant not found.","data":[],"source":"PartnerFD"}`))
			return
		}
		writeJSONBody(w, http.StatusOK, []byte(`{"id":"`+tenantA+`","companyProfile":{"tenantId":"`+tenantA+
			`","domain":"a.onmicrosoft.com","companyName":"A Corp"},"allowDelegatedAccess":true,"attributes":{"objectType":"Customer"}}`))
	}, nil)
	c := f.client(t)

	cu, err := c.GetCustomer(t.Context(), tenantA)
	require.NoError(t, err)
	assert.Equal(t, "A Corp", cu.CompanyProfile.CompanyName)
	require.NotNil(t, cu.AllowDelegatedAccess)
	assert.True(t, *cu.AllowDelegatedAccess)

	_, err = c.GetCustomer(t.Context(), tenantB)
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, tenantB, d.Tenant)

	for _, bad := range []string{"contoso.com", "{" + tenantA + "}", "urn:uuid:" + tenantA, strings.ReplaceAll(tenantA, "-", "")} {
		_, err = c.GetCustomer(t.Context(), bad)
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, bad)
		assert.Contains(t, tenantsync.HintOf(err), "GUID")
	}
}

func TestGrantApplicationConsent(t *testing.T) {
	t.Parallel()
	appID := "0ad2e5a6-1a5b-4c8d-9e0f-123456789abc"
	var mu sync.Mutex
	var bodies []ApplicationConsent
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		var body ApplicationConsent
		raw, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(raw, &body))
		mu.Lock()
		bodies = append(bodies, body)
		n := len(bodies)
		mu.Unlock()
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		switch {
		case strings.Contains(r.URL.Path, tenantA) && n == 1:
			// The first attempt fails; the consent is safe to repeat, so it is retried.
			writeJSONBody(w, http.StatusServiceUnavailable, []byte(`{"code":800003,"description":"Unexpected service error"}`))
		case strings.Contains(r.URL.Path, tenantA):
			w.Header().Set("MS-RequestId", "req-created")
			writeJSONBody(w, http.StatusCreated, raw)
		case strings.Contains(r.URL.Path, tenantB):
			writeJSONBody(w, http.StatusConflict, []byte(`{"code":2010,"description":"Permission entry already exists.","data":[],"source":"PartnerFD"}`))
		default:
			writeJSONBody(w, http.StatusForbidden, []byte(`{"code":2032,"description":"Access denied","data":[],"source":"PartnerFD"}`))
		}
	}, nil)
	c := f.client(t)
	consent := ApplicationConsent{ApplicationID: appID, DisplayName: "tenantsync",
		ApplicationGrants: []ApplicationGrant{{EnterpriseApplicationID: GraphResourceAppID, Scope: "Directory.Read.All,User.ReadWrite.All"}}}

	res, err := c.GrantApplicationConsent(t.Context(), tenantA, consent)
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.Equal(t, "req-created", res.RequestID)

	res, err = c.GrantApplicationConsent(t.Context(), tenantB, consent)
	require.NoError(t, err, "an existing consent is success")
	assert.False(t, res.Created)

	_, err = c.GrantApplicationConsent(t.Context(), tenantC, consent)
	require.ErrorIs(t, err, tenantsync.ErrForbidden)
	assert.Contains(t, tenantsync.HintOf(err), "Cloud Application Administrator")

	require.Len(t, bodies, 4, "one retry after the 503")
	assert.Equal(t, consent, bodies[0], "the body is Partner Center's applicationconsents shape")
	assert.Equal(t, consent, bodies[1], "the retry sends the same body")

	for _, bad := range []ApplicationConsent{
		{ApplicationID: "x", ApplicationGrants: consent.ApplicationGrants},
		{ApplicationID: appID},
		{ApplicationID: appID, ApplicationGrants: []ApplicationGrant{{EnterpriseApplicationID: "graph", Scope: "a"}}},
		{ApplicationID: appID, ApplicationGrants: []ApplicationGrant{{EnterpriseApplicationID: GraphResourceAppID}}},
	} {
		_, err := c.GrantApplicationConsent(t.Context(), tenantA, bad)
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		assert.NotEmpty(t, tenantsync.HintOf(err))
		d, _ := tenantsync.Details(err)
		assert.Equal(t, "GrantApplicationConsent", d.Op)
		assert.Equal(t, tenantA, d.Tenant)
	}
	_, err = c.GrantApplicationConsent(t.Context(), "not-a-guid", consent)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Len(t, bodies, 4, "invalid input never reaches Partner Center")
}
