package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// The soak's engine writes to a fake PSA whose faults are those of issue 19: the PSA side fails
// too. These limits keep its pauses and retries inside the soak's few minutes: a pause without
// Retry-After starts at a quarter second, a hung call is given up after a second, and a sync
// writes at most 20 contacts, so an initial sync of a 40-user tenant spreads over several.
const (
	soakPSACallsPerSecond = 400
	soakPSABurst          = 20
	soakPSACallsPerSync   = 20
	soakPSACallTimeout    = time.Second
	soakPSABackoff        = 250 * time.Millisecond
	soakPSAMaxBackoff     = 4 * time.Second
)

// psaSoak is the PSA of a soak run: a tenantsynctest.Contacts seeded with a client per tenant
// and a few contacts entered by hand, the users it refuses (poison records), the users who got
// an address another user had, and what the engine saw of its faults.
type psaSoak struct {
	fake *tenantsynctest.Contacts
	dir  *countingContacts
	// clientOf and tenantOf map the soak's tenants to their clients and back.
	clientOf map[string]string
	tenantOf map[string]string
	// poison holds, per tenant, the users the PSA refuses and the rule that refuses each.
	poison map[string]map[string]string
	// reused holds, per tenant, the users added with the address of a user just removed, whose
	// old contact the PSA's duplicate-email rule protects.
	reused map[string]map[string]string // tenant → newcomer → the leaver whose address it got
	// byHand are the contacts entered before the first sync: of a user (linked by email) or
	// of a person no tenant has (never to be touched).
	byHand, strangers map[string]bool
	// strangerOf lists each client's stranger contacts; takenOver the users given a stranger's
	// address while holding a contact of their own (the PSA refuses the address update).
	strangerOf map[string][]tenantsync.Contact
	takenOver  map[string]map[string]bool

	pending *time.Timer // the cycle's faults not yet injected
	pendMu  stdsync.Mutex
}

func clientID(i int) string { return fmt.Sprintf("client-%03d", i) }

// newPSASoak builds the fake PSA: one client per tenant; a contact entered by hand for about
// one person in five (no identity, so the engine must find it by email) and two strangers per
// client; two poison users per chosen tenant, one refused by ID and one whose surname is too
// long for the PSA; the duplicate-email rule on.
func newPSASoak(w *testserver.World, ids []string, clock tenantsynctest.Clock, rng *rand.Rand, identity tenantsynctest.Identity) (*psaSoak, error) {
	p := &psaSoak{fake: tenantsynctest.NewContacts(clock), clientOf: map[string]string{}, tenantOf: map[string]string{},
		poison: map[string]map[string]string{}, reused: map[string]map[string]string{}, byHand: map[string]bool{}, strangers: map[string]bool{},
		strangerOf: map[string][]tenantsync.Contact{}, takenOver: map[string]map[string]bool{}}
	p.dir = &countingContacts{Contacts: p.fake, faults: map[string]int{}, all: p.fake.All}
	p.fake.SetIdentity(identity)
	p.fake.SetUniqueEmails(true)
	p.fake.SetLatency(time.Millisecond)
	var refuse []string
	for i, id := range ids {
		t := w.Tenant(id)
		c := clientID(i)
		p.clientOf[id], p.tenantOf[c] = c, id
		p.fake.AddClient(c, t.Name)
		var candidates []*testserver.User
		for _, u := range t.ActiveUsers() {
			if !isCreatedPerson(u) {
				continue
			}
			if rng.IntN(5) == 0 {
				ct, err := p.fake.Seed(tenantsync.Contact{ClientID: c, FirstName: u.GivenName, LastName: u.Surname, Email: u.Mail,
					JobTitle: u.JobTitle, Active: true})
				if err != nil {
					return nil, err
				}
				p.byHand[ct.ID] = true
				continue
			}
			candidates = append(candidates, u)
		}
		for n := range 2 {
			ct, err := p.fake.Seed(tenantsync.Contact{ClientID: c, FirstName: "Former", LastName: fmt.Sprintf("Staff %d", n),
				Email: fmt.Sprintf("former.staff%d@%s", n, t.DefaultDomain), Active: true})
			if err != nil {
				return nil, err
			}
			p.strangers[ct.ID] = true
			p.strangerOf[c] = append(p.strangerOf[c], ct)
		}
		if i%10 != 3 || len(candidates) == 0 {
			continue
		}
		// Poison records: one user the PSA refuses by ID, one whose surname is longer than the
		// PSA accepts. Both need a contact created, so both fail on every attempt.
		u := candidates[rng.IntN(len(candidates))]
		refuse = append(refuse, u.ID)
		p.markPoison(id, u.ID, "refused by ID")
		n := rng.IntN(1e9)
		upn := fmt.Sprintf("long.surname.%d@%s", n, t.DefaultDomain)
		long, err := w.AddUser(id, testserver.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Poison %d", n),
			GivenName: "Poison", Surname: "Vanderbilt-Montgomery-Fitzwilliam-Featherstonehaugh " + fmt.Sprint(n), Mail: upn,
			ProxyAddresses: []string{"SMTP:" + upn}, AccountEnabled: true, UserType: "Member", MailboxType: "UserMailbox"})
		if err != nil {
			return nil, err
		}
		p.markPoison(id, long.ID, "surname too long")
	}
	p.fake.AddRule(tenantsynctest.RefuseObjectIDs(refuse...))
	p.fake.AddRule(tenantsynctest.MaxLength(tenantsynctest.FieldLastName, 50))
	return p, nil
}

