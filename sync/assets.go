package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// assetActor is the audit log's actor of the asset writes a sync makes, with no person
// involved.
const assetActor = "asset-reconcile"

// AssetReport counts what reconciling a tenant's devices with its client's assets did.
type AssetReport struct {
	Linked      int // devices newly linked to an existing asset
	Created     int // assets created (and linked)
	Updated     int // assets whose fields were brought in line with their device
	Retired     int // assets retired because their device left the tenant
	Reactivated int // retired assets brought back because their device is listed again
	Reviews     int // devices waiting for a person: their serial number matched several assets
	// Held counts the retirements the deletion guard holds (TenantStatus.State.Assets.Hold).
	Held int
	// Deferred counts the creates left for the next syncs by Limits.MaxCreatesPerSync.
	Deferred int
	// Failed counts devices whose asset write failed in this sync; the next sync tries again
	// (SyncState.Assets.Failures has each).
	Failed int
	// Err says why the asset reconcile did not run or stopped early (the PSA's asset list
	// failed, the PSA throttled, failed or was paused); the rest of the sync was stored.
	Err error
}

// assetOutcome is what an asset reconcile leaves for the commit.
type assetOutcome struct {
	state   store.AssetState
	changes []store.Change
	audits  []tenantsync.AuditEntry
	report  AssetReport
}

// placeholderSerials are the serial numbers firmware reports when it has none: they say
// nothing about a device and would match unrelated machines.
var placeholderSerials = map[string]bool{
	"": true, "0": true, "none": true, "n/a": true, "na": true, "null": true, "unknown": true,
	"default string": true, "to be filled by o.e.m.": true, "system serial number": true,
	"not applicable": true, "not specified": true, "123456789": true, "chassis serial number": true,
	"0123456789": true, "serial number": true, "invalid": true,
}

// usableSerial reports whether serial identifies a machine.
func usableSerial(serial string) bool {
	s := strings.ToLower(strings.TrimSpace(serial))
	return !placeholderSerials[s] && strings.Trim(s, "0") != ""
}

// assetsEnabled reports whether the engine syncs the assets of the tenant's client: it has an
// asset directory and the client's AutoCreateAssets setting is on.
func (e *Engine) assetsEnabled(ctx context.Context, rec store.TenantRecord) (bool, error) {
	if e.assets == nil || !rec.Linked() {
		return false, nil
	}
	s, err := e.SettingsFor(ctx, rec.ClientID)
	if err != nil {
		return false, err
	}
	return s.AutoCreateAssets, nil
}

// assetStep reconciles the tenant's devices with its client's assets, when the devices kind
// was applied in this run and the client syncs assets (Settings.AutoCreateAssets, which
// switches the whole asset sync of the client: matching, updates, retirements and creates).
// The PSA's answers never fail the tenant's sync: they are in Report.Assets, and the state
// records what the next sync tries again.
func (e *Engine) assetStep(ctx context.Context, r *tenantRun) error {
	kr := r.results[tenantsync.KindDevices]
	if kr == nil {
		return nil
	}
	on, err := e.assetsEnabled(ctx, r.rec)
	if err != nil || !on {
		return err
	}
	devices, err := e.deviceView(ctx, r, kr)
	if err != nil {
		return err
	}
	// Only a complete listing the deletion guard let through says which devices are gone.
	complete := kr.Mode == tenantsync.Complete && !r.rep.Kinds[tenantsync.KindDevices].Held
	// A removal of devices the guard held and a person released (or a later listing
	// confirmed) was judged once: its assets are retired with it, not held a second time.
	approved := ""
	for _, g := range r.guarded {
		if g.kind == tenantsync.KindDevices && g.prev != nil {
			switch g.ended {
			case holdReleased:
				approved = g.prev.ReleasedBy
			case holdConfirmed:
				approved = confirmActor
			}
		}
	}
	out, err := e.reconcileAssets(ctx, r.rec, r.state.Assets, devices, assetListing{complete: complete, approvedBy: approved, source: r.src.Name()}, r.batch.Now)
	if err != nil {
		return err
	}
	r.assets = out
	r.rep.Assets = out.report
	return nil
}

