package sync

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// SignIns tells when a tenant's users last signed in: the sign-in activity (Entra ID's
// signInActivity, which needs Entra ID P1 and AuditLog.Read.All), for the licence-waste report.
// Config.SignIns provides it; without one the engine reads its own mirror's KindSignIns.
type SignIns interface {
	// LastSignIns returns the last sign-in of the tenant's users, by object ID; a user who
	// never signed in is absent. An error means the tenant's activity is unknown (an error of
	// kind ErrLicenseRequired or ErrForbidden says why): the report then judges none of its
	// users inactive, and says so.
	LastSignIns(ctx context.Context, tenantID string) (map[string]time.Time, error)
}

// WasteReason says why a licensed user counts as waste.
type WasteReason string

// Waste reasons.
const (
	// WasteDisabled: the user's sign-in is blocked, yet it holds licences.
	WasteDisabled WasteReason = "disabled"
	// WasteInactive: the user last signed in more than the report's days ago.
	WasteInactive WasteReason = "inactive"
	// WasteNeverSignedIn: the user has never signed in, and was created more than the
	// report's days ago.
	WasteNeverSignedIn WasteReason = "never_signed_in"
)

// DefaultInactiveDays is how long without a sign-in makes a licensed user inactive, when a
// LicenseWasteRequest does not say.
const DefaultInactiveDays = 30

// LicenseWasteRequest asks for the licence waste of one client.
type LicenseWasteRequest struct {
	ClientID string
	// InactiveDays: a licensed user not signed in for this many days is waste (default
	// DefaultInactiveDays, at most 3650).
	InactiveDays int
}

// HeldSKU is a licence a wasted user holds.
type HeldSKU struct {
	SKUID         string
	SKUPartNumber string // "" when the tenant's subscriptions were never listed
	Name          string
}

// WastedUser is a licensed user the report counts as waste.
type WastedUser struct {
	TenantID          string
	ObjectID          string
	UserPrincipalName string
	DisplayName       string
	Reason            WasteReason
	LastSignIn        time.Time // zero when never (or unknown, for a disabled user)
	SKUs              []HeldSKU
}

// SKUWaste is, for one SKU of one tenant, the seats wasted users hold.
type SKUWaste struct {
	TenantID      string
	SKUID         string
	SKUPartNumber string
	Name          string
	// Seats are the seats held by wasted users: Disabled by disabled users, Inactive by the
	// others.
	Seats    int
	Disabled int
	Inactive int
	// Purchased and Consumed are the tenant's own figures for the SKU (zero when its
	// subscriptions were never listed).
	Purchased int
	Consumed  int
}

// LicenseWasteReport is a client's licensed users that do not use their licences.
type LicenseWasteReport struct {
	ClientID     string
	InactiveDays int
	AsOf         time.Time
	// Users are the wasted users, by tenant, then user principal name.
	Users []WastedUser
	// SKUs are the seats wasted per tenant and SKU, by tenant, then part number.
	SKUs []SKUWaste
	// WastedSeats is the total of SKUs' Seats.
	WastedSeats int
	// NoSignIns are the tenants whose sign-in activity is unknown (their inactive users are
	// not in the report; disabled ones are), with why and what to do.
	NoSignIns []TenantGap
	// Complete is false when a linked tenant's users were never listed: its waste is not in
	// the report.
	Complete bool
}

// TenantGap is a tenant the report could not judge in full, and why.
type TenantGap struct {
	TenantID string
	Reason   string
	Hint     string
}

