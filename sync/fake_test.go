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
)

// FakeSource is an in-memory tenantsync.Source whose answers a test sets per tenant and kind.
// It pages every kind, calls OnPage between pages and OnKind between kinds (so a test can cancel
// a sync at either point), and supports delta cursors for users.
type FakeSource struct {
	name string

	mu       stdsync.Mutex
	order    []string
	tenants  map[string]*FakeTenant
	listErr  error
	pageSize int
	calls    []tenantsync.FetchRequest

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

	modes    map[tenantsync.Kind]FakeMode
	errs     map[tenantsync.Kind]error
	fetchErr error
	seq      int
	changes  []fakeChange
}

type fakeChange struct {
	seq     int
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
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tenants[tenantID]
	u.TenantID = tenantID
	i := slices.IndexFunc(t.Users, func(x tenantsync.User) bool { return x.ObjectID == u.ObjectID })
	if i >= 0 {
		t.Users[i] = u
	} else {
		t.Users = append(t.Users, u)
	}
	t.seq++
	t.changes = append(t.changes, fakeChange{seq: t.seq, id: u.ObjectID})
}

// RemoveUser deletes a user and records the removal for delta queries.
func (f *FakeSource) RemoveUser(tenantID, objectID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tenants[tenantID]
	t.Users = slices.DeleteFunc(t.Users, func(x tenantsync.User) bool { return x.ObjectID == objectID })
	t.seq++
	t.changes = append(t.changes, fakeChange{seq: t.seq, id: objectID, removed: true})
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
		return nil, &tenantsync.Error{Kind: tenantsync.ErrTenantNotFound, Service: f.name, Op: "Fetch",
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
		return tenantsync.Unavailability(k, modeErr), nil
	case mode == FakeCursorExpired && cursor != "":
		return tenantsync.Unavailability(k, &tenantsync.Error{Kind: tenantsync.ErrCursorExpired, Service: f.name,
			Op: "delta", Tenant: t.Tenant.ID, Code: "syncStateNotFound", Hint: "list the kind in full"}), nil
	}

	f.mu.Lock()
	kr := &tenantsync.KindResult{Kind: k, Mode: tenantsync.Complete, FetchedAt: time.Unix(0, 0)}
	var items int
	switch k {
	case tenantsync.KindUsers:
		kr.Cursor = fmt.Sprintf("%s:%d", t.Tenant.ID, t.seq)
		if since, ok := parseFakeCursor(cursor); ok {
			kr.Mode = tenantsync.Changes
			seen := map[string]bool{}
			for _, c := range slices.Backward(t.changes) {
				if c.seq <= since || seen[c.id] {
					continue
				}
				seen[c.id] = true
				if c.removed {
					kr.Removed = append(kr.Removed, c.id)
					continue
				}
				if i := slices.IndexFunc(t.Users, func(u tenantsync.User) bool { return u.ObjectID == c.id }); i >= 0 {
					kr.Users = append(kr.Users, t.Users[i])
				}
			}
		} else {
			kr.Users = slices.Clone(t.Users)
		}
		items = len(kr.Users)
	case tenantsync.KindMailboxes:
		kr.Mailboxes = slices.Clone(t.Mailboxes)
		items = len(kr.Mailboxes)
	case tenantsync.KindDevices:
		kr.Devices = slices.Clone(t.Devices)
		items = len(kr.Devices)
	case tenantsync.KindDomains:
		kr.Domains = slices.Clone(t.Domains)
		items = len(kr.Domains)
	case tenantsync.KindSubscriptions:
		kr.Subscriptions = slices.Clone(t.Subscriptions)
		items = len(kr.Subscriptions)
	case tenantsync.KindMFA:
		kr.MFA = slices.Clone(t.MFA)
		items = len(kr.MFA)
	case tenantsync.KindBaseline:
		if t.Baseline != nil {
			b := *t.Baseline
			kr.Baseline = &b
			items = 1
		}
	}
	pageSize := f.pageSize
	f.mu.Unlock()

	// Walk the items page by page so a test can interrupt between pages.
	pages := max(1, (items+pageSize-1)/pageSize)
	for p := range pages {
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
	return kr, nil
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
