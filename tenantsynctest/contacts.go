package tenantsynctest

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Contacts is an in-memory PSA contact directory implementing tenantsync.Contacts, with the
// faults real PSAs show. It is safe for concurrent use; every setting can change while calls
// are running, and applies from the next call on.
//
// Like a PSA it holds clients (AddClient) and their contacts, assigns numeric IDs, and never
// deletes a contact. A call goes through these steps, in order:
//
//  1. It is counted (Calls), whatever happens next.
//  2. It waits the latency (SetLatency) on the Clock; if the caller's context ends first, it
//     fails with an error wrapping the context's error.
//  3. The quota (SetQuota) admits it or answers 429 with Retry-After. Every admitted call uses
//     a slot, whatever its outcome; refused ones do not.
//  4. The first injected Fault that catches it (Inject) decides its fate.
//  5. The directory carries it out: unknown clients are tenantsync.ErrClientNotFound, unknown
//     contacts tenantsync.ErrNotFound,
//     validation rules (AddRule) refuse with a *ValidationError, the duplicate-email rule
//     (SetUniqueEmails) with tenantsync.ErrConflict, and creates honour the Identity setting
//     (SetIdentity).
//
// Every error is a *tenantsync.Error (or embeds one) with Service "psa" and Op the method's
// name, of the kind the engine sees from a real PSA.
type Contacts struct {
	clock Clock

	mu           sync.Mutex
	clients      map[string]*client
	contacts     map[string]*tenantsync.Contact // by ID; identity kept even when IdentityIgnored
	lastID       int
	calls        map[Op]int
	latency      time.Duration
	quota        int
	quotaPer     time.Duration
	window       []time.Time // when the admitted calls of the last quotaPer arrived, oldest first
	faults       []*activeFault
	rules        []Rule
	uniqueEmails bool
	identity     Identity
}

type client struct {
	name string
	ids  []string // the client's contacts, in creation order
}

var _ tenantsync.Contacts = (*Contacts)(nil)

// NewContacts returns an empty directory reading time from clock; nil means the wall clock.
func NewContacts(clock Clock) *Contacts {
	if clock == nil {
		clock = realClock{}
	}
	return &Contacts{clock: clock, clients: map[string]*client{}, contacts: map[string]*tenantsync.Contact{}, calls: map[Op]int{}}
}

// AddClient adds a client (or renames one): contacts can only be created in a client the
// directory has.
func (c *Contacts) AddClient(id, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[id]; ok {
		cl.name = name
		return
	}
	c.clients[id] = &client{name: name}
}

// SetLatency makes every call wait d on the Clock before anything else happens; zero or less
// removes it.
func (c *Contacts) SetLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latency = max(d, 0)
}

// SetQuota allows calls requests, of any operation, per rolling window per (Autotask: 10,000
// per hour per database). Past it, calls answer 429 with a Retry-After saying when the oldest
// call leaves the window, rounded up to a second as the header is. Zero calls or per removes
// the quota; the calls already made stay in the window.
func (c *Contacts) SetQuota(calls int, per time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.quota, c.quotaPer = max(calls, 0), max(per, 0)
}

// Inject adds a fault. It fails only when f is malformed (no Effect, a non-5xx ServerError
// status, a negative duration or count, an unknown Op).
func (c *Contacts) Inject(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.Ops = slices.Clone(f.Ops)
	c.mu.Lock()
	defer c.mu.Unlock()
	af := &activeFault{Fault: f, left: f.Times}
	if f.For > 0 {
		af.until = c.clock.Now().Add(f.For)
	}
	c.faults = append(c.faults, af)
	return nil
}

// ClearFaults removes every injected fault. Latency, quota, rules and the other settings stay.
func (c *Contacts) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
}

// AddRule adds a validation rule, checked on every create and update. A rule with no Refuses
// refuses nothing.
func (c *Contacts) AddRule(r Rule) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rules = append(c.rules, r)
}

// ClearRules removes every validation rule.
func (c *Contacts) ClearRules() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rules = nil
}

// SetUniqueEmails turns on or off the duplicate-email rule, as Autotask has it: a create or
// update giving a contact the email (trimmed, lower-cased) of another contact of the same
// client, active or not, fails with tenantsync.ErrConflict. Contacts without email are exempt.
func (c *Contacts) SetUniqueEmails(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uniqueEmails = on
}

