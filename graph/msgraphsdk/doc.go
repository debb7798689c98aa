// Package msgraphsdk hands out the official msgraph-sdk-go client for one customer tenant,
// authenticated with the same per-tenant token source as the graph package and sent through
// the same transport (rate limits, retry budget, redaction, origin guard). Use it for the Graph
// APIs the lean graph client does not cover.
//
// It is the only tenantsync package that imports msgraph-sdk-go: the SDK costs minutes of build
// time and gigabytes of compiler memory, which callers who do not import this package never pay.
//
//	c, err := graph.NewClient(cfg)
//	...
//	sdk, err := msgraphsdk.NewGraphServiceClient(ctx, msgraphsdk.Config{TenantID: tenantID, Client: c})
//	users, err := sdk.Users().Get(ctx, nil)
//
// Build SDK clients with NewGraphServiceClient or NewServiceClient, not msgraph.NewGraphServiceClient:
// the SDK's own constructor rewrites a package variable every model decode reads, a data race
// once two tenants' clients exist side by side.
package msgraphsdk
