package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// demoSizes are the user counts of the first of n demo tenants: one large tenant, a mid-size one
// and a few of a hundred or so; the rest are small. None is larger than the largest, so a small
// -demo-huge-users makes a small demo, and there are never more sizes than tenants: the
// generator makes a tenant for every size, so -demo-tenants 2 gave 5.
func demoSizes(huge, n int) []int {
	sizes := []int{huge, 1200, 350, 120, 80}
	for i := range sizes {
		sizes[i] = min(sizes[i], huge)
	}
	return sizes[:min(len(sizes), max(n, 0))]
}

// demoTenant is what seeding needs of a generated tenant.
type demoTenant struct{ ID, Name, DefaultDomain string }

var legalSuffix = regexp.MustCompile(`(?i)[ ,]+(ltd\.?|limited|llc|inc\.?|gmbh|b\.v\.|pty ltd|plc|s\.a\.|ag|oy|sarl)$`)

// seedDemoPSA fills an empty store with the clients and contacts a PSA would already hold for
// the demo tenants, in the shapes real PSAs have: some clients carry the tenant's domain, some
// only a contact at that domain, some the tenant ID itself, some only a similar name; a few
// clients have no tenant at all. It does nothing when the store already has clients, so a
// restart keeps what the first run and the API changed. It reads the tenants through
// tenantsynctest, as a PSA developer's own test would.
func seedDemoPSA(ctx context.Context, st daemonStore, account string, fake *tenantsynctest.Server) (int, error) {
	existing, err := st.Directory(account).ListClients(ctx)
	if err != nil || len(existing) > 0 {
		return 0, err
	}
	n := 0
	for i, ti := range fake.Tenants() {
		t := demoTenant{ID: ti.ID, Name: ti.DisplayName, DefaultDomain: ti.DefaultDomain}
		c := tenantsync.Client{ID: fmt.Sprintf("client-%03d", i+1), Name: t.Name}
		switch i % 5 {
		case 0: // the PSA knows the client's web domain
			c.Domains = []string{t.DefaultDomain}
		case 1: // only the contacts' addresses tell the domain
			c.Name = legalSuffix.ReplaceAllString(t.Name, "")
		case 2: // a technician pasted the tenant ID into the PSA
			c.TenantIDs = []string{t.ID}
			c.Name = strings.ToUpper(legalSuffix.ReplaceAllString(t.Name, ""))
		case 3: // a name that differs in form only: needs a person to confirm
			c.Name = legalSuffix.ReplaceAllString(t.Name, "") + " Limited"
		case 4: // a secondary domain
			for _, d := range fake.Domains(t.ID) {
				if d.IsVerified && !d.IsDefault && !d.IsInitial {
					c.Domains = []string{d.Name}
					break
				}
			}
			if len(c.Domains) == 0 {
				c.Domains = []string{t.DefaultDomain}
			}
		}
		if err := st.Directory(account).PutClient(ctx, c); err != nil {
			return n, err
		}
		n++
		if err := seedContacts(ctx, st, account, c.ID, fake, t.ID, i); err != nil {
			return n, err
		}
	}
	for i, name := range []string{"Acme Holdings", "Northwind Traders", "Fabrikam Residences"} {
		c := tenantsync.Client{ID: fmt.Sprintf("client-x%02d", i+1), Name: name}
		if err := st.Directory(account).PutClient(ctx, c); err != nil {
			return n, err
		}
		n++
		if _, err := st.Directory(account).CreateContact(ctx, tenantsync.Contact{ClientID: c.ID, FirstName: "Pat", LastName: name, Email: fmt.Sprintf("pat.%d@gmail.com", i), Active: true}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// seedContacts gives a client contacts for about a third of its tenant's people, with the
// irregularities of real PSA data: addresses in other cases, an alias instead of the primary
// address, a missing phone, and one address entered twice (an ambiguity for the review queue).
func seedContacts(ctx context.Context, st daemonStore, account, clientID string, fake *tenantsynctest.Server, tenantID string, i int) error {
	made := 0
	mailboxes := fake.MailboxTypes(tenantID)
	for j, u := range fake.Users(tenantID) {
		if mt := mailboxes[u.ObjectID]; u.UserType == "Guest" || u.Mail == "" || (mt != "" && mt != "UserMailbox") || j%3 != 0 {
			continue
		}
		email := u.Mail
		switch j % 4 {
		case 0:
			email = strings.ToUpper(email[:1]) + email[1:]
		case 3:
			for _, p := range u.ProxyAddresses {
				if strings.HasPrefix(p, "smtp:") && !strings.Contains(p, ".onmicrosoft.com") {
					email = strings.TrimPrefix(p, "smtp:")
					break
				}
			}
		}
		c := tenantsync.Contact{ClientID: clientID, FirstName: u.GivenName, LastName: u.Surname, Email: email, JobTitle: u.JobTitle, Active: true}
		if _, err := st.Directory(account).CreateContact(ctx, c); err != nil {
			return err
		}
		made++
		if made == 2 && i%2 == 0 {
			// The same person entered twice: matching must not pick one by chance.
			c.Email = strings.ToLower(email)
			c.JobTitle = ""
			if _, err := st.Directory(account).CreateContact(ctx, c); err != nil {
				return err
			}
		}
		if made >= 400 {
			break
		}
	}
	return nil
}