// deviceView returns the tenant's devices as they will be after the commit.
func (e *Engine) deviceView(ctx context.Context, r *tenantRun, kr *tenantsync.KindResult) ([]tenantsync.Device, error) {
	byID := map[string]tenantsync.Device{}
	if kr.Mode != tenantsync.Complete || len(r.keep[tenantsync.KindDevices]) > 0 {
		cur, err := e.acct.Mirror.ReadKind(ctx, r.rec.ID, tenantsync.KindDevices)
		if err != nil {
			return nil, err
		}
		keep := map[string]bool{}
		for _, id := range r.keep[tenantsync.KindDevices] {
			keep[id] = true
		}
		for _, d := range cur.Devices {
			if kr.Mode != tenantsync.Complete || keep[d.ID] {
				byID[d.ID] = d
			}
		}
	}
	add := func(page *tenantsync.KindResult) {
		for _, id := range page.Removed {
			delete(byID, id)
		}
		for _, d := range page.Devices {
			byID[d.ID] = d
		}
	}
	if kr.Streamed {
		st := r.sinkStage()
		if st == nil {
			return nil, &tenantsync.Error{Class: tenantsync.ErrIncomplete, Service: Service, Op: "Assets", Tenant: r.rec.ID,
				Message: "the devices were streamed but nothing is staged", Hint: "sync the tenant again"}
		}
		after := ""
		for {
			page, last, err := st.Read(ctx, tenantsync.KindDevices, after, 1000)
			if err != nil {
				return nil, err
			}
			add(page)
			if last == "" {
				break
			}
			after = last
		}
	} else {
		add(kr)
	}
	out := slices.Collect(maps.Values(byID))
	slices.SortFunc(out, func(a, b tenantsync.Device) int { return cmp.Compare(a.ID, b.ID) })
	for i := range out {
		if out[i].TenantID == "" {
			out[i].TenantID = r.rec.ID
		}
	}
	return out, nil
}

// assetListing is what the devices listing of a run allows.
type assetListing struct {
	// complete: the listing is complete and the deletion guard let it through, so a device it
	// omits is gone.
	complete bool
	// approvedBy is who approved the removal of devices this listing applied (a person who
	// released the devices kind's hold, or the guard's confirmation), "" when none was held.
	approvedBy string
	// source is the source whose listing it is.
	source string
}

// assetRun is one tenant's asset reconcile.
type assetRun struct {
	e       *Engine
	rec     store.TenantRecord
	now     time.Time
	st      store.AssetState
	out     *assetOutcome
	assets  map[string]tenantsync.Asset // the client's assets by ID
	present map[string]bool             // the tenant's device IDs
	creates int
	calls   int // the asset writes this run sent, within Limits.PSACallsPerSync
	stopped bool
}

// reconcileAssets matches each device with one of the client's assets, in this order: the
// asset a person chose for it, the asset the engine linked it to, the asset carrying its
// (tenant ID, Intune device ID), the one carrying its Entra device ID, then its serial number
// and manufacturer (case-insensitive, placeholder serials ignored), the weakest: more than one
// such asset goes to a person. A matched asset gets the device's non-blank values and is
// brought back into service; a device with no asset gets one. When the devices listing is
// complete, the engine retires the assets it linked whose device is gone, unless that takes
// more than the deletion guard allows: then they are held.
func (e *Engine) reconcileAssets(ctx context.Context, rec store.TenantRecord, prev store.AssetState, devices []tenantsync.Device, listing assetListing, now time.Time) (*assetOutcome, error) {
	complete := listing.complete
	out := &assetOutcome{state: prev.Clone()}
	ar := &assetRun{e: e, rec: rec, now: now, st: out.state, out: out, present: map[string]bool{}}
	defer func() { out.state = ar.st }()
	for _, d := range devices {
		ar.present[d.ID] = true
	}
	list, err := ar.listAssets(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		out.report.Err = err
		return out, nil
	}
	ar.assets = map[string]tenantsync.Asset{}
	for _, a := range list {
		ar.assets[a.ID] = a
	}
	// A link or decision to an asset the PSA no longer has is forgotten: the device is matched
	// afresh.
	for id, l := range ar.st.Links {
		if _, ok := ar.assets[l.AssetID]; !ok {
			ar.drop(id)
		}
	}
	// Devices whose write failed before go last, as users do for contacts: a record the PSA
	// always refuses delays no one, and a pause it causes leaves the others written.
	slices.SortStableFunc(devices, func(a, b tenantsync.Device) int {
		_, fa := ar.st.Failures[a.ID]
		_, fb := ar.st.Failures[b.ID]
		switch {
		case fa && !fb:
			return 1
		case fb && !fa:
			return -1
		}
		return 0
	})
	for _, d := range devices {
		if ar.stopped {
			break
		}
		if err := ar.device(ctx, d); err != nil {
			return nil, err
		}
	}
	if complete && !ar.stopped {
		if err := ar.retire(ctx, listing); err != nil {
			return nil, err
		}
	}
	if complete {
		// A device gone from the tenant needs no decision any more.
		for id := range ar.st.Reviews {
			if !ar.present[id] {
				ar.st.Reviews = maps.Clone(ar.st.Reviews)
				delete(ar.st.Reviews, id)
			}
		}
	}
	out.report.Reviews = len(ar.st.Reviews)
	return out, nil
}

