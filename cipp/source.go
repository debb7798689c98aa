package cipp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/callctx"
)

var _ tenantsync.Source = (*Source)(nil)

// DefaultPagedUsersAbove is the user count above which Source lists a tenant's users page by
// page through ListGraphRequest instead of one ListUsers call, which on very large tenants can
// run past Azure's ~230 s response limit.
const DefaultPagedUsersAbove = 2000

// Source adapts a Client to tenantsync.Source. CIPP has no delta queries, so every kind is
// fetched in full (Complete) or reported Unavailable; each kind is independent of the others.
type Source struct {
	c          *Client
	pagedAbove int
	now        func() time.Time

	mu    sync.Mutex
	sizes map[string]int // tenant ID → user count of its last listing

	bulk *bulk // nil unless SourceConfig.Bulk
}

// SourceConfig configures a Source. The zero value takes the defaults.
type SourceConfig struct {
	// PagedUsersAbove is the user count above which users are listed through paged
	// ListGraphRequest calls (0: DefaultPagedUsersAbove). PageAllUsers lists every tenant's
	// users page by page, whatever its size.
	PagedUsersAbove int
	PageAllUsers    bool

	// Bulk reads the kinds CIPP's reporting database holds (CIPP v10.1 and later) for every
	// tenant at once: one ListDBCache call per type with tenantFilter=AllTenants, after one
	// countsOnly call that says when each tenant's rows were refreshed. A kind is read from it
	// when the tenant's rows of its types are there, were refreshed within BulkMaxAge and are
	// no older than what the mirror holds; otherwise, and for a sync someone asked for now
	// (FetchRequest.Fresh), it is read live. An instance older than v10.1 answers 400, and
	// the Source reads live for an hour before it asks again. Each kind's FetchedAt is when
	// CIPP refreshed it, and its Cursor records that time, so a later fetch hands out older
	// data never. The database misses what changed since CIPP's nightly refresh: use Bulk
	// where day-old data is acceptable, and SyncNow where it is not.
	Bulk bool
	// BulkMaxAge is how old the reporting database's data may be (0: DefaultBulkMaxAge).
	BulkMaxAge time.Duration
	// BulkKinds are the kinds Bulk reads (nil: every kind).
	BulkKinds []tenantsync.Kind
}

// NewSource validates cfg and returns a Source reading through c.
func NewSource(c *Client, cfg SourceConfig) (*Source, error) {
	invalid := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "NewSource", Message: msg, Hint: hint}
	}
	switch {
	case c == nil:
		return nil, invalid("no client", "pass the *cipp.Client that NewClient returned")
	case cfg.PagedUsersAbove < 0:
		return nil, invalid(fmt.Sprintf("SourceConfig.PagedUsersAbove %d is negative", cfg.PagedUsersAbove),
			"use a positive user count, 0 for the default of 2000, or PageAllUsers to page every tenant")
	case cfg.BulkMaxAge < 0:
		return nil, invalid(fmt.Sprintf("SourceConfig.BulkMaxAge %v is negative", cfg.BulkMaxAge),
			"use a positive age, or 0 for the default of 26 hours")
	}
	for _, k := range cfg.BulkKinds {
		if !k.Valid() {
			return nil, invalid(fmt.Sprintf("SourceConfig.BulkKinds holds an unknown kind %q", k), "use the tenantsync.Kind constants")
		}
	}
	s := &Source{c: c, pagedAbove: DefaultPagedUsersAbove, now: time.Now, sizes: map[string]int{}}
	switch {
	case cfg.PageAllUsers:
		s.pagedAbove = 0
	case cfg.PagedUsersAbove > 0:
		s.pagedAbove = cfg.PagedUsersAbove
	}
	if cfg.Bulk {
		age := cfg.BulkMaxAge
		if age == 0 {
			age = DefaultBulkMaxAge
		}
		kinds := cfg.BulkKinds
		if kinds == nil {
			kinds = tenantsync.AllKinds()
		}
		s.bulk = newBulk(c, age, kinds, func() time.Time { return s.now() })
	}
	return s, nil
}

