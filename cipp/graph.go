package cipp

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
	"github.com/tenantsync/tenantsync/internal/paging"
)

// GraphHost is the only host CIPP accepts in a ListGraphRequest nextLink.
const GraphHost = "graph.microsoft.com"

// MaxGraphPages bounds one ListGraphRequest iteration; a paging loop beyond it is an error.
const MaxGraphPages = 10000

// GraphRequest describes a ListGraphRequest call: a Graph path CIPP reads in the tenant with its
// GDAP token.
type GraphRequest struct {
	Endpoint string   // Graph path without version, e.g. "users", "security/secureScores"
	Select   []string // $select
	Filter   string   // $filter
	Top      int      // page size ($top); 999 for users
	Version  string   // "beta" (CIPP's default) or "v1.0"
	// NoPagination asks for the first page only (no nextLink).
	NoPagination bool
	// Format is $format, for the reports that answer CSV unless asked for JSON
	// ("application/json").
	Format string
}

// ListGraphRequestPage fetches one page: the first when nextLink is "", else the page nextLink
// points at. The nextLink is handed back to CIPP as a parameter, never requested directly, and
// only when it points at Graph.
func (c *Client) ListGraphRequestPage(ctx context.Context, tenant string, req GraphRequest, nextLink string) (tenantsync.Page[json.RawMessage], error) {
	const op = "ListGraphRequest"
	if strings.TrimSpace(req.Endpoint) == "" {
		return tenantsync.Page[json.RawMessage]{}, c.newError(tenantsync.ErrInvalidInput, op, tenant, 0, "GraphRequest.Endpoint is empty", "name the Graph path, e.g. users")
	}
	t, err := c.LookupTenant(ctx, tenant)
	if err != nil {
		return tenantsync.Page[json.RawMessage]{}, err
	}
	q := url.Values{}
	q.Set("tenantFilter", tenantFilter(t))
	q.Set("Endpoint", strings.Trim(req.Endpoint, "/"))
	if nextLink != "" {
		if err := checkNextLink(nextLink); err != nil {
			return tenantsync.Page[json.RawMessage]{}, c.newError(tenantsync.ErrHostNotAllowed, op, t.CustomerID, 0, err.Error(),
				"pass the NextLink of the previous page unchanged, or \"\" to start the listing again; if CIPP's own answer "+
					"carried this link, check that no proxy rewrites the responses")
		}
		q.Set("nextLink", nextLink)
		q.Set("manualPagination", "true")
	} else {
		if len(req.Select) > 0 {
			q.Set("$select", strings.Join(req.Select, ","))
		}
		if req.Filter != "" {
			q.Set("$filter", req.Filter)
		}
		if req.Top > 0 {
			q.Set("$top", strconv.Itoa(req.Top))
		}
		if req.Format != "" {
			q.Set("$format", req.Format)
		}
		if req.NoPagination {
			q.Set("NoPagination", "true")
		} else {
			q.Set("manualPagination", "true")
		}
	}
	if req.Version != "" {
		q.Set("Version", req.Version)
	}
	r, err := c.call(ctx, http.MethodGet, op, t.CustomerID, q, nil, true)
	if err != nil {
		return tenantsync.Page[json.RawMessage]{}, err
	}
	var p tenantsync.Page[json.RawMessage]
	var md GraphMetadata
	switch {
	case r.Shape == ShapeEnvelope:
		if r.Metadata != nil {
			if err := json.Unmarshal(r.Metadata, &md); err != nil {
				return tenantsync.Page[json.RawMessage]{}, c.decodeError(op, t.CustomerID, err)
			}
		}
		if err := c.queuedError(op, t.CustomerID, r.Metadata); err != nil {
			return tenantsync.Page[json.RawMessage]{}, err
		}
		switch firstByte(r.Results) {
		case '[':
			if msg, ok := messageRows(r.Items); ok {
				return tenantsync.Page[json.RawMessage]{}, c.messageError(op, t.CustomerID, msg)
			}
			p.Items = r.Items
		case '{':
			// A Graph resource that is one object (a policy) comes back unwrapped.
			p.Items = []json.RawMessage{r.Results}
		case 'n', 0:
			p.Items = []json.RawMessage{}
		default:
			if msg := r.Message(); msg != "" {
				return tenantsync.Page[json.RawMessage]{}, c.messageError(op, t.CustomerID, msg)
			}
			c.unknownShapes.Add(1)
			return tenantsync.Page[json.RawMessage]{}, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, "unexpected Results in the response", HintRetry)
		}
	default:
		items, err := c.arrayItems(op, t.CustomerID, r)
		if err != nil {
			return tenantsync.Page[json.RawMessage]{}, err
		}
		c.unknownShapes.Add(1)
		p.Items = items
	}
	if !req.NoPagination {
		p.Next = md.NextLink
	}
	return p, nil
}

// checkNextLink accepts only an https link to Graph: CIPP refuses anything else, and a link to
// another host in a response would mean the response was tampered with.
func checkNextLink(link string) error {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Hostname(), GraphHost) || u.User != nil {
		return fmt.Errorf("refusing nextLink %q: CIPP only follows https://%s links", redactURL(link), GraphHost)
	}
	return nil
}