// holdJSON is a hold as a feed entry's data.
func holdJSON(h store.DeletionHold) json.RawMessage {
	data, err := json.Marshal(h)
	if err != nil {
		// A struct of strings, numbers and times always marshals; an entry without data
		// still says what happened.
		return nil
	}
	return data
}

// listAssets lists the client's assets through the PSA gate.
func (ar *assetRun) listAssets(ctx context.Context) ([]tenantsync.Asset, error) {
	e := ar.e
	if err := e.psa.admit(ctx, ar.rec.ID); err != nil {
		return nil, err
	}
	var list []tenantsync.Asset
	err := e.psa.call(ctx, func(ctx context.Context) error {
		var err error
		list, err = e.assets.ListAssets(ctx, ar.rec.ClientID)
		return err
	})
	if err != nil {
		if classifyPSA(err).accountWide() {
			e.psa.pause(err)
		}
		return nil, hinted(err, tenantsync.ErrUnavailable, "ListAssets",
			"check the PSA's asset directory (the tenantsync.Assets implementation); the next sync reconciles the assets again")
	}
	e.psa.succeeded()
	return list, nil
}

// drop forgets device id's link.
func (ar *assetRun) drop(id string) {
	ar.st.Links = maps.Clone(ar.st.Links)
	delete(ar.st.Links, id)
}

// claimedBy returns the device, other than deviceID, that asset a already belongs to in this
// tenant's view: a linked device still listed, or a device of another tenant, or of this one
// still listed, whose identity the asset carries. An asset whose device left may be taken over
// (a machine wiped and enrolled again gets a new Intune device ID, and keeps its serial).
func (ar *assetRun) claimedBy(a tenantsync.Asset, deviceID string) string {
	for id, l := range ar.st.Links {
		if l.AssetID == a.ID && id != deviceID && ar.present[id] {
			return id
		}
	}
	if a.IntuneDeviceID == "" || strings.EqualFold(a.IntuneDeviceID, deviceID) && strings.EqualFold(a.TenantID, ar.rec.ID) {
		return ""
	}
	if !strings.EqualFold(a.TenantID, ar.rec.ID) || ar.present[a.IntuneDeviceID] {
		return a.IntuneDeviceID
	}
	return ""
}

// match finds device d's asset. It returns the asset and how it was found, or candidates
// when the serial number names several.
func (ar *assetRun) match(d tenantsync.Device) (a tenantsync.Asset, how string, create bool, candidates []string) {
	if dec, ok := ar.st.Decisions[d.ID]; ok {
		if dec.AssetID != "" {
			if a, ok := ar.assets[dec.AssetID]; ok {
				return a, "decision", false, nil
			}
		} else if dec.Create {
			if l, ok := ar.st.Links[d.ID]; ok {
				return ar.assets[l.AssetID], "link", false, nil
			}
			return tenantsync.Asset{}, "", true, nil
		}
	}
	if l, ok := ar.st.Links[d.ID]; ok {
		return ar.assets[l.AssetID], "link", false, nil
	}
	ids := slices.Sorted(maps.Keys(ar.assets))
	for _, id := range ids {
		a := ar.assets[id]
		if strings.EqualFold(a.TenantID, ar.rec.ID) && strings.EqualFold(a.IntuneDeviceID, d.ID) {
			return a, "intune", false, nil
		}
	}
	if d.EntraDeviceID != "" {
		for _, id := range ids {
			a := ar.assets[id]
			if strings.EqualFold(strings.TrimSpace(a.EntraDeviceID), strings.TrimSpace(d.EntraDeviceID)) && ar.claimedBy(a, d.ID) == "" {
				return a, "entra", false, nil
			}
		}
	}
	if usableSerial(d.SerialNumber) {
		for _, id := range ids {
			a := ar.assets[id]
			if strings.EqualFold(strings.TrimSpace(a.SerialNumber), strings.TrimSpace(d.SerialNumber)) &&
				strings.EqualFold(strings.TrimSpace(a.Manufacturer), strings.TrimSpace(d.Manufacturer)) && ar.claimedBy(a, d.ID) == "" {
				candidates = append(candidates, id)
			}
		}
		switch len(candidates) {
		case 1:
			return ar.assets[candidates[0]], "serial", false, nil
		case 0:
		default:
			return tenantsync.Asset{}, "", false, candidates
		}
	}
	return tenantsync.Asset{}, "", true, nil
}