// Name returns "cipp".
func (s *Source) Name() string { return Service }

// ListTenants returns the tenants CIPP manages, without its pseudo rows and excluded tenants. An
// empty list is an error (tenantsync.ErrIncomplete with the hint about the API client's tenant
// scope): a client that suddenly sees no tenants has lost its scope, not its customers.
func (s *Source) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	rows, err := s.c.freshTenants(ctx)
	if err != nil {
		return nil, err
	}
	var out []tenantsync.Tenant
	for _, t := range rows {
		if usable(t) {
			out = append(out, ToTenant(t))
		}
	}
	if len(out) == 0 {
		return nil, s.c.newError(tenantsync.ErrIncomplete, "ListTenants", "", 0, "CIPP returned no tenants for this API client", HintEmptyTenants)
	}
	return out, nil
}

// Fetch lists the requested kinds of one tenant, each in its own calls and all at once, within
// the client's Concurrency. An unknown tenant is an error; a kind that fails is Unavailable
// with the reason, and the other kinds are unaffected. A kind that comes back empty counts as
// complete only once a freshly fetched tenant list (one per Fetch, however many kinds are
// empty) shows CIPP still manages the tenant: CIPP answers an empty 200 for tenants it has
// dropped, and the cached list may not know yet. With Bulk, the kinds the reporting database
// can answer come from it.
func (s *Source) Fetch(ctx context.Context, req tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	ctx = context.WithValue(withConfirmMemo(ctx), licenceKey{}, &licenceMemo{})
	t, err := s.c.LookupTenant(ctx, req.TenantID)
	if err != nil {
		return nil, err
	}
	id := strings.ToLower(t.CustomerID)
	before := s.c.attemptCount(t.CustomerID)
	res := &tenantsync.FetchResult{TenantID: id, Source: Service, Kinds: map[tenantsync.Kind]*tenantsync.KindResult{}}
	kinds := req.Kinds
	if len(kinds) == 0 {
		kinds = tenantsync.AllKinds()
	}
	var live []tenantsync.Kind
	for _, k := range kinds {
		switch {
		case !k.Valid():
			res.Kinds[k] = tenantsync.UnavailableResult(k, s.c.newError(tenantsync.ErrUnsupported, "Fetch", id, 0, "unknown kind "+string(k), "use the tenantsync.Kind constants"))
		case !slices.Contains(live, k):
			live = append(live, k)
		}
	}
	if s.bulk != nil && !req.Fresh {
		for k, kr := range s.bulk.serve(ctx, t, id, live, req.Cursors) {
			res.Kinds[k] = kr
			if kr.Mode == tenantsync.Complete && req.Progress != nil {
				req.Progress(k, kr.Len())
			}
		}
		live = slices.DeleteFunc(live, func(k tenantsync.Kind) bool { return res.Kinds[k] != nil })
	}
	got := make([]*tenantsync.KindResult, len(live))
	var wg sync.WaitGroup
	for i, k := range live {
		wg.Go(func() { got[i] = s.liveKind(callctx.WithKind(ctx, string(k)), t, id, k, req.Progress, req.Sink) })
	}
	wg.Wait()
	var errs []error
	for i, k := range live {
		res.Kinds[k] = got[i]
	}
	for _, kr := range res.Kinds {
		if kr.Mode == tenantsync.Unavailable {
			errs = append(errs, kr.Err)
		}
	}
	joinKinds(res)
	res.RoundTrips = s.c.attemptCount(t.CustomerID) - before
	if len(errs) == len(res.Kinds) && unreachable(errs) {
		// The token was refused, or CIPP has no working access to the tenant: the tenant could
		// not be reached at all, which is one error rather than seven.
		return nil, errs[0]
	}
	return res, nil
}

