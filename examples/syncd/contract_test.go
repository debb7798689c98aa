package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// statusForWire is a tenant never synced: every time unknown, every list empty.
func statusForWire() sync.TenantStatus {
	return sync.TenantStatus{Tenant: store.TenantRecord{Tenant: tenantsync.Tenant{ID: "t1", DisplayName: "Contoso"}}}
}

// contract holds the API's answers to openapi.json: every answer a test sends through it is
// validated against the operation it documents, and the operations answered with success are
// counted, so that a test can require every route to have been seen.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	mu     gosync.Mutex
	ok     map[string]bool // "METHOD /path/{pattern}" answered with 2xx and validated
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDoc)
	require.NoError(t, err, "openapi.json parses")
	require.True(t, doc.IsOpenAPI31OrLater(), "the document is OpenAPI 3.1")
	require.NoError(t, doc.Validate(loader.Context), "openapi.json is a valid OpenAPI document")
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &contract{doc: doc, router: router, ok: map[string]bool{}}
}

// goWords are the SDK's Go identifiers a hint must not send an API caller to.
var goWords = regexp.MustCompile(`\b(tenantsync|sync|store|match|partnercenter)\.[A-Z]|\b(Limits|Config|Cadence|Engine|DeletionGuard)\.[A-Z]|` +
	`\b(SetKinds|SetKindsBy|ResolveContactFailure|ReleaseHold|ResolveReview|PutClient|Authorizer|Approver|AutoCreate|MarkActive|LinkSuggested|` +
	`SetSyncing|ContactFailures|ContactRetry|ContactMerge|ContactIgnore|ContactID|TenantID|ClientID|ObjectID|SyncNow|StartSync|` +
	`ListClients|GetClient|Link|Unlink|Write|Statuses)\b|\bin Status\b`)

// call serves one request through td and checks its answer against the contract.
func (c *contract) call(t *testing.T, td *testDaemon, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := td.do(t, method, path, body)
	c.check(t, method, path, body, rec)
	return rec
}

// check validates an answer: against the operation's documented responses (status, headers,
// body), and against the API's conventions, which a schema cannot say: no null, no zero time,
// no Go identifier in a hint or message.
func (c *contract) check(t *testing.T, method, path, body string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://"+testListen+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil && (rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed) {
		// No operation to hold it to: the answer is the API's error shape all the same.
		var v any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "%s %s answered %d: %s", method, path, rec.Code, rec.Body)
		require.NoError(t, c.doc.Components.Schemas["Error"].Value.VisitJSON(v), "%s %s: %s", method, path, rec.Body)
		checkConventions(t, method+" "+path, "", v)
		return
	}
	require.NoError(t, err, "%s %s is documented in openapi.json", method, path)
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation()}}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	ctx := t.Context()
	if rec.Code < 300 {
		// A request the API took must be one the document allows.
		require.NoError(t, openapi3filter.ValidateRequest(ctx, in), "request %s %s %s", method, path, body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Options: opts}
	out.SetBodyBytes(rec.Body.Bytes())
	require.NoError(t, openapi3filter.ValidateResponse(ctx, out), "%s %s answered %d: %s", method, path, rec.Code, rec.Body)

	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && path != "/openapi.json" {
		var v any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
		checkConventions(t, fmt.Sprintf("%s %s", method, path), "", v)
	}
	if rec.Code < 300 {
		c.mu.Lock()
		c.ok[route.Method+" "+route.Path] = true
		c.mu.Unlock()
	}
}

