package kit

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// BaselineID is the item ID of a tenant's single security baseline.
const BaselineID = "baseline"

// OrganizationID is the item ID of a tenant's single organization details.
const OrganizationID = "organization"

// Item is one mirrored object as stored: its ID within the tenant and kind, its JSON encoding
// and a digest of that encoding, which tells an update from a no-op without reading the data.
//
// Value, when set, is Data decoded (a tenantsync.User, Mailbox, ... by kind). It is shared
// and never modified: Decode hands out copies of it, so a store can keep decoded items and
// serve reads without decoding them again.
type Item struct {
	ID    string
	Data  []byte
	Hash  string
	Value any
}

// codec is what differs between kinds: which field of a KindResult holds the items, how an
// item names its ID and tenant, and which of its fields are slices that copies must not share.
type codec[T any] struct {
	get    func(r *tenantsync.KindResult) []T
	set    func(r *tenantsync.KindResult, items []T)
	id     func(v *T) string
	tenant func(v *T) *string
	// clone replaces v's slices and pointers with copies taken from a.
	clone func(v *T, a *strs)
}

// kindCodec is a codec with its item type erased, so codecs of every kind sit in one table.
type kindCodec interface {
	encode(op, tenantID string, r *tenantsync.KindResult, keep bool) ([]Item, error)
	decode(data []byte) (any, error)
	fill(op string, r *tenantsync.KindResult, items []Item) error
	among(r, out *tenantsync.KindResult, want map[string]bool)
}

func noClone[T any](*T, *strs) {}

