package testserver

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// genEpoch anchors every generated date, so one seed gives one World whatever the day it runs.
var genEpoch = time.Date(2026, time.October, 1, 9, 0, 0, 0, time.UTC)

// Generate builds a World from opts, the same World for the same options. Tenant i's content
// comes from its own random stream, so tenants are generated in parallel and adding tenants
// does not change the earlier ones.
func Generate(opts Options) *World {
	n := opts.Tenants
	if n <= 0 {
		n = 5
	}
	n = max(n, len(opts.Sizes))
	minU, maxU := opts.MinUsers, opts.MaxUsers
	if minU <= 0 {
		minU = 5
	}
	if maxU < minU {
		maxU = max(60, minU)
	}
	seed := uint64(opts.Seed)
	rng := rand.New(rand.NewPCG(seed, 0x776f726c64))

	partner := partnerNames[rng.IntN(len(partnerNames))]
	w := &World{
		PartnerTenantID: newGUID(rng),
		PartnerName:     partner.name,
		PartnerDomain:   partner.domain,
		Tenants:         make([]*Tenant, n),
	}

	// Names, IDs and access flags come from the World's stream, in order; the contents of each
	// tenant from its own stream.
	used := map[string]bool{slugOf(partner.domain): true}
	// Access flags follow fixed proportions (3 in 5 in CIPP, 7 in 8 consented, 19 in 20 in
	// Partner Center) rotated by the seed, so small worlds show every case and adding tenants
	// keeps the earlier ones as they were. Tenant 0 is always fully reachable.
	offCIPP, offConsent, offPC := rng.IntN(5), rng.IntN(8), rng.IntN(20)
	stale := false
	companyDomains := make([]string, n)
	for i := range n {
		t := &Tenant{ID: newGUID(rng)}
		c := pickCompany(rng, used, i, w.Tenants)
		t.Name, t.DefaultDomain, t.InitialDomain = c.name, c.domain, c.slug+".onmicrosoft.com"
		companyDomains[i] = c.domain
		t.InCIPP = i == 0 || (i+offCIPP)%5 < 3
		t.Consented = i == 0 || (i+offConsent)%8 != 7
		t.InPartnerCenter = i == 0 || (i+offPC)%20 != 19
		if t.InCIPP && i >= 3 && !stale {
			// One CIPP tenant missing from CIPP's cached tenant list.
			t.CIPPStale, stale = true, true
		}
		users := minU + rng.IntN(maxU-minU+1)
		if i < len(opts.Sizes) {
			users = opts.Sizes[i]
		}
		t.Users = make([]*User, 0, max(users, 0))
		w.Tenants[i] = t
	}

	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i, t := range w.Tenants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			g := &tenantGen{rng: rand.New(rand.NewPCG(seed, uint64(i)+1)), t: t, external: companyDomains}
			g.fill(cap(t.Users))
		}()
	}
	wg.Wait()

	w.index()
	w.generateRelationships(rand.New(rand.NewPCG(seed, 0x67646170)))
	return w
}

func (w *World) index() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byID = make(map[string]*Tenant, len(w.Tenants))
	w.byDomain = make(map[string]*Tenant, 3*len(w.Tenants))
	for _, t := range w.Tenants {
		w.byID[strings.ToLower(t.ID)] = t
		for _, d := range t.domainNames() {
			if d != "" {
				w.byDomain[strings.ToLower(d)] = t
			}
		}
		var maxSeq int64
		for _, u := range t.Users {
			maxSeq = max(maxSeq, u.Seq)
		}
		if maxSeq > t.Seq() {
			t.seq = maxSeq
		}
	}
}

// newGUID returns a GUID-shaped object ID (version 4 layout) drawn from rng.
func newGUID(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return formatGUID(b)
}

func formatGUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexdigits[c>>4], hexdigits[c&0x0f]
		j += 2
	}
	return string(out)
}

// company is a generated customer's name and domains.
type company struct {
	name, slug, domain string
}

// pickCompany draws a company name that has not been used, from words that repeat across
// tenants ("Contoso Dental Ltd", "Contoso Dental Care LLC") so that name matching meets
// ambiguity. Tenant 1 always shares its first word with tenant 0.
func pickCompany(rng *rand.Rand, used map[string]bool, i int, prev []*Tenant) company {
	for attempt := 0; ; attempt++ {
		first := firstWords[rng.IntN(len(firstWords))]
		if i == 1 {
			first = strings.Fields(prev[0].Name)[0]
			for _, fw := range firstWords {
				if strings.HasPrefix(prev[0].Name, fw+" ") {
					first = fw
				}
			}
		}
		second := secondWords[rng.IntN(len(secondWords))]
		sfx := legalSuffixes[rng.IntN(len(legalSuffixes))]
		// Past the plain combinations (large worlds), a region word keeps names and domains
		// unique the way real groups name their subsidiaries.
		region := ""
		if attempt > 3 {
			region = regionWords[rng.IntN(len(regionWords))]
		}
		if attempt > 12 {
			region += " " + strconv.Itoa(rng.IntN(900)+100)
		}
		name := first + " " + second
		if region != "" {
			name += " " + region
		}
		name += " " + sfx.suffix
		slug := slugOf(first + second + region)
		if used[slug] || used["name:"+strings.ToLower(name)] {
			continue
		}
		used[slug] = true
		used["name:"+strings.ToLower(name)] = true
		return company{name: name, slug: slug, domain: slug + sfx.tld}
	}
}

