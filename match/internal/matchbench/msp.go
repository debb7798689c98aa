package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

// mspCase is one hand-labelled situation from an MSP's book: a tenant, the PSA's clients and
// contacts around it, and the client the tenant belongs to ("" when it is not in the PSA).
type mspCase struct {
	Kind     string
	Tenant   tenantsync.Tenant
	Clients  []tenantsync.Client
	Contacts []tenantsync.Contact
	Want     string
}

const mspDomain = "bytesmiths-it.com"

func contacts(clientID, domain string, n int) []tenantsync.Contact {
	out := make([]tenantsync.Contact, n)
	for i := range out {
		out[i] = tenantsync.Contact{ID: clientID + "-ct" + strconv.Itoa(i), ClientID: clientID, Email: "person" + strconv.Itoa(i) + "@" + domain, Active: true}
	}
	return out
}

func cl(id, name string, domains ...string) tenantsync.Client {
	return tenantsync.Client{ID: id, Name: name, Domains: domains}
}

func tn(name, domain string) tenantsync.Tenant {
	t := tenantsync.Tenant{ID: "tenant-" + strings.ToLower(strings.ReplaceAll(name, " ", "-")), DisplayName: name,
		InitialDomain: initialLabel(name, 0) + ".onmicrosoft.com"}
	if domain != "" {
		t.DefaultDomain, t.Domains = domain, []string{domain}
	}
	return t
}

// bystanders are clients every case's PSA also holds, so a case is never a catalogue of one.
var bystanders = []tenantsync.Client{
	cl("by-1", "Harbour Dental Care Ltd", "harbourdental.co.uk"), cl("by-2", "Northgate Accountants LLP", "northgate-acc.com"),
	cl("by-3", "Riverside Public Schools", "riverside.k12.us"), cl("by-4", "Sunrise Early Childhood Center", "sunriseecc.org"),
	cl("by-5", "Keller Electronics GmbH", "keller-elektronik.de"), cl("by-6", "Group Services Ltd", "groupservices.co.uk"),
	cl("by-7", "Atlas Holdings Inc", "atlasholdings.com"), cl("by-8", "Europa Logistics B.V.", "europalogistics.nl"),
}

