// Command bench prints tenantsync's performance and reliability figures, measured side by side
// in one run against the in-process fake services (internal/testserver):
//
//	go run ./internal/bench          # make bench: sync efficiency against the physical limit,
//	                                 # graph vs msgraph-sdk-go, the CIPP route, memory per user
//	go run ./internal/bench -soak    # make soak: faults throughout, Graph and CIPP routes,
//	                                 # a fake PSA (tenantsynctest.Contacts) with its own faults,
//	                                 # engine kills, invariants
//	go run ./internal/bench -crash   # SIGKILL during sync on SQLite, and right after a PSA
//	                                 # call before its commit, then consistency checks
//
// Every run is seeded (-seed), so the same flags give the same worlds, the same changes and
// the same faults. The figures are printed, never asserted: only the soak and crash modes
// exit non-zero, and only when an invariant (not a timing) fails.
//
// Some measurements run in a child process (this binary re-executed with -child): the fake
// stays in the parent, so the child's CPU time, allocations and heap are the client's alone.
package main
