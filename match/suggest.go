package match

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/tenantsync/tenantsync"
)

// Evidence names one kind of signal that a tenant belongs to a client.
type Evidence string

// Kinds of evidence, strongest first.
const (
	EvidenceTenantID        Evidence = "stored-tenant-id" // the client already records the tenant ID
	EvidenceDefaultDomain   Evidence = "default-domain"   // the tenant's default domain is a client domain
	EvidenceSecondaryDomain Evidence = "secondary-domain" // another verified domain is a client domain
	EvidenceContactDomain   Evidence = "contact-domain"   // the client's contacts' emails sit on a tenant domain
	EvidenceSameOrg         Evidence = "registrable-domain"
	EvidenceName            Evidence = "name"         // the company names are alike
	EvidenceDomainLabel     Evidence = "domain-label" // the client's name spells a tenant domain's label
	// EvidenceNameSound: a kana or Hangul name, romanised, or a kanji name, read by a
	// dictionary (with match/kanji imported), sounds like the other's Latin name ("アルパイン", "arupain", and "Alpine";
	// "霧島酒造", "kirishima shuzou", and "Kirishima Shuzou"). A hint only: it never leads to
	// an automatic acceptance without proof (the stored tenant ID or the default domain).
	EvidenceNameSound Evidence = "name-sound"
	// EvidenceExactNameRival is a note, not evidence (Score 0): the candidate's confidence was
	// held below that of another client that bears the tenant's exact name, with nothing
	// against it, because this candidate had only hints (contacts' addresses, a similar name).
	EvidenceExactNameRival Evidence = "exact-name-rival"
)

// Scores of each kind of evidence. Domains outrank names because a verified domain is proof of
// control while names collide; a name alone (at most ScoreName) can never reach the default
// AutoAcceptMin.
const (
	ScoreTenantID           = 1.0
	ScoreDefaultDomain      = 0.97
	ScoreSecondaryDomain    = 0.88 // Alga PSA's figure for a secondary or billing-email domain
	ScoreContactMajority    = 0.93 // half or more of the client's company-domain contacts
	ScoreContactMinority    = 0.75 // a fifth to a half
	ScoreContactFew         = 0.5  // fewer: an outside adviser's address, most likely
	ScoreRegistrable        = 0.8  // a subdomain of, or a parent of, a client domain
	ScoreName               = 0.85 // times the name similarity
	ScoreDomainLabel        = 0.8  // times the similarity of the client name and a domain label
	DefaultAutoAcceptMin    = 0.95
	DefaultAutoAcceptMargin = 0.1
	DefaultTopN             = 5
	DefaultMinConfidence    = 0.3
	DefaultMinNameSim       = 0.5
)

// PublicMailDomains returns the free-mail and ISP domains whose addresses say nothing about a company.
// They are never evidence that a tenant is a client.
// The slice is the caller's own.
func PublicMailDomains() []string {
	return []string{
		"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr",
		"hotmail.de", "hotmail.it", "hotmail.es", "live.com", "live.co.uk", "live.nl", "msn.com",
		"yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.com.au", "ymail.com", "rocketmail.com",
		"icloud.com", "me.com", "mac.com", "aol.com", "aim.com", "protonmail.com", "proton.me", "pm.me",
		"gmx.com", "gmx.de", "gmx.net", "gmx.at", "web.de", "mail.com", "zoho.com", "zohomail.com",
		"yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "126.com", "fastmail.com",
		"tutanota.com", "tuta.io", "hey.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
		"cox.net", "charter.net", "btinternet.com", "sky.com", "virginmedia.com", "talktalk.net",
		"orange.fr", "free.fr", "sfr.fr", "laposte.net", "wanadoo.fr", "t-online.de", "freenet.de",
		"libero.it", "virgilio.it", "bigpond.com", "optusnet.com.au", "shaw.ca", "rogers.com",
		"sympatico.ca", "telus.net", "xs4all.nl", "ziggo.nl", "kpnmail.nl", "telenet.be", "skynet.be",
		"bluewin.ch", "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
	}
}

// SuggestConfig tunes Suggest. The zero value uses the defaults.
type SuggestConfig struct {
	// AutoAcceptMin is the confidence the best candidate needs to be accepted without a person.
	AutoAcceptMin float64
	// AutoAcceptMargin is how far the best candidate must be ahead of the second.
	AutoAcceptMargin float64
	// TopN is how many candidates a suggestion lists for a person.
	TopN int
	// MinConfidence drops weaker candidates.
	MinConfidence float64
	// ExcludeDomains are never evidence, beside PublicMailDomains and onmicrosoft.com: put the
	// MSP's own domains here, since its staff appear as contacts under many clients.
	ExcludeDomains []string
}

