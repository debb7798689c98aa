package graph

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/callctx"
)

// Batch item IDs of a fetch.
const (
	itemUsers        = "users"
	itemMailboxUsers = "mailboxUsers"
	itemDevices      = "devices"
	itemDomains      = "domains"
	itemSKUs         = "subscribedSkus"
	itemMFA          = "registrationDetails"
	itemCA           = "caPolicies"
	itemSecDefaults  = "securityDefaults"
	itemScore        = "secureScore"
	itemConnectors   = "mtdConnectors"
	itemProtection   = "windowsProtection"
)

// mailboxSelect is what the mailboxes kind reads of each user. Graph tracks only $selected
// properties in a delta round, so a mailboxes round of its own reports only users whose names,
// addresses or licences changed: a mailbox converted to shared usually loses its licence, and a
// licence assigned is what creates a mailbox.
const mailboxSelect = "id,userPrincipalName,displayName,mail,proxyAddresses,assignedLicenses"

// kindFetch is how Fetch reads one kind, in two steps around the one $batch: plan adds the
// kind's first requests to the batch (or returns why the kind cannot be asked for), read turns
// the batch's answers, and any further pages, into the kind's result.
type kindFetch struct {
	kind tenantsync.Kind
	plan func(f *fetch) error
	read func(ctx context.Context, f *fetch) (*tenantsync.KindResult, error)
}

// kindFetches lists the kinds Fetch reads, in reading order: users before mailboxes, which
// may share the users round.
func kindFetches() []kindFetch {
	return []kindFetch{
		{tenantsync.KindUsers, planUsers, readUsers},
		{tenantsync.KindMailboxes, planMailboxes, readMailboxes},
		{tenantsync.KindDevices, planItem(itemDevices, listDevices), readDevices},
		{tenantsync.KindDomains, planItem(itemDomains, listDomains), readDomains},
		{tenantsync.KindSubscriptions, planItem(itemSKUs, listSKUs), readSubscriptions},
		{tenantsync.KindMFA, planMFA, readMFA},
		{tenantsync.KindBaseline, planBaseline, readBaseline},
		{tenantsync.KindGroups, planItem(itemGroups, listGroups), readGroups},
		{tenantsync.KindOrganization, planItem(itemOrg, listOrganization), readOrganization},
		{tenantsync.KindSignIns, planItem(itemSignIns, listSignIns), readSignIns},
		{tenantsync.KindMailboxUsage, planMailboxUsage, readMailboxUsage},
	}
}

// fetch is one Fetch in progress.
type fetch struct {
	c         *Client
	mailboxes MailboxMode
	req       tenantsync.FetchRequest
	tenant    string
	items     []BatchRequest
	answers   map[string]BatchResponse
	now       time.Time // when the batch was answered

	// The users round, kept for the mailboxes kind when both stand at the same cursor; usersDone
	// is closed once it is read (or will not be), so the mailboxes kind can wait for it.
	mbShared   bool
	mail       *mailUsers // the round's users with mail, as its pages arrive (mbShared only)
	usersRound *UsersDelta
	usersErr   error
	usersDone  chan struct{}

	// The CA policies and security defaults, read once for MFA and the baseline.
	policiesOnce sync.Once
	policies     []CAPolicy
	caErr, sdErr error
	secDefaults  bool

	// The subscribed SKUs, read once for the subscriptions kind and the baseline's Defender plan.
	skusOnce sync.Once
	skus     []SubscribedSKU
	skusErr  error

	// The MFA states read, for the baseline's summary.
	mfa []tenantsync.MFAState
	// mfaDone is closed when the MFA kind's read has ended (at once when it was not asked
	// for): the baseline's MFA summary waits for it, the kinds being read concurrently.
	mfaDone chan struct{}
}

// add puts a GET into the batch once, however many kinds need it.
func (f *fetch) add(id, path string) {
	for _, it := range f.items {
		if it.ID == id {
			return
		}
	}
	f.items = append(f.items, BatchRequest{ID: id, Method: http.MethodGet, URL: path})
}

func (f *fetch) progress(k tenantsync.Kind) func(int) {
	if f.req.Progress == nil {
		return nil
	}
	return func(n int) { f.req.Progress(k, n) }
}