// LicenseWaste reports a client's licensed users who have not signed in for
// r.InactiveDays days (or never, when created before that), and its disabled users still
// holding licences, with the SKUs and seats they hold: what an MSP right-sizes licences from.
// It reads the mirror as of each tenant's last sync and the sign-ins from Config.SignIns.
func (e *Engine) LicenseWaste(ctx context.Context, r LicenseWasteRequest) (LicenseWasteReport, error) {
	const op = "LicenseWaste"
	if r.ClientID == "" {
		return LicenseWasteReport{}, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: "no client ID", Hint: "pass the ID of the client to report on"}
	}
	if r.InactiveDays == 0 {
		r.InactiveDays = DefaultInactiveDays
	}
	if r.InactiveDays < 1 || r.InactiveDays > 3650 {
		return LicenseWasteReport{}, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: fmt.Sprintf("inactive days %d out of range", r.InactiveDays), Hint: "pass a number of days from 1 to 3650"}
	}
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return LicenseWasteReport{}, err
	}
	out := LicenseWasteReport{ClientID: r.ClientID, InactiveDays: r.InactiveDays, AsOf: e.clock.Now(), Complete: true}
	for _, rec := range recs {
		if rec.ClientID != r.ClientID {
			continue
		}
		counts, err := e.acct.Mirror.Counts(ctx, rec.ID)
		if err != nil {
			return out, err
		}
		st, err := e.acct.SyncStates.Get(ctx, rec.ID)
		if err != nil && !isNotFound(err) {
			return out, err
		}
		if _, listed := st.Counts[tenantsync.KindUsers]; !listed && counts[tenantsync.KindUsers] == 0 {
			out.Complete = false
			continue
		}
		mirrors, err := e.readKinds(ctx, rec.ID, tenantsync.KindUsers, tenantsync.KindSubscriptions)
		if err != nil {
			return out, err
		}
		in := WasteInput{TenantID: rec.ID, Users: mirrors[tenantsync.KindUsers].Users, Subscriptions: mirrors[tenantsync.KindSubscriptions].Subscriptions,
			Now: out.AsOf, InactiveDays: r.InactiveDays}
		var gap *TenantGap
		if e.cfg.SignIns == nil {
			in.SignIns, gap = e.mirroredSignIns(ctx, rec.ID, st)
		} else if in.SignIns, err = e.cfg.SignIns.LastSignIns(ctx, rec.ID); err != nil {
			hint := tenantsync.HintOf(err)
			if hint == "" {
				hint = "sign-in activity needs Entra ID P1 in the tenant and the AuditLog.Read.All permission"
			}
			gap = &TenantGap{TenantID: rec.ID, Reason: err.Error(), Hint: hint}
		}
		if gap != nil {
			out.NoSignIns = append(out.NoSignIns, *gap)
			in.SignIns = nil
		} else {
			in.SignInsKnown = true
		}
		users2, skus := FindLicenseWaste(in)
		out.Users = append(out.Users, users2...)
		out.SKUs = append(out.SKUs, skus...)
	}
	for _, s := range out.SKUs {
		out.WastedSeats += s.Seats
	}
	return out, nil
}

// WasteInput is one tenant's data for FindLicenseWaste.
type WasteInput struct {
	TenantID      string
	Users         []tenantsync.User
	Subscriptions []tenantsync.Subscription
	// SignIns are the users' last sign-ins by object ID; SignInsKnown says whether the
	// tenant's sign-in activity is known at all (without it no user is judged inactive).
	SignIns      map[string]time.Time
	SignInsKnown bool
	Now          time.Time
	InactiveDays int
}

