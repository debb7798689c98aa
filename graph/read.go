package graph

import (
	"context"
	"encoding/json"
	"iter"
	"maps"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
)

// list describes one Graph collection the client reads.
type list struct {
	op   string
	path string // relative to /v1.0, query included
	need access
}

var (
	listUsers = list{"ListUsers", "/users?$select=" + userSelect + "&$top=999", accessUsers}
	// Delta rounds are paged by Graph itself; $top is not a documented option of users/delta.
	listUsersDelta   = list{"UsersDelta", "/users/delta?$select=" + userSelect, accessUsers}
	listMailboxDelta = list{"MailboxesDelta", "/users/delta?$select=" + mailboxSelect, accessUsers}
	listSKUs         = list{"ListSubscribedSKUs", "/subscribedSkus", accessSKUs}
	listDevices      = list{"ListManagedDevices", "/deviceManagement/managedDevices?$top=999&$select=" + deviceSelect, accessDevices}
	listDomains      = list{"ListDomains", "/domains", accessDomains}
	listRegistration = list{"ListRegistrationDetails", "/reports/authenticationMethods/userRegistrationDetails?$top=999", accessMFA}
	listCAPolicies   = list{"ListCAPolicies", "/identity/conditionalAccess/policies", accessCA}
	listSecureScores = list{"LatestSecureScore", "/security/secureScores?$top=1", accessScore}
	listOrganization = list{"Organization", "/organization", accessOrg}
	// The connector list is small (one row per Mobile Threat Defense partner); Defender's is
	// picked by its ID rather than by a $filter on the ID, which Intune lists do not all honour.
	listMTDConnectors = list{"ListMobileThreatDefenseConnectors", "/deviceManagement/mobileThreatDefenseConnectors", accessConnector}
	// The protection state is a relationship of the device, only readable expanded; all devices
	// are listed and the Windows ones kept, so no $filter on operatingSystem is relied on.
	listProtection = list{"ListWindowsProtectionStates", "/deviceManagement/managedDevices?$top=999&$select=id,deviceName,operatingSystem,windowsProtectionState&$expand=windowsProtectionState", accessDevices}
	getSecDefaults = list{"SecurityDefaults", "/policies/identitySecurityDefaultsEnforcementPolicy", accessCA}
)

// bounds are the limits of one listing: Config.MaxPages pages and no nextLink followed twice,
// so a service that hands out the same link again (or an endless chain) ends in
// ErrLimitExceeded instead of a hang. Links are checked against the configured origin by get.
func (c *Client) bounds(op, tenant string) paging.Bounds {
	return paging.Bounds{
		MaxPages: c.cfg.MaxPages,
		TooMany: func() error {
			return opError(tenantsync.ErrLimitExceeded, op, tenant,
				"raise Config.MaxPages if the tenant is really this large",
				"more than %d pages", c.cfg.MaxPages)
		},
		Loop: func() error {
			return opError(tenantsync.ErrLimitExceeded, op, tenant,
				"Graph returned a nextLink already followed; the listing is unknown, not empty, and the next sync will retry",
				"nextLink loop")
		},
	}
}

// fetchPage reads one page at link.
func fetchPage[T any](ctx context.Context, c *Client, l list, tenant, link string) (tenantsync.Page[T], error) {
	if err := checkTenant(l.op, tenant); err != nil {
		return tenantsync.Page[T]{}, err
	}
	if link == "" {
		link = c.root + l.path
	}
	r, err := c.get(ctx, l.op, tenant, l.need, link)
	if err != nil {
		return tenantsync.Page[T]{}, err
	}
	return decodeResponse[T](l.op, tenant, r)
}

func decodeResponse[T any](op, tenant string, r *response) (tenantsync.Page[T], error) {
	p, err := DecodePage[T](r.body)
	if err != nil {
		e := opError(tenantsync.ErrUnavailable, op, tenant, "Graph sent a malformed page; the next sync will retry", "%v", err)
		e.Status, e.RequestID = r.status, r.header.Get("request-id")
		return tenantsync.Page[T]{}, e
	}
	return p, nil
}

// each iterates over every item of a listing. It stops after yielding the first error; a
// listing cut short is therefore never mistaken for a whole one.
func each[T any](ctx context.Context, c *Client, l list, tenant string) iter.Seq2[T, error] {
	return paging.Walk(c.bounds(l.op, tenant), func(link string) (tenantsync.Page[T], error) {
		return fetchPage[T](ctx, c, l, tenant, link)
	})
}

// collect reads the rest of a listing whose first page is first, following nextLinks, and
// reports the items read so far to progress (if set) before each further page and at the end.
func collect[T any](ctx context.Context, c *Client, l list, tenant string, first tenantsync.Page[T], progress func(int)) ([]T, error) {
	read := 0
	items, err := paging.Collect(paging.Walk(c.bounds(l.op, tenant), func(link string) (tenantsync.Page[T], error) {
		p := first
		if link != "" {
			report(progress, read)
			var err error
			if p, err = fetchPage[T](ctx, c, l, tenant, link); err != nil {
				return p, err
			}
		}
		read += len(p.Items)
		return p, nil
	}))
	if err != nil {
		return nil, err
	}
	report(progress, read)
	return items, nil
}

