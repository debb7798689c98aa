package sync

import (
	"context"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
)

// Streaming: with a store that stages (store.Stager), a run opens a stage and hands it to the
// source as FetchRequest.Sink, so a source that streams (graph's users) delivers a kind page by
// page into the store instead of into memory. The kind is then judged and applied from the
// stage: the deletion guard reads its loss from the store (Stage.Loss) once the listing has
// completed, the commit applies it with the cursor compare-and-set in its one transaction
// (KindApply.Stage), and the reconcile reads the users back a page at a time, keeping only
// those that may need a PSA call. A listing cut short is Unavailable and its pages are dropped
// with the stage: nothing of the kind is stored. A complete users listing stays staged; any
// other streamed kind (a change set, which is small, or a kind whose items the run reads
// whole: mailbox types, domains) is read back into memory and handled as before.

// streamPage is how many staged users the reconcile reads at a time.
const streamPage = 1000

// stageSink is a run's FetchRequest.Sink: it stages pages and remembers what it staged. The
// stage is opened with the first page, so a run whose sources stream nothing costs the store
// nothing more.
type stageSink struct {
	stager store.Stager
	tenant string
	stage  store.Stage // nil until the first page
	mu     stdsync.Mutex
	// touched are the kinds that received a page since their last reset; items counts them.
	touched map[tenantsync.Kind]int
	// newest is the latest creation time among the staged users, for the kinds a new user
	// calls for (Cadence.Kinds).
	newest time.Time
}

func newStageSink(st store.Stager, tenantID string) *stageSink {
	return &stageSink{stager: st, tenant: tenantID, touched: map[tenantsync.Kind]int{}}
}

// Page implements tenantsync.PageSink.
func (s *stageSink) Page(ctx context.Context, page *tenantsync.KindResult) error {
	if page == nil {
		return nil
	}
	st, err := s.open(ctx)
	if err != nil {
		return err
	}
	if err := st.Put(ctx, page); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touched[page.Kind] += page.Len()
	for i := range page.Users {
		if c := page.Users[i].CreatedAt; c.After(s.newest) {
			s.newest = c
		}
	}
	return nil
}

// open returns the run's stage, opening it the first time.
func (s *stageSink) open(ctx context.Context) (store.Stage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage == nil {
		st, err := s.stager.Stage(ctx, s.tenant)
		if err != nil {
			return nil, err
		}
		s.stage = st
	}
	return s.stage, nil
}

// opened returns the stage, nil when nothing was ever staged.
func (s *stageSink) opened() store.Stage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stage
}