// FindLicenseWaste returns one tenant's wasted users (disabled users holding licences, and,
// when its sign-ins are known, licensed users not signed in for in.InactiveDays days) and the
// seats they hold per SKU. It does no I/O.
func FindLicenseWaste(in WasteInput) ([]WastedUser, []SKUWaste) {
	cutoff := in.Now.Add(-time.Duration(in.InactiveDays) * 24 * time.Hour)
	subs := map[string]tenantsync.Subscription{}
	for _, s := range in.Subscriptions {
		subs[s.SKUID] = s
	}
	var users []WastedUser
	seats := map[string]*SKUWaste{}
	for _, u := range in.Users {
		if !u.IsLicensed() {
			continue
		}
		w := WastedUser{TenantID: in.TenantID, ObjectID: u.ObjectID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName}
		last, signedIn := in.SignIns[u.ObjectID]
		if signedIn {
			w.LastSignIn = last
		}
		switch {
		case !u.AccountEnabled:
			w.Reason = WasteDisabled
		case !in.SignInsKnown:
			continue
		case signedIn && last.Before(cutoff):
			w.Reason = WasteInactive
		case !signedIn && !u.CreatedAt.IsZero() && u.CreatedAt.Before(cutoff):
			w.Reason = WasteNeverSignedIn
		default:
			continue
		}
		for _, id := range u.AssignedSKUs {
			s := subs[id]
			w.SKUs = append(w.SKUs, HeldSKU{SKUID: id, SKUPartNumber: s.SKUPartNumber, Name: s.Name})
			sw := seats[id]
			if sw == nil {
				sw = &SKUWaste{TenantID: in.TenantID, SKUID: id, SKUPartNumber: s.SKUPartNumber, Name: s.Name, Purchased: s.Enabled, Consumed: s.Consumed}
				seats[id] = sw
			}
			sw.Seats++
			if w.Reason == WasteDisabled {
				sw.Disabled++
			} else {
				sw.Inactive++
			}
		}
		users = append(users, w)
	}
	slices.SortFunc(users, func(a, b WastedUser) int {
		return cmp.Or(strings.Compare(a.UserPrincipalName, b.UserPrincipalName), strings.Compare(a.ObjectID, b.ObjectID))
	})
	out := make([]SKUWaste, 0, len(seats))
	for _, s := range seats {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b SKUWaste) int {
		return cmp.Or(strings.Compare(a.SKUPartNumber, b.SKUPartNumber), strings.Compare(a.SKUID, b.SKUID))
	})
	return users, out
}

// billingSnapshotEvery is how often Run retakes the day's billing snapshots: the day's
// snapshot is the latest count of that day.
const billingSnapshotEvery = time.Hour

// SnapshotBilling counts the billable users of every client with a linked tenant
// (BillableUsers) and stores the counts as the current UTC day's snapshots, replacing that
// day's earlier ones. Run calls it hourly; a PSA may call it too (at the end of its day, say).
func (e *Engine) SnapshotBilling(ctx context.Context) ([]store.BillingSnapshot, error) {
	clients, err := e.billedClients(ctx)
	if err != nil {
		return nil, err
	}
	return e.snapshotBilling(ctx, clients, e.clock.Now())
}

// billedClient is a client with linked tenants.
type billedClient struct {
	id      string
	tenants []string
}

// billedClients returns the clients with a linked tenant, sorted, with their tenants.
func (e *Engine) billedClients(ctx context.Context) ([]billedClient, error) {
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return nil, err
	}
	byClient := map[string][]string{}
	for _, rec := range recs {
		if rec.Linked() {
			byClient[rec.ClientID] = append(byClient[rec.ClientID], rec.ID)
		}
	}
	out := make([]billedClient, 0, len(byClient))
	for id, tenants := range byClient {
		out = append(out, billedClient{id: id, tenants: tenants})
	}
	slices.SortFunc(out, func(a, b billedClient) int { return strings.Compare(a.id, b.id) })
	return out, nil
}

