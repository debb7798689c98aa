package match

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// hit is one contact reached by one of the user's addresses.
type hit struct {
	contact int32
	conf    float64
	via     Via
	key     string
}

// hits collects contacts reached in one step of the cascade, keeping the strongest way each
// was reached. Its inline array keeps a user with a handful of addresses allocation-free.
type hits struct {
	n      int
	inline [4]hit
	more   []hit
}

func (h *hits) at(i int) *hit {
	if i < len(h.inline) {
		return &h.inline[i]
	}
	return &h.more[i-len(h.inline)]
}

func (h *hits) add(x hit) {
	for i := range h.n {
		if p := h.at(i); p.contact == x.contact {
			if x.conf > p.conf {
				*p = x
			}
			return
		}
	}
	if h.n < len(h.inline) {
		h.inline[h.n] = x
	} else {
		h.more = append(h.more, x)
	}
	h.n++
}

// Match decides which contact u is. mailbox is the type of u's Exchange mailbox, or "" when u
// has none or it is unknown. The cascade and its confidences are described on the package.
func (ix *Index) Match(u tenantsync.User, mailbox tenantsync.MailboxType) Result {
	id := Identity{u.TenantID, u.ObjectID}
	if ix.byUser.n > 0 && ix.byUser.mayHave(u.ObjectID) {
		if l, ok := ix.byUser.get(id.canonical()); ok {
			return Result{User: id, Outcome: Linked, ContactID: l.contactID, Via: l.via, Confidence: ConfidenceLink,
				AutoLink: true, Reason: linkedReason(l.via)}
		}
	}
	var pbuf [128]byte
	primary := primaryRaw(&u)
	pkey, pok := []byte(nil), false
	if primary != "" {
		pkey, pok = ix.canonicalKey(pbuf[:0], primary)
	}
	if why := ix.exclusion(&u, mailbox, primary, pkey); why != "" {
		return Result{User: id, Outcome: Excluded, Reason: why}
	}
	if pok {
		if e, ok := ix.byAddr[string(pkey)]; ok && e.s >= 0 {
			// The common case, one contact on the primary address, without the general
			// machinery of collecting hits.
			conf := ConfidencePrimary
			if e.onms {
				conf = ConfidenceOnMicrosoft
			}
			return ix.decideOne(id, hit{contact: int32(e.s), conf: conf, via: ViaPrimary, key: e.key})
		}
	}
	return ix.matchRest(id, &u, primary, pkey, pok)
}

// matchRest runs the cascade from the primary address on; it is apart from Match so that
// the common case does not pay for its buffers.
func (ix *Index) matchRest(id Identity, u *tenantsync.User, primary string, pkey []byte, pok bool) Result {
	var h hits
	if pok {
		ix.lookup(&h, ix.byAddr, pkey, ConfidencePrimary, ViaPrimary)
		if h.n > 0 {
			return ix.decide(id, &h)
		}
	}
	var arr [8]alias
	aliases := aliasesOf(u, arr[:0])
	// Each distinct alias is canonicalised once, into one buffer, for the exact pass and the
	// plus-stripped pass.
	var kbuf [512]byte
	var kidx [8][2]int32
	keys := kbuf[:0]
	spans := kidx[:0]
	plus := pok && bytes.IndexByte(pkey, '+') >= 0
	for _, a := range aliases {
		if a.raw == "" || (pok && a.raw == primary) {
			continue
		}
		start := len(keys)
		var ok bool
		keys, ok = ix.canonicalKey(keys, a.raw)
		key := keys[start:]
		if !ok || (pok && string(key) == string(pkey)) || seenKey(keys, spans, key) {
			keys = keys[:start]
			continue
		}
		spans = append(spans, [2]int32{int32(start), int32(len(keys))})
		ix.lookup(&h, ix.byAddr, key, a.conf, a.via)
		plus = plus || bytes.IndexByte(key, '+') >= 0
	}
	if h.n > 0 {
		return ix.decide(id, &h)
	}
	addresses := len(spans)
	if pok {
		addresses++
	}
	if plus || ix.byPlus != nil {
		if pok {
			ix.lookupPlus(&h, pkey)
		}
		for _, sp := range spans {
			ix.lookupPlus(&h, keys[sp[0]:sp[1]])
		}
		if h.n > 0 {
			return ix.decide(id, &h)
		}
	}
	r := Result{User: id, Outcome: None}
	switch {
	case addresses == 0:
		r.Reason = "the user has no usable email address to match or create a contact with"
	case ix.cfg.AutoCreate:
		r.Create = true
		r.Reason = "no contact has any of the user's addresses; a contact may be created"
	default:
		r.Reason = "no contact has any of the user's addresses, and AutoCreate is off"
	}
	return r
}

