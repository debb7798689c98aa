// Package psa is a stand-in for a PSA's own Go module: a separate module that imports
// tenantsync by its module path and tests its integration with tenantsynctest's in-process
// fakes, as a PSA team would. It exists to prove that the fakes are usable from outside the
// tenantsync module (the go tool refuses an import of tenantsync's internal packages here).
package psa
