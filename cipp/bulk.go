package cipp

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tenantsync/tenantsync"
)

// DefaultBulkMaxAge is how old the reporting database's data of a kind may be for SourceConfig.Bulk
// to use it: CIPP refreshes it nightly from 03:00, so 26 hours is one night's refresh plus the
// two hours a refresh of many tenants can take. Older data means the refresh failed; the kind is
// read live.
const DefaultBulkMaxAge = 26 * time.Hour

const (
	// bulkCountsTTL is how long a countsOnly answer (and the fresh tenant list read with it) is
	// reused before it is asked again: the tenant list cache's own default.
	bulkCountsTTL = DefaultTenantCacheTTL
	// bulkOffTTL is how long the Source reads live after ListDBCache proved unusable (an
	// instance older than v10.1, or a failing call) before it asks again.
	bulkOffTTL = time.Hour
	// bulkCursorPrefix marks the cursor a Source in bulk mode returns with every kind: the time
	// of the data handed out, so a later fetch never hands out older data than the mirror holds.
	bulkCursorPrefix = "cipp-data@"
)

// bulkTypes are the reporting database types each kind is read from; the baseline needs the
// policies and the secure score (MFAState, when present, says whether security defaults apply).
var bulkTypes = map[tenantsync.Kind][]string{
	tenantsync.KindUsers:         {DBUsers},
	tenantsync.KindMailboxes:     {DBMailboxes},
	tenantsync.KindDevices:       {DBManagedDevices},
	tenantsync.KindDomains:       {DBDomains},
	tenantsync.KindSubscriptions: {DBLicenseOverview},
	tenantsync.KindMFA:           {DBMFAState},
	tenantsync.KindBaseline:      {DBConditionalAccess, DBSecureScore},
}

// bulk reads kinds of every tenant from CIPP's reporting database, one ListDBCache call per
// type for all tenants, and hands each tenant its rows.
type bulk struct {
	c      *Client
	maxAge time.Duration
	kinds  map[tenantsync.Kind]bool
	now    func() time.Time
	sf     singleflight.Group

	mu       sync.Mutex
	off      time.Time                          // ListDBCache is not asked before then
	counts   map[string]map[string]DBCacheCount // tenant domain (lower case) → type → count
	newest   map[string]time.Time               // type → its newest LastRefresh in counts
	countsAt time.Time
	managed  []Tenant                 // a tenant list read right after the counts
	types    map[string]*bulkType     // type → rows not handed out yet
	served   map[tenantKind]time.Time // the time of the data last handed out per tenant and kind
	reloads  map[string]time.Time     // type → when its rows were last read
}

type tenantKind struct {
	tenant string
	kind   tenantsync.Kind
}

type bulkType struct {
	refresh time.Time                    // the type's newest LastRefresh when it was read
	rows    map[string][]json.RawMessage // tenant domain (lower case) → rows
}

func newBulk(c *Client, maxAge time.Duration, kinds []tenantsync.Kind, now func() time.Time) *bulk {
	b := &bulk{c: c, maxAge: maxAge, kinds: map[tenantsync.Kind]bool{}, now: now,
		types: map[string]*bulkType{}, served: map[tenantKind]time.Time{}, reloads: map[string]time.Time{}}
	for _, k := range kinds {
		b.kinds[k] = true
	}
	return b
}

// bulkCursor is the cursor of a kind whose data dates from at.
func bulkCursor(at time.Time) string {
	return bulkCursorPrefix + strconv.FormatInt(at.Unix(), 10)
}

