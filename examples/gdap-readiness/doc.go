// Command gdap-readiness prints, for every customer tenant of a partner, whether each capability
// the SDK needs works through GDAP, and if not, why and what to do: the role to add, the consent
// to grant, the relationship about to expire, or a role still propagating.
//
// With no flags it starts the fake Microsoft services in-process (a seeded partner with ten
// customers) and reads them exactly as it would read Microsoft: Partner Center customers and
// GDAP relationships through the partnercenter package, one probe per capability through
// graph.Client, all with the partner admin's Secure Application Model refresh token.
//
//	go run ./examples/gdap-readiness
//	go run ./examples/gdap-readiness -seed 7 -tenants 25
package main
