package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Time normalises a time for storage: UTC, microsecond precision (PostgreSQL's), no monotonic
// reading. Every implementation stores times this way so a value reads back equal everywhere,
// and audit hashes computed before storage still verify after it.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// AuditHash returns the hex SHA-256 of an entry's canonical encoding, which covers every field
// but Hash, PrevHash included, so each entry vouches for its predecessor. Fields are
// length-prefixed in a fixed order and Detail's keys sorted, so no two different entries encode
// alike.
func AuditHash(e tenantsync.AuditEntry) string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	put := func(s string) {
		n := binary.PutUvarint(buf[:], uint64(len(s)))
		h.Write(buf[:n])
		h.Write([]byte(s))
	}
	put("tenantsync-audit-v1")
	put(e.Account)
	put(strconv.FormatInt(e.Seq, 10))
	put(Time(e.At).Format(time.RFC3339Nano))
	put(e.Actor)
	put(e.Action)
	put(e.TenantID)
	put(e.Target)
	put(e.Phase)
	put(e.Outcome)
	put(e.Route)
	put(e.Error)
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	put(strconv.Itoa(len(keys)))
	for _, k := range keys {
		put(k)
		put(e.Detail[k])
	}
	put(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// ChainAudit fills the chain fields of e as the entry after prev (nil for the first entry of
// the account) and returns it ready to store.
func ChainAudit(account string, prev *tenantsync.AuditEntry, e tenantsync.AuditEntry) tenantsync.AuditEntry {
	e.Account = account
	e.At = Time(e.At)
	e.Detail = maps.Clone(e.Detail)
	if len(e.Detail) == 0 {
		e.Detail = nil // an empty detail and none hash alike, so store them alike
	}
	e.Seq, e.PrevHash = 1, ""
	if prev != nil {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.Hash = AuditHash(e)
	return e
}

// AuditVerifier checks an account's chain one entry at a time, in Seq order.
type AuditVerifier struct {
	Account string
	report  AuditReport
	prev    *tenantsync.AuditEntry
}

// Next checks e against its predecessor. It returns false once the chain is broken; the report
// then names the first broken entry.
func (v *AuditVerifier) Next(e tenantsync.AuditEntry) bool {
	if v.report.FirstBroken != 0 {
		return false
	}
	v.report.Entries++
	wantSeq, wantPrev := int64(1), ""
	if v.prev != nil {
		wantSeq, wantPrev = v.prev.Seq+1, v.prev.Hash
	}
	var reason string
	switch {
	case e.Account != v.Account:
		reason = fmt.Sprintf("entry belongs to account %q", e.Account)
	case e.Seq != wantSeq:
		reason = fmt.Sprintf("sequence jumps from %d to %d", wantSeq-1, e.Seq)
	case e.PrevHash != wantPrev:
		reason = "previous-hash link does not match the previous entry"
	case AuditHash(e) != e.Hash:
		reason = "hash does not match the entry's content"
	}
	if reason != "" {
		v.report.FirstBroken = e.Seq
		if v.report.FirstBroken == 0 {
			v.report.FirstBroken = wantSeq
		}
		v.report.Reason = reason
		return false
	}
	v.prev = &e
	return true
}

// Report returns the outcome so far.
func (v *AuditVerifier) Report() AuditReport { return v.report }
