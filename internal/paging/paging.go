package paging

import (
	"errors"
	"hash/maphash"
	"iter"

	"github.com/tenantsync/tenantsync"
)

// Bounds says how a listing ends when the service will not end it. The errors come from the
// service client so that they carry its service name, operation and hint.
type Bounds struct {
	// MaxPages is the most pages fetched; wanting one more is the error TooMany returns.
	MaxPages int
	// TooMany is the error for a listing longer than MaxPages.
	TooMany func() error
	// Loop is the error for a next cursor the service already returned: following it would
	// fetch the same pages again until MaxPages.
	Loop func() error
}

// Walk yields the items of a cursor-paged listing. fetch gets "" for the first page, then the
// Next of the page before; a page without Next is the last. Walk stops after
// yielding the first error (fetch's, TooMany's or Loop's), so a listing that fails never reads
// as a shorter one, and it fetches no further page once the consumer stops.
//
// An error that ends the listing after its first page (a next cursor refused or failing, a
// loop, the page bound) also matches tenantsync.ErrIncomplete, besides its own kind: the items
// already yielded are only part of the listing. An error on the first page is yielded as it
// is, since nothing was listed.
func Walk[T any](b Bounds, fetch func(cursor string) (tenantsync.Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		// Next cursors are remembered by a 64-bit hash: a listing of thousands of pages would
		// otherwise hold every link it followed (hundreds of bytes each) until it ends. A
		// collision could only end a listing early with the Loop error, never shorten one.
		seed := maphash.MakeSeed()
		seen := map[uint64]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages >= b.MaxPages {
				yield(zero, cutShort(b.TooMany()))
				return
			}
			page, err := fetch(cursor)
			if err != nil {
				if pages > 0 {
					err = cutShort(err)
				}
				yield(zero, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			next := page.Next
			if next == "" {
				return
			}
			h := maphash.String(seed, next)
			if seen[h] {
				yield(zero, cutShort(b.Loop()))
				return
			}
			seen[h] = true
			cursor = next
		}
	}
}

// incomplete marks the error that cut a listing short as tenantsync.ErrIncomplete as well. It
// wraps instead of rebuilding the error so the error keeps its own kind (ClassOf reports it:
// ErrHostNotAllowed for a refused link, ErrLimitExceeded for a loop), its details, hint and text.
type incomplete struct{ err error }

func (e *incomplete) Error() string        { return e.err.Error() }
func (e *incomplete) Unwrap() error        { return e.err }
func (e *incomplete) Is(target error) bool { return target == tenantsync.ErrIncomplete }

func cutShort(err error) error {
	if err == nil || errors.Is(err, tenantsync.ErrIncomplete) {
		return err
	}
	return &incomplete{err: err}
}

// Collect drains seq into a slice: every item (an empty, non-nil slice when there are none), or
// nil and the first error, never a part of the listing.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
