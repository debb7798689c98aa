package main

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// The licence-waste report, billing history, settings and disconnect routes.

type heldSKUWire struct {
	SKUID         string `json:"skuId"`
	SKUPartNumber string `json:"skuPartNumber,omitempty"`
	Name          string `json:"name,omitempty"`
}

type wastedUserWire struct {
	TenantID          string        `json:"tenantId"`
	ObjectID          string        `json:"objectId"`
	UserPrincipalName string        `json:"userPrincipalName"`
	DisplayName       string        `json:"displayName,omitempty"`
	Reason            string        `json:"reason"`
	LastSignIn        time.Time     `json:"lastSignIn,omitzero"`
	SKUs              []heldSKUWire `json:"skus"`
}

type skuWasteWire struct {
	TenantID      string `json:"tenantId"`
	SKUID         string `json:"skuId"`
	SKUPartNumber string `json:"skuPartNumber,omitempty"`
	Name          string `json:"name,omitempty"`
	Seats         int    `json:"seats"`
	Disabled      int    `json:"disabled"`
	Inactive      int    `json:"inactive"`
	Purchased     int    `json:"purchased"`
	Consumed      int    `json:"consumed"`
}

type tenantGapWire struct {
	TenantID string `json:"tenantId"`
	Reason   string `json:"reason"`
	Hint     string `json:"hint,omitempty"`
}

// licenseWasteWire is the report, its users paged as every list is (items, nextCursor).
type licenseWasteWire struct {
	ClientID     string           `json:"clientId"`
	InactiveDays int              `json:"inactiveDays"`
	AsOf         time.Time        `json:"asOf"`
	WastedSeats  int              `json:"wastedSeats"`
	WastedUsers  int              `json:"wastedUsers"`
	Complete     bool             `json:"complete"`
	SKUs         []skuWasteWire   `json:"skus"`
	NoSignIns    []tenantGapWire  `json:"noSignIns"`
	Items        []wastedUserWire `json:"items"`
	NextCursor   string           `json:"nextCursor,omitempty"`
}

func newLicenseWasteWire(r sync.LicenseWasteReport, p pageRequest) licenseWasteWire {
	out := licenseWasteWire{ClientID: r.ClientID, InactiveDays: r.InactiveDays, AsOf: r.AsOf, WastedSeats: r.WastedSeats,
		WastedUsers: len(r.Users), Complete: r.Complete, SKUs: []skuWasteWire{}, NoSignIns: []tenantGapWire{}}
	for _, s := range r.SKUs {
		out.SKUs = append(out.SKUs, skuWasteWire{TenantID: s.TenantID, SKUID: s.SKUID, SKUPartNumber: s.SKUPartNumber, Name: s.Name,
			Seats: s.Seats, Disabled: s.Disabled, Inactive: s.Inactive, Purchased: s.Purchased, Consumed: s.Consumed})
	}
	for _, g := range r.NoSignIns {
		out.NoSignIns = append(out.NoSignIns, tenantGapWire{TenantID: g.TenantID, Reason: g.Reason, Hint: apiHint(g.Hint)})
	}
	users := make([]wastedUserWire, 0, len(r.Users))
	for _, u := range r.Users {
		w := wastedUserWire{TenantID: u.TenantID, ObjectID: u.ObjectID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
			Reason: string(u.Reason), LastSignIn: u.LastSignIn, SKUs: []heldSKUWire{}}
		for _, s := range u.SKUs {
			w.SKUs = append(w.SKUs, heldSKUWire{SKUID: s.SKUID, SKUPartNumber: s.SKUPartNumber, Name: s.Name})
		}
		users = append(users, w)
	}
	key := func(u wastedUserWire) string { return u.TenantID + "\x00" + u.ObjectID }
	slices.SortFunc(users, func(a, b wastedUserWire) int {
		if key(a) < key(b) {
			return -1
		}
		if key(a) > key(b) {
			return 1
		}
		return 0
	})
	pg := paginate(users, key, p)
	out.Items, out.NextCursor = pg.Items, pg.NextCursor
	return out
}