// unreachable reports whether every error is the same access failure.
func unreachable(errs []error) bool {
	if len(errs) == 0 {
		return false
	}
	kind := tenantsync.ClassOf(errs[0])
	switch kind {
	case tenantsync.ErrUnauthorized, tenantsync.ErrConsentRequired, tenantsync.ErrAuthorizationRevoked:
	default:
		return false
	}
	for _, e := range errs[1:] {
		if tenantsync.ClassOf(e) != kind {
			return false
		}
	}
	return true
}

// liveKind reads one kind from CIPP's live endpoints.
func (s *Source) liveKind(ctx context.Context, t Tenant, id string, k tenantsync.Kind, progress func(tenantsync.Kind, int), sink tenantsync.PageSink) *tenantsync.KindResult {
	at := s.now()
	var kr *tenantsync.KindResult
	streamed := 0
	if k == tenantsync.KindUsers && sink != nil {
		kr, streamed = s.streamUsers(ctx, t.CustomerID, id, progress, sink)
	} else {
		kr = s.fetchKind(ctx, t, id, k, progress)
	}
	kr.Kind = k
	if kr.Mode == tenantsync.Complete && !k.Singleton() && len(kr.IDs()) == 0 && streamed == 0 {
		// The list endpoints confirm their own empty answers; this covers the kinds read
		// through ListGraphRequest, and costs nothing more once the list is in the memo.
		if err := s.c.confirmListed(ctx, "Fetch", t); err != nil {
			kr = tenantsync.UnavailableResult(k, err)
		}
	}
	kr.FetchedAt = s.now()
	if s.bulk != nil && kr.Mode == tenantsync.Complete {
		// The data dates from when the reads began: the reporting database's rows are used
		// again only once they are newer.
		at = at.Truncate(time.Second)
		kr.Cursor = bulkCursor(at)
		s.bulk.markServed(id, k, at)
	}
	return kr
}

