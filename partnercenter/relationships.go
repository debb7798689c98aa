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
	"github.com/tenantsync/tenantsync/internal/paging"
	"github.com/tenantsync/tenantsync/transport"
)

// RelationshipPage is one page of GDAP relationships.
type RelationshipPage struct {
	Relationships []Relationship
	// NextLink fetches the next page; "" on the last page.
	NextLink string
}

// ListRelationshipsPage returns one page of the partner's GDAP relationships: the first when
// next is "", else the page at next (a previous page's NextLink, which must point at the
// configured Graph host: a link elsewhere would receive the partner's token).
func (c *Client) ListRelationshipsPage(ctx context.Context, next string) (*RelationshipPage, error) {
	const op = "ListRelationships"
	if c.graph == nil {
		return nil, notConfigured(op, "Graph", "GraphTokens")
	}
	u := next
	if u == "" {
		u = endpoint(c.graphBase, "/v1.0/tenantRelationships/delegatedAdminRelationships",
			url.Values{"$top": {strconv.Itoa(c.cfg.RelationshipPageSize)}})
	} else if err := c.graph.Allowed(next); err != nil {
		return nil, annotate(err, call{service: "graph", op: op})
	}
	ctx = transport.WithTenant(ctx, c.cfg.PartnerTenantID)
	resp, body, err := send(ctx, c.graph, call{service: "graph", op: op, method: http.MethodGet, url: u})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeGraphError(op, resp.StatusCode, resp.Header, body, c.now())
	}
	var col relationshipCollection
	if err := json.Unmarshal(body, &col); err != nil {
		return nil, decodeFailure("graph", op, "", resp.Header, err)
	}
	page := &RelationshipPage{NextLink: col.NextLink, Relationships: make([]Relationship, 0, len(col.Value))}
	for _, w := range col.Value {
		page.Relationships = append(page.Relationships, relationshipFromWire(w))
	}
	return page, nil
}

// ListRelationships iterates over every GDAP relationship of the partner, Microsoft-led ones
// included (see Relationship.MicrosoftLed). It stops after yielding the first error.
func (c *Client) ListRelationships(ctx context.Context) iter.Seq2[Relationship, error] {
	return paging.Walk(c.bounds("graph", "ListRelationships", "relationships", "next link", "Graph"),
		func(next string) ([]Relationship, string, error) {
			page, err := c.ListRelationshipsPage(ctx, next)
			if err != nil {
				return nil, "", err
			}
			return page.Relationships, page.NextLink, nil
		})
}

// AllRelationships collects ListRelationships; on error it returns nil and the error.
func (c *Client) AllRelationships(ctx context.Context) ([]Relationship, error) {
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
	rels, err := c.AllRelationships(ctx)
	if err != nil {
		return nil, err
	}
	return MergeRelationships(rels, c.now()), nil
}
