// Package kit holds what the store implementations share: the encoding of mirror items, the
// apply algorithm (diff, compare-and-set, upsert, delete) written once against a small
// transaction interface, and input validation.
package kit
