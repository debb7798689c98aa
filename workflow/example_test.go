package workflow_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/transport"
	"github.com/tenantsync/tenantsync/workflow"
)

// Offboard a leaver through Graph: plan first, then run, one result per step. Graph cannot
// hide a mailbox from the address lists, and says so.
func Example_offboarding() {
	ctx := context.Background()
	srv, _ := testserver.New(testserver.Options{Seed: 11, Tenants: 1, MinUsers: 12, MaxUsers: 12})
	defer srv.Close()
	tn := srv.World.Tenants[0]
	var leaver *testserver.User
	for _, u := range tn.Users {
		if u.AccountEnabled && u.MailboxType == "UserMailbox" && len(u.Licenses) > 0 && leaver == nil {
			leaver = u
		}
	}

	app := srv.PartnerApp()
	gc, _ := graph.NewClient(graph.Config{PartnerTenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: tenantsync.NewSecret(app.Secret),
		BaseURL: srv.GraphURL(), AuthorityHost: srv.EntraURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}})
	acct := memory.New(memory.Config{}).Account("msp-1")
	_, _ = acct.Tenants.RecordDiscovery(ctx, "graph", []tenantsync.Tenant{{ID: tn.ID, DisplayName: tn.Name}}, time.Now())

	r, _ := workflow.New(workflow.Config{
		Account:       acct,
		Routes:        map[string]workflow.Route{workflow.RouteGraph: workflow.GraphRoute(gc)},
		Authorizer:    allow{"tech@msp.example"},
		WritesEnabled: true,
	})
	req := workflow.Request{Kind: workflow.KindOffboard, TenantID: tn.ID, UserID: leaver.ID,
		Offboarding: &workflow.Offboarding{BlockSignIn: true, RemoveLicences: true, HideFromAddressList: true}}

	plan, _ := r.Plan(ctx, "tech@msp.example", req)
	for _, s := range plan.Steps {
		fmt.Println("plan:", s.Index, s.Kind, "possible:", s.Possible)
	}
	run, _ := r.Start(ctx, "tech@msp.example", req)
	for _, s := range run.Steps {
		fmt.Println("ran:", s.Index, s.Kind, s.Outcome)
	}
	fmt.Println("state:", run.State)
	// Output:
	// plan: 1 block_sign_in possible: true
	// plan: 2 remove_licences possible: true
	// plan: 3 hide_from_address_list possible: false
	// ran: 1 block_sign_in succeeded
	// ran: 2 remove_licences succeeded
	// ran: 3 hide_from_address_list not-possible
	// state: partial
}