func report(progress func(int), n int) {
	if progress != nil {
		progress(n)
	}
}

// ListUsers iterates over every user of a tenant, with every address field selected, 999 a page.
func (c *Client) ListUsers(ctx context.Context, tenant string) iter.Seq2[User, error] {
	return each[User](ctx, c, listUsers, tenant)
}

// UsersPage reads one page of users: the first when nextLink is "", else the page it names.
func (c *Client) UsersPage(ctx context.Context, tenant, nextLink string) (tenantsync.Page[User], error) {
	return fetchPage[User](ctx, c, listUsers, tenant, nextLink)
}

// ListSubscribedSKUs iterates over the tenant's licences.
func (c *Client) ListSubscribedSKUs(ctx context.Context, tenant string) iter.Seq2[SubscribedSKU, error] {
	return each[SubscribedSKU](ctx, c, listSKUs, tenant)
}

// SubscribedSKUsPage reads one page of licences.
func (c *Client) SubscribedSKUsPage(ctx context.Context, tenant, nextLink string) (tenantsync.Page[SubscribedSKU], error) {
	return fetchPage[SubscribedSKU](ctx, c, listSKUs, tenant, nextLink)
}

// ListManagedDevices iterates over the tenant's Intune managed devices.
func (c *Client) ListManagedDevices(ctx context.Context, tenant string) iter.Seq2[ManagedDevice, error] {
	return each[ManagedDevice](ctx, c, listDevices, tenant)
}

// ManagedDevicesPage reads one page of managed devices.
func (c *Client) ManagedDevicesPage(ctx context.Context, tenant, nextLink string) (tenantsync.Page[ManagedDevice], error) {
	return fetchPage[ManagedDevice](ctx, c, listDevices, tenant, nextLink)
}

// ListDomains iterates over the tenant's domains.
func (c *Client) ListDomains(ctx context.Context, tenant string) iter.Seq2[Domain, error] {
	return each[Domain](ctx, c, listDomains, tenant)
}

// DomainsPage reads one page of domains.
func (c *Client) DomainsPage(ctx context.Context, tenant, nextLink string) (tenantsync.Page[Domain], error) {
	return fetchPage[Domain](ctx, c, listDomains, tenant, nextLink)
}

// ListRegistrationDetails iterates over every user's MFA registration details. A tenant without
// Entra ID P1 answers 403, reported as tenantsync.ErrLicenseRequired.
func (c *Client) ListRegistrationDetails(ctx context.Context, tenant string) iter.Seq2[RegistrationDetail, error] {
	return each[RegistrationDetail](ctx, c, listRegistration, tenant)
}

// RegistrationDetailsPage reads one page of MFA registration details.
func (c *Client) RegistrationDetailsPage(ctx context.Context, tenant, nextLink string) (tenantsync.Page[RegistrationDetail], error) {
	return fetchPage[RegistrationDetail](ctx, c, listRegistration, tenant, nextLink)
}

// ListCAPolicies iterates over the tenant's conditional access policies.
func (c *Client) ListCAPolicies(ctx context.Context, tenant string) iter.Seq2[CAPolicy, error] {
	return each[CAPolicy](ctx, c, listCAPolicies, tenant)
}

// CAPoliciesPage reads one page of conditional access policies.
func (c *Client) CAPoliciesPage(ctx context.Context, tenant, nextLink string) (tenantsync.Page[CAPolicy], error) {
	return fetchPage[CAPolicy](ctx, c, listCAPolicies, tenant, nextLink)
}

// LatestSecureScore returns the newest daily secure score, or nil when the tenant has none yet.
func (c *Client) LatestSecureScore(ctx context.Context, tenant string) (*SecureScore, error) {
	p, err := fetchPage[SecureScore](ctx, c, listSecureScores, tenant, "")
	if err != nil || len(p.Items) == 0 {
		return nil, err
	}
	return &p.Items[0], nil
}

// Organization returns the tenant's organization object; its ID is the tenant ID.
func (c *Client) Organization(ctx context.Context, tenant string) (*Organization, error) {
	p, err := fetchPage[Organization](ctx, c, listOrganization, tenant, "")
	if err != nil {
		return nil, err
	}
	if len(p.Items) == 0 {
		return nil, opError(tenantsync.ErrUnavailable, listOrganization.op, tenant, "Graph answered with an empty organization collection; retry later", "Graph returned no organization")
	}
	return &p.Items[0], nil
}

// SecurityDefaults reports whether security defaults are enforced in the tenant.
func (c *Client) SecurityDefaults(ctx context.Context, tenant string) (bool, error) {
	if err := checkTenant(getSecDefaults.op, tenant); err != nil {
		return false, err
	}
	r, err := c.get(ctx, getSecDefaults.op, tenant, getSecDefaults.need, c.root+getSecDefaults.path)
	if err != nil {
		return false, err
	}
	return decodeSecurityDefaults(tenant, r)
}