// slugOf folds a name to the ASCII letters and digits a domain label allows.
func slugOf(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if f, ok := foldMap[r]; ok {
				b.WriteString(f)
			}
		}
	}
	return b.String()
}

// foldMap transliterates the letters of the name lists for addresses.
var foldMap = map[rune]string{
	'é': "e", 'è': "e", 'ë': "e", 'ê': "e", 'á': "a", 'à': "a", 'â': "a", 'å': "aa", 'ä': "ae",
	'ö': "oe", 'ü': "ue", 'ß': "ss", 'ø': "o", 'æ': "ae", 'ó': "o", 'ò': "o", 'ô': "o", 'í': "i",
	'ï': "i", 'ñ': "n", 'ç': "c", 'ł': "l", 'ś': "s", 'ź': "z", 'ż': "z", 'ą': "a", 'ę': "e",
	'ć': "c", 'ń': "n", 'đ': "d", 'ặ': "a", 'ễ': "e", 'ư': "u", 'ơ': "o", 'ú': "u", 'š': "s",
	'č': "c", 'ž': "z", 'ý': "y", 'ř': "r", 'ş': "s", 'ğ': "g", 'ı': "i",
}

type tenantGen struct {
	rng      *rand.Rand
	t        *Tenant
	external []string // every company's domain, for guests from other customers
	locals   map[string]int
	seq      int64
	// secondary is a second verified domain that gets aliases, "" when none.
	secondary string
	sku       struct{ main, exchange, p1 *SKU }
}

func (g *tenantGen) fill(n int) {
	g.locals = map[string]int{}
	g.domains()
	g.skus()
	g.users(n)
	g.countLicences()
	g.devices()
	g.defender()
	g.groups()
	g.policies()
	g.extras()
	g.t.seq = g.seq
}

func (g *tenantGen) next() int64 { g.seq++; return g.seq }

func (g *tenantGen) domains() {
	t, rng := g.t, g.rng
	services := []string{"Email", "OfficeCommunicationsOnline"}
	onlyInitial := rng.IntN(12) == 0
	if onlyInitial {
		// Some small companies never added a domain: their default is the onmicrosoft one.
		t.DefaultDomain = t.InitialDomain
	}
	if !onlyInitial {
		t.Domains = append(t.Domains, &Domain{Name: t.DefaultDomain, IsDefault: true, IsVerified: true, Services: services})
		slug := strings.TrimSuffix(t.InitialDomain, ".onmicrosoft.com")
		switch extra := rng.IntN(4); {
		case extra >= 1:
			alt := slug + altTLDs[rng.IntN(len(altTLDs))]
			if alt == t.DefaultDomain {
				alt = slug + "group.com"
			}
			g.secondary = alt
			t.Domains = append(t.Domains, &Domain{Name: alt, IsVerified: true, Services: services})
			if extra == 3 {
				t.Domains = append(t.Domains, &Domain{Name: "mail." + t.DefaultDomain, IsVerified: true, Services: []string{"Email"}})
			}
		}
		if rng.IntN(10) == 0 {
			t.Domains = append(t.Domains, &Domain{Name: slug + "-old.com", IsVerified: false})
		}
	}
	t.Domains = append(t.Domains, &Domain{Name: t.InitialDomain, IsInitial: true, IsDefault: onlyInitial, IsVerified: true, Services: services})
}

func (g *tenantGen) skus() {
	t, rng := g.t, g.rng
	main := mainSKUs[rng.IntN(len(mainSKUs))]
	g.sku.main = &SKU{ID: main.id, PartNumber: main.part, Name: main.name}
	t.SKUs = append(t.SKUs, g.sku.main)
	if rng.IntN(3) == 0 {
		g.sku.exchange = &SKU{ID: skuExchange.id, PartNumber: skuExchange.part, Name: skuExchange.name}
		t.SKUs = append(t.SKUs, g.sku.exchange)
	}
	t.PremiumP1 = main.p1
	if !main.p1 && rng.IntN(2) == 0 {
		g.sku.p1 = &SKU{ID: skuAADP1.id, PartNumber: skuAADP1.part, Name: skuAADP1.name}
		t.SKUs = append(t.SKUs, g.sku.p1)
		t.PremiumP1 = true
	}
	t.SecurityDefaults = !t.PremiumP1 || rng.IntN(6) == 0
}