// Signal is one piece of evidence for a candidate.
type Signal struct {
	Evidence Evidence
	Score    float64
	Detail   string // e.g. the domain shared, or the two names compared
}

// Candidate is one client a tenant may belong to.
type Candidate struct {
	ClientID   string
	ClientName string
	Confidence float64  // in [0,1]
	Signals    []Signal // strongest first
	// Rank is the candidate's place, 1 for the best. Candidates with equal confidence share a
	// rank: a tie is reported as one, and the order within it (by client ID) means nothing.
	Rank int
}

// Suggestion is the answer for one tenant.
type Suggestion struct {
	TenantID   string
	TenantName string
	Candidates []Candidate // best first, at most TopN
	// AutoAccept is true when the best candidate is strong, unique and clearly ahead of the
	// next; ClientID is then that candidate's client.
	AutoAccept bool
	ClientID   string
	Reason     string
}

type clientInfo struct {
	c        tenantsync.Client
	nContact int // contacts with a company-domain address
}

// Suggester scores tenants against a fixed set of clients. Build it once for a bulk run; it is
// safe for concurrent use.
type Suggester struct {
	cfg        SuggestConfig
	clients    []clientInfo
	byTenantID map[string][]int
	byDomain   map[string][]int
	byReg      map[string][]int
	contactDom map[string]map[int]int // domain → client → contacts on it
	excluded   map[string]bool
	names      []parsedName
	nameIx     *nameIndex
	scratch    sync.Pool // *[]uint32 marks, one per client
}

// NewSuggester prepares clients and their contacts (whose email domains are evidence) for
// scoring. Contacts of clients not in clients are ignored. It fails on an invalid config.
func NewSuggester(clients []tenantsync.Client, contacts []tenantsync.Contact, cfg SuggestConfig) (*Suggester, error) {
	if cfg.AutoAcceptMin == 0 {
		cfg.AutoAcceptMin = DefaultAutoAcceptMin
	}
	if cfg.AutoAcceptMargin == 0 {
		cfg.AutoAcceptMargin = DefaultAutoAcceptMargin
	}
	if cfg.TopN == 0 {
		cfg.TopN = DefaultTopN
	}
	if cfg.MinConfidence == 0 {
		cfg.MinConfidence = DefaultMinConfidence
	}
	for _, v := range []float64{cfg.AutoAcceptMin, cfg.AutoAcceptMargin, cfg.MinConfidence} {
		if v < 0 || v > 1 {
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "set AutoAcceptMin, AutoAcceptMargin and MinConfidence within [0,1]",
				"match: suggest threshold %v is outside [0,1]", v)
		}
	}
	if cfg.TopN < 0 {
		return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "set TopN to a positive number, or 0 for the default", "match: TopN %d is negative", cfg.TopN)
	}
	s := &Suggester{
		cfg:        cfg,
		byTenantID: make(map[string][]int),
		byDomain:   make(map[string][]int),
		byReg:      make(map[string][]int),
		contactDom: make(map[string]map[int]int),
		excluded:   make(map[string]bool),
	}
	for _, d := range PublicMailDomains() {
		s.excluded[d] = true
	}
	for _, d := range cfg.ExcludeDomains {
		if n, ok := normalizeDomain(d); ok {
			s.excluded[n] = true
		}
	}
	sorted := slices.Clone(clients)
	slices.SortStableFunc(sorted, func(a, b tenantsync.Client) int { return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Name, b.Name)) })
	byID := make(map[string]int, len(sorted))
	for i, c := range sorted {
		s.clients = append(s.clients, clientInfo{c: c})
		s.names = append(s.names, parseName(c.Name))
		if _, dup := byID[c.ID]; !dup {
			byID[c.ID] = i
		}
		for _, t := range c.TenantIDs {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !slices.Contains(s.byTenantID[t], i) {
				s.byTenantID[t] = append(s.byTenantID[t], i)
			}
		}
		for _, d := range c.Domains {
			n, ok := s.evidenceDomain(d)
			if !ok {
				continue
			}
			if !slices.Contains(s.byDomain[n], i) {
				s.byDomain[n] = append(s.byDomain[n], i)
			}
			if reg, err := publicsuffix.EffectiveTLDPlusOne(n); err == nil && !slices.Contains(s.byReg[reg], i) {
				s.byReg[reg] = append(s.byReg[reg], i)
			}
		}
	}
	s.nameIx = newNameIndex(s.names)
	n := len(s.clients)
	s.scratch.New = func() any { m := make([]uint32, n); return &m }
	for _, ct := range contacts {
		ci, ok := byID[ct.ClientID]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		for _, e := range append([]string{ct.Email}, ct.AltEmails...) {
			a, err := ParseAddress(e)
			if err != nil {
				continue
			}
			d, ok := s.evidenceDomain(a.Domain)
			if !ok || seen[d] {
				continue
			}
			seen[d] = true
			if s.contactDom[d] == nil {
				s.contactDom[d] = make(map[int]int)
			}
			s.contactDom[d][ci]++
		}
		if len(seen) > 0 {
			s.clients[ci].nContact++
		}
	}
	return s, nil
}