func decodeSecurityDefaults(tenant string, r *response) (bool, error) {
	var sd SecurityDefaults
	if err := json.Unmarshal(r.body, &sd); err != nil {
		return false, opError(tenantsync.ErrUnavailable, getSecDefaults.op, tenant, "Graph sent a malformed answer; the next sync will retry", "decode: %v", err)
	}
	return sd.IsEnabled, nil
}

// MailboxPurpose is the mailbox type Exchange reports for a user: "user", "linked", "shared",
// "room", "equipment", "others", or "" when the user has no Exchange Online mailbox.
type MailboxPurpose string

// purposeBody accepts both forms Graph documents for userPurpose: the bare string of
// /mailboxSettings/userPurpose ({"value":"user"}) and the object form {"value":{"value":"user"}}.
type purposeBody struct {
	Value json.RawMessage `json:"value"`
}

func (p purposeBody) purpose() MailboxPurpose {
	var s string
	if json.Unmarshal(p.Value, &s) == nil {
		return MailboxPurpose(s)
	}
	var o struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(p.Value, &o) == nil {
		return MailboxPurpose(o.Value)
	}
	return ""
}

func purposePath(userID string) string {
	return "/users/" + url.PathEscape(userID) + "/mailboxSettings/userPurpose"
}

// mailboxBatchesInFlight caps the $batch calls one MailboxPurposes call has in flight. Graph
// sets no per-tenant concurrency limit for these reads (each item reads another mailbox, and
// Exchange's limit of 4 concurrent requests is per mailbox); the identity bucket of the
// transport's per-tenant limiter (3,500 resource units per 10 s, a $batch charged 20) paces a
// large tenant once its burst is spent. The cap bounds the connections and goroutines one
// tenant takes: 8 batches at a 100 ms round trip ask 1,600 units a second, more than the
// bucket refills, so past the burst the limiter, not the cap, sets the pace.
const mailboxBatchesInFlight = 8

// MailboxPurposes reads the mailbox type of each user, 20 users per $batch, up to 8 batches
// at once within the tenant's rate limits. Users without an Exchange Online mailbox (404
// MailboxNotEnabledForRESTAPI or ResourceNotFound) map to "". The first batch that fails
// fails the call and stops the batches not yet sent.
func (c *Client) MailboxPurposes(ctx context.Context, tenant string, userIDs []string) (map[string]MailboxPurpose, error) {
	const op = "MailboxPurposes"
	if err := checkTenant(op, tenant); err != nil {
		return nil, err
	}
	var chunks [][]string
	for start := 0; start < len(userIDs); start += maxBatch {
		chunks = append(chunks, userIDs[start:min(start+maxBatch, len(userIDs))])
	}
	parts := make([]map[string]MailboxPurpose, len(chunks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mailboxBatchesInFlight)
	for i, chunk := range chunks {
		if gctx.Err() != nil {
			break // a batch failed: the rest are not sent
		}
		g.Go(func() error {
			var err error
			parts[i], err = c.mailboxPurposeBatch(gctx, op, tenant, chunk)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // cancelled before every batch was sent
	}
	out := make(map[string]MailboxPurpose, len(userIDs))
	for _, p := range parts {
		maps.Copy(out, p)
	}
	return out, nil
}

// mailboxPurposeBatch reads the mailbox types of up to 20 users in one $batch.
func (c *Client) mailboxPurposeBatch(ctx context.Context, op, tenant string, chunk []string) (map[string]MailboxPurpose, error) {
	reqs := make([]BatchRequest, 0, len(chunk))
	for i, id := range chunk {
		reqs = append(reqs, BatchRequest{ID: strconv.Itoa(i), Method: "GET", URL: purposePath(id)})
	}
	res, err := c.Batch(ctx, tenant, reqs)
	if err != nil {
		return nil, withOp(err, op, tenant)
	}
	out := make(map[string]MailboxPurpose, len(chunk))
	for i, id := range chunk {
		item := res[strconv.Itoa(i)]
		switch {
		case item.Status == 200:
			var pb purposeBody
			if err := json.Unmarshal(item.Body, &pb); err != nil {
				return nil, opError(tenantsync.ErrUnavailable, op, tenant, "Graph sent a malformed answer; the next sync will retry", "decode userPurpose of %s: %v", id, err)
			}
			out[id] = pb.purpose()
		case item.Status == 404:
			out[id] = ""
		default:
			return nil, c.itemError(op, tenant, accessMailbox, item)
		}
	}
	return out, nil
}

// relative turns an absolute link on the configured origin into the /v1.0-relative form a
// $batch item needs.
func (c *Client) relative(link string) (string, bool) {
	rest, ok := strings.CutPrefix(link, c.root)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	return rest, true
}