// special account kinds, placed among the regular users.
const (
	kindRegular = iota
	kindBreakGlass
	kindITAdmin
	kindShared
	kindRoom
	kindEquipment
	kindService
	kindScanner
	kindGuest
)

func (g *tenantGen) users(n int) {
	var kinds []int
	add := func(min, kind, count int) {
		if n >= min {
			for range count {
				kinds = append(kinds, kind)
			}
		}
	}
	add(1, kindBreakGlass, 1)
	add(4, kindITAdmin, 1)
	add(6, kindShared, 1)
	add(10, kindService, 1)
	add(10, kindGuest, 1)
	add(12, kindShared, 2)
	add(14, kindScanner, 1)
	add(20, kindGuest, max(1, n/60))
	add(25, kindRoom, 1)
	add(25, kindEquipment, 1)
	add(40, kindITAdmin, 1)
	kinds = kinds[:min(len(kinds), n)]
	for len(kinds) < n {
		kinds = append(kinds, kindRegular)
	}
	// Keep the break-glass admin first (it is the oldest account) and scatter the rest.
	if len(kinds) > 1 {
		g.rng.Shuffle(len(kinds)-1, func(i, j int) { kinds[i+1], kinds[j+1] = kinds[j+1], kinds[i+1] })
	}
	shared := 0
	for _, k := range kinds {
		var u *User
		switch k {
		case kindShared:
			u = g.shared(sharedNames[shared%len(sharedNames)])
			shared++
		case kindRoom:
			u = g.resource("RoomMailbox", "boardroom", "Boardroom")
		case kindEquipment:
			u = g.resource("EquipmentMailbox", "projector1", "Projector 1")
		case kindService:
			u = g.serviceAccount("svc-backup", "Backup Service", false)
		case kindScanner:
			u = g.serviceAccount("scanner", "Scanner", true)
		case kindGuest:
			u = g.guest()
		case kindBreakGlass:
			u = g.breakGlass()
		default:
			u = g.person(k == kindITAdmin)
		}
		u.Seq = g.next()
		g.t.Users = append(g.t.Users, u)
	}
}

// local reserves a unique local part, suffixing a number on collision.
func (g *tenantGen) local(base string) string {
	n := g.locals[base]
	g.locals[base] = n + 1
	if n == 0 {
		return base
	}
	return base + strconv.Itoa(n+1)
}

func (g *tenantGen) created() time.Time {
	return genEpoch.Add(-time.Duration(g.rng.IntN(6*365*24)) * time.Hour).Add(time.Duration(g.rng.IntN(3600)) * time.Second)
}

// addresses gives a mailbox its primary SMTP address and aliases: the onmicrosoft alias always,
// a secondary-domain alias when the tenant has one.
func (g *tenantGen) addresses(u *User, local string) {
	t := g.t
	u.Mail = local + "@" + t.DefaultDomain
	u.ProxyAddresses = []string{"SMTP:" + u.Mail}
	if t.DefaultDomain != t.InitialDomain {
		u.ProxyAddresses = append(u.ProxyAddresses, "smtp:"+local+"@"+t.InitialDomain)
	}
	if g.secondary != "" {
		u.ProxyAddresses = append(u.ProxyAddresses, "smtp:"+local+"@"+g.secondary)
	}
}

func (g *tenantGen) person(admin bool) *User {
	rng, t := g.rng, g.t
	given := givenNames[rng.IntN(len(givenNames))]
	sur := surnames[rng.IntN(len(surnames))]
	var base string
	switch rng.IntN(10) {
	case 0:
		base = given.ascii[:1] + sur.ascii
	case 1:
		base = given.ascii
	default:
		base = given.ascii + "." + sur.ascii
	}
	local := g.local(base)
	dept := departments[rng.IntN(len(departments))]
	u := &User{
		ID:                newGUID(rng),
		UserPrincipalName: local + "@" + t.DefaultDomain,
		DisplayName:       given.name + " " + sur.name,
		GivenName:         given.name,
		Surname:           sur.name,
		JobTitle:          dept.titles[rng.IntN(len(dept.titles))],
		Department:        dept.name,
		OfficeLocation:    offices[rng.IntN(len(offices))],
		AccountEnabled:    rng.IntN(20) != 0,
		UserType:          "Member",
		CreatedAt:         g.created(),
		PerUserMFA:        "disabled",
		IsAdmin:           admin,
	}
	if admin {
		u.JobTitle, u.Department = "IT Manager", "IT"
		u.AccountEnabled = true
	}
	if rng.IntN(3) > 0 {
		u.BusinessPhones = []string{fmt.Sprintf("+44 20 7946 %04d", rng.IntN(10000))}
	}
	if rng.IntN(2) == 0 {
		u.MobilePhone = fmt.Sprintf("+44 7700 %06d", rng.IntN(1000000))
	}
	if rng.IntN(3) == 0 {
		u.OtherMails = []string{base + strconv.Itoa(rng.IntN(90)+10) + "@" + personalDomains[rng.IntN(len(personalDomains))]}
	}
	licensed := admin || rng.IntN(10) != 0
	if licensed {
		u.Licenses = []string{g.sku.main.ID}
		if g.sku.p1 != nil && rng.IntN(2) == 0 {
			u.Licenses = append(u.Licenses, g.sku.p1.ID)
		}
		u.MailboxType = "UserMailbox"
		g.addresses(u, local)
		if rng.IntN(25) == 0 {
			// Exchange allows '+' in an alias (not in a UPN): a sub-addressed alias for a CRM.
			u.ProxyAddresses = append(u.ProxyAddresses, "smtp:"+local+"+crm@"+t.DefaultDomain)
		}
		if rng.IntN(8) == 0 {
			u.ProxyAddresses = append(u.ProxyAddresses, fmt.Sprintf("x500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=%016x-%s", rng.Uint64(), strings.ReplaceAll(local, ".", "")))
		}
		if rng.IntN(10) == 0 {
			u.ProxyAddresses = append(u.ProxyAddresses, "sip:"+u.Mail)
		}
	} else {
		// Without a mailbox Entra still shows the UPN as mail for many synced users; keep it empty
		// here, as for cloud-only unlicensed accounts.
		u.Mail = ""
	}
	g.mfa(u)
	return u
}