var codecs = map[tenantsync.Kind]kindCodec{
	tenantsync.KindUsers: codec[tenantsync.User]{
		get: func(r *tenantsync.KindResult) []tenantsync.User { return r.Users },
		set: func(r *tenantsync.KindResult, v []tenantsync.User) { r.Users = v },
		id:  func(v *tenantsync.User) string { return v.ObjectID }, tenant: func(v *tenantsync.User) *string { return &v.TenantID },
		clone: func(v *tenantsync.User, a *strs) {
			v.ProxyAddresses, v.OtherMails = a.clone(v.ProxyAddresses), a.clone(v.OtherMails)
			v.BusinessPhones, v.AssignedSKUs = a.clone(v.BusinessPhones), a.clone(v.AssignedSKUs)
		},
	},
	tenantsync.KindMailboxes: codec[tenantsync.Mailbox]{
		get: func(r *tenantsync.KindResult) []tenantsync.Mailbox { return r.Mailboxes },
		set: func(r *tenantsync.KindResult, v []tenantsync.Mailbox) { r.Mailboxes = v },
		id:  func(v *tenantsync.Mailbox) string { return v.ObjectID }, tenant: func(v *tenantsync.Mailbox) *string { return &v.TenantID },
		clone: func(v *tenantsync.Mailbox, a *strs) {
			v.Aliases, v.AssignedSKUs = a.clone(v.Aliases), a.clone(v.AssignedSKUs)
		},
	},
	tenantsync.KindDevices: codec[tenantsync.Device]{
		get: func(r *tenantsync.KindResult) []tenantsync.Device { return r.Devices },
		set: func(r *tenantsync.KindResult, v []tenantsync.Device) { r.Devices = v },
		id:  func(v *tenantsync.Device) string { return v.ID }, tenant: func(v *tenantsync.Device) *string { return &v.TenantID },
		clone: noClone[tenantsync.Device],
	},
	tenantsync.KindDomains: codec[tenantsync.Domain]{
		get: func(r *tenantsync.KindResult) []tenantsync.Domain { return r.Domains },
		set: func(r *tenantsync.KindResult, v []tenantsync.Domain) { r.Domains = v },
		id:  func(v *tenantsync.Domain) string { return v.Name }, tenant: func(v *tenantsync.Domain) *string { return &v.TenantID },
		clone: func(v *tenantsync.Domain, a *strs) { v.Services = a.clone(v.Services) },
	},
	tenantsync.KindSubscriptions: codec[tenantsync.Subscription]{
		get: func(r *tenantsync.KindResult) []tenantsync.Subscription { return r.Subscriptions },
		set: func(r *tenantsync.KindResult, v []tenantsync.Subscription) { r.Subscriptions = v },
		id:  func(v *tenantsync.Subscription) string { return v.SKUID }, tenant: func(v *tenantsync.Subscription) *string { return &v.TenantID },
		clone: noClone[tenantsync.Subscription],
	},
	tenantsync.KindMFA: codec[tenantsync.MFAState]{
		get: func(r *tenantsync.KindResult) []tenantsync.MFAState { return r.MFA },
		set: func(r *tenantsync.KindResult, v []tenantsync.MFAState) { r.MFA = v },
		id:  func(v *tenantsync.MFAState) string { return v.UserID }, tenant: func(v *tenantsync.MFAState) *string { return &v.TenantID },
		clone: func(v *tenantsync.MFAState, a *strs) { v.Methods = a.clone(v.Methods) },
	},
	tenantsync.KindBaseline: codec[tenantsync.SecurityBaseline]{
		get: func(r *tenantsync.KindResult) []tenantsync.SecurityBaseline {
			if r.Baseline == nil {
				return nil
			}
			return []tenantsync.SecurityBaseline{*r.Baseline}
		},
		set: func(r *tenantsync.KindResult, v []tenantsync.SecurityBaseline) {
			if len(v) > 0 {
				r.Baseline = &v[0]
			}
		},
		id:     func(*tenantsync.SecurityBaseline) string { return BaselineID },
		tenant: func(v *tenantsync.SecurityBaseline) *string { return &v.TenantID },
		clone: func(v *tenantsync.SecurityBaseline, _ *strs) {
			if v.SecurityDefaults != nil {
				on := *v.SecurityDefaults
				v.SecurityDefaults = &on
			}
			v.CAPolicies = slices.Clone(v.CAPolicies)
			if v.MFA != nil {
				m := *v.MFA
				m.AdminsWithoutMFA = slices.Clone(m.AdminsWithoutMFA)
				v.MFA = &m
			}
		},
	},
	tenantsync.KindGroups: codec[tenantsync.Group]{
		get: func(r *tenantsync.KindResult) []tenantsync.Group { return r.Groups },
		set: func(r *tenantsync.KindResult, v []tenantsync.Group) { r.Groups = v },
		id:  func(v *tenantsync.Group) string { return v.ID }, tenant: func(v *tenantsync.Group) *string { return &v.TenantID },
		clone: noClone[tenantsync.Group],
	},
	tenantsync.KindOrganization: codec[tenantsync.Organization]{
		get: func(r *tenantsync.KindResult) []tenantsync.Organization {
			if r.Organization == nil {
				return nil
			}
			return []tenantsync.Organization{*r.Organization}
		},
		set: func(r *tenantsync.KindResult, v []tenantsync.Organization) {
			if len(v) > 0 {
				r.Organization = &v[0]
			}
		},
		id:     func(*tenantsync.Organization) string { return OrganizationID },
		tenant: func(v *tenantsync.Organization) *string { return &v.TenantID },
		clone: func(v *tenantsync.Organization, a *strs) {
			v.Phones, v.TechnicalNotificationMails = a.clone(v.Phones), a.clone(v.TechnicalNotificationMails)
		},
	},
	tenantsync.KindSignIns: codec[tenantsync.SignInActivity]{
		get: func(r *tenantsync.KindResult) []tenantsync.SignInActivity { return r.SignIns },
		set: func(r *tenantsync.KindResult, v []tenantsync.SignInActivity) { r.SignIns = v },
		id:  func(v *tenantsync.SignInActivity) string { return v.UserID }, tenant: func(v *tenantsync.SignInActivity) *string { return &v.TenantID },
		clone: noClone[tenantsync.SignInActivity],
	},
	tenantsync.KindMailboxUsage: codec[tenantsync.MailboxUsage]{
		get: func(r *tenantsync.KindResult) []tenantsync.MailboxUsage { return r.MailboxUsage },
		set: func(r *tenantsync.KindResult, v []tenantsync.MailboxUsage) { r.MailboxUsage = v },
		id:  func(v *tenantsync.MailboxUsage) string { return v.UserPrincipalName }, tenant: func(v *tenantsync.MailboxUsage) *string { return &v.TenantID },
		clone: noClone[tenantsync.MailboxUsage],
	},
}

