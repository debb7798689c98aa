package match

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tenantsync/tenantsync"
)

// Identity is how an M365 user is known for good: its tenant and its Entra object ID. Addresses
// change and can be reused; this does not.
type Identity struct {
	TenantID string
	ObjectID string
}

func (id Identity) String() string { return id.TenantID + "/" + id.ObjectID }

// canonical is the identity as the index compares it: tenant and object IDs are GUIDs, which
// compare without regard to case (a PSA may return the lower-cased form that
// tenantsync.Contact.IdempotencyKey uses). It allocates nothing for IDs already in lower case.
func (id Identity) canonical() Identity {
	return Identity{strings.ToLower(id.TenantID), strings.ToLower(id.ObjectID)}
}

// IdentityOf returns u's Identity.
func IdentityOf(u tenantsync.User) Identity { return Identity{u.TenantID, u.ObjectID} }

// Link is a remembered link between a user and a contact, made earlier by the engine.
type Link struct {
	User      Identity
	ContactID string
}

// Merge is a person's decision that a user is a contact. It wins over a remembered link and
// over every address.
type Merge struct {
	User      Identity
	ContactID string
	By        string // who decided, for the review trail
}

// Outcome is what Match decided.
type Outcome string

// Outcomes of Match.
const (
	// Linked: the user is already linked to ContactID (a merge, a remembered link, or the
	// contact stores the user's object ID).
	Linked Outcome = "linked"
	// Matched: exactly one contact carries one of the user's addresses. AutoLink says whether
	// the match is strong enough to link without a person.
	Matched Outcome = "matched"
	// Ambiguous: several contacts could be this user, or the only one is linked to another
	// user. A person decides; it is never linked automatically.
	Ambiguous Outcome = "ambiguous"
	// None: no contact matches. Create says whether one may be created.
	None Outcome = "none"
	// Excluded: the account is not a person to keep as a contact (shared, room or equipment
	// mailbox, guest, disabled, service account).
	Excluded Outcome = "excluded"
)

// Via says how a result was reached.
type Via string

// The ways a user can reach a contact.
const (
	ViaMerge        Via = "merge"               // a person's merge
	ViaLink         Via = "remembered link"     // a link the engine stored earlier
	ViaContactField Via = "contact object ID"   // the contact stores the user's tenant and object ID
	ViaPrimary      Via = "primary address"     // the SMTP: proxy address (or mail, without proxies)
	ViaAlias        Via = "alias"               // an smtp: proxy address or the mail attribute
	ViaUPN          Via = "user principal name" // the UPN
	ViaGuestHome    Via = "guest home address"  // decoded from a guest's #EXT# UPN
	ViaOtherMail    Via = "other mail"          // otherMails
	ViaPlus         Via = "plus-stripped address"
)

// Result is Match's answer for one user.
type Result struct {
	User       Identity
	Outcome    Outcome
	ContactID  string   // Linked and Matched
	Candidates []string // Ambiguous: the contact IDs a person chooses from, sorted
	Via        Via      // how the contact was reached
	Address    string   // the canonical address that matched, when an address did
	Confidence float64  // in [0,1]; 0 for None and Excluded
	// AutoLink is true when the engine may link without a person: Linked, or Matched at or
	// above Config.AutoLinkThreshold.
	AutoLink bool
	// Create is true for None when Config.AutoCreate is on and the user has an address.
	Create bool
	Reason string // one sentence a person can read
}

// Skip is a contact value or remembered link that NewIndex could not use.
type Skip struct {
	ContactID string
	Value     string
	Reason    string
}

// slot is a map value: a contact index when >= 0, otherwise -(i+1) for ix.multi[i], the
// several contacts sharing one address. It keeps the common single-contact case allocation-free.
type slot int32

// entry keeps the key beside its slot so a hit can report the address without allocating.
type entry struct {
	key  string
	s    slot
	onms bool // the address is on an onmicrosoft.com routing domain
}

type contactEntry struct {
	id     string
	linked Identity // the user this contact is linked to, or the zero Identity
}

type userLink struct {
	contactID string
	via       Via
}

// userLinks maps identities to links, keyed by object ID alone (a GUID, unique in practice
// across tenants) so a lookup hashes one string; the tenant is compared on a hit.
type userLinks struct {
	m     map[string][]tenantLink
	n     int
	bloom [1024]uint64 // one bit per hash of an object ID's tail: most misses skip the map
}

// tailHash hashes the last eight bytes of an object ID (random in a GUID) cheaply, ignoring
// ASCII case, so that a user's ID as given and its canonical form hash alike.
func tailHash(objectID string) uint32 {
	var x uint64
	t := objectID
	if n := len(t); n >= 8 {
		t = t[n-8:]
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		x = x<<8 | uint64(c)
	}
	return uint32((x*0x9e3779b97f4a7c15)>>48) & (1024*64 - 1)
}

