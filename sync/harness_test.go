package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// ManualClock is a Clock that moves only when Advance is called.
type ManualClock struct {
	mu     stdsync.Mutex
	now    time.Time
	timers []manualTimer
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

// NewManualClock starts a clock at a fixed instant.
func NewManualClock() *ManualClock {
	return &ManualClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After implements Clock.
func (c *ManualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, manualTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers that became due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.ch <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// Timers returns how many timers wait.
func (c *ManualClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// FakeContacts is an in-memory PSA contact directory that counts calls and can fail.
type FakeContacts struct {
	mu       stdsync.Mutex
	next     int
	contacts map[string]tenantsync.Contact // by ID
	updates  int
	creates  int
	failList error
	// onChange, when set, runs after a contact was created, updated or (de)activated (a test
	// interrupts a sync there, between the PSA call and the commit).
	onChange func(c tenantsync.Contact)
	// fault, when set, decides a write's failure before it is carried out (err, lost false) or
	// after (lost true: the PSA did the work and its answer was lost).
	fault func(op string, c tenantsync.Contact) (err error, lost bool)
	// noIdentity makes the directory drop the contacts' TenantID and ObjectID, as a PSA with
	// nowhere to keep them does.
	noIdentity bool
	sent       []tenantsync.Contact // every CreateContact request, as received
}

// Fault sets a function that decides each write's failure (nil clears it): it gets the
// operation ("create", "update", "active") and the contact, and returns the error and whether
// the write was carried out all the same (a lost answer).
func (f *FakeContacts) Fault(fn func(op string, c tenantsync.Contact) (err error, lost bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

// DropIdentity makes the directory forget the TenantID and ObjectID it is given.
func (f *FakeContacts) DropIdentity() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noIdentity = true
}

// Sent returns every CreateContact request received, failed ones included.
func (f *FakeContacts) Sent() []tenantsync.Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// faulty runs the fault hook; f.mu must be held.
func (f *FakeContacts) faulty(op string, c tenantsync.Contact) (error, bool) {
	if f.fault == nil {
		return nil, false
	}
	return f.fault(op, c)
}

// OnChange sets a function run after each CreateContact, UpdateContact and SetContactActive.
func (f *FakeContacts) OnChange(fn func(c tenantsync.Contact)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onChange = fn
}

// changed runs the onChange hook without the lock; f.mu must be held.
func (f *FakeContacts) changed(c tenantsync.Contact) {
	if fn := f.onChange; fn != nil {
		f.mu.Unlock()
		defer f.mu.Lock()
		fn(c)
	}
}

// NewFakeContacts returns an empty directory.
func NewFakeContacts() *FakeContacts { return &FakeContacts{contacts: map[string]tenantsync.Contact{}} }

// Add stores a contact as the PSA already has it and returns it with its ID.
func (f *FakeContacts) Add(c tenantsync.Contact) tenantsync.Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.ID == "" {
		f.next++
		c.ID = "ct-" + strconv.Itoa(f.next)
	}
	f.contacts[c.ID] = c
	return c
}

// Get returns a contact by ID.
func (f *FakeContacts) Get(id string) (tenantsync.Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	return c, ok
}

// All returns every contact ordered by ID.
func (f *FakeContacts) All() []tenantsync.Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]tenantsync.Contact, 0, len(f.contacts))
	for _, c := range f.contacts {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b tenantsync.Contact) int { return compareStr(a.ID, b.ID) })
	return out
}

// FailList makes ListContacts fail (nil restores it).
func (f *FakeContacts) FailList(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failList = err
}

// ListContacts implements tenantsync.Contacts.
func (f *FakeContacts) ListContacts(_ context.Context, clientID string) ([]tenantsync.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failList != nil {
		return nil, f.failList
	}
	var out []tenantsync.Contact
	for _, c := range f.contacts {
		if c.ClientID == clientID {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b tenantsync.Contact) int { return compareStr(a.ID, b.ID) })
	return out, nil
}

