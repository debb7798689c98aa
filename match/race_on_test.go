//go:build race

package match_test

// raceEnabled trims the fixture tests under -race, which slows the evaluation tenfold; the
// full set runs without it and in go run ./match/internal/matchbench.
const raceEnabled = true