// seenKey reports whether key is one of the keys already collected in buf.
func seenKey(buf []byte, spans [][2]int32, key []byte) bool {
	for _, sp := range spans {
		if string(buf[sp[0]:sp[1]]) == string(key) {
			return true
		}
	}
	return false
}

func linkedReason(v Via) string {
	switch v {
	case ViaMerge:
		return "a person merged this user with the contact"
	case ViaContactField:
		return "the contact stores this user's tenant and object ID"
	default:
		return "the user was linked to the contact before"
	}
}

func matchedReason(v Via, auto bool) string {
	if !auto {
		if v == ViaPlus {
			return "one contact matches only once a +tag is removed; a person confirms"
		}
		return "one contact matches, below the auto-link confidence; a person confirms"
	}
	switch v {
	case ViaPrimary:
		return "one contact has the user's primary address"
	case ViaAlias:
		return "one contact has one of the user's aliases"
	case ViaUPN:
		return "one contact has the user's principal name"
	case ViaGuestHome:
		return "one contact has the guest's home address"
	case ViaOtherMail:
		return "one contact has one of the user's other mail addresses"
	default:
		return "one contact has one of the user's addresses"
	}
}

func lastAt(key []byte) int {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '@' {
			return i
		}
	}
	return -1
}

func (ix *Index) lookup(h *hits, m map[string]entry, key []byte, conf float64, via Via) {
	e, ok := m[string(key)]
	if !ok {
		return
	}
	if via != ViaPlus && e.onms {
		conf = min(conf, ConfidenceOnMicrosoft)
	}
	if e.s >= 0 {
		h.add(hit{contact: int32(e.s), conf: conf, via: via, key: e.key})
		return
	}
	for _, ci := range ix.multi[-e.s-1] {
		h.add(hit{contact: ci, conf: conf, via: via, key: e.key})
	}
}

// lookupPlus is the fallback after every exact lookup failed: the user's address without its
// +tag against contact addresses, and the user's address (with or without its tag) against
// contact addresses without theirs.
func (ix *Index) lookupPlus(h *hits, key []byte) {
	at := lastAt(key)
	i := plusTagBytes(key[:at], key[at+1:])
	var sbuf [256]byte
	var stripped []byte
	if i > 0 {
		stripped = append(append(sbuf[:0], key[:i]...), key[at:]...)
		ix.lookup(h, ix.byAddr, stripped, ConfidencePlus, ViaPlus)
	}
	if ix.byPlus != nil {
		ix.lookup(h, ix.byPlus, key, ConfidencePlus, ViaPlus)
		if i > 0 {
			ix.lookup(h, ix.byPlus, stripped, ConfidencePlus, ViaPlus)
		}
	}
}

func plusTagBytes(local, domain []byte) int {
	i := bytes.IndexByte(local, '+')
	if i <= 0 || bytes.Equal(domain, []byte("onmicrosoft.com")) || bytes.HasSuffix(domain, []byte(".onmicrosoft.com")) {
		return -1
	}
	return i
}

func (ix *Index) decideOne(id Identity, x hit) Result {
	c := &ix.contacts[x.contact]
	if c.linked != (Identity{}) && c.linked != id.canonical() {
		return Result{User: id, Outcome: Ambiguous, Candidates: []string{c.id}, Via: x.via, Address: x.key,
			Confidence: x.conf, Reason: "the contact with " + x.key + " is already linked to user " + c.linked.String() +
				"; a contact is never linked to two users, so a person decides"}
	}
	auto := x.conf >= ix.threshold
	return Result{User: id, Outcome: Matched, ContactID: c.id, Via: x.via, Address: x.key, Confidence: x.conf,
		AutoLink: auto, Reason: matchedReason(x.via, auto)}
}