// Fetch reads the requested kinds of one tenant: one $batch carries the first page of every
// kind, further pages follow their nextLink alone, each kind's at the same time as the others'.
// Users and mailboxes are read as users delta
// rounds: in full (returning the deltaLink as the cursor) without a cursor, as changes with one.
// Mailbox types are read (20 users per $batch) only for the users a round reports, so an
// unchanged tenant costs the one $batch. When both kinds stand at the same cursor (both empty
// on a first sync) one round serves both. A kind that fails is Unavailable with its error; the
// others are unaffected. Fetch fails as a whole only when the tenant cannot be reached (token
// refused, consent missing, tenant unknown).
func (s *Source) Fetch(ctx context.Context, req tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	c := s.c
	const op = "Fetch"
	tenant := req.TenantID
	if err := checkTenant(op, tenant); err != nil {
		return nil, err
	}
	kinds := map[tenantsync.Kind]bool{}
	for _, k := range req.Kinds {
		if !k.Valid() {
			return nil, opError(tenantsync.ErrInvalidInput, op, tenant, "use the tenantsync.Kind constants", "unknown kind %q", k)
		}
		kinds[k] = true
	}
	ctx, counter := withCounter(ctx)
	res := &tenantsync.FetchResult{TenantID: tenant, Source: service, Kinds: map[tenantsync.Kind]*tenantsync.KindResult{}}
	defer func() { res.RoundTrips = int(counter.n.Load()) }()
	if len(kinds) == 0 {
		return res, nil
	}
	if _, err := c.token(ctx, op, tenant); err != nil {
		return nil, err
	}

	f := &fetch{c: c, mailboxes: s.cfg.Mailboxes, req: req, tenant: tenant}
	var asked []kindFetch
	for _, kf := range kindFetches() {
		if !kinds[kf.kind] {
			continue
		}
		if err := kf.plan(f); err != nil {
			res.Kinds[kf.kind] = tenantsync.UnavailableResult(kf.kind, err)
			continue
		}
		asked = append(asked, kf)
	}
	if len(f.items) > 0 {
		var err error
		if f.answers, err = c.Batch(ctx, tenant, f.items); err != nil {
			return nil, err
		}
	}
	f.now = c.now().UTC()
	// Each kind follows its further pages at the same time as the others: a large tenant's
	// chain is its longest kind, not the sum of them. The mailboxes kind waits for the users
	// round it shares.
	f.usersDone = make(chan struct{})
	if !slices.ContainsFunc(asked, func(kf kindFetch) bool { return kf.kind == tenantsync.KindUsers }) {
		close(f.usersDone)
	}
	f.mfaDone = make(chan struct{})
	if !slices.ContainsFunc(asked, func(kf kindFetch) bool { return kf.kind == tenantsync.KindMFA }) {
		close(f.mfaDone)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, kf := range asked {
		wg.Go(func() {
			// The kind's further pages are tagged with it for tracing; the $batch above reads all.
			kr, err := kf.read(callctx.WithKind(ctx, string(kf.kind)), f)
			if err != nil {
				kr = tenantsync.UnavailableResult(kf.kind, err)
			}
			kr.Kind = kf.kind
			if kr.FetchedAt.IsZero() {
				kr.FetchedAt = f.now
			}
			mu.Lock()
			res.Kinds[kf.kind] = kr
			mu.Unlock()
		})
	}
	wg.Wait()
	return res, nil
}

// planItem adds a kind read from one list's first page.
func planItem(id string, l list) func(f *fetch) error {
	return func(f *fetch) error {
		f.add(id, l.path)
		return nil
	}
}

func planUsers(f *fetch) error {
	rel, err := f.c.deltaItem(listUsersDelta, f.tenant, f.req.Cursors[tenantsync.KindUsers])
	if err != nil {
		// The mailboxes may be waiting for this round; they fail with it.
		f.usersErr = err
		return err
	}
	f.add(itemUsers, rel)
	return nil
}

func readUsers(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	defer close(f.usersDone)
	if f.req.Sink != nil && !f.mbShared {
		// Streamed page by page: no one else needs the round's users.
		return streamUsers(ctx, f)
	}
	var each func(User)
	if f.mbShared {
		each = f.mail.add
	}
	d, err := readDelta(ctx, f.c, listUsersDelta, f.tenant, f.req.Cursors[tenantsync.KindUsers], f.answers[itemUsers], f.progress(tenantsync.KindUsers), each)
	if err != nil {
		f.usersErr = err
		return nil, err
	}
	f.usersRound = d
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Users: toUsers(f.tenant, d.Users), Cursor: d.Cursor}
	if !d.Full {
		kr.Mode, kr.Removed = tenantsync.Changes, d.Removed
	}
	return kr, nil
}

