package store

import (
	"context"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
)

// BillingSnapshot is the billable-user count of one client on one day, as the engine took it:
// what a PSA prorates a month's invoice from.
type BillingSnapshot struct {
	ClientID string
	// Day is the UTC calendar day the count is for, at midnight UTC.
	Day      time.Time
	Billable int
	// PerTenant is the count of each tenant linked to the client, by tenant ID.
	PerTenant map[string]int
	// Complete is false when a linked tenant's users (or, for a definition that leaves out
	// shared mailboxes, its mailboxes) were never listed: the count is then too low to invoice.
	Complete bool
	// TakenAt is when the count was taken; a later snapshot of the same day replaces it.
	TakenAt time.Time
}

// BillingQuery selects snapshots: of ClientID ("" for every client), from the day of From to
// the day of To, both included. A zero From has no lower bound, a zero To no upper bound.
type BillingQuery struct {
	ClientID string
	From     time.Time
	To       time.Time
}

// MaxBillingDays is the longest range, in days, one BillingHistory.Snapshots call reads.
const MaxBillingDays = 400

// BillingHistory keeps the account's daily billable-user counts per client.
type BillingHistory interface {
	// PutSnapshot stores s, replacing the snapshot of the same client and day. s.Day is
	// truncated to its UTC day.
	PutSnapshot(ctx context.Context, s BillingSnapshot) error
	// Snapshots returns the snapshots q selects, ordered by client ID, then day. A range longer
	// than MaxBillingDays, or one that ends before it starts, fails with ErrInvalidInput.
	Snapshots(ctx context.Context, q BillingQuery) ([]BillingSnapshot, error)
}

// BillingDay returns the UTC day t falls on, at midnight UTC.
func BillingDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CheckBillingQuery validates q and returns its bounds as days (zero when open).
func CheckBillingQuery(op string, q BillingQuery) (from, to time.Time, err error) {
	if !q.From.IsZero() {
		from = BillingDay(q.From)
	}
	if !q.To.IsZero() {
		to = BillingDay(q.To)
	}
	switch {
	case !from.IsZero() && !to.IsZero() && to.Before(from):
		return from, to, Invalid(op, "pass a From day on or before the To day", "the range ends (%s) before it starts (%s)",
			to.Format(time.DateOnly), from.Format(time.DateOnly))
	case !from.IsZero() && !to.IsZero() && to.Sub(from) > MaxBillingDays*24*time.Hour:
		return from, to, Invalid(op, "read at most 400 days at a time: split the range", "the range %s to %s is longer than %d days",
			from.Format(time.DateOnly), to.Format(time.DateOnly), MaxBillingDays)
	}
	return from, to, nil
}

// CheckBillingSnapshot validates s and returns it in its stored form: its day truncated, its
// times in UTC and its map copied.
func CheckBillingSnapshot(op string, s BillingSnapshot) (BillingSnapshot, error) {
	if s.ClientID == "" {
		return s, Invalid(op, "set BillingSnapshot.ClientID", "a snapshot without a client")
	}
	if s.Day.IsZero() {
		return s, Invalid(op, "set BillingSnapshot.Day to the day counted", "a snapshot without a day")
	}
	if s.Billable < 0 {
		return s, Invalid(op, "count users from zero", "a negative billable count (%d)", s.Billable)
	}
	s.Day = BillingDay(s.Day)
	s.TakenAt = Time(s.TakenAt)
	per := make(map[string]int, len(s.PerTenant))
	for k, v := range s.PerTenant {
		per[k] = v
	}
	s.PerTenant = per
	return s, nil
}