// mfa gives a member its registration state and authentication methods.
func (g *tenantGen) mfa(u *User) {
	rng := g.rng
	u.Methods = map[string]string{passwordMethodID: "password"}
	if rng.IntN(4) == 0 && !u.IsAdmin {
		return
	}
	methods := mfaMethodSets[rng.IntN(len(mfaMethodSets))]
	u.MFARegistered = true
	u.MFACapable = u.AccountEnabled
	u.MFAMethods = append([]string(nil), methods...)
	for _, m := range methods {
		u.Methods[newGUID(rng)] = m
	}
	switch rng.IntN(10) {
	case 0:
		u.PerUserMFA = "enforced"
	case 1:
		u.PerUserMFA = "enabled"
	}
}

// passwordMethodID is the fixed ID Graph gives every user's password method.
const passwordMethodID = "28c10230-6103-485e-b985-444c60001490"

func (g *tenantGen) breakGlass() *User {
	t := g.t
	local := g.local("admin")
	return &User{
		ID: newGUID(g.rng), UserPrincipalName: local + "@" + t.InitialDomain, DisplayName: "Break Glass Admin",
		AccountEnabled: true, UserType: "Member", CreatedAt: genEpoch.AddDate(-7, 0, 0), IsAdmin: true,
		PerUserMFA: "disabled", Methods: map[string]string{passwordMethodID: "password"},
	}
}

func (g *tenantGen) shared(name string) *User {
	local := g.local(name)
	u := &User{
		ID: newGUID(g.rng), UserPrincipalName: local + "@" + g.t.DefaultDomain, DisplayName: sharedDisplay[name],
		AccountEnabled: false, UserType: "Member", CreatedAt: g.created(), MailboxType: "SharedMailbox",
		PerUserMFA: "disabled", Methods: map[string]string{passwordMethodID: "password"},
	}
	g.addresses(u, local)
	return u
}

func (g *tenantGen) resource(kind, name, display string) *User {
	local := g.local(name)
	u := &User{
		ID: newGUID(g.rng), UserPrincipalName: local + "@" + g.t.DefaultDomain, DisplayName: display,
		AccountEnabled: false, UserType: "Member", CreatedAt: g.created(), MailboxType: kind,
		PerUserMFA: "disabled", Methods: map[string]string{passwordMethodID: "password"},
	}
	g.addresses(u, local)
	return u
}

func (g *tenantGen) serviceAccount(name, display string, mailbox bool) *User {
	local := g.local(name)
	u := &User{
		ID: newGUID(g.rng), UserPrincipalName: local + "@" + g.t.DefaultDomain, DisplayName: display,
		AccountEnabled: true, UserType: "Member", CreatedAt: g.created(), Department: "IT",
		PerUserMFA: "disabled", Methods: map[string]string{passwordMethodID: "password"},
	}
	if mailbox {
		sku := g.sku.main
		if g.sku.exchange != nil {
			sku = g.sku.exchange
		}
		u.Licenses = []string{sku.ID}
		u.MailboxType = "UserMailbox"
		g.addresses(u, local)
	}
	return u
}