// SetIdentity sets what the directory does with the (TenantID, ObjectID) of the contacts it is
// given; IdentityDeduplicated until set. Set it before the first call: contacts created under
// IdentityIgnored keep the identity they were created for only for All and Duplicates.
func (c *Contacts) SetIdentity(i Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.identity = i
}

// ListContacts implements tenantsync.Contacts: every contact of the client, active or not, in
// the order they were created. An unknown client is tenantsync.ErrClientNotFound.
func (c *Contacts) ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error) {
	var out []tenantsync.Contact
	err := c.call(ctx, OpListContacts, func() (tenantsync.Contact, bool) { return tenantsync.Contact{}, false }, func() error {
		cl, ok := c.clients[clientID]
		if !ok {
			return clientNotFound(OpListContacts, clientID)
		}
		out = make([]tenantsync.Contact, 0, len(cl.ids))
		for _, id := range cl.ids {
			out = append(out, c.view(c.contacts[id]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateContact implements tenantsync.Contacts. It ignores in.ID and assigns the next numeric
// ID. Under IdentityDeduplicated, a create for an identity the client has a contact for returns
// that contact, as it is (inactive ones included), and changes nothing.
func (c *Contacts) CreateContact(ctx context.Context, in tenantsync.Contact) (tenantsync.Contact, error) {
	const op = OpCreateContact
	var out tenantsync.Contact
	err := c.call(ctx, op, func() (tenantsync.Contact, bool) { return in, true }, func() error {
		cl, ok := c.clients[in.ClientID]
		if !ok {
			return clientNotFound(op, in.ClientID)
		}
		if key := in.IdempotencyKey(); key != "" && c.identity == IdentityDeduplicated {
			for _, id := range cl.ids {
				if have := c.contacts[id]; have.IdempotencyKey() == key {
					out = c.view(have)
					return nil
				}
			}
		}
		if err := c.check(op, cl, in, ""); err != nil {
			return err
		}
		c.lastID++
		stored := clone(in)
		stored.ID = strconv.Itoa(c.lastID)
		c.contacts[stored.ID] = &stored
		cl.ids = append(cl.ids, stored.ID)
		out = c.view(&stored)
		return nil
	})
	if err != nil {
		return tenantsync.Contact{}, err
	}
	return out, nil
}

// UpdateContact implements tenantsync.Contacts: it replaces every field of the contact
// (in.ClientID, in.ID), Active included, except the identity under IdentityIgnored.
func (c *Contacts) UpdateContact(ctx context.Context, in tenantsync.Contact) error {
	const op = OpUpdateContact
	return c.call(ctx, op, func() (tenantsync.Contact, bool) { return in, true }, func() error {
		have, cl, err := c.find(op, in.ClientID, in.ID)
		if err != nil {
			return err
		}
		if err := c.check(op, cl, in, have.ID); err != nil {
			return err
		}
		stored := clone(in)
		if c.identity == IdentityIgnored {
			stored.TenantID, stored.ObjectID = have.TenantID, have.ObjectID
		}
		*have = stored
		return nil
	})
}

// SetContactActive implements tenantsync.Contacts.
func (c *Contacts) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	const op = OpSetContactActive
	about := func() (tenantsync.Contact, bool) {
		if have, ok := c.contacts[contactID]; ok && have.ClientID == clientID {
			return clone(*have), true
		}
		return tenantsync.Contact{ID: contactID, ClientID: clientID}, true
	}
	return c.call(ctx, op, about, func() error {
		have, _, err := c.find(op, clientID, contactID)
		if err != nil {
			return err
		}
		have.Active = active
		return nil
	})
}

// Seed stores a contact as if someone had entered it in the PSA before the test: no call is
// counted, and no fault, quota, rule or identity setting applies. It assigns the next ID and
// fails only when the client is unknown. Use it for the contacts a sync should find.
func (c *Contacts) Seed(in tenantsync.Contact) (tenantsync.Contact, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[in.ClientID]
	if !ok {
		return tenantsync.Contact{}, clientNotFound("Seed", in.ClientID)
	}
	c.lastID++
	stored := clone(in)
	stored.ID = strconv.Itoa(c.lastID)
	c.contacts[stored.ID] = &stored
	cl.ids = append(cl.ids, stored.ID)
	return clone(stored), nil
}

// call runs one operation through the steps listed on Contacts. about returns the contact the
// call is about, for Fault.Match; do carries the operation out, with the lock held.
func (c *Contacts) call(ctx context.Context, op Op, about func() (tenantsync.Contact, bool), do func() error) error {
	c.mu.Lock()
	c.calls[op]++
	latency := c.latency
	c.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return ended(op, err)
	}
	if latency > 0 {
		if err := c.clock.Sleep(ctx, latency); err != nil {
			return ended(op, err)
		}
	}

	c.mu.Lock()
	now := c.clock.Now()
	if err := c.admit(op, now); err != nil {
		c.mu.Unlock()
		return err
	}
	effect := c.fault(op, now, about)
	if effect == nil {
		defer c.mu.Unlock()
		return do()
	}
	if _, ok := effect.(LostResponse); ok {
		// The PSA did the work; only the answer is lost, whatever it was.
		_ = do()
		c.mu.Unlock()
		return lostResponse(op)
	}
	c.mu.Unlock()

	switch e := effect.(type) {
	case Throttle:
		return throttled(op, e.RetryAfter)
	case ServerError:
		return serverError(op, cmp.Or(e.Status, http.StatusServiceUnavailable))
	case Timeout:
		if e.After == 0 {
			<-ctx.Done()
			return ended(op, ctx.Err())
		}
		if err := c.clock.Sleep(ctx, e.After); err != nil {
			return ended(op, err)
		}
		return timedOut(op, e.After)
	}
	return nil
}

// admit applies the quota: it records the call in the window, or refuses it when the window is
// full. Called with the lock held.
func (c *Contacts) admit(op Op, now time.Time) error {
	if c.quota == 0 || c.quotaPer == 0 {
		return nil
	}
	cut := now.Add(-c.quotaPer)
	gone := 0
	for gone < len(c.window) && !c.window[gone].After(cut) {
		gone++
	}
	c.window = slices.Delete(c.window, 0, gone)
	if len(c.window) >= c.quota {
		// A slot frees when the call quota places from the end leaves the window.
		wait := c.window[len(c.window)-c.quota].Add(c.quotaPer).Sub(now)
		return quotaExceeded(op, c.quota, c.quotaPer, max((wait+time.Second-1).Truncate(time.Second), time.Second))
	}
	c.window = append(c.window, now)
	return nil
}

// fault drops the faults that have ended and returns the effect of the first that catches the
// call, counting the call against it. Called with the lock held.
func (c *Contacts) fault(op Op, now time.Time, about func() (tenantsync.Contact, bool)) Effect {
	c.faults = slices.DeleteFunc(c.faults, func(f *activeFault) bool { return f.expired(now) })
	for _, f := range c.faults {
		if f.catches(op, about) {
			f.left--
			return f.Effect
		}
	}
	return nil
}

// find returns the stored contact (clientID, contactID). Called with the lock held.
func (c *Contacts) find(op Op, clientID, contactID string) (*tenantsync.Contact, *client, error) {
	cl, ok := c.clients[clientID]
	if !ok {
		return nil, nil, clientNotFound(op, clientID)
	}
	have, ok := c.contacts[contactID]
	if !ok || have.ClientID != clientID {
		return nil, nil, contactNotFound(op, clientID, contactID)
	}
	return have, cl, nil
}

// check applies the validation rules and the duplicate-email rule to in, about to be stored in
// cl as the contact self ("" for a new one). Called with the lock held.
func (c *Contacts) check(op Op, cl *client, in tenantsync.Contact, self string) error {
	for _, r := range c.rules {
		if r.Refuses != nil && r.Refuses(in) {
			return refused(op, r)
		}
	}
	email := normEmail(in.Email)
	if !c.uniqueEmails || email == "" {
		return nil
	}
	for _, id := range cl.ids {
		if id != self && normEmail(c.contacts[id].Email) == email {
			return duplicateEmail(op, in.Email, id)
		}
	}
	return nil
}

// view is a stored contact as the PSA returns it. Called with the lock held.
func (c *Contacts) view(s *tenantsync.Contact) tenantsync.Contact {
	out := clone(*s)
	if c.identity == IdentityIgnored {
		out.TenantID, out.ObjectID = "", ""
	}
	return out
}

func clone(c tenantsync.Contact) tenantsync.Contact {
	c.AltEmails = slices.Clone(c.AltEmails)
	return c
}
