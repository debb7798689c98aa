package kit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// BaselineID is the item ID of a tenant's single security baseline.
const BaselineID = "baseline"

// Item is one mirrored object as stored: its ID within the tenant and kind, its JSON encoding
// and a digest of that encoding, which tells an update from a no-op without reading the data.
type Item struct {
	ID   string
	Data []byte
	Hash string
}

func newItem(id string, v any) (Item, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Item{}, err
	}
	sum := sha256.Sum256(data)
	return Item{ID: id, Data: data, Hash: hex.EncodeToString(sum[:16])}, nil
}

// Encode turns the items of r into stored items for tenantID, last one winning when an ID
// repeats. Each item's TenantID is set to tenantID; an item of another tenant or without an ID
// is invalid input.
func Encode(op, tenantID string, r *tenantsync.KindResult) ([]Item, error) {
	var out []Item
	add := func(id, itemTenant string, set func(), v any) error {
		if id == "" {
			return store.Invalid(op, "every mirrored item needs its ID (object ID, device ID, domain name, SKU ID)", "%s item without an ID", r.Kind)
		}
		if itemTenant != "" && itemTenant != tenantID {
			return store.Invalid(op, "apply each tenant's items to that tenant", "%s item %s belongs to tenant %s, not %s", r.Kind, id, itemTenant, tenantID)
		}
		set()
		it, err := newItem(id, v)
		if err != nil {
			return store.Invalid(op, "", "encode %s item %s: %v", r.Kind, id, err)
		}
		out = append(out, it)
		return nil
	}
	var err error
	switch r.Kind {
	case tenantsync.KindUsers:
		for _, u := range r.Users {
			if err = add(u.ObjectID, u.TenantID, func() { u.TenantID = tenantID }, &u); err != nil {
				return nil, err
			}
		}
	case tenantsync.KindMailboxes:
		for _, m := range r.Mailboxes {
			if err = add(m.ObjectID, m.TenantID, func() { m.TenantID = tenantID }, &m); err != nil {
				return nil, err
			}
		}
	case tenantsync.KindDevices:
		for _, d := range r.Devices {
			if err = add(d.ID, d.TenantID, func() { d.TenantID = tenantID }, &d); err != nil {
				return nil, err
			}
		}
	case tenantsync.KindDomains:
		for _, d := range r.Domains {
			if err = add(d.Name, d.TenantID, func() { d.TenantID = tenantID }, &d); err != nil {
				return nil, err
			}
		}
	case tenantsync.KindSubscriptions:
		for _, s := range r.Subscriptions {
			if err = add(s.SKUID, s.TenantID, func() { s.TenantID = tenantID }, &s); err != nil {
				return nil, err
			}
		}
	case tenantsync.KindMFA:
		for _, m := range r.MFA {
			if err = add(m.UserID, m.TenantID, func() { m.TenantID = tenantID }, &m); err != nil {
				return nil, err
			}
		}
	case tenantsync.KindBaseline:
		if b := r.Baseline; b != nil {
			cp := *b
			if err = add(BaselineID, cp.TenantID, func() { cp.TenantID = tenantID }, &cp); err != nil {
				return nil, err
			}
		}
	default:
		return nil, store.Invalid(op, "use one of the tenantsync.Kind constants", "unknown kind %q", r.Kind)
	}
	return dedupe(out), nil
}

// dedupe keeps the last item of each ID, in first-seen order.
func dedupe(items []Item) []Item {
	pos := make(map[string]int, len(items))
	out := items[:0:0]
	for _, it := range items {
		if i, ok := pos[it.ID]; ok {
			out[i] = it
			continue
		}
		pos[it.ID] = len(out)
		out = append(out, it)
	}
	return out
}

// Decode builds a complete KindResult from stored item data, ordered by item ID.
func Decode(op string, kind tenantsync.Kind, cursor string, items []Item) (*tenantsync.KindResult, error) {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b Item) int { return compareStrings(a.ID, b.ID) })
	r := &tenantsync.KindResult{Kind: kind, Mode: tenantsync.Complete, Cursor: cursor}
	for _, it := range items {
		var err error
		switch kind {
		case tenantsync.KindUsers:
			err = decodeAppend(it.Data, &r.Users)
		case tenantsync.KindMailboxes:
			err = decodeAppend(it.Data, &r.Mailboxes)
		case tenantsync.KindDevices:
			err = decodeAppend(it.Data, &r.Devices)
		case tenantsync.KindDomains:
			err = decodeAppend(it.Data, &r.Domains)
		case tenantsync.KindSubscriptions:
			err = decodeAppend(it.Data, &r.Subscriptions)
		case tenantsync.KindMFA:
			err = decodeAppend(it.Data, &r.MFA)
		case tenantsync.KindBaseline:
			var b tenantsync.SecurityBaseline
			err = json.Unmarshal(it.Data, &b)
			r.Baseline = &b
		default:
			return nil, store.Invalid(op, "use one of the tenantsync.Kind constants", "unknown kind %q", kind)
		}
		if err != nil {
			return nil, store.Internal(op, "", err)
		}
	}
	return r, nil
}

func decodeAppend[T any](data []byte, dst *[]T) error {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*dst = append(*dst, v)
	return nil
}

// DecodeUser decodes one stored user.
func DecodeUser(op string, data []byte) (tenantsync.User, error) {
	var u tenantsync.User
	if err := json.Unmarshal(data, &u); err != nil {
		return u, store.Internal(op, "", err)
	}
	return u, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
