package graph

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Source adapts a Client to tenantsync.Source.
type Source struct {
	c *Client
}

var (
	_ tenantsync.Source = (*Source)(nil)
	_ tenantsync.Writer = (*Writer)(nil)
)

// NewSource returns the Source view of c.
func NewSource(c *Client) *Source { return &Source{c: c} }

// Name is "graph".
func (s *Source) Name() string { return service }

// ListTenants returns the tenants from Config.TenantLister, or Config.Tenants. Discovery of GDAP
// customers belongs to the partnercenter package; wire its lister in here.
func (s *Source) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	cfg := s.c.cfg
	var ts []tenantsync.Tenant
	if cfg.TenantLister != nil {
		var err error
		if ts, err = cfg.TenantLister(ctx); err != nil {
			return nil, err
		}
	} else if cfg.Tenants != nil {
		ts = slices.Clone(cfg.Tenants)
	} else {
		return nil, opError(tenantsync.ErrUnsupported, "ListTenants", "",
			"set Config.TenantLister (for example the partnercenter package's GDAP discovery) or Config.Tenants", "no tenant list configured")
	}
	for i := range ts {
		if ts[i].Source == "" {
			ts[i].Source = service
		}
	}
	return ts, nil
}

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
)

// mailboxSelect is what the mailboxes kind reads of each user. Graph tracks only $selected
// properties in a delta round, so a mailboxes round of its own reports only users whose names,
// addresses or licences changed: a mailbox converted to shared usually loses its licence, and a
// licence assigned is what creates a mailbox.
const mailboxSelect = "id,userPrincipalName,displayName,mail,proxyAddresses,assignedLicenses"