// normalizeDomain reduces what a PSA stores as a client domain ("https://www.Contoso.com/",
// "@contoso.com", "contoso.com.") to a canonical A-label domain.
func normalizeDomain(d string) (string, bool) {
	d = strings.ToLower(strings.TrimSpace(d))
	if i := strings.Index(d, "://"); i >= 0 {
		d = d[i+3:]
	}
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		d = d[:i]
	}
	if i := strings.LastIndexByte(d, '@'); i >= 0 {
		d = d[i+1:]
	}
	d = strings.TrimPrefix(d, "www.")
	if d == "" {
		return "", false
	}
	var buf [256]byte
	out, r := appendDomain(buf[:0], d, nil)
	if r != "" {
		return "", false
	}
	return string(out), true
}

// evidenceDomain normalises d and reports whether it may serve as evidence: not public mail,
// not onmicrosoft.com, not excluded.
func (s *Suggester) evidenceDomain(d string) (string, bool) {
	n, ok := normalizeDomain(d)
	if !ok || isOnMicrosoft(n) || s.excluded[n] {
		return "", false
	}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(n); err == nil && s.excluded[reg] {
		return "", false
	}
	return n, true
}

// Suggest scores every client for tenant t.
func (s *Suggester) Suggest(t tenantsync.Tenant) Suggestion {
	sg := Suggestion{TenantID: t.ID, TenantName: t.DisplayName}
	signals := make(map[int][]Signal)
	addSig := func(ci int, sig Signal) { signals[ci] = append(signals[ci], sig) }

	for _, ci := range s.byTenantID[strings.ToLower(strings.TrimSpace(t.ID))] {
		addSig(ci, Signal{EvidenceTenantID, ScoreTenantID, "the client records tenant ID " + t.ID})
	}
	def, secondary := s.tenantDomains(t)
	onTenant := map[int]int{} // how many of a client's contacts use the tenant's domains
	for i, d := range append([]string{def}, secondary...) {
		if d == "" {
			continue
		}
		isDefault := i == 0
		for _, ci := range s.byDomain[d] {
			if isDefault {
				addSig(ci, Signal{EvidenceDefaultDomain, ScoreDefaultDomain, "default domain " + d + " is a client domain"})
			} else {
				addSig(ci, Signal{EvidenceSecondaryDomain, ScoreSecondaryDomain, "verified domain " + d + " is a client domain"})
			}
		}
		if reg, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
			for _, ci := range s.byReg[reg] {
				if !slices.Contains(s.byDomain[d], ci) {
					addSig(ci, Signal{EvidenceSameOrg, ScoreRegistrable, "verified domain " + d + " shares " + reg + " with a client domain"})
				}
			}
		}
		for ci, n := range s.contactDom[d] {
			onTenant[ci] += n
			total := s.clients[ci].nContact
			f := float64(n) / float64(total)
			score := ScoreContactFew
			switch {
			case f >= 0.5:
				score = ScoreContactMajority
			case f >= 0.2:
				score = ScoreContactMinority
			}
			if !isDefault {
				score -= secondaryContactPenalty
			}
			addSig(ci, Signal{EvidenceContactDomain, score, strconv.Itoa(n) + " of the client's " + strconv.Itoa(total) + " contacts use " + d})
		}
	}
	exact, readings, labelIsName := s.nameSignals(t, def, addSig)

	for ci, sigs := range signals {
		slices.SortStableFunc(sigs, func(a, b Signal) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Evidence, b.Evidence), cmp.Compare(a.Detail, b.Detail))
		})
		conf := combine(sigs)
		if conf < s.cfg.MinConfidence {
			continue
		}
		c := s.clients[ci].c
		sg.Candidates = append(sg.Candidates, Candidate{ClientID: c.ID, ClientName: c.Name, Confidence: conf, Signals: sigs})
	}
	s.holdBelowExactName(sg.Candidates, exact, def != "")
	slices.SortStableFunc(sg.Candidates, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(b.Confidence, a.Confidence), cmp.Compare(a.ClientID, b.ClientID), cmp.Compare(a.ClientName, b.ClientName))
	})
	for i := range sg.Candidates {
		sg.Candidates[i].Rank = i + 1
		if i > 0 && sg.Candidates[i-1].Confidence-sg.Candidates[i].Confidence < tieEpsilon {
			sg.Candidates[i].Rank = sg.Candidates[i-1].Rank
		}
	}
	s.decide(&sg, readings, exact, onTenant, labelIsName)
	return sg
}