// ListGraphRequest yields every row of a Graph listing, page by page (manualPagination), so no
// single CIPP call runs long. It stops at the first error after yielding it; rows already
// yielded are then only part of the listing.
func (c *Client) ListGraphRequest(ctx context.Context, tenant string, req GraphRequest) iter.Seq2[json.RawMessage, error] {
	return c.graphSeq(ctx, tenant, req, nil)
}

// graphSeq is ListGraphRequest with onPage told the running row count after every page (the
// sync's progress on tenants large enough to page).
func (c *Client) graphSeq(ctx context.Context, tenant string, req GraphRequest, onPage func(rows int)) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		rows := 0
		paging.Walk(paging.Bounds{
			MaxPages: MaxGraphPages,
			TooMany: func() error {
				return c.newError(tenantsync.ErrLimitExceeded, "ListGraphRequest", tenant, 0, fmt.Sprintf("more than %d pages", MaxGraphPages),
					"narrow the request with Filter; a listing this long usually means CIPP keeps returning next links")
			},
			Loop: func() error {
				return c.newError(tenantsync.ErrLimitExceeded, "ListGraphRequest", tenant, 0, "the nextLink repeats: a paging loop", "report the loop; the listing cannot complete")
			},
		}, func(next string) (tenantsync.Page[json.RawMessage], error) {
			p, err := c.ListGraphRequestPage(ctx, tenant, req, next)
			if err != nil {
				return p, err
			}
			rows += len(p.Items)
			if onPage != nil {
				onPage(rows)
			}
			return p, nil
		})(yield)
	}
}

// GraphItems decodes the rows of a Graph listing into T.
func GraphItems[T any](seq iter.Seq2[json.RawMessage, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for raw, err := range seq {
			if err != nil {
				yield(zero, err)
				return
			}
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				yield(zero, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: Service, Op: "ListGraphRequest",
					Message: "a row did not decode: " + err.Error(), Err: tenantsync.ErrIncomplete})
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// UserSelect returns the $select GraphUsers sends: the fields the sync reads. The slice is
// the caller's own.
func UserSelect() []string {
	return []string{"id", "displayName", "givenName", "surname", "userPrincipalName", "mail",
		"accountEnabled", "userType", "proxyAddresses", "otherMails", "jobTitle", "department", "companyName",
		"officeLocation", "mobilePhone", "businessPhones", "createdDateTime", "assignedLicenses", "onPremisesSyncEnabled"}
}

// GraphUsers yields the tenant's users through ListGraphRequest, 999 per page: the way to list
// tenants too large for ListUsers to answer within Azure's response time limit.
func (c *Client) GraphUsers(ctx context.Context, tenant string) iter.Seq2[User, error] {
	return GraphItems[User](c.ListGraphRequest(ctx, tenant, GraphRequest{Endpoint: "users", Select: UserSelect(), Top: 999}))
}

// GraphDomains returns the tenant's domains with verification state and services.
func (c *Client) GraphDomains(ctx context.Context, tenant string) ([]Domain, error) {
	return paging.Collect(GraphItems[Domain](c.ListGraphRequest(ctx, tenant, GraphRequest{Endpoint: "domains"})))
}

// SecureScore returns the tenant's latest secure score, or tenantsync.ErrNotFound when the
// tenant has none yet.
func (c *Client) SecureScore(ctx context.Context, tenant string) (SecureScore, error) {
	scores, err := paging.Collect(GraphItems[SecureScore](c.ListGraphRequest(ctx, tenant, GraphRequest{Endpoint: "security/secureScores", Top: 1, NoPagination: true})))
	if err != nil {
		return SecureScore{}, err
	}
	if len(scores) == 0 {
		return SecureScore{}, c.newError(tenantsync.ErrNotFound, "ListGraphRequest", tenant, 0, "the tenant has no secure score yet", "Microsoft computes it daily; retry tomorrow")
	}
	best := scores[0]
	for _, s := range scores[1:] {
		if s.CreatedDateTime.After(best.CreatedDateTime.Time) {
			best = s
		}
	}
	return best, nil
}

// MobileThreatDefenseConnectors returns the tenant's Intune Mobile Threat Defense connectors
// (Microsoft Defender for Endpoint's has ID tenantsync.DefenderConnectorID); none means none is
// set up. Graph refuses the list without an Intune licence or the Intune role.
func (c *Client) MobileThreatDefenseConnectors(ctx context.Context, tenant string) ([]MobileThreatDefenseConnector, error) {
	return paging.Collect(GraphItems[MobileThreatDefenseConnector](c.ListGraphRequest(ctx, tenant,
		GraphRequest{Endpoint: "deviceManagement/mobileThreatDefenseConnectors", NoPagination: true})))
}

// SecurityDefaults returns the tenant's security defaults policy.
func (c *Client) SecurityDefaults(ctx context.Context, tenant string) (SecurityDefaultsPolicy, error) {
	ps, err := paging.Collect(GraphItems[SecurityDefaultsPolicy](c.ListGraphRequest(ctx, tenant, GraphRequest{Endpoint: "policies/identitySecurityDefaultsEnforcementPolicy", NoPagination: true})))
	if err != nil {
		return SecurityDefaultsPolicy{}, err
	}
	if len(ps) == 0 {
		return SecurityDefaultsPolicy{}, c.newError(tenantsync.ErrNotFound, "ListGraphRequest", tenant, 0, "no security defaults policy returned",
			"Graph has this policy in every tenant, so CIPP could not read it: "+HintPermCheck)
	}
	return ps[0], nil
}