// isCreatedPerson reports whether the engine creates a contact for u: an enabled member with a
// mailbox of its own, not an administrator (whom service-account rules may exclude).
func isCreatedPerson(u *testserver.User) bool {
	return u.AccountEnabled && u.UserType == "Member" && u.MailboxType == "UserMailbox" && u.Mail != "" && !u.IsAdmin &&
		u.GivenName != "" && u.Surname != ""
}

func (p *psaSoak) markPoison(tenantID, userID, why string) {
	if p.poison[tenantID] == nil {
		p.poison[tenantID] = map[string]string{}
	}
	p.poison[tenantID][userID] = why
}

func (p *psaSoak) isPoison(tenantID, userID string) bool {
	_, ok := p.poison[tenantID][userID]
	return ok
}

func (p *psaSoak) poisonCount() int {
	n := 0
	for _, us := range p.poison {
		n += len(us)
	}
	return n
}

// inject sets this cycle's quota and latency and schedules its faults, each at a random moment
// of the cycle's first second and a half (so they meet syncs in flight, not only their first
// calls). The faults come from rng here, on the soak's goroutine. It returns what clears them.
func (p *psaSoak) inject(rng *rand.Rand) func() {
	// An hourly quota that a busy cycle uses up: the PSA then answers 429 with Retry-After
	// until the hour has passed (the next cycle, two hours on).
	p.fake.SetQuota(20+rng.IntN(60), time.Hour)
	latency := time.Duration(1+rng.IntN(3)) * time.Millisecond
	if rng.IntN(4) == 0 {
		latency = 25 * time.Millisecond // a slow PSA
	}
	p.fake.SetLatency(latency)

	type timed struct {
		at time.Duration
		f  tenantsynctest.Fault
	}
	at := func() time.Duration { return time.Duration(rng.IntN(1500)) * time.Millisecond }
	var faults []timed
	// 429s for a period, with a Retry-After or without one (as ConnectWise and HaloPSA
	// sometimes send them).
	var ra time.Duration
	if rng.IntN(2) == 0 {
		ra = time.Duration(1+rng.IntN(2)) * time.Second
	}
	faults = append(faults, timed{at(), tenantsynctest.Fault{Effect: tenantsynctest.Throttle{RetryAfter: ra},
		For: time.Duration(500+rng.IntN(1500)) * time.Millisecond}})
	faults = append(faults, timed{at(), tenantsynctest.Fault{Effect: tenantsynctest.ServerError{Status: []int{500, 502, 503, 504}[rng.IntN(4)]},
		Times: 1 + rng.IntN(5)}})
	// A call that hangs until the engine gives up on it, and calls that time out by themselves.
	faults = append(faults, timed{at(), tenantsynctest.Fault{Effect: tenantsynctest.Timeout{}, Times: 1}})
	faults = append(faults, timed{at(), tenantsynctest.Fault{Effect: tenantsynctest.Timeout{After: 200 * time.Millisecond}, Times: 1 + rng.IntN(2)}})
	// Creates the PSA carries out but whose answer is lost: the engine must not create again.
	// From the cycle's start, to meet the few creates a cycle makes.
	faults = append(faults, timed{0, tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{},
		Ops: []tenantsynctest.Op{tenantsynctest.OpCreateContact}, Times: 1 + rng.IntN(3)}})
	if rng.IntN(2) == 0 {
		faults = append(faults, timed{at(), tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{},
			Ops: []tenantsynctest.Op{tenantsynctest.OpSetContactActive, tenantsynctest.OpUpdateContact}, Times: 1}})
	}
	slices.SortFunc(faults, func(a, b timed) int { return int(a.at - b.at) })

	start := time.Now()
	var next func(i int)
	next = func(i int) {
		p.pendMu.Lock()
		defer p.pendMu.Unlock()
		for ; i < len(faults) && time.Since(start) >= faults[i].at; i++ {
			_ = p.fake.Inject(faults[i].f)
		}
		if i < len(faults) {
			j := i
			p.pending = time.AfterFunc(faults[i].at-time.Since(start), func() { next(j) })
		} else {
			p.pending = nil
		}
	}
	next(0)
	return func() {
		p.pendMu.Lock()
		if p.pending != nil {
			p.pending.Stop()
			p.pending = nil
		}
		p.pendMu.Unlock()
		p.fake.ClearFaults()
	}
}