// streamUsers reads the users round page by page into the request's Sink.
func streamUsers(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	cursor := f.req.Cursors[tenantsync.KindUsers]
	first, err := firstDeltaPage(f.c, listUsersDelta, f.tenant, cursor, f.answers[itemUsers])
	if err != nil {
		f.usersErr = err
		return nil, err
	}
	next, err := f.c.streamDelta(ctx, listUsersDelta, f.tenant, cursor, first, f.req.Sink, f.progress(tenantsync.KindUsers))
	if err != nil {
		f.usersErr = err
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Cursor: next, Streamed: true}
	if cursor != "" {
		kr.Mode = tenantsync.Changes
	}
	return kr, nil
}

func planMailboxes(f *fetch) error {
	if f.mailboxes == MailboxesOff {
		return opError(tenantsync.ErrUnsupported, "Fetch", f.tenant, "set SourceConfig.Mailboxes to graph.MailboxesPerUser", "mailbox types are off")
	}
	cursor := f.req.Cursors[tenantsync.KindMailboxes]
	// Cursors of the two kinds are equal while they advance together: the users round then
	// carries everything the mailboxes need (userSelect includes mailboxSelect).
	if f.mbShared = slices.Contains(f.req.Kinds, tenantsync.KindUsers) && cursor == f.req.Cursors[tenantsync.KindUsers]; f.mbShared {
		f.mail = newMailUsers()
		return nil
	}
	rel, err := f.c.deltaItem(listMailboxDelta, f.tenant, cursor)
	if err != nil {
		return err
	}
	f.add(itemMailboxUsers, rel)
	return nil
}

func readMailboxes(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	if f.mbShared {
		return f.sharedMailboxes(ctx)
	}
	d, err := readDelta(ctx, f.c, listMailboxDelta, f.tenant, f.req.Cursors[tenantsync.KindMailboxes], f.answers[itemMailboxUsers], f.progress(tenantsync.KindMailboxes), nil)
	if err != nil {
		return nil, err
	}
	return f.c.mailboxes(ctx, f.tenant, d)
}

// sharedMailboxes reads the mailboxes kind from the users round it shares with the users kind.
// The mailbox types are read while the round is still being paged, 20 users per $batch as the
// pages report them, so a large tenant's lookups overlap its users pages instead of following
// them (and the identity bucket's refill during the paging pays for them). The users the round
// reports in the end decide: a user whose type was not read yet (first reported without a mail
// address) is read then, a user the round reported again after its type was read is read again
// then (it changed meanwhile), and a type read for a user the round later removed is not used.
// A round that fails part-way may have spent lookups for nothing: the kind fails with it.
func (f *fetch) sharedMailboxes(ctx context.Context) (*tenantsync.KindResult, error) {
	const op = "MailboxPurposes"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mailboxBatchesInFlight)
	var mu sync.Mutex
	// early are the types read while the round was paged; late those read after it ended,
	// which win: a re-read's answer may arrive before the stale one it replaces.
	early, late := map[string]MailboxPurpose{}, map[string]MailboxPurpose{}
	asked := map[string]bool{}
	// reread are users the round reported again after their type was asked for: they changed
	// while the round was paged (a mailbox converted to shared loses its licence), so the type
	// read for the earlier entry may be stale; it is read again once the round has ended.
	reread := map[string]bool{}
	var pending []string
	send := func(all bool, into map[string]MailboxPurpose) {
		for len(pending) >= maxBatch || (all && len(pending) > 0) {
			chunk := pending[:min(maxBatch, len(pending))]
			pending = pending[len(chunk):]
			g.Go(func() error {
				p, err := f.c.mailboxPurposeBatch(gctx, op, f.tenant, chunk)
				mu.Lock()
				maps.Copy(into, p)
				mu.Unlock()
				return err
			})
		}
	}
	ask := func(ids []string) {
		for _, id := range ids {
			if asked[id] {
				reread[id] = true
				continue
			}
			asked[id] = true
			pending = append(pending, id)
		}
	}
	for paging := true; paging; {
		select {
		case <-f.usersDone:
			paging = false
		case <-f.mail.more:
		case <-gctx.Done():
			paging = false // a batch failed: g.Wait says why
		}
		if gctx.Err() == nil {
			ask(f.mail.take())
			send(false, early)
		}
	}
	<-f.usersDone
	d, err := f.usersRound, f.usersErr
	if err != nil {
		cancel()
		_ = g.Wait()
		return nil, err
	}
	if gctx.Err() == nil {
		// Pending first: a user asked for but not sent yet is read once, after its last entry.
		for _, id := range pending {
			delete(reread, id)
		}
		for _, id := range withMail(d) {
			if !asked[id] || reread[id] {
				asked[id] = true
				pending = append(pending, id)
			}
		}
		send(true, late)
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // cancelled before every type was read
	}
	maps.Copy(early, late)
	return mailboxesOf(f.tenant, d, early), nil
}

