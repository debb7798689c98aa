package cipp

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
)

// ListTenants returns CIPP's tenant list as CIPP sends it (the partner and AllTenants pseudo
// rows and excluded tenants included; Tenants filters them). CIPP answers a failure with a
// 200 and a single error row; that row is returned as an error here.
func (c *Client) ListTenants(ctx context.Context) ([]Tenant, error) {
	return c.listTenants(ctx, nil)
}

func (c *Client) listTenants(ctx context.Context, q url.Values) ([]Tenant, error) {
	const op = "ListTenants"
	r, err := c.call(ctx, http.MethodGet, op, "", q, nil, true)
	if err != nil {
		return nil, err
	}
	items, err := c.arrayItems(op, "", r)
	if err != nil {
		return nil, err
	}
	rows := make([]Tenant, 0, len(items))
	for _, it := range items {
		var t Tenant
		if err := json.Unmarshal(it, &t); err != nil {
			return nil, c.decodeError(op, "", err)
		}
		if t.Results != "" && t.CustomerID == "" {
			e := c.newError(tenantsync.ErrUnavailable, op, "", http.StatusOK, string(t.Results), HintPermCheck)
			applyClass(e, string(t.Results))
			return nil, e
		}
		rows = append(rows, t)
	}
	return rows, nil
}

// RefreshTenantList asks CIPP to refresh its cached tenant list from the GDAP relationships
// (ListTenants?TriggerRefresh=true). CIPP refreshes in the background, so new tenants appear
// on a later call; the client's own cache is dropped so that call reaches CIPP.
func (c *Client) RefreshTenantList(ctx context.Context) error {
	_, err := c.listTenants(ctx, url.Values{"TriggerRefresh": {"true"}})
	c.tenants.mu.Lock()
	c.tenants.rows, c.tenants.at = nil, time.Time{}
	c.tenants.mu.Unlock()
	return err
}

// usable reports whether a row is a customer tenant CIPP manages.
func usable(t Tenant) bool { return !t.IsPseudo() && !t.Excluded && t.CustomerID != "" }