// guest is an invited external user: UPN "<mail with @ as _>#EXT#@<initial domain>", mail the
// home address, no licence and no mailbox.
func (g *tenantGen) guest() *User {
	rng, t := g.rng, g.t
	given := givenNames[rng.IntN(len(givenNames))]
	sur := surnames[rng.IntN(len(surnames))]
	domain := personalDomains[rng.IntN(len(personalDomains))]
	if other := g.external[rng.IntN(len(g.external))]; other != t.DefaultDomain && rng.IntN(2) == 0 {
		domain = other
	}
	home := strings.ReplaceAll(given.ascii+"."+sur.ascii, "'", "") + "@" + domain
	upnLocal := g.local(strings.ReplaceAll(home, "@", "_") + "#EXT#")
	return &User{
		ID: newGUID(rng), UserPrincipalName: upnLocal + "@" + t.InitialDomain,
		DisplayName: given.name + " " + sur.name, GivenName: given.name, Surname: sur.name,
		Mail: home, ProxyAddresses: []string{"SMTP:" + home}, OtherMails: []string{home},
		AccountEnabled: true, UserType: "Guest", CreatedAt: g.created(), PerUserMFA: "disabled",
		Methods: map[string]string{},
	}
}

func (g *tenantGen) countLicences() {
	bySKU := map[string]*SKU{}
	for _, s := range g.t.SKUs {
		bySKU[s.ID] = s
	}
	for _, u := range g.t.Users {
		for _, l := range u.Licenses {
			bySKU[l].Consumed++
		}
	}
	for _, s := range g.t.SKUs {
		s.Enabled = s.Consumed + g.rng.IntN(4)
		if g.rng.IntN(15) == 0 {
			s.Warning = 1 + g.rng.IntN(3)
		}
	}
}

func (g *tenantGen) devices() {
	rng, t := g.rng, g.t
	for _, u := range t.Users {
		if u.UserType != "Member" || u.MailboxType != "UserMailbox" || !u.AccountEnabled || strings.HasPrefix(u.UserPrincipalName, "scanner") {
			continue
		}
		for range rng.IntN(3) {
			t.Devices = append(t.Devices, g.device(u))
		}
	}
	if len(t.Users) >= 10 {
		// A shared reception PC enrolled without a primary user.
		t.Devices = append(t.Devices, g.device(nil))
	}
}

func (g *tenantGen) device(u *User) *Device {
	rng := g.rng
	kind := deviceKinds[pickWeighted(rng, deviceWeights)]
	d := &Device{
		ID:              newGUID(rng),
		OperatingSystem: kind.os,
		Manufacturer:    kind.makers[rng.IntN(len(kind.makers))],
		OSVersion:       kind.versions[rng.IntN(len(kind.versions))],
		ComplianceState: complianceStates[pickWeighted(rng, complianceWeights)],
	}
	d.Model = modelsBy[d.Manufacturer][rng.IntN(len(modelsBy[d.Manufacturer]))]
	d.SerialNumber = serialFor(rng, d.Manufacturer)
	d.EnrolledDateTime = genEpoch.Add(-time.Duration(rng.IntN(3*365*24)) * time.Hour)
	d.LastSyncDateTime = genEpoch.Add(-time.Duration(rng.IntN(30*24*60)) * time.Minute)
	switch kind.os {
	case "Windows":
		d.DeviceName = fmt.Sprintf("DESKTOP-%s", randomUpper(rng, 7))
		if rng.IntN(2) == 0 {
			d.DeviceName = fmt.Sprintf("%s-LT-%03d", strings.ToUpper(g.t.InitialDomain[:min(4, len(g.t.InitialDomain))]), rng.IntN(1000))
		}
	case "macOS":
		d.DeviceName = "MacBook Pro"
	case "iOS":
		d.DeviceName = "iPhone"
	default:
		d.DeviceName = d.Model
	}
	if u != nil {
		d.UserID, d.UserPrincipalName = u.ID, u.UserPrincipalName
		if kind.os == "macOS" {
			d.DeviceName = u.GivenName + "'s MacBook Pro"
		}
	} else {
		d.DeviceName = "RECEPTION-PC"
	}
	return d
}

func pickWeighted(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

func randomUpper(rng *rand.Rand, n int) string {
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[rng.IntN(len(alnum))]
	}
	return string(b)
}

// serialFor returns a serial in the maker's format, and now and then the junk that white-box
// PCs report.
func serialFor(rng *rand.Rand, maker string) string {
	if rng.IntN(40) == 0 {
		return junkSerials[rng.IntN(len(junkSerials))]
	}
	switch maker {
	case "Dell Inc.":
		return randomUpper(rng, 7)
	case "HP":
		return "5CG" + strconv.Itoa(1000+rng.IntN(9000)) + randomUpper(rng, 3)
	case "LENOVO":
		return "PF" + randomUpper(rng, 6)
	case "Microsoft Corporation":
		return fmt.Sprintf("0%011d", rng.Int64N(1e11))
	case "Apple":
		return "C02" + randomUpper(rng, 9)
	case "samsung":
		return "R58" + randomUpper(rng, 8)
	default:
		return randomUpper(rng, 10)
	}
}