// mspCases returns the labelled MSP situations, 77 of them in 7 kinds.
func mspCases() []mspCase {
	var cs []mspCase
	add := func(kind string, t tenantsync.Tenant, want string, clients []tenantsync.Client, cts ...[]tenantsync.Contact) {
		c := mspCase{Kind: kind, Tenant: t, Want: want, Clients: append(slices.Clone(bystanders), clients...)}
		for _, x := range cts {
			c.Contacts = append(c.Contacts, x...)
		}
		// The MSP's own staff are contacts under many clients.
		for _, x := range clients {
			c.Contacts = append(c.Contacts, tenantsync.Contact{ID: x.ID + "-msp", ClientID: x.ID, Email: "tech@" + mspDomain})
		}
		cs = append(cs, c)
	}
	// Franchises: several franchisees on the franchisor's domain, told apart by their names.
	for i, f := range [][3]string{
		{"Bright Smiles Dental", "brightsmiles.com", "Leeds"}, {"QuickFix Plumbing", "quickfixplumbing.com", "Austin"},
		{"Little Acorns Nursery", "littleacorns.co.uk", "Bristol"}, {"Fit Zone Gym", "fitzone.fit", "Denver"},
		{"Kwik Kopy Print", "kwikkopyprint.com.au", "Parramatta"}, {"Mister Sparky Electric", "mistersparkyelectric.com", "Tampa"},
		{"Happy Paws Vets", "happypaws.vet", "Utrecht"}, {"Green Leaf Cleaning", "greenleafclean.com", "Calgary"},
		{"Kumon Learning Centre", "kumonlearning.co.nz", "Hamilton"}, {"Burger Barn", "burgerbarn.ie", "Cork"},
		{"Sun Coast Realty", "suncoastrealty.com", "Naples"},
	} {
		base, dom, city := f[0], f[1], f[2]
		id := "fr" + strconv.Itoa(i)
		add("franchise", tn(base+" "+city, dom), id+"-a", []tenantsync.Client{
			cl(id+"-a", base+" - "+city, dom), cl(id+"-b", base+" - Northside", dom), cl(id+"-c", base+" Franchising Ltd", dom),
		}, contacts(id+"-a", dom, 3), contacts(id+"-b", dom, 4))
	}
	// Parent and subsidiaries: the subsidiary's tenant, with its own domain, while the group's
	// staff (and some of the subsidiary's) use the group domain.
	for i, p := range [][4]string{
		{"Contour", "Contour Logistics", "contourgroup.com", "contourlogistics.com"},
		{"Halden", "Halden Engineering", "haldengroup.de", "halden-engineering.de"},
		{"Marlow", "Marlow Care Homes", "marlowgroup.co.uk", "marlowcare.co.uk"},
		{"Veritas", "Veritas Legal", "veritas-holdings.com", "veritaslegal.com"},
		{"Oakridge", "Oakridge Facilities Management", "oakridge.group", "oakridgefm.com"},
		{"Brandt", "Brandt Transport", "brandt-gruppe.de", "brandt-transport.de"},
		{"Solent", "Solent Marine Services", "solentgroup.co.uk", "solentmarine.co.uk"},
		{"Aurora", "Aurora Pharmacy", "auroragroup.com.au", "aurorapharmacy.com.au"},
		{"Pinecrest", "Pinecrest Senior Living", "pinecrest.org", "pinecrestliving.org"},
		{"Delmar", "Delmar Foods", "delmar-group.es", "delmarfoods.es"},
		{"Kestrel", "Kestrel Security", "kestrelgroup.ie", "kestrelsecurity.ie"},
	} {
		id := "ps" + strconv.Itoa(i)
		if i%2 == 0 {
			add("parent-subsidiary", tn(p[1]+" Ltd", p[3]), id+"-sub", []tenantsync.Client{
				cl(id+"-par", p[0]+" Group plc", p[2]), cl(id+"-sub", p[1]+" Limited", p[3]),
			}, contacts(id+"-par", p[2], 5), contacts(id+"-sub", p[2], 1), contacts(id+"-sub", p[3], 1))
		} else {
			add("parent-subsidiary", tn(p[0]+" Group", p[2]), id+"-par", []tenantsync.Client{
				cl(id+"-par", p[0]+" Group plc", p[2]), cl(id+"-sub", p[1]+" Limited", p[3]),
			}, contacts(id+"-par", p[2], 2), contacts(id+"-sub", p[2], 3))
		}
	}
	// Holding companies whose directors use the operating company's domain (the Birch case):
	// the operating company's client has no domain yet, the holding's contacts all use it.
	for i, h := range [][2]string{
		{"Birch", "birch.co.uk"}, {"Thornbury", "thornbury.com"}, {"Calloway", "calloway.ie"},
		{"Ashdown", "ashdown.co.uk"}, {"Wexford Marine", "wexfordmarine.ie"}, {"Lindqvist", "lindqvist.se"},
		{"Mercer Hale", "mercerhale.com"}, {"Rowan", "rowan.com.au"}, {"Stanway", "stanway.co.nz"},
		{"Beaumont", "beaumont.fr"}, {"Kingsley", "kingsley.ca"},
	} {
		id := "ho" + strconv.Itoa(i)
		add("holding-directors", tn(h[0]+" Ltd", h[1]), id+"-op", []tenantsync.Client{
			cl(id+"-hold", h[0]+" Holdings Ltd"), cl(id+"-op", h[0]+" Ltd"),
		}, contacts(id+"-hold", h[1], 2))
	}
	// New customers: the tenant is not in the PSA yet; near names are other companies.
	for i, n := range [][3]string{
		{"Fresh Bakery Ltd", "freshbakery.co.uk", "Fresh Foods Ltd"}, {"Summit Legal LLP", "summitlegal.com", "Summit Dental Ltd"},
		{"Nordlicht Medien GmbH", "nordlicht-medien.de", "Nordlicht Reisen GmbH"}, {"Blue Harbour Cafe", "blueharbourcafe.com", "Harbour Dental Care Ltd"},
		{"Keller Electronic Systems", "kellersystems.at", "Keller Electronics GmbH"}, {"Atlas Roofing", "atlasroofing.com", "Atlas Holdings Inc"},
		{"Europa Travel B.V.", "europatravel.nl", "Europa Logistics B.V."}, {"Riverside Dental", "riversidedental.com", "Riverside Public Schools"},
		{"Sunrise Bakery", "sunrisebakery.com", "Sunrise Early Childhood Center"}, {"Northgate Surveyors", "northgatesurveyors.co.uk", "Northgate Accountants LLP"},
		{"Group Media Ltd", "groupmedia.co.uk", "Group Services Ltd"},
	} {
		id := "nw" + strconv.Itoa(i)
		add("new-customer", tn(n[0], n[1]), "", []tenantsync.Client{cl(id+"-near", n[2], "other-"+n[1])}, contacts(id+"-near", "other-"+n[1], 2))
	}
	// The MSP's own tenant: its domain is excluded and its staff are contacts everywhere.
	for i, m := range []string{"Bytesmiths IT", "Bytesmiths IT Ltd", "Bytesmiths", "Bytesmiths IT Services", "BytesmithsIT",
		"Bytesmiths IT (internal)", "Bytesmiths Managed Services", "Bytesmiths IT Support", "Bytesmiths Ltd", "Bytesmiths Group", "Bytesmiths IT - Lab"} {
		id := "own" + strconv.Itoa(i)
		add("msp-own-tenant", tn(m, mspDomain), "", []tenantsync.Client{cl(id+"-a", "Byte Solutions Ltd", "bytesolutions.com")}, contacts(id+"-a", mspDomain, 3))
	}
	// Real-world spellings: legal forms written out, transliteration, acronyms, trailing
	// locations; each with its domain on the right client.
	for i, v := range [][4]string{
		{"Mueller Maschinenbau", "Müller Maschinenbau GmbH", "mueller-maschinenbau.de", "Müller Metallbau GmbH"},
		{"Van Dijk Installatietechniek Naamloze Vennootschap", "Van Dijk Installatietechniek N.V.", "vandijk-it.nl", "Van Dijk Transport B.V."},
		{"Hoffmann Aktiengesellschaft", "Hoffmann AG", "hoffmann-ag.ch", "Hoffmann Logistik GmbH"},
		{"Dubois Société Anonyme", "Dubois SA", "dubois.fr", "Dubois Immobilier SARL"},
		{"NMB", "Northern Metal Buildings Ltd", "nmb-ltd.co.uk", "Northern Marine Boats Ltd"},
		{"Tanaka Kabushiki Kaisha", "Tanaka K.K.", "tanaka.co.jp", "Tanaka Trading Co., Ltd."},
		{"Peterson Consulting, Zoetermeer, NL", "Peterson Consulting B.V.", "petersonconsulting.nl", "Peterson Bouw B.V."},
		{"Смирнов Логистик", "Smirnov Logistik OOO", "smirnov-logistik.ru", "Sokolov Logistik OOO"},
		{"García Sociedad Limitada", "Garcia S.L.", "garcia-sl.es", "Garcia Hermanos S.A."},
		{"Whitmore Public Limited Company", "Whitmore plc", "whitmore.co.uk", "Whitmore Estates Ltd"},
		{"Jansen Besloten Vennootschap", "Jansen B.V.", "jansen-bv.nl", "Janssen Elektro B.V."},
	} {
		id := "sp" + strconv.Itoa(i)
		add("spelling", tn(v[0], v[2]), id+"-a", []tenantsync.Client{cl(id+"-a", v[1], v[2]), cl(id+"-b", v[3], "b-"+v[2])},
			contacts(id+"-a", v[2], 2))
	}
	// Readings: a client whose name matches the tenant's only as an acronym, an abbreviation,
	// a number or a transliteration may be read ("TD" as a trading house), and one of its
	// contacts uses the tenant's domain. A person decides; a client bearing the name as
	// written comes first, and one with the name and the contacts is still linked.
	for i, r := range [][5]string{
		// tenant, domain, the client with a contact on it, a client bearing the name ("" for
		// none), which of them the tenant is ("" for neither: a person decides)
		{"TD Bank", "tdbank.com", "Trading House Bank", "", ""},
		{"KB Electric", "kbelectric.com", "Design Bureau Electric", "", ""},
		{"Cisco", "cisco.com", "Central Illinois Services", "", ""},
		{"Tesco", "tesco.com", "Texas Electric Services", "", ""},
		{"Second Cup Cafe", "secondcup.com", "Two Cups Cafe", "", ""},
		{"BOA Consulting", "boaconsulting.com", "Board of Appeals Consulting", "", ""},
		{"One Source Staffing", "oss-hr.com", "1st Source Staffing", "OneSource Staffing Inc", "name"},
		{"FirstChoice Dental", "fcdental.com", "Choice Dental", "First Choice Dental", "name"},
		{"Getty Realty", "gettyrealty.com", "Getty Realty Group", "Jetty Realty", "contact"},
		{"First Stop Auto Repair", "firststopauto.com", "First Stop Automotive", "One Stop Auto Repair", "contact"},
		{"Seven Hills Winery", "sevenhills.com", "7 Hills Winery Ltd", "", "contact"},
	} {
		id := "rd" + strconv.Itoa(i)
		clients := []tenantsync.Client{cl(id+"-contact", r[2])}
		if r[3] != "" {
			clients = append(clients, cl(id+"-name", r[3]))
		}
		want := ""
		if r[4] != "" {
			want = id + "-" + r[4]
		}
		add("readings", tn(r[0], r[1]), want, clients, contacts(id+"-contact", r[1], 1))
	}
	return cs
}