// checkConventions walks an answer: no null anywhere, no zero time, hints and messages free
// of Go identifiers.
func checkConventions(t *testing.T, call, at string, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s: %s is null; leave it out or answer [] or {}", call, at)
	case map[string]any:
		for k, e := range v {
			checkConventions(t, call, at+"."+k, e)
		}
	case []any:
		for i, e := range v {
			checkConventions(t, call, fmt.Sprintf("%s[%d]", at, i), e)
		}
	case string:
		assert.NotContains(t, v, "0001-01-01", "%s: %s is a zero time", call, at)
		field := at[strings.LastIndex(at, ".")+1:]
		// Audit entries are shown as they were chained, word for word: their hash covers them.
		if audit := strings.HasPrefix(call, "GET /api/audit") && strings.HasPrefix(at, ".items["); !audit && slices.Contains([]string{"hint", "error", "message", "summary", "reason", "stopped"}, field) {
			assert.False(t, goWords.MatchString(v), "%s: %s names Go identifiers (%q): %s", call, at, goWords.FindString(v), v)
		}
	}
}

// documented returns the "METHOD /path" of every operation in the document.
func (c *contract) documented() []string {
	var out []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIDocumentsEveryRoute holds openapi.json and the routes to each other: every route
// the daemon registers is documented, and every documented operation is a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	var routes []string
	for _, ep := range (&api{}).endpoints() {
		routes = append(routes, ep.pattern)
	}
	routes = append(routes, connectAPIRoute)
	slices.Sort(routes)
	assert.Equal(t, routes, c.documented())
}

// waitRun follows a sync run's link until it is no longer running.
func waitRun(t *testing.T, c *contract, td *testDaemon, href string) runWire {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		rec := c.call(t, td, http.MethodGet, href, "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var run runWire
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &run))
		if run.Status != "running" {
			return run
		}
		require.True(t, time.Now().Before(deadline), "run %s still running", href)
		time.Sleep(20 * time.Millisecond)
	}
}

func decodeAs[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "%s", rec.Body)
	return v
}