// settle ends the PSA's faults for the final rounds: no fault, no quota, little latency. Its
// rules (the poison records, the duplicate-email rule) stay: they are data, not weather.
func (p *psaSoak) settle() {
	p.fake.ClearFaults()
	p.fake.SetQuota(0, 0)
	p.fake.SetLatency(time.Millisecond)
}

// countingContacts is the directory the engine sees: the fake, with every error it returns
// counted by the fault it stands for.
type countingContacts struct {
	tenantsync.Contacts
	all    func() []tenantsync.Contact
	mu     stdsync.Mutex
	faults map[string]int
	// second lists the creates asked for a user the PSA already held a contact for (by
	// identity, in the same client): each one is a duplicate the engine tried to make.
	second []string
}

func (c *countingContacts) ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error) {
	cs, err := c.Contacts.ListContacts(ctx, clientID)
	c.count(err)
	return cs, err
}

func (c *countingContacts) CreateContact(ctx context.Context, in tenantsync.Contact) (tenantsync.Contact, error) {
	if k := in.IdempotencyKey(); k != "" {
		for _, have := range c.all() {
			if have.ClientID == in.ClientID && have.IdempotencyKey() == k {
				c.mu.Lock()
				c.second = append(c.second, fmt.Sprintf("user %s/%s (contact %s exists, active %v)", in.TenantID, in.ObjectID, have.ID, have.Active))
				c.mu.Unlock()
				break
			}
		}
	}
	out, err := c.Contacts.CreateContact(ctx, in)
	c.count(err)
	return out, err
}

func (c *countingContacts) UpdateContact(ctx context.Context, in tenantsync.Contact) error {
	err := c.Contacts.UpdateContact(ctx, in)
	c.count(err)
	return err
}

func (c *countingContacts) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	err := c.Contacts.SetContactActive(ctx, clientID, contactID, active)
	c.count(err)
	return err
}

func (c *countingContacts) count(err error) {
	name := psaFaultName(err)
	if name == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[name]++
}

