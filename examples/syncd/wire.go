package main

import (
	"net/http"
	"net/url"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// The API's wire types. Every answer is one of these, never a Go struct of the SDK: field names
// are camelCase, a time that is not known is left out (never 0001-01-01), durations are in
// seconds, and a list with nothing in it is [] (never null). openapi.json describes each of
// them, and the contract test holds the two together.

// seconds is a duration on the wire: seconds, fractions kept to the millisecond.
func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// list returns s, or an empty list for nil, so that it encodes as [] rather than null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// kindMap returns m with string keys, never nil.
func kindMap[V any](m map[tenantsync.Kind]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

// tenantPath is the API path of one tenant, with the ID escaped.
func tenantPath(id string) string { return "/api/tenants/" + url.PathEscape(id) }

type errorWire struct {
	Kind    string    `json:"kind,omitempty"`
	Message string    `json:"message"`
	Hint    string    `json:"hint,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

func syncErrorWire(e *store.SyncError) *errorWire {
	if e == nil {
		return nil
	}
	return &errorWire{Kind: e.Kind, Message: e.Message, Hint: apiHint(e.Hint), At: e.At}
}

type tenantWire struct {
	ID            string         `json:"id"`
	DisplayName   string         `json:"displayName"`
	DefaultDomain string         `json:"defaultDomain,omitempty"`
	InitialDomain string         `json:"initialDomain,omitempty"`
	Domains       []string       `json:"domains"`
	Source        string         `json:"source,omitempty"`
	Sources       []string       `json:"sources"`
	Relationship  string         `json:"relationship,omitempty"`
	Status        string         `json:"status"`
	FirstSeen     time.Time      `json:"firstSeen,omitzero"`
	LastSeen      time.Time      `json:"lastSeen,omitzero"`
	VanishedAt    time.Time      `json:"vanishedAt,omitzero"`
	ClientID      string         `json:"clientId,omitempty"`
	LinkedAt      time.Time      `json:"linkedAt,omitzero"`
	Syncing       bool           `json:"syncing"`
	EnabledKinds  []string       `json:"enabledKinds"`
	Sync          syncWire       `json:"sync"`
	Readiness     *readinessWire `json:"readiness,omitempty"`
}

type syncWire struct {
	Healthy         bool                 `json:"healthy"`
	Running         bool                 `json:"running"`
	RunningSince    time.Time            `json:"runningSince,omitzero"`
	Progress        map[string]int       `json:"progress"`
	Active          bool                 `json:"active"`
	LastStart       time.Time            `json:"lastStart,omitzero"`
	LastSuccess     time.Time            `json:"lastSuccess,omitzero"`
	LastFinish      time.Time            `json:"lastFinish,omitzero"`
	DurationSeconds float64              `json:"durationSeconds"`
	NextDue         time.Time            `json:"nextDue,omitzero"`
	Counts          map[string]int       `json:"counts"`
	LastError       *errorWire           `json:"lastError,omitempty"`
	KindErrors      map[string]errorWire `json:"kindErrors"`
	Holds           []holdWire           `json:"holds"`
	ContactFailures []contactFailureWire `json:"contactFailures"`
	ContactsPending int                  `json:"contactsPending"`
	ContactsError   *errorWire           `json:"contactsError,omitempty"`
	ContactCreation *contactCreationWire `json:"contactCreation,omitempty"`
	PSAPausedUntil  time.Time            `json:"psaPausedUntil,omitzero"`
	// Assets is the tenant's asset reconcile: devices with an asset, devices waiting for a
	// person, failed asset writes and held retirements.
	Assets assetSyncWire         `json:"assets"`
	Links  map[string]linkTarget `json:"links"`
}

// linkTarget is an action or resource a client can follow: the method and the path.
type linkTarget struct {
	Method string `json:"method"`
	Href   string `json:"href"`
}

type contactCreationWire struct {
	Created   int       `json:"created"`
	Remaining int       `json:"remaining"`
	Total     int       `json:"total"`
	PerSync   int       `json:"perSync"`
	SyncsLeft int       `json:"syncsLeft"`
	NextSync  time.Time `json:"nextSync,omitzero"`
	// Summary is "created 500 of 8,934; the rest over the next 17 syncs".
	Summary string `json:"summary"`
}

type holdWire struct {
	Kind       string    `json:"kind"`
	Source     string    `json:"source,omitempty"`
	Mode       string    `json:"mode"`
	Removals   int       `json:"removals"`
	Of         int       `json:"of"`
	Disabled   int       `json:"disabled"`
	Recent     int       `json:"recent"`
	Held       int       `json:"held"`
	Examples   []string  `json:"examples"`
	Since      time.Time `json:"since,omitzero"`
	LastSeen   time.Time `json:"lastSeen,omitzero"`
	ConfirmAt  time.Time `json:"confirmAt,omitzero"`
	Released   bool      `json:"released"`
	ReleasedBy string    `json:"releasedBy,omitempty"`
	ReleasedAt time.Time `json:"releasedAt,omitzero"`
	Hint       string    `json:"hint,omitempty"`
}

type contactFailureWire struct {
	UserID            string    `json:"userId"`
	UserPrincipalName string    `json:"userPrincipalName,omitempty"`
	DisplayName       string    `json:"displayName,omitempty"`
	Operation         string    `json:"operation"`
	ContactID         string    `json:"contactId,omitempty"`
	Kind              string    `json:"kind,omitempty"`
	Message           string    `json:"message"`
	Hint              string    `json:"hint,omitempty"`
	Attempts          int       `json:"attempts"`
	FirstAt           time.Time `json:"firstAt,omitzero"`
	LastAt            time.Time `json:"lastAt,omitzero"`
	NextRetry         time.Time `json:"nextRetry,omitzero"`
	NeedsPerson       bool      `json:"needsPerson"`
	Ignored           bool      `json:"ignored"`
	DecidedBy         string    `json:"decidedBy,omitempty"`
	DecidedAt         time.Time `json:"decidedAt,omitzero"`
}

type readinessWire struct {
	State        string           `json:"state"`
	Relationship string           `json:"relationship,omitempty"`
	CheckedAt    time.Time        `json:"checkedAt,omitzero"`
	Capabilities []capabilityWire `json:"capabilities"`
}

type capabilityWire struct {
	Capability string   `json:"capability"`
	State      string   `json:"state"`
	Reason     string   `json:"reason,omitempty"`
	Action     string   `json:"action,omitempty"`
	Roles      []string `json:"roles"`
	Error      string   `json:"error,omitempty"`
}

func newReadinessWire(r partnercenter.TenantReadiness) *readinessWire {
	out := &readinessWire{State: string(r.State()), Relationship: r.Relationship, CheckedAt: r.CheckedAt, Capabilities: []capabilityWire{}}
	for _, c := range r.Capabilities {
		cw := capabilityWire{Capability: string(c.Capability), State: string(c.State), Reason: c.Reason, Action: c.Action, Roles: list(c.Roles)}
		if c.Err != nil {
			cw.Error = c.Err.Error()
		}
		out.Capabilities = append(out.Capabilities, cw)
	}
	return out
}

// newTenantWire renders a tenant's status. Each deletion hold's full list of held IDs
// (thousands for a large tenant) stays out: the count and a few examples are what a person
// reads.
func newTenantWire(s sync.TenantStatus, rd *partnercenter.TenantReadiness) tenantWire {
	t := s.Tenant
	kinds := make([]string, 0, len(t.EnabledKinds))
	for _, k := range t.EnabledKinds {
		kinds = append(kinds, string(k))
	}
	w := tenantWire{ID: t.ID, DisplayName: t.DisplayName, DefaultDomain: t.DefaultDomain, InitialDomain: t.InitialDomain,
		Domains: list(t.Domains), Source: t.Source, Sources: list(t.Sources), Relationship: t.Relationship, Status: string(t.Status),
		FirstSeen: t.FirstSeen, LastSeen: t.LastSeen, VanishedAt: t.VanishedAt, ClientID: t.ClientID, LinkedAt: t.LinkedAt,
		Syncing: t.Syncing, EnabledKinds: kinds}
	st := s.State
	sw := syncWire{Healthy: s.Healthy(), Running: s.Running, Progress: kindMap(s.Progress), Active: s.Active,
		LastStart: st.LastStart, LastSuccess: st.LastSuccess, LastFinish: st.LastFinish, DurationSeconds: seconds(st.Duration),
		NextDue: st.NextDue, Counts: kindMap(st.Counts), LastError: syncErrorWire(st.LastError), KindErrors: map[string]errorWire{},
		Holds: []holdWire{}, ContactFailures: []contactFailureWire{}, ContactsPending: s.ContactsPending,
		ContactsError: syncErrorWire(s.ContactsError), PSAPausedUntil: s.PSAPausedUntil}
	if s.Running {
		sw.RunningSince = s.Since
	}
	for k, e := range st.KindErrors {
		sw.KindErrors[string(k)] = *syncErrorWire(&e)
	}
	for _, h := range s.Holds {
		sw.Holds = append(sw.Holds, holdWire{Kind: string(h.Kind), Source: h.Source, Mode: h.Mode.String(), Removals: h.Removals, Of: h.Of,
			Disabled: h.Disabled, Recent: h.Recent, Held: h.Held, Examples: list(h.Examples), Since: h.Since, LastSeen: h.LastSeen,
			ConfirmAt: h.ConfirmAt, Released: h.Released, ReleasedBy: h.ReleasedBy, ReleasedAt: h.ReleasedAt, Hint: apiHint(h.Hint)})
	}
	for _, f := range s.ContactFailures {
		sw.ContactFailures = append(sw.ContactFailures, contactFailureWire{UserID: f.ObjectID, UserPrincipalName: f.UPN,
			DisplayName: f.DisplayName, Operation: string(f.Op), ContactID: f.ContactID, Kind: f.Kind, Message: f.Message,
			Hint: apiHint(f.Hint), Attempts: f.Attempts, FirstAt: f.FirstAt, LastAt: f.LastAt, NextRetry: f.NextRetry,
			NeedsPerson: f.NeedsPerson, Ignored: f.Ignored, DecidedBy: f.DecidedBy, DecidedAt: f.DecidedAt})
	}
	path := tenantPath(t.ID)
	sw.Links = map[string]linkTarget{"syncNow": {http.MethodPost, path + "/sync"}, "runs": {http.MethodGet, path + "/sync/runs"}}
	if c := s.Creation; c != nil {
		sw.ContactCreation = &contactCreationWire{Created: c.Created, Remaining: c.Remaining, Total: c.Total, PerSync: c.PerSync,
			SyncsLeft: c.SyncsLeft, NextSync: c.NextSync, Summary: c.String()}
		if !c.Done() {
			sw.Links["createRemainingContacts"] = linkTarget{http.MethodPost, path + "/contacts/create-remaining"}
		}
	}
	sw.Assets = newAssetSyncWire(t.ID, st.Assets)
	w.Sync = sw
	if rd != nil {
		w.Readiness = newReadinessWire(*rd)
	}
	return w
}

type clientWire struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Domains     []string          `json:"domains"`
	TenantIDs   []string          `json:"tenantIds"`
	ActiveUntil time.Time         `json:"activeUntil,omitzero"`
	Status      clientStatusWire  `json:"status"`
	Billing     *billingCountWire `json:"billing,omitempty"`
}

type clientStatusWire struct {
	Tenants         []clientTenantWire `json:"tenants"`
	LastSuccess     time.Time          `json:"lastSuccess,omitzero"`
	Running         int                `json:"running"`
	Failing         int                `json:"failing"`
	Held            int                `json:"held"`
	ContactFailures int                `json:"contactFailures"`
	ContactsPending int                `json:"contactsPending"`
	Active          bool               `json:"active"`
}

// clientTenantWire is a tenant as its client lists it; GET /api/tenants/{id} has the rest.
type clientTenantWire struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Healthy     bool   `json:"healthy"`
	Running     bool   `json:"running"`
}

type billingCountWire struct {
	Billable  int            `json:"billable"`
	PerTenant map[string]int `json:"perTenant"`
	Complete  bool           `json:"complete"`
}

func newClientWire(c tenantsync.Client, st sync.ClientStatus, b *sync.BillingCount) clientWire {
	w := clientWire{ID: c.ID, Name: c.Name, Domains: list(c.Domains), TenantIDs: list(c.TenantIDs), ActiveUntil: c.ActiveUntil,
		Status: clientStatusWire{Tenants: []clientTenantWire{}, LastSuccess: st.LastSuccess, Running: st.Running, Failing: st.Failing,
			Held: st.Held, ContactFailures: st.ContactFailures, ContactsPending: st.ContactsPending, Active: st.Active}}
	for _, t := range st.Tenants {
		w.Status.Tenants = append(w.Status.Tenants, clientTenantWire{ID: t.Tenant.ID, DisplayName: t.Tenant.DisplayName,
			Healthy: t.Healthy(), Running: t.Running})
	}
	if b != nil {
		per := b.PerTenant
		if per == nil {
			per = map[string]int{}
		}
		w.Billing = &billingCountWire{Billable: b.Billable, PerTenant: per, Complete: b.Complete}
	}
	return w
}

type contactWire struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"clientId"`
	FirstName string    `json:"firstName,omitempty"`
	LastName  string    `json:"lastName,omitempty"`
	Email     string    `json:"email,omitempty"`
	AltEmails []string  `json:"altEmails"`
	JobTitle  string    `json:"jobTitle,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	Mobile    string    `json:"mobile,omitempty"`
	Active    bool      `json:"active"`
	M365      *m365Link `json:"m365,omitempty"`
}

// m365Link is the Microsoft 365 user a contact is linked to.
type m365Link struct {
	TenantID    string    `json:"tenantId"`
	UserID      string    `json:"userId"`
	LinkedAt    time.Time `json:"linkedAt,omitzero"`
	Deactivated bool      `json:"deactivated"`
}

func newContactWire(c tenantsync.Contact, l *store.ContactLink) contactWire {
	w := contactWire{ID: c.ID, ClientID: c.ClientID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		AltEmails: list(c.AltEmails), JobTitle: c.JobTitle, Phone: c.Phone, Mobile: c.Mobile, Active: c.Active}
	if l != nil {
		w.M365 = &m365Link{TenantID: l.TenantID, UserID: l.ObjectID, LinkedAt: l.LinkedAt, Deactivated: l.Deactivated}
	}
	return w
}

type reviewWire struct {
	ID         string                `json:"id"`
	TenantID   string                `json:"tenantId"`
	UserID     string                `json:"userId"`
	ClientID   string                `json:"clientId"`
	Reason     string                `json:"reason"`
	Candidates []reviewCandidateWire `json:"candidates"`
	CreatedAt  time.Time             `json:"createdAt,omitzero"`
	UpdatedAt  time.Time             `json:"updatedAt,omitzero"`
	Resolved   bool                  `json:"resolved"`
	Resolution *resolutionWire       `json:"resolution,omitempty"`
}

type reviewCandidateWire struct {
	ContactID string  `json:"contactId"`
	Score     float64 `json:"score"`
	Reason    string  `json:"reason,omitempty"`
}

type resolutionWire struct {
	Decision  string    `json:"decision"`
	ContactID string    `json:"contactId,omitempty"`
	By        string    `json:"by,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

func newReviewWire(r store.Review) reviewWire {
	w := reviewWire{ID: r.ID, TenantID: r.TenantID, UserID: r.ObjectID, ClientID: r.ClientID, Reason: r.Reason,
		Candidates: []reviewCandidateWire{}, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Resolved: r.Resolved}
	for _, c := range r.Candidates {
		w.Candidates = append(w.Candidates, reviewCandidateWire{ContactID: c.ContactID, Score: c.Score, Reason: c.Reason})
	}
	if r.Resolved {
		o := r.Outcome()
		w.Resolution = &resolutionWire{Decision: string(o.Action), ContactID: o.ContactID, By: o.By, At: o.At}
	}
	return w
}

type suggestionWire struct {
	TenantID   string          `json:"tenantId"`
	TenantName string          `json:"tenantName"`
	Candidates []candidateWire `json:"candidates"`
	AutoAccept bool            `json:"autoAccept"`
	ClientID   string          `json:"clientId,omitempty"`
	Reason     string          `json:"reason,omitempty"`
}

type candidateWire struct {
	ClientID   string       `json:"clientId"`
	ClientName string       `json:"clientName"`
	Confidence float64      `json:"confidence"`
	Signals    []signalWire `json:"signals"`
}

type signalWire struct {
	Evidence string  `json:"evidence"`
	Score    float64 `json:"score"`
	Detail   string  `json:"detail,omitempty"`
}

func newSuggestionWire(s match.Suggestion) suggestionWire {
	w := suggestionWire{TenantID: s.TenantID, TenantName: s.TenantName, Candidates: []candidateWire{}, AutoAccept: s.AutoAccept,
		ClientID: s.ClientID, Reason: s.Reason}
	for _, c := range s.Candidates {
		cw := candidateWire{ClientID: c.ClientID, ClientName: c.ClientName, Confidence: c.Confidence, Signals: []signalWire{}}
		for _, sg := range c.Signals {
			cw.Signals = append(cw.Signals, signalWire{Evidence: string(sg.Evidence), Score: sg.Score, Detail: sg.Detail})
		}
		w.Candidates = append(w.Candidates, cw)
	}
	return w
}

type auditEntryWire struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at,omitzero"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	TenantID string            `json:"tenantId,omitempty"`
	Target   string            `json:"target,omitempty"`
	Phase    string            `json:"phase,omitempty"`
	Outcome  string            `json:"outcome,omitempty"`
	Route    string            `json:"route,omitempty"`
	Error    string            `json:"error,omitempty"`
	Detail   map[string]string `json:"detail"`
	PrevHash string            `json:"prevHash,omitempty"`
	Hash     string            `json:"hash"`
	KeyID    string            `json:"keyId,omitempty"`
}

func newAuditEntryWire(e tenantsync.AuditEntry) auditEntryWire {
	d := e.Detail
	if d == nil {
		d = map[string]string{}
	}
	return auditEntryWire{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, TenantID: e.TenantID, Target: e.Target,
		Phase: e.Phase, Outcome: e.Outcome, Route: e.Route, Error: e.Error, Detail: d, PrevHash: e.PrevHash, Hash: e.Hash, KeyID: e.KeyID}
}

type auditVerificationWire struct {
	Verified       bool   `json:"verified"`
	EntriesChecked int    `json:"entriesChecked"`
	FirstBroken    int64  `json:"firstBroken,omitempty"`
	Reason         string `json:"reason,omitempty"`
	// Head is the head to keep outside the database and pass as expect next time.
	Head string `json:"head"`
}

type auditPage struct {
	Items        []auditEntryWire      `json:"items"`
	NextCursor   string                `json:"nextCursor,omitempty"`
	Verification auditVerificationWire `json:"verification"`
}

type reportWire struct {
	TenantID        string                    `json:"tenantId"`
	ClientID        string                    `json:"clientId,omitempty"`
	Source          string                    `json:"source,omitempty"`
	Trigger         string                    `json:"trigger"`
	Started         time.Time                 `json:"started,omitzero"`
	Finished        time.Time                 `json:"finished,omitzero"`
	DurationSeconds float64                   `json:"durationSeconds"`
	Kinds           map[string]kindReportWire `json:"kinds"`
	Contacts        contactReportWire         `json:"contacts"`
	Assets          assetReportWire           `json:"assets"`
	RoundTrips      int                       `json:"roundTrips"`
	FullListing     bool                      `json:"fullListing"`
	Partial         bool                      `json:"partial"`
	Error           string                    `json:"error,omitempty"`
	Hint            string                    `json:"hint,omitempty"`
}

type kindReportWire struct {
	Mode    string `json:"mode"`
	Fetched int    `json:"fetched"`
	Added   int    `json:"added"`
	Updated int    `json:"updated"`
	Removed int    `json:"removed"`
	Total   int    `json:"total"`
	Held    bool   `json:"held"`
	Error   string `json:"error,omitempty"`
	Hint    string `json:"hint,omitempty"`
}

type contactReportWire struct {
	Linked      int `json:"linked"`
	Created     int `json:"created"`
	Updated     int `json:"updated"`
	Deactivated int `json:"deactivated"`
	Reactivated int `json:"reactivated"`
	Reviews     int `json:"reviews"`
	Excluded    int `json:"excluded"`
	Deferred    int `json:"deferred"`
	Failed      int `json:"failed"`
	Waiting     int `json:"waiting"`
	Pending     int `json:"pending"`
	Recovered   int `json:"recovered"`
	// Stopped says why contact writes stopped before the end of the sync.
	Stopped string `json:"stopped,omitempty"`
}

func newReportWire(rep *sync.Report) reportWire {
	w := reportWire{TenantID: rep.TenantID, ClientID: rep.ClientID, Source: rep.Source, Trigger: rep.Trigger, Started: rep.Started,
		Finished: rep.Finished, DurationSeconds: seconds(rep.Duration), Kinds: map[string]kindReportWire{}, RoundTrips: rep.RoundTrips,
		FullListing: rep.FullListing, Partial: rep.Partial()}
	for k, kr := range rep.Kinds {
		v := kindReportWire{Mode: kr.Mode.String(), Fetched: kr.Fetched, Added: kr.Added, Updated: kr.Updated, Removed: kr.Removed,
			Total: kr.Total, Held: kr.Held}
		if kr.Err != nil {
			v.Error, v.Hint = kr.Err.Error(), apiHint(tenantsync.HintOf(kr.Err))
		}
		w.Kinds[string(k)] = v
	}
	c := rep.Contacts
	w.Contacts = contactReportWire{Linked: c.Linked, Created: c.Created, Updated: c.Updated, Deactivated: c.Deactivated,
		Reactivated: c.Reactivated, Reviews: c.Reviews, Excluded: c.Excluded, Deferred: c.Deferred, Failed: c.Failed,
		Waiting: c.Waiting, Pending: c.Pending, Recovered: c.Recovered}
	if c.Stopped != nil {
		w.Contacts.Stopped = c.Stopped.Error()
	}
	w.Assets = newAssetReportWire(rep.Assets)
	if rep.Err != nil {
		w.Error, w.Hint = rep.Err.Error(), apiHint(tenantsync.HintOf(rep.Err))
	}
	return w
}

type linkResultWire struct {
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

// statusWire is the answer of a call that changed something and has nothing more to show.
type statusWire struct {
	Status string `json:"status"`
	Mode   string `json:"mode,omitempty"`
	Kind   string `json:"kind,omitempty"`
	// Decision echoes the decision taken.
	Decision string `json:"decision,omitempty"`
}

type activeWire struct {
	ActiveUntil time.Time `json:"activeUntil"`
}

type healthWire struct {
	Status      string `json:"status"`
	InitialSync string `json:"initialSync,omitempty"`
	Error       string `json:"error,omitempty"`
	Version     string `json:"version,omitempty"`
}

// writeReply is the answer to POST /api/writes. The temporary password is revealed here, to
// the caller who asked for the reset, and nowhere else.
type writeReply struct {
	Route             string `json:"route"`
	Message           string `json:"message"`
	Changed           bool   `json:"changed"`
	TemporaryPassword string `json:"temporaryPassword,omitempty"`
}

// workflowStepWire is one planned step of a workflow.
type workflowStepWire struct {
	Index    int    `json:"index"`
	Kind     string `json:"kind"`
	Field    string `json:"field,omitempty"`
	Value    string `json:"value,omitempty"`
	Change   string `json:"change"`
	Possible bool   `json:"possible"`
	Reason   string `json:"reason,omitempty"`
	Before   string `json:"before,omitempty"`
}

// workflowPlanWire is the answer to POST /api/workflows/plan: nothing was changed.
type workflowPlanWire struct {
	Kind     string             `json:"kind"`
	TenantID string             `json:"tenantId"`
	Route    string             `json:"route"`
	Steps    []workflowStepWire `json:"steps"`
}

// workflowStepResultWire is one step's outcome. A temporary password is in the answer of the
// call that ran the step only.
type workflowStepResultWire struct {
	Index             int    `json:"index"`
	Kind              string `json:"kind"`
	Field             string `json:"field,omitempty"`
	Outcome           string `json:"outcome"`
	Message           string `json:"message,omitempty"`
	Before            string `json:"before,omitempty"`
	After             string `json:"after,omitempty"`
	Error             string `json:"error,omitempty"`
	ErrorKind         string `json:"errorKind,omitempty"`
	Hint              string `json:"hint,omitempty"`
	AuditSeq          int64  `json:"auditSeq,omitempty"`
	TemporaryPassword string `json:"temporaryPassword,omitempty"`
}

// workflowRunWire is a workflow run, as its audit entries record it.
type workflowRunWire struct {
	ID        string                   `json:"id"`
	Kind      string                   `json:"kind"`
	TenantID  string                   `json:"tenantId"`
	Target    string                   `json:"target"`
	Actor     string                   `json:"actor"`
	Route     string                   `json:"route"`
	State     string                   `json:"state"`
	StartedAt time.Time                `json:"startedAt,omitzero"`
	Steps     []workflowStepResultWire `json:"steps"`
	Pending   []workflowStepWire       `json:"pending"`
	Links     map[string]linkTarget    `json:"links"`
}
