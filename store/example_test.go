package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// A Secret prints as [REDACTED] wherever it ends up; Reveal is the one way to the plaintext.
func ExampleSecret() {
	c := store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Secret: store.NewSecret("s3cr3t")}
	fmt.Printf("%v\n", c.Secret)
	fmt.Println(c.Secret.Reveal() == "s3cr3t")
	// Output:
	// [REDACTED]
	// true
}

// A tenant's sync outcome lands in one transaction: the mirror, its cursor and the contact
// links together, or nothing when the cursor moved since it was read.
func ExampleMirror() {
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys, _ := store.NewStaticKeys("k1", map[string][]byte{"k1": key})
	s := memory.New(memory.Config{Keys: keys})
	defer s.Close()

	_, _ = s.Account("msp-1").Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tenant-a", DisplayName: "Contoso"}}, ctxTime)
	_ = s.Account("msp-1").Tenants.Link(ctx, "tenant-a", "client-7", ctxTime)
	res, err := s.Account("msp-1").Mirror.Commit(ctx, store.Batch{
		TenantID: "tenant-a",
		Kinds: []store.KindApply{{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete,
			Users: []tenantsync.User{{ObjectID: "u1", DisplayName: "Ada"}}, Cursor: "delta-1"}}},
		Links: []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-7", ContactID: "contact-9"}}},
	})
	fmt.Println(res.Kinds[0].Added, err)

	// A second writer that read the cursor before the first commit loses.
	_, err = s.Account("msp-1").Mirror.Commit(ctx, store.Batch{TenantID: "tenant-a", Kinds: []store.KindApply{{
		Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Cursor: "delta-x"}, ExpectCursor: ""}}})
	fmt.Println(tenantsync.ClassOf(err) == tenantsync.ErrConflict)
	// Output:
	// [u1] <nil>
	// true
}

var ctxTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// The audit log is chained under the KeyProvider's key. Keep each verification's head outside
// the database and pass the last one kept to the next verification: a log cut back together
// with its recorded head then fails, which nothing inside the database can detect.
func ExampleAudit() {
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys, _ := store.NewStaticKeys("k1", map[string][]byte{"k1": key})
	s := memory.New(memory.Config{Keys: keys})
	defer s.Close()

	_, _ = s.Account("msp-1").Audit.Append(ctx, tenantsync.AuditEntry{Actor: "alice", Action: "link", TenantID: "tenant-a", Target: "client-7"})
	v, _ := s.Account("msp-1").Audit.Verify(ctx, nil)
	anchored := v.Head // write it somewhere the database's writers cannot reach
	fmt.Println(v.OK(), anchored.Seq)

	_, _ = s.Account("msp-1").Audit.Append(ctx, tenantsync.AuditEntry{Actor: "alice", Action: "unlink", TenantID: "tenant-a"})
	v, err := s.Account("msp-1").Audit.Verify(ctx, &anchored)
	fmt.Println(v.OK(), v.Head.Seq, err)
	// Output:
	// true 1
	// true 2 <nil>
}