// secondCreates returns the creates asked for users who had a contact, and forgets them.
func (c *countingContacts) secondCreates() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.second
	c.second = nil
	return out
}

func (c *countingContacts) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.faults)
}

// psaFaultName names the fault a PSA error stands for, or "" for none (no error, or a call
// cut short by the soak killing its engine).
func psaFaultName(err error) string {
	if err == nil {
		return ""
	}
	var ve *tenantsynctest.ValidationError
	d, _ := tenantsync.Details(err)
	if d == nil {
		d = &tenantsync.Error{}
	}
	switch {
	case errors.As(err, &ve):
		return "PSA validation refusals"
	case d.Code == "DuplicateEmail":
		return "PSA duplicate-email refusals"
	case errors.Is(err, tenantsync.ErrThrottled) && strings.Contains(d.Message, "quota"):
		return "PSA quota 429s"
	case errors.Is(err, tenantsync.ErrThrottled) && d.RetryAfter > 0:
		return "PSA 429s with Retry-After"
	case errors.Is(err, tenantsync.ErrThrottled):
		return "PSA 429s without Retry-After"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "PSA lost responses"
	case d.Status >= 500:
		return "PSA 5xx"
	case errors.Is(err, context.DeadlineExceeded):
		return "PSA timeouts"
	}
	return ""
}

// psaUserKey is a user's identity as contacts carry it, compared without regard to case.
func psaUserKey(tenantID, objectID string) string {
	return tenantsync.Contact{TenantID: tenantID, ObjectID: objectID}.IdempotencyKey()
}

// observePSA checks, after every cycle, what must hold at all times: no person has two active
// contacts in a client (by identity or email), no identity has two contacts at all, and every
// link of the store points at a contact the PSA has, in the tenant's client, carrying the
// user's identity or none (a contact entered by hand that the engine has not yet updated).
func (s *soak) observePSA(ctx context.Context) {
	p := s.psa
	for _, sc := range p.dir.secondCreates() {
		s.fail("duplicate create: the engine asked the PSA to create a second contact for %s", sc)
	}
	dups := p.fake.Duplicates()
	s.check(len(dups) == 0, "%d duplicate contacts", len(dups))
	for _, d := range dups {
		var ids []string
		for _, c := range d.Contacts {
			ids = append(ids, c.ID)
		}
		s.fail("duplicate contact in %s (tenant %s): %s shared by active contacts %v", d.ClientID, p.tenantOf[d.ClientID], d.Key, ids)
	}
	byKey := map[string][]string{}
	for _, c := range p.fake.All() {
		if k := c.IdempotencyKey(); k != "" {
			byKey[c.ClientID+" "+k] = append(byKey[c.ClientID+" "+k], c.ID)
		}
	}
	for k, ids := range byKey {
		s.check(len(ids) == 1, "duplicate contact: %s has %d contacts (active or not): %v", k, len(ids), ids)
	}
	for _, id := range s.ids {
		links, err := s.st.Account(account).Links.List(ctx, id)
		if err != nil {
			s.fail("links of %s: %v", id, err)
			continue
		}
		for _, l := range links {
			c, ok := p.fake.Get(l.ContactID)
			s.check(ok && c.ClientID == l.ClientID && l.ClientID == p.clientOf[id],
				"lost link: user %s/%s is linked to contact %s of %s, which the PSA does not have in client %s", id, l.ObjectID, l.ContactID, l.ClientID, p.clientOf[id])
			if ok {
				k := c.IdempotencyKey()
				s.check(k == "" || k == psaUserKey(id, l.ObjectID),
					"lost link: user %s/%s is linked to contact %s, which carries another user's identity %s/%s", id, l.ObjectID, c.ID, c.TenantID, c.ObjectID)
			}
		}
	}
}