// TestContractEveryRouteAnswersAsDocumented drives every route of a daemon on the demo fakes,
// with successes and the errors a caller meets, and validates each real answer against
// openapi.json. It fails when a route was never answered with success.
func TestContractEveryRouteAnswersAsDocumented(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	td := newTestDaemonWith(t, func(cfg *config) {
		cfg.WritesEnabled = true
		cfg.Writers = []string{adminActor}
		cfg.MaxCreatesPerSync = 3 // a backlog of creates, so contactCreation shows
	}, hooks{cooldown: time.Millisecond})
	ctx := t.Context()
	acct := td.d.store.Account(td.d.cfg.Account)
	world := td.d.fake.Tenants()
	require.GreaterOrEqual(t, len(world), 3)
	tA, tB, tC := world[0].ID, world[1].ID, world[2].ID
	all, err := td.d.engine.Statuses(ctx)
	require.NoError(t, err)

	// Open routes, and the errors of routes nobody registered.
	c.call(t, td, http.MethodGet, "/healthz", "")
	c.call(t, td, http.MethodGet, "/openapi.json", "")
	c.call(t, td, http.MethodGet, "/metrics", "")
	connectRec := c.call(t, td, http.MethodPost, "/api/partner/connect", "")
	require.Equal(t, http.StatusOK, connectRec.Code, connectRec.Body.String())
	rec := c.call(t, td, http.MethodDelete, "/api/tenants", "")
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	rec = c.call(t, td, http.MethodGet, "/api/nothing-here", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, decodeError(t, rec).Hint, "/openapi.json")

	// Tenants and suggestions before anything is linked.
	var ids []string
	pages := 0
	for cursor := ""; ; pages++ {
		rec := c.call(t, td, http.MethodGet, "/api/tenants?limit=2&cursor="+cursor, "")
		pg := decodeAs[page[tenantWire]](t, rec)
		require.LessOrEqual(t, len(pg.Items), 2)
		for _, tw := range pg.Items {
			ids = append(ids, tw.ID)
		}
		if cursor = pg.NextCursor; cursor == "" {
			break
		}
	}
	assert.Len(t, ids, len(all), "the pages hold every tenant once")
	assert.Equal(t, (len(all)+1)/2, pages+1)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(ids))), len(all))
	rec = c.call(t, td, http.MethodGet, "/api/tenants?limit=0", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = c.call(t, td, http.MethodGet, "/api/tenants?cursor=bogus", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	c.call(t, td, http.MethodGet, "/api/suggestions", "")
	rec = c.call(t, td, http.MethodGet, "/api/tenants/no-such-tenant", "")
	require.Equal(t, http.StatusNotFound, rec.Code)

	// Clients, paged.
	rec = c.call(t, td, http.MethodGet, "/api/clients?limit=1", "")
	clients := decodeAs[page[clientWire]](t, rec)
	require.Len(t, clients.Items, 1)
	require.NotEmpty(t, clients.NextCursor)
	client := clients.Items[0].ID
	c.call(t, td, http.MethodGet, "/api/clients/"+client, "")
	rec = c.call(t, td, http.MethodGet, "/api/clients/no-such-client", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	c.call(t, td, http.MethodPost, "/api/clients/"+client+"/active", `{"minutes": 5}`)

	// Tenant A: linked in the store alone, then synced through the API, 202 and a run to follow.
	require.NoError(t, acct.Tenants.Link(ctx, tA, client, time.Now()))
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tA+"/sync", "")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	run := decodeAs[runWire](t, rec)
	assert.Equal(t, run.Links["self"].Href, rec.Header().Get("Location"))
	run = waitRun(t, c, td, run.Links["self"].Href)
	assert.Contains(t, []string{"succeeded", "partial"}, run.Status)
	require.NotNil(t, run.Report)
	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tA+"/sync/runs/no-such-run", "")
	require.Equal(t, http.StatusNotFound, rec.Code)

	// Its groups, by name, as the sync listed them.
	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tA+"/groups", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	groups := decodeAs[groupList](t, rec)
	assert.True(t, groups.Listed)
	require.Len(t, groups.Items, len(td.d.fake.Groups(world[0].ID)))
	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tA+"/groups?writable=true&name="+url.QueryEscape(strings.ToUpper(groups.Items[0].DisplayName[:3])), "")
	for _, g := range decodeAs[groupList](t, rec).Items {
		assert.True(t, g.Writable)
		assert.Contains(t, strings.ToLower(g.DisplayName), strings.ToLower(groups.Items[0].DisplayName[:3]))
	}
	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tA+"/groups?writable=maybe", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = c.call(t, td, http.MethodGet, "/api/tenants/no-such-tenant/groups", "")
	require.Equal(t, http.StatusNotFound, rec.Code)

	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tA, "")
	ta := decodeAs[tenantWire](t, rec)
	require.NotNil(t, ta.Sync.ContactCreation, "3 creates per sync leave a backlog: %s", rec.Body)
	cr := ta.Sync.ContactCreation
	assert.Equal(t, 3, cr.Created)
	assert.Positive(t, cr.Remaining)
	assert.Equal(t, fmt.Sprintf("created 3 of %d; the rest over the next %d syncs", cr.Total, (cr.Remaining+2)/3), cr.Summary)
	createHref := ta.Sync.Links["createRemainingContacts"].Href
	require.Equal(t, "/api/tenants/"+tA+"/contacts/create-remaining", createHref)

	// The rest now, in one sync.
	rec = c.call(t, td, http.MethodPost, createHref, "")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	run = waitRun(t, c, td, decodeAs[runWire](t, rec).Links["self"].Href)
	require.NotNil(t, run.Report)
	assert.Equal(t, "create-all", run.Trigger)
	assert.Equal(t, cr.Remaining, run.Report.Contacts.Created, "every contact left over was created")
	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tA, "")
	ta = decodeAs[tenantWire](t, rec)
	require.NotNil(t, ta.Sync.ContactCreation)
	assert.Equal(t, fmt.Sprintf("created %d of %d", cr.Total, cr.Total), ta.Sync.ContactCreation.Summary)
	_, stillOffered := ta.Sync.Links["createRemainingContacts"]
	assert.False(t, stillOffered)
	rec = c.call(t, td, http.MethodPost, createHref, "")
	require.Equal(t, http.StatusConflict, rec.Code, "nothing waits: %s", rec.Body)

	// The tenant's runs, newest first, one per page.
	runsHref := ta.Sync.Links["runs"].Href
	require.Equal(t, "/api/tenants/"+tA+"/sync/runs", runsHref)
	rec = c.call(t, td, http.MethodGet, runsHref+"?limit=1", "")
	first := decodeAs[page[runWire]](t, rec)
	require.Len(t, first.Items, 1)
	assert.Equal(t, run.ID, first.Items[0].ID, "the newest run comes first")
	assert.Equal(t, "create-all", first.Items[0].Trigger)
	require.NotEmpty(t, first.NextCursor)
	rec = c.call(t, td, http.MethodGet, runsHref+"?limit=1&cursor="+first.NextCursor, "")
	second := decodeAs[page[runWire]](t, rec)
	require.Len(t, second.Items, 1)
	assert.Equal(t, "sync-now", second.Items[0].Trigger)
	assert.Empty(t, second.NextCursor, "two runs, two pages")
	rec = c.call(t, td, http.MethodGet, "/api/tenants/"+tB+"/sync/runs", "")
	assert.Empty(t, decodeAs[page[runWire]](t, rec).Items, "runs are per tenant")
	assert.Contains(t, rec.Body.String(), `"items": []`)
	rec = c.call(t, td, http.MethodGet, "/api/tenants/no-such-tenant/sync/runs", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	rec = c.call(t, td, http.MethodGet, runsHref+"?limit=x", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)

	// A client's contacts, paged, with their M365 links.
	rec = c.call(t, td, http.MethodGet, "/api/clients/"+client+"/contacts?limit=5", "")
	contacts := decodeAs[page[contactWire]](t, rec)
	require.Len(t, contacts.Items, 5)
	var userID string
	for cursor := ""; ; {
		rec = c.call(t, td, http.MethodGet, "/api/clients/"+client+"/contacts?limit=5&cursor="+cursor, "")
		pg := decodeAs[page[contactWire]](t, rec)
		for _, ct := range pg.Items {
			if ct.M365 != nil && ct.M365.TenantID == tA && ct.Active && userID == "" {
				userID = ct.M365.UserID
			}
		}
		if cursor = pg.NextCursor; cursor == "" {
			break
		}
	}
	require.NotEmpty(t, userID)

	// The client's assets: tenant A's devices, each with an asset its sync made.
	rec = c.call(t, td, http.MethodGet, "/api/clients/"+client+"/assets?limit=2", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assets := decodeAs[page[assetWire]](t, rec)
	require.NotEmpty(t, assets.Items, "the demo syncs devices into assets")
	assert.Equal(t, tA, assets.Items[0].TenantID)
	assert.NotEmpty(t, assets.Items[0].IntuneDeviceID)
	rec = c.call(t, td, http.MethodGet, "/api/clients/no-such-client/assets", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	ta = decodeAs[tenantWire](t, c.call(t, td, http.MethodGet, "/api/tenants/"+tA, ""))
	assert.Positive(t, ta.Sync.Assets.Linked)

	// Tenant B: another engine holds it, so sync-now is 409 however recent its last start.
	require.NoError(t, acct.Tenants.Link(ctx, tB, client, time.Now()))
	_, err = acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: tB, Holder: "engine-elsewhere", Now: time.Now(), TTL: time.Minute})
	require.NoError(t, err)
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tB+"/sync", "")
	require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
	require.NoError(t, acct.Leases.Release(ctx, tB, "engine-elsewhere"))

	// A hold and a contact failure, as the engine stores them, to release and resolve.
	now := time.Now().UTC()
	require.NoError(t, acct.SyncStates.Put(ctx, store.SyncState{TenantID: tB,
		Holds: map[tenantsync.Kind]store.DeletionHold{tenantsync.KindDevices: {Kind: tenantsync.KindDevices, Mode: tenantsync.Complete,
			IDs: []string{"d1", "d2"}, Removals: 2, Of: 3, Since: now, LastSeen: now}},
		ContactFailures: map[string]store.ContactFailure{"user-1": {ObjectID: "user-1", UPN: "pat@contoso.example",
			Op: store.ContactCreate, Kind: "invalid_input", Message: "LastName: too long", Attempts: 5, FirstAt: now, LastAt: now, NeedsPerson: true}},
		Assets: store.AssetState{
			Reviews: map[string]store.AssetReview{"dev-9": {DeviceID: "dev-9", SerialNumber: "SN9", Manufacturer: "Dell",
				Candidates: []string{assets.Items[0].ID, "asset-x"}, Reason: "serial number SN9 (Dell) matches 2 assets", Since: now}},
			Failures: map[string]store.AssetFailure{"dev-8": {DeviceID: "dev-8", Op: store.AssetCreate, Kind: "invalid_input",
				Message: "Configuration type is required", Hint: "correct the record in the PSA", Attempts: 2, LastAt: now}},
			Hold: &store.DeletionHold{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, IDs: []string{"dev-1", "dev-2"},
				Removals: 2, Of: 2, Since: now, LastSeen: now, Hint: "check the devices in Intune, then release the hold"}}}))
	c.call(t, td, http.MethodGet, "/api/tenants/"+tB, "")
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tB+"/holds/devices/release", "")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tB+"/holds/widgets/release", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tB+"/contact-failures/user-1/resolve", `{"decision": "ignore"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	tb := decodeAs[tenantWire](t, c.call(t, td, http.MethodGet, "/api/tenants/"+tB, ""))
	require.Len(t, tb.Sync.Assets.Reviews, 1)
	require.NotNil(t, tb.Sync.Assets.Hold)
	rec = c.call(t, td, http.MethodPost, tb.Sync.Assets.Reviews[0].Links["resolve"].Href, `{"decision": "link"}`)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, tb.Sync.Assets.Reviews[0].Links["resolve"].Href, `{"decision": "create"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, tb.Sync.Assets.Hold.Links["release"].Href, "")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tB+"/asset-reviews/dev-9/resolve", `{"decision": "create"}`)
	require.Equal(t, http.StatusNotFound, rec.Code, "resolved already: %s", rec.Body.String())
	c.call(t, td, http.MethodGet, "/api/tenants/"+tB, "")

	// Tenant C: linked through the API, then unlinked; a suggestion accepted for it again.
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tC+"/link", fmt.Sprintf(`{"clientId": %q}`, client))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.NoError(t, td.d.engine.Wait(ctx))
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tC+"/link", `{"clientId": "no-such-client"}`)
	require.Equal(t, http.StatusNotFound, rec.Code)
	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tC+"/unlink", `{"mode": "keep"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, "/api/suggestions/accept", fmt.Sprintf(`{"links": [{"tenantId": %q, "clientId": %q}]}`, tC, client))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(t, td.d.engine.Wait(ctx))
	rec = c.call(t, td, http.MethodPost, "/api/suggestions/accept", `{"links": []}`)
	require.Equal(t, http.StatusBadRequest, rec.Code)

	// A review to resolve.
	ct, err := td.d.store.Directory(td.d.cfg.Account).CreateContact(ctx, tenantsync.Contact{ClientID: client, FirstName: "Pat", Active: true})
	require.NoError(t, err)
	rv, err := acct.Reviews.Add(ctx, store.Review{TenantID: tA, ObjectID: "user-9", ClientID: client, Reason: "two contacts share the address",
		Candidates: []store.ReviewCandidate{{ContactID: ct.ID, Score: 0.8, Reason: "same address"}}})
	require.NoError(t, err)
	c.call(t, td, http.MethodGet, "/api/reviews?tenant="+tA, "")
	rec = c.call(t, td, http.MethodPost, "/api/reviews/"+rv.ID+"/resolve", fmt.Sprintf(`{"decision": "link", "contactId": %q}`, ct.ID))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c.call(t, td, http.MethodGet, "/api/reviews?resolved=true", "")

	// A write, and one refused.
	rec = c.call(t, td, http.MethodPost, "/api/writes", fmt.Sprintf(`{"action": "block_sign_in", "tenantId": %q, "userId": %q}`, tA, userID))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, "/api/writes", fmt.Sprintf(`{"action": "delete_tenant", "tenantId": %q, "userId": %q}`, tA, userID))
	require.GreaterOrEqual(t, rec.Code, 400)

	// A workflow: planned, run, read, resumed; and one refused.
	wf := fmt.Sprintf(`{"kind": "offboard", "tenantId": %q, "userId": %q, "offboarding": {"blockSignIn": true, "revokeSessions": true, "hideFromAddressList": true}}`, tA, userID)
	rec = c.call(t, td, http.MethodPost, "/api/workflows/plan", wf)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Len(t, decodeAs[workflowPlanWire](t, rec).Steps, 3)
	rec = c.call(t, td, http.MethodPost, "/api/workflows", wf)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	wfRun := decodeAs[workflowRunWire](t, rec)
	require.Len(t, wfRun.Steps, 3)
	assert.Equal(t, "/api/workflows/"+wfRun.ID, rec.Header().Get("Location"))
	rec = c.call(t, td, http.MethodGet, "/api/workflows/"+wfRun.ID, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, wfRun.State, decodeAs[workflowRunWire](t, rec).State)
	rec = c.call(t, td, http.MethodPost, "/api/workflows/"+wfRun.ID+"/resume", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodGet, "/api/workflows/999999", "")
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPost, "/api/workflows", fmt.Sprintf(`{"kind": "profile", "tenantId": %q, "userId": %q, "profile": {"jobTitle": "CTO"}}`, tA, userID))
	require.Equal(t, http.StatusForbidden, rec.Code, "the profile write-back is off: %s", rec.Body.String())

	// The audit log, paged to its end.
	var seen int
	for cursor := ""; ; {
		rec = c.call(t, td, http.MethodGet, "/api/audit?limit=7&cursor="+cursor, "")
		pg := decodeAs[auditPage](t, rec)
		assert.True(t, pg.Verification.Verified)
		seen += len(pg.Items)
		if cursor = pg.NextCursor; cursor == "" {
			break
		}
	}
	assert.Len(t, td.auditEntries(t), seen, "the pages hold every entry once")
	rec = c.call(t, td, http.MethodGet, "/api/audit?after=x", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)

	// The change feed, and the webhook state with no endpoint configured.
	rec = c.call(t, td, http.MethodGet, "/api/changes?after=0&limit=5", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodGet, "/api/changes?after=99999999", "")
	require.Equal(t, http.StatusGone, rec.Code, rec.Body.String())
	c.call(t, td, http.MethodGet, "/api/webhooks/deliveries", "")

	// Licence waste, billing history, settings, and a disconnect in the change feed.
	rec = c.call(t, td, http.MethodGet, "/api/clients/"+client+"/license-waste?days=30&limit=2", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodGet, "/api/clients/"+client+"/license-waste?days=0", "")
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	_, err = td.d.engine.SnapshotBilling(ctx)
	require.NoError(t, err)
	today := time.Now().UTC().Format(time.DateOnly)
	rec = c.call(t, td, http.MethodGet, "/api/billing?clientId="+client+"&from="+today+"&to="+today, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodGet, "/api/billing?from=2026-02-30", "")
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	c.call(t, td, http.MethodGet, "/api/settings", "")
	rec = c.call(t, td, http.MethodPut, "/api/settings", `{"autoMonitorDomains": true}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodPut, "/api/clients/"+client+"/settings", `{"autoCreateContacts": false, "kinds": ["users", "mailboxes"]}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c.call(t, td, http.MethodGet, "/api/clients/"+client+"/settings", "")
	rec = c.call(t, td, http.MethodPut, "/api/clients/"+client+"/settings", `{"kinds": ["groupz"]}`)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	c.call(t, td, http.MethodGet, "/api/connections", "")
	head, err := acct.Feed.Head(ctx)
	require.NoError(t, err)
	rec = c.call(t, td, http.MethodPost, "/api/connections/cipp/disconnect", `{"mode": "keep"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = c.call(t, td, http.MethodGet, fmt.Sprintf("/api/changes?after=%d", head), "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"connection.disconnected"`)

	// Every route was answered with success and validated.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range c.documented() {
		assert.True(t, c.ok[op], "%s was never answered with success in this test", op)
	}
}