// snapshotBilling counts the billable users of each of clients and stores them as the
// snapshots of now's day, each stamped with the time it was counted.
func (e *Engine) snapshotBilling(ctx context.Context, clients []billedClient, now time.Time) ([]store.BillingSnapshot, error) {
	out := make([]store.BillingSnapshot, 0, len(clients))
	for _, bc := range clients {
		c := bc.id
		n, err := e.billableUsers(ctx, c, bc.tenants)
		if err != nil {
			return out, err
		}
		s := store.BillingSnapshot{ClientID: c, Day: store.BillingDay(now), Billable: n.Billable, PerTenant: n.PerTenant,
			Complete: n.Complete, TakenAt: e.clock.Now()}
		if err := e.acct.Billing.PutSnapshot(ctx, s); err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// BillingHistory returns the daily billable-user snapshots of a client ("" for every client)
// from the day of from to the day of to, both included (at most store.MaxBillingDays).
func (e *Engine) BillingHistory(ctx context.Context, clientID string, from, to time.Time) ([]store.BillingSnapshot, error) {
	return e.acct.Billing.Snapshots(ctx, store.BillingQuery{ClientID: clientID, From: from, To: to})
}

// Proration is a client's billable users over a period, from its daily snapshots.
type Proration struct {
	From, To time.Time // the period's first and last day
	Days     int       // days in the period
	// Covered are the days with a snapshot; a day without one is counted at the snapshot
	// before it (or, before the first, not at all), as a PSA prorating from the last known
	// count does.
	Covered int
	// UserDays is the sum of each day's billable users: the month's invoice is
	// UserDays/Days times the monthly price per user.
	UserDays int
	Average  float64 // UserDays / Days
	Max      int
	// Complete is false when a day's snapshot was incomplete or the first day had none.
	Complete bool
}

// Prorate sums one client's daily snapshots over the days from..to (both included).
func Prorate(snaps []store.BillingSnapshot, from, to time.Time) Proration {
	from, to = store.BillingDay(from), store.BillingDay(to)
	p := Proration{From: from, To: to, Complete: true}
	byDay := map[int64]store.BillingSnapshot{}
	var before *store.BillingSnapshot
	for i, s := range snaps {
		d := store.BillingDay(s.Day)
		byDay[d.Unix()] = s
		if d.Before(from) && (before == nil || d.After(before.Day)) {
			before = &snaps[i]
		}
	}
	last := before
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		p.Days++
		if s, ok := byDay[d.Unix()]; ok {
			p.Covered++
			last = &s
		}
		if last == nil {
			p.Complete = false
			continue
		}
		if !last.Complete {
			p.Complete = false
		}
		p.UserDays += last.Billable
		p.Max = max(p.Max, last.Billable)
	}
	if p.Days > 0 {
		p.Average = float64(p.UserDays) / float64(p.Days)
	}
	return p
}

// mirroredSignIns reads the last sign-ins from the mirror's sign-ins kind, as the tenant's last
// sync listed them: the default when Config.SignIns is nil. A tenant whose last sync could not
// read the kind, or that has not listed it yet, is a gap with the reason and what to do.
func (e *Engine) mirroredSignIns(ctx context.Context, tenantID string, st store.SyncState) (map[string]time.Time, *TenantGap) {
	if ke, failed := st.KindErrors[tenantsync.KindSignIns]; failed {
		hint := ke.Hint
		if hint == "" {
			hint = "sign-in activity needs Entra ID P1 in the tenant and the AuditLog.Read.All permission"
		}
		return nil, &TenantGap{TenantID: tenantID, Reason: ke.Message, Hint: hint}
	}
	if _, listed := st.Counts[tenantsync.KindSignIns]; !listed {
		return nil, &TenantGap{TenantID: tenantID, Reason: "the tenant's sign-in activity has not been synced",
			Hint: "sync the signins kind for the tenant (it needs Entra ID P1 and AuditLog.Read.All), or configure Config.SignIns"}
	}
	kr, err := e.acct.Mirror.ReadKind(ctx, tenantID, tenantsync.KindSignIns)
	if err != nil {
		return nil, &TenantGap{TenantID: tenantID, Reason: err.Error(), Hint: "read the report again; the store could not be read"}
	}
	if len(kr.SignIns) == 0 {
		// Graph lists every user with its activity: an empty listing says nothing about who
		// signed in, and reading it as "nobody" would report every licensed user as waste.
		return nil, &TenantGap{TenantID: tenantID, Reason: "the tenant's sign-in listing holds no users",
			Hint: "check that the tenant has Entra ID P1 and grants AuditLog.Read.All, then sync it again; or configure Config.SignIns"}
	}
	last := make(map[string]time.Time, len(kr.SignIns))
	for _, a := range kr.SignIns {
		if t := a.Last(); !t.IsZero() {
			last[a.UserID] = t
		}
	}
	return last, nil
}