// psaFigures are what verifyPSA found, for the summary.
type psaFigures struct {
	contacts, created, byHand, links int
	poisonReported, reusedRefused    int
	needPerson                       map[string]int // users left for a person, poison users aside, by call and kind
	takenOverRefused                 int
	// reusedOutcome counts what became of the newcomers who got a leaver's address.
	reusedOutcome map[string]int
	excused       []string
}

// verifyPSA checks the PSA against the truth after the final settle round: every contact the
// engine created (it carries a user's identity) is linked to that user, unless the engine
// reports the user as failing or waiting for a person; no contact of a present, enabled user is
// inactive; no contact entered by hand for a stranger was touched; every poison user is listed
// in its tenant's status as a failed create with the PSA's reason and a hint.
func (s *soak) verifyPSA(ctx context.Context) psaFigures {
	p := s.psa
	var fig psaFigures
	s.observePSA(ctx)
	statuses := map[string]sync.TenantStatus{}
	if sts, err := s.eng.Statuses(ctx); err != nil {
		s.fail("statuses: %v", err)
	} else {
		for _, st := range sts {
			statuses[st.Tenant.ID] = st
		}
	}
	linked := map[string]string{} // identity → contact
	for _, id := range s.ids {
		links, err := s.st.Account(account).Links.List(ctx, id)
		if err != nil {
			s.fail("links of %s: %v", id, err)
			continue
		}
		fig.links += len(links)
		for _, l := range links {
			linked[psaUserKey(id, l.ObjectID)] = l.ContactID
		}
	}
	failing := func(tenantID, objectID string) (store.ContactFailure, bool) {
		for _, f := range statuses[tenantID].ContactFailures {
			if f.ObjectID == objectID {
				return f, true
			}
		}
		return store.ContactFailure{}, false
	}
	for _, c := range p.fake.All() {
		fig.contacts++
		if p.byHand[c.ID] || p.strangers[c.ID] {
			fig.byHand++
		}
		if p.strangers[c.ID] {
			s.check(c.Active && c.IdempotencyKey() == "", "contact %s entered by hand for no user of %s was changed: active %v, identity %s/%s",
				c.ID, c.ClientID, c.Active, c.TenantID, c.ObjectID)
			continue
		}
		k := c.IdempotencyKey()
		if k == "" {
			continue
		}
		if !p.byHand[c.ID] {
			fig.created++
		}
		tenantID := p.tenantOf[c.ClientID]
		s.check(strings.EqualFold(c.TenantID, tenantID), "contact %s of %s carries tenant %s, not its client's tenant %s", c.ID, c.ClientID, c.TenantID, tenantID)
		if linked[k] != c.ID {
			// A user whose write failed may be left unlinked, but not for a failed create: the
			// engine tried to create a contact the PSA already had.
			f, failed := failing(tenantID, c.ObjectID)
			excused := failed && f.Op != store.ContactCreate
			if excused {
				fig.excused = append(fig.excused, fmt.Sprintf("%s/%s (%s %s)", tenantID, c.ObjectID, f.Op, f.Kind))
			}
			s.check(excused, "lost link: contact %s carries user %s/%s, who is linked to %q (failure reported: %v %s %s)",
				c.ID, tenantID, c.ObjectID, linked[k], failed, f.Op, f.Message)
			if !excused {
				s.diagnoseContact(ctx, c)
			}
		}
		enabled, exists := s.truthUser(tenantID, c.ObjectID)
		s.check(c.Active || !exists || !enabled, "contact %s of user %s/%s is inactive although the user is enabled", c.ID, tenantID, c.ObjectID)
	}
	fig.reusedOutcome, fig.needPerson = map[string]int{}, map[string]int{}
	for tenantID, users := range p.reused {
		open := map[string]bool{}
		if rs, err := s.st.Account(account).Reviews.List(ctx, store.ReviewFilter{TenantID: tenantID}); err == nil {
			for _, r := range rs {
				open[r.ObjectID] = true
			}
		}
		for newcomer, leaver := range users {
			enabled, exists := s.truthUser(tenantID, newcomer)
			if !exists {
				continue
			}
			mine, theirs := linked[psaUserKey(tenantID, newcomer)], linked[psaUserKey(tenantID, leaver)]
			_, failed := failing(tenantID, newcomer)
			switch {
			case mine != "" && mine == theirs:
				fig.reusedOutcome["linked to the leaver's contact"]++
			case mine != "":
				fig.reusedOutcome["linked to a contact of its own"]++
			case open[newcomer]:
				fig.reusedOutcome["in review"]++
			case failed:
				fig.reusedOutcome["reported failing"]++
			case !enabled:
				fig.reusedOutcome["disabled, no contact owed"]++
			default:
				fig.reusedOutcome["none of these"]++
				s.fail("newcomer %s/%s with the address of removed user %s has no contact, no review and no failure", tenantID, newcomer, leaver)
				if lu := s.w.Tenant(tenantID).User(leaver); lu != nil {
					fmt.Fprintf(s.out, "diagnose: leaver %s %q %q type %s mailbox %s admin %v\n", lu.UserPrincipalName, lu.GivenName, lu.Surname, lu.UserType, lu.MailboxType, lu.IsAdmin)
				}
			}
		}
	}
	for tenantID, users := range p.poison {
		for userID, why := range users {
			if _, exists := s.truthUser(tenantID, userID); !exists {
				continue
			}
			f, ok := failing(tenantID, userID)
			s.check(ok && f.Op == store.ContactCreate && f.Kind == tenantsync.ClassName(tenantsync.ErrInvalidInput) && f.Message != "" && f.Hint != "",
				"poison user %s/%s (%s) is not reported as a refused create with a reason: %+v (found %v)", tenantID, userID, why, f, ok)
			if ok {
				fig.poisonReported++
			}
			_, has := linked[psaUserKey(tenantID, userID)]
			s.check(!has, "poison user %s/%s (%s) is linked to a contact the PSA refuses to hold", tenantID, userID, why)
		}
	}
	for tenantID, st := range statuses {
		for _, f := range st.ContactFailures {
			if f.NeedsPerson && !p.isPoison(tenantID, f.ObjectID) {
				fig.needPerson[string(f.Op)+" "+f.Kind]++
			}
			if p.reused[tenantID][f.ObjectID] != "" && f.Kind == tenantsync.ClassName(tenantsync.ErrConflict) {
				fig.reusedRefused++
			}
			if enabled, exists := s.truthUser(tenantID, f.ObjectID); exists && enabled && p.takenOver[tenantID][f.ObjectID] && f.Op == store.ContactUpdate && f.Kind == tenantsync.ClassName(tenantsync.ErrConflict) {
				fig.takenOverRefused++
			}
		}
	}
	return fig
}

