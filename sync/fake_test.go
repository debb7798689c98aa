package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
)

// FakeMode is how a FakeSource answers for one kind of one tenant.
type FakeMode int

const (
	// FakeAuto answers users from the cursor when one is given (changes), and in full otherwise.
	FakeAuto FakeMode = iota
	// FakeUnavailable answers Unavailable with the configured error.
	FakeUnavailable
	// FakeCursorExpired answers Unavailable with ErrCursorExpired when a cursor is given.
	FakeCursorExpired
	// FakeDelta gives mailboxes a cursor and answers from it with changes, as Graph's users
	// delta does; without it mailboxes are listed in full every time.
	FakeDelta
	// FakeEmpty answers a complete listing with no items, cursor or not, as a source reading a
	// stale tenant cache does.
	FakeEmpty
)

// FakeSource is an in-memory tenantsync.Source whose answers a test sets per tenant and kind.
// It pages every kind, calls OnPage between pages and OnKind between kinds (so a test can cancel
// a sync at either point), and supports delta cursors for users (and mailboxes, with FakeDelta).
type FakeSource struct {
	name string

	mu       stdsync.Mutex
	order    []string
	tenants  map[string]*FakeTenant
	listErr  error
	pageSize int
	calls    []tenantsync.FetchRequest

	// Stream makes the source hand every kind to FetchRequest.Sink page by page, as a
	// streaming source does, when the request has a Sink. StreamFailAfter, when above zero,
	// makes a streamed kind fail (Unavailable) after that many pages were delivered.
	Stream          bool
	StreamFailAfter int

	// OnPage runs after each page of a kind except the last; OnKind after each kind.
	OnPage func(tenantID string, kind tenantsync.Kind, page int)
	OnKind func(tenantID string, kind tenantsync.Kind)
}

// FakeTenant is one tenant's data in a FakeSource.
type FakeTenant struct {
	Tenant        tenantsync.Tenant
	Users         []tenantsync.User
	Mailboxes     []tenantsync.Mailbox
	Devices       []tenantsync.Device
	Domains       []tenantsync.Domain
	Subscriptions []tenantsync.Subscription
	MFA           []tenantsync.MFAState
	Baseline      *tenantsync.SecurityBaseline
	SignIns       []tenantsync.SignInActivity

	modes    map[tenantsync.Kind]FakeMode
	errs     map[tenantsync.Kind]error
	fetchErr error
	seq      int
	changes  []fakeChange
}

type fakeChange struct {
	seq     int
	kind    tenantsync.Kind
	id      string
	removed bool
}

// NewFakeSource returns an empty source with the given name, paging two items at a time.
func NewFakeSource(name string) *FakeSource {
	return &FakeSource{name: name, tenants: map[string]*FakeTenant{}, pageSize: 2}
}

// Name implements tenantsync.Source.
func (f *FakeSource) Name() string { return f.name }

// AddTenant adds or replaces a tenant.
func (f *FakeSource) AddTenant(t *FakeTenant) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tenants[t.Tenant.ID]; !ok {
		f.order = append(f.order, t.Tenant.ID)
	}
	for i := range t.Users {
		t.Users[i].TenantID = t.Tenant.ID
	}
	f.tenants[t.Tenant.ID] = t
}

// SetPageSize sets how many items each page carries.
func (f *FakeSource) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// DropTenant stops reporting a tenant in ListTenants.
func (f *FakeSource) DropTenant(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tenants, id)
	f.order = slices.DeleteFunc(f.order, func(s string) bool { return s == id })
}

// SetListError makes ListTenants fail (nil restores it).
func (f *FakeSource) SetListError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listErr = err
}

// SetFetchError makes Fetch of a tenant fail as a whole (nil restores it).
func (f *FakeSource) SetFetchError(tenantID string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tenants[tenantID].fetchErr = err
}

// SetMode sets how a kind of a tenant answers; err is the error of FakeUnavailable.
func (f *FakeSource) SetMode(tenantID string, kind tenantsync.Kind, mode FakeMode, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tenants[tenantID]
	if t.modes == nil {
		t.modes, t.errs = map[tenantsync.Kind]FakeMode{}, map[tenantsync.Kind]error{}
	}
	t.modes[kind], t.errs[kind] = mode, err
}

// PutUser adds or replaces a user and records the change for delta queries.
func (f *FakeSource) PutUser(tenantID string, u tenantsync.User) {
	u.TenantID = tenantID
	f.put(tenantID, tenantsync.KindUsers, u.ObjectID, func(t *FakeTenant) { t.Users = upsert(t.Users, u, userID) })
}

// RemoveUser deletes a user and records the removal for delta queries.
func (f *FakeSource) RemoveUser(tenantID, objectID string) {
	f.remove(tenantID, tenantsync.KindUsers, objectID, func(t *FakeTenant) { t.Users = drop(t.Users, objectID, userID) })
}

