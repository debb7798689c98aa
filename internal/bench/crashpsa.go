package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	stdsync "sync"
	"syscall"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/sqlite"
)

// The PSA-call kills of the crash harness: the engine process kills itself (SIGKILL) right
// after the PSA carried out a call, before the tenant's sync commits. The PSA is the store's
// own contact directory, which outlives the process in the SQLite file, so after the restart
// the contact exists and the engine's store may not know it.
const (
	psaKillCreate       = "create"        // after a CreateContact
	psaKillCreateNoMail = "create-nomail" // after a CreateContact of a contact without an email
	psaKillActivate     = "set-active"    // after a SetContactActive (a deactivation or a reactivation)
)

func psaKillModes() []string { return []string{psaKillCreate, psaKillCreateNoMail, psaKillActivate} }

// killingContacts is the engine child's contact directory: the store's, killing the process
// right after the After-th successful call of its Mode. Before dying it prints what the call
// did ("psa-kill <mode> <client> <contact> <tenant> <object>"), so the harness checks that
// contact.
type killingContacts struct {
	tenantsync.Contacts
	lookup tenantsync.ClientLookup
	mode   string
	after  int

	mu stdsync.Mutex
	n  int
}

var _ tenantsync.ClientLookup = (*killingContacts)(nil)

// GetClient keeps the engine's client check: the store's directory knows its clients.
func (k *killingContacts) GetClient(ctx context.Context, clientID string) (tenantsync.Client, error) {
	return k.lookup.GetClient(ctx, clientID)
}

func (k *killingContacts) CreateContact(ctx context.Context, in tenantsync.Contact) (tenantsync.Contact, error) {
	out, err := k.Contacts.CreateContact(ctx, in)
	if err == nil && (k.mode == psaKillCreate || (k.mode == psaKillCreateNoMail && strings.TrimSpace(out.Email) == "")) {
		k.hit(out.ClientID, out.ID, in.TenantID, in.ObjectID)
	}
	return out, err
}

func (k *killingContacts) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	err := k.Contacts.SetContactActive(ctx, clientID, contactID, active)
	if err == nil && k.mode == psaKillActivate {
		k.hit(clientID, contactID, "-", "-")
	}
	return err
}

func (k *killingContacts) hit(clientID, contactID, tenantID, objectID string) {
	k.mu.Lock()
	k.n++
	n := k.n
	k.mu.Unlock()
	if n < k.after {
		return
	}
	fmt.Printf("psa-kill %s %s %s %s %s\n", k.mode, clientID, contactID, tenantID, objectID)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	// The signal ends the process; nothing after the call may run meanwhile.
	time.Sleep(time.Hour)
}

// psaKill is what a child reported before it killed itself.
type psaKill struct {
	mode, clientID, contactID, tenantID, objectID string
}

func parsePSAKill(line string) (psaKill, bool) {
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "psa-kill" {
		return psaKill{}, false
	}
	return psaKill{mode: f[1], clientID: f[2], contactID: f[3], tenantID: f[4], objectID: f[5]}, true
}

// clientIndex returns i of "client-%03d".
func clientIndex(clientID string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(clientID, "client-"))
	return n, err == nil && strings.HasPrefix(clientID, "client-")
}

// addNewcomers adds a few users each run, so every run has contacts to create: one person
// with a mailbox, and one without any email address (an unlicensed account), whose contact
// carries nothing but the user's identity to find it by.
func addNewcomers(w *testserver.World, rng *rand.Rand) {
	for range 2 {
		t := w.Tenants[rng.IntN(len(w.Tenants))]
		n := rng.IntN(1e9)
		upn := fmt.Sprintf("crash.%d@%s", n, t.DefaultDomain)
		_, _ = w.AddUser(t.ID, testserver.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Crash %d", n),
			GivenName: "Crash", Surname: fmt.Sprint(n), Mail: upn, ProxyAddresses: []string{"SMTP:" + upn},
			AccountEnabled: true, UserType: "Member", MailboxType: "UserMailbox"})
		t = w.Tenants[rng.IntN(len(w.Tenants))]
		n = rng.IntN(1e9)
		upn = fmt.Sprintf("nomail.%d@%s", n, t.DefaultDomain)
		_, _ = w.AddUser(t.ID, testserver.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("No Mail %d", n),
			GivenName: "NoMail", Surname: fmt.Sprint(n), AccountEnabled: true, UserType: "Member"})
	}
}

// contactFigures counts the contacts of the store's directory.
type contactFigures struct {
	contacts, noMail, linked int
}