// CreateContact implements tenantsync.Contacts.
func (f *FakeContacts) CreateContact(_ context.Context, c tenantsync.Contact) (tenantsync.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, c)
	err, lost := f.faulty("create", c)
	if err != nil && !lost {
		return tenantsync.Contact{}, err
	}
	if f.noIdentity {
		c.TenantID, c.ObjectID = "", ""
	}
	f.next++
	f.creates++
	c.ID = "ct-" + strconv.Itoa(f.next)
	f.contacts[c.ID] = c
	f.changed(c)
	if err != nil {
		return tenantsync.Contact{}, err
	}
	return c, nil
}

// UpdateContact implements tenantsync.Contacts. Like the stores (and a PSA that takes the
// whole record), it writes every field it is given, Active included.
func (f *FakeContacts) UpdateContact(_ context.Context, c tenantsync.Contact) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.contacts[c.ID]
	if !ok || cur.ClientID != c.ClientID {
		return tenantsync.Errorf(tenantsync.ErrNotFound, "", "no contact %s", c.ID)
	}
	ferr, lost := f.faulty("update", c)
	if ferr != nil && !lost {
		return ferr
	}
	if f.noIdentity {
		c.TenantID, c.ObjectID = "", ""
	}
	f.contacts[c.ID] = c
	f.updates++
	f.changed(c)
	return ferr
}

// SetContactActive implements tenantsync.Contacts.
func (f *FakeContacts) SetContactActive(_ context.Context, clientID, contactID string, active bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[contactID]
	if !ok || c.ClientID != clientID {
		return tenantsync.Errorf(tenantsync.ErrNotFound, "", "no contact %s", contactID)
	}
	ferr, lost := f.faulty("active", c)
	if ferr != nil && !lost {
		return ferr
	}
	c.Active = active
	f.contacts[contactID] = c
	f.changed(c)
	return ferr
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FakeAuthorizer grants PermissionWrite to the Allowed actors, and PermissionManage to the
// Managers (to everyone while Managers is nil).
type FakeAuthorizer struct{ Allowed, Managers map[string]bool }

// Authorize implements tenantsync.Authorizer.
func (a FakeAuthorizer) Authorize(_ context.Context, actor, permission string) error {
	if a.Allowed[actor] && permission == tenantsync.PermissionWrite {
		return nil
	}
	if permission == tenantsync.PermissionManage && (a.Managers == nil || a.Managers[actor]) {
		return nil
	}
	return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "grant "+permission, "%s lacks %s", actor, permission)
}

// FakeApprover answers with a fixed decision per user object ID (Approved when unset).
type FakeApprover struct {
	mu        stdsync.Mutex
	Decisions map[string]tenantsync.Decision
	Err       error
	Asked     int
}

// Set sets the decision for a user.
func (a *FakeApprover) Set(userID string, d tenantsync.Decision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Decisions == nil {
		a.Decisions = map[string]tenantsync.Decision{}
	}
	a.Decisions[userID] = d
}

// Approve implements tenantsync.Approver.
func (a *FakeApprover) Approve(_ context.Context, actor string, req tenantsync.WriteRequest) (tenantsync.Decision, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Asked++
	if a.Err != nil {
		return tenantsync.Denied, "", a.Err
	}
	return a.Decisions[req.UserID], "ticket 42", nil
}

// FakeWriter records the writes it receives and answers with Err when set.
type FakeWriter struct {
	name  string
	mu    stdsync.Mutex
	calls []tenantsync.WriteRequest
	Err   error
}

// Name implements tenantsync.Writer.
func (w *FakeWriter) Name() string { return w.name }

// Write implements tenantsync.Writer.
func (w *FakeWriter) Write(_ context.Context, req tenantsync.WriteRequest) (tenantsync.WriteResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, req)
	if w.Err != nil {
		return tenantsync.WriteResult{}, w.Err
	}
	// No Route: the engine names the route it chose.
	return tenantsync.WriteResult{Message: "done", Changed: true, TemporaryPassword: req.TemporaryPassword}, nil
}