func (g *tenantGen) groups() {
	rng, t := g.rng, g.t
	all := &Group{ID: newGUID(rng), DisplayName: "All Staff", Members: map[string]bool{}}
	admins := &Group{ID: newGUID(rng), DisplayName: "IT Admins", Members: map[string]bool{}}
	byDept := map[string]*Group{}
	t.Groups = append(t.Groups, all, admins)
	for _, u := range t.Users {
		if u.UserType != "Member" || u.MailboxType != "UserMailbox" {
			continue
		}
		all.Members[u.ID] = true
		if u.IsAdmin {
			admins.Members[u.ID] = true
		}
		if u.Department == "" {
			continue
		}
		grp := byDept[u.Department]
		if grp == nil {
			grp = &Group{ID: newGUID(rng), DisplayName: u.Department, Members: map[string]bool{}}
			byDept[u.Department] = grp
			t.Groups = append(t.Groups, grp)
		}
		grp.Members[u.ID] = true
	}
}

func (g *tenantGen) policies() {
	rng, t := g.rng, g.t
	if t.PremiumP1 && !t.SecurityDefaults {
		k := 1 + rng.IntN(len(caTemplates))
		for _, p := range caTemplates[:k] {
			state := p.state
			if rng.IntN(6) == 0 {
				state = "enabledForReportingButNotEnforced"
			}
			t.CAPolicies = append(t.CAPolicies, &CAPolicy{
				ID: newGUID(rng), DisplayName: p.name, State: state, RequiresMFA: p.mfa,
				CreatedAt: genEpoch.Add(-time.Duration(rng.IntN(700*24)) * time.Hour),
			})
		}
	}
	active := 0
	for _, u := range t.Users {
		if u.AccountEnabled && len(u.Licenses) > 0 {
			active++
		}
	}
	maxScore := float64(180 + rng.IntN(240))
	share := 0.25 + rng.Float64()*0.55
	if t.SecurityDefaults {
		share = min(share+0.1, 0.9)
	}
	t.SecureScore = SecureScore{
		Current:    float64(int(maxScore*share*100)) / 100,
		Max:        maxScore,
		CreatedAt:  genEpoch.Add(-time.Duration(rng.IntN(24)) * time.Hour),
		ActiveUser: active,
	}
}

// The lists the generator draws from. Names carry their ASCII address form, as an Exchange
// admin would type it ("Łukasz" → "lukasz", "王" → "wang").
type personName struct{ name, ascii string }

var givenNames = []personName{
	{"James", "james"}, {"Olivia", "olivia"}, {"Mohammed", "mohammed"}, {"Amelia", "amelia"},
	{"Oliver", "oliver"}, {"Isla", "isla"}, {"Jack", "jack"}, {"Emily", "emily"}, {"Harry", "harry"},
	{"Sophie", "sophie"}, {"George", "george"}, {"Grace", "grace"}, {"Noah", "noah"}, {"Ava", "ava"},
	{"Thomas", "thomas"}, {"Chloe", "chloe"}, {"Daniel", "daniel"}, {"Hannah", "hannah"},
	{"William", "william"}, {"Lucy", "lucy"}, {"Michael", "michael"}, {"Sarah", "sarah"},
	{"David", "david"}, {"Emma", "emma"}, {"John", "john"}, {"Laura", "laura"}, {"Peter", "peter"},
	{"Rachel", "rachel"}, {"Priya", "priya"}, {"Arjun", "arjun"}, {"Fatima", "fatima"},
	{"Wei", "wei"}, {"Mei", "mei"}, {"Hiroshi", "hiroshi"}, {"Yuki", "yuki"}, {"Aisha", "aisha"},
	{"Kwame", "kwame"}, {"Chidi", "chidi"}, {"José", "jose"}, {"Zoë", "zoe"}, {"Łukasz", "lukasz"},
	{"Søren", "soren"}, {"Chloé", "chloe"}, {"François", "francois"}, {"Siobhán", "siobhan"},
	{"Björn", "bjorn"}, {"Ayşe", "ayse"}, {"Magdalena", "magdalena"}, {"Niamh", "niamh"},
	{"Seán", "sean"}, {"Anders", "anders"}, {"Ingrid", "ingrid"}, {"Matteo", "matteo"},
	{"Giulia", "giulia"}, {"Lars", "lars"}, {"Anh", "anh"}, {"Minh", "minh"}, {"Carlos", "carlos"},
	{"Lucía", "lucia"}, {"Jan", "jan"}, {"Eva", "eva"}, {"Tomás", "tomas"}, {"Ana", "ana"},
	{"Jean-Luc", "jean-luc"}, {"Mary-Kate", "mary-kate"},
}

