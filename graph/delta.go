package graph

import (
	"context"
	"net/http"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
)

// UsersDelta is the outcome of a users delta round.
type UsersDelta struct {
	// Full is true when the round started without a cursor: Users is then every user.
	Full bool
	// Users are the users created or changed since the cursor (every user when Full).
	Users []User
	// Removed are the object IDs of users deleted since the cursor (never set when Full).
	Removed []string
	// Cursor is the deltaLink to pass next time.
	Cursor string
}

// UsersDelta runs a users delta round. Without a cursor it lists every user, following nextLinks
// to the deltaLink, which it returns as the cursor; with one it returns only the changes since,
// deletions included. An expired cursor fails with tenantsync.ErrCursorExpired: list again
// without a cursor.
func (c *Client) UsersDelta(ctx context.Context, tenant, cursor string) (*UsersDelta, error) {
	first, err := c.UsersDeltaPage(ctx, tenant, cursor)
	if err != nil {
		return nil, err
	}
	return c.finishDelta(ctx, listUsersDelta, tenant, cursor, first, nil, nil)
}

// UsersDeltaPage reads one page of a users delta round: the first page of a full round when link
// is "", else the page a nextLink or a stored deltaLink names. The last page of a round carries
// DeltaLink instead of NextLink.
func (c *Client) UsersDeltaPage(ctx context.Context, tenant, link string) (tenantsync.Page[User], error) {
	p, err := fetchPage[User](ctx, c, listUsersDelta, tenant, link)
	if err != nil && link != "" {
		return p, cursorError(err)
	}
	return p, err
}

// cursorError turns a 400 on a stored delta link into ErrCursorExpired: Graph answers an expired
// directory delta token with 400 syncStateNotFound, and any other 400 on a link it issued means the
// cursor is no longer usable either; both call for a full listing.
func cursorError(err error) error {
	d, ok := tenantsync.Details(err)
	if !ok || d.Class == tenantsync.ErrCursorExpired || d.Status != http.StatusBadRequest {
		return err
	}
	e := *d
	e.Class = tenantsync.ErrCursorExpired
	e.Hint = "the delta cursor is no longer accepted; list in full and store the new cursor"
	return &e
}

// finishDelta follows a users delta round of l (its $select) from its first page to the
// deltaLink. each, when set, sees every user entry as its page arrives, before the round ends
// (an entry may be superseded by a later one of the same user).
func (c *Client) finishDelta(ctx context.Context, l list, tenant, cursor string, first tenantsync.Page[User], progress func(int), each func(User)) (*UsersDelta, error) {
	out := &UsersDelta{Full: cursor == ""}
	// A user can appear on several pages of one round; the last appearance wins.
	order := []string{}
	latest := map[string]User{}
	removed := map[string]bool{}
	last := first
	pages := paging.Walk(c.bounds(l.op, tenant), func(link string) (tenantsync.Page[User], error) {
		if link != "" {
			report(progress, len(latest))
			p, err := fetchPage[User](ctx, c, l, tenant, link)
			if err != nil {
				return p, cursorError(err)
			}
			last = p
		}
		if last.DeltaLink != "" {
			// The round ends here, whatever else the page says.
			return tenantsync.Page[User]{Items: last.Items}, nil
		}
		return last, nil
	})
	for u, err := range pages {
		if err != nil {
			return nil, err
		}
		if u.ID == "" {
			continue
		}
		if each != nil {
			each(u)
		}
		if _, seen := latest[u.ID]; !seen && !removed[u.ID] {
			order = append(order, u.ID)
		}
		if u.Removed != nil {
			delete(latest, u.ID)
			removed[u.ID] = true
			continue
		}
		delete(removed, u.ID)
		latest[u.ID] = u
	}
	if last.DeltaLink == "" {
		return nil, opError(tenantsync.ErrIncomplete, l.op, tenant, "Graph ended the delta round without a deltaLink; the next sync will retry",
			"delta round ended without a deltaLink")
	}
	report(progress, len(latest))
	for _, id := range order {
		if u, ok := latest[id]; ok {
			out.Users = append(out.Users, u)
		} else if removed[id] && !out.Full {
			out.Removed = append(out.Removed, id)
		}
	}
	out.Cursor = last.DeltaLink
	return out, nil
}

// streamDelta follows a users delta round like finishDelta, but hands each page's users to
// sink as it arrives instead of keeping them, so a round of any size holds one page: a full
// round's pages are a complete listing (users a page reports deleted are dropped from it), a
// change round's are changes. It returns the round's deltaLink. A page the sink refuses, or
// one that cannot be read, ends the round with the error.
func (c *Client) streamDelta(ctx context.Context, l list, tenant, cursor string, first tenantsync.Page[User], sink tenantsync.PageSink, progress func(int)) (string, error) {
	mode := tenantsync.Changes
	if cursor == "" {
		mode = tenantsync.Complete
	}
	var (
		buf     []User
		gone    []string
		seen    int
		sinkErr error
	)
	flush := func() error {
		if len(buf) == 0 && len(gone) == 0 {
			return nil
		}
		page := &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: mode, Users: toUsers(tenant, buf), Removed: gone}
		seen += len(buf)
		buf, gone = buf[:0], nil
		report(progress, seen)
		return sink.Page(ctx, page)
	}
	last := first
	pages := paging.Walk(c.bounds(l.op, tenant), func(link string) (tenantsync.Page[User], error) {
		if link != "" {
			if sinkErr = flush(); sinkErr != nil {
				return tenantsync.Page[User]{}, sinkErr
			}
			p, err := fetchPage[User](ctx, c, l, tenant, link)
			if err != nil {
				return p, cursorError(err)
			}
			last = p
		}
		if last.DeltaLink != "" {
			return tenantsync.Page[User]{Items: last.Items}, nil
		}
		return last, nil
	})
	for u, err := range pages {
		if err != nil {
			if sinkErr != nil {
				return "", sinkErr
			}
			return "", err
		}
		if u.ID == "" {
			continue
		}
		if u.Removed != nil {
			gone = append(gone, u.ID)
			continue
		}
		buf = append(buf, u)
	}
	if last.DeltaLink == "" {
		return "", opError(tenantsync.ErrIncomplete, l.op, tenant, "Graph ended the delta round without a deltaLink; the next sync will retry",
			"delta round ended without a deltaLink")
	}
	if err := flush(); err != nil {
		return "", err
	}
	return last.DeltaLink, nil
}
