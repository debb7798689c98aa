package partnercenter

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/paging"
)

// ListRelationshipsPage returns one page of the partner's GDAP relationships: the first when
// next is "", else the page at next (a previous page's Next, which must point at the
// configured Graph host: a link elsewhere would receive the partner's token).
func (c *Client) ListRelationshipsPage(ctx context.Context, next string) (tenantsync.Page[Relationship], error) {
	const op = "ListRelationships"
	if err := c.noGDAP(op); err != nil {
		return tenantsync.Page[Relationship]{}, err
	}
	if c.graph == nil {
		return tenantsync.Page[Relationship]{}, notConfigured(op, "Graph", "GraphTokens")
	}
	u := next
	if u == "" {
		u = endpoint(c.graphBase, "/v1.0/tenantRelationships/delegatedAdminRelationships",
			url.Values{"$top": {strconv.Itoa(c.cfg.RelationshipPageSize)}})
	} else if err := c.graph.Allowed(next); err != nil {
		return tenantsync.Page[Relationship]{}, annotate(err, call{service: "graph", op: op})
	}
	ctx = httpx.WithTenant(ctx, c.cfg.PartnerTenantID)
	resp, body, err := send(ctx, c.graph, call{service: "graph", op: op, method: http.MethodGet, url: u})
	if err != nil {
		return tenantsync.Page[Relationship]{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return tenantsync.Page[Relationship]{}, decodeGraphError(op, resp.StatusCode, resp.Header, body, c.now())
	}
	var col relationshipCollection
	if err := json.Unmarshal(body, &col); err != nil {
		return tenantsync.Page[Relationship]{}, decodeFailure("graph", op, "", resp.Header, err)
	}
	if err := listed(body, "value"); err != nil {
		return tenantsync.Page[Relationship]{}, decodeFailure("graph", op, "", resp.Header, err)
	}
	page := tenantsync.Page[Relationship]{Next: col.NextLink, Items: make([]Relationship, 0, len(col.Value))}
	for _, w := range col.Value {
		page.Items = append(page.Items, relationshipFromWire(w))
	}
	return page, nil
}

// ListRelationships iterates over every GDAP relationship of the partner, Microsoft-led ones
// included (see Relationship.MicrosoftLed). It stops after yielding the first error.
func (c *Client) ListRelationships(ctx context.Context) iter.Seq2[Relationship, error] {
	return paging.Walk(c.bounds("graph", "ListRelationships", "relationships", "next link", "Graph"),
		func(next string) (tenantsync.Page[Relationship], error) { return c.ListRelationshipsPage(ctx, next) })
}

// Relationships collects ListRelationships; on error it returns nil and the error, never a
// partial list.
func (c *Client) Relationships(ctx context.Context) ([]Relationship, error) {
	return paging.Collect(c.ListRelationships(ctx))
}

// bounds stops a listing after Config.MaxPages pages, and at a cursor (a continuation token,
// a next link) the service returned before; items names what is listed in the hint. Both are
// ErrLimitExceeded; paging.Walk makes them ErrIncomplete as well.
func (c *Client) bounds(service, op, items, cursor, origin string) paging.Bounds {
	return paging.Bounds{
		MaxPages: c.cfg.MaxPages,
		TooMany: func() error {
			return &tenantsync.Error{Class: tenantsync.ErrLimitExceeded, Service: service, Op: op,
				Message: fmt.Sprintf("more than %d pages", c.cfg.MaxPages),
				Hint:    "raise Config.MaxPages if the partner really has that many " + items}
		},
		Loop: func() error {
			return &tenantsync.Error{Class: tenantsync.ErrLimitExceeded, Service: service, Op: op,
				Message: "the " + cursor + " repeated (paging loop)",
				Hint:    origin + " returned a " + cursor + " it had already returned; retry the listing later"}
		},
	}
}

// GDAPCustomers lists every relationship and merges them per customer (see MergeRelationships):
// Microsoft-led relationships are left out, several relationships with one customer become one
// CustomerAccess.
func (c *Client) GDAPCustomers(ctx context.Context) ([]CustomerAccess, error) {
	rels, err := c.Relationships(ctx)
	if err != nil {
		return nil, err
	}
	return MergeRelationships(rels, c.now()), nil
}

// noGDAP is ErrUnsupported, with the reason, when the client's cloud has no GDAP relationships.
func (c *Client) noGDAP(op string) error {
	if ok, why := c.cfg.Cloud.Offers(entra.ServiceGDAP); !c.cfg.Cloud.IsZero() && !ok {
		return &tenantsync.Error{Class: tenantsync.ErrUnsupported, Service: Service, Op: op,
			Message: "GDAP relationships are not offered in the " + c.cfg.Cloud.Label + " cloud", Hint: why}
	}
	return nil
}
