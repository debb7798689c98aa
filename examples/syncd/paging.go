package main

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Every list endpoint is paged the same way: limit (1 to maxPageLimit, default
// defaultPageLimit) and cursor in the query, items and nextCursor in the answer. nextCursor is
// absent on the last page. A cursor is opaque to the caller: it holds the sort key of the last
// item of its page, so a page boundary stays put while items are added before or after it.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// page is one page of a list.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// pageRequest is what a list call asked for.
type pageRequest struct {
	limit int
	after string // the sort key of the last item of the previous page; "" for the first
}

const pageUsage = "pass limit as a whole number from 1 to 1000, and as cursor the nextCursor of the previous page (leave it out for the first page)"

// readPage reads limit and cursor from the query, or answers 400 and returns false.
func readPage(w http.ResponseWriter, r *http.Request) (pageRequest, bool) {
	q := r.URL.Query()
	p := pageRequest{limit: defaultPageLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			badRequest(w, pageUsage, "limit=%q is not a whole number from 1 to %d", v, maxPageLimit)
			return p, false
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		key, err := decodeCursor(v)
		if err != nil {
			badRequest(w, pageUsage, "cursor=%q is not a cursor this API returned", v)
			return p, false
		}
		p.after = key
	}
	return p, true
}

// cursorPrefix tells the daemon's cursors from other strings.
const cursorPrefix = "c1:"

func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + key))
}

func decodeCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	key, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return "", tenantsync.Errorf(tenantsync.ErrInvalidInput, "", "not a cursor")
	}
	return key, nil
}

// paginate returns the page of items (sorted by key, keys unique) that p asks for.
func paginate[T any](items []T, key func(T) string, p pageRequest) page[T] {
	start := 0
	if p.after != "" {
		// The first item past the cursor's key: items added or removed meanwhile do not shift it.
		for start < len(items) && key(items[start]) <= p.after {
			start++
		}
	}
	end := min(start+p.limit, len(items))
	out := page[T]{Items: append([]T{}, items[start:end]...)}
	if end < len(items) && end > start {
		out.NextCursor = encodeCursor(key(items[end-1]))
	}
	return out
}
