package kit

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync/store"
)

type billingBackend interface {
	PutBillingSnapshot(ctx context.Context, account string, s store.BillingSnapshot) error
	BillingSnapshots(ctx context.Context, account string, q store.BillingQuery) ([]store.BillingSnapshot, error)
}

type settingsBackend interface {
	// GetSettings and PutSettings read and replace the settings of clientID, "" standing for
	// the account's defaults.
	GetSettings(ctx context.Context, account, clientID string) (store.ClientSettings, error)
	PutSettings(ctx context.Context, account, clientID string, s store.ClientSettings) error
	ListClientSettings(ctx context.Context, account string) (map[string]store.ClientSettings, error)
	Disconnect(ctx context.Context, account string, r store.DisconnectRequest) (store.Disconnection, error)
}

type (
	billing  scoped
	settings scoped
)

var (
	_ store.BillingHistory = billing{}
	_ store.Settings       = settings{}
)

func (s billing) PutSnapshot(ctx context.Context, snap store.BillingSnapshot) error {
	return s.b.PutBillingSnapshot(ctx, s.account, snap)
}
func (s billing) Snapshots(ctx context.Context, q store.BillingQuery) ([]store.BillingSnapshot, error) {
	return s.b.BillingSnapshots(ctx, s.account, q)
}

func (s settings) Defaults(ctx context.Context) (store.ClientSettings, error) {
	return s.b.GetSettings(ctx, s.account, "")
}
func (s settings) PutDefaults(ctx context.Context, cs store.ClientSettings) error {
	return s.b.PutSettings(ctx, s.account, "", cs)
}
func (s settings) Client(ctx context.Context, clientID string) (store.ClientSettings, error) {
	if clientID == "" {
		return store.ClientSettings{}, store.Invalid("GetSettings", "pass the client's ID (Defaults reads the account's defaults)", "no client ID")
	}
	return s.b.GetSettings(ctx, s.account, clientID)
}
func (s settings) PutClient(ctx context.Context, clientID string, cs store.ClientSettings) error {
	if clientID == "" {
		return store.Invalid("PutSettings", "pass the client's ID (PutDefaults sets the account's defaults)", "no client ID")
	}
	return s.b.PutSettings(ctx, s.account, clientID, cs)
}
func (s settings) ListClients(ctx context.Context) (map[string]store.ClientSettings, error) {
	return s.b.ListClientSettings(ctx, s.account)
}

func (s connections) Disconnect(ctx context.Context, r store.DisconnectRequest) (store.Disconnection, error) {
	return s.b.Disconnect(ctx, s.account, r)
}

// CheckDisconnect validates r and returns its tenants sorted and deduplicated.
func CheckDisconnect(op, account string, r store.DisconnectRequest) (store.DisconnectRequest, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return r, err
	}
	if r.Name == "" {
		return r, store.Invalid(op, "name the connection to disconnect", "no connection name")
	}
	if r.Mode != store.UnlinkKeep && r.Mode != store.UnlinkPurge {
		return r, store.Invalid(op, "use store.UnlinkKeep or store.UnlinkPurge", "unknown unlink mode %d", int(r.Mode))
	}
	r.TenantIDs = slices.Compact(slices.Sorted(slices.Values(r.TenantIDs)))
	for _, id := range r.TenantIDs {
		if err := store.CheckTenant(op, account, id); err != nil {
			return r, err
		}
	}
	return r, nil
}

// DisconnectEntries returns the feed entries of a disconnect: one per tenant unlinked (by
// tenant ID, with its former client), then the connection's, whose data names the actor, the
// mode and the tenants unlinked.
func DisconnectEntries(r store.DisconnectRequest, unlinked map[string]string, at time.Time) []store.Change {
	var out []store.Change
	for _, id := range slices.Sorted(maps.Keys(unlinked)) {
		out = append(out, store.Change{At: at, TenantID: id, Type: store.ChangeTenantUnlinked, ItemID: id,
			ClientID: unlinked[id], Action: r.Mode.String()})
	}
	tenants := slices.Sorted(maps.Keys(unlinked))
	if tenants == nil {
		tenants = []string{}
	}
	data, _ := json.Marshal(struct {
		Actor    string   `json:"actor"`
		Mode     string   `json:"mode"`
		Unlinked []string `json:"unlinked"`
	}{r.Actor, r.Mode.String(), tenants}) // strings and a slice of strings always encode
	return append(out, store.Change{At: at, Type: store.ChangeDisconnected, ItemID: r.Name, Action: r.Mode.String(), Data: data})
}