// device reconciles one listed device.
func (ar *assetRun) device(ctx context.Context, d tenantsync.Device) error {
	a, how, create, candidates := ar.match(d)
	if len(candidates) > 0 {
		ar.review(d, candidates)
		return nil
	}
	if _, ok := ar.st.Reviews[d.ID]; ok {
		// The ambiguity is gone (an asset was removed or claimed): the review closes.
		ar.st.Reviews = maps.Clone(ar.st.Reviews)
		delete(ar.st.Reviews, d.ID)
	}
	if create {
		return ar.create(ctx, d)
	}
	if l, ok := ar.st.Links[d.ID]; !ok || l.AssetID != a.ID {
		by := assetActor
		if how == "decision" {
			by = ar.st.Decisions[d.ID].By
		}
		// The asset is this device's now: a link another (departed) device had to it ends.
		for id, other := range ar.st.Links {
			if other.AssetID == a.ID && id != d.ID {
				ar.drop(id)
			}
		}
		ar.link(d.ID, store.AssetLink{AssetID: a.ID, LinkedAt: ar.now, By: by})
		ar.record("linked", d.ID, a.ID, map[string]string{"match": how, "by": by})
		ar.out.report.Linked++
	}
	want, changed := mergeAsset(a, d, ar.rec.ID)
	reactivate := a.Retired()
	if !changed && !reactivate {
		ar.clearFailure(d.ID)
		ar.unretire(d.ID)
		return nil
	}
	want.RetiredAt = time.Time{}
	op := store.AssetUpdate
	if reactivate {
		op = store.AssetReactivate
	}
	ok, err := ar.call(ctx, d.ID, op, a.ID, func(ctx context.Context) error { return ar.e.assets.UpdateAsset(ctx, want) })
	if err != nil || !ok {
		return err
	}
	ar.assets[a.ID] = want
	ar.unretire(d.ID)
	if changed {
		ar.record("updated", d.ID, a.ID, nil)
		ar.out.report.Updated++
	}
	if reactivate {
		ar.record("reactivated", d.ID, a.ID, nil)
		ar.out.report.Reactivated++
	}
	return nil
}

// link stores device id's link.
func (ar *assetRun) link(id string, l store.AssetLink) {
	ar.st.Links = maps.Clone(ar.st.Links)
	if ar.st.Links == nil {
		ar.st.Links = map[string]store.AssetLink{}
	}
	ar.st.Links[id] = l
}

// unretire marks device id's link in service.
func (ar *assetRun) unretire(id string) {
	if l, ok := ar.st.Links[id]; ok && !l.RetiredAt.IsZero() {
		l.RetiredAt = time.Time{}
		ar.link(id, l)
	}
}

// review queues device d for a person, once.
func (ar *assetRun) review(d tenantsync.Device, candidates []string) {
	if rv, ok := ar.st.Reviews[d.ID]; ok && slices.Equal(rv.Candidates, candidates) {
		return
	}
	ar.st.Reviews = maps.Clone(ar.st.Reviews)
	if ar.st.Reviews == nil {
		ar.st.Reviews = map[string]store.AssetReview{}
	}
	ar.st.Reviews[d.ID] = store.AssetReview{DeviceID: d.ID, DeviceName: d.DeviceName, SerialNumber: d.SerialNumber,
		Manufacturer: d.Manufacturer, Candidates: candidates, Since: ar.now,
		Reason: fmt.Sprintf("serial number %s (%s) matches %d assets", d.SerialNumber, d.Manufacturer, len(candidates))}
	ar.out.changes = append(ar.out.changes, store.Change{Type: store.ChangeAsset, Kind: tenantsync.KindDevices, ItemID: d.ID,
		ClientID: ar.rec.ClientID, Action: "review"})
}

// create makes device d's asset, within the cap on creates per sync.
func (ar *assetRun) create(ctx context.Context, d tenantsync.Device) error {
	if ar.creates >= ar.e.limits.MaxCreatesPerSync {
		ar.out.report.Deferred++
		return nil
	}
	ar.creates++
	want, _ := mergeAsset(tenantsync.Asset{ClientID: ar.rec.ClientID}, d, ar.rec.ID)
	var made tenantsync.Asset
	ok, err := ar.call(ctx, d.ID, store.AssetCreate, "", func(ctx context.Context) error {
		var err error
		made, err = ar.e.assets.CreateAsset(ctx, want)
		return err
	})
	if err != nil || !ok {
		return err
	}
	if made.ID == "" {
		ar.fail(d.ID, store.AssetCreate, "", &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: "psa", Op: "CreateAsset",
			Message: "the PSA returned the created asset without an ID"}, false)
		return nil
	}
	if made.ClientID == "" {
		made.ClientID = ar.rec.ClientID
	}
	ar.assets[made.ID] = made
	ar.link(d.ID, store.AssetLink{AssetID: made.ID, LinkedAt: ar.now, By: assetActor})
	ar.record("created", d.ID, made.ID, nil)
	ar.out.report.Created++
	return nil
}