// exactNameLead is how far below an uncontradicted exact-name client a candidate with hints
// only is held: enough to rank it second, far less than AutoAcceptMargin, so a person decides.
const exactNameLead = 0.01

// holdBelowExactName keeps a client that bears the tenant's exact name, and has nothing against
// it, from being outranked by a client with hints only (contacts' addresses on the tenant's
// domain, a registrable domain, a similar name): the hints say where the client's people work,
// the name says which company the tenant is. Proof (the stored tenant ID, a verified domain of
// the tenant recorded on the client) still outranks a name. A client recording domains of its
// own, none of them the tenant's, has evidence against it when the tenant has a domain.
// exact holds the clients whose whole name, legal form aside, is the tenant's.
func (s *Suggester) holdBelowExactName(cs []Candidate, exact []int, tenantHasDomain bool) {
	if len(exact) == 0 {
		return
	}
	lead := -1
	for i, c := range cs {
		ci := s.clientIndex(c.ClientID, c.ClientName, exact)
		if ci < 0 {
			continue
		}
		contrary := tenantHasDomain && len(s.clients[ci].c.Domains) > 0 && !hasEvidence(c, EvidenceDefaultDomain, EvidenceSecondaryDomain, EvidenceSameOrg, EvidenceContactDomain, EvidenceTenantID)
		if !contrary && (lead < 0 || c.Confidence > cs[lead].Confidence) {
			lead = i
		}
	}
	if lead < 0 {
		return
	}
	top := cs[lead]
	for i := range cs {
		c := &cs[i]
		if i == lead || c.Confidence < top.Confidence || hasEvidence(*c, EvidenceTenantID, EvidenceDefaultDomain, EvidenceSecondaryDomain) ||
			s.clientIndex(c.ClientID, c.ClientName, exact) >= 0 {
			continue
		}
		c.Confidence = max(top.Confidence-exactNameLead, 0)
		c.Signals = append(c.Signals, Signal{EvidenceExactNameRival, 0, "held at " + fmtScore(c.Confidence) + " below " + strconv.Quote(top.ClientName) +
			", which bears the tenant's exact name with nothing against it, while this client has hints only"})
	}
}

// clientIndex returns the index among s.clients of the client with id and name when it is in
// among, else -1.
func (s *Suggester) clientIndex(id, name string, among []int) int {
	for _, ci := range among {
		if c := s.clients[ci].c; c.ID == id && c.Name == name {
			return ci
		}
	}
	return -1
}

// tieEpsilon is how close two confidences must be to count as a tie.
const tieEpsilon = 1e-9

// secondaryContactPenalty is what contacts on a tenant's secondary domain score less than on
// its default one.
const secondaryContactPenalty = 0.05

// CredibleMin is the confidence from which a runner-up is credible: a near-exact name alone
// reaches it. When the best candidate has a credible rival, a person chooses, however far
// ahead the best is, unless the best has proof (the stored tenant ID or the tenant's verified
// default domain): contacts' addresses plus a similar name do not outweigh an exact name.
const CredibleMin = 0.8

// readingSig names a client's signal that is a reading (see nameMatch.reading): its name
// matched, or the tenant's domain label spelled it, only once a word was read otherwise.
type readingSig struct {
	ci int
	ev Evidence
}

// withoutReadings returns c's confidence without its signals that are readings, and whether
// it has any.
func (s *Suggester) withoutReadings(c Candidate, readings []readingSig) (float64, bool) {
	k := slices.IndexFunc(readings, func(r readingSig) bool {
		cl := s.clients[r.ci].c
		return cl.ID == c.ClientID && cl.Name == c.ClientName
	})
	if k < 0 {
		return c.Confidence, false
	}
	ci := readings[k].ci
	var kept []Signal
	for _, sig := range c.Signals {
		if !slices.Contains(readings, readingSig{ci, sig.Evidence}) {
			kept = append(kept, sig)
		}
	}
	if len(kept) == 0 {
		return 0, true
	}
	return combine(kept), true
}

