package main

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// The console's assets section: per client with a linked tenant, its assets (the devices of its
// tenants, as the asset sync keeps them), the devices waiting for a person to pick their asset,
// and the retirements the deletion guard holds.

// assetsShown is how many of a client's assets the console lists; the API pages all.
const assetsShown = 25

type assetRow struct {
	ClientID, Client   string
	InService, Retired int
	Assets             []assetLine
	MoreAssets         int
	Reviews            []assetReviewRow
	Holds              []assetHoldRow
	Failures           int
}

type assetLine struct {
	tenantsync.Asset
	Tenant string
}

type assetReviewRow struct {
	store.AssetReview
	TenantID, Tenant string
	// Candidates are the assets the serial number matched, as the directory has them.
	Candidates []tenantsync.Asset
}

type assetHoldRow struct {
	TenantID, Tenant string
	Retirements, Of  int
	Released         bool
	ReleasedBy, Hint string
}

// assetRows reads the assets of every client with a linked tenant.
func (c *console) assetRows(ctx context.Context, sts []sync.TenantStatus, clientNames map[string]string) ([]assetRow, error) {
	byClient := map[string][]sync.TenantStatus{}
	for _, s := range sts {
		if s.Tenant.Linked() {
			byClient[s.Tenant.ClientID] = append(byClient[s.Tenant.ClientID], s)
		}
	}
	tenantNames := map[string]string{}
	for _, s := range sts {
		tenantNames[s.Tenant.ID] = name(s.Tenant)
	}
	var out []assetRow
	for _, id := range slices.Sorted(maps.Keys(byClient)) {
		assets, err := c.api.engine.ClientAssets(ctx, id)
		if err != nil {
			return out, err
		}
		byID := map[string]tenantsync.Asset{}
		for _, a := range assets {
			byID[a.ID] = a
		}
		row := assetRow{ClientID: id, Client: nonEmpty(clientNames[id], id)}
		// In service first, then by name: what a technician looks for.
		slices.SortFunc(assets, func(a, b tenantsync.Asset) int {
			if a.Retired() != b.Retired() {
				if a.Retired() {
					return 1
				}
				return -1
			}
			return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
		})
		for _, a := range assets {
			if a.Retired() {
				row.Retired++
			} else {
				row.InService++
			}
			if len(row.Assets) < assetsShown {
				row.Assets = append(row.Assets, assetLine{Asset: a, Tenant: nonEmpty(tenantNames[a.TenantID], a.TenantID)})
			}
		}
		row.MoreAssets = len(assets) - len(row.Assets)
		for _, s := range byClient[id] {
			st := s.State.Assets
			for _, dev := range slices.Sorted(maps.Keys(st.Reviews)) {
				rv := assetReviewRow{AssetReview: st.Reviews[dev], TenantID: s.Tenant.ID, Tenant: name(s.Tenant)}
				for _, cid := range rv.AssetReview.Candidates {
					a, ok := byID[cid]
					if !ok {
						a = tenantsync.Asset{ID: cid}
					}
					rv.Candidates = append(rv.Candidates, a)
				}
				row.Reviews = append(row.Reviews, rv)
			}
			if h := st.Hold; h != nil {
				row.Holds = append(row.Holds, assetHoldRow{TenantID: s.Tenant.ID, Tenant: name(s.Tenant), Retirements: h.Removals, Of: h.Of,
					Released: h.Released, ReleasedBy: h.ReleasedBy, Hint: apiHint(h.Hint)})
			}
			row.Failures += len(st.Failures)
		}
		out = append(out, row)
	}
	return out, nil
}

// resolveAssetReview records a person's choice of asset for a device, as POST
// /api/tenants/{id}/asset-reviews/{deviceId}/resolve does.
func (c *console) resolveAssetReview(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	d := sync.AssetReviewDecision{TenantID: r.PathValue("id"), DeviceID: r.PathValue("deviceId")}
	switch v := r.PostFormValue("decision"); {
	case v == "create":
		d.Create = true
	case strings.HasPrefix(v, "link:") && len(v) > len("link:"):
		d.AssetID = strings.TrimPrefix(v, "link:")
	default:
		c.done(w, r, s, tenantsync.Errorf(tenantsync.ErrInvalidInput, "pick one of the assets, or a new one", "no asset picked"), "", "#assets")
		return
	}
	err := c.api.engine.ResolveAssetReview(r.Context(), actorFrom(r.Context()), d)
	c.done(w, r, s, err, "Asset chosen; the next sync applies it.", "#assets")
}

// releaseAssetHold releases the held asset retirements of a tenant, as POST
// /api/tenants/{id}/asset-hold/release does.
func (c *console) releaseAssetHold(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	id := r.PathValue("id")
	err := c.api.engine.ReleaseAssetHold(r.Context(), actorFrom(r.Context()), id)
	c.done(w, r, s, err, "Released: the next sync of "+c.tenantName(r.Context(), id)+" retires the assets of the devices still gone.", "#assets")
}
