package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testConcurrentApply(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	const writers, each = 6, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conflicts int
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tA")
				if err != nil {
					errs <- err
					return
				}
				id := fmt.Sprintf("w%d-u%d", w, i)
				_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes(users("", id), nil, "after-"+id), ExpectCursor: cursors[tenantsync.KindUsers]})
				switch {
				case err == nil:
					i++
				case errors.Is(err, tenantsync.ErrConflict):
					mu.Lock()
					conflicts++
					mu.Unlock()
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, userIDs(t, s, h.acct, "tA"), writers*each, "every successful compare-and-set kept its user")
	cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tA")
	require.NoError(t, err)
	assert.Regexp(t, `^after-w\d-u\d$`, cursors[tenantsync.KindUsers])
	t.Logf("%d compare-and-set conflicts retried", conflicts)
}

func testConcurrentLinksAndLeases(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	const n = 8
	var wg sync.WaitGroup
	linkErrs := make([]error, n)
	leaseErrs := make([]error, n)
	linkTenantErrs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			linkErrs[i] = s.Account(h.acct).Links.Set(ctx, store.ContactLink{TenantID: "tA", ObjectID: fmt.Sprint("u", i), ClientID: "client-1", ContactID: "contested"})
			_, leaseErrs[i] = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tB", Holder: fmt.Sprint("h", i), Now: t0, TTL: time.Minute})
			linkTenantErrs[i] = s.Account(h.acct).Tenants.Link(ctx, "tB", fmt.Sprint("client-", i), t0)
		}()
	}
	wg.Wait()
	count := func(errs []error, kind error) (ok int) {
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				assert.ErrorIs(t, err, kind)
			}
		}
		return ok
	}
	assert.Equal(t, 1, count(linkErrs, tenantsync.ErrConflict), "one user wins a contested contact")
	assert.Equal(t, 1, count(leaseErrs, tenantsync.ErrAlreadyRunning), "one holder wins a lease")
	assert.Equal(t, 1, count(linkTenantErrs, tenantsync.ErrAlreadyLinked), "one client wins a tenant")
	links, err := s.Account(h.acct).Links.List(ctx, "tA")
	require.NoError(t, err)
	assert.Len(t, links, 1)
}

func testConcurrentAudit(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	const writers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Account(h.acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0, Actor: fmt.Sprint("w", w), Action: "suspend", Target: fmt.Sprint(i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	all, err := s.Account(h.acct).Audit.List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	require.Len(t, all, writers*each)
	for i, e := range all {
		assert.Equal(t, int64(i+1), e.Seq)
	}
	rep, err := s.Account(h.acct).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "concurrent appends forked the chain: %+v", rep)
	assert.Equal(t, writers*each, rep.Entries)
}
