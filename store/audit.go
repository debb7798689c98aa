package store

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"
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

// AuditHead names the last entry of an account's audit chain. Because every entry's Hash
// covers its predecessor's, a head vouches for the whole chain up to it: record it outside the
// database and pass it back to VerifyAudit to detect a chain that was cut back.
type AuditHead struct {
	Seq  int64  // 0 for an empty chain
	Hash string // the entry's Hash
}

// IsZero reports whether h names no entry.
func (h AuditHead) IsZero() bool { return h.Seq == 0 && h.Hash == "" }

// String formats h as "seq:hash", the form ParseAuditHead reads.
func (h AuditHead) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseAuditHead reads a head formatted by AuditHead.String.
func ParseAuditHead(s string) (AuditHead, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil {
		return AuditHead{}, Invalid("ParseAuditHead", "pass the head as VerifyAudit returned it: seq:hash", "%q is not an audit head", s)
	}
	h := AuditHead{Seq: n, Hash: hash}
	return h, h.check("ParseAuditHead")
}

func (h AuditHead) check(op string) error {
	_, err := hex.DecodeString(h.Hash)
	if h.Seq < 0 || (h.Seq == 0) != (h.Hash == "") || err != nil {
		return Invalid(op, "pass the head as VerifyAudit returned it: a positive Seq and that entry's hex Hash, or the zero head",
			"audit head %d:%q is malformed", h.Seq, h.Hash)
	}
	return nil
}

// headOf is the head an entry makes of its chain.
func headOf(e tenantsync.AuditEntry) AuditHead { return AuditHead{Seq: e.Seq, Hash: e.Hash} }

// encodeAudit writes e's canonical encoding to h: every field but Hash, PrevHash included, so
// each entry vouches for its predecessor. Fields are length-prefixed in a fixed order and
// Detail's keys sorted, so no two different entries encode alike. label separates the
// encodings of the unkeyed and keyed rules; withKey adds KeyID, which the unkeyed rule
// predates.
func encodeAudit(h hash.Hash, label string, e tenantsync.AuditEntry, withKey bool) {
	var buf [binary.MaxVarintLen64]byte
	put := func(s string) {
		n := binary.PutUvarint(buf[:], uint64(len(s)))
		h.Write(buf[:n])
		h.Write([]byte(s))
	}
	put(label)
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
	keys := slices.Sorted(maps.Keys(e.Detail))
	put(strconv.Itoa(len(keys)))
	for _, k := range keys {
		put(k)
		put(e.Detail[k])
	}
	put(e.PrevHash)
	if withKey {
		put(e.KeyID)
	}
}

// AuditHash returns the hex SHA-256 of an entry's canonical encoding: the unkeyed rule that
// chained entries written before the audit log was keyed. Anyone can recompute it, so it
// detects accidents, not tampering; it is kept so those entries still verify. KeyID is not
// part of it.
func AuditHash(e tenantsync.AuditEntry) string {
	h := sha256.New()
	encodeAudit(h, "tenantsync-audit-v1", e, false)
	return hex.EncodeToString(h.Sum(nil))
}

// auditKeyLabel names what the derived key is for, so the sealing key itself never keys
// anything but AES-GCM and the audit key can never be used to open a secret.
const auditKeyLabel = "tenantsync audit-chain HMAC-SHA256 v1"

// auditKey derives the audit chain's HMAC key from a 32-byte sealing key with HKDF-SHA256.
func auditKey(op, id string, sealingKey []byte) ([]byte, error) {
	if len(sealingKey) != 32 {
		return nil, Invalid(op, "use a 32-byte (AES-256) key", "key %q is %d bytes", id, len(sealingKey))
	}
	// HKDF fails only for an output longer than 255 hash lengths.
	return hkdf.Key(sha256.New, sealingKey, nil, auditKeyLabel, sha256.Size)
}

// AuditMAC returns the hex HMAC-SHA256 of an entry's canonical encoding, KeyID included, under
// the audit key derived from sealingKey (the KeyProvider's key named e.KeyID). It is the Hash
// of every entry the store writes.
func AuditMAC(sealingKey []byte, e tenantsync.AuditEntry) (string, error) {
	key, err := auditKey("AuditMAC", e.KeyID, sealingKey)
	if err != nil {
		return "", err
	}
	return auditMAC(key, e), nil
}

func auditMAC(key []byte, e tenantsync.AuditEntry) string {
	h := hmac.New(sha256.New, key)
	encodeAudit(h, "tenantsync-audit-v2", e, true)
	return hex.EncodeToString(h.Sum(nil))
}

