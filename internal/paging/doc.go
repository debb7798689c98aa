// Package paging walks the cursor-paged listings of the service clients (Partner Center's
// continuation tokens, Graph's and CIPP's next links) the one way the SDK's rules allow: a
// bounded number of pages, a repeated cursor refused as a paging loop instead of followed, and
// a listing that fails part-way reported as the error, never as a shorter list.
//
//	seq := paging.Walk(paging.Bounds{MaxPages: 1000, TooMany: tooMany, Loop: loop},
//		func(cursor string) (tenantsync.Page[Customer], error) {
//			return c.ListCustomersPage(ctx, cursor)
//		})
//	all, err := paging.Collect(seq) // every customer, or nil and the error
//
// Each service client builds the errors itself, so they name its service, operation and hint;
// Walk adds tenantsync.ErrIncomplete to whichever of them cut a listing short, in one place for
// every client, so errors.Is(err, tenantsync.ErrIncomplete) tells "part of the data is unknown"
// whatever the cause (a refused next link, a loop, the page bound, a failed page).
package paging