// mspReport runs the MSP cases and returns the number of wrong automatic acceptances.
func mspReport(out io.Writer) (int, error) {
	cases := mspCases()
	type k struct{ cases, top1, auto, wrongAuto int }
	byKind := map[string]*k{}
	var kinds []string
	wrong := 0
	var mistakes []string
	for _, c := range cases {
		s, err := match.NewSuggester(c.Clients, c.Contacts, match.SuggestConfig{ExcludeDomains: []string{mspDomain}})
		if err != nil {
			return 0, err
		}
		r := s.Suggest(c.Tenant)
		st := byKind[c.Kind]
		if st == nil {
			st = &k{}
			byKind[c.Kind] = st
			kinds = append(kinds, c.Kind)
		}
		st.cases++
		if c.Want == "" && (len(r.Candidates) == 0 || !r.AutoAccept) || c.Want != "" && len(r.Candidates) > 0 && r.Candidates[0].ClientID == c.Want {
			st.top1++
		}
		if r.AutoAccept {
			st.auto++
			if r.ClientID != c.Want {
				st.wrongAuto++
				wrong++
				mistakes = append(mistakes, fmt.Sprintf("  WRONG AUTO %s: %q → %s, want %q (%s)", c.Kind, c.Tenant.DisplayName, r.ClientID, c.Want, r.Reason))
			}
		}
	}
	fmt.Fprintf(out, "\n== match: %d labelled MSP cases ==\n", len(cases))
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\tcases\tright first (none: not auto-accepted)\tauto-accepted\twrong auto\t")
	for _, kd := range kinds {
		st := byKind[kd]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", kd, st.cases, st.top1, st.auto, st.wrongAuto)
	}
	tw.Flush()
	for _, m := range mistakes {
		fmt.Fprintln(out, m)
	}
	return wrong, nil
}