// ChainAudit fills the chain fields of e as the entry after prev (the zero head for the first
// entry of the account), keyed under kp's current key, and returns it ready to store.
func ChainAudit(ctx context.Context, kp KeyProvider, account string, prev AuditHead, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	const op = "AppendAudit"
	if kp == nil {
		return tenantsync.AuditEntry{}, Invalid(op, "configure the store with a KeyProvider: its keys also key the audit log", "no key provider")
	}
	id, key, err := kp.CurrentKey(ctx)
	if err != nil {
		return tenantsync.AuditEntry{}, &tenantsync.Error{Class: kindOr(err, tenantsync.ErrUnavailable), Service: Service, Op: op,
			Hint: "check the key provider", Err: err}
	}
	mk, err := auditKey(op, id, key)
	if err != nil {
		return tenantsync.AuditEntry{}, err
	}
	e.Account = account
	e.At = Time(e.At)
	e.Detail = maps.Clone(e.Detail)
	if len(e.Detail) == 0 {
		e.Detail = nil // an empty detail and none encode alike, so store them alike
	}
	e.Seq, e.PrevHash, e.KeyID = prev.Seq+1, prev.Hash, id
	e.Hash = auditMAC(mk, e)
	return e, nil
}

// kindOr is err's kind, or def when it carries none.
func kindOr(err, def error) error {
	if k := tenantsync.ClassOf(err); k != nil {
		return k
	}
	return def
}

// AuditKeyError says an entry was keyed under a key the KeyProvider no longer has (or could
// not return), so the chain cannot be verified from that entry on. It matches
// tenantsync.ErrNotFound, or the kind of the provider's error when it has one (a key service
// that is down is ErrUnavailable).
type AuditKeyError struct {
	detail
	KeyID string // the key the entry names
	Seq   int64  // the first entry that needs it
}

func newAuditKeyError(account, id string, seq int64, hint string, err error) *AuditKeyError {
	if hint == "" {
		hint = fmt.Sprintf("restore key %q to the key provider: a retired key must stay available for as long "+
			"as the audit entries it keyed are kept, or they cannot be verified", id)
	}
	return &AuditKeyError{
		detail: tenantsync.Error{Class: kindOr(err, tenantsync.ErrNotFound), Service: Service, Op: "VerifyAudit",
			Message: fmt.Sprintf("audit entry %d of account %q is keyed under key %q, which the key provider does not return", seq, account, id),
			Hint:    hint, Err: err},
		KeyID: id,
		Seq:   seq,
	}
}

// AuditVerifier checks an account's chain one entry at a time, in Seq order. Stores build one
// per VerifyAudit with NewAuditVerifier, feed it every stored entry with Next and end with
// Finish.
type AuditVerifier struct {
	account string
	keys    KeyProvider

	ver      AuditVerification
	prev     AuditHead
	keyed    bool      // a keyed entry verified, so every entry before it is vouched for
	recorded headMark  // the store's recorded head
	expected *headMark // expect, when given
	macKeys  map[string][]byte
}

// headMark is what the chain says about a head: whether its entry verified and has its Hash,
// and the head before it.
type headMark struct {
	AuditHead
	found, match bool
	before       AuditHead
}

func (m *headMark) see(e tenantsync.AuditEntry, prev AuditHead) {
	if m != nil && e.Seq == m.Seq {
		m.found, m.match, m.before = true, e.Hash == m.Hash, prev
	}
}

// NewAuditVerifier returns a verifier of account's chain that opens keyed entries with keys.
// recorded is the head the store records beside the entries (the zero head when it has none),
// which the chain must end at. When expect is not nil (a head kept outside the database), the
// chain must also hold that head and not end before it.
func NewAuditVerifier(account string, keys KeyProvider, recorded AuditHead, expect *AuditHead) (*AuditVerifier, error) {
	const op = "VerifyAudit"
	if err := CheckAccount(op, account); err != nil {
		return nil, err
	}
	v := &AuditVerifier{account: account, keys: keys, recorded: headMark{AuditHead: recorded}, macKeys: map[string][]byte{}}
	if expect != nil {
		if err := expect.check(op); err != nil {
			return nil, err
		}
		v.expected = &headMark{AuditHead: *expect}
	}
	return v, nil
}