// ClientSettings are what an account decides about how a client's tenants are synced. Every
// field left unset (nil) takes the account's default (Settings.Defaults), and a default left
// unset takes the engine's configuration.
type ClientSettings struct {
	// AutoCreateContacts creates a PSA contact for a person with no matching contact.
	AutoCreateContacts *bool `json:"autoCreateContacts,omitempty"`
	// AutoCreateAssets switches the client's asset sync on: its tenants' devices are matched
	// with its PSA configuration items, which are created, updated, retired and brought back
	// with their devices. Off, the engine leaves the client's assets alone.
	AutoCreateAssets *bool `json:"autoCreateAssets,omitempty"`
	// Kinds are the kinds synced for the client's tenants; nil inherits, empty syncs none.
	Kinds []tenantsync.Kind `json:"kinds"`
	// AutoMonitorDomains announces the tenants' newly verified domains for monitoring (the
	// engine's domain.seen event) and fills the client's empty domain list from them.
	AutoMonitorDomains *bool `json:"autoMonitorDomains,omitempty"`

	UpdatedBy string    `json:"updatedBy,omitempty"` // filled by the caller
	UpdatedAt time.Time `json:"updatedAt"`
}

// Over returns s with every field s leaves unset taken from base.
func (s ClientSettings) Over(base ClientSettings) ClientSettings {
	out := s
	if out.AutoCreateContacts == nil {
		out.AutoCreateContacts = base.AutoCreateContacts
	}
	if out.AutoCreateAssets == nil {
		out.AutoCreateAssets = base.AutoCreateAssets
	}
	if out.Kinds == nil {
		out.Kinds = slices.Clone(base.Kinds)
	}
	if out.AutoMonitorDomains == nil {
		out.AutoMonitorDomains = base.AutoMonitorDomains
	}
	return out
}

// CheckSettings validates s and returns it in its stored form (kinds deduplicated, in
// AllKinds order; an empty, non-nil list kept empty).
func CheckSettings(op string, s ClientSettings) (ClientSettings, error) {
	if s.Kinds != nil {
		kinds := []tenantsync.Kind{}
		for _, k := range s.Kinds {
			if !k.Valid() {
				return s, Invalid(op, "use the kinds users, mailboxes, devices, domains, subscriptions, mfa, baseline", "unknown kind %q", k)
			}
		}
		for _, k := range tenantsync.AllKinds() {
			if slices.Contains(s.Kinds, k) {
				kinds = append(kinds, k)
			}
		}
		s.Kinds = kinds
	}
	s.UpdatedAt = Time(s.UpdatedAt)
	return s, nil
}

// Settings holds the account's default settings and each client's own.
type Settings interface {
	// Defaults returns the account's defaults; the zero ClientSettings when none were stored.
	Defaults(ctx context.Context) (ClientSettings, error)
	// PutDefaults replaces the account's defaults.
	PutDefaults(ctx context.Context, s ClientSettings) error
	// Client returns a client's own settings; the zero ClientSettings when none were stored.
	Client(ctx context.Context, clientID string) (ClientSettings, error)
	// PutClient replaces a client's own settings. The zero ClientSettings (every field unset)
	// removes them: the client then follows the defaults.
	PutClient(ctx context.Context, clientID string, s ClientSettings) error
	// ListClients returns every client's own settings, by client ID.
	ListClients(ctx context.Context) (map[string]ClientSettings, error)
}

// Unset reports whether s sets nothing: a client with such settings follows the defaults.
func (s ClientSettings) Unset() bool {
	return s.AutoCreateContacts == nil && s.AutoCreateAssets == nil && s.Kinds == nil &&
		s.AutoMonitorDomains == nil
}

// DisconnectRequest removes one stored connection and the links of the tenants reached
// through it, in one transaction.
type DisconnectRequest struct {
	// Name is the connection's name. ErrNotFound when the account has none of that name.
	Name string
	// TenantIDs are the tenants to unlink, as Tenants.Unlink does with Mode; a tenant that is
	// not linked is left as it is. ErrNotFound when the account has no such tenant.
	TenantIDs []string
	Mode      UnlinkMode
	// Actor is recorded in the feed entries.
	Actor string
	// At stamps the feed entries (the store's clock when zero).
	At time.Time
}

// Disconnection is what a disconnect changed.
type Disconnection struct {
	// Unlinked are the tenants whose link was removed, sorted, with the client each was
	// linked to.
	Unlinked map[string]string
}
