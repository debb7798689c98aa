package paging_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
)

var (
	errTooMany = errors.New("too many pages")
	errLoop    = errors.New("paging loop")
	errPage    = errors.New("page failed")
)

func bounds(maxPages int) paging.Bounds {
	return paging.Bounds{MaxPages: maxPages,
		TooMany: func() error { return errTooMany }, Loop: func() error { return errLoop }}
}

// pages serves scripted pages: pages[cursor] is the page at that cursor.
type page struct {
	items []int
	next  string
	err   error
}

func TestWalk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pages    map[string]page
		maxPages int
		want     []int
		wantErr  error
		fetches  []string
	}{
		{"one page", map[string]page{"": {items: []int{1, 2}}}, 10, []int{1, 2}, nil, []string{""}},
		{"three pages", map[string]page{"": {items: []int{1}, next: "a"}, "a": {items: []int{2}, next: "b"}, "b": {items: []int{3}}}, 10, []int{1, 2, 3}, nil, []string{"", "a", "b"}},
		{"empty listing", map[string]page{"": {}}, 10, nil, nil, []string{""}},
		{"second page fails", map[string]page{"": {items: []int{1}, next: "a"}, "a": {err: errPage}}, 10, []int{1}, errPage, []string{"", "a"}},
		{"loop", map[string]page{"": {items: []int{1}, next: "a"}, "a": {items: []int{2}, next: "b"}, "b": {items: []int{3}, next: "a"}}, 10, []int{1, 2, 3}, errLoop, []string{"", "a", "b"}},
		{"too many pages", map[string]page{"": {items: []int{1}, next: "a"}, "a": {items: []int{2}, next: "b"}, "b": {items: []int{3}}}, 2, []int{1, 2}, errTooMany, []string{"", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fetched []string
			var got []int
			var gotErr error
			for v, err := range paging.Walk(bounds(tt.maxPages), func(cursor string) (tenantsync.Page[int], error) {
				fetched = append(fetched, cursor)
				p, ok := tt.pages[cursor]
				require.True(t, ok, "unexpected cursor %q", cursor)
				return tenantsync.Page[int]{Items: p.items, Next: p.next}, p.err
			}) {
				if err != nil {
					gotErr = err
					continue // Walk must end by itself after an error
				}
				got = append(got, v)
			}
			assert.Equal(t, tt.want, got)
			if tt.wantErr == nil {
				assert.NoError(t, gotErr)
			} else {
				assert.ErrorIs(t, gotErr, tt.wantErr)
			}
			assert.Equal(t, tt.fetches, fetched)
		})
	}
}

func TestWalkStopsFetchingWhenTheConsumerStops(t *testing.T) {
	t.Parallel()
	fetches := 0
	seq := paging.Walk(bounds(100), func(cursor string) (tenantsync.Page[int], error) {
		fetches++
		return tenantsync.Page[int]{Items: []int{fetches, fetches}, Next: fmt.Sprint(fetches)}, nil
	})
	for v := range seq {
		if v == 1 {
			break
		}
	}
	assert.Equal(t, 1, fetches)
}

func TestCollect(t *testing.T) {
	t.Parallel()
	all, err := paging.Collect(paging.Walk(bounds(5), func(string) (tenantsync.Page[string], error) { return tenantsync.Page[string]{}, nil }))
	require.NoError(t, err)
	assert.NotNil(t, all, "an empty listing is an empty slice")
	assert.Empty(t, all)

	part, err := paging.Collect(paging.Walk(bounds(5), func(cursor string) (tenantsync.Page[string], error) {
		if cursor == "" {
			return tenantsync.Page[string]{Items: []string{"a", "b"}, Next: "next"}, nil
		}
		return tenantsync.Page[string]{}, errPage
	}))
	require.ErrorIs(t, err, errPage)
	assert.Nil(t, part, "a failed listing is no listing, not a shorter one")
}
