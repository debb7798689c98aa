package main

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// assetWire is one of a client's assets (the PSA's configuration items; here the store's
// default asset directory), with the device it stands for.
type assetWire struct {
	ID              string    `json:"id"`
	ClientID        string    `json:"clientId"`
	Name            string    `json:"name,omitempty"`
	TenantID        string    `json:"tenantId,omitempty"`
	IntuneDeviceID  string    `json:"intuneDeviceId,omitempty"`
	EntraDeviceID   string    `json:"entraDeviceId,omitempty"`
	SerialNumber    string    `json:"serialNumber,omitempty"`
	Manufacturer    string    `json:"manufacturer,omitempty"`
	Model           string    `json:"model,omitempty"`
	OperatingSystem string    `json:"operatingSystem,omitempty"`
	OSVersion       string    `json:"osVersion,omitempty"`
	OwnerUPN        string    `json:"ownerUpn,omitempty"`
	LastCheckIn     time.Time `json:"lastCheckIn,omitzero"`
	Compliance      string    `json:"compliance,omitempty"`
	Retired         bool      `json:"retired"`
	RetiredAt       time.Time `json:"retiredAt,omitzero"`
}

func newAssetWire(a tenantsync.Asset) assetWire {
	return assetWire{ID: a.ID, ClientID: a.ClientID, Name: a.Name, TenantID: a.TenantID, IntuneDeviceID: a.IntuneDeviceID,
		EntraDeviceID: a.EntraDeviceID, SerialNumber: a.SerialNumber, Manufacturer: a.Manufacturer, Model: a.Model,
		OperatingSystem: a.OperatingSystem, OSVersion: a.OSVersion, OwnerUPN: a.OwnerUPN, LastCheckIn: a.LastCheckIn,
		Compliance: a.Compliance, Retired: a.Retired(), RetiredAt: a.RetiredAt}
}

// clientAssets lists a client's assets, retired ones included, by ID.
func (a *api) clientAssets(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	clientID := r.PathValue("id")
	if err := a.clientExists(ctx, clientID); err != nil {
		fail(w, err)
		return
	}
	assets, err := a.engine.ClientAssets(ctx, clientID)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]assetWire, 0, len(assets))
	for _, as := range assets {
		out = append(out, newAssetWire(as))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, paginate(out, func(a assetWire) string { return a.ID }, p))
}

// resolveAssetReview is a person's choice of asset for a device whose serial number matched
// several: link it to one of them, or create a new asset. The engine remembers the choice and
// audits it with the caller's actor.
func (a *api) resolveAssetReview(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"`
		AssetID  string `json:"assetId"`
	}
	const usage = `send {"decision": "link", "assetId": "..."} or {"decision": "create"}`
	if !decode(w, r, &body, usage) {
		return
	}
	d := sync.AssetReviewDecision{TenantID: r.PathValue("id"), DeviceID: r.PathValue("deviceId"), AssetID: body.AssetID}
	switch body.Decision {
	case "link":
		if body.AssetID == "" {
			badRequest(w, usage, "decision link needs assetId: the client's asset that is this device")
			return
		}
	case "create":
		if body.AssetID != "" {
			badRequest(w, usage, "decision create takes no assetId; to link the device to that asset, send decision link")
			return
		}
		d.Create = true
	default:
		badRequest(w, usage, "decision %q is not link or create", body.Decision)
		return
	}
	if err := a.engine.ResolveAssetReview(r.Context(), actorFrom(r.Context()), d); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusWire{Status: "resolved; the next sync applies it", Decision: body.Decision})
}

// releaseAssetHold releases the deletion guard's hold of a tenant's asset retirements.
func (a *api) releaseAssetHold(w http.ResponseWriter, r *http.Request) {
	if err := a.engine.ReleaseAssetHold(r.Context(), actorFrom(r.Context()), r.PathValue("id")); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, statusWire{Status: "released"})
}

// assetSyncWire is the tenant's asset reconcile state: how many devices have an asset, the
// devices waiting for a person, the asset writes that failed and a held retirement.
type assetSyncWire struct {
	Linked   int                `json:"linked"`
	Retired  int                `json:"retired"`
	Reviews  []assetReviewWire  `json:"reviews"`
	Failures []assetFailureWire `json:"failures"`
	Hold     *assetHoldWire     `json:"hold,omitempty"`
}