// licenseWaste answers GET /api/clients/{id}/license-waste?days=N.
func (a *api) licenseWaste(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	req := sync.LicenseWasteRequest{ClientID: r.PathValue("id")}
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			badRequest(w, "pass days as a whole number from 1 to 3650 (default 30)", "days=%q is not a whole number from 1 to 3650", v)
			return
		}
		req.InactiveDays = n
	}
	if err := a.clientExists(r.Context(), req.ClientID); err != nil {
		fail(w, err)
		return
	}
	rep, err := a.engine.LicenseWaste(r.Context(), req)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newLicenseWasteWire(rep, p))
}

type billingSnapshotWire struct {
	ClientID  string         `json:"clientId"`
	Day       string         `json:"day"` // YYYY-MM-DD, UTC
	Billable  int            `json:"billable"`
	PerTenant map[string]int `json:"perTenant"`
	Complete  bool           `json:"complete"`
	TakenAt   time.Time      `json:"takenAt,omitzero"`
}

func newBillingSnapshotWire(s store.BillingSnapshot) billingSnapshotWire {
	per := s.PerTenant
	if per == nil {
		per = map[string]int{}
	}
	return billingSnapshotWire{ClientID: s.ClientID, Day: s.Day.UTC().Format(time.DateOnly), Billable: s.Billable, PerTenant: per,
		Complete: s.Complete, TakenAt: s.TakenAt}
}

const billingUsage = "pass from and to as days (YYYY-MM-DD, UTC, both included, at most 400 days apart) and clientId to read one client"

// billingHistory answers GET /api/billing?clientId=&from=&to=: the daily billable-user counts.
func (a *api) billingHistory(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var from, to time.Time
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			badRequest(w, billingUsage, "%s=%q is not a day", b.name, v)
			return
		}
		*b.t = t
	}
	snaps, err := a.engine.BillingHistory(r.Context(), q.Get("clientId"), from, to)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]billingSnapshotWire, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, newBillingSnapshotWire(s))
	}
	writeJSON(w, http.StatusOK, paginate(out, func(s billingSnapshotWire) string { return s.ClientID + "\x00" + s.Day }, p))
}

// settingsWire is one set of stored settings: a field left out is unset (inherited).
type settingsWire struct {
	AutoCreateContacts *bool     `json:"autoCreateContacts,omitempty"`
	AutoCreateAssets   *bool     `json:"autoCreateAssets,omitempty"`
	Kinds              []string  `json:"kinds,omitempty"`
	AutoMonitorDomains *bool     `json:"autoMonitorDomains,omitempty"`
	UpdatedBy          string    `json:"updatedBy,omitempty"`
	UpdatedAt          time.Time `json:"updatedAt,omitzero"`
}

func newSettingsWire(s store.ClientSettings) settingsWire {
	out := settingsWire{AutoCreateContacts: s.AutoCreateContacts, AutoCreateAssets: s.AutoCreateAssets,
		AutoMonitorDomains: s.AutoMonitorDomains, UpdatedBy: s.UpdatedBy, UpdatedAt: s.UpdatedAt}
	if s.Kinds != nil {
		out.Kinds = []string{}
		for _, k := range s.Kinds {
			out.Kinds = append(out.Kinds, string(k))
		}
	}
	return out
}

// effectiveSettingsWire is what is in force for a client.
type effectiveSettingsWire struct {
	AutoCreateContacts bool     `json:"autoCreateContacts"`
	AutoCreateAssets   bool     `json:"autoCreateAssets"`
	Kinds              []string `json:"kinds"`
	AutoMonitorDomains bool     `json:"autoMonitorDomains"`
}

type clientSettingsWire struct {
	ClientID  string                `json:"clientId,omitempty"`
	Own       *settingsWire         `json:"own,omitempty"`
	Defaults  settingsWire          `json:"defaults"`
	Effective effectiveSettingsWire `json:"effective"`
}

func newClientSettingsWire(s sync.Settings) clientSettingsWire {
	out := clientSettingsWire{ClientID: s.ClientID, Defaults: newSettingsWire(s.Defaults),
		Effective: effectiveSettingsWire{AutoCreateContacts: s.AutoCreateContacts, AutoCreateAssets: s.AutoCreateAssets,
			AutoMonitorDomains: s.AutoMonitorDomains, Kinds: []string{}}}
	for _, k := range s.Kinds {
		out.Effective.Kinds = append(out.Effective.Kinds, string(k))
	}
	if s.ClientID != "" {
		own := newSettingsWire(s.Own)
		out.Own = &own
	}
	return out
}

