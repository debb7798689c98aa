package main

import (
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
)

// The SDK's hints speak to a Go programmer: "raise Limits.PSACallsPerSync", "use one of the
// tenantsync.Action constants". Someone calling the daemon's API knows its endpoints, fields
// and flags instead, so every hint and message the API answers with goes through apiHint,
// which says the same in those words.

// hintWords maps what the SDK names to what the API caller can act on, longest first where one
// contains another.
func hintWords() []struct{ sdk, api string } {
	actions := make([]string, 0, len(tenantsync.Actions()))
	for _, a := range tenantsync.Actions() {
		actions = append(actions, string(a))
	}
	kinds := make([]string, 0, len(tenantsync.AllKinds()))
	for _, k := range tenantsync.AllKinds() {
		kinds = append(kinds, string(k))
	}
	return []struct{ sdk, api string }{
		{"use one of the tenantsync.Action constants", "send as action one of " + strings.Join(actions, ", ")},
		{"use the tenantsync.Kind constants", "name a kind: " + strings.Join(kinds, ", ")},
		{"(Engine.ResolveContactFailure)", "(POST /api/tenants/<tenant id>/contact-failures/<user id>/resolve)"},
		{"Engine.ResolveContactFailure", "POST /api/tenants/<tenant id>/contact-failures/<user id>/resolve"},
		{"its progress is in Status", "its progress is in GET /api/tenants/<tenant id>"},
		{"raise Limits.TenantTimeout for very large tenants", "a tenant's sync may take 30 minutes at most; ask again later"},
		{"raise Limits.PSACallsPerSync", "raise -psa-calls-per-sync"},
		{"Limits.PSACallsPerSync", "-psa-calls-per-sync"},
		{"Limits.MaxCreatesPerSync", "-max-creates-per-sync"},
		{"raise Limits.PSACallTimeout if it is merely slow", "check the PSA's health and its API logs"},
		{"switch the kind off with SetKindsBy, or add a source that does", "configure a service that serves it (-partner-client-id for Graph)"},
		{"configure an Authorizer that grants", "add the actor to -writers to grant"},
		{"AutoCreate is off", "-auto-create is off"},
		{"check the Approver and submit", "check the approval service and submit"},
		{"store the client with PutClient first", "GET /api/clients lists the clients; use one of their IDs"},
		{"listed in the tenant's ContactFailures", "listed in the tenant's sync.contactFailures"},
		{"(Engine.ReleaseAssetHold)", "(POST /api/tenants/<tenant id>/asset-hold/release)"},
		{"Engine.ResolveAssetReview", "POST /api/tenants/<tenant id>/asset-reviews/<device id>/resolve"},
		{" (the tenantsync.Assets implementation)", ""},
		{"pass Config.Assets, or use a store with a default asset directory", "the daemon's store keeps the assets; check its logs"},
		{"ReleaseHold", "POST /api/tenants/<tenant id>/holds/<kind>/release"},
		{"ResolveReview", "POST /api/reviews/<review id>/resolve"},
		{"sync the signins kind for the tenant (it needs Entra ID P1 and AuditLog.Read.All), or configure Config.SignIns",
			"wait for the tenant's next sync of its signins kind, or start one with POST /api/tenants/<tenant id>/sync; the kind needs Entra ID P1 and AuditLog.Read.All, and must be among the client's kinds (GET /api/clients/<client id>/settings)"},
		{"; or configure Config.SignIns", ""},
		{"an administrator must enable write actions for the account first", "start syncd with -writes (and without -dry-run, which only plans workflows)"},
		{"an administrator must enable the profile write-back (it is separate from other write actions)", "start syncd with -writes and -profile-writeback"},
	}
}

// apiHint rewrites an SDK hint (or message) in the API's words.
func apiHint(s string) string {
	if s == "" {
		return s
	}
	for _, w := range hintWords() {
		s = strings.ReplaceAll(s, w.sdk, w.api)
	}
	return s
}

// apiMessage is err's text for the API: without the SDK's service and Go operation
// ("sync: SyncNow:"), without the hint, which the answer carries on its own, with a wait in
// whole seconds rounded up as Retry-After gives it, and in the API's words.
func apiMessage(err error) string {
	msg := err.Error()
	if d, ok := tenantsync.Details(err); ok && d.Error() == msg {
		// err is the detailed error itself, not a wrapper whose own words would be lost.
		c := *d
		c.Service, c.Op, c.Hint = "", "", ""
		if c.RetryAfter > 0 {
			c.RetryAfter = (c.RetryAfter + time.Second - 1).Truncate(time.Second)
		}
		return apiHint(c.Error())
	}
	if hint := tenantsync.HintOf(err); hint != "" {
		msg = strings.Replace(msg, ". What to do: "+hint, "", 1)
	}
	return apiHint(msg)
}