// mailUsers passes the users round's users with a mail address, as its pages arrive, to the
// mailboxes kind reading their types.
type mailUsers struct {
	mu   sync.Mutex
	ids  []string
	more chan struct{} // signalled when ids grew
}

func newMailUsers() *mailUsers { return &mailUsers{more: make(chan struct{}, 1)} }

// add takes a user entry of the round.
func (m *mailUsers) add(u User) {
	if u.Removed != nil || u.Mail == "" {
		return
	}
	m.mu.Lock()
	m.ids = append(m.ids, u.ID)
	m.mu.Unlock()
	select {
	case m.more <- struct{}{}:
	default:
	}
}

// take returns the IDs added since the last take.
func (m *mailUsers) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := m.ids
	m.ids = nil
	return ids
}

func readDevices(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	ds, err := readList[ManagedDevice](ctx, f.c, listDevices, f.tenant, f.answers[itemDevices], f.progress(tenantsync.KindDevices))
	if err != nil {
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Devices: make([]tenantsync.Device, 0, len(ds))}
	for _, d := range ds {
		kr.Devices = append(kr.Devices, toDevice(f.tenant, d))
	}
	return kr, nil
}

func readDomains(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	ds, err := readList[Domain](ctx, f.c, listDomains, f.tenant, f.answers[itemDomains], f.progress(tenantsync.KindDomains))
	if err != nil {
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Domains: make([]tenantsync.Domain, 0, len(ds))}
	for _, d := range ds {
		kr.Domains = append(kr.Domains, toDomain(f.tenant, d))
	}
	return kr, nil
}

// readSKUs reads the subscribed SKUs once per fetch, for whichever of the subscriptions kind
// and the baseline comes first; progress is the subscriptions kind's when it was asked for.
func (f *fetch) readSKUs(ctx context.Context) ([]SubscribedSKU, error) {
	f.skusOnce.Do(func() {
		var progress func(int)
		if slices.Contains(f.req.Kinds, tenantsync.KindSubscriptions) {
			progress = f.progress(tenantsync.KindSubscriptions)
		}
		f.skus, f.skusErr = readList[SubscribedSKU](ctx, f.c, listSKUs, f.tenant, f.answers[itemSKUs], progress)
	})
	return f.skus, f.skusErr
}

func readSubscriptions(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	ss, err := f.readSKUs(ctx)
	if err != nil {
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Subscriptions: make([]tenantsync.Subscription, 0, len(ss))}
	for _, s := range ss {
		kr.Subscriptions = append(kr.Subscriptions, toSubscription(f.tenant, s))
	}
	return kr, nil
}

// planPolicies adds the CA policies and security defaults, which MFA and the baseline share.
func planPolicies(f *fetch) {
	f.add(itemCA, listCAPolicies.path)
	f.add(itemSecDefaults, getSecDefaults.path)
}

// readPolicies reads the CA policies and security defaults once per fetch.
func (f *fetch) readPolicies(ctx context.Context) {
	f.policiesOnce.Do(func() {
		f.policies, f.caErr = readList[CAPolicy](ctx, f.c, listCAPolicies, f.tenant, f.answers[itemCA], nil)
		f.secDefaults, f.sdErr = readSecurityDefaults(f.c, f.tenant, f.answers[itemSecDefaults])
	})
}

func planMFA(f *fetch) error {
	f.add(itemMFA, listRegistration.path)
	planPolicies(f)
	planRoles(f)
	return nil
}