var surnames = []personName{
	{"Smith", "smith"}, {"Jones", "jones"}, {"Taylor", "taylor"}, {"Brown", "brown"},
	{"Williams", "williams"}, {"Wilson", "wilson"}, {"Johnson", "johnson"}, {"Davies", "davies"},
	{"Patel", "patel"}, {"Robinson", "robinson"}, {"Wright", "wright"}, {"Thompson", "thompson"},
	{"Evans", "evans"}, {"Walker", "walker"}, {"White", "white"}, {"Roberts", "roberts"},
	{"Green", "green"}, {"Hall", "hall"}, {"Wood", "wood"}, {"Jackson", "jackson"},
	{"Clarke", "clarke"}, {"Khan", "khan"}, {"Singh", "singh"}, {"Lewis", "lewis"},
	{"Hughes", "hughes"}, {"Edwards", "edwards"}, {"Murphy", "murphy"}, {"Kelly", "kelly"},
	{"O'Brien", "o'brien"}, {"O'Connor", "o'connor"}, {"Müller", "mueller"}, {"Schmidt", "schmidt"},
	{"Đặng", "dang"}, {"Nguyễn", "nguyen"}, {"王", "wang"}, {"李", "li"}, {"Tanaka", "tanaka"},
	{"Nowak", "nowak"}, {"Kowalski", "kowalski"}, {"Jørgensen", "jorgensen"}, {"García", "garcia"},
	{"Núñez", "nunez"}, {"Rossi", "rossi"}, {"Dubois", "dubois"}, {"Andersson", "andersson"},
	{"Virtanen", "virtanen"}, {"de Vries", "devries"}, {"van der Berg", "vanderberg"},
	{"Okafor", "okafor"}, {"Mensah", "mensah"}, {"Al-Sayed", "al-sayed"}, {"Cohen", "cohen"},
	{"Fernández", "fernandez"}, {"Novák", "novak"}, {"Ivanova", "ivanova"}, {"Silva", "silva"},
}

var partnerNames = []struct{ name, domain string }{
	{"Bluepeak IT Services Ltd", "bluepeakit.co.uk"},
	{"Northgate Managed Services LLC", "northgatems.com"},
	{"Harbourline Technology Pty Ltd", "harbourline.com.au"},
	{"Kestrel Systems GmbH", "kestrel-systems.de"},
}

var firstWords = []string{
	"Contoso", "Fabrikam", "Northwind", "Adatum", "Tailspin", "Woodgrove", "Litware", "Proseware",
	"Alpine", "Coho", "Lamna", "Wingtip", "Trey", "Humongous", "Relecloud", "Lucerne", "Margie's",
	"Fourth", "Blue Yonder", "Graphic", "Southridge", "Wide World", "Consolidated", "Nod",
	"Müller", "Søndergaard", "Brightwater", "Oakfield", "Riverside", "Greenway", "Summit", "Harbor",
	"Pinnacle", "Redwood", "Silverline", "Crestview", "Ironbridge", "Meadowbank", "Kingsway",
}

var secondWords = []string{
	"Dental", "Dental Care", "Logistics", "Consulting", "Engineering", "Bakery", "Legal",
	"Accounting", "Properties", "Marine", "Solutions", "Partners", "Group", "Healthcare",
	"Construction", "Motors", "Design", "Labs", "Foods", "Travel", "Architects", "Veterinary",
	"Pharmacy", "Insurance", "Holdings", "Electrical", "Plumbing", "Media", "Recruitment",
	"Estates", "Bäckerei", "Transport", "Finance", "Clinic", "Studios",
}

var legalSuffixes = []struct{ suffix, tld string }{
	{"Ltd", ".co.uk"}, {"Ltd", ".co.uk"}, {"Limited", ".co.uk"}, {"plc", ".com"}, {"LLC", ".com"},
	{"LLC", ".com"}, {"Inc.", ".com"}, {"Inc.", ".com"}, {"GmbH", ".de"}, {"AG", ".ch"},
	{"B.V.", ".nl"}, {"Pty Ltd", ".com.au"}, {"S.A.", ".es"}, {"Oy", ".fi"}, {"SARL", ".fr"},
	{"AB", ".se"}, {"ApS", ".dk"}, {"S.r.l.", ".it"}, {"Sp. z o.o.", ".pl"}, {"Ltd", ".ie"},
	{"Limited", ".co.nz"}, {"Inc.", ".ca"},
}

var regionWords = []string{"North", "South", "East", "West", "UK", "Europe", "International", "Scotland", "Wales", "Midlands", "Ireland", "Nordic", "Benelux", "Services"}

var altTLDs = []string{".com", ".net", ".org", ".co", ".eu", ".io"}

var personalDomains = []string{"gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.com", "icloud.com", "proton.me", "btinternet.com", "web.de"}