// retire retires the assets the engine linked whose device the complete listing omits, under
// the deletion guard.
func (ar *assetRun) retire(ctx context.Context, listing assetListing) error {
	approvedBy := listing.approvedBy
	e := ar.e
	var gone []string
	inService := 0
	for id, l := range ar.st.Links {
		if !l.RetiredAt.IsZero() {
			continue
		}
		inService++
		if !ar.present[id] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	actor := assetActor
	switch h := ar.st.Hold; {
	case len(gone) == 0:
		ar.endHold("cleared")
		return nil
	case approvedBy != "":
		actor = approvedBy
		ar.endHold("applied_with_devices")
	case h != nil && h.Released:
		actor = h.ReleasedBy
		ar.endHold("applied_released")
	case h != nil && e.deletion.ConfirmAfter > 0 && !ar.now.Before(h.Since.Add(e.deletion.ConfirmAfter)) && subset(h.IDs, gone):
		actor = confirmActor
		ar.endHold("applied_confirmed")
	case e.deletion.trips(len(gone), inService):
		ar.hold(gone, inService, listing.source)
		return nil
	default:
		ar.endHold("cleared")
	}
	for _, id := range gone {
		if ar.stopped {
			return nil
		}
		l := ar.st.Links[id]
		a := ar.assets[l.AssetID]
		if a.Retired() {
			// Retired already (by a person, or by a run whose commit was lost): only recorded.
			l.RetiredAt = a.RetiredAt
			ar.link(id, l)
			continue
		}
		ok, err := ar.call(ctx, id, store.AssetRetire, a.ID, func(ctx context.Context) error {
			return e.assets.RetireAsset(ctx, ar.rec.ClientID, a.ID, ar.now)
		})
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		a.RetiredAt = ar.now
		ar.assets[a.ID] = a
		l.RetiredAt = ar.now
		ar.link(id, l)
		ar.record("retired", id, a.ID, map[string]string{"by": actor})
		ar.out.report.Retired++
	}
	return nil
}

// subset reports whether every one of a is in sorted b.
func subset(a, b []string) bool {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			return false
		}
	}
	return true
}

// hold places (or renews) the hold of the retirements of the gone devices.
func (ar *assetRun) hold(gone []string, of int, source string) {
	g := ar.e.deletion
	h := store.DeletionHold{Kind: tenantsync.KindDevices, Source: source, Mode: tenantsync.Complete, IDs: gone, Removals: len(gone), Of: of,
		Since: ar.now, LastSeen: ar.now,
		Hint: fmt.Sprintf("the devices listing omits %d of the %d devices whose assets the engine keeps: check the tenant's devices in Intune; "+
			"if they are gone, release the hold (Engine.ReleaseAssetHold) to retire their assets", len(gone), of)}
	if g.ConfirmAfter > 0 {
		h.Hint += fmt.Sprintf(", or a listing still without them %s after the hold began retires them", g.ConfirmAfter)
	}
	prev := ar.st.Hold
	fresh := prev == nil
	if !fresh {
		// The same hold goes on, growing or shrinking with the listing: it keeps its age, so a
		// listing still without the devices a day on confirms it.
		h.Since = prev.Since
	}
	ar.st.Hold = &h
	ar.out.report.Held = len(gone)
	if fresh || !slices.Equal(prev.IDs, gone) {
		ar.out.changes = append(ar.out.changes, store.Change{Type: store.ChangeAsset, Kind: tenantsync.KindDevices,
			ClientID: ar.rec.ClientID, Action: "held", Data: holdJSON(h)})
	}
	if fresh {
		ar.out.audits = append(ar.out.audits, tenantsync.AuditEntry{Actor: confirmActor, Action: "hold_asset_retirements",
			TenantID: ar.rec.ID, Target: ar.rec.ClientID, Phase: "result", Outcome: "held", Detail: map[string]string{
				"client": ar.rec.ClientID, "retirements": fmt.Sprint(len(gone)), "of": fmt.Sprint(of)}})
	}
}

