package tenantsynctest

import (
	"cmp"
	"maps"
	"slices"
	"strconv"

	"github.com/tenantsync/tenantsync"
)

// All returns every contact, of every client, ordered by ID. Unlike ListContacts it shows the
// (TenantID, ObjectID) each contact holds even under IdentityIgnored, where that is the
// identity it was created for: a test can tell which user a contact belongs to when the PSA
// cannot.
func (c *Contacts) All() []tenantsync.Contact {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]tenantsync.Contact, 0, len(c.contacts))
	for _, s := range c.contacts {
		out = append(out, clone(*s))
	}
	slices.SortFunc(out, func(a, b tenantsync.Contact) int { return cmp.Compare(idNumber(a.ID), idNumber(b.ID)) })
	return out
}

// Get returns one contact as All shows it, and whether it exists.
func (c *Contacts) Get(contactID string) (tenantsync.Contact, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.contacts[contactID]
	if !ok {
		return tenantsync.Contact{}, false
	}
	return clone(*s), true
}

// Calls returns how many calls each operation received, failed ones included.
func (c *Contacts) Calls() map[Op]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Duplicate is a group of two or more contacts of one client that are the same person by one
// measure.
type Duplicate struct {
	ClientID string
	// Key is what they share: "identity " followed by the IdempotencyKey, or "email " followed
	// by the email trimmed and lower-cased.
	Key      string
	Contacts []tenantsync.Contact // ordered by ID, shown as All shows them
}

// Duplicates returns every group of contacts of one client that share a (TenantID, ObjectID),
// active or not, or an email (trimmed, lower-cased) among active contacts, ordered by client
// and key. A contact can be in two groups. An inactive contact counts for identity: a second
// contact made for a user whose first was deactivated is a duplicate (the first should have
// been reactivated). A sync that never makes a second contact for one person leaves it empty
// (given contacts entered by hand were not duplicates to start with).
func (c *Contacts) Duplicates() []Duplicate {
	all := c.All()
	groups := map[[2]string][]tenantsync.Contact{}
	for _, ct := range all {
		if k := ct.IdempotencyKey(); k != "" {
			g := [2]string{ct.ClientID, "identity " + k}
			groups[g] = append(groups[g], ct)
		}
		if !ct.Active {
			continue
		}
		if e := normEmail(ct.Email); e != "" {
			g := [2]string{ct.ClientID, "email " + e}
			groups[g] = append(groups[g], ct)
		}
	}
	var out []Duplicate
	for g, cs := range groups {
		if len(cs) > 1 {
			out = append(out, Duplicate{ClientID: g[0], Key: g[1], Contacts: cs})
		}
	}
	slices.SortFunc(out, func(a, b Duplicate) int {
		return cmp.Or(cmp.Compare(a.ClientID, b.ClientID), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// idNumber orders the fake's numeric IDs numerically.
func idNumber(id string) int {
	n, _ := strconv.Atoi(id)
	return n
}
