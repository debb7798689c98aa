package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// BenchRow is one mirror row as the SQL stores write it: what a bare insert writes to compare.
type BenchRow struct {
	Account, TenantID, Kind, ItemID, Hash string
	Data                                  []byte
}

// BareInsert writes rows with plain multi-row INSERT statements (no diff, no upsert, no
// cursor) in one transaction into a scratch table shaped like the mirror, in the same database
// as the store under test. Rows of different calls never share a key.
type BareInsert func(ctx context.Context, rows []BenchRow) error

// BenchOptions configures BenchmarkApply.
type BenchOptions struct {
	// Bare is the bare insert the applies are compared with. Required.
	Bare BareInsert
	// Settle, when set, runs after the delta benchmark's tenant is filled and before it is
	// timed, for the database maintenance a long-running database has had by then (PostgreSQL:
	// ANALYZE, which autovacuum runs within a minute of a large insert; without statistics the
	// planner scans the tenant's whole kind to find 100 IDs).
	Settle func(ctx context.Context) error
}

// BenchmarkApply measures applying a 10,000-user complete listing to an empty tenant and a
// 100-change delta (60 updates, 20 additions, 20 removals) to a 10,000-user tenant, each side by
// side with a bare insert of the same rows in the same database. It reports rows per second for
// both and their ratio (apply time over bare-insert time).
func BenchmarkApply(b *testing.B, s store.Store, opts BenchOptions) {
	bare := opts.Bare
	require.NotNil(b, bare, "BenchOptions.Bare is required")
	run := randomID()
	const size = 10000
	all := benchUsers(size, "u", "")

	b.Run("snapshot-10000-users", func(b *testing.B) {
		ctx := b.Context()
		var applyTime, bareTime time.Duration
		i := 0
		for b.Loop() {
			acct, tenant := fmt.Sprintf("bench-%s-snap-%d", run, i), "tenant-1"
			_, err := s.Account(acct).Tenants.RecordDiscovery(ctx, "bench", []tenantsync.Tenant{{ID: tenant}}, t0)
			require.NoError(b, err)
			rows := benchRows(b, fmt.Sprintf("bare-%s-snap-%d", run, i), tenant, all)

			start := time.Now()
			res, err := s.Account(acct).Mirror.Apply(ctx, tenant, store.KindApply{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: all, Cursor: "c1"}})
			applyTime += time.Since(start)
			require.NoError(b, err)
			require.Len(b, res.Added, size)

			start = time.Now()
			require.NoError(b, bare(ctx, rows))
			bareTime += time.Since(start)
			i++
		}
		report(b, i*size, applyTime, bareTime)
	})

	b.Run("delta-100-changes", func(b *testing.B) {
		ctx := b.Context()
		acct, tenant := fmt.Sprintf("bench-%s-delta", run), "tenant-1"
		_, err := s.Account(acct).Tenants.RecordDiscovery(ctx, "bench", []tenantsync.Tenant{{ID: tenant}}, t0)
		require.NoError(b, err)
		_, err = s.Account(acct).Mirror.Apply(ctx, tenant, store.KindApply{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: all, Cursor: "c0"}})
		require.NoError(b, err)
		if opts.Settle != nil {
			require.NoError(b, opts.Settle(ctx))
		}
		var applyTime, bareTime time.Duration
		cursor := "c0"
		removable := all[size-20:]
		i := 0
		for b.Loop() {
			updated := benchUsers(60, "u", fmt.Sprint(" v", i+1))
			added := benchUsers(20, fmt.Sprintf("n%d-", i), "")
			removed := make([]string, 0, len(removable))
			for _, u := range removable {
				removed = append(removed, u.ObjectID)
			}
			next := fmt.Sprint("c", i+1)
			change := &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes,
				Users: append(append([]tenantsync.User{}, updated...), added...), Removed: removed, Cursor: next}
			rows := benchRows(b, fmt.Sprintf("bare-%s-delta-%d", run, i), tenant, append(append([]tenantsync.User{}, change.Users...), removable...))

			start := time.Now()
			res, err := s.Account(acct).Mirror.Apply(ctx, tenant, store.KindApply{Result: change, ExpectCursor: cursor})
			applyTime += time.Since(start)
			require.NoError(b, err)
			require.Len(b, res.Updated, 60)
			require.Len(b, res.Added, 20)
			require.Len(b, res.Removed, 20)

			start = time.Now()
			require.NoError(b, bare(ctx, rows))
			bareTime += time.Since(start)
			cursor, removable = next, added
			i++
		}
		report(b, i*100, applyTime, bareTime)
	})
}

func benchUsers(n int, prefix, suffix string) []tenantsync.User {
	out := make([]tenantsync.User, n)
	for i := range out {
		id := fmt.Sprintf("%s%05d", prefix, i)
		out[i] = tenantsync.User{
			ObjectID: id, UserPrincipalName: id + "@contoso.example", DisplayName: "User " + id + suffix,
			GivenName: "Given", Surname: "Surname " + id, Mail: id + "@contoso.example",
			ProxyAddresses: []string{"SMTP:" + id + "@contoso.example", "smtp:" + id + "@contoso.onmicrosoft.com"},
			JobTitle:       "Engineer", Department: "R&D", AccountEnabled: true, UserType: "Member",
			AssignedSKUs: []string{"c7df2760-2c81-4ef7-b578-5b5392b571df"}, CreatedAt: t0,
		}
	}
	return out
}

func benchRows(b *testing.B, acct, tenant string, users []tenantsync.User) []BenchRow {
	items, err := kit.Encode("bench", tenant, &tenantsync.KindResult{Kind: tenantsync.KindUsers, Users: users})
	require.NoError(b, err)
	rows := make([]BenchRow, len(items))
	for i, it := range items {
		rows[i] = BenchRow{Account: acct, TenantID: tenant, Kind: string(tenantsync.KindUsers), ItemID: it.ID, Hash: it.Hash, Data: it.Data}
	}
	return rows
}

func report(b *testing.B, rows int, apply, bare time.Duration) {
	if rows == 0 || apply <= 0 || bare <= 0 {
		return
	}
	b.ReportMetric(float64(rows)/apply.Seconds(), "apply-rows/s")
	b.ReportMetric(float64(rows)/bare.Seconds(), "bare-rows/s")
	b.ReportMetric(apply.Seconds()/bare.Seconds(), "apply/bare")
}

// BenchmarkReadKind measures reading back a 10,000-user tenant with ReadKind, as a full
// reconcile does, and reports users decoded per second. Each read is checked to return every
// user in ID order with its fields intact.
func BenchmarkReadKind(b *testing.B, s store.Store) {
	ctx := b.Context()
	const size = 10000
	acct, tenant := "bench-"+randomID()+"-read", "tenant-1"
	_, err := s.Account(acct).Tenants.RecordDiscovery(ctx, "bench", []tenantsync.Tenant{{ID: tenant}}, t0)
	require.NoError(b, err)
	all := benchUsers(size, "u", "")
	_, err = s.Account(acct).Mirror.Apply(ctx, tenant, store.KindApply{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: all, Cursor: "c1"}})
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r, err := s.Account(acct).Mirror.ReadKind(ctx, tenant, tenantsync.KindUsers)
		require.NoError(b, err)
		require.Len(b, r.Users, size)
		if r.Users[size-1].ObjectID != all[size-1].ObjectID || len(r.Users[0].ProxyAddresses) != 2 || r.Users[0].TenantID != tenant {
			b.Fatalf("ReadKind returned %+v first and %q last", r.Users[0], r.Users[size-1].ObjectID)
		}
		n += size
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "users/s")
}