// endHold ends a hold in force, saying how.
func (ar *assetRun) endHold(how string) {
	h := ar.st.Hold
	if h == nil {
		return
	}
	ar.st.Hold = nil
	ar.out.changes = append(ar.out.changes, store.Change{Type: store.ChangeAsset, Kind: tenantsync.KindDevices,
		ClientID: ar.rec.ClientID, Action: "hold_" + how, Data: holdJSON(*h)})
}

// call makes one PSA write for device deviceID through the PSA gate. It reports whether the
// write was made; a refused write is recorded as the device's failure, an answer of the whole
// PSA pauses every PSA call and stops the run. Only a cancelled sync is an error.
func (ar *assetRun) call(ctx context.Context, deviceID string, op store.AssetOp, assetID string, fn func(context.Context) error) (bool, error) {
	e := ar.e
	if ar.calls >= e.limits.PSACallsPerSync {
		// Asset writes have a budget of their own, the same size as the contacts': a first
		// sync of a large fleet spreads over several syncs rather than spend the PSA's quota.
		ar.stop(&tenantsync.Error{Class: tenantsync.ErrLimitExceeded, Service: Service, Op: "Assets", Tenant: ar.rec.ID,
			Message: fmt.Sprintf("the sync sent its %d asset writes", e.limits.PSACallsPerSync),
			Hint:    "the next syncs write the assets left over; raise Limits.PSACallsPerSync if the PSA's quota allows more"})
		return false, nil
	}
	if err := e.psa.admit(ctx, ar.rec.ID); err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		ar.stop(err)
		return false, nil
	}
	ar.calls++
	err := e.psa.call(ctx, fn)
	if err == nil {
		e.psa.succeeded()
		ar.clearFailure(deviceID)
		return true, nil
	}
	if ctx.Err() != nil {
		return false, context.Cause(ctx)
	}
	v := classifyPSA(err)
	if v.accountWide() {
		e.psa.pause(err)
		ar.stop(err)
	}
	if v != psaThrottled {
		ar.fail(deviceID, op, assetID, err, v == psaRefused)
	}
	return false, nil
}

// stop ends the run's PSA writes: the PSA answered for all of them.
func (ar *assetRun) stop(err error) {
	ar.stopped = true
	if ar.out.report.Err == nil {
		ar.out.report.Err = hinted(err, tenantsync.ErrUnavailable, "Assets",
			"the PSA throttled, failed or refused: the next sync writes the assets left over")
	}
}

// fail records device id's failed write; the next sync tries it again. A refusal of the
// credentials blames no device and is only in the report.
func (ar *assetRun) fail(id string, op store.AssetOp, assetID string, err error, refused bool) {
	ar.out.report.Failed++
	f := ar.st.Failures[id]
	if refused {
		return
	}
	hint := tenantsync.HintOf(err)
	if hint == "" {
		hint = fmt.Sprintf("the PSA refused to %s the asset: correct the record in the PSA or the device in Intune; the next sync tries again", op)
	}
	f = store.AssetFailure{DeviceID: id, Op: op, AssetID: assetID, Kind: tenantsync.ClassName(tenantsync.ClassOf(err)),
		Message: truncate(failureMessage(err), 500), Hint: hint, Attempts: f.Attempts + 1, LastAt: ar.now}
	ar.st.Failures = maps.Clone(ar.st.Failures)
	if ar.st.Failures == nil {
		ar.st.Failures = map[string]store.AssetFailure{}
	}
	ar.st.Failures[id] = f
	ar.out.audits = append(ar.out.audits, tenantsync.AuditEntry{Actor: assetActor, Action: "asset_" + string(op), TenantID: ar.rec.ID,
		Target: cmp.Or(assetID, id), Phase: "result", Outcome: "failed", Error: f.Message,
		Detail: map[string]string{"client": ar.rec.ClientID, "device": id, "attempts": fmt.Sprint(f.Attempts)}})
}

// clearFailure forgets device id's failure: its write went through.
func (ar *assetRun) clearFailure(id string) {
	if _, ok := ar.st.Failures[id]; ok {
		ar.st.Failures = maps.Clone(ar.st.Failures)
		delete(ar.st.Failures, id)
	}
}

// record adds the feed entry and audit entry of one asset change.
func (ar *assetRun) record(action, deviceID, assetID string, detail map[string]string) {
	ar.out.changes = append(ar.out.changes, store.Change{Type: store.ChangeAsset, Kind: tenantsync.KindDevices, ItemID: deviceID,
		ClientID: ar.rec.ClientID, AssetID: assetID, Action: action})
	d := map[string]string{"client": ar.rec.ClientID, "device": deviceID}
	maps.Copy(d, detail)
	actor := assetActor
	if by := detail["by"]; by != "" {
		actor = by
	}
	ar.out.audits = append(ar.out.audits, tenantsync.AuditEntry{Actor: actor, Action: "asset_" + action, TenantID: ar.rec.ID,
		Target: assetID, Phase: "result", Outcome: "succeeded", Detail: d})
}

