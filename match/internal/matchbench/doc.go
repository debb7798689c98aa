// Command matchbench prints the quality and speed figures of package match: precision and
// recall of automatic user-to-contact links and of tenant-to-client suggestions on the
// labelled fixture, the name-similarity comparison behind the suggester's choice, matching
// throughput against a bare lowercase-and-map-lookup, and memory per indexed address.
// It exits 1 when an automatic link or acceptance is wrong: that is a correctness failure,
// not a figure.
//
//	go run ./match/internal/matchbench [-seed N] [-quick]
package main