// decide sets AutoAccept and Reason. readings names the signals that are readings: they
// never lift a candidate to an automatic acceptance without proof; exact the clients that bear
// the tenant's exact name.
func (s *Suggester) decide(sg *Suggestion, readings []readingSig, exact []int, onTenant map[int]int, labelIsName bool) {
	defer func() {
		if len(sg.Candidates) > s.cfg.TopN {
			sg.Candidates = sg.Candidates[:s.cfg.TopN]
		}
	}()
	if len(sg.Candidates) == 0 {
		sg.Reason = "no client shares a domain or a similar name with the tenant; link it by hand"
		return
	}
	best := sg.Candidates[0]
	var second *Candidate
	if len(sg.Candidates) > 1 {
		second = &sg.Candidates[1]
	}
	// A stored tenant ID or the tenant's verified default domain is proof; contacts' addresses
	// and names are hints, however many agree.
	proof := hasEvidence(best, EvidenceTenantID, EvidenceDefaultDomain)
	// another client a fifth or more of whose contacts use the tenant's domains, wherever it ranks
	var other *Candidate
	for i := 1; i < len(sg.Candidates) && other == nil; i++ {
		if slices.ContainsFunc(sg.Candidates[i].Signals, func(sig Signal) bool {
			return sig.Evidence == EvidenceContactDomain && sig.Score >= ScoreContactMinority-secondaryContactPenalty
		}) {
			other = &sg.Candidates[i]
		}
	}
	// another client whose name the tenant's domain label spells and the best one's not, and
	// another whose name matches the tenant's about as well as the best one's
	labelR, nameR := s.labelRival(sg.Candidates, readings), s.nameRival(sg.Candidates, readings)
	switch {
	case second != nil && second.Rank == best.Rank:
		n := 0
		for _, c := range sg.Candidates {
			if c.Rank == best.Rank {
				n++
			}
		}
		sg.Reason = strconv.Itoa(n) + " candidates tie at " + fmtScore(best.Confidence) + "; a person chooses"
	case second != nil && hasEvidence(*second, EvidenceExactNameRival) && second.Confidence >= CredibleMin:
		sg.Reason = "two clients have credible evidence (" + best.ClientName + ": " + best.Signals[0].Detail + "; " +
			second.ClientName + ": " + second.Signals[0].Detail + "); the exact name ranks first and a person chooses"
	case best.Confidence < s.cfg.AutoAcceptMin:
		sg.Reason = "the best candidate's confidence " + fmtScore(best.Confidence) + " is below " +
			fmtScore(s.cfg.AutoAcceptMin) + "; a person confirms"
	case second != nil && best.Confidence-second.Confidence < s.cfg.AutoAcceptMargin:
		sg.Reason = "the best two candidates are within " + fmtScore(s.cfg.AutoAcceptMargin) + " of each other; a person chooses"
	case !proof && hasEvidence(best, EvidenceNameSound):
		sg.Reason = "the names match by sound only (" + best.ClientName + "); a person confirms"
	case !proof && s.liftedByReading(best, readings):
		sg.Reason = "the names match only as one reads a word of them (" + readingDetail(best) + "); a person confirms"
	case second != nil && !proof && (second.Confidence >= CredibleMin || s.readingRival(*second, readings)):
		sg.Reason = "two clients have credible evidence (" + second.ClientName + ": " + second.Signals[0].Detail + "); a person chooses"
	case !proof && labelR != nil && s.thinContacts(best, *labelR, onTenant, labelIsName):
		// The tenant's domain label spells another client's name ("redstonerealty.com" for
		// "Redstone Realty": "Redstone Realty Group"), not the best one's.
		sg.Reason = "the tenant's domain label spells " + labelR.ClientName + "'s name, not " + best.ClientName +
			"'s, whose evidence beyond its name is one or two contacts' addresses; a person chooses"
	case !proof && nameR != nil && s.thinContacts(best, *nameR, onTenant, labelIsName):
		// Two clients' names match the tenant's about as well ("Harbor Realty Coastal":
		// "Harbor Realty", "Coastal Realty"): one or two contacts' addresses would choose
		// between them.
		sg.Reason = best.ClientName + " and " + nameR.ClientName + " match the tenant's name about as well (" + nameDetail(*nameR) +
			"); only one or two contacts' addresses tell them apart; a person chooses"
	case !proof && hasEvidence(best, EvidenceContactDomain) && other != nil && !(s.clientIndex(best.ClientID, best.ClientName, exact) >= 0 && !hasEvidence(*other, EvidenceName, EvidenceNameSound, EvidenceDomainLabel)):
		// A domain a fifth or more of another client's contacts use too is an outside
		// adviser's, a franchise's or a group's as likely as the tenant's own client's; unless
		// the best client bears the tenant's exact name and the other nothing of it (the
		// firm's own tenant, one of whose people is a contact of a small client too).
		sg.Reason = "contacts of two clients use the tenant's domains (" + best.ClientName + ", " + other.ClientName + "); a person chooses"
	default:
		sg.AutoAccept = true
		sg.ClientID = best.ClientID
		sg.Reason = "accepted: " + best.Signals[0].Detail
	}
}