var departments = []struct {
	name   string
	titles []string
}{
	{"Sales", []string{"Account Manager", "Sales Executive", "Business Development Manager"}},
	{"Finance", []string{"Accountant", "Finance Manager", "Credit Controller", "Bookkeeper"}},
	{"Operations", []string{"Operations Manager", "Coordinator", "Warehouse Supervisor"}},
	{"Marketing", []string{"Marketing Manager", "Content Writer", "Designer"}},
	{"HR", []string{"HR Advisor", "People Partner"}},
	{"Customer Service", []string{"Customer Service Advisor", "Team Leader"}},
	{"Engineering", []string{"Engineer", "Senior Engineer", "Project Manager"}},
	{"Management", []string{"Director", "Managing Director", "Office Manager"}},
	{"", []string{""}},
}

var offices = []string{"London", "Manchester", "Leeds", "Bristol", "Dublin", "Remote", "Head Office", "Birmingham", ""}

var sharedNames = []string{"info", "accounts", "support", "sales", "hr", "reception"}

var sharedDisplay = map[string]string{
	"info": "Info", "accounts": "Accounts", "support": "Support", "sales": "Sales Enquiries", "hr": "HR", "reception": "Reception",
}

type skuDef struct {
	id, part, name string
	p1             bool // includes Entra ID P1
}

var mainSKUs = []skuDef{
	{"cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "Microsoft 365 Business Premium", true},
	{"cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "Microsoft 365 Business Premium", true},
	{"cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "Microsoft 365 Business Premium", true},
	{"05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3", true},
	{"05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3", true},
	{"f245ecc8-75af-4f8e-b61f-27d8114de5b3", "O365_BUSINESS_PREMIUM", "Microsoft 365 Business Standard", false},
	{"6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3", false},
	{"3b555118-da6a-4418-894f-7df1e2096870", "O365_BUSINESS_ESSENTIALS", "Microsoft 365 Business Basic", false},
}

var (
	skuExchange = skuDef{"4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGESTANDARD", "Exchange Online (Plan 1)", false}
	skuAADP1    = skuDef{"078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", "Microsoft Entra ID P1", true}
)

// mfaMethodSets are registered method combinations, in Graph's userRegistrationDetails names.
var mfaMethodSets = [][]string{
	{"microsoftAuthenticatorPush", "softwareOneTimePasscode"},
	{"microsoftAuthenticatorPush", "softwareOneTimePasscode"},
	{"microsoftAuthenticatorPush", "mobilePhone"},
	{"mobilePhone"},
	{"microsoftAuthenticatorPasswordless", "microsoftAuthenticatorPush"},
	{"fido2", "microsoftAuthenticatorPush"},
	{"windowsHelloForBusiness", "microsoftAuthenticatorPush"},
	{"softwareOneTimePasscode"},
}

var deviceKinds = []struct {
	os       string
	makers   []string
	versions []string
}{
	{"Windows", []string{"Dell Inc.", "HP", "LENOVO", "Microsoft Corporation"}, []string{"10.0.22631.4602", "10.0.26100.2605", "10.0.19045.5247", "10.0.22621.4317"}},
	{"macOS", []string{"Apple"}, []string{"14.6.1", "15.1.1", "13.7.1"}},
	{"iOS", []string{"Apple"}, []string{"17.6.1", "18.1.1", "18.2"}},
	{"Android", []string{"samsung", "Google"}, []string{"14", "15", "13"}},
}

var deviceWeights = []int{60, 10, 15, 15}

var modelsBy = map[string][]string{
	"Dell Inc.":             {"Latitude 5440", "Latitude 7450", "OptiPlex 7010", "XPS 13 9340"},
	"HP":                    {"HP EliteBook 840 G10", "HP ProBook 450 G9", "HP EliteDesk 800 G6"},
	"LENOVO":                {"21HD0034UK", "20XW005JUK", "ThinkPad T14 Gen 4"},
	"Microsoft Corporation": {"Surface Laptop 5", "Surface Pro 9"},
	"Apple":                 {"MacBookPro18,1", "MacBookAir10,1", "iPhone 15", "iPhone 14 Pro", "iPad (9th generation)"},
	"samsung":               {"SM-S911B", "SM-A546B", "SM-G991B"},
	"Google":                {"Pixel 8", "Pixel 7a"},
}

var junkSerials = []string{"To Be Filled By O.E.M.", "Default string", "System Serial Number", "0", "0123456789"}

var complianceStates = []string{"compliant", "noncompliant", "inGracePeriod", "unknown"}

var complianceWeights = []int{85, 8, 3, 4}

var caTemplates = []struct {
	name, state string
	mfa         bool
}{
	{"Require MFA for all users", "enabled", true},
	{"Block legacy authentication", "enabled", false},
	{"Require MFA for administrators", "enabled", true},
	{"Require compliant or hybrid joined device", "enabledForReportingButNotEnforced", false},
	{"Block access from outside the UK", "disabled", false},
	{"CIPP - Require MFA for Azure management", "enabled", true},
}