// Fetch reads the requested kinds of one tenant: one $batch carries the first page of every
// kind, further pages follow their nextLink alone. Users and mailboxes are read as users delta
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
	progress := func(k tenantsync.Kind) func(int) {
		if req.Progress == nil {
			return nil
		}
		return func(n int) { req.Progress(k, n) }
	}

	var items []BatchRequest
	add := func(id, path string) {
		for _, it := range items {
			if it.ID == id {
				return
			}
		}
		items = append(items, BatchRequest{ID: id, Method: http.MethodGet, URL: path})
	}
	cursor := req.Cursors[tenantsync.KindUsers]
	if kinds[tenantsync.KindUsers] {
		if rel, err := c.deltaItem(listUsersDelta, tenant, cursor); err != nil {
			res.Kinds[tenantsync.KindUsers] = tenantsync.UnavailableResult(tenantsync.KindUsers, err)
		} else {
			add(itemUsers, rel)
		}
	}
	mbCursor := req.Cursors[tenantsync.KindMailboxes]
	// Cursors of the two kinds are equal while they advance together: the users round then
	// carries everything the mailboxes need (userSelect includes mailboxSelect).
	mbShared := kinds[tenantsync.KindUsers] && mbCursor == cursor
	if kinds[tenantsync.KindMailboxes] {
		switch {
		case c.cfg.Mailboxes == MailboxesOff:
			res.Kinds[tenantsync.KindMailboxes] = tenantsync.UnavailableResult(tenantsync.KindMailboxes,
				opError(tenantsync.ErrUnsupported, op, tenant, "set Config.Mailboxes to graph.MailboxesPerUser", "mailbox types are off"))
		case mbShared:
		default:
			if rel, err := c.deltaItem(listMailboxDelta, tenant, mbCursor); err != nil {
				res.Kinds[tenantsync.KindMailboxes] = tenantsync.UnavailableResult(tenantsync.KindMailboxes, err)
			} else {
				add(itemMailboxUsers, rel)
			}
		}
	}
	if kinds[tenantsync.KindDevices] {
		add(itemDevices, listDevices.path)
	}
	if kinds[tenantsync.KindDomains] {
		add(itemDomains, listDomains.path)
	}
	if kinds[tenantsync.KindSubscriptions] {
		add(itemSKUs, listSKUs.path)
	}
	if kinds[tenantsync.KindMFA] {
		add(itemMFA, listRegistration.path)
	}
	if kinds[tenantsync.KindMFA] || kinds[tenantsync.KindBaseline] {
		add(itemCA, listCAPolicies.path)
		add(itemSecDefaults, getSecDefaults.path)
	}
	if kinds[tenantsync.KindBaseline] {
		add(itemScore, listSecureScores.path)
	}

	var answers map[string]BatchResponse
	if len(items) > 0 {
		var err error
		if answers, err = c.Batch(ctx, tenant, items); err != nil {
			return nil, err
		}
	}
	now := c.now().UTC()
	set := func(k tenantsync.Kind, kr *tenantsync.KindResult) {
		kr.Kind = k
		if kr.FetchedAt.IsZero() {
			kr.FetchedAt = now
		}
		res.Kinds[k] = kr
	}
	fail := func(k tenantsync.Kind, err error) { set(k, tenantsync.UnavailableResult(k, err)) }

	// Users, and the mailboxes from the same round when they share it.
	var usersRound *UsersDelta
	var usersErr error
	if kinds[tenantsync.KindUsers] {
		if kr := res.Kinds[tenantsync.KindUsers]; kr != nil {
			usersErr = kr.Err
		} else if d, err := readDelta(ctx, c, listUsersDelta, tenant, cursor, answers[itemUsers], progress(tenantsync.KindUsers)); err != nil {
			fail(tenantsync.KindUsers, err)
			usersErr = err
		} else {
			kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Users: toUsers(tenant, d.Users), Cursor: d.Cursor}
			if !d.Full {
				kr.Mode, kr.Removed = tenantsync.Changes, d.Removed
			}
			set(tenantsync.KindUsers, kr)
			usersRound = d
		}
	}
	if kinds[tenantsync.KindMailboxes] && res.Kinds[tenantsync.KindMailboxes] == nil {
		d, err := usersRound, usersErr
		if !mbShared {
			d, err = readDelta(ctx, c, listMailboxDelta, tenant, mbCursor, answers[itemMailboxUsers], progress(tenantsync.KindMailboxes))
		}
		if err != nil {
			fail(tenantsync.KindMailboxes, err)
		} else if kr, err := c.mailboxes(ctx, tenant, d); err != nil {
			fail(tenantsync.KindMailboxes, err)
		} else {
			set(tenantsync.KindMailboxes, kr)
		}
	}
	if kinds[tenantsync.KindDevices] {
		ds, err := readList[ManagedDevice](ctx, c, listDevices, tenant, answers[itemDevices], progress(tenantsync.KindDevices))
		if err != nil {
			fail(tenantsync.KindDevices, err)
		} else {
			kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Devices: make([]tenantsync.Device, 0, len(ds))}
			for _, d := range ds {
				kr.Devices = append(kr.Devices, toDevice(tenant, d))
			}
			set(tenantsync.KindDevices, kr)
		}
	}
	if kinds[tenantsync.KindDomains] {
		ds, err := readList[Domain](ctx, c, listDomains, tenant, answers[itemDomains], progress(tenantsync.KindDomains))
		if err != nil {
			fail(tenantsync.KindDomains, err)
		} else {
			kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Domains: make([]tenantsync.Domain, 0, len(ds))}
			for _, d := range ds {
				kr.Domains = append(kr.Domains, toDomain(tenant, d))
			}
			set(tenantsync.KindDomains, kr)
		}
	}
	if kinds[tenantsync.KindSubscriptions] {
		ss, err := readList[SubscribedSKU](ctx, c, listSKUs, tenant, answers[itemSKUs], progress(tenantsync.KindSubscriptions))
		if err != nil {
			fail(tenantsync.KindSubscriptions, err)
		} else {
			kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Subscriptions: make([]tenantsync.Subscription, 0, len(ss))}
			for _, s := range ss {
				kr.Subscriptions = append(kr.Subscriptions, toSubscription(tenant, s))
			}
			set(tenantsync.KindSubscriptions, kr)
		}
	}
	var policies []CAPolicy
	var caErr, sdErr error
	var secDefaults bool
	if kinds[tenantsync.KindMFA] || kinds[tenantsync.KindBaseline] {
		policies, caErr = readList[CAPolicy](ctx, c, listCAPolicies, tenant, answers[itemCA], nil)
		secDefaults, sdErr = readSecurityDefaults(c, tenant, answers[itemSecDefaults])
	}
	if kinds[tenantsync.KindMFA] {
		rows, err := readList[RegistrationDetail](ctx, c, listRegistration, tenant, answers[itemMFA], progress(tenantsync.KindMFA))
		// MFA coverage is derived from the CA policies and security defaults; without them the
		// states would claim "not covered", so the kind is unavailable rather than wrong.
		switch {
		case err != nil:
			fail(tenantsync.KindMFA, err)
		case caErr != nil:
			fail(tenantsync.KindMFA, caErr)
		case sdErr != nil:
			fail(tenantsync.KindMFA, sdErr)
		default:
			kr := &tenantsync.KindResult{Mode: tenantsync.Complete, MFA: make([]tenantsync.MFAState, 0, len(rows))}
			for _, r := range rows {
				kr.MFA = append(kr.MFA, toMFA(tenant, r, policies, secDefaults))
			}
			set(tenantsync.KindMFA, kr)
		}
	}
	if kinds[tenantsync.KindBaseline] {
		scores, err := readList[SecureScore](ctx, c, listSecureScores, tenant, answers[itemScore], nil)
		switch {
		case err != nil:
			fail(tenantsync.KindBaseline, err)
		case caErr != nil:
			fail(tenantsync.KindBaseline, caErr)
		default:
			b := &tenantsync.SecurityBaseline{TenantID: tenant, MeasuredAt: now}
			if len(scores) > 0 {
				b.SecureScore, b.MaxScore = scores[0].CurrentScore, scores[0].MaxScore
				if !scores[0].CreatedDateTime.IsZero() {
					b.MeasuredAt = scores[0].CreatedDateTime.UTC()
				}
			}
			if sdErr == nil {
				b.SecurityDefaults = &secDefaults
			}
			for _, p := range policies {
				b.CAPolicies = append(b.CAPolicies, toCAPolicy(p))
			}
			set(tenantsync.KindBaseline, &tenantsync.KindResult{Mode: tenantsync.Complete, Baseline: b})
		}
	}
	return res, nil
}