// thinContacts reports whether the best candidate's evidence beyond its name is one or two
// of its contacts on the tenant's domains, with no registrable domain it shares and no domain
// label spelling its name that does not spell the rival's too ("deltarealty.com" for "Delta
// Realty Northside" spells "Delta Realty", not "Northside Realty"), unless the label is the
// tenant's name run together: evidence that a rival's name as good as its own outweighs.
func (s *Suggester) thinContacts(best, rival Candidate, onTenant map[int]int, labelIsName bool) bool {
	if !hasEvidence(best, EvidenceContactDomain) || hasEvidence(best, EvidenceSameOrg) ||
		!labelIsName && hasEvidence(best, EvidenceDomainLabel) && !hasEvidence(rival, EvidenceDomainLabel) {
		return false
	}
	for ci, n := range onTenant {
		if c := s.clients[ci].c; c.ID == best.ClientID && c.Name == best.ClientName {
			return n <= thinContactsMax
		}
	}
	return false
}

// thinContactsMax is the most contacts on the tenant's domains that thinContacts calls thin.
const thinContactsMax = 2

// nameRival returns another candidate whose name matches the tenant's about as well as the
// best one's does (within nameRivalSlack below it, or above it), and well (nameRivalMin), as
// written (not a reading: "Jetty Realty" does not rival "Getty Realty Group" for "Getty
// Realty"); nil if none.
func (s *Suggester) nameRival(cands []Candidate, readings []readingSig) *Candidate {
	bestName := nameScore(cands[0])
	for i := 1; i < len(cands); i++ {
		c := cands[i]
		if ns := nameScore(c); ns < nameRivalMin || ns < bestName-nameRivalSlack {
			continue
		}
		if !s.isReading(c, EvidenceName, readings) {
			return &cands[i]
		}
	}
	return nil
}

// nameRivalMin is the name score from which a rival's name counts in nameRival: what a name
// found whole in the tenant's scores at most (ScoreName times containPenalty).
const nameRivalMin = ScoreName * containPenalty * containPenalty

// nameRivalSlack is how far below the best one's a rival's name score may be and still match
// the tenant's "as well": a letter or a word's weight apart ("Lopez Homes": "Lopes Homes",
// "Lopez Hmes").
const nameRivalSlack = 0.05

// labelRival returns another candidate the tenant's domain label spells, as written, when it
// does not spell the best one's name; nil if none.
func (s *Suggester) labelRival(cands []Candidate, readings []readingSig) *Candidate {
	if hasEvidence(cands[0], EvidenceDomainLabel) {
		return nil
	}
	for i := 1; i < len(cands); i++ {
		c := cands[i]
		if hasEvidence(c, EvidenceDomainLabel) && !s.isReading(c, EvidenceDomainLabel, readings) {
			return &cands[i]
		}
	}
	return nil
}

// isReading reports whether c's signal of kind ev is a reading.
func (s *Suggester) isReading(c Candidate, ev Evidence, readings []readingSig) bool {
	return slices.ContainsFunc(readings, func(r readingSig) bool {
		cl := s.clients[r.ci].c
		return r.ev == ev && cl.ID == c.ClientID && cl.Name == c.ClientName
	})
}

// nameDetail is the evidence of c's name signal.
func nameDetail(c Candidate) string {
	for _, sig := range c.Signals {
		if sig.Evidence == EvidenceName {
			return sig.Detail
		}
	}
	return c.Signals[0].Detail
}

// nameScore is the score of c's name signal, 0 if it has none.
func nameScore(c Candidate) float64 {
	best := 0.0
	for _, sig := range c.Signals {
		if sig.Evidence == EvidenceName {
			best = max(best, sig.Score)
		}
	}
	return best
}

