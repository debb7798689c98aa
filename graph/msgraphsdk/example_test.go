package msgraphsdk_test

import (
	"context"
	"log"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/graph/msgraphsdk"
)

// The official SDK for one customer tenant, on the lean client's tokens and transport.
func ExampleNewGraphServiceClient() {
	ctx := context.Background()
	c, err := graph.NewClient(graph.Config{
		PartnerTenantID: "contoso-partner.onmicrosoft.com",
		ClientID:        "11111111-2222-3333-4444-555555555555",
		ClientSecret:    tenantsync.NewSecret("secret value from the app registration"),
	})
	if err != nil {
		log.Fatal(err)
	}
	sdk, err := msgraphsdk.NewGraphServiceClient(ctx, msgraphsdk.Config{TenantID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Client: c})
	if err != nil {
		log.Fatal(err)
	}
	groups, err := sdk.Groups().Get(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Println(len(groups.GetValue()), "groups")
}