// cursorTime reads a bulk cursor; zero for anything else.
func cursorTime(c string) time.Time {
	s, ok := strings.CutPrefix(c, bulkCursorPrefix)
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// markServed records that data of the tenant's kind dating from at was handed out.
func (b *bulk) markServed(id string, k tenantsync.Kind, at time.Time) {
	b.mu.Lock()
	if key := (tenantKind{id, k}); at.After(b.served[key]) {
		b.served[key] = at
	}
	b.mu.Unlock()
}

// domainKey is how the reporting database names t in AllTenants answers: its default domain.
func domainKey(t Tenant) string {
	if t.DefaultDomainName != "" {
		return strings.ToLower(t.DefaultDomainName)
	}
	return strings.ToLower(t.CustomerID)
}

// loadCounts returns the counts, read again once they are older than bulkCountsTTL. The
// tenant list is read fresh right after them: the reporting database keeps the rows of a
// tenant CIPP has dropped since, so only a tenant on a list read now is served from it.
func (b *bulk) loadCounts(ctx context.Context) (map[string]map[string]DBCacheCount, []Tenant, bool) {
	now := b.now()
	b.mu.Lock()
	if now.Before(b.off) {
		b.mu.Unlock()
		return nil, nil, false
	}
	if b.counts != nil && now.Sub(b.countsAt) < bulkCountsTTL {
		counts, managed := b.counts, b.managed
		b.mu.Unlock()
		return counts, managed, true
	}
	b.mu.Unlock()
	ch := b.sf.DoChan("counts", func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		rows, err := b.c.DBCacheCounts(ctx)
		if err == nil {
			var managed []Tenant
			if managed, err = b.c.freshTenants(ctx); err == nil {
				b.setCounts(rows, managed)
				return nil, nil
			}
		}
		// Unsupported (an instance before v10.1) or failing: read live for a while rather
		// than ask again for every tenant.
		b.mu.Lock()
		b.off = b.now().Add(bulkOffTTL)
		b.mu.Unlock()
		return nil, err
	})
	select {
	case <-ctx.Done():
		return nil, nil, false
	case res := <-ch:
		if res.Err != nil {
			return nil, nil, false
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts, b.managed, b.counts != nil
}

func (b *bulk) setCounts(rows []DBCacheCount, managed []Tenant) {
	counts := map[string]map[string]DBCacheCount{}
	newest := map[string]time.Time{}
	for _, r := range rows {
		key := strings.ToLower(r.Tenant)
		if counts[key] == nil {
			counts[key] = map[string]DBCacheCount{}
		}
		typ := canonicalType(r.Type)
		counts[key][typ] = r
		if r.LastRefresh.After(newest[typ]) {
			newest[typ] = r.LastRefresh.Time
		}
	}
	b.mu.Lock()
	b.counts, b.newest, b.managed, b.countsAt = counts, newest, managed, b.now()
	b.mu.Unlock()
}

// canonicalType spells a type as the DB… constants do.
func canonicalType(t string) string {
	for _, types := range bulkTypes {
		for _, c := range types {
			if strings.EqualFold(c, t) {
				return c
			}
		}
	}
	return t
}

// rows returns the tenant's rows of a type, reading the type for every tenant when it has not
// been read since its last refresh. A tenant whose rows were handed out already (a second sync
// the same day) gets them by reading the type again, at most once per bulkCountsTTL; within it,
// ok is false and the caller reads live.
func (b *bulk) rows(ctx context.Context, typ, key string, count int) ([]json.RawMessage, bool) {
	b.mu.Lock()
	bt, newest, last := b.types[typ], b.newest[typ], b.reloads[typ]
	if bt != nil && !bt.refresh.Before(newest) {
		if rs, ok := bt.rows[key]; ok {
			b.mu.Unlock()
			return rs, true
		}
		if count == 0 {
			b.mu.Unlock()
			return nil, true
		}
		if b.now().Sub(last) < bulkCountsTTL {
			b.mu.Unlock()
			return nil, false
		}
	}
	b.mu.Unlock()
	ch := b.sf.DoChan("type/"+typ, func() (any, error) {
		rows, err := b.c.DBCacheAll(context.WithoutCancel(ctx), typ)
		if err != nil {
			return nil, err
		}
		byTenant := map[string][]json.RawMessage{}
		for _, r := range rows {
			k := strings.ToLower(r.Tenant)
			byTenant[k] = append(byTenant[k], r.Raw)
		}
		b.mu.Lock()
		b.types[typ] = &bulkType{refresh: newest, rows: byTenant}
		b.reloads[typ] = b.now()
		b.mu.Unlock()
		return nil, nil
	})
	select {
	case <-ctx.Done():
		return nil, false
	case res := <-ch:
		if res.Err != nil {
			return nil, false
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if bt := b.types[typ]; bt != nil {
		if rs, ok := bt.rows[key]; ok {
			return rs, true
		}
	}
	return nil, count == 0
}

// release drops the rows of a tenant once it has been served, so the database's rows are held
// only until each tenant has had them.
func (b *bulk) release(key string, types []string) {
	b.mu.Lock()
	for _, typ := range types {
		if bt := b.types[typ]; bt != nil {
			delete(bt.rows, key)
		}
	}
	b.mu.Unlock()
}

// serve answers the kinds the reporting database can: each whose types the database holds for
// the tenant, refreshed within maxAge and no earlier than the data the mirror already holds
// (the kind's cursor, or what this Source handed out last). Data the mirror already holds is
// answered as an empty change set, without a call. Every other kind is left to a live read.
func (b *bulk) serve(ctx context.Context, t Tenant, id string, kinds []tenantsync.Kind, cursors map[tenantsync.Kind]string) map[tenantsync.Kind]*tenantsync.KindResult {
	counts, managed, ok := b.loadCounts(ctx)
	if !ok {
		return nil
	}
	if _, listed := findTenant(managed, t.CustomerID); !listed {
		return nil
	}
	key := domainKey(t)
	tc := counts[key]
	if tc == nil {
		return nil
	}
	now := b.now()
	out := map[tenantsync.Kind]*tenantsync.KindResult{}
	var used []string
	for _, k := range kinds {
		types, served := bulkTypes[k]
		if !served || !b.kinds[k] {
			continue
		}
		var refresh time.Time
		held := true
		for _, typ := range types {
			c, ok := tc[typ]
			if !ok || c.LastRefresh.IsZero() {
				held = false
				break
			}
			if refresh.IsZero() || c.LastRefresh.Before(refresh) {
				refresh = c.LastRefresh.Time
			}
		}
		if !held || now.Sub(refresh) > b.maxAge || refresh.After(now.Add(bulkClockSkew)) {
			// Too old, or ahead of this clock: a refresh time in the future would be served as
			// fresh and then make every real refresh look older than what was handed out.
			continue
		}
		b.mu.Lock()
		since := b.served[tenantKind{id, k}]
		b.mu.Unlock()
		if ct := cursorTime(cursors[k]); ct.After(since) {
			since = ct
		}
		refresh = refresh.Truncate(time.Second)
		switch {
		case refresh.Before(since):
			continue // the mirror holds newer data, read live
		case !since.IsZero() && refresh.Equal(since):
			out[k] = &tenantsync.KindResult{Kind: k, Mode: tenantsync.Changes, Cursor: bulkCursor(refresh), FetchedAt: refresh}
			continue
		}
		raw := map[string][]json.RawMessage{}
		for _, typ := range append(slices.Clone(types), optionalTypes(k)...) {
			rs, ok := b.rows(ctx, typ, key, int(tc[typ].Count))
			if c, counted := tc[typ]; ok && counted && len(rs) != int(c.Count) {
				// The rows are not the ones counted (the refresh ran between the two calls, or
				// rows were lost): as a complete listing they could remove items.
				rs, ok = nil, false
			}
			if !ok && !slices.Contains(optionalTypes(k), typ) {
				held = false
				break
			}
			raw[typ] = rs
			used = append(used, typ)
		}
		if !held {
			continue
		}
		kr, err := b.convert(k, id, raw)
		if err != nil {
			continue
		}
		kr.Kind, kr.FetchedAt, kr.Cursor = k, refresh, bulkCursor(refresh)
		if kr.Baseline != nil && kr.Baseline.MeasuredAt.IsZero() {
			kr.Baseline.MeasuredAt = refresh
		}
		out[k] = kr
		b.markServed(id, k, refresh)
	}
	b.release(key, used)
	return out
}

// bulkClockSkew is how far ahead of this clock a refresh time may be and still be read.
const bulkClockSkew = 5 * time.Minute

// optionalTypes are types read for a kind when the database holds them.
func optionalTypes(k tenantsync.Kind) []string {
	if k == tenantsync.KindBaseline {
		return []string{DBMFAState}
	}
	return nil
}

func decodeRows[T any](c *Client, rows []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, c.decodeError("ListDBCache", AllTenantsID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// convert turns a tenant's rows into the kind's complete listing. The rows are shaped as the
// kind's live endpoint answers, so the same adapters apply.
func (b *bulk) convert(k tenantsync.Kind, id string, raw map[string][]json.RawMessage) (*tenantsync.KindResult, error) {
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete}
	var err error
	switch k {
	case tenantsync.KindUsers:
		var rows []User
		if rows, err = decodeRows[User](b.c, raw[DBUsers]); err == nil {
			rows = slices.DeleteFunc(rows, func(u User) bool { return u.ID == "" })
			kr.Users = convert(rows, func(u User) tenantsync.User { return ToUser(id, u) })
		}
	case tenantsync.KindMailboxes:
		var rows []Mailbox
		if rows, err = decodeRows[Mailbox](b.c, raw[DBMailboxes]); err == nil {
			kr.Mailboxes = convert(rows, func(m Mailbox) tenantsync.Mailbox { return ToMailbox(id, m) })
		}
	case tenantsync.KindDevices:
		var rows []Device
		if rows, err = decodeRows[Device](b.c, raw[DBManagedDevices]); err == nil {
			kr.Devices = convert(rows, func(d Device) tenantsync.Device { return ToDevice(id, d) })
		}
	case tenantsync.KindDomains:
		var rows []Domain
		if rows, err = decodeRows[Domain](b.c, raw[DBDomains]); err == nil {
			kr.Domains = convert(rows, func(d Domain) tenantsync.Domain { return ToDomain(id, d) })
		}
	case tenantsync.KindSubscriptions:
		var rows []License
		if rows, err = decodeRows[License](b.c, raw[DBLicenseOverview]); err == nil {
			kr.Subscriptions = convert(rows, func(l License) tenantsync.Subscription { return ToSubscription(id, l) })
		}
	case tenantsync.KindMFA:
		var rows []MFAUser
		if rows, err = decodeRows[MFAUser](b.c, raw[DBMFAState]); err == nil {
			kr.MFA = convert(rows, func(m MFAUser) tenantsync.MFAState { return ToMFAState(id, m) })
		}
	case tenantsync.KindBaseline:
		kr.Baseline, err = b.baseline(id, raw)
	}
	if err != nil {
		return nil, err
	}
	return kr, nil
}

// baseline builds the security baseline from the cached policies (Graph's own objects, whose
// grant controls RequiresMFA reads as it reads rawjson), the latest cached secure score, and
// security defaults as the MFA report states them (unknown without one). Defender stays nil
// (not read): the reporting database caches neither Intune's connector nor the devices'
// protection states, and a live read per tenant would undo the bulk route's few calls.
func (b *bulk) baseline(id string, raw map[string][]json.RawMessage) (*tenantsync.SecurityBaseline, error) {
	out := &tenantsync.SecurityBaseline{TenantID: id}
	for _, r := range raw[DBConditionalAccess] {
		var p CAPolicy
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, b.c.decodeError("ListDBCache", AllTenantsID, err)
		}
		p.RawJSON = FlexString(r)
		out.CAPolicies = append(out.CAPolicies, ToCAPolicy(p))
	}
	scores, err := decodeRows[SecureScore](b.c, raw[DBSecureScore])
	if err != nil {
		return nil, err
	}
	for _, s := range scores {
		if out.MeasuredAt.IsZero() || s.CreatedDateTime.After(out.MeasuredAt) {
			out.SecureScore, out.MaxScore, out.MeasuredAt = s.CurrentScore, s.MaxScore, s.CreatedDateTime.Time
		}
	}
	if mfa, err := decodeRows[MFAUser](b.c, raw[DBMFAState]); err == nil && len(mfa) > 0 && mfa[0].CoveredBySD != nil {
		on := *mfa[0].CoveredBySD
		out.SecurityDefaults = &on
	}
	return out, nil
}