// Tenants returns the customer tenants CIPP manages: the cached tenant list without pseudo
// rows and excluded tenants.
func (c *Client) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, _, err := c.cachedTenants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Tenant, 0, len(rows))
	for _, t := range rows {
		if usable(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// cachedTenants returns the tenant list of a ListTenants call begun within the cache's TTL;
// fetched reports whether this call had to ask CIPP (or joined a call under way).
func (c *Client) cachedTenants(ctx context.Context) (rows []Tenant, fetched bool, err error) {
	return c.tenantsSince(ctx, time.Now().Add(-c.cfg.TenantCacheTTL))
}

// freshTenants returns the tenant list of a ListTenants call begun after this call began: the
// cache is bypassed (and renewed).
func (c *Client) freshTenants(ctx context.Context) ([]Tenant, error) {
	rows, _, err := c.tenantsSince(ctx, time.Now())
	return rows, err
}

// tenantFetch is one ListTenants answer and when its call began.
type tenantFetch struct {
	rows  []Tenant
	began time.Time
}

// tenantsSince returns CIPP's tenant list as answered by a ListTenants call begun at or after
// since: the cached list when it is that recent, else the answer of one call shared by every
// concurrent caller. A caller whose ctx ends stops waiting at once; the shared call goes on for
// the others and for the cache (bounded by the transport's timeout and retries).
func (c *Client) tenantsSince(ctx context.Context, since time.Time) (rows []Tenant, fetched bool, err error) {
	c.tenants.mu.Lock()
	rows, at := c.tenants.rows, c.tenants.at
	c.tenants.mu.Unlock()
	if rows != nil && !at.Before(since) {
		return rows, false, nil
	}
	for round := 0; ; round++ {
		ch := c.tenants.sf.DoChan("ListTenants", func() (any, error) {
			began := time.Now()
			// Detached from the cancellation of whichever caller started it: the others wait
			// for this call too.
			rows, err := c.ListTenants(context.WithoutCancel(ctx))
			if err != nil {
				return nil, err
			}
			c.tenants.mu.Lock()
			if !began.Before(c.tenants.at) {
				c.tenants.rows, c.tenants.at = rows, began
			}
			c.tenants.mu.Unlock()
			return tenantFetch{rows, began}, nil
		})
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case res := <-ch:
			if res.Err != nil {
				if d, ok := res.Err.(*tenantsync.Error); ok && res.Shared {
					// Each caller gets its own copy to annotate.
					cp := *d
					return nil, false, &cp
				}
				return nil, false, res.Err
			}
			f := res.Val.(tenantFetch)
			// A call already under way when this one began may predate what the caller must
			// know (a tenant CIPP dropped a moment ago): wait for it, then ask again. The
			// second call began after the first ended, so it is recent enough.
			if !f.began.Before(since) || round > 0 {
				return f.rows, true, nil
			}
		}
	}
}

// LookupTenant finds a tenant by customer ID, default domain or initial domain, in CIPP's tenant
// list. CIPP answers most calls about a tenant it does not manage with an empty 200, so every
// call of this package checks its tenant here first: an unknown tenant is
// tenantsync.ErrTenantNotFound, never an empty listing. The list is cached (WithTenantCacheTTL);
// an empty answer about a cached tenant is checked again against a fresh list before it is
// believed, since CIPP may have dropped the tenant meanwhile.
func (c *Client) LookupTenant(ctx context.Context, tenant string) (Tenant, error) {
	const op = "LookupTenant"
	tenant = strings.TrimSpace(tenant)
	if tenant == "" {
		return Tenant{}, c.newError(tenantsync.ErrInvalidInput, op, "", 0, "no tenant given", "pass the tenant's ID or one of its domains")
	}
	if strings.EqualFold(tenant, AllTenantsID) {
		return Tenant{}, c.newError(tenantsync.ErrInvalidInput, op, tenant, 0, "AllTenants is not one tenant", "pass one tenant's ID or domain; CIPP serves AllTenants from hour-old caches")
	}
	rows, fetched, err := c.cachedTenants(ctx)
	if err != nil {
		return Tenant{}, err
	}
	t, found := findTenant(rows, tenant)
	// A tenant missing from the cache is looked up once more in a fresh list, unless this
	// Source fetch already read one to confirm an empty answer. A kind of the fetch may be
	// reading that list right now (it renews the cache before the memo holds it): the lookup
	// waits for it rather than ask for another.
	if !found && !fetched {
		var confirmedRows []Tenant
		var confirmed bool
		var confirmErr error
		if memo := confirmMemoOf(ctx); memo != nil {
			memo.fetching.Lock()
			confirmedRows, confirmed, confirmErr = memo.get()
			memo.fetching.Unlock()
		}
		if confirmed && confirmErr == nil {
			rows = confirmedRows
		} else if rows, err = c.freshTenants(ctx); err != nil {
			return Tenant{}, err
		}
		t, found = findTenant(rows, tenant)
	}
	switch {
	case found && t.Excluded:
		return Tenant{}, c.newError(tenantsync.ErrTenantNotFound, op, tenant, 0, "the tenant is excluded from CIPP management", HintExcluded)
	case found:
		return t, nil
	}
	return Tenant{}, c.notListed(op, tenant, rows, "the tenant is not in CIPP's tenant list", HintRefreshTenants)
}

// notListed is the error for a tenant missing from CIPP's tenant list rows.
func (c *Client) notListed(op, tenant string, rows []Tenant, msg, hint string) error {
	n := 0
	for _, r := range rows {
		if usable(r) {
			n++
		}
	}
	if n == 0 {
		return c.newError(tenantsync.ErrTenantNotFound, op, tenant, 0, "CIPP's tenant list for this API client is empty", HintEmptyTenants)
	}
	return c.newError(tenantsync.ErrTenantNotFound, op, tenant, 0, fmt.Sprintf("%s (%d tenants)", msg, n), hint)
}

// confirmKey is the context key of a confirmMemo.
type confirmKey struct{}

// confirmMemo holds the fresh tenant list fetched to confirm empty answers, so a Source fetch
// asks CIPP for it once however many of its kinds come back empty.
type confirmMemo struct {
	// fetching is held while the list is read, so the kinds of one fetch, read at once, wait
	// for one read rather than each start their own.
	fetching sync.Mutex
	mu       sync.Mutex
	done     bool
	rows     []Tenant
	err      error
}

func (m *confirmMemo) get() (rows []Tenant, done bool, err error) {
	if m == nil {
		return nil, false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rows, m.done, m.err
}

func (m *confirmMemo) set(rows []Tenant, err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows, m.err, m.done = rows, err, true
}

// confirmMemoOf returns ctx's memo, or nil.
func confirmMemoOf(ctx context.Context) *confirmMemo {
	m, _ := ctx.Value(confirmKey{}).(*confirmMemo)
	return m
}

// withConfirmMemo gives ctx a memo of the confirming tenant list.
func withConfirmMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, confirmKey{}, &confirmMemo{})
}