func readMFA(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	defer close(f.mfaDone)
	f.readPolicies(ctx)
	rows, err := readList[RegistrationDetail](ctx, f.c, listRegistration, f.tenant, f.answers[itemMFA], f.progress(tenantsync.KindMFA))
	// MFA coverage is derived from the CA policies and security defaults; without them the
	// states would claim "not covered", so the kind is unavailable rather than wrong.
	for _, e := range []error{err, f.caErr, f.sdErr} {
		if e != nil {
			return nil, e
		}
	}
	// Policies scoped to groups or roles are resolved against the directory; without it they
	// would read as covering no one.
	dir, err := f.readDirectory(ctx)
	if err != nil {
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, MFA: make([]tenantsync.MFAState, 0, len(rows))}
	for _, r := range rows {
		kr.MFA = append(kr.MFA, toMFA(f.tenant, r, f.policies, f.secDefaults, dir))
	}
	f.mfa = kr.MFA
	return kr, nil
}

func planBaseline(f *fetch) error {
	planPolicies(f)
	f.add(itemScore, listSecureScores.path)
	// Defender: the SKUs (shared with the subscriptions kind), the connector and the devices'
	// protection states ride in the same $batch, so the baseline stays one round trip.
	f.add(itemSKUs, listSKUs.path)
	f.add(itemConnectors, listMTDConnectors.path)
	f.add(itemProtection, listProtection.path)
	return nil
}

// readBaseline reads the secure score with the policies. Security defaults that could not be
// read leave the baseline's SecurityDefaults nil (unknown) rather than failing the kind.
func readBaseline(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	f.readPolicies(ctx)
	scores, err := readList[SecureScore](ctx, f.c, listSecureScores, f.tenant, f.answers[itemScore], nil)
	for _, e := range []error{err, f.caErr} {
		if e != nil {
			return nil, e
		}
	}
	b := &tenantsync.SecurityBaseline{TenantID: f.tenant, MeasuredAt: f.now}
	if len(scores) > 0 {
		b.SecureScore, b.MaxScore = scores[0].CurrentScore, scores[0].MaxScore
		if !scores[0].CreatedDateTime.IsZero() {
			b.MeasuredAt = scores[0].CreatedDateTime.UTC()
		}
	}
	if f.sdErr == nil {
		sd := f.secDefaults
		b.SecurityDefaults = &sd
	}
	for _, p := range f.policies {
		b.CAPolicies = append(b.CAPolicies, toCAPolicy(p))
	}
	// The MFA kind's states, when this fetch reads them, give the summary.
	select {
	case <-f.mfaDone:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.MFA = tenantsync.SummarizeMFA(f.mfa)
	if b.Defender, err = f.readDefender(ctx); err != nil {
		return nil, err
	}
	return &tenantsync.KindResult{Mode: tenantsync.Complete, Baseline: b}, nil
}

// readDefender reads the baseline's Defender state from the batch's answers. A part that
// cannot be read (403, no Intune licence) is unknown with the error as its reason; only a
// cancelled context fails the baseline.
func (f *fetch) readDefender(ctx context.Context) (*tenantsync.DefenderState, error) {
	d := &tenantsync.DefenderState{}
	skus, err := f.readSKUs(ctx)
	if err != nil {
		d.PlanReason = err.Error()
	} else {
		d.Plan = tenantsync.DefenderPlanOf(enabledServicePlans(skus))
	}
	conns, err := readList[MobileThreatDefenseConnector](ctx, f.c, listMTDConnectors, f.tenant, f.answers[itemConnectors], nil)
	if err != nil {
		d.ConnectorReason = err.Error()
	} else {
		d.Connector = tenantsync.DefenderConnectorNotSetUp
		for _, c := range conns {
			if !strings.EqualFold(c.ID, tenantsync.DefenderConnectorID) {
				continue
			}
			if d.Connector = tenantsync.DefenderConnectorOf(c.PartnerState); d.Connector == tenantsync.DefenderConnectorUnknown {
				d.ConnectorReason = fmt.Sprintf("Graph reported the connector's partnerState as %q, which this version does not know", c.PartnerState)
			}
			if c.LastHeartbeatDateTime != nil {
				d.ConnectorHeartbeat = c.LastHeartbeatDateTime.UTC()
			}
		}
	}
	devs, err := readList[ProtectedDevice](ctx, f.c, listProtection, f.tenant, f.answers[itemProtection], nil)
	if err != nil {
		d.DevicesReason = err.Error()
	} else {
		d.Devices = tenantsync.CountWindowsProtection(toWindowsProtection(devs), f.now)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.Assess()
	return d, nil
}