// settled reports whether a tenant has nothing left to do: its last sync stored every kind,
// no PSA work is pending, and every contact failure left is a poison user's or waits for a
// person.
func (s *soak) settled(st sync.TenantStatus) bool {
	if st.State.LastError != nil || len(st.State.KindErrors) > 0 || len(st.State.Holds) > 0 || st.State.LastSuccess.IsZero() ||
		st.State.ContactsError != nil || st.ContactsPending > 0 {
		return false
	}
	for _, f := range st.ContactFailures {
		if !f.NeedsPerson && !f.Ignored && !s.psa.isPoison(st.Tenant.ID, f.ObjectID) {
			return false
		}
	}
	return true
}

// psaSummary prints the PSA's figures.
func (s *soak) psaSummary(fig psaFigures) {
	calls := s.psa.fake.Calls()
	c := s.counters
	fmt.Fprintf(s.out, "psa: identity %s; %d contacts (%d entered by hand, %d created by the engine), %d links; calls: %d list, %d create, %d update, %d set-active\n",
		s.o.soakPSAIdentity, fig.contacts, fig.byHand, fig.created, fig.links, calls[tenantsynctest.OpListContacts], calls[tenantsynctest.OpCreateContact],
		calls[tenantsynctest.OpUpdateContact], calls[tenantsynctest.OpSetContactActive])
	fmt.Fprintf(s.out, "psa engine: %d PSA calls, %d pauses, %d contact writes failed %v, %d users left for a person; %d created, %d linked, %d deactivated, %d reactivated\n",
		c.PSACalls, c.PSAPauses, c.ContactsFailed, c.ContactErrors, c.ContactsNeedPerson, c.ContactsCreated, c.ContactsLinked, c.ContactsDeactivated, c.ContactsReactivated)
	reused := 0
	for _, us := range s.psa.reused {
		reused += len(us)
	}
	// The users given another contact's address who are still there and enabled at the end
	// (a later change may have removed or disabled one).
	takenOver := 0
	for tenantID, us := range s.psa.takenOver {
		for id := range us {
			if enabled, exists := s.truthUser(tenantID, id); exists && enabled {
				takenOver++
			}
		}
	}
	fmt.Fprintf(s.out, "psa at the end: %d of %d poison users reported with the PSA's reason; duplicate-email rule: %d of %d newcomers with a leaver's address and %d of %d users (present and enabled) given a hand-entered contact's address reported refused; newcomers with a leaver's address (present at the end): %v; other users left for a person: %v; %d created contacts unlinked and reported %v\n",
		fig.poisonReported, s.psa.poisonCount(), fig.reusedRefused, reused, fig.takenOverRefused, takenOver, fig.reusedOutcome, fig.needPerson, len(fig.excused), fig.excused)
}

