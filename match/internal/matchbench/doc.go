// Command matchbench prints the quality and speed figures of package match: precision and
// recall of automatic user-to-contact links and of tenant-to-client suggestions on the
// labelled fixture, the name-similarity comparison behind the suggester's choice, matching
// throughput against a bare lowercase-and-map-lookup, and memory per indexed address.
// Then the suggester on real company names (sets built from ROR, publisher-labelled
// affiliations and the OFAC SDN list, its strong aliases and, apart and held to no accuracy
// goal, its weak ones, fetched by fetchdata.sh into a git-ignored directory and
// read from -data, $TENANTSYNC_EVAL_DATA or match/testdata/realnames; skipped with a note when
// absent), 77 labelled MSP cases, and the goal lines of issue 15.
// It exits 1 when an automatic link or acceptance is wrong: that is a correctness failure,
// not a figure.
//
//	go run ./match/internal/matchbench [-seed N] [-quick] [-data DIR]
package main
