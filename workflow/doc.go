// Package workflow runs the onboarding and offboarding workflows and the profile write-back an
// MSP runs on a customer's users: whole sequences of write actions, planned before they run,
// audited step by step, and resumable after a crash.
//
//	r, _ := workflow.New(workflow.Config{
//		Account:       st.Account("msp-1"),
//		Routes:        map[string]workflow.Route{"cipp": workflow.CIPPRoute(cippClient), "graph": workflow.GraphRoute(graphClient)},
//		Authorizer:    authz,
//		WritesEnabled: true,
//	})
//	req := workflow.Request{Kind: workflow.KindOffboard, TenantID: tid, UPN: "jane@contoso.com",
//		Offboarding: ptr(workflow.FullOffboarding("Jane has left.", "manager@contoso.com"))}
//	plan, _ := r.Plan(ctx, "tech@msp", req) // what each step will change; nothing is sent
//	run, err := r.Start(ctx, "tech@msp", req) // one result per step
//	// after a crash: r.Resume(ctx, "tech@msp", run.ID)
//
// Guarantees:
//   - The rules of a single write hold: writes must be on for the account (and the profile
//     write-back separately), the actor must hold tenantsync.PermissionWrite, the tenant must be
//     known, and an Approver, when configured, approves the run once, when it starts. Every
//     refusal is audited and sends nothing.
//   - A tenant reached through CIPP takes the CIPP route (ExecOffboardUser one action per call,
//     AddUser, EditGroup, EditUser), every other tenant the Graph route. A step the route cannot
//     do (on Graph: converting the mailbox to shared, forwarding, hiding from the address lists,
//     which are Exchange Online settings) is reported "not-possible" with what to do instead,
//     never skipped silently.
//   - The run is kept in the account's audit log, which is append-only and hash-chained: one
//     entry starts the run (its Seq is the run ID, the request is in it, without any secret),
//     each step has an intent entry before it runs and a result entry after, and one entry
//     closes the run. Resume reads them back and does not repeat a step recorded as done; a
//     step interrupted between its intent and its result runs again, which every step
//     tolerates (each reads the user first, or is idempotent in the service).
//   - A temporary password set by a step is returned to the caller of Start or Resume only,
//     never audited or returned by Get.
//   - The profile write-back never blanks a field: an empty value means "leave as is", a
//     field is written only when it differs, and its values before and after are audited.
package workflow
