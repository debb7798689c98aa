package transport_test

import (
	"fmt"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/transport"
)

// One engine's clients share one retry budget, one set of rate limiters and one observer, so a
// throttling storm in one service cannot multiply the traffic of all of them.
func ExampleSettings() {
	var attempts int
	shared := transport.Settings{
		Budget:   transport.NewBudget(0),
		Limits:   transport.NewLimits(transport.GraphRules("graph.microsoft.com")...),
		Observer: func(transport.Attempt) { attempts++ }, // count round trips, feed metrics
	}
	_, err := cipp.NewClient(cipp.Config{
		BaseURL:  "https://cipp-abc12.azurewebsites.net",
		TenantID: "3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
		ClientID: "2b7e1f0c-9d8a-4c6b-8e5f-3a2b1c0d9e8f",
		Secret:   tenantsync.NewSecret("from your secret store"),
		Settings: shared,
	})
	fmt.Println("cipp:", err)
	_, err = graph.NewClient(graph.Config{
		PartnerTenantID: "3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
		ClientID:        "7c1d2e3f-4a5b-4e7f-8a9b-0c1d2e3f4a5b",
		ClientSecret:    tenantsync.NewSecret("from your secret store"),
		Settings:        shared,
	})
	fmt.Println("graph:", err)
	fmt.Println("round trips so far:", attempts) // building a client makes no request
	// Output:
	// cipp: <nil>
	// graph: <nil>
	// round trips so far: 0
}

// A budget refuses retries once a storm has used it up; every success refills it a little.
func ExampleBudget() {
	b := transport.NewBudget(2 * transport.RetryCost)
	fmt.Println(b.TakeRetry(), b.TakeRetry(), b.TakeRetry())
	s := b.Stats()
	fmt.Println(s.Capacity, s.Available, s.Retries, s.Refused)
	// Output:
	// true true false
	// 10 0 2 1
}