func hasEvidence(c Candidate, kinds ...Evidence) bool {
	return slices.ContainsFunc(c.Signals, func(s Signal) bool { return slices.Contains(kinds, s.Evidence) })
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// combine turns a candidate's signals (strongest first) into one confidence: the strongest
// signal, raised a little by the strongest independent one of another kind, never above 1.
// Two agreeing signals are more convincing than either, but a weak name match must not lift
// a contact-domain hint over the auto-accept line on its own.
func combine(sigs []Signal) float64 {
	best := sigs[0].Score
	for _, s := range sigs[1:] {
		if family(s.Evidence) != family(sigs[0].Evidence) {
			best += (1 - best) * 0.5 * s.Score
			break
		}
	}
	return min(max(best, 0), 1)
}

func family(e Evidence) int {
	switch e {
	case EvidenceName, EvidenceNameSound, EvidenceDomainLabel:
		return 1
	default:
		return 0
	}
}

// tenantDomains returns the tenant's default domain and its other verified domains that may
// serve as evidence, normalised, without duplicates, in a stable order.
func (s *Suggester) tenantDomains(t tenantsync.Tenant) (string, []string) {
	def, _ := s.evidenceDomain(t.DefaultDomain)
	var rest []string
	for _, d := range t.Domains {
		n, ok := s.evidenceDomain(d)
		if ok && n != def && !slices.Contains(rest, n) {
			rest = append(rest, n)
		}
	}
	if def == "" && len(rest) > 0 {
		def, rest = rest[0], rest[1:]
	}
	slices.Sort(rest)
	return def, rest
}

// nameSignals compares the tenant's display name with the client names the name index offers,
// and the labels of the tenant's default and initial domains ("contoso" in contoso.com and
// contoso.onmicrosoft.com) with the client names written without spaces. The initial domain
// is never domain evidence, but its label is a name the tenant's owner chose.
// It returns the clients whose whole name is the tenant's, legal forms and spelling aside, the
// signals that are readings (see nameMatch.reading), and whether the default domain's label is
// the tenant's name run together ("garciamedical.com" for "Garcia Medical"), which says no more
// than the name.
func (s *Suggester) nameSignals(t tenantsync.Tenant, def string, addSig func(int, Signal)) (exact []int, readings []readingSig, labelIsName bool) {
	q := parseName(t.DisplayName)
	q.rare = rareWords(&q, &s.nameIx.w)
	var labels []string
	if l := domainLabel(def); l != "" {
		labels = append(labels, l)
		j := strings.ReplaceAll(l, "-", "")
		qw := &q
		if q.written != nil {
			qw = q.written
		}
		labelIsName = j == qw.full.joined || j == strings.Join(qw.legalToks, "")
	}
	if l := strings.ToLower(strings.TrimSpace(t.InitialDomain)); isOnMicrosoft(l) {
		if l = strings.TrimSuffix(strings.TrimSuffix(l, ".onmicrosoft.com"), ".mail"); l != "" {
			if !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
	}
	// A hyphen stands for the space between words ("birch-partners.com"); a label of hyphens
	// alone says nothing.
	labels = slices.DeleteFunc(labels, func(l string) bool { return strings.Trim(l, "-") == "" })
	labelForms := make([]nameForm, len(labels))
	joined := make([]string, len(labels))
	for i, l := range labels {
		joined[i] = strings.ReplaceAll(l, "-", "")
		labelForms[i] = newNameForm([]string{joined[i]}, l)
	}
	mp := s.scratch.Get().(*[]uint32)
	defer s.scratch.Put(mp)
	mark := *mp
	clear(mark)
	cands := s.nameIx.candidates(&q, joined, nil, mark, 1)
	slices.Sort(cands)
	for _, c32 := range cands {
		ci := int(c32)
		cn := &s.names[ci]
		branch, nameReading, nameAsWritten := false, false, false
		if len(q.full.tokens) > 0 {
			m := compareNames(&q, cn, &s.nameIx.w)
			// A domain label is judged beside the names as written.
			aw := m
			if m.written != nil {
				aw = *m.written
			}
			branch, nameReading = aw.branch, aw.reading
			nameAsWritten = aw.sim >= DefaultMinNameSim && !aw.reading && !aw.bySound
			if m.sim == 1 && m.why == whySame {
				exact = append(exact, ci)
			}
			if m.sim >= DefaultMinNameSim {
				ev := EvidenceName
				if m.bySound {
					ev = EvidenceNameSound
				}
				if m.reading {
					readings = append(readings, readingSig{ci, ev})
				}
				addSig(ci, Signal{ev, ScoreName * m.sim, "name: " + strconv.Quote(t.DisplayName) + " ≈ " + strconv.Quote(s.clients[ci].c.Name) +
					" (" + fmtScore(m.sim) + ", " + m.why + ")"})
			}
		}
		// A domain label spells a name as written, not its trade words read in English.
		if cn.written != nil {
			cn = cn.written
		}
		for i, lf := range labelForms {
			sim := dice(lf.bigrams, cn.full.bigrams)
			if len(cn.parts) > 0 {
				sim = max(sim, partPenalty*dice(lf.bigrams, cn.parts[0].bigrams))
			}
			// The label read as the client's initials ("bhp" for Blue Hill Plumbing), with
			// another number than the client's, or beside a display name that tells the client
			// apart ("Sparkle Cleaning Denver" on sparklecleaning.com and "Sparkle Cleaning
			// Boulder") is a reading; so is a label alike but not the same unless the display
			// name matches as written ("Smyth Electrical" on smythelectrical.co.uk and "Smith
			// Electrical"; "ASP Ltd" on asmithplumbing.co.uk and "E Smith Plumbing").
			reading := branch || sim >= 0.8 && sim < 1 && (nameReading || !nameAsWritten && !labelWithin(lf.joined, cn))
			if cn.full.initials != "" && lf.joined == cn.full.initials && len(lf.joined) >= 3 && sim < 0.8 {
				sim, reading = 0.8, true
			}
			both, _, all := labelNumbers(lf.joined, cn)
			if sim >= 0.8 && (reading || !all) {
				readings = append(readings, readingSig{ci, EvidenceDomainLabel})
			}
			// A label with another number than the client's ("cedardental2.com", "Cedar Dental
			// 3") says the display name ("Cedar Dental") names another branch too, unless
			// another label of the tenant carries the client's number.
			if sim >= 0.8 && both && !slices.ContainsFunc(joined, func(l string) bool { _, shared, _ := labelNumbers(l, cn); return shared }) {
				readings = append(readings, readingSig{ci, EvidenceName})
			}
			if sim >= 0.8 {
				addSig(ci, Signal{EvidenceDomainLabel, ScoreDomainLabel * sim, "domain label " + strconv.Quote(labels[i]) +
					" spells " + strconv.Quote(s.clients[ci].c.Name) + " (" + fmtScore(sim) + ")"})
			}
		}
	}
	return exact, readings, labelIsName
}

// readingRival reports whether c has a reading and evidence of another kind too: a rival as
// credible as CredibleMin, whose reading is scored below it only to rank names as written first
// ("HVMG", with a contact on the tenant's domain, against "Harbor View Medical Group Holdings"
// and its directors').
func (s *Suggester) readingRival(c Candidate, readings []readingSig) bool {
	_, has := s.withoutReadings(c, readings)
	return has && slices.ContainsFunc(c.Signals, func(sig Signal) bool { return family(sig.Evidence) == 0 && sig.Score > 0 })
}

// liftedByReading reports whether c reaches the automatic line only with a signal that is a
// reading.
func (s *Suggester) liftedByReading(c Candidate, readings []readingSig) bool {
	conf, has := s.withoutReadings(c, readings)
	return has && conf < s.cfg.AutoAcceptMin
}

// labelWithin reports whether the label's letters are the client's name run together, or a
// run of its words, or hold it whole ("jonesdental" and "Jones Dental Group"): the words
// spelled as written, not letters alike ("asmithplumbing", "E Smith Plumbing").
func labelWithin(label string, cn *parsedName) bool {
	if strings.Contains(label, cn.full.joined) {
		return true
	}
	if !strings.Contains(cn.full.joined, label) {
		return false
	}
	toks := cn.full.tokens
	for i := range toks {
		j := ""
		for _, t := range toks[i:] {
			if j += t; j == label {
				return true
			}
		}
	}
	return false
}

// labelNumbers compares the numbers of a domain label with those of the client's name, and
// with those run together ("2020" for "20/20"): both says each carries one and none is shared
// ("cedardental2", "Cedar Dental 3"), shared that one is, all that the label holds every
// number of the client's name ("sparklecleaning214" does not spell "Sparkle Cleaning 21").
func labelNumbers(label string, cn *parsedName) (both, shared, all bool) {
	ln, cnums := numbersIn([]string{label}), numbersIn(cn.full.tokens)
	if len(cnums) == 0 {
		return false, false, true
	}
	in := func(n string) bool { return slices.Contains(ln, n) }
	shared = slices.ContainsFunc(cnums, in) || in(strings.Join(cnums, ""))
	all = in(strings.Join(cnums, "")) || !slices.ContainsFunc(cnums, func(n string) bool { return !in(n) })
	return len(ln) > 0 && !shared, shared, all
}

// readingDetail returns the detail of c's name signal, or of its domain label's.
func readingDetail(c Candidate) string {
	for _, ev := range []Evidence{EvidenceName, EvidenceNameSound, EvidenceDomainLabel} {
		for _, sig := range c.Signals {
			if sig.Evidence == ev {
				return sig.Detail
			}
		}
	}
	return c.Signals[0].Detail
}

// domainLabel returns the label before the public suffix: "contoso" for "mail.contoso.co.uk".
func domainLabel(d string) string {
	if d == "" {
		return ""
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return ""
	}
	label, _, _ := strings.Cut(reg, ".")
	return label
}

// SuggestAll suggests a client for each tenant, in the order given. Several tenants may get the
// same client: an organisation can have more than one tenant.
func (s *Suggester) SuggestAll(tenants []tenantsync.Tenant) []Suggestion {
	out := make([]Suggestion, len(tenants))
	for i, t := range tenants {
		out[i] = s.Suggest(t)
	}
	return out
}

// Suggest is NewSuggester followed by SuggestAll: one bulk pass over all unmapped tenants.
func Suggest(tenants []tenantsync.Tenant, clients []tenantsync.Client, contacts []tenantsync.Contact, cfg SuggestConfig) ([]Suggestion, error) {
	s, err := NewSuggester(clients, contacts, cfg)
	if err != nil {
		return nil, err
	}
	return s.SuggestAll(tenants), nil
}
