package match_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/match/internal/fixture"
)

// No automatic link or acceptance may be wrong: a wrong link writes one person's M365 data
// onto another person's contact. This is a correctness property of the labelled fixtures,
// checked for several seeds; the figures are printed by go run ./match/internal/matchbench.
func TestFixturePrecision(t *testing.T) {
	t.Parallel()
	seeds := []uint64{1, 2, 3}
	if raceEnabled {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			mr, err := fixture.EvaluateMatching(fixture.Contacts(seed))
			require.NoError(t, err)
			require.GreaterOrEqual(t, mr.Users, 2000)
			assert.Equal(t, 1.0, mr.Precision(), "wrong auto-links: %v", mr.Mistakes)
			assert.Greater(t, mr.Recall(), 0.95)
			assert.Equal(t, mr.FallbacksRight, mr.Fallbacks, "plus-stripped suggestions name the right contact")
			assert.Equal(t, mr.Users, mr.AllRight, "every labelled field: %v", mr.Mistakes)
			for _, k := range mr.ByKind {
				assert.Equal(t, k.Cases, k.Correct, k.Kind)
			}

			w := fixture.Tenants(seed)
			require.GreaterOrEqual(t, w.Pairs(), 300)
			sr, err := fixture.EvaluateSuggestions(w, match.SuggestConfig{})
			require.NoError(t, err)
			assert.Equal(t, 1.0, sr.AutoPrecision(), "wrong auto-accepts: %v", sr.Mistakes)
			assert.GreaterOrEqual(t, sr.Top3Rate(), 0.98, "%v", sr.Mistakes)
			assert.Positive(t, sr.AutoAccepted)
		})
	}
}

// Without the MSP's own domain excluded, its staff's addresses under many clients become
// evidence; the auto-accept guard must still keep every automatic mapping right.
func TestFixturePrecisionWithoutExcludedDomains(t *testing.T) {
	t.Parallel()
	w := fixture.Tenants(1)
	sr, err := fixture.EvaluateSuggestions(w, match.SuggestConfig{ExcludeDomains: []string{}})
	require.NoError(t, err)
	assert.Equal(t, 1.0, sr.AutoPrecision(), "%v", sr.Mistakes)
}

func TestSimilarityComparison(t *testing.T) {
	t.Parallel()
	// A slice of the labelled tenants against every client keeps this quick under -race; the
	// bench report compares the measures on all of them.
	w := fixture.Tenants(1)
	w.Tenants = w.Tenants[:60]
	if raceEnabled {
		w.Tenants = w.Tenants[:15]
	}
	stats := fixture.CompareSimilarity(w, 0.58)
	require.Len(t, stats, len(fixture.Measures))
	chosen := stats[0]
	for _, s := range stats[1:] {
		assert.GreaterOrEqual(t, chosen.Top3, s.Top3, "bigram Dice ranks the true client at least as well as %s", s.Measure)
	}
	assert.Greater(t, chosen.TrueMean-chosen.WrongBestMean, stats[1].TrueMean-stats[1].WrongBestMean,
		"bigram Dice separates true from false clients better than Jaro-Winkler")
}

// TestWorkloads runs alone (not in parallel): MemoryPerAddress reads the process's heap before
// and after building an index, which other tests freeing memory meanwhile would make negative.
func TestWorkloads(t *testing.T) {
	ws, err := fixture.Workloads(fixture.Contacts(1))
	require.NoError(t, err)
	require.Len(t, ws, 3)
	for _, w := range ws {
		assert.Positive(t, w.Len())
	}
	tm := ws[2].Compare(1)
	assert.Positive(t, tm.MatchNs)
	assert.Positive(t, tm.BaselineNs)
	assert.Positive(t, tm.AllAddressesNs)
	assert.Positive(t, tm.Ratio())
	per, n, err := fixture.MemoryPerAddress(2000)
	require.NoError(t, err)
	assert.Greater(t, n, 4000)
	assert.Positive(t, per)
}
