package match_test

import (
	"testing"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/match/internal/fixture"
)

// The figures (and their ratio to a bare strings.ToLower plus map lookup on the same users)
// are printed by go run ./match/internal/matchbench; these run the same workloads under
// go test -bench.
func workloads(b *testing.B) []fixture.Workload {
	b.Helper()
	w, err := fixture.Workloads(fixture.Contacts(1))
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func BenchmarkMatch(b *testing.B) {
	for _, w := range workloads(b) {
		b.Run(w.Name, w.RunMatch)
	}
}

func BenchmarkBaselineToLowerMapLookup(b *testing.B) {
	for _, w := range workloads(b) {
		b.Run(w.Name, w.RunBaseline)
	}
}

func BenchmarkMemoryPerAddress(b *testing.B) {
	for b.Loop() {
		per, _, err := fixture.MemoryPerAddress(20_000)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(per, "bytes/address")
	}
}

// BenchmarkSuggestAll suggests a client for every fixture tenant (381) against every fixture
// client (380) in one bulk pass; one op is the whole pass.
func BenchmarkSuggestAll(b *testing.B) {
	w := fixture.Tenants(1)
	tenants := make([]tenantsync.Tenant, len(w.Tenants))
	for i, t := range w.Tenants {
		tenants[i] = t.Tenant
	}
	s, err := match.NewSuggester(w.Clients, w.Contacts, match.SuggestConfig{ExcludeDomains: w.MSPDomains})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := s.SuggestAll(tenants); len(out) != len(tenants) {
			b.Fatal("one suggestion per tenant")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tenants)), "ns/tenant")
}