func (s *Source) fetchKind(ctx context.Context, t Tenant, id string, k tenantsync.Kind, progress func(tenantsync.Kind, int)) *tenantsync.KindResult {
	report := func(n int) {
		if progress != nil {
			progress(k, n)
		}
	}
	complete := &tenantsync.KindResult{Mode: tenantsync.Complete}
	key := t.CustomerID
	switch k {
	case tenantsync.KindUsers:
		users, err := s.users(ctx, key, id, report)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.Users = users
	case tenantsync.KindMailboxes:
		rows, err := s.c.Mailboxes(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.Mailboxes = convert(rows, func(m Mailbox) tenantsync.Mailbox { return ToMailbox(id, m) })
		report(len(rows))
	case tenantsync.KindDevices:
		rows, err := s.c.Devices(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.Devices = convert(rows, func(d Device) tenantsync.Device { return ToDevice(id, d) })
		report(len(rows))
	case tenantsync.KindDomains:
		rows, err := s.c.GraphDomains(ctx, key)
		if err != nil && ctx.Err() == nil {
			// ListDomains lacks verification state but answers where Graph paging fails.
			if alt, err2 := s.c.Domains(ctx, key); err2 == nil {
				rows, err = alt, nil
			}
		}
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.Domains = convert(rows, func(d Domain) tenantsync.Domain { return ToDomain(id, d) })
		report(len(rows))
	case tenantsync.KindSubscriptions:
		rows, err := s.licenses(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.Subscriptions = convert(rows, func(l License) tenantsync.Subscription { return ToSubscription(id, l) })
		report(len(rows))
	case tenantsync.KindMFA:
		rows, err := s.c.MFAUsers(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.MFA = convert(rows, func(m MFAUser) tenantsync.MFAState { return ToMFAState(id, m) })
		report(len(rows))
	case tenantsync.KindBaseline:
		b, err := s.baseline(ctx, key, id)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		complete.Baseline = b
		report(1)
	case tenantsync.KindGroups, tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage:
		return s.fetchLaterKind(ctx, key, id, k, report)
	default:
		return tenantsync.UnavailableResult(k, s.c.newError(tenantsync.ErrUnsupported, "Fetch", id, 0, "unknown kind "+string(k), "use the tenantsync.Kind constants"))
	}
	return complete
}

func convert[W, D any](rows []W, f func(W) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

// users lists users with one ListUsers call, or page by page for tenants known to be large or
// when ListUsers fails (typically by running out of time on a large tenant). A page that fails
// fails the whole listing: a partial user list must never reach the engine.
func (s *Source) users(ctx context.Context, key, id string, report func(int)) ([]tenantsync.User, error) {
	s.mu.Lock()
	last, known := s.sizes[id]
	s.mu.Unlock()
	var out []tenantsync.User
	if !(s.pagedAbove == 0 || known && last > s.pagedAbove) {
		rows, err := s.c.Users(ctx, key)
		if err == nil {
			out = convert(rows, func(u User) tenantsync.User { return ToUser(id, u) })
			report(len(out))
			s.remember(id, len(out))
			return out, nil
		}
		if !errors.Is(err, tenantsync.ErrUnavailable) || ctx.Err() != nil {
			return nil, err
		}
	}
	out = []tenantsync.User{}
	seq := GraphItems[User](s.c.graphSeq(ctx, key, GraphRequest{Endpoint: "users", Select: UserSelect(), Top: 999}, report))
	for u, err := range seq {
		if err != nil {
			return nil, err
		}
		if u.ID == "" {
			continue
		}
		out = append(out, ToUser(id, u))
	}
	s.remember(id, len(out))
	return out, nil
}

// streamPage is how many users streamUsers hands the sink at a time.
const streamPage = 500

// streamUsers reads the users as users does, but hands them to sink streamPage at a time: the
// paged route (ListGraphRequest, for large tenants) holds one page, the single ListUsers
// call holds CIPP's answer but not its conversion. It returns the kind's result (Streamed,
// without items) and how many users it streamed.
func (s *Source) streamUsers(ctx context.Context, key, id string, progress func(tenantsync.Kind, int), sink tenantsync.PageSink) (*tenantsync.KindResult, int) {
	report := func(n int) {
		if progress != nil {
			progress(tenantsync.KindUsers, n)
		}
	}
	n := 0
	var buf []tenantsync.User
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		page := &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: buf}
		n += len(buf)
		buf = nil
		return sink.Page(ctx, page)
	}
	add := func(u User) error {
		buf = append(buf, ToUser(id, u))
		if len(buf) == streamPage {
			return flush()
		}
		return nil
	}
	fail := func(err error) (*tenantsync.KindResult, int) {
		return tenantsync.UnavailableResult(tenantsync.KindUsers, err), n
	}
	s.mu.Lock()
	last, known := s.sizes[id]
	s.mu.Unlock()
	if !(s.pagedAbove == 0 || known && last > s.pagedAbove) {
		// One call answers every user: nothing is handed on before it succeeded, so a
		// failure can still fall back to the paged route.
		rows, err := s.c.Users(ctx, key)
		if err == nil {
			report(len(rows))
			for _, u := range rows {
				if err := add(u); err != nil {
					return fail(err)
				}
			}
			if err := flush(); err != nil {
				return fail(err)
			}
			s.remember(id, n)
			return &tenantsync.KindResult{Mode: tenantsync.Complete, Streamed: true}, n
		}
		if !errors.Is(err, tenantsync.ErrUnavailable) || ctx.Err() != nil {
			return fail(err)
		}
	}
	seq := GraphItems[User](s.c.graphSeq(ctx, key, GraphRequest{Endpoint: "users", Select: UserSelect(), Top: 999}, report))
	for u, err := range seq {
		if err != nil {
			return fail(err)
		}
		if u.ID == "" {
			continue
		}
		if err := add(u); err != nil {
			return fail(err)
		}
	}
	if err := flush(); err != nil {
		return fail(err)
	}
	s.remember(id, n)
	return &tenantsync.KindResult{Mode: tenantsync.Complete, Streamed: true}, n
}

func (s *Source) remember(id string, n int) {
	s.mu.Lock()
	s.sizes[id] = n
	s.mu.Unlock()
}

// baseline combines conditional access policies, the latest secure score and, when readable,
// the security defaults setting.
func (s *Source) baseline(ctx context.Context, key, id string) (*tenantsync.SecurityBaseline, error) {
	b := &tenantsync.SecurityBaseline{TenantID: id, MeasuredAt: s.now()}
	// The three reads are independent: they go at once.
	var (
		wg        sync.WaitGroup
		policies  []CAPolicy
		score     SecureScore
		sd        SecurityDefaultsPolicy
		err, sErr error
		sdErr     error
	)
	wg.Go(func() { policies, err = s.c.ConditionalAccessPolicies(ctx, key) })
	wg.Go(func() { score, sErr = s.c.SecureScore(ctx, key) })
	wg.Go(func() { sd, sdErr = s.c.SecurityDefaults(ctx, key) })
	var defender *tenantsync.DefenderState
	wg.Go(func() { defender = s.defender(ctx, key) })
	wg.Wait()
	if err != nil {
		return nil, err
	}
	b.CAPolicies = convert(policies, ToCAPolicy)
	err = sErr
	switch {
	case err == nil:
		b.SecureScore, b.MaxScore = score.CurrentScore, score.MaxScore
		if !score.CreatedDateTime.IsZero() {
			b.MeasuredAt = score.CreatedDateTime.Time
		}
	case errors.Is(err, tenantsync.ErrNotFound):
	default:
		return nil, err
	}
	if sdErr == nil {
		on := sd.IsEnabled
		b.SecurityDefaults = &on
	} else if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.Defender = defender
	return b, nil
}

// defender reads the baseline's Defender state: the plan from ListLicenses' service plans
// (shared with the subscriptions kind in one Fetch), the connector through ListGraphRequest and
// the devices' antivirus from ListDefenderState, all at once. A part CIPP cannot read is
// unknown with the error as its reason, never "not onboarded".
func (s *Source) defender(ctx context.Context, key string) *tenantsync.DefenderState {
	d := &tenantsync.DefenderState{}
	var wg sync.WaitGroup
	wg.Go(func() {
		rows, err := s.licenses(ctx, key)
		if err != nil {
			d.PlanReason = err.Error()
			return
		}
		d.Plan = tenantsync.DefenderPlanOf(licensedServicePlans(rows))
	})
	wg.Go(func() {
		conns, err := s.c.MobileThreatDefenseConnectors(ctx, key)
		if err != nil {
			d.ConnectorReason = err.Error()
			return
		}
		d.Connector = tenantsync.DefenderConnectorNotSetUp
		for _, c := range conns {
			if !strings.EqualFold(c.ID, tenantsync.DefenderConnectorID) {
				continue
			}
			if d.Connector = tenantsync.DefenderConnectorOf(c.PartnerState); d.Connector == tenantsync.DefenderConnectorUnknown {
				d.ConnectorReason = fmt.Sprintf("Graph reported the connector's partnerState as %q, which this version does not know", c.PartnerState)
			}
			d.ConnectorHeartbeat = c.LastHeartbeatDateTime.UTC()
		}
	})
	wg.Go(func() {
		devs, err := s.c.DefenderStates(ctx, key)
		if err != nil {
			d.DevicesReason = err.Error()
			return
		}
		d.Devices = tenantsync.CountWindowsProtection(ToWindowsProtection(devs), s.now())
	})
	wg.Wait()
	d.Assess()
	return d
}

// licenses reads ListLicenses once per Fetch: the subscriptions kind and the baseline's
// Defender plan both need it.
func (s *Source) licenses(ctx context.Context, key string) ([]License, error) {
	m, _ := ctx.Value(licenceKey{}).(*licenceMemo)
	if m == nil {
		return s.c.Licenses(ctx, key)
	}
	m.once.Do(func() { m.rows, m.err = s.c.Licenses(ctx, key) })
	return m.rows, m.err
}

type licenceKey struct{}

type licenceMemo struct {
	once sync.Once
	rows []License
	err  error
}