// mayHave reports whether a link for objectID, as given or canonical, may exist; false is
// certain. An ID with bytes outside ASCII always may: its canonical form can differ in more
// than ASCII case.
func (u *userLinks) mayHave(objectID string) bool {
	for i := 0; i < len(objectID); i++ {
		if objectID[i] >= utf8.RuneSelf {
			return true
		}
	}
	h := tailHash(objectID)
	return u.bloom[h/64]&(1<<(h%64)) != 0
}

type tenantLink struct {
	tenantID string
	userLink
}

func (u *userLinks) get(id Identity) (userLink, bool) {
	for _, l := range u.m[id.ObjectID] {
		if l.tenantID == id.TenantID {
			return l.userLink, true
		}
	}
	return userLink{}, false
}

func (u *userLinks) set(id Identity, l userLink) {
	ls := u.m[id.ObjectID]
	for i := range ls {
		if ls[i].tenantID == id.TenantID {
			ls[i].userLink = l
			return
		}
	}
	u.m[id.ObjectID] = append(ls, tenantLink{id.TenantID, l})
	u.n++
	h := tailHash(id.ObjectID)
	u.bloom[h/64] |= 1 << (h % 64)
}

func (u *userLinks) del(id Identity) {
	ls := u.m[id.ObjectID]
	for i := range ls {
		if ls[i].tenantID == id.TenantID {
			ls = slices.Delete(ls, i, i+1)
			u.n--
			if len(ls) == 0 {
				delete(u.m, id.ObjectID)
			} else {
				u.m[id.ObjectID] = ls
			}
			return
		}
	}
}

// Index answers Match for one client's contacts in constant time per user address. Build it
// once per client and sync run with NewIndex. Match and the read methods may be called from
// several goroutines at once; Remember must not run concurrently with anything else.
type Index struct {
	cfg       Config
	threshold float64
	patterns  *patternSet

	contacts []contactEntry
	byAddr   map[string]entry // canonical address → contacts
	byPlus   map[string]entry // plus-stripped canonical address of a contact address with a tag → contacts
	multi    [][]int32
	byUser   userLinks
	byID     map[string]int32    // contact ID → index in contacts
	domains  map[string]struct{} // canonical domains of contact addresses
	skipped  []Skip
}

// NewIndex indexes a client's contacts (pass inactive ones too, so a returning user finds its
// old contact), the links the engine remembered, and the merges people made. It fails only on
// an invalid Config; unusable contact addresses and conflicting links are listed by Skipped.
func NewIndex(contacts []tenantsync.Contact, links []Link, merges []Merge, cfg Config) (*Index, error) {
	pats, err := compilePatterns(cfg.ServiceAccountPatterns)
	if err != nil {
		return nil, err
	}
	th := cfg.AutoLinkThreshold
	if th == 0 {
		th = DefaultAutoLinkThreshold
	}
	if th < 0 || th > 1 {
		return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "set AutoLinkThreshold between 0 and 1, or 0 for the default",
			"match: AutoLinkThreshold %v is outside [0,1]", cfg.AutoLinkThreshold)
	}
	ix := &Index{
		cfg:       cfg,
		threshold: th,
		patterns:  newPatternSet(pats),
		contacts:  make([]contactEntry, 0, len(contacts)),
		byAddr:    make(map[string]entry, len(contacts)),
		byUser:    userLinks{m: make(map[string][]tenantLink, len(links)+len(merges))},
		byID:      make(map[string]int32, len(contacts)),
		domains:   make(map[string]struct{}),
	}
	var buf [256]byte
	for _, c := range contacts {
		if c.ID == "" {
			ix.skipped = append(ix.skipped, Skip{Value: c.Email, Reason: "contact has no ID"})
			continue
		}
		if _, dup := ix.byID[c.ID]; dup {
			ix.skipped = append(ix.skipped, Skip{ContactID: c.ID, Reason: "contact ID listed twice; the first is used"})
			continue
		}
		ci := int32(len(ix.contacts))
		ix.contacts = append(ix.contacts, contactEntry{id: c.ID})
		ix.byID[c.ID] = ci
		seen := make([]string, 0, 1+len(c.AltEmails))
		for _, e := range append([]string{c.Email}, c.AltEmails...) {
			if strings.TrimSpace(e) == "" {
				continue
			}
			key, ok := ix.contactKey(buf[:0], c.ID, e)
			if !ok || slices.Contains(seen, key) {
				continue
			}
			seen = append(seen, key)
			ix.add(ix.byAddr, key, ci)
			ix.domains[key[strings.LastIndexByte(key, '@')+1:]] = struct{}{}
			if a, err := ParseAddress(key); err == nil {
				if p, ok := a.PlusStripped(); ok {
					if ix.byPlus == nil {
						ix.byPlus = make(map[string]entry)
					}
					ix.add(ix.byPlus, p.String(), ci)
				}
			}
		}
	}
	// Precedence, weakest first so stronger sources overwrite: the contact's own stored
	// object ID, then remembered links, then merges.
	fieldBound := make(map[string]bool)
	for _, c := range contacts {
		if c.TenantID != "" && c.ObjectID != "" && c.ID != "" && !fieldBound[c.ID] {
			fieldBound[c.ID] = true
			ix.bind(Identity{c.TenantID, c.ObjectID}, c.ID, ViaContactField)
		}
	}
	sortedLinks := slices.Clone(links)
	slices.SortStableFunc(sortedLinks, func(a, b Link) int {
		return cmp.Or(cmp.Compare(a.User.TenantID, b.User.TenantID), cmp.Compare(a.User.ObjectID, b.User.ObjectID))
	})
	for _, l := range sortedLinks {
		ix.bind(l.User, l.ContactID, ViaLink)
	}
	for _, m := range merges {
		ix.bind(m.User, m.ContactID, ViaMerge)
	}
	return ix, nil
}