// mergeAsset returns asset a with device d's non-blank values, and whether any differed: a
// blank device value never erases what the PSA holds.
func mergeAsset(a tenantsync.Asset, d tenantsync.Device, tenantID string) (tenantsync.Asset, bool) {
	changed := false
	set := func(dst *string, v string) {
		if v = strings.TrimSpace(v); v != "" && *dst != v {
			*dst, changed = v, true
		}
	}
	set(&a.TenantID, tenantID)
	set(&a.IntuneDeviceID, d.ID)
	set(&a.EntraDeviceID, d.EntraDeviceID)
	set(&a.Name, d.DeviceName)
	if usableSerial(d.SerialNumber) {
		set(&a.SerialNumber, d.SerialNumber)
	}
	set(&a.Manufacturer, d.Manufacturer)
	set(&a.Model, d.Model)
	set(&a.OperatingSystem, d.OperatingSystem)
	set(&a.OSVersion, d.OSVersion)
	set(&a.OwnerUPN, d.UserPrincipalName)
	set(&a.Compliance, d.ComplianceState)
	if !d.LastSyncAt.IsZero() && !d.LastSyncAt.Equal(a.LastCheckIn) {
		a.LastCheckIn, changed = d.LastSyncAt, true
	}
	return a, changed
}

// auditAssets appends the asset reconcile's audit entries once its commit stood.
func (e *Engine) auditAssets(ctx context.Context, out *assetOutcome) {
	if out == nil {
		return
	}
	for _, a := range out.audits {
		a.At = e.clock.Now()
		actx, cancel := detached(ctx)
		if _, err := e.acct.Audit.Append(actx, a); err != nil {
			// No caller waits for a sync's audit entries: the event and the counter say it.
			_ = e.auditFailed(a.Actor, a.Action, a.TenantID, "made by a sync", err)
		}
		cancel()
	}
}

// AssetReviewDecision is a person's answer for a device waiting in the asset review queue:
// the asset the device is (AssetID), or a new asset (Create).
type AssetReviewDecision struct {
	TenantID string
	DeviceID string
	AssetID  string
	Create   bool
}

func (d AssetReviewDecision) validate() error {
	bad := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "ResolveAssetReview", Tenant: d.TenantID, Message: msg, Hint: hint}
	}
	switch {
	case d.TenantID == "" || d.DeviceID == "":
		return bad("no tenant or device", "set TenantID and DeviceID to the device waiting in the review queue")
	case d.Create == (d.AssetID != ""):
		return bad("neither or both of an asset and a create", "set AssetID to the asset the device is, or Create for a new asset, not both")
	}
	return nil
}

// ResolveAssetReview records a person's choice of asset for a device in the asset review
// queue (TenantStatus.State.Assets.Reviews), for actor, who must hold
// tenantsync.PermissionManage. The choice is remembered and wins over every other match at
// every later sync; the next sync applies it. The decision, or its refusal, is audited.
func (e *Engine) ResolveAssetReview(ctx context.Context, actor string, d AssetReviewDecision) error {
	if err := d.validate(); err != nil {
		return err
	}
	detail := map[string]string{"device": d.DeviceID, "asset": d.AssetID, "create": fmt.Sprint(d.Create)}
	refuse := func(err error) error {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "resolve_asset_review", d.TenantID, d.DeviceID, "refused", err, detail))
	}
	if err := e.authorizeManage(ctx, "ResolveAssetReview", actor); err != nil {
		return refuse(err)
	}
	rec, err := e.assetTenant(ctx, "ResolveAssetReview", d.TenantID)
	if err != nil {
		return refuse(err)
	}
	if d.AssetID != "" {
		// A choice of an asset the client does not have would leave the device with none.
		list, err := (&assetRun{e: e, rec: rec}).listAssets(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(list, func(a tenantsync.Asset) bool { return a.ID == d.AssetID }) {
			return refuse(&tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: "ResolveAssetReview", Tenant: d.TenantID,
				Message: fmt.Sprintf("client %s has no asset %s", rec.ClientID, d.AssetID),
				Hint:    "pick one of the review's candidates or another asset of the same client"})
		}
	}
	now := e.clock.Now()
	found := false
	_, err = e.rewriteState(ctx, d.TenantID, func(st *store.SyncState) bool {
		if _, found = st.Assets.Reviews[d.DeviceID]; !found {
			return false
		}
		st.Assets = st.Assets.Clone()
		delete(st.Assets.Reviews, d.DeviceID)
		if st.Assets.Decisions == nil {
			st.Assets.Decisions = map[string]store.AssetDecision{}
		}
		st.Assets.Decisions[d.DeviceID] = store.AssetDecision{AssetID: d.AssetID, Create: d.Create, By: actor, At: now}
		st.NextDue = now
		return true
	})
	switch {
	case errors.Is(err, tenantsync.ErrAlreadyRunning):
		return refuse(err)
	case err != nil:
		return err
	case !found:
		return refuse(&tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: "ResolveAssetReview", Tenant: d.TenantID,
			Message: "no asset review for device " + d.DeviceID,
			Hint:    "look at the tenant's status: a sync may have settled the device meanwhile"})
	}
	e.sched.poke()
	return e.auditAdmin(ctx, actor, "resolve_asset_review", d.TenantID, d.DeviceID, "succeeded", nil, detail)
}