// Next checks e against its predecessor. It returns false once the chain is broken (the
// verification then names the first broken entry) or when e's key is unavailable, which is
// the error, an *AuditKeyError.
func (v *AuditVerifier) Next(ctx context.Context, e tenantsync.AuditEntry) (bool, error) {
	if !v.ver.OK() {
		return false, nil
	}
	wantSeq := v.prev.Seq + 1
	var reason string
	switch {
	case e.Account != v.account:
		reason = fmt.Sprintf("entry belongs to account %q", e.Account)
	case e.Seq != wantSeq:
		reason = fmt.Sprintf("sequence jumps from %d to %d", wantSeq-1, e.Seq)
	case e.PrevHash != v.prev.Hash:
		reason = "previous-hash link does not match the previous entry"
	case e.KeyID == "" && v.keyed:
		// Entries before keying are vouched for by the first keyed entry; one after it is
		// someone writing around the key.
		reason = "entry is not keyed, yet an earlier entry is: it was written without the audit key"
	case e.KeyID == "" && AuditHash(e) != e.Hash:
		reason = "hash does not match the entry's content"
	case e.KeyID != "":
		key, err := v.macKey(ctx, e)
		if err != nil {
			return false, err
		}
		if !hmac.Equal([]byte(auditMAC(key, e)), []byte(e.Hash)) {
			reason = fmt.Sprintf("MAC under key %q does not match the entry's content", e.KeyID)
		}
	}
	if reason != "" {
		at := e.Seq
		if at <= 0 {
			at = wantSeq // an entry without a sequence is named by its position
		}
		v.broken(at, reason, v.prev)
		return false, nil
	}
	// A head that disagrees with its entry is reported by Finish, after the checks that may
	// name an earlier entry; the entries after it are still checked.
	v.recorded.see(e, v.prev)
	v.expected.see(e, v.prev)
	v.keyed = v.keyed || e.KeyID != ""
	v.prev = headOf(e)
	v.ver.Entries, v.ver.Head = int(e.Seq), v.prev
	return true, nil
}

// broken records the first broken entry and rolls the verified part back to head.
func (v *AuditVerifier) broken(seq int64, reason string, head AuditHead) {
	v.ver.FirstBroken, v.ver.Reason = seq, reason
	v.ver.Entries, v.ver.Head = int(head.Seq), head
}

func (v *AuditVerifier) macKey(ctx context.Context, e tenantsync.AuditEntry) ([]byte, error) {
	if k, ok := v.macKeys[e.KeyID]; ok {
		return k, nil
	}
	if v.keys == nil {
		return nil, newAuditKeyError(v.account, e.KeyID, e.Seq, "open the store with the KeyProvider that keyed its audit log",
			Invalid("VerifyAudit", "", "no key provider"))
	}
	sk, err := v.keys.Key(ctx, e.KeyID)
	if err != nil {
		return nil, newAuditKeyError(v.account, e.KeyID, e.Seq, "", err)
	}
	k, err := auditKey("VerifyAudit", e.KeyID, sk)
	if err != nil {
		return nil, newAuditKeyError(v.account, e.KeyID, e.Seq, fmt.Sprintf("make the key provider return key %q as the 32 bytes it had", e.KeyID), err)
	}
	v.macKeys[e.KeyID] = k
	return k, nil
}

// Finish checks the end of the chain, once every entry went through Next, against the
// recorded and the expected head, and returns the outcome.
func (v *AuditVerifier) Finish() AuditVerification {
	last := v.prev
	if v.ver.OK() {
		rec := v.recorded
		switch {
		case last.Seq > 0 && !v.keyed:
			// Legacy entries verify only because a keyed entry after them vouches for their
			// hashes; without one anyone could have written them. Keying an existing log
			// appends such an entry to every account.
			v.broken(1, fmt.Sprintf("entries 1 to %d are not keyed and no keyed entry follows them: anyone with write access to the database could have written them", last.Seq), AuditHead{})
		case rec.AuditHead == last:
		case rec.Seq > last.Seq:
			v.broken(last.Seq+1, fmt.Sprintf("the log's recorded head is entry %d but its last entry is %d: entries were removed from its end", rec.Seq, last.Seq), last)
		case rec.match:
			v.broken(rec.Seq+1, fmt.Sprintf("entries follow the log's recorded head, entry %d: the head was rolled back", rec.Seq), rec.AuditHead)
		case rec.found:
			v.broken(rec.Seq, fmt.Sprintf("the log's recorded head does not match entry %d: the head was rewritten", rec.Seq), rec.before)
		default:
			v.broken(1, "the log has entries but records no head: the head was removed", AuditHead{})
		}
	}
	if exp := v.expected; exp != nil && exp.Seq > 0 && (v.ver.OK() || exp.Seq < v.ver.FirstBroken) {
		switch {
		case exp.found && !exp.match:
			v.broken(exp.Seq, "entry is not the one the expected head names: the log was cut back and written again, or rewritten, since that head was recorded", exp.before)
		case !exp.found && v.ver.OK():
			v.broken(last.Seq+1, fmt.Sprintf("the chain ends at entry %d, before the expected head %d: entries were removed from its end", last.Seq, exp.Seq), last)
		}
	}
	return v.ver
}