func (ix *Index) contactKey(dst []byte, id, e string) (string, bool) {
	s := strings.TrimSpace(e)
	if needsRFC5322(s) {
		a, err := ParseAddress(s)
		if err != nil {
			ix.skipped = append(ix.skipped, Skip{ContactID: id, Value: e, Reason: string(err.(*AddressError).Reason)})
			return "", false
		}
		return a.String(), true
	}
	key, _, r := appendCanonical(dst, s, nil)
	if r != "" {
		ix.skipped = append(ix.skipped, Skip{ContactID: id, Value: e, Reason: string(r)})
		return "", false
	}
	return string(key), true
}

func (ix *Index) add(m map[string]entry, key string, ci int32) {
	e, ok := m[key]
	s := e.s
	switch {
	case !ok:
		m[key] = entry{key, slot(ci), isOnMicrosoft(key[strings.LastIndexByte(key, '@')+1:])}
	case s >= 0:
		if int32(s) == ci {
			return
		}
		ix.multi = append(ix.multi, []int32{int32(s), ci})
		m[key] = entry{key, slot(-len(ix.multi)), e.onms}
	default:
		l := &ix.multi[-s-1]
		if !slices.Contains(*l, ci) {
			*l = append(*l, ci)
		}
	}
}

// bind records that user is contactID, undoing an older binding of either side: a contact is
// linked to one user at most.
func (ix *Index) bind(user Identity, contactID string, via Via) {
	user = user.canonical()
	if user.TenantID == "" || user.ObjectID == "" || contactID == "" {
		ix.skipped = append(ix.skipped, Skip{ContactID: contactID, Value: user.String(), Reason: string(via) + " without a tenant ID, object ID or contact ID"})
		return
	}
	if old, ok := ix.byUser.get(user); ok && old.contactID != contactID {
		if ci, ok := ix.byID[old.contactID]; ok && ix.contacts[ci].linked == user {
			ix.contacts[ci].linked = Identity{}
		}
	}
	if ci, ok := ix.byID[contactID]; ok {
		prev := ix.contacts[ci].linked
		if prev != (Identity{}) && prev != user {
			if l, ok := ix.byUser.get(prev); ok && l.contactID == contactID {
				ix.skipped = append(ix.skipped, Skip{ContactID: contactID, Value: prev.String(),
					Reason: "superseded: " + string(via) + " binds the contact to " + user.String()})
				ix.byUser.del(prev)
			}
		}
		ix.contacts[ci].linked = user
	}
	ix.byUser.set(user, userLink{contactID: contactID, via: via})
}

// Remember records a link the engine just made, so later users in the same run see the
// contact as taken. It must not run concurrently with Match.
func (ix *Index) Remember(l Link) { ix.bind(l.User, l.ContactID, ViaLink) }

// RememberMerge records a person's merge made during the run.
func (ix *Index) RememberMerge(m Merge) { ix.bind(m.User, m.ContactID, ViaMerge) }

// Len returns the number of distinct canonical addresses indexed.
func (ix *Index) Len() int { return len(ix.byAddr) }

// Skipped lists contact addresses that are not addresses and links that were dropped, with why,
// sorted by contact ID.
func (ix *Index) Skipped() []Skip {
	out := slices.Clone(ix.skipped)
	slices.SortStableFunc(out, func(a, b Skip) int { return cmp.Compare(a.ContactID, b.ContactID) })
	return out
}

// LinkedUser returns the user a contact is linked to, if any.
func (ix *Index) LinkedUser(contactID string) (Identity, bool) {
	ci, ok := ix.byID[contactID]
	if !ok || ix.contacts[ci].linked == (Identity{}) {
		return Identity{}, false
	}
	return ix.contacts[ci].linked, true
}
