package memory

import (
	"context"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// feed is one account's change feed: the kept entries in Seq order.
type feed struct {
	entries []store.Change
	head    int64 // the latest Seq assigned
	pruned  int64 // the highest Seq removed by retention
}

// append numbers entries after the head and keeps them, then drops the entries stamped before
// cutoff.
func (f *feed) append(entries []store.Change, cutoff time.Time) {
	kit.Number(entries, f.head)
	f.head += int64(len(entries))
	f.entries = append(f.entries, entries...)
	n := 0
	for n < len(f.entries) && f.entries[n].At.Before(cutoff) {
		n++
	}
	if n > 0 {
		f.pruned = f.entries[n-1].Seq
		f.entries = slices.Delete(f.entries, 0, n)
	}
}

// Changes implements store.ChangeFeed.
func (s *backend) Changes(_ context.Context, acct string, after int64, limit int) ([]store.Change, error) {
	const op = "Changes"
	limit, err := kit.CheckChangesPage(op, acct, after, limit)
	if err != nil {
		return nil, err
	}
	out := []store.Change{}
	err = s.view(op, acct, false, func(a *account) error {
		f := &a.feed
		if err := kit.FeedWindow(op, after, f.pruned, f.head); err != nil {
			return err
		}
		i, _ := slices.BinarySearchFunc(f.entries, after+1, func(c store.Change, seq int64) int { return int(c.Seq - seq) })
		for _, c := range f.entries[i:min(len(f.entries), i+limit)] {
			c.Data = slices.Clone(c.Data)
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FeedHead implements store.ChangeFeed.
func (s *backend) FeedHead(_ context.Context, acct string) (int64, error) {
	var head int64
	err := s.view("Head", acct, false, func(a *account) error {
		head = a.feed.head
		return nil
	})
	return head, err
}