// ReleaseAssetHold releases the deletion guard's hold of a tenant's asset retirements, for
// actor, who must hold tenantsync.PermissionManage: the next sync whose devices listing still
// omits the devices retires their assets. The release, or its refusal, is audited.
func (e *Engine) ReleaseAssetHold(ctx context.Context, actor, tenantID string) error {
	refuse := func(err error) error {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "release_asset_hold", tenantID, tenantID, "refused", err, nil))
	}
	if err := e.authorizeManage(ctx, "ReleaseAssetHold", actor); err != nil {
		return refuse(err)
	}
	if actor == "" {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "ReleaseAssetHold", Tenant: tenantID,
			Message: "no actor", Hint: "pass the ID of the person releasing the hold"}
	}
	if _, err := e.assetTenant(ctx, "ReleaseAssetHold", tenantID); err != nil {
		return refuse(err)
	}
	now := e.clock.Now()
	var h store.DeletionHold
	_, err := e.rewriteState(ctx, tenantID, func(st *store.SyncState) bool {
		if st.Assets.Hold == nil {
			return false
		}
		st.Assets = st.Assets.Clone()
		st.Assets.Hold.Released, st.Assets.Hold.ReleasedBy, st.Assets.Hold.ReleasedAt = true, actor, now
		h = *st.Assets.Hold
		st.NextDue = now
		return true
	})
	switch {
	case errors.Is(err, tenantsync.ErrAlreadyRunning):
		return refuse(err)
	case err != nil:
		return err
	case !h.Released:
		return refuse(&tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: "ReleaseAssetHold", Tenant: tenantID,
			Message: "no asset retirements are held", Hint: "look at the tenant's status: a sync may have applied or cleared the hold meanwhile"})
	}
	e.sched.poke()
	return e.auditAdmin(ctx, actor, "release_asset_hold", tenantID, tenantID, "succeeded", nil, map[string]string{
		"retirements": fmt.Sprint(len(h.IDs)), "of": fmt.Sprint(h.Of), "since": h.Since.UTC().Format(time.RFC3339)})
}

// assetTenant returns the tenant of an asset decision: it must exist and be linked.
func (e *Engine) assetTenant(ctx context.Context, op, tenantID string) (store.TenantRecord, error) {
	rec, err := e.acct.Tenants.Get(ctx, tenantID)
	if err != nil {
		if isNotFound(err) {
			err = &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: op, Tenant: tenantID,
				Message: "the account has no such tenant", Hint: "check the tenant ID", Err: err}
		}
		return rec, err
	}
	if !rec.Linked() {
		return rec, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
			Message: "the tenant is linked to no client", Hint: "link the tenant to a client first: assets belong to a client"}
	}
	return rec, nil
}

// ClientAssets returns a client's assets from the asset directory (Config.Assets), retired
// ones included.
func (e *Engine) ClientAssets(ctx context.Context, clientID string) ([]tenantsync.Asset, error) {
	if e.assets == nil {
		return nil, &tenantsync.Error{Class: tenantsync.ErrUnsupported, Service: Service, Op: "ClientAssets",
			Message: "the engine has no asset directory", Hint: "pass Config.Assets, or use a store with a default asset directory"}
	}
	list, err := e.assets.ListAssets(ctx, clientID)
	if err != nil {
		return nil, hinted(err, tenantsync.ErrUnavailable, "ListAssets", "check the PSA's asset directory (the tenantsync.Assets implementation)")
	}
	return list, nil
}