func codecOf(op string, kind tenantsync.Kind) (kindCodec, error) {
	c, ok := codecs[kind]
	if !ok {
		return nil, store.Invalid(op, "use one of the tenantsync.Kind constants", "unknown kind %q", kind)
	}
	return c, nil
}

// Encode turns the items of r into stored items for tenantID, last one winning when an ID
// repeats. Each item's TenantID is set to tenantID; an item of another tenant or without an ID
// is invalid input. The items carry no Value.
func Encode(op, tenantID string, r *tenantsync.KindResult) ([]Item, error) {
	return encode(op, tenantID, r, false)
}

// ValueKeeper is implemented by a store (its Tx, or its stage backend) that keeps items
// decoded: the items it is handed then carry their Value as well, copied from the result
// rather than decoded back from Data.
type ValueKeeper interface {
	KeepsValues() bool
}

func keepsValues(x any) bool {
	k, ok := x.(ValueKeeper)
	return ok && k.KeepsValues()
}

func encode(op, tenantID string, r *tenantsync.KindResult, keep bool) ([]Item, error) {
	c, err := codecOf(op, r.Kind)
	if err != nil {
		return nil, err
	}
	return c.encode(op, tenantID, r, keep)
}

// encode marshals each item; with keep, each also carries a copy of its value that shares no
// memory with r.
func (c codec[T]) encode(op, tenantID string, r *tenantsync.KindResult, keep bool) ([]Item, error) {
	src := c.get(r)
	out := make([]Item, 0, len(src))
	var a strs
	for _, v := range src {
		id := c.id(&v)
		if id == "" {
			return nil, store.Invalid(op, "every mirrored item needs its ID (object ID, device ID, domain name, SKU ID)", "%s item without an ID", r.Kind)
		}
		if t := c.tenant(&v); *t != "" && *t != tenantID {
			return nil, store.Invalid(op, "apply each tenant's items to that tenant", "%s item %s belongs to tenant %s, not %s", r.Kind, id, *t, tenantID)
		}
		*c.tenant(&v) = tenantID
		data, err := json.Marshal(&v)
		if err != nil {
			return nil, store.Invalid(op, "pass items whose fields JSON can encode (finite numbers, valid times)", "encode %s item %s: %v", r.Kind, id, err)
		}
		sum := sha256.Sum256(data)
		it := Item{ID: id, Data: data, Hash: hex.EncodeToString(sum[:16])}
		if keep {
			c.clone(&v, &a)
			it.Value = v
		}
		out = append(out, it)
	}
	return dedupe(out), nil
}