// Calls returns the number of writes received.
func (w *FakeWriter) Calls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

// RecordingSink keeps every event.
type RecordingSink struct {
	mu     stdsync.Mutex
	events []Event
	notify chan struct{}
}

// NewRecordingSink returns an empty sink.
func NewRecordingSink() *RecordingSink { return &RecordingSink{notify: make(chan struct{}, 1)} }

// Handle implements Sink.
func (s *RecordingSink) Handle(_ context.Context, ev Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Events returns the events of the given types (all when none given).
func (s *RecordingSink) Events(types ...EventType) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, ev := range s.events {
		if len(types) == 0 || slices.Contains(types, ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// WaitFor waits until n events of type t for tenant (any when "") were received.
func (s *RecordingSink) WaitFor(t *testing.T, typ EventType, tenant string, n int) []Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		var got []Event
		for _, ev := range s.Events(typ) {
			if tenant == "" || ev.TenantID == tenant {
				got = append(got, ev)
			}
		}
		if len(got) >= n {
			return got
		}
		select {
		case <-s.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("waited for %d %s events of tenant %q, got %d", n, typ, tenant, len(got))
		}
	}
}

// harness wires an engine to an in-memory store, fake sources and fakes for the PSA side.
type harness struct {
	t        *testing.T
	st       store.Store
	clock    *ManualClock
	src      *FakeSource
	contacts *FakeContacts
	sink     *RecordingSink
	auth     FakeAuthorizer
	cipp     *FakeWriter
	graph    *FakeWriter
	eng      *Engine
	cfg      Config
	// faultyAssets, set by the asset scenarios, is the engine's Config.Assets.
	faultyAssets *faultyAssets
}

const testAccount = "msp-1"

func newHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, func(now func() time.Time) store.Store { return memory.New(memory.Config{Now: now}) }, mutate...)
}

// newHarnessOn is newHarness over the store newStore returns.
func newHarnessOn(t *testing.T, newStore func(now func() time.Time) store.Store, mutate ...func(*Config)) *harness {
	t.Helper()
	h := &harness{
		t:        t,
		clock:    NewManualClock(),
		src:      NewFakeSource("cipp"),
		contacts: NewFakeContacts(),
		sink:     NewRecordingSink(),
		auth:     FakeAuthorizer{Allowed: map[string]bool{"alice": true}},
		cipp:     &FakeWriter{name: "cipp"},
		graph:    &FakeWriter{name: "graph"},
	}
	h.st = newStore(h.clock.Now)
	h.cfg = Config{
		Store:      h.st,
		Account:    testAccount,
		Sources:    []tenantsync.Source{h.src},
		Contacts:   h.contacts,
		Writers:    map[string]tenantsync.Writer{"cipp": h.cipp, "graph": h.graph},
		Authorizer: h.auth,
		Clock:      h.clock,
		Sink:       h.sink,
		AutoCreate: true,
		InstanceID: "engine-a",
		// Every kind at every sync: the scenarios are about what one sync does with each kind;
		// the kinds' own cadence has its own tests (kindcadence_test.go).
		Cadence: Cadence{Kinds: everyKindEverySync()},
	}
	for _, m := range mutate {
		m(&h.cfg)
	}
	eng, err := New(h.cfg)
	require.NoError(t, err)
	h.eng = eng
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
		// Every scenario ends with an intact audit chain, whatever it did.
		rep, err := h.st.Account(testAccount).Audit.Verify(ctx, nil)
		if err != nil || !rep.OK() {
			t.Errorf("audit chain after the test: %+v, %v", rep, err)
		}
	})
	return h
}

// newLinked is a harness whose fake tenant t1 (n people, a shared mailbox, a room and a guest)
// is linked to client-1 and synced once.
func newLinked(t *testing.T, n int, mutate ...func(*Config)) (*harness, *FakeTenant) {
	t.Helper()
	h := newHarness(t, mutate...)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", n)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	return h, ft
}

