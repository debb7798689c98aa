package paging_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
)

// TestWalkCutShortIsIncomplete: whatever ended a listing after its first page (a refused next
// cursor, a loop, the page bound, a failed page) also matches tenantsync.ErrIncomplete, so a
// caller that asks "is this listing whole?" gets the right answer, and still matches its own
// kind, so the caller also learns why.
func TestWalkCutShortIsIncomplete(t *testing.T) {
	t.Parallel()
	kinded := func(kind error, msg string) error {
		return &tenantsync.Error{Class: kind, Service: "test", Message: msg, Hint: "do something"}
	}
	b := paging.Bounds{MaxPages: 3,
		TooMany: func() error { return kinded(tenantsync.ErrLimitExceeded, "more than 3 pages") },
		Loop:    func() error { return kinded(tenantsync.ErrLimitExceeded, "next cursor repeated") }}
	tests := []struct {
		name       string
		pages      map[string]page
		kind       error // the error's own kind, which ClassOf still reports
		incomplete bool
	}{
		{"foreign next link refused", map[string]page{"": {items: []int{1}, next: "https://evil.example/next"},
			"https://evil.example/next": {err: kinded(tenantsync.ErrHostNotAllowed, "refused link to another origin")}},
			tenantsync.ErrHostNotAllowed, true},
		{"loop", map[string]page{"": {items: []int{1}, next: "a"}, "a": {items: []int{2}, next: "a"}},
			tenantsync.ErrLimitExceeded, true},
		{"too many pages", map[string]page{"": {next: "a"}, "a": {next: "b"}, "b": {next: "c"}, "c": {}},
			tenantsync.ErrLimitExceeded, true},
		{"later page fails", map[string]page{"": {items: []int{1}, next: "a"}, "a": {err: kinded(tenantsync.ErrUnavailable, "503")}},
			tenantsync.ErrUnavailable, true},
		// Nothing was listed: the error's own kind says all there is to say.
		{"first page fails", map[string]page{"": {err: kinded(tenantsync.ErrRoleMissing, "403")}},
			tenantsync.ErrRoleMissing, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := paging.Collect(paging.Walk(b, func(cursor string) (tenantsync.Page[int], error) {
				p, ok := tt.pages[cursor]
				require.True(t, ok, "unexpected cursor %q", cursor)
				return tenantsync.Page[int]{Items: p.items, Next: p.next}, p.err
			}))
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.kind)
			assert.Equal(t, tt.kind, tenantsync.ClassOf(err), "the specific kind stays the error's kind")
			assert.Equal(t, tt.incomplete, errors.Is(err, tenantsync.ErrIncomplete))
			d, ok := tenantsync.Details(err)
			require.True(t, ok, "the details stay reachable")
			assert.Equal(t, "do something", d.Hint)
			assert.NotContains(t, err.Error(), "listing incomplete", "the message is the error's own")
		})
	}
}

// A plain error from a later page (no tenantsync kind) is marked too, and stays reachable.
func TestWalkCutShortPlainError(t *testing.T) {
	t.Parallel()
	_, err := paging.Collect(paging.Walk(bounds(5), func(cursor string) (tenantsync.Page[int], error) {
		if cursor == "" {
			return tenantsync.Page[int]{Items: []int{1}, Next: "a"}, nil
		}
		return tenantsync.Page[int]{}, errPage
	}))
	require.ErrorIs(t, err, errPage)
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	assert.Equal(t, errPage.Error(), err.Error())
}
