package match_test

import (
	"testing"

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