// mergerTenants adds tenants t1 and t2 with one person each, the same person after a merger:
// an account in both tenants with the same address.
func (h *harness) mergerTenants() (a, b *FakeTenant) {
	a = fakeTenant("t1", "Contoso Ltd", "contoso.example", 1)
	b = fakeTenant("t2", "Contoso Holdings", "contoso-holdings.example", 1)
	b.Users[0].Mail = a.Users[0].Mail
	b.Users[0].ProxyAddresses = a.Users[0].ProxyAddresses
	h.src.AddTenant(a)
	h.src.AddTenant(b)
	return a, b
}

// discoverAndLink runs discovery and links the tenant, then waits for its initial sync.
func (h *harness) discoverAndLink(tenantID, clientID string) {
	h.t.Helper()
	ctx := h.t.Context()
	_, err := h.eng.Discover(ctx)
	require.NoError(h.t, err)
	require.NoError(h.t, h.eng.Link(ctx, "alice", tenantID, clientID))
	require.NoError(h.t, h.eng.Wait(ctx))
}

// discoverAndStoreLink runs discovery and links the tenant in the store only, so no initial
// sync starts: the test starts the first sync itself.
func (h *harness) discoverAndStoreLink(tenantID, clientID string) {
	h.t.Helper()
	_, err := h.eng.Discover(h.t.Context())
	require.NoError(h.t, err)
	require.NoError(h.t, h.st.Account(testAccount).Tenants.Link(h.t.Context(), tenantID, clientID, h.clock.Now()))
}

// syncNow advances past the cooldown and syncs the tenant.
func (h *harness) syncNow(tenantID string) *Report {
	h.t.Helper()
	h.clock.Advance(DefaultCooldown)
	rep, err := h.eng.SyncNow(h.t.Context(), tenantID)
	require.NoError(h.t, err)
	return rep
}

func (h *harness) verifyAudit() store.AuditVerification {
	h.t.Helper()
	rep, err := h.st.Account(testAccount).Audit.Verify(h.t.Context(), nil)
	require.NoError(h.t, err)
	require.True(h.t, rep.OK(), "audit chain broken at %d: %s", rep.FirstBroken, rep.Reason)
	return rep
}

func (h *harness) users(tenantID string) map[string]tenantsync.User {
	h.t.Helper()
	kr, err := h.st.Account(testAccount).Mirror.ReadKind(h.t.Context(), tenantID, tenantsync.KindUsers)
	require.NoError(h.t, err)
	out := map[string]tenantsync.User{}
	for _, u := range kr.Users {
		out[u.ObjectID] = u
	}
	return out
}

func (h *harness) links(tenantID string) map[string]store.ContactLink {
	h.t.Helper()
	ls, err := h.st.Account(testAccount).Links.List(h.t.Context(), tenantID)
	require.NoError(h.t, err)
	out := map[string]store.ContactLink{}
	for _, l := range ls {
		out[l.ObjectID] = l
	}
	return out
}

func (h *harness) state(tenantID string) store.SyncState {
	h.t.Helper()
	s, err := h.st.Account(testAccount).SyncStates.Get(h.t.Context(), tenantID)
	require.NoError(h.t, err)
	return s
}