// TestSyncNowAnswersAtOnceAndRefusesWithTheSameWait: sync-now does not wait for the sync; a
// second call inside the cooldown is 429 whose Retry-After and hint name the same seconds; a
// sync that runs is 409 before any cooldown.
func TestSyncNowAnswersAtOnceAndRefusesWithTheSameWait(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	td := newTestDaemon(t, nil)
	ctx := t.Context()
	tenantID := td.d.fake.Tenants()[0].ID
	require.NoError(t, td.d.store.Account(td.d.cfg.Account).Tenants.Link(ctx, tenantID, "client-001", time.Now()))

	// The tenant's first request is slow: the 202 comes while the sync runs.
	_, err := td.d.fake.InjectHTTPFault(tenantsynctest.HTTPFault{Tenant: tenantID, Kind: tenantsynctest.HTTPLatency, Delay: 2 * time.Second, Count: 1})
	require.NoError(t, err)
	rec := c.call(t, td, http.MethodPost, "/api/tenants/"+tenantID+"/sync", "")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	run := decodeAs[runWire](t, rec)
	assert.Equal(t, "running", run.Status)

	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tenantID+"/sync", "")
	require.Equal(t, http.StatusConflict, rec.Code, "running is named before the cooldown: %s", rec.Body)
	assert.Equal(t, "sync_already_running", decodeError(t, rec).Kind)
	waitRun(t, c, td, run.Links["self"].Href)

	rec = c.call(t, td, http.MethodPost, "/api/tenants/"+tenantID+"/sync", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	e := decodeError(t, rec)
	secs := rec.Header().Get("Retry-After")
	require.NotEmpty(t, secs)
	assert.Equal(t, secs, fmt.Sprint(e.RetryAfter))
	assert.Contains(t, e.Hint, "wait "+secs+" seconds", "the hint and Retry-After agree")
	assert.NotContains(t, e.Error, "What to do", "the hint is its own field")
	assert.Contains(t, e.Error, "retry after "+secs+"s", "the message gives the same wait")

	entries := td.auditEntries(t)
	var outcomes []string
	for _, en := range entries {
		if en.Action == "sync_now" {
			outcomes = append(outcomes, en.Phase+"/"+en.Outcome)
			assert.Equal(t, adminActor, en.Actor)
		}
	}
	assert.Equal(t, []string{"intent/requested", "result/refused", "result/succeeded", "result/refused"}, outcomes)
}