// checkContacts checks the store's contact directory against its links: no user has two
// contacts (by the identity the engine sets on every contact it creates), and, for each tenant
// of tenants (all of them when nil), every contact carrying one of its users is linked to that
// user, and every linked contact is active exactly when its user exists and is enabled.
func checkContacts(ctx context.Context, st *sqlite.Store, w *testserver.World, tenants []string) (int, contactFigures, error) {
	checks := 0
	var fig contactFigures
	want := map[string]bool{}
	for _, id := range tenants {
		want[id] = true
	}
	for i, t := range w.Tenants {
		client := clientID(i)
		cs, err := st.Directory(account).ListContacts(ctx, client)
		if err != nil {
			return checks, fig, err
		}
		links, err := st.Account(account).Links.List(ctx, t.ID)
		if err != nil {
			return checks, fig, err
		}
		linkOf := map[string]store.ContactLink{}
		for _, l := range links {
			linkOf[psaUserKey(t.ID, l.ObjectID)] = l
		}
		byKey := map[string]string{}
		for _, c := range cs {
			fig.contacts++
			if strings.TrimSpace(c.Email) == "" {
				fig.noMail++
			}
			k := c.IdempotencyKey()
			checks++
			if k == "" {
				return checks, fig, fmt.Errorf("contact %s of %s carries no user identity: every contact here is the engine's", c.ID, client)
			}
			if other, dup := byKey[k]; dup {
				return checks, fig, fmt.Errorf("duplicate contact: user %s/%s has contacts %s and %s in %s", c.TenantID, c.ObjectID, other, c.ID, client)
			}
			byKey[k] = c.ID
		}
		if tenants != nil && !want[t.ID] {
			continue
		}
		for _, c := range cs {
			k := c.IdempotencyKey()
			checks++
			l, ok := linkOf[k]
			if !ok || l.ContactID != c.ID {
				return checks, fig, fmt.Errorf("contact %s (email %q) carries user %s/%s but is not linked to it (link: %+v)", c.ID, c.Email, c.TenantID, c.ObjectID, l)
			}
			fig.linked++
		}
		for _, l := range links {
			c, err := st.Directory(account).GetContact(ctx, client, l.ContactID)
			checks++
			if err != nil {
				return checks, fig, fmt.Errorf("contact %s linked to %s/%s: %w", l.ContactID, t.ID, l.ObjectID, err)
			}
			u := t.User(l.ObjectID)
			active := u != nil && !u.Deleted && u.AccountEnabled
			checks++
			if c.Active != active {
				return checks, fig, fmt.Errorf("contact %s of user %s/%s is active=%v, the truth says it should be %v", c.ID, t.ID, l.ObjectID, c.Active, active)
			}
		}
	}
	return checks, fig, nil
}

// checkPSAKill checks the store after a child killed itself after a PSA call: the killed
// tenant syncs on it, then the contact the call wrote is its user's only contact and is
// linked, and the tenant's contacts agree with the truth.
func checkPSAKill(ctx context.Context, dir string, e endpoints, w *testserver.World, offset time.Duration, k psaKill) (int, error) {
	i, ok := clientIndex(k.clientID)
	if !ok || i >= len(e.Tenants) {
		return 0, fmt.Errorf("the child reported an unknown client %q", k.clientID)
	}
	tenant := e.Tenants[i]
	checks, err := checkStore(ctx, dir, e, offset, tenant)
	if err != nil {
		return checks, err
	}
	clock := &offsetClock{}
	clock.Advance(offset)
	st, err := openCrashStore(ctx, dir, clock)
	if err != nil {
		return checks, err
	}
	defer st.Close()
	c, err := st.Directory(account).GetContact(ctx, k.clientID, k.contactID)
	checks++
	if err != nil {
		return checks, fmt.Errorf("the contact %s the PSA wrote before the kill: %w", k.contactID, err)
	}
	links, err := st.Account(account).Links.List(ctx, tenant)
	if err != nil {
		return checks, err
	}
	checks++
	linked := false
	for _, l := range links {
		if l.ContactID == c.ID && strings.EqualFold(l.ObjectID, c.ObjectID) {
			linked = true
		}
	}
	if !linked {
		return checks, fmt.Errorf("after the %s kill, contact %s of user %s/%s is not linked to its user", k.mode, c.ID, c.TenantID, c.ObjectID)
	}
	n, _, err := checkContacts(ctx, st, w, []string{tenant})
	return checks + n, err
}
