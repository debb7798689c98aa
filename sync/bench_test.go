package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store/memory"
)

// benchEngine returns an engine over one linked tenant of n users, synced once.
func benchEngine(b *testing.B, n int) (*Engine, *ManualClock, *FakeSource) {
	b.Helper()
	clock := NewManualClock()
	src := NewFakeSource("cipp")
	src.SetPageSize(999)
	src.AddTenant(fakeTenant("big", "Big Corp", "big.example", n))
	st := memory.New(memory.Config{Now: clock.Now})
	eng, err := New(Config{Store: st, Account: testAccount, Sources: []tenantsync.Source{src}, Contacts: NewFakeContacts(),
		Clock: clock, AutoCreate: true, Limits: Limits{MaxCreatesPerSync: n}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eng.Close(context.Background()) })
	ctx := context.Background()
	if _, err := eng.Discover(ctx); err != nil {
		b.Fatal(err)
	}
	if err := st.Account(testAccount).Tenants.Link(ctx, "big", "client-1", clock.Now()); err != nil {
		b.Fatal(err)
	}
	return eng, clock, src
}

// BenchmarkInitialSync measures a first sync (full listing, a contact created per person).
func BenchmarkInitialSync(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				eng, clock, _ := benchEngine(b, n)
				b.StartTimer()
				clock.Advance(time.Minute)
				rep, err := eng.SyncNow(context.Background(), "big")
				if err != nil || rep.Contacts.Created != n {
					b.Fatalf("sync: %v, created %d", err, rep.Contacts.Created)
				}
			}
		})
	}
}

// BenchmarkUnchangedDeltaSync measures a sync of an unchanged tenant from its cursor: the
// steady state of a quiet client.
func BenchmarkUnchangedDeltaSync(b *testing.B) {
	eng, clock, _ := benchEngine(b, 10000)
	ctx := context.Background()
	clock.Advance(time.Minute)
	if _, err := eng.SyncNow(ctx, "big"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		clock.Advance(time.Minute)
		rep, err := eng.SyncNow(ctx, "big")
		if err != nil || rep.Kinds[tenantsync.KindUsers].Mode != tenantsync.Changes {
			b.Fatalf("sync: %v", err)
		}
	}
}