// confirmListed checks, against a tenant list fetched now rather than the cache, that CIPP
// still manages t; op is the call that answered about t with nothing. CIPP answers 200 [] for a
// tenant it does not manage, so when it has dropped a tenant the cache still holds, its empty
// answer would read as "this tenant has no users" and a sync would remove every one of them.
func (c *Client) confirmListed(ctx context.Context, op string, t Tenant) error {
	memo := confirmMemoOf(ctx)
	if memo != nil {
		memo.fetching.Lock()
		defer memo.fetching.Unlock()
	}
	rows, done, err := memo.get()
	if !done {
		rows, err = c.freshTenants(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		memo.set(rows, err)
	}
	if err != nil {
		kind := tenantsync.ClassOf(err)
		if kind == nil {
			kind = tenantsync.ErrUnavailable
		}
		e := c.newError(kind, op, t.CustomerID, 0,
			"CIPP answered with nothing, and its tenant list, needed to tell an empty tenant from one CIPP no longer manages, could not be read: "+err.Error(),
			tenantsync.HintOf(err))
		if e.Hint == "" {
			e.Hint = HintRetry
		}
		e.Err = err
		return e
	}
	cur, found := findTenant(rows, t.CustomerID)
	switch {
	case found && cur.Excluded:
		return c.newError(tenantsync.ErrTenantNotFound, op, t.CustomerID, 0,
			"CIPP answered with nothing because the tenant is now excluded from CIPP management; the answer is not an empty listing", HintExcluded)
	case found:
		return nil
	}
	return c.notListed(op, t.CustomerID, rows,
		"CIPP answered with nothing, and its tenant list no longer holds the tenant: that is CIPP's answer for a tenant it does not manage, not an empty listing",
		HintTenantDropped)
}

func findTenant(rows []Tenant, key string) (Tenant, bool) {
	for _, t := range rows {
		if t.IsPseudo() {
			continue
		}
		if strings.EqualFold(t.CustomerID, key) || strings.EqualFold(t.DefaultDomainName, key) || strings.EqualFold(t.InitialDomainName, key) {
			return t, true
		}
	}
	return Tenant{}, false
}

// tenantFilter is the value CIPP's tenantFilter takes for t: its default domain, as CIPP's own
// UI sends, or its ID.
func tenantFilter(t Tenant) string {
	if t.DefaultDomainName != "" {
		return t.DefaultDomainName
	}
	return t.CustomerID
}

func (c *Client) decodeError(op, tenant string, err error) error {
	c.unknownShapes.Add(1)
	e := c.newError(tenantsync.ErrUnavailable, op, tenant, http.StatusOK, "a row did not decode: "+err.Error(), "CIPP's response format changed; update tenantsync or report the field named here")
	e.Err = tenantsync.ErrIncomplete
	return e
}

// arrayItems returns the rows of a list answer. A list endpoint that fails inside CIPP, or is
// not ready, may still answer 200: with a message string, an array of message strings, a single
// {"Message"} row, a placeholder row such as ListLicenses's {"Tenant": "Loading data for all
// tenants…", "License": "Loading data for all tenants…"}, or an envelope whose Metadata says the
// request was queued. Those are errors, so neither a failure nor a placeholder reads as data or
// as an empty list.
func (c *Client) arrayItems(op, tenant string, r *Response) ([]json.RawMessage, error) {
	switch r.Shape {
	case ShapeArray:
		if len(r.Items) > 0 {
			if msg := joinStrings(r.Items); msg != "" {
				return nil, c.messageError(op, tenant, msg)
			}
			if len(r.Items) == 1 {
				var m map[string]json.RawMessage
				if json.Unmarshal(r.Items[0], &m) == nil && len(m) == 1 {
					if msg, ok := m["Message"]; ok {
						var s FlexString
						_ = json.Unmarshal(msg, &s)
						return nil, c.newError(tenantsync.ErrUnsupported, op, tenant, http.StatusOK, string(s), "query one tenant at a time")
					}
				}
			}
			if msg, ok := messageRows(r.Items); ok {
				return nil, c.messageError(op, tenant, msg)
			}
		}
		return r.Items, nil
	case ShapeEnvelope:
		if err := c.queuedError(op, tenant, r.Metadata); err != nil {
			return nil, err
		}
		if msg := joinStrings(r.Items); msg != "" {
			return nil, c.messageError(op, tenant, msg)
		}
		if msg, ok := messageRows(r.Items); ok {
			return nil, c.messageError(op, tenant, msg)
		}
		if r.Items != nil || isNull(r.Results) {
			return r.Items, nil
		}
		if r.Text != "" {
			return nil, c.messageError(op, tenant, r.Text)
		}
	case ShapeText:
		return nil, c.messageError(op, tenant, r.Text)
	case ShapeObject:
		if msg, ok := messageRows([]json.RawMessage{r.Object}); ok {
			return nil, c.messageError(op, tenant, msg)
		}
		// PowerShell unrolls a one-element array into its element on some code paths.
		c.unknownShapes.Add(1)
		return []json.RawMessage{r.Object}, nil
	}
	c.unknownShapes.Add(1)
	e := c.newError(tenantsync.ErrUnavailable, op, tenant, http.StatusOK, fmt.Sprintf("unexpected %s response where a list belongs", r.Shape), HintRetry)
	e.Err = tenantsync.ErrIncomplete
	return nil, e
}

// queuedError reads an envelope's Metadata: CIPP answers a request it moved to a background
// job (more than 8000 rows, AllTenants, a cache being filled) with no rows and Queued or a
// QueueMessage ("Loading 12345 rows for contoso.com…", "Data still processing, please wait").
func (c *Client) queuedError(op, tenant string, metadata json.RawMessage) error {
	if metadata == nil || firstByte(metadata) != '{' {
		return nil
	}
	var md GraphMetadata
	if json.Unmarshal(metadata, &md) != nil {
		return nil
	}
	if !strings.EqualFold(string(md.Queued), "true") && md.QueueMessage == "" {
		return nil
	}
	msg := md.QueueMessage
	if msg == "" {
		msg = "CIPP queued the request"
	}
	e := c.newError(tenantsync.ErrUnavailable, op, tenant, http.StatusOK, msg, HintQueued)
	e.Err = tenantsync.ErrIncomplete
	return e
}

// maxMessageRows bounds how many rows an answer made of messages can have: CIPP's placeholders
// and error rows are one row each.
const maxMessageRows = 3

// messageRows returns the text of rows that carry a message instead of data: every row an
// object of at most three keys, none an identifier, whose values are all strings (or null) and
// whose text says CIPP is not ready or failed, such as [{"UPN": "Loading data for all tenants.
// Please check back in a few minutes"}] or [{"Tenant": "contoso.com", "Results": "Failed …"}].
// Data rows of the endpoints this package reads carry an identifier or more fields.
func messageRows(items []json.RawMessage) (string, bool) {
	if len(items) == 0 || len(items) > maxMessageRows {
		return "", false
	}
	var parts []string
	for _, it := range items {
		var m map[string]json.RawMessage
		if firstByte(it) != '{' || json.Unmarshal(it, &m) != nil || len(m) == 0 || len(m) > 3 {
			return "", false
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.HasSuffix(strings.ToLower(k), "id") {
				return "", false
			}
			v := m[k]
			if isNull(v) {
				continue
			}
			var s string
			if firstByte(v) != '"' || json.Unmarshal(v, &s) != nil {
				return "", false
			}
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(parts, s) {
				parts = append(parts, s)
			}
		}
	}
	text := strings.Join(parts, "; ")
	if !reNotReady.MatchString(text) && !reFailure.MatchString(text) {
		return "", false
	}
	return text, true
}

// messageError is the error for a 200 answer that carries a message instead of data.
func (c *Client) messageError(op, tenant, msg string) error {
	e := c.newError(tenantsync.ErrUnavailable, op, tenant, http.StatusOK, msg, HintRetry)
	applyClass(e, msg)
	return e
}

// tenantList fetches one bare-array list endpoint for a checked tenant.
func (c *Client) tenantList(ctx context.Context, op, tenant string, q url.Values) ([]json.RawMessage, Tenant, error) {
	t, err := c.LookupTenant(ctx, tenant)
	if err != nil {
		return nil, Tenant{}, err
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("tenantFilter", tenantFilter(t))
	r, err := c.call(ctx, http.MethodGet, op, t.CustomerID, q, nil, true)
	if err != nil {
		return nil, t, err
	}
	items, err := c.arrayItems(op, t.CustomerID, r)
	if err == nil && len(items) == 0 {
		err = c.confirmListed(ctx, op, t)
	}
	return items, t, err
}

// listSeq yields the decoded rows of a list endpoint, stopping at the first error after
// yielding it.
func listSeq[T any](c *Client, ctx context.Context, op, tenant string, q url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		items, t, err := c.tenantList(ctx, op, tenant, q)
		if err != nil {
			yield(zero, err)
			return
		}
		for _, it := range items {
			var v T
			if err := json.Unmarshal(it, &v); err != nil {
				yield(zero, c.decodeError(op, t.CustomerID, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// ListUsers yields the tenant's users (ListUsers: every Graph page, fetched by CIPP in one call).
// For very large tenants, GraphUsers pages instead.
func (c *Client) ListUsers(ctx context.Context, tenant string) iter.Seq2[User, error] {
	return listSeq[User](c, ctx, "ListUsers", tenant, nil)
}

// Users returns every user of the tenant.
func (c *Client) Users(ctx context.Context, tenant string) ([]User, error) {
	return paging.Collect(c.ListUsers(ctx, tenant))
}

// User returns one user by object ID or UPN (ListUsers?UserID=), or tenantsync.ErrNotFound.
func (c *Client) User(ctx context.Context, tenant, user string) (User, error) {
	users, err := paging.Collect(listSeq[User](c, ctx, "ListUsers", tenant, url.Values{"UserID": {user}}))
	if err != nil {
		return User{}, err
	}
	for _, u := range users {
		if strings.EqualFold(u.ID, user) || strings.EqualFold(u.UserPrincipalName, user) {
			return u, nil
		}
	}
	return User{}, c.newError(tenantsync.ErrNotFound, "ListUsers", tenant, 0, fmt.Sprintf("no user %q", user), "")
}

// ListMailboxes yields the tenant's mailboxes of every kind (recipientTypeDetails says which).
func (c *Client) ListMailboxes(ctx context.Context, tenant string) iter.Seq2[Mailbox, error] {
	return listSeq[Mailbox](c, ctx, "ListMailboxes", tenant, nil)
}

// Mailboxes returns every mailbox of the tenant.
func (c *Client) Mailboxes(ctx context.Context, tenant string) ([]Mailbox, error) {
	return paging.Collect(c.ListMailboxes(ctx, tenant))
}

// ListDevices yields the tenant's Intune managed devices.
func (c *Client) ListDevices(ctx context.Context, tenant string) iter.Seq2[Device, error] {
	return listSeq[Device](c, ctx, "ListDevices", tenant, nil)
}

// Devices returns every managed device of the tenant.
func (c *Client) Devices(ctx context.Context, tenant string) ([]Device, error) {
	return paging.Collect(c.ListDevices(ctx, tenant))
}

// ListDomains yields the tenant's domains (id, isDefault, isInitial only; GraphDomains adds
// verification and services).
func (c *Client) ListDomains(ctx context.Context, tenant string) iter.Seq2[Domain, error] {
	return listSeq[Domain](c, ctx, "ListDomains", tenant, nil)
}

// Domains returns every domain of the tenant.
func (c *Client) Domains(ctx context.Context, tenant string) ([]Domain, error) {
	return paging.Collect(c.ListDomains(ctx, tenant))
}

// ListLicenses yields the tenant's subscribed SKUs (CIPP hides free SKUs on its exclusion list).
func (c *Client) ListLicenses(ctx context.Context, tenant string) iter.Seq2[License, error] {
	return listSeq[License](c, ctx, "ListLicenses", tenant, nil)
}

// Licenses returns every subscribed SKU of the tenant.
func (c *Client) Licenses(ctx context.Context, tenant string) ([]License, error) {
	return paging.Collect(c.ListLicenses(ctx, tenant))
}

// ListDefenderState yields the tenant's Intune managed devices with their Windows protection
// state (Microsoft Defender Antivirus). CIPP answers its failures with 200 and the message in an
// array, which this reports as an error rather than as a device.
func (c *Client) ListDefenderState(ctx context.Context, tenant string) iter.Seq2[DefenderStateDevice, error] {
	return listSeq[DefenderStateDevice](c, ctx, "ListDefenderState", tenant, nil)
}

// DefenderStates returns every managed device of the tenant with its protection state.
func (c *Client) DefenderStates(ctx context.Context, tenant string) ([]DefenderStateDevice, error) {
	return paging.Collect(c.ListDefenderState(ctx, tenant))
}

// ListMFAUsers yields every user's MFA state.
func (c *Client) ListMFAUsers(ctx context.Context, tenant string) iter.Seq2[MFAUser, error] {
	return listSeq[MFAUser](c, ctx, "ListMFAUsers", tenant, nil)
}

// MFAUsers returns every user's MFA state.
func (c *Client) MFAUsers(ctx context.Context, tenant string) ([]MFAUser, error) {
	return paging.Collect(c.ListMFAUsers(ctx, tenant))
}

// ListConditionalAccessPolicies yields the tenant's conditional access policies. CIPP swallows
// this endpoint's errors into an empty list, so an empty answer is not proof of no policies.
func (c *Client) ListConditionalAccessPolicies(ctx context.Context, tenant string) iter.Seq2[CAPolicy, error] {
	return listSeq[CAPolicy](c, ctx, "ListConditionalAccessPolicies", tenant, nil)
}

// ConditionalAccessPolicies returns every conditional access policy of the tenant.
func (c *Client) ConditionalAccessPolicies(ctx context.Context, tenant string) ([]CAPolicy, error) {
	return paging.Collect(c.ListConditionalAccessPolicies(ctx, tenant))
}

// Me returns the API client's identity and effective permissions (/api/me): a cheap check of
// the credentials. A roleless client gets an answer here but is refused everywhere else.
func (c *Client) Me(ctx context.Context) (Me, error) {
	r, err := c.call(ctx, http.MethodGet, "me", "", nil, nil, true)
	if err != nil {
		return Me{}, err
	}
	if r.Shape != ShapeObject {
		c.unknownShapes.Add(1)
		return Me{}, c.newError(tenantsync.ErrUnavailable, "me", "", http.StatusOK, fmt.Sprintf("unexpected %s response", r.Shape), HintRetry)
	}
	var m Me
	if err := json.Unmarshal(r.Object, &m); err != nil {
		return Me{}, c.decodeError("me", "", err)
	}
	return m, nil
}
