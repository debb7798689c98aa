package partnercenter

import (
	"context"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Discovery reports the tenants the partner can reach: the union of its Partner Center
// customers and the customers of its active GDAP relationships. It is a
// tenantsync.TenantLister, not a Source: tenant data comes through graph or cipp.
type Discovery struct {
	c *Client
}

var _ tenantsync.TenantLister = (*Discovery)(nil)

// Discovery returns the client's tenant discovery.
func (c *Client) Discovery() *Discovery { return &Discovery{c: c} }

// Name is "partnercenter".
func (d *Discovery) Name() string { return Service }

// ListTenants returns every reachable tenant, sorted by display name. Partner Center customers
// without an active GDAP relationship are included (their Relationship says so); customers of
// active relationships that Partner Center does not list are included too. Either listing
// failing fails the whole call: a partial list would read as tenants gone. Its method value
// d.ListTenants is the tenant lister graph.Source accepts.
func (d *Discovery) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	c := d.c
	if c.pc == nil && c.graph == nil {
		return nil, notConfigured("ListTenants", "neither Partner Center nor Graph", "PartnerCenterTokens or GraphTokens")
	}
	now := c.now()
	byID := map[string]*tenantsync.Tenant{}
	var ids []string
	add := func(t tenantsync.Tenant) *tenantsync.Tenant {
		if p, ok := byID[t.ID]; ok {
			return p
		}
		p := &t
		byID[t.ID] = p
		ids = append(ids, t.ID)
		return p
	}
	if c.pc != nil {
		customers, err := c.Customers(ctx)
		if err != nil {
			return nil, err
		}
		for _, cu := range customers {
			t := tenantFromCustomer(cu)
			if t.ID == "" {
				continue
			}
			rel := "Partner Center customer"
			if cu.RelationshipToPartner != "" && cu.RelationshipToPartner != "none" {
				rel += " (" + cu.RelationshipToPartner + ")"
			}
			if c.graph != nil {
				rel += "; no active GDAP relationship"
			}
			t.Relationship = rel
			add(t)
		}
	}
	if c.graph != nil {
		rels, err := c.Relationships(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range MergeRelationships(rels, now) {
			if !a.Active {
				if p, ok := byID[a.TenantID]; ok {
					p.Relationship = strings.Replace(p.Relationship, "no active GDAP relationship", a.Describe(), 1)
				}
				continue
			}
			p := add(tenantsync.Tenant{ID: a.TenantID, DisplayName: a.DisplayName, Source: Service})
			if p.DisplayName == "" {
				p.DisplayName = a.DisplayName
			}
			p.Relationship = a.Describe()
		}
	}
	out := make([]tenantsync.Tenant, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byID[id])
	}
	slices.SortFunc(out, func(x, y tenantsync.Tenant) int {
		if c := strings.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}
