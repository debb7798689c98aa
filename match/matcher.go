package match

import (
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
	if len(ix.byUser) > 0 {
		if l, ok := ix.byUser[id]; ok {
			return Result{User: id, Outcome: Linked, ContactID: l.contactID, Via: l.via, Confidence: ConfidenceLink,
				AutoLink: true, Reason: linkedReason(l.via)}
		}
	}
	if why := ix.exclusion(u, mailbox); why != "" {
		return Result{User: id, Outcome: Excluded, Reason: why}
	}
	var buf [256]byte
	var h hits
	primary := primaryRaw(u)
	if primary != "" {
		if key, ok := canonicalKey(buf[:0], primary); ok {
			ix.lookup(&h, ix.byAddr, key, ConfidencePrimary, ViaPrimary)
		}
	}
	if h.n > 0 {
		return ix.decide(id, &h)
	}
	ix.eachAlias(u, primary, buf[:0], func(key []byte, conf float64, via Via) {
		ix.lookup(&h, ix.byAddr, key, conf, via)
	})
	if h.n > 0 {
		return ix.decide(id, &h)
	}
	addresses := 0
	visit := func(key []byte, _ float64, _ Via) {
		addresses++
		at := lastAt(key)
		if i := plusTag(string(key[:at]), string(key[at+1:])); i > 0 {
			stripped := append(key[:i:i], key[at:]...)
			ix.lookup(&h, ix.byAddr, stripped, ConfidencePlus, ViaPlus)
		}
		if ix.byPlus != nil {
			ix.lookup(&h, ix.byPlus, key, ConfidencePlus, ViaPlus)
			if i := plusTag(string(key[:at]), string(key[at+1:])); i > 0 {
				ix.lookup(&h, ix.byPlus, append(key[:i:i], key[at:]...), ConfidencePlus, ViaPlus)
			}
		}
	}
	if primary != "" {
		if key, ok := canonicalKey(buf[:0], primary); ok {
			visit(key, 0, ViaPrimary)
		}
	}
	ix.eachAlias(u, primary, buf[:0], visit)
	if h.n > 0 {
		return ix.decide(id, &h)
	}
	r := Result{User: id, Outcome: None}
	switch {
	case addresses == 0:
		r.Reason = "the user has no usable email address to match or create a contact with"
	case ix.cfg.AutoCreate:
		r.Create = true
		r.Reason = "no contact has any of the user's " + strconv.Itoa(addresses) + " addresses; a contact may be created"
	default:
		r.Reason = "no contact has any of the user's " + strconv.Itoa(addresses) + " addresses; AutoCreate is off"
	}
	return r
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
	if via != ViaPlus && isOnMicrosoft(e.key[strings.LastIndexByte(e.key, '@')+1:]) {
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

func (ix *Index) decide(id Identity, h *hits) Result {
	if h.n == 1 {
		x := h.at(0)
		c := ix.contacts[x.contact]
		if c.linked != (Identity{}) && c.linked != id {
			return Result{User: id, Outcome: Ambiguous, Candidates: []string{c.id}, Via: x.via, Address: x.key,
				Confidence: x.conf, Reason: "the contact with " + x.key + " is already linked to user " + c.linked.String() +
					"; a contact is never linked to two users, so a person decides"}
		}
		r := Result{User: id, Outcome: Matched, ContactID: c.id, Via: x.via, Address: x.key, Confidence: x.conf,
			AutoLink: x.conf >= ix.threshold}
		if r.AutoLink {
			r.Reason = "one contact has the user's " + string(x.via)
		} else {
			r.Reason = "one contact matches only through the " + string(x.via) + "; a person confirms"
		}
		return r
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
		Reason: strconv.Itoa(h.n) + " contacts match the user's " + string(best.via) + " (" + strings.Join(addrs, ", ") +
			"); a person decides which one, or merges them"}
}

// primaryRaw returns u's primary address as given: the SMTP: proxy address, or mail when
// there is none.
func primaryRaw(u tenantsync.User) string {
	for _, p := range u.ProxyAddresses {
		if len(p) > 5 && p[:5] == "SMTP:" {
			return p[5:]
		}
	}
	return u.Mail
}

// canonicalKey writes the canonical form of a user-supplied address into dst; the fast path
// allocates nothing.
func canonicalKey(dst []byte, s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if needsRFC5322(s) {
		a, err := ParseAddress(s)
		if err != nil {
			return dst, false
		}
		return append(dst, a.String()...), true
	}
	key, _, r := appendCanonical(dst, s)
	return key, r == ""
}

// eachAlias calls fn with the canonical form of every address of u other than primary:
// smtp: proxies, mail, the UPN (or a guest's decoded home address) and otherMails.
func (ix *Index) eachAlias(u tenantsync.User, primary string, buf []byte, fn func(key []byte, conf float64, via Via)) {
	var pbuf [256]byte
	pkey, hasPrimary := []byte(nil), false
	if primary != "" {
		pkey, hasPrimary = canonicalKey(pbuf[:0], primary)
	}
	emit := func(raw string, conf float64, via Via) {
		key, ok := canonicalKey(buf[:0], raw)
		if !ok || (hasPrimary && string(key) == string(pkey)) {
			return
		}
		fn(key, conf, via)
	}
	for _, p := range u.ProxyAddresses {
		if len(p) > 5 && p[:5] == "SMTP:" {
			continue
		}
		_, rest, _, ok := splitProxy(p)
		if ok {
			emit(rest, ConfidenceAlias, ViaAlias)
		}
	}
	if u.Mail != "" {
		emit(u.Mail, ConfidenceAlias, ViaAlias)
	}
	if u.UserPrincipalName != "" {
		if IsGuestUPN(u.UserPrincipalName) {
			if a, err := DecodeGuestUPN(u.UserPrincipalName); err == nil {
				emit(a.String(), ConfidenceUPN, ViaGuestHome)
			}
		} else {
			emit(u.UserPrincipalName, ConfidenceUPN, ViaUPN)
		}
	}
	for _, m := range u.OtherMails {
		emit(m, ConfidenceOtherMail, ViaOtherMail)
	}
}

// exclusion returns why u is not a person to keep as a contact, or "".
func (ix *Index) exclusion(u tenantsync.User, mailbox tenantsync.MailboxType) string {
	if !mailbox.IsPerson() {
		return string(mailbox) + " mailbox: not a person's"
	}
	if !ix.cfg.AllowGuests && (u.IsGuest() || IsGuestUPN(u.UserPrincipalName)) {
		return "guest user from another organisation; set AllowGuests to match guests"
	}
	if !ix.cfg.AllowDisabled && !u.AccountEnabled {
		return "sign-in is blocked (disabled user); set AllowDisabled to match disabled users"
	}
	if p, addr := ix.serviceAccount(u); p != nil {
		return "service account: " + addr + " matches the pattern " + strconv.Quote(p.raw)
	}
	return ""
}

func (ix *Index) serviceAccount(u tenantsync.User) (*pattern, string) {
	if len(ix.patterns) == 0 {
		return nil, ""
	}
	check := func(addr string) *pattern {
		addr = strings.TrimSpace(addr)
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 {
			return nil
		}
		for i := range ix.patterns {
			p := &ix.patterns[i]
			if (p.full && p.match(addr)) || (!p.full && p.match(addr[:at])) {
				return p
			}
		}
		return nil
	}
	primary := primaryRaw(u)
	if p := check(primary); p != nil {
		return p, primary
	}
	if u.Mail != primary {
		if p := check(u.Mail); p != nil {
			return p, u.Mail
		}
	}
	if !IsGuestUPN(u.UserPrincipalName) {
		if p := check(u.UserPrincipalName); p != nil {
			return p, u.UserPrincipalName
		}
	}
	return nil, ""
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
