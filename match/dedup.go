package match

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// DuplicateKind names what makes records duplicates.
type DuplicateKind string

// Kinds of duplicates Dedup reports.
const (
	// SameAddress: contacts of one client whose main email addresses are the same mailbox.
	SameAddress DuplicateKind = "same-address"
	// AliasOverlap: contacts of one client sharing an address through their alternative emails.
	AliasOverlap DuplicateKind = "alias-overlap"
	// SameUserTwoTenants: one person reachable as a user in several tenants (a B2B guest of a
	// member elsewhere, or the same mailbox address in two tenants after a migration).
	SameUserTwoTenants DuplicateKind = "same-user-two-tenants"
)

// Duplicate is one group of records a person should look at together.
type Duplicate struct {
	Kind       DuplicateKind
	ClientID   string     // for contact duplicates
	ContactIDs []string   // sorted
	Users      []Identity // for SameUserTwoTenants, sorted
	Addresses  []string   // the canonical addresses they share, sorted
	Reason     string     // what was found
	Action     string     // what a person can do about it
}

// DedupReport lists duplicate groups, contact groups first (by client, then first contact ID),
// then user groups (by first address).
type DedupReport struct {
	Duplicates     []Duplicate
	ContactsSeen   int
	UsersSeen      int
	UnusableEmails int // contact emails that are not addresses
}

// Dedup finds contacts of one client that are the same person (a shared canonical address in
// Email or AltEmails, grouped transitively), and users of different tenants that are the same
// person (a shared primary, mail or guest home address). It compares only within a client:
// the same address under two clients is two companies' records of one outside person, not a
// duplicate to merge.
func Dedup(contacts []tenantsync.Contact, users []tenantsync.User) DedupReport {
	rep := DedupReport{ContactsSeen: len(contacts), UsersSeen: len(users)}
	rep.Duplicates = append(rep.Duplicates, contactDuplicates(contacts, &rep.UnusableEmails)...)
	rep.Duplicates = append(rep.Duplicates, userDuplicates(users)...)
	return rep
}

// unionFind groups items that share a key.
type unionFind []int

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = i
	}
	return u
}

func (u unionFind) find(i int) int {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

func (u unionFind) union(a, b int) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	u[rb] = ra
}

func contactDuplicates(contacts []tenantsync.Contact, unusable *int) []Duplicate {
	type addrKey struct{ client, addr string }
	first := make(map[addrKey]int)
	primary := make([]string, len(contacts))
	uf := newUnionFind(len(contacts))
	for i, c := range contacts {
		for j, e := range append([]string{c.Email}, c.AltEmails...) {
			if strings.TrimSpace(e) == "" {
				continue
			}
			key, err := NormalizeEmail(e)
			if err != nil {
				*unusable++
				continue
			}
			if j == 0 {
				primary[i] = key
			}
			k := addrKey{c.ClientID, key}
			if f, ok := first[k]; ok {
				uf.union(f, i)
			} else {
				first[k] = i
			}
		}
	}
	groups := make(map[int][]int)
	for i := range contacts {
		groups[uf.find(i)] = append(groups[uf.find(i)], i)
	}
	shared := make(map[int][]string)
	// An address is shared when two members of a group hold it.
	holders := make(map[addrKey]map[int]bool)
	for i, c := range contacts {
		for _, e := range append([]string{c.Email}, c.AltEmails...) {
			key, err := NormalizeEmail(e)
			if err != nil {
				continue
			}
			k := addrKey{c.ClientID, key}
			if holders[k] == nil {
				holders[k] = make(map[int]bool)
			}
			holders[k][i] = true
		}
	}
	for k, hs := range holders {
		if len(hs) < 2 {
			continue
		}
		for i := range hs {
			root := uf.find(i)
			if !slices.Contains(shared[root], k.addr) {
				shared[root] = append(shared[root], k.addr)
			}
			break
		}
	}
	var out []Duplicate
	for root, members := range groups {
		if len(members) < 2 {
			continue
		}
		kind := AliasOverlap
		for _, a := range members[1:] {
			if primary[a] != "" && primary[a] == primary[members[0]] {
				kind = SameAddress
			}
		}
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = contacts[m].ID
		}
		slices.Sort(ids)
		addrs := shared[root]
		slices.Sort(addrs)
		d := Duplicate{Kind: kind, ClientID: contacts[members[0]].ClientID, ContactIDs: ids, Addresses: addrs}
		if kind == SameAddress {
			d.Reason = strconv.Itoa(len(ids)) + " contacts of client " + d.ClientID + " have the same email address " + strings.Join(addrs, ", ")
		} else {
			d.Reason = strconv.Itoa(len(ids)) + " contacts of client " + d.ClientID + " share an address through their alternative emails: " + strings.Join(addrs, ", ")
		}
		d.Action = "merge them into one contact (keep the one linked to a Microsoft 365 user, if any), or give each its own address"
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Duplicate) int {
		return cmp.Or(cmp.Compare(a.ClientID, b.ClientID), cmp.Compare(a.ContactIDs[0], b.ContactIDs[0]))
	})
	return out
}

func userDuplicates(users []tenantsync.User) []Duplicate {
	byAddr := make(map[string][]int)
	for i, u := range users {
		var keys []string
		add := func(s string) {
			if k, err := NormalizeEmail(s); err == nil && !isOnMicrosoft(k[strings.LastIndexByte(k, '@')+1:]) && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		if p, err := ParseProxyAddress(primaryRaw(&u)); err == nil {
			add(p.Address.String())
		}
		add(u.Mail)
		if IsGuestUPN(u.UserPrincipalName) {
			if a, err := DecodeGuestUPN(u.UserPrincipalName); err == nil {
				add(a.String())
			}
		}
		for _, k := range keys {
			byAddr[k] = append(byAddr[k], i)
		}
	}
	uf := newUnionFind(len(users))
	sharedBy := make(map[string]bool)
	for k, idx := range byAddr {
		if !spansTenants(users, idx) {
			continue
		}
		sharedBy[k] = true
		for _, i := range idx[1:] {
			uf.union(idx[0], i)
		}
	}
	groups := make(map[int][]int)
	for i := range users {
		groups[uf.find(i)] = append(groups[uf.find(i)], i)
	}
	var out []Duplicate
	for _, members := range groups {
		if len(members) < 2 {
			continue
		}
		d := Duplicate{Kind: SameUserTwoTenants}
		tenants := map[string]bool{}
		for _, m := range members {
			d.Users = append(d.Users, IdentityOf(users[m]))
			tenants[users[m].TenantID] = true
		}
		for k, idx := range byAddr {
			if sharedBy[k] && slices.Contains(members, idx[0]) {
				d.Addresses = append(d.Addresses, k)
			}
		}
		slices.SortFunc(d.Users, func(a, b Identity) int {
			return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.ObjectID, b.ObjectID))
		})
		slices.Sort(d.Addresses)
		d.Reason = "the same person (" + strings.Join(d.Addresses, ", ") + ") is a user in " + strconv.Itoa(len(tenants)) + " tenants"
		d.Action = "keep one contact for the person: merge each user with the same contact, or exclude the guest accounts"
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Duplicate) int { return cmp.Compare(a.Addresses[0], b.Addresses[0]) })
	return out
}

func spansTenants(users []tenantsync.User, idx []int) bool {
	for _, i := range idx[1:] {
		if users[i].TenantID != users[idx[0]].TenantID {
			return true
		}
	}
	return false
}