// dedupe keeps the last item of each ID, in first-seen order.
func dedupe(items []Item) []Item {
	pos := make(map[string]int, len(items))
	out := items[:0]
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

// Decoded returns it with Value set from Data, for a store that keeps decoded items.
func Decoded(op string, kind tenantsync.Kind, it Item) (Item, error) {
	if it.Value != nil {
		return it, nil
	}
	c, err := codecOf(op, kind)
	if err != nil {
		return Item{}, err
	}
	if it.Value, err = c.decode(it.Data); err != nil {
		return Item{}, unreadable(op, kind, it.ID, err)
	}
	return it, nil
}

func (c codec[T]) decode(data []byte) (any, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

// unreadable is the error of a stored item that does not decode: not a passing outage, so it
// says how to replace the item rather than to retry.
func unreadable(op string, kind tenantsync.Kind, id string, err error) error {
	return store.Errorf(tenantsync.ErrUnavailable, op, "", "the stored item is corrupt; apply a complete listing of the kind to replace it",
		"stored %s item %s does not decode: %v", kind, id, err)
}

// Decode builds a complete KindResult from stored items, ordered by item ID; it sorts items in
// place. Items with a Value are copied from it; the others are decoded from Data. The result
// shares no memory with the items, so the caller may change it freely.
func Decode(op string, kind tenantsync.Kind, cursor string, items []Item) (*tenantsync.KindResult, error) {
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.ID, b.ID) })
	return DecodeOrdered(op, kind, cursor, items)
}

// DecodeOrdered is Decode of items already ordered by ID, which it leaves as they are: a store
// may hand it items it keeps.
func DecodeOrdered(op string, kind tenantsync.Kind, cursor string, items []Item) (*tenantsync.KindResult, error) {
	c, err := codecOf(op, kind)
	if err != nil {
		return nil, err
	}
	r := &tenantsync.KindResult{Kind: kind, Mode: tenantsync.Complete, Cursor: cursor}
	if err := c.fill(op, r, items); err != nil {
		return nil, err
	}
	return r, nil
}

func (c codec[T]) fill(op string, r *tenantsync.KindResult, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	out := make([]T, len(items))
	var a strs
	for i, it := range items {
		if v, ok := it.Value.(T); ok {
			out[i] = v
			c.clone(&out[i], &a)
			continue
		}
		if err := json.Unmarshal(it.Data, &out[i]); err != nil {
			return unreadable(op, r.Kind, it.ID, err)
		}
	}
	c.set(r, out)
	return nil
}

// DecodeChosen builds the result ItemsReader.ReadItems returns from the stored items chosen:
// Decode's, as a change set without a cursor.
func DecodeChosen(op string, kind tenantsync.Kind, items []Item) (*tenantsync.KindResult, error) {
	r, err := Decode(op, kind, "", items)
	if err != nil {
		return nil, err
	}
	r.Mode = tenantsync.Changes
	return r, nil
}

// Among returns the items of r, a kind's whole mirror as ReadKind returns it, among ids, as
// ItemsReader.ReadItems returns them. The result shares items with r.
func Among(r *tenantsync.KindResult, ids []string) *tenantsync.KindResult {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := &tenantsync.KindResult{Kind: r.Kind, Mode: tenantsync.Changes}
	if c, ok := codecs[r.Kind]; ok {
		c.among(r, out, want)
	}
	return out
}

func (c codec[T]) among(r, out *tenantsync.KindResult, want map[string]bool) {
	var chosen []T
	for _, v := range c.get(r) {
		if want[c.id(&v)] {
			chosen = append(chosen, v)
		}
	}
	c.set(out, chosen)
}

// DecodeUser returns the user of a stored users item.
func DecodeUser(op string, it Item) (tenantsync.User, error) {
	r, err := Decode(op, tenantsync.KindUsers, "", []Item{it})
	if err != nil {
		return tenantsync.User{}, err
	}
	return r.Users[0], nil
}

// strs hands out copies of string slices carved from shared chunks, so copying the slices of
// 10,000 items takes a few allocations rather than tens of thousands. Each copy's capacity ends
// at its length: appending to one reallocates instead of overwriting its neighbour.
type strs struct{ buf []string }

func (a *strs) clone(s []string) []string {
	if s == nil {
		return nil
	}
	if len(a.buf)+len(s) > cap(a.buf) {
		a.buf = make([]string, 0, max(1024, len(s)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, s...)
	return a.buf[n:len(a.buf):len(a.buf)]
}