// readList decodes a kind's $batch item and follows its nextLinks to the end.
func readList[T any](ctx context.Context, c *Client, l list, tenant string, item BatchResponse, progress func(int)) ([]T, error) {
	if item.Status != http.StatusOK {
		return nil, c.itemError(l.op, tenant, l.need, item)
	}
	first, err := decodeResponse[T](l.op, tenant, &response{status: item.Status, header: item.header(), body: item.Body})
	if err != nil {
		return nil, err
	}
	return collect(ctx, c, l, tenant, first, progress)
}

// deltaItem returns the $batch URL that starts a users delta round of l: its first page
// without a cursor, the cursor's own link with one. A cursor that is not one of this client's
// users delta links cannot be continued, so it reads as expired and the caller lists in full.
func (c *Client) deltaItem(l list, tenant, cursor string) (string, error) {
	if cursor == "" {
		return l.path, nil
	}
	if err := c.allowed(l.op, tenant, cursor); err != nil {
		return "", err
	}
	rel, ok := c.relative(cursor)
	if !ok || !strings.HasPrefix(rel, "/users/delta?") {
		return "", opError(tenantsync.ErrCursorExpired, l.op, tenant, "list in full to get a new cursor", "cursor is not a Graph v1.0 users delta link")
	}
	return rel, nil
}

func readDelta(ctx context.Context, c *Client, l list, tenant, cursor string, item BatchResponse, progress func(int)) (*UsersDelta, error) {
	if item.Status != http.StatusOK {
		err := error(c.itemError(l.op, tenant, l.need, item))
		if cursor != "" {
			err = cursorError(err)
		}
		return nil, err
	}
	first, err := decodeResponse[User](l.op, tenant, &response{status: item.Status, header: item.header(), body: item.Body})
	if err != nil {
		return nil, err
	}
	return c.finishDelta(ctx, l, tenant, cursor, first, progress)
}

func readSecurityDefaults(c *Client, tenant string, item BatchResponse) (bool, error) {
	if item.Status != http.StatusOK {
		return false, c.itemError(getSecDefaults.op, tenant, getSecDefaults.need, item)
	}
	return decodeSecurityDefaults(tenant, &response{status: item.Status, header: item.header(), body: item.Body})
}

// mailboxes turns a users delta round into the mailboxes kind, reading the mailbox type of
// each user the round reports with a mail address. A full round gives every mailbox; a change
// round gives the changed ones, and removes the mailboxes of users deleted, left without a mail
// address, or whose mailbox is gone (the store ignores removals of mailboxes it never had).
func (c *Client) mailboxes(ctx context.Context, tenant string, d *UsersDelta) (*tenantsync.KindResult, error) {
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Cursor: d.Cursor}
	if !d.Full {
		kr.Mode, kr.Removed = tenantsync.Changes, slices.Clone(d.Removed)
	}
	var ids []string
	byID := map[string]User{}
	for _, u := range d.Users {
		if u.Mail == "" {
			if !d.Full {
				kr.Removed = append(kr.Removed, u.ID)
			}
			continue
		}
		ids = append(ids, u.ID)
		byID[u.ID] = u
	}
	purposes, err := c.MailboxPurposes(ctx, tenant, ids)
	if err != nil {
		return nil, err
	}
	kr.Mailboxes = make([]tenantsync.Mailbox, 0, len(ids))
	for _, id := range ids {
		switch p := purposes[id]; {
		case p != "":
			kr.Mailboxes = append(kr.Mailboxes, toMailbox(tenant, byID[id], p))
		case !d.Full:
			kr.Removed = append(kr.Removed, id)
		}
	}
	return kr, nil
}