func (ix *Index) decide(id Identity, h *hits) Result {
	if h.n == 1 {
		return ix.decideOne(id, *h.at(0))
	}
	ids := make([]string, h.n)
	addrs := make([]string, 0, h.n)
	best := h.at(0)
	for i := range h.n {
		x := h.at(i)
		ids[i] = ix.contacts[x.contact].id
		if !slices.Contains(addrs, x.key) {
			addrs = append(addrs, x.key)
		}
		if x.conf > best.conf {
			best = x
		}
	}
	slices.Sort(ids)
	slices.Sort(addrs)
	return Result{User: id, Outcome: Ambiguous, Candidates: ids, Via: best.via, Address: best.key, Confidence: best.conf,
		Reason: strconv.Itoa(h.n) + " contacts match the user's addresses (" + strings.Join(addrs, ", ") +
			"); a person decides which one, or merges them"}
}

// primaryRaw returns u's primary address as given: the SMTP: proxy address, or mail when
// there is none.
func primaryRaw(u *tenantsync.User) string {
	for _, p := range u.ProxyAddresses {
		if len(p) > 5 && p[:5] == "SMTP:" {
			return p[5:]
		}
	}
	return u.Mail
}

// canonicalKey writes the canonical form of a user's address into dst; the fast path
// allocates nothing.
func (ix *Index) canonicalKey(dst []byte, s string) ([]byte, bool) {
	if s == "" {
		return dst, false
	}
	if s[0] <= ' ' || s[len(s)-1] <= ' ' {
		s = strings.TrimSpace(s)
	}
	// A bare address is the rule; the display-name forms fail the fast path (their specials
	// are not valid in an addr-spec) and only then pay for net/mail.
	key, _, r := appendCanonical(dst, s, ix.domains)
	if r == "" {
		return key, true
	}
	if !needsRFC5322(s) {
		return dst, false
	}
	a, err := ParseAddress(s)
	if err != nil {
		return dst, false
	}
	return append(dst, a.String()...), true
}

// alias is one of a user's addresses other than the primary, as given.
type alias struct {
	raw  string
	conf float64
	via  Via
}

// aliasesOf appends u's addresses other than its SMTP: primary to dst: smtp: proxies, mail,
// the UPN (or a guest's decoded home address) and otherMails, in that order.
func aliasesOf(u *tenantsync.User, dst []alias) []alias {
	for _, p := range u.ProxyAddresses {
		if len(p) > 5 && p[:5] == "SMTP:" {
			continue
		}
		if _, rest, _, ok := splitProxy(p); ok {
			dst = append(dst, alias{rest, ConfidenceAlias, ViaAlias})
		}
	}
	if u.Mail != "" {
		dst = append(dst, alias{u.Mail, ConfidenceAlias, ViaAlias})
	}
	if u.UserPrincipalName != "" {
		if isGuestUPN(u.UserPrincipalName) {
			if a, err := DecodeGuestUPN(u.UserPrincipalName); err == nil {
				dst = append(dst, alias{a.String(), ConfidenceUPN, ViaGuestHome})
			}
		} else {
			dst = append(dst, alias{u.UserPrincipalName, ConfidenceUPN, ViaUPN})
		}
	}
	for _, m := range u.OtherMails {
		dst = append(dst, alias{m, ConfidenceOtherMail, ViaOtherMail})
	}
	return dst
}

// isGuestUPN is IsGuestUPN with a cheap test first: most UPNs hold no "#" at all.
func isGuestUPN(upn string) bool {
	return strings.IndexByte(upn, '#') >= 0 && IsGuestUPN(upn)
}