// addCounters sums an engine's counters into the soak's: each engine counts from zero.
func addCounters(dst *sync.Counters, c sync.Counters) {
	dst.PSACalls += c.PSACalls
	dst.PSAPauses += c.PSAPauses
	dst.ContactsFailed += c.ContactsFailed
	dst.ContactsNeedPerson += c.ContactsNeedPerson
	dst.ContactsCreated += c.ContactsCreated
	dst.ContactsLinked += c.ContactsLinked
	dst.ContactsDeactivated += c.ContactsDeactivated
	dst.ContactsReactivated += c.ContactsReactivated
	if dst.ContactErrors == nil {
		dst.ContactErrors = map[string]uint64{}
	}
	for k, n := range c.ContactErrors {
		dst.ContactErrors[k] += n
	}
}

// psaIdentity parses the -soak-psa-identity flag.
func psaIdentity(s string) (tenantsynctest.Identity, error) {
	for _, i := range []tenantsynctest.Identity{tenantsynctest.IdentityStored, tenantsynctest.IdentityDeduplicated, tenantsynctest.IdentityIgnored} {
		if i.String() == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("-soak-psa-identity %q: want stored, deduplicated or ignored", s)
}

// reuseAddress removes u and adds a new account with u's address (a leaver's mailbox given to
// a newcomer, or a rehire with a new account). The PSA's duplicate-email rule protects the
// leaver's contact: the engine must not create a second contact with the address, and must
// say why the newcomer has none.
func (s *soak) reuseAddress(t *testserver.Tenant, u *testserver.User) error {
	// A person's address: a device or service account's (scanner@) would make the newcomer one
	// too, which the engine rightly leaves without a contact.
	if u.Mail == "" || !strings.EqualFold(u.Mail, u.UserPrincipalName) || u.GivenName == "" || u.Surname == "" ||
		u.IsAdmin || u.UserType != "Member" || u.MailboxType != "UserMailbox" {
		return nil
	}
	if err := s.w.DeleteUser(t.ID, u.ID); err != nil {
		return err
	}
	n, err := s.w.AddUser(t.ID, testserver.User{UserPrincipalName: u.UserPrincipalName, DisplayName: "New " + u.DisplayName,
		GivenName: "New", Surname: u.Surname, Mail: u.Mail, ProxyAddresses: []string{"SMTP:" + u.Mail},
		AccountEnabled: true, UserType: "Member", MailboxType: "UserMailbox"})
	if err != nil {
		return err
	}
	if s.psa.reused[t.ID] == nil {
		s.psa.reused[t.ID] = map[string]string{}
	}
	s.psa.reused[t.ID][n.ID] = u.ID
	s.note(t.ID, n.ID, "truth added with the address of removed user %s", u.ID)
	s.scenario["addresses reused"]++
	return nil
}

// takeOverAddress gives u, who holds a contact of its own, the address of a contact entered by
// hand for someone else in its client: the engine updates u's contact with the new address
// (UpdateContacts), which the PSA's duplicate-email rule refuses. The engine must report the
// refusal, link u to nothing else, and leave the other contact alone.
func (s *soak) takeOverAddress(t *testserver.Tenant, u *testserver.User) error {
	p := s.psa
	c := p.clientOf[t.ID]
	if len(p.strangerOf[c]) == 0 || u.Mail == "" || !u.AccountEnabled {
		return nil
	}
	key := psaUserKey(t.ID, u.ID)
	own := false
	for _, ct := range p.fake.All() {
		if ct.ClientID == c && ct.IdempotencyKey() == key && ct.Active {
			own = true
			break
		}
	}
	if !own {
		return nil
	}
	stranger := p.strangerOf[c][0]
	p.strangerOf[c] = p.strangerOf[c][1:]
	old := u.Mail
	if err := s.w.UpdateUser(t.ID, u.ID, func(u *testserver.User) {
		u.Mail = stranger.Email
		u.ProxyAddresses = []string{"SMTP:" + stranger.Email, "smtp:" + old}
	}); err != nil {
		return err
	}
	if p.takenOver[t.ID] == nil {
		p.takenOver[t.ID] = map[string]bool{}
	}
	p.takenOver[t.ID][u.ID] = true
	s.note(t.ID, u.ID, "truth address -> %s, held by hand-entered contact %s", stranger.Email, stranger.ID)
	s.scenario["addresses taken over"]++
	return nil
}

// diagnoseContact prints what the soak knows of a PSA contact that breaks an invariant: the
// contact, its user in the truth and the mirror, the links to it, and the user's history.
func (s *soak) diagnoseContact(ctx context.Context, c tenantsync.Contact) {
	tenantID := s.psa.tenantOf[c.ClientID]
	enabled, exists := s.truthUser(tenantID, c.ObjectID)
	fmt.Fprintf(s.out, "diagnose: contact %s of %s active %v identity %s/%s email %q name %q %q; truth: exists %v enabled %v; kills in cycles %v\n",
		c.ID, c.ClientID, c.Active, c.TenantID, c.ObjectID, c.Email, c.FirstName, c.LastName, exists, enabled, s.killCycles)
	if kr, err := s.st.Account(account).Mirror.ReadKind(ctx, tenantID, tenantsync.KindUsers); err == nil {
		found := false
		for _, u := range kr.Users {
			if strings.EqualFold(u.ObjectID, c.ObjectID) {
				found = true
				fmt.Fprintf(s.out, "diagnose: mirrored user enabled %v upn %s mail %s\n", u.AccountEnabled, u.UserPrincipalName, u.Mail)
			}
		}
		if !found {
			fmt.Fprintln(s.out, "diagnose: user not mirrored")
		}
	}
	if links, err := s.st.Account(account).Links.List(ctx, tenantID); err == nil {
		for _, l := range links {
			if l.ContactID == c.ID || strings.EqualFold(l.ObjectID, c.ObjectID) {
				fmt.Fprintf(s.out, "diagnose: link %+v\n", l)
			}
		}
	}
	if st, err := s.st.Account(account).SyncStates.Get(ctx, tenantID); err == nil {
		if in, ok := st.CreateIntents[c.ObjectID]; ok {
			fmt.Fprintf(s.out, "diagnose: create intent %+v\n", in)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.history[tenantID+"/"+c.ObjectID] {
		fmt.Fprintln(s.out, "diagnose:  ", h)
	}
}