// PutMailbox adds or replaces a mailbox and records the change for delta queries.
func (f *FakeSource) PutMailbox(tenantID string, m tenantsync.Mailbox) {
	m.TenantID = tenantID
	f.put(tenantID, tenantsync.KindMailboxes, m.ObjectID, func(t *FakeTenant) { t.Mailboxes = upsert(t.Mailboxes, m, mailboxID) })
}

// Silently changes a tenant's data without recording a change for delta queries, as a change a
// source's delta misses (a mailbox converted in Exchange, a user a delta round skipped): only
// a full listing shows it.
func (f *FakeSource) Silently(tenantID string, apply func(*FakeTenant)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	apply(f.tenants[tenantID])
}

// RemoveMailbox deletes a mailbox and records the removal for delta queries.
func (f *FakeSource) RemoveMailbox(tenantID, objectID string) {
	f.remove(tenantID, tenantsync.KindMailboxes, objectID, func(t *FakeTenant) { t.Mailboxes = drop(t.Mailboxes, objectID, mailboxID) })
}

func (f *FakeSource) put(tenantID string, k tenantsync.Kind, id string, apply func(*FakeTenant)) {
	f.change(tenantID, fakeChange{kind: k, id: id}, apply)
}

func (f *FakeSource) remove(tenantID string, k tenantsync.Kind, id string, apply func(*FakeTenant)) {
	f.change(tenantID, fakeChange{kind: k, id: id, removed: true}, apply)
}

func (f *FakeSource) change(tenantID string, c fakeChange, apply func(*FakeTenant)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tenants[tenantID]
	apply(t)
	t.seq++
	c.seq = t.seq
	t.changes = append(t.changes, c)
}

func userID(u tenantsync.User) string       { return u.ObjectID }
func mailboxID(m tenantsync.Mailbox) string { return m.ObjectID }

func upsert[T any](items []T, v T, id func(T) string) []T {
	if i := slices.IndexFunc(items, func(x T) bool { return id(x) == id(v) }); i >= 0 {
		items[i] = v
		return items
	}
	return append(items, v)
}

func drop[T any](items []T, objectID string, id func(T) string) []T {
	return slices.DeleteFunc(items, func(x T) bool { return id(x) == objectID })
}

// since answers a kind from a cursor: the items changed after it (as they are now) and the
// IDs removed after it, the latest change of each item winning. ok is false without a cursor.
func since[T any](t *FakeTenant, k tenantsync.Kind, cursor string, items []T, id func(T) string) (changed []T, removed []string, ok bool) {
	after, ok := parseFakeCursor(cursor)
	if !ok {
		return nil, nil, false
	}
	seen := map[string]bool{}
	for _, c := range slices.Backward(t.changes) {
		if c.kind != k || c.seq <= after || seen[c.id] {
			continue
		}
		seen[c.id] = true
		if c.removed {
			removed = append(removed, c.id)
		} else if i := slices.IndexFunc(items, func(x T) bool { return id(x) == c.id }); i >= 0 {
			changed = append(changed, items[i])
		}
	}
	return changed, removed, true
}

// Calls returns the fetch requests received so far.
func (f *FakeSource) Calls() []tenantsync.FetchRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// ListTenants implements tenantsync.Source.
func (f *FakeSource) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	out := make([]tenantsync.Tenant, 0, len(f.order))
	for _, id := range f.order {
		t := f.tenants[id].Tenant
		t.Source = f.name
		out = append(out, t)
	}
	return out, nil
}