// person builds an enabled, licensed member with a primary SMTP address.
func person(id, first, last, domain string) tenantsync.User {
	addr := fmt.Sprintf("%s.%s@%s", lower(first), lower(last), domain)
	return tenantsync.User{
		ObjectID: id, UserPrincipalName: addr, DisplayName: first + " " + last, GivenName: first, Surname: last,
		Mail: addr, ProxyAddresses: []string{"SMTP:" + addr}, AccountEnabled: true, UserType: "Member",
		AssignedSKUs: []string{"sku-e3"}, JobTitle: "Engineer", MobilePhone: "+44 7700 900" + id[len(id)-3:],
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// fakeTenant builds a tenant with n people, a shared mailbox, a room, a guest and every kind.
func fakeTenant(id, name, domain string, n int) *FakeTenant {
	ft := &FakeTenant{Tenant: tenantsync.Tenant{ID: id, DisplayName: name, DefaultDomain: domain,
		InitialDomain: lower(name[:4]) + ".onmicrosoft.com", Domains: []string{domain}}}
	for i := range n {
		u := person(fmt.Sprintf("%s-u%03d", id, i), fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i), domain)
		ft.Users = append(ft.Users, u)
		ft.Mailboxes = append(ft.Mailboxes, tenantsync.Mailbox{TenantID: id, ObjectID: u.ObjectID, UserPrincipalName: u.UserPrincipalName,
			PrimarySMTPAddress: u.Mail, Type: tenantsync.MailboxUser})
	}
	shared := tenantsync.User{ObjectID: id + "-shared", UserPrincipalName: "info@" + domain, DisplayName: "Info",
		Mail: "info@" + domain, ProxyAddresses: []string{"SMTP:info@" + domain}, AccountEnabled: true, UserType: "Member"}
	room := tenantsync.User{ObjectID: id + "-room", UserPrincipalName: "boardroom@" + domain, DisplayName: "Board Room",
		GivenName: "Board", Surname: "Room", Mail: "boardroom@" + domain, AccountEnabled: true, UserType: "Member"}
	guest := tenantsync.User{ObjectID: id + "-guest", UserPrincipalName: "pat_partner.example#EXT#@" + ft.Tenant.InitialDomain,
		DisplayName: "Pat Partner", GivenName: "Pat", Surname: "Partner", Mail: "pat@partner.example", AccountEnabled: true, UserType: "Guest"}
	ft.Users = append(ft.Users, shared, room, guest)
	ft.Mailboxes = append(ft.Mailboxes,
		tenantsync.Mailbox{TenantID: id, ObjectID: shared.ObjectID, PrimarySMTPAddress: shared.Mail, Type: tenantsync.MailboxShared},
		tenantsync.Mailbox{TenantID: id, ObjectID: room.ObjectID, PrimarySMTPAddress: room.Mail, Type: tenantsync.MailboxRoom})
	ft.Devices = []tenantsync.Device{{TenantID: id, ID: id + "-d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1"},
		{TenantID: id, ID: id + "-d2", DeviceName: "LAPTOP-2", SerialNumber: "SN2"}}
	ft.Domains = []tenantsync.Domain{
		{TenantID: id, Name: domain, IsDefault: true, IsVerified: true},
		{TenantID: id, Name: ft.Tenant.InitialDomain, IsInitial: true, IsVerified: true},
		{TenantID: id, Name: "unverified." + domain},
	}
	ft.Subscriptions = []tenantsync.Subscription{{TenantID: id, SKUID: "sku-e3", SKUPartNumber: "ENTERPRISEPACK", Enabled: n + 5, Consumed: n}}
	ft.MFA = []tenantsync.MFAState{{TenantID: id, UserID: ft.Users[0].ObjectID, Registered: true}}
	ft.Baseline = &tenantsync.SecurityBaseline{TenantID: id, SecureScore: 40, MaxScore: 100}
	return ft
}

// dirOf returns the default directory of a store that has one (every store these tests use).
func dirOf(st store.Store, account string) store.Directory {
	return st.(store.DirectoryProvider).Directory(account)
}

// dirStore is a store with the default directory, as the wrappers of these tests embed it.
type dirStore interface {
	store.Store
	store.DirectoryProvider
}

// everyKindEverySync is a Cadence.Kinds that rests no kind.
func everyKindEverySync() map[tenantsync.Kind]time.Duration {
	m := map[tenantsync.Kind]time.Duration{}
	for _, k := range tenantsync.AllKinds() {
		m[k] = -1
	}
	return m
}
