package cipp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Types of CIPP's reporting database (ListDBCache's type parameter) that a sync reads.
const (
	DBUsers             = "Users"
	DBMailboxes         = "Mailboxes"
	DBManagedDevices    = "ManagedDevices"
	DBDomains           = "Domains"
	DBLicenseOverview   = "LicenseOverview"
	DBMFAState          = "MFAState"
	DBConditionalAccess = "ConditionalAccessPolicies"
	DBSecureScore       = "SecureScore"
)

// DBCacheCount is one row of ListDBCache's countsOnly answer: how many rows of one type CIPP's
// reporting database holds for one tenant, and when its nightly refresh wrote them.
type DBCacheCount struct {
	Tenant      string  `json:"Tenant"`
	Type        string  `json:"Type"`
	Count       FlexInt `json:"Count"`
	LastRefresh Time    `json:"LastRefresh"`
}

// DBCacheRow is one row of ListDBCache: the tenant it belongs to (its default domain, as CIPP
// names tenants in AllTenants answers) and the row as the type's live endpoint shapes it.
type DBCacheRow struct {
	Tenant string
	Raw    json.RawMessage
}

// DBCacheCounts asks CIPP's reporting database (ListDBCache, CIPP v10.1 and later) how many
// rows of each type it holds for every tenant and when each was refreshed, in one call. An
// instance older than v10.1 answers 400 or 404: the error is tenantsync.ErrUnsupported.
func (c *Client) DBCacheCounts(ctx context.Context) ([]DBCacheCount, error) {
	items, err := c.dbCache(ctx, url.Values{"tenantFilter": {AllTenantsID}, "countsOnly": {"true"}})
	if err != nil {
		return nil, err
	}
	out := make([]DBCacheCount, 0, len(items))
	for _, it := range items {
		var r DBCacheCount
		if err := json.Unmarshal(it, &r); err != nil {
			return nil, c.decodeError("ListDBCache", "", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// DBCacheAll reads one type of CIPP's reporting database for every tenant in one call
// (ListDBCache with tenantFilter=AllTenants). The data is what CIPP's nightly refresh wrote
// (DBCacheCounts says when); rows without a tenant are dropped.
func (c *Client) DBCacheAll(ctx context.Context, typ string) ([]DBCacheRow, error) {
	if strings.TrimSpace(typ) == "" {
		return nil, c.newError(tenantsync.ErrInvalidInput, "ListDBCache", "", 0, "no type given", "pass one of the DB… type constants, such as cipp.DBUsers")
	}
	items, err := c.dbCache(ctx, url.Values{"tenantFilter": {AllTenantsID}, "type": {typ}})
	if err != nil {
		return nil, err
	}
	out := make([]DBCacheRow, 0, len(items))
	for _, it := range items {
		var head struct {
			Tenant FlexString `json:"Tenant"`
		}
		if firstByte(it) != '{' || json.Unmarshal(it, &head) != nil || head.Tenant == "" {
			c.unknownShapes.Add(1)
			continue
		}
		out = append(out, DBCacheRow{Tenant: string(head.Tenant), Raw: it})
	}
	return out, nil
}

func (c *Client) dbCache(ctx context.Context, q url.Values) ([]json.RawMessage, error) {
	const op = "ListDBCache"
	r, err := c.call(ctx, http.MethodGet, op, AllTenantsID, q, nil, true)
	if err != nil {
		if d, ok := tenantsync.Details(err); ok && (d.Status == http.StatusBadRequest || d.Status == http.StatusNotFound) {
			e := *d
			e.Class, e.Hint = tenantsync.ErrUnsupported, "ListDBCache needs CIPP-API v10.1 or later; update CIPP, or leave SourceConfig.Bulk off"
			return nil, &e
		}
		return nil, err
	}
	return c.arrayItems(op, AllTenantsID, r)
}