// Fetch implements tenantsync.Source.
func (f *FakeSource) Fetch(ctx context.Context, req tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	t, ok := f.tenants[req.TenantID]
	if !ok {
		f.mu.Unlock()
		return nil, &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: f.name, Op: "Fetch",
			Tenant: req.TenantID, Hint: "refresh the tenant list"}
	}
	if t.fetchErr != nil {
		err := t.fetchErr
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()

	res := &tenantsync.FetchResult{TenantID: req.TenantID, Source: f.name, Kinds: map[tenantsync.Kind]*tenantsync.KindResult{}}
	for i, k := range req.Kinds {
		if i > 0 && f.OnKind != nil {
			f.OnKind(req.TenantID, req.Kinds[i-1])
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		kr, err := f.fetchKind(ctx, t, k, req)
		if err != nil {
			return nil, err
		}
		res.Kinds[k] = kr
		res.RoundTrips++
	}
	return res, nil
}

func (f *FakeSource) fetchKind(ctx context.Context, t *FakeTenant, k tenantsync.Kind, req tenantsync.FetchRequest) (*tenantsync.KindResult, error) {
	f.mu.Lock()
	mode := t.modes[k]
	modeErr := t.errs[k]
	cursor := req.Cursors[k]
	f.mu.Unlock()

	switch {
	case mode == FakeUnavailable:
		return tenantsync.UnavailableResult(k, modeErr), nil
	case mode == FakeCursorExpired && cursor != "":
		return tenantsync.UnavailableResult(k, &tenantsync.Error{Class: tenantsync.ErrCursorExpired, Service: f.name,
			Op: "delta", Tenant: t.Tenant.ID, Code: "syncStateNotFound", Hint: "list the kind in full"}), nil
	case mode == FakeEmpty:
		return &tenantsync.KindResult{Kind: k, Mode: tenantsync.Complete, FetchedAt: time.Unix(0, 0), Streamed: f.Stream && req.Sink != nil}, nil
	}

	f.mu.Lock()
	kr := &tenantsync.KindResult{Kind: k, Mode: tenantsync.Complete, FetchedAt: time.Unix(0, 0)}
	if k == tenantsync.KindUsers || (k == tenantsync.KindMailboxes && mode == FakeDelta) {
		kr.Cursor = fmt.Sprintf("%s:%d", t.Tenant.ID, t.seq)
	}
	var delta bool
	switch k {
	case tenantsync.KindUsers:
		kr.Users, kr.Removed, delta = since(t, k, cursor, t.Users, userID)
		if !delta {
			kr.Users = slices.Clone(t.Users)
		}
	case tenantsync.KindMailboxes:
		if kr.Cursor != "" {
			kr.Mailboxes, kr.Removed, delta = since(t, k, cursor, t.Mailboxes, mailboxID)
		}
		if !delta {
			kr.Mailboxes = slices.Clone(t.Mailboxes)
		}
	case tenantsync.KindDevices:
		kr.Devices = slices.Clone(t.Devices)
	case tenantsync.KindDomains:
		kr.Domains = slices.Clone(t.Domains)
	case tenantsync.KindSubscriptions:
		kr.Subscriptions = slices.Clone(t.Subscriptions)
	case tenantsync.KindMFA:
		kr.MFA = slices.Clone(t.MFA)
	case tenantsync.KindBaseline:
		if t.Baseline != nil {
			b := *t.Baseline
			kr.Baseline = &b
		}
	case tenantsync.KindSignIns:
		kr.SignIns = slices.Clone(t.SignIns)
	}
	if delta {
		kr.Mode = tenantsync.Changes
	}
	items := kr.Len()
	pageSize := f.pageSize
	stream := f.Stream && req.Sink != nil
	failAfter := f.StreamFailAfter
	f.mu.Unlock()

	// Walk the items page by page so a test can interrupt between pages.
	pages := max(1, (items+pageSize-1)/pageSize)
	for p := range pages {
		if stream {
			if failAfter > 0 && p == failAfter {
				return tenantsync.UnavailableResult(k, tenantsync.Errorf(tenantsync.ErrIncomplete, "", "page %d of %s failed", p+1, k)), nil
			}
			if err := req.Sink.Page(ctx, fakePage(kr, p*pageSize, min(items, (p+1)*pageSize), p == 0)); err != nil {
				return tenantsync.UnavailableResult(k, err), nil
			}
		}
		if req.Progress != nil {
			req.Progress(k, min(items, (p+1)*pageSize))
		}
		if p < pages-1 && f.OnPage != nil {
			f.OnPage(t.Tenant.ID, k, p)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if stream {
		kr = &tenantsync.KindResult{Kind: k, Mode: kr.Mode, Cursor: kr.Cursor, FetchedAt: kr.FetchedAt, Streamed: true}
	}
	return kr, nil
}

// fakePage is the items from..to of kr as one streamed page; the first carries the removals.
func fakePage(kr *tenantsync.KindResult, from, to int, first bool) *tenantsync.KindResult {
	p := &tenantsync.KindResult{Kind: kr.Kind, Mode: kr.Mode}
	if first {
		p.Removed = slices.Clone(kr.Removed)
	}
	window := func(n int) (int, int) { return min(from, n), min(to, n) }
	switch kr.Kind {
	case tenantsync.KindUsers:
		a, b := window(len(kr.Users))
		p.Users = slices.Clone(kr.Users[a:b])
	case tenantsync.KindMailboxes:
		a, b := window(len(kr.Mailboxes))
		p.Mailboxes = slices.Clone(kr.Mailboxes[a:b])
	case tenantsync.KindDevices:
		a, b := window(len(kr.Devices))
		p.Devices = slices.Clone(kr.Devices[a:b])
	case tenantsync.KindDomains:
		a, b := window(len(kr.Domains))
		p.Domains = slices.Clone(kr.Domains[a:b])
	case tenantsync.KindSubscriptions:
		a, b := window(len(kr.Subscriptions))
		p.Subscriptions = slices.Clone(kr.Subscriptions[a:b])
	case tenantsync.KindMFA:
		a, b := window(len(kr.MFA))
		p.MFA = slices.Clone(kr.MFA[a:b])
	case tenantsync.KindBaseline:
		if first {
			p.Baseline = kr.Baseline
		}
	}
	return p
}

func parseFakeCursor(c string) (int, bool) {
	_, n, ok := strings.Cut(c, ":")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	return v, err == nil
}

var _ tenantsync.Source = (*FakeSource)(nil)