// The answers of the handlers are JSON with the SDK's Go field names nowhere.
func TestWireNamesAreCamelCase(t *testing.T) {
	t.Parallel()
	var walk func(at string, s *openapi3.Schema)
	bad := regexp.MustCompile(`^[A-Z]|_`)
	c := loadContract(t)
	seen := map[*openapi3.Schema]bool{}
	walk = func(at string, s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		for name, p := range s.Properties {
			assert.False(t, bad.MatchString(name), "%s.%s is not camelCase", at, name)
			walk(at+"."+name, p.Value)
		}
		if s.Items != nil {
			walk(at+"[]", s.Items.Value)
		}
		if s.AdditionalProperties.Schema != nil {
			walk(at+"{}", s.AdditionalProperties.Schema.Value)
		}
	}
	for name, s := range c.doc.Components.Schemas {
		walk(name, s.Value)
	}
	// And a rendered value: bytes.Contains on a real answer, not only the document.
	b, err := json.Marshal(newTenantWire(statusForWire(), nil))
	require.NoError(t, err)
	for _, goName := range []string{`"Tenant"`, `"State"`, `"LastSuccess"`, `"ContactsPending"`, `"0001-01-01`, `null`} {
		assert.False(t, bytes.Contains(b, []byte(goName)), "%s in %s", goName, b)
	}
}