// settingsBody is the body of a settings change: the whole set, a field left out unset.
type settingsBody struct {
	AutoCreateContacts *bool    `json:"autoCreateContacts"`
	AutoCreateAssets   *bool    `json:"autoCreateAssets"`
	Kinds              []string `json:"kinds"`
	AutoMonitorDomains *bool    `json:"autoMonitorDomains"`
}

const settingsUsage = `send the whole set, e.g. {"autoCreateContacts": false, "kinds": ["users", "mailboxes"], "autoMonitorDomains": true}; a field left out takes the default`

func (b settingsBody) settings() store.ClientSettings {
	s := store.ClientSettings{AutoCreateContacts: b.AutoCreateContacts, AutoCreateAssets: b.AutoCreateAssets, AutoMonitorDomains: b.AutoMonitorDomains}
	if b.Kinds != nil {
		s.Kinds = []tenantsync.Kind{}
		for _, k := range b.Kinds {
			s.Kinds = append(s.Kinds, tenantsync.Kind(k))
		}
	}
	return s
}

// getSettings answers GET /api/settings (the account's defaults) and GET
// /api/clients/{id}/settings.
func (a *api) getSettings(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id != "" {
		if err := a.clientExists(r.Context(), id); err != nil {
			fail(w, err)
			return
		}
	}
	s, err := a.engine.SettingsFor(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newClientSettingsWire(s))
}

// putSettings answers PUT /api/settings and PUT /api/clients/{id}/settings. The engine checks
// m365.manage and audits the change under the caller's actor.
func (a *api) putSettings(w http.ResponseWriter, r *http.Request) {
	var body settingsBody
	if !decode(w, r, &body, settingsUsage) {
		return
	}
	id, actor := r.PathValue("id"), actorFrom(r.Context())
	var err error
	if id == "" {
		err = a.engine.SetDefaults(r.Context(), actor, body.settings())
	} else {
		err = a.engine.SetClientSettings(r.Context(), actor, id, body.settings())
	}
	if err != nil {
		fail(w, err)
		return
	}
	a.getSettings(w, r)
}

type connectionWire struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// connectionSource is the source a stored connection feeds: the partner's app and its
// delegated authorization reach the tenants through Graph.
func connectionSource(k store.ConnectionKind) string {
	switch k {
	case store.ConnectionCIPP:
		return sync.RouteCIPP
	case store.ConnectionGraph, store.ConnectionPartnerCenter:
		return sync.RouteGraph
	}
	return ""
}

// listConnections answers GET /api/connections: the stored connections, never their secrets.
func (a *api) listConnections(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	conns, err := a.store.Account(a.account).Connections.List(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]connectionWire, 0, len(conns))
	for _, c := range conns {
		out = append(out, connectionWire{Name: c.Name, Kind: string(c.Kind), Source: connectionSource(c.Kind), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, paginate(out, func(c connectionWire) string { return c.Name }, p))
}

type disconnectionWire struct {
	Connection string            `json:"connection"`
	Mode       string            `json:"mode"`
	Unlinked   map[string]string `json:"unlinked"`
	Kept       []string          `json:"kept"`
}

// disconnect answers POST /api/connections/{name}/disconnect: the connection's stored
// authorization and the links of the tenants only it reaches, kept or purged. The engine checks
// m365.manage and audits it.
func (a *api) disconnect(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Mode string `json:"mode"`
	}
	const usage = `send {"mode": "keep"} (the tenants' data kept for a relink) or {"mode": "purge"} (mirror and links deleted)`
	if !decode(w, r, &body, usage) {
		return
	}
	mode := store.UnlinkKeep
	switch body.Mode {
	case "keep":
	case "purge":
		mode = store.UnlinkPurge
	default:
		badRequest(w, usage, "mode %q is neither keep nor purge", body.Mode)
		return
	}
	name := r.PathValue("name")
	conn, err := a.store.Account(a.account).Connections.Get(r.Context(), name)
	if err != nil {
		fail(w, err)
		return
	}
	out, err := a.engine.Disconnect(r.Context(), actorFrom(r.Context()), sync.DisconnectRequest{Connection: name, Source: connectionSource(conn.Kind), Mode: mode})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, disconnectionWire{Connection: out.Connection, Mode: mode.String(), Unlinked: out.Unlinked, Kept: list(out.Kept)})
}
