package memory

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

type billingKey struct {
	client string
	day    int64 // Unix seconds of the day's midnight UTC
}

// PutBillingSnapshot implements store.BillingHistory.
func (s *backend) PutBillingSnapshot(_ context.Context, acct string, snap store.BillingSnapshot) error {
	const op = "PutBillingSnapshot"
	snap, err := store.CheckBillingSnapshot(op, snap)
	if err != nil {
		return err
	}
	return s.view(op, acct, true, func(a *account) error {
		a.billing[billingKey{snap.ClientID, snap.Day.Unix()}] = snap
		return nil
	})
}

// BillingSnapshots implements store.BillingHistory.
func (s *backend) BillingSnapshots(_ context.Context, acct string, q store.BillingQuery) ([]store.BillingSnapshot, error) {
	const op = "BillingSnapshots"
	from, to, err := store.CheckBillingQuery(op, q)
	if err != nil {
		return nil, err
	}
	out := []store.BillingSnapshot{}
	err = s.view(op, acct, false, func(a *account) error {
		for k, snap := range a.billing {
			if (q.ClientID != "" && k.client != q.ClientID) || (!from.IsZero() && snap.Day.Before(from)) || (!to.IsZero() && snap.Day.After(to)) {
				continue
			}
			snap.PerTenant = maps.Clone(snap.PerTenant)
			out = append(out, snap)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b store.BillingSnapshot) int {
		if c := strings.Compare(a.ClientID, b.ClientID); c != 0 {
			return c
		}
		return a.Day.Compare(b.Day)
	})
	return out, err
}

// GetSettings returns the settings of clientID ("" for the defaults).
func (s *backend) GetSettings(_ context.Context, acct, clientID string) (store.ClientSettings, error) {
	var out store.ClientSettings
	err := s.view("GetSettings", acct, false, func(a *account) error {
		out = cloneSettings(a.settings[clientID])
		return nil
	})
	return out, err
}

// PutSettings replaces the settings of clientID ("" for the defaults).
func (s *backend) PutSettings(_ context.Context, acct, clientID string, cs store.ClientSettings) error {
	const op = "PutSettings"
	cs, err := store.CheckSettings(op, cs)
	if err != nil {
		return err
	}
	return s.view(op, acct, true, func(a *account) error {
		if cs.Unset() && clientID != "" {
			delete(a.settings, clientID)
			return nil
		}
		a.settings[clientID] = cloneSettings(cs)
		return nil
	})
}

// ListClientSettings implements store.Settings.
func (s *backend) ListClientSettings(_ context.Context, acct string) (map[string]store.ClientSettings, error) {
	out := map[string]store.ClientSettings{}
	err := s.view("ListSettings", acct, false, func(a *account) error {
		for id, cs := range a.settings {
			if id != "" {
				out[id] = cloneSettings(cs)
			}
		}
		return nil
	})
	return out, err
}

func cloneSettings(cs store.ClientSettings) store.ClientSettings {
	cs.Kinds = slices.Clone(cs.Kinds)
	return cs
}

// Disconnect implements store.Connections.
func (s *backend) Disconnect(_ context.Context, acct string, r store.DisconnectRequest) (store.Disconnection, error) {
	const op = "Disconnect"
	r, err := kit.CheckDisconnect(op, acct, r)
	if err != nil {
		return store.Disconnection{}, err
	}
	out := store.Disconnection{Unlinked: map[string]string{}}
	err = s.view(op, acct, false, func(a *account) error {
		if _, ok := a.conns[r.Name]; !ok {
			return kit.ConnectionNotFound(op, r.Name)
		}
		for _, id := range r.TenantIDs {
			if _, ok := a.tenants[id]; !ok {
				return kit.TenantNotFound(op, id)
			}
		}
		for _, id := range r.TenantIDs {
			t := a.tenants[id]
			if !t.rec.Linked() {
				continue
			}
			out.Unlinked[id] = t.rec.ClientID
			unlink(a, t, r.Mode)
		}
		delete(a.conns, r.Name)
		at := store.Time(r.At)
		if at.IsZero() {
			at = s.now()
		}
		a.feed.append(kit.DisconnectEntries(r, out.Unlinked, at), at.Add(-s.retention))
		return nil
	})
	return out, err
}