type assetReviewWire struct {
	DeviceID     string                `json:"deviceId"`
	DeviceName   string                `json:"deviceName,omitempty"`
	SerialNumber string                `json:"serialNumber,omitempty"`
	Manufacturer string                `json:"manufacturer,omitempty"`
	Candidates   []string              `json:"candidates"`
	Reason       string                `json:"reason"`
	Since        time.Time             `json:"since,omitzero"`
	Links        map[string]linkTarget `json:"links"`
}

type assetFailureWire struct {
	DeviceID  string    `json:"deviceId"`
	Operation string    `json:"operation"`
	AssetID   string    `json:"assetId,omitempty"`
	Kind      string    `json:"kind"`
	Message   string    `json:"message"`
	Hint      string    `json:"hint"`
	Attempts  int       `json:"attempts"`
	LastAt    time.Time `json:"lastAt,omitzero"`
}

type assetHoldWire struct {
	Retirements int                   `json:"retirements"`
	Of          int                   `json:"of"`
	DeviceIDs   []string              `json:"deviceIds"`
	Since       time.Time             `json:"since,omitzero"`
	Released    bool                  `json:"released"`
	ReleasedBy  string                `json:"releasedBy,omitempty"`
	ReleasedAt  time.Time             `json:"releasedAt,omitzero"`
	Hint        string                `json:"hint"`
	Links       map[string]linkTarget `json:"links"`
}

// newAssetSyncWire describes the asset state of tenant tenantID.
func newAssetSyncWire(tenantID string, s store.AssetState) assetSyncWire {
	w := assetSyncWire{Reviews: []assetReviewWire{}, Failures: []assetFailureWire{}}
	for _, l := range s.Links {
		if l.RetiredAt.IsZero() {
			w.Linked++
		} else {
			w.Retired++
		}
	}
	path := tenantPath(tenantID)
	for _, id := range slices.Sorted(maps.Keys(s.Reviews)) {
		rv := s.Reviews[id]
		w.Reviews = append(w.Reviews, assetReviewWire{DeviceID: rv.DeviceID, DeviceName: rv.DeviceName, SerialNumber: rv.SerialNumber,
			Manufacturer: rv.Manufacturer, Candidates: list(rv.Candidates), Reason: rv.Reason, Since: rv.Since,
			Links: map[string]linkTarget{"resolve": {http.MethodPost, path + "/asset-reviews/" + url.PathEscape(rv.DeviceID) + "/resolve"}}})
	}
	for _, id := range slices.Sorted(maps.Keys(s.Failures)) {
		f := s.Failures[id]
		w.Failures = append(w.Failures, assetFailureWire{DeviceID: f.DeviceID, Operation: string(f.Op), AssetID: f.AssetID, Kind: f.Kind,
			Message: f.Message, Hint: apiHint(f.Hint), Attempts: f.Attempts, LastAt: f.LastAt})
	}
	if h := s.Hold; h != nil {
		w.Hold = &assetHoldWire{Retirements: h.Removals, Of: h.Of, DeviceIDs: list(h.IDs), Since: h.Since, Released: h.Released,
			ReleasedBy: h.ReleasedBy, ReleasedAt: h.ReleasedAt, Hint: apiHint(h.Hint),
			Links: map[string]linkTarget{"release": {http.MethodPost, path + "/asset-hold/release"}}}
	}
	return w
}

// assetReportWire is what a sync did to the client's assets.
type assetReportWire struct {
	Linked      int    `json:"linked"`
	Created     int    `json:"created"`
	Updated     int    `json:"updated"`
	Retired     int    `json:"retired"`
	Reactivated int    `json:"reactivated"`
	Reviews     int    `json:"reviews"`
	Held        int    `json:"held"`
	Deferred    int    `json:"deferred"`
	Failed      int    `json:"failed"`
	Error       string `json:"error,omitempty"`
	Hint        string `json:"hint,omitempty"`
}

func newAssetReportWire(r sync.AssetReport) assetReportWire {
	w := assetReportWire{Linked: r.Linked, Created: r.Created, Updated: r.Updated, Retired: r.Retired, Reactivated: r.Reactivated,
		Reviews: r.Reviews, Held: r.Held, Deferred: r.Deferred, Failed: r.Failed}
	if r.Err != nil {
		w.Error, w.Hint = apiMessage(r.Err), apiHint(tenantsync.HintOf(r.Err))
	}
	return w
}