// exclusion returns why u is not a person to keep as a contact, or "". pkey is the
// canonical primary address, or empty.
func (ix *Index) exclusion(u *tenantsync.User, mailbox tenantsync.MailboxType, primary string, pkey []byte) string {
	switch mailbox {
	case tenantsync.MailboxUser, "":
	case tenantsync.MailboxShared:
		return "shared mailbox: not a person's"
	case tenantsync.MailboxRoom:
		return "room mailbox: not a person's"
	case tenantsync.MailboxEquipment:
		return "equipment mailbox: not a person's"
	default:
		return "mailbox of type " + string(mailbox) + ": not a person's"
	}
	guest := u.UserType == "Guest" || isGuestUPN(u.UserPrincipalName)
	if guest && !ix.cfg.AllowGuests {
		return "guest user from another organisation; set AllowGuests to match guests"
	}
	if !ix.cfg.AllowDisabled && !u.AccountEnabled {
		return "sign-in is blocked (disabled user); set AllowDisabled to match disabled users"
	}
	if len(ix.patterns.all) == 0 {
		return ""
	}
	// The primary is checked in canonical form, and mail and UPN only when they differ from
	// it as given and as canonicalised (they usually are the same address).
	if len(pkey) > 0 {
		if p := ix.patterns.matchLower(pkey, lastAt(pkey)); p != nil {
			return serviceReason(primary, p)
		}
	} else if p := ix.serviceAccount(primary); p != nil {
		return serviceReason(primary, p)
	}
	if u.Mail != primary && u.Mail != string(pkey) {
		if p := ix.serviceAccount(u.Mail); p != nil {
			return serviceReason(u.Mail, p)
		}
	}
	if upn := u.UserPrincipalName; !guest && upn != primary && upn != u.Mail && upn != string(pkey) {
		if p := ix.serviceAccount(upn); p != nil {
			return serviceReason(upn, p)
		}
	}
	return ""
}

func serviceReason(addr string, p *pattern) string {
	return "service account: " + strings.TrimSpace(addr) + " matches the pattern " + strconv.Quote(p.raw)
}

// serviceAccount returns a pattern addr matches, ignoring case.
func (ix *Index) serviceAccount(addr string) *pattern {
	if addr == "" {
		return nil
	}
	if addr[0] <= ' ' || addr[len(addr)-1] <= ' ' {
		addr = strings.TrimSpace(addr)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || len(addr) > 128 {
		return ix.serviceAccountLong(addr, at)
	}
	var buf [128]byte
	low := buf[:len(addr)]
	for i := 0; i < len(addr); i++ {
		low[i] = lowerASCII(addr[i])
	}
	return ix.patterns.matchLower(low, at)
}

func (ix *Index) serviceAccountLong(addr string, at int) *pattern {
	if at <= 0 {
		return nil
	}
	low := make([]byte, len(addr))
	for i := 0; i < len(addr); i++ {
		low[i] = lowerASCII(addr[i])
	}
	return ix.patterns.matchLower(low, at)
}

// MatchAll matches a batch of users, such as one tenant's listing. mailboxes maps object IDs
// to mailbox types (users without an entry have no mailbox or an unknown one). Beyond Match,
// it keeps two users of the batch from both being linked to one contact: both become Ambiguous.
// Results are in the order of users.
func (ix *Index) MatchAll(users []tenantsync.User, mailboxes map[string]tenantsync.MailboxType) []Result {
	out := make([]Result, len(users))
	claims := make(map[string][]int)
	for i, u := range users {
		out[i] = ix.Match(u, mailboxes[u.ObjectID])
		if r := out[i]; r.Outcome == Matched || r.Outcome == Linked {
			claims[r.ContactID] = append(claims[r.ContactID], i)
		}
	}
	for cid, idx := range claims {
		if len(idx) < 2 {
			continue
		}
		var others []string
		for _, i := range idx {
			others = append(others, out[i].User.String())
		}
		slices.Sort(others)
		for _, i := range idx {
			if out[i].Outcome == Linked {
				continue // the remembered link stands; the others contend with it
			}
			out[i].Outcome = Ambiguous
			out[i].Candidates = []string{cid}
			out[i].ContactID = ""
			out[i].AutoLink = false
			out[i].Reason = "contact " + cid + " matches several users of this batch (" + strings.Join(others, ", ") +
				"); a person decides which user it is"
		}
	}
	return out
}