// reset drops what was staged of kinds, before they are listed again or when their listing
// did not stream.
func (s *stageSink) reset(ctx context.Context, kinds ...tenantsync.Kind) error {
	for _, k := range kinds {
		s.mu.Lock()
		_, ok := s.touched[k]
		delete(s.touched, k)
		if k == tenantsync.KindUsers {
			s.newest = time.Time{}
		}
		s.mu.Unlock()
		if ok {
			if err := s.opened().Reset(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle makes res consistent with what was staged: a kind that did not stream (or failed)
// has its pages dropped, and a streamed kind the run does not apply from the stage is read
// back into the result.
func (s *stageSink) settle(ctx context.Context, res *tenantsync.FetchResult, kinds []tenantsync.Kind) error {
	for _, k := range kinds {
		kr := res.Result(k)
		if !kr.Streamed || kr.Mode == tenantsync.Unavailable {
			if err := s.reset(ctx, k); err != nil {
				return err
			}
			if kr.Streamed {
				// A failed kind carries nothing, whatever its pages delivered.
				kr.Streamed = false
			}
			continue
		}
		if k == tenantsync.KindUsers && kr.Mode == tenantsync.Complete {
			continue
		}
		if err := s.materialize(ctx, kr); err != nil {
			return err
		}
	}
	return nil
}

// materialize reads a streamed kind back from the stage into kr and drops it from the stage.
func (s *stageSink) materialize(ctx context.Context, kr *tenantsync.KindResult) error {
	for after := ""; ; {
		page, last, err := s.opened().Read(ctx, kr.Kind, after, 0)
		if err != nil {
			return err
		}
		if last == "" {
			break
		}
		after = last
		kr.Users = append(kr.Users, page.Users...)
		kr.Mailboxes = append(kr.Mailboxes, page.Mailboxes...)
		kr.Devices = append(kr.Devices, page.Devices...)
		kr.Domains = append(kr.Domains, page.Domains...)
		kr.Subscriptions = append(kr.Subscriptions, page.Subscriptions...)
		kr.MFA = append(kr.MFA, page.MFA...)
		if page.Baseline != nil {
			kr.Baseline = page.Baseline
		}
		if kr.Mode == tenantsync.Changes {
			kr.Removed = append(kr.Removed, page.Removed...)
		}
	}
	kr.Streamed = false
	return s.reset(ctx, kr.Kind)
}

// count returns the items the source streamed of kind.
func (s *stageSink) count(k tenantsync.Kind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.touched[k]
}

// eachStagedUser calls fn with the staged users a page at a time, in object ID order.
func eachStagedUser(ctx context.Context, st store.Stage, fn func([]tenantsync.User) error) error {
	for after := ""; ; {
		page, last, err := st.Read(ctx, tenantsync.KindUsers, after, streamPage)
		if err != nil {
			return err
		}
		if last == "" {
			return nil
		}
		after = last
		if err := fn(page.Users); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
	}
}

// stagedUsers returns the staged users the reconcile must look at, and counts the excluded
// ones it leaves out. Matching a user against the contacts depends on that user alone, but
// for two users claiming one contact (match.Index.MatchAll), so a user whose match is none
// (and who would not be created) or excluded needs no PSA call and is left out, unless the
// run knows something of it: a link, a create intent, a failure, a contact naming it. What the
// reconcile keeps of the tenant is then what the PSA holds of it, not the tenant's size.
//
// The users the deletion guard keeps as the mirror has them (in.keep) are the mirror's, as
// keepMirrored makes them for a listing in memory.
func (r *reconcileRun) stagedUsers(ctx context.Context, in stagedInput, types map[string]tenantsync.MailboxType, own map[string]store.ContactLink) ([]tenantsync.User, error) {
	keep := map[string]bool{}
	for _, id := range in.keep {
		keep[id] = true
	}
	named := map[string]bool{}
	for _, c := range r.contacts {
		if c.ObjectID != "" && strings.EqualFold(c.TenantID, r.rec.ID) {
			named[strings.ToLower(c.ObjectID)] = true
		}
	}
	var out []tenantsync.User
	err := eachStagedUser(ctx, in.stage, func(users []tenantsync.User) error {
		for _, u := range users {
			if keep[u.ObjectID] {
				continue
			}
			if u.TenantID == "" {
				u.TenantID = r.rec.ID
			}
			id := u.ObjectID
			_, linked := own[id]
			_, intent := r.prior[id]
			_, failed := r.failures[id]
			if linked || intent || failed || named[strings.ToLower(id)] {
				out = append(out, u)
				continue
			}
			switch res := r.ix.Match(u, types[id]); {
			case res.Outcome == match.Excluded:
				r.out.report.Excluded++
			case res.Outcome == match.None && !res.Create:
			default:
				out = append(out, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range in.keep {
		u, err := r.e.acct.Mirror.GetUser(ctx, r.rec.ID, id)
		switch {
		case isNotFound(err):
		case err != nil:
			return nil, err
		default:
			out = append(out, u)
		}
	}
	return out, nil
}

// stagedInput is what the reconcile needs of a run's stage: the stage, and the users the
// deletion guard keeps as the mirror has them.
type stagedInput struct {
	stage store.Stage
	keep  []string
}
