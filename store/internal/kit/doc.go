// Package kit holds what the store implementations share, so each rule is written once: the
// per-kind encoding of mirror items (one codec table), the apply algorithm (diff,
// compare-and-set, upsert, delete) against a small transaction interface, the rules of
// discovery, linking, merges, reviews, connections and leases, input validation with the
// errors it returns, and the cache of decoded items the SQL stores read through.
package kit
