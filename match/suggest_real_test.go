package match_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

// suggestOne suggests for a tenant with a display name alone against clients named names
// (IDs c0, c1, ...).
func suggestOne(t *testing.T, tenant string, names ...string) match.Suggestion {
	t.Helper()
	clients := make([]tenantsync.Client, len(names))
	for i, n := range names {
		clients[i] = tenantsync.Client{ID: fmt.Sprintf("c%d", i), Name: n}
	}
	s, err := match.NewSuggester(clients, nil, match.SuggestConfig{})
	require.NoError(t, err)
	return s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
}

func top(t *testing.T, sg match.Suggestion) match.Candidate {
	t.Helper()
	require.NotEmpty(t, sg.Candidates, "no candidate for %q", sg.TenantName)
	return sg.Candidates[0]
}

// Legal forms written out, in other languages, are stripped like their abbreviations; a shared
// legal form no longer makes two companies alike.
func TestSuggestLegalFormsWrittenOut(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Van Dijk Naamloze Vennootschap":                       "van dijk",
		"Jansen Besloten Vennootschap":                         "jansen",
		"Hoffmann Aktiengesellschaft":                          "hoffmann",
		"Müller Gesellschaft mit beschränkter Haftung":         "muller",
		"Dubois Société Anonyme":                               "dubois",
		"García Sociedad Limitada":                             "garcia",
		"Tanaka Kabushiki Kaisha":                              "tanaka",
		"Kabushiki Kaisha Tanaka":                              "tanaka",
		"Whitmore Public Limited Company":                      "whitmore",
		"Smirnov Obshchestvo s Ogranichennoy Otvetstvennostyu": "smirnov",
	} {
		assert.Equal(t, want, match.NormalizeCompanyName(in), in)
	}
	sg := suggestOne(t, "Acme Naamloze Vennootschap", "Zenith Naamloze Vennootschap", "Acme N.V.", "Orbit Naamloze Vennootschap")
	assert.Equal(t, "c1", top(t, sg).ClientID)
	for _, c := range sg.Candidates[1:] {
		assert.NotContains(t, c.ClientName, "Zenith", "the legal form alone is no likeness")
	}
}

// Words many clients share weigh little: "Sony Europa" is nearer "Sony Europe B.V." than
// "Canon Europa", and the evidence names the rare word.
func TestSuggestRareTokensOutweighCommonOnes(t *testing.T) {
	t.Parallel()
	names := []string{"Sony Europe B.V.", "Canon Europa N.V."}
	for _, w := range []string{"Atlas", "Nova", "Kestrel", "Vireo", "Halden", "Orbit", "Zenith", "Quill"} {
		names = append(names, w+" Europe Ltd", w+" Electronics GmbH")
	}
	sg := suggestOne(t, "Sony Europa", names...)
	best := top(t, sg)
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `name: "Sony Europa" ≈ "Sony Europe B.V." (`)
	assert.Contains(t, best.Signals[0].Detail, `rare token "sony" shared`)
	for _, c := range sg.Candidates[1:] {
		assert.Less(t, c.Confidence, best.Confidence-0.1, "%s shares only common words", c.ClientName)
	}

	sg = suggestOne(t, "Riverside Early Childhood Center", "Sunrise Early Childhood Center", "Maple Early Childhood Center",
		"Oak Early Childhood Center", "Riverside Early Learning")
	assert.Equal(t, "c3", top(t, sg).ClientID, "the one rare word decides: %+v", sg.Candidates)
}

// A trailing location or qualifier after a comma or in brackets does not sink a short name.
func TestSuggestTrailingLocations(t *testing.T) {
	t.Parallel()
	for tenant, want := range map[string]string{
		"DSM N.V., Heerlen":                   "DSM N.V.",
		"Peterson Consulting, Zoetermeer, NL": "Peterson Consulting B.V.",
		"Kleentek":                            "Kleentek Corporation (Japan)",
	} {
		sg := suggestOne(t, tenant, want, "DSB Bank N.V.", "Pederson Construction B.V.", "Kleenex Corporation (United States)")
		best := top(t, sg)
		assert.Equal(t, want, best.ClientName, tenant)
		assert.GreaterOrEqual(t, best.Confidence, match.ScoreName*0.95, "%s: %s", tenant, best.Signals[0].Detail)
	}
}

// Acronyms, initials and abbreviations find the name they stand for.
func TestSuggestAcronymsAndAbbreviations(t *testing.T) {
	t.Parallel()
	for tenant, want := range map[string]string{
		"IBM":                "International Business Machines Corporation",
		"NE Ill Univ":        "Northeastern Illinois University",
		"Intl Mgmt Partners": "International Management Partners LLC",
		"CMRE":               "Canon Medical Research Europe Ltd",
	} {
		sg := suggestOne(t, tenant, want, "Northern Illinois University", "Canon Europe Ltd", "Interval Partners LLC", "Iberia Motors")
		best := top(t, sg)
		assert.Equal(t, want, best.ClientName, "%s: %+v", tenant, sg.Candidates)
		if len(sg.Candidates) > 1 {
			assert.Greater(t, best.Confidence, sg.Candidates[1].Confidence, "%s is not a tie", tenant)
		}
	}
	// Initials are weak evidence: two names with the same initials tie, and say so.
	sg := suggestOne(t, "IBM", "International Business Machines Corporation", "Ian Brown Motors")
	require.Len(t, sg.Candidates, 2)
	assert.Equal(t, sg.Candidates[0].Rank, sg.Candidates[1].Rank)
	assert.Contains(t, sg.Candidates[0].Signals[0].Detail, `"ibm" is the initials of`)
}

// Diacritics, their German transliteration and Cyrillic spellings are one name.
func TestSuggestTransliteration(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 1, match.NameSimilarity("Mueller Maschinenbau", "Müller Maschinenbau GmbH"), 1e-9)
	assert.InDelta(t, 1, match.NameSimilarity("Muller Maschinenbau", "Müller Maschinenbau GmbH"), 1e-9)
	assert.InDelta(t, 1, match.NameSimilarity("Grünwald", "Gruenwald AG"), 1e-9)
	assert.Greater(t, match.NameSimilarity("Смирнов Логистик", "Smirnov Logistik OOO"), 0.95)
	assert.Greater(t, match.NameSimilarity("ОМФ Паблішинг", "OMF Publishing LLC"), 0.85)
	sg := suggestOne(t, "Смирнов Логистик", "Sokolov Logistik OOO", "Smirnov Logistik OOO")
	assert.Equal(t, "c1", top(t, sg).ClientID)
}

// Ties are reported as ties: equal confidence, equal Rank, and no automatic choice.
func TestSuggestReportsTies(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "b", Name: "Apex Solutions Inc", Domains: []string{"apex.example"}},
		{ID: "a", Name: "Apex Solutions Ltd", Domains: []string{"apex.example"}},
		{ID: "c", Name: "Apex Solutions Group"},
	}
	out, err := match.Suggest([]tenantsync.Tenant{{ID: "t", DisplayName: "Apex Solutions", DefaultDomain: "apex.example"}}, clients, nil, match.SuggestConfig{})
	require.NoError(t, err)
	sg := out[0]
	require.Len(t, sg.Candidates, 3)
	assert.Equal(t, 1, sg.Candidates[0].Rank)
	assert.Equal(t, 1, sg.Candidates[1].Rank, "a tie shares its rank")
	assert.Equal(t, 3, sg.Candidates[2].Rank)
	assert.False(t, sg.AutoAccept)
	assert.Contains(t, sg.Reason, "2 candidates tie")
}

// The Birch case (issue 15): the tenant "Birch Ltd" on birch.co.uk was auto-linked at 0.958 to
// "Birch Holdings Ltd", whose two contacts (the directors) use birch.co.uk, while "Birch Ltd"
// (the exact name, no domain recorded yet) scored 0.85. Contacts' addresses plus a
// near-identical name must not outrank an exact name into an automatic link.
func TestSuggestBirch(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "holdings", Name: "Birch Holdings Ltd"},
		{ID: "birch", Name: "Birch Ltd"},
		{ID: "other", Name: "Harbour Dental Care Ltd", Domains: []string{"harbourdental.co.uk"}},
	}
	contacts := []tenantsync.Contact{
		{ID: "d1", ClientID: "holdings", Email: "jane.birch@birch.co.uk"},
		{ID: "d2", ClientID: "holdings", Email: "tom.birch@birch.co.uk"},
	}
	s, err := match.NewSuggester(clients, contacts, match.SuggestConfig{})
	require.NoError(t, err)
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Birch Ltd", DefaultDomain: "birch.co.uk", Domains: []string{"birch.co.uk"}})
	assert.False(t, sg.AutoAccept, sg.Reason)
	assert.Empty(t, sg.ClientID)
	assert.Contains(t, sg.Reason, "credible")
	// The exact name is not outranked: it comes first, the holding second, both credible.
	require.GreaterOrEqual(t, len(sg.Candidates), 2)
	assert.Equal(t, "birch", sg.Candidates[0].ClientID, "the exact name ranks first")
	assert.Equal(t, 1, sg.Candidates[0].Rank)
	assert.Equal(t, "holdings", sg.Candidates[1].ClientID)
	assert.Equal(t, 2, sg.Candidates[1].Rank)
	assert.GreaterOrEqual(t, sg.Candidates[1].Confidence, match.CredibleMin, "the holding stays credible for the person who decides")
	assert.Contains(t, sg.Reason, "2 of the client's 2 contacts use birch.co.uk", "the reason names the holding's evidence")
	last := sg.Candidates[1].Signals[len(sg.Candidates[1].Signals)-1]
	assert.Equal(t, match.EvidenceExactNameRival, last.Evidence)
	assert.Contains(t, last.Detail, `"Birch Ltd"`)

	// Once the operating company's client records the domain, it comes first; the directors'
	// addresses still keep the holding close enough that a person confirms.
	clients[1].Domains = []string{"birch.co.uk"}
	s, err = match.NewSuggester(clients, contacts, match.SuggestConfig{})
	require.NoError(t, err)
	sg = s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Birch Ltd", DefaultDomain: "birch.co.uk"})
	assert.Equal(t, "birch", top(t, sg).ClientID)
	assert.NotEqual(t, "holdings", sg.ClientID)

	// Without the exact-name rival, the directors' addresses and the name do link the holding.
	s, err = match.NewSuggester([]tenantsync.Client{clients[0], clients[2]}, contacts, match.SuggestConfig{})
	require.NoError(t, err)
	sg = s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Birch Holdings", DefaultDomain: "birch.co.uk"})
	assert.True(t, sg.AutoAccept, sg.Reason)
	assert.True(t, strings.HasPrefix(sg.Reason, "accepted: "))
}

// Trailing places are not names: "USA" is not the initials of "University of South Alabama",
// and a client's qualifier ("…, Irvine") tells campuses of one university apart.
func TestSuggestTrailingPlacesAndQualifiers(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "merced", Name: "University of California, Merced"},
		{ID: "irvine", Name: "University of California, Irvine"},
		{ID: "usa", Name: "University of South Alabama"},
		{ID: "yale", Name: "Yale University"},
	}
	s, err := match.NewSuggester(clients, nil, match.SuggestConfig{})
	require.NoError(t, err)
	for tenant, want := range map[string]string{
		"Department of Chemistry, University of California, Irvine, CA, USA":           "irvine",
		"Department of Epidemiology, Yale School of Public Health, New Haven, CT, USA": "yale",
	} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
		assert.Equal(t, want, top(t, sg).ClientID, tenant)
		assert.Equal(t, 1, top(t, sg).Rank)
		if len(sg.Candidates) > 1 {
			assert.Greater(t, top(t, sg).Confidence, sg.Candidates[1].Confidence, "%s is not a tie", tenant)
		}
	}
}

// A name that matches only once a word is read as something else ("TD" as a trading house,
// "Cisco" as initials and "co", "Second" as "Two") is a hint: with the contacts' addresses of
// one client on the tenant's domain it still leaves the choice to a person. Proof or a name
// as written still decides.
func TestReadingsNeverLiftAContactHint(t *testing.T) {
	t.Parallel()
	var fillers []tenantsync.Client
	for i, w := range strings.Fields("Acme Harbour Summit Maple Cedar Pioneer Atlas Beacon Crescent Horizon Lakeside Meadow Northgate Oakridge Pinnacle Quarry Redwood Silverline Trinity Unity") {
		for j, kind := range []string{"Plumbing", "Dental Care", "Logistics"} {
			fillers = append(fillers, tenantsync.Client{ID: "f" + strconv.Itoa(i*3+j), Name: w + " " + kind + " Ltd"})
		}
	}
	suggest := func(tenant, domain string, names []string, withContact int) match.Suggestion {
		clients := slices.Clone(fillers)
		for i, n := range names {
			clients = append(clients, tenantsync.Client{ID: "c" + strconv.Itoa(i), Name: n})
		}
		var contacts []tenantsync.Contact
		if withContact < len(names) {
			contacts = append(contacts, tenantsync.Contact{ID: "p", ClientID: "c" + strconv.Itoa(withContact), Email: "mike@" + domain})
		}
		s, err := match.NewSuggester(clients, contacts, match.SuggestConfig{})
		require.NoError(t, err)
		return s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant, DefaultDomain: domain})
	}
	for _, c := range []struct {
		tenant, domain string
		names          []string
		contact        int
		first          string // the client the name as written puts first, when it does
	}{
		{"KB Electric", "kbelectric.com", []string{"Kelly Brothers Electric", "Design Bureau Electric"}, 1, ""},
		{"TD Bank", "tdbank.com", []string{"Toronto Dominion Bank", "Trading House Bank"}, 1, ""},
		{"Cisco", "cisco.com", []string{"Cisco Systems", "Central Illinois Services"}, 1, ""},
		{"Tesco", "tesco.com", []string{"Texas Electric Services"}, 0, ""},
		{"One Source Staffing", "oss-hr.com", []string{"OneSource Staffing Inc", "1st Source Staffing"}, 1, "c0"},
		{"FirstChoice Dental", "fcdental.com", []string{"First Choice Dental", "Choice Dental"}, 1, "c0"},
		{"Second Cup Cafe", "secondcup.com", []string{"Two Cups Cafe"}, 0, ""},
		{"Second Cup Cafe", "secondcup.com", []string{"Second Cup Cafe Group", "2nd Cup Cafe"}, 1, ""},
		{"Seven Hills Winery", "sevenhills.com", []string{"Seven Hills Winery Group", "7 Hills Winery"}, 1, ""},
		{"Zavod Sonce", "sonce.si", []string{"Sonce Plant Nursery"}, 0, ""},
		{"Dell", "dell.com", []string{"Dell Technologies", "Delta Logistics"}, 1, ""},
		{"Chase", "chase.com", []string{"Chase Bank Branch", "Chicago Area Storage Enterprises"}, 1, ""},
		{"Philips", "philips.com", []string{"Philips Healthcare", "Filips Electrical"}, 1, ""},
		{"Kwik Print", "kwikprint.com", []string{"Kwik Print Group", "Quick Print"}, 1, ""},
		{"MTC", "mtc.com", []string{"MTC Group", "Maple Tree Consulting Partners LLC"}, 1, ""},
		{"MTC", "mtc.com", []string{"MTC Group", "Maple Tree Consulting Group"}, 1, ""},
		{"Case", "case.com", []string{"Case Construction Equipment", "Chicago Area Storage Enterprises"}, 1, ""},
		{"Ford", "ford.com", []string{"Ford Motor Company", "Florida Orthopedic Rehabilitation Doctors"}, 1, ""},
		{"Blue Harbor Plumbing", "bhp.com", []string{"Blue Hill Plumbing"}, 0, ""},
		{"NE Plumbing Supply", "neplumbing.com", []string{"Northeast Plumbing Supply"}, 0, ""},
		{"Sparkle Cleaning 214", "sparklecleaning.com", []string{"Sparkle Cleaning 117"}, 0, ""},
		{"Sparkle Cleaning Denver", "sparklecleaning.com", []string{"Sparkle Cleaning Boulder", "Sparkle Cleaning of Denver Metro"}, 0, ""},
		{"Sparkle Cleaning of Denver", "sparklecleaning.com", []string{"Sparkle Cleaning", "Sparkle Cleaning Aurora", "Sparkle Cleaning of Boulder"}, 2, ""},
		{"Sparkle Cleaning 214", "sparklecleaning214.com", []string{"Sparkle Cleaning 21"}, 0, ""},
		{"Blue Harbor Plumbing & Heating", "bhph.com", []string{"Blue Hill Plumbing & Heating"}, 0, ""},
		{"Smith & Sons Plumbing Leeds", "smithandsons.co.uk", []string{"Smith & Sons Plumbing - Leeds Branch", "Smith and Sons Plumbing (York)"}, 1, ""},
	} {
		sg := suggest(c.tenant, c.domain, c.names, c.contact)
		assert.False(t, sg.AutoAccept, "%s: %s", c.tenant, sg.Reason)
		if c.first != "" {
			assert.Equal(t, c.first, top(t, sg).ClientID, "%s: the name as written ranks first", c.tenant)
		}
	}
	// Without contacts, a name found whole as written ranks above a reading of initials or an
	// abbreviation.
	for tenant, names := range map[string][]string{
		"Case":         {"Case Construction Equipment", "Chicago Area Storage Enterprises"},
		"TD Logistics": {"TD Logistics Solutions", "Trading House Logistics"},
		"KB Electric":  {"KB Electric Supply", "Design Bureau Electric"},
	} {
		sg := suggest(tenant, "", names, len(names))
		assert.Equal(t, "c0", top(t, sg).ClientID, tenant)
	}
	// What the names say as written still links.
	sg := suggest("First Stop Auto Repair", "firststopauto.com", []string{"First Stop Automotive", "One Stop Auto Repair"}, 0)
	assert.True(t, sg.AutoAccept, sg.Reason)
	assert.Equal(t, "c0", sg.ClientID)
	sg = suggest("Getty Realty", "gettyrealty.com", []string{"Getty Realty Group", "Jetty Realty"}, 0)
	assert.True(t, sg.AutoAccept, sg.Reason)
	assert.Equal(t, "c0", sg.ClientID)
	// A client matching the tenant's name as a spelling or a number stays a credible rival to
	// one with contacts: it may be the operating company, the other its holding.
	for tenant, names := range map[string][]string{
		"Kwik Print":          {"Kwik Print Group", "Quick Print"},
		"First National Bank": {"First National Bank Holdings", "1st National Bank"},
	} {
		sg = suggest(tenant, "example-"+strings.ToLower(strings.ReplaceAll(tenant, " ", ""))+".com", names, 0)
		assert.False(t, sg.AutoAccept, sg.Reason)
		assert.Equal(t, "c0", top(t, sg).ClientID, tenant)
		assert.Contains(t, sg.Reason, "credible", tenant)
	}
	// The operating company filed under its initials, with a contact of its own on the
	// tenant's domain, stays a rival to the holding its directors' contacts point at.
	clients := append(slices.Clone(fillers),
		tenantsync.Client{ID: "hold", Name: "Harbor View Medical Group Holdings"}, tenantsync.Client{ID: "op", Name: "HVMG"})
	contacts := []tenantsync.Contact{{ID: "d1", ClientID: "hold", Email: "jane@harborviewmedical.com"}, {ID: "d2", ClientID: "hold", Email: "tom@harborviewmedical.com"},
		{ID: "o1", ClientID: "op", Email: "amy@harborviewmedical.com"}}
	for i := range 5 {
		contacts = append(contacts, tenantsync.Contact{ID: "o" + strconv.Itoa(i+2), ClientID: "op", Email: "staff" + strconv.Itoa(i) + "@hvmg.org"})
	}
	s, err := match.NewSuggester(clients, contacts, match.SuggestConfig{})
	require.NoError(t, err)
	sg = s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Harbor View Medical Group", DefaultDomain: "harborviewmedical.com"})
	assert.False(t, sg.AutoAccept, sg.Reason)
	assert.Contains(t, sg.Reason, "credible")
	// A reading that is not needed to reach the line does not hold the link: the exact name
	// and its contact link though the domain label is only its initials, and a label spelling
	// the whole name lifts a contact as before.
	sg = suggest("Blue Hill Plumbing", "bhp.com", []string{"Blue Hill Plumbing"}, 0)
	assert.True(t, sg.AutoAccept, sg.Reason)
	for tenant, c := range map[string][2]string{
		"Default Directory":             {"northwindtraders.com", "Northwind Traders Inc"},
		"Default Directory ":            {"jonesdental.com", "Jones Dental Group"},
		"Northwind Traders":             {"northwindtraders.com", "Northwind Traders USA"},
		"Route 66 Diner":                {"route66diner.com", "Route 66 Diner #2"},
		"Jones Dental - Main Office":    {"jonesdental.com", "Jones Dental Care"},
		"Contoso Ltd (Sydney)":          {"contoso.com.au", "Contoso Australia"},
		"Smith & Sons Plumbing (Leeds)": {"smithandsons.co.uk", "Smith and Sons Plumbing Heating"},
	} {
		sg = suggest(strings.TrimSpace(tenant), c[0], []string{c[1]}, 0)
		assert.True(t, sg.AutoAccept, "%s on %s: %s", tenant, c[0], sg.Reason)
	}
	// A word spelled two ways that both names hold as written is no reading.
	for tenant, name := range map[string]string{"Elektrokom": "Elektrokom (Electrocom)", "Photo Express": "Photo Express Foto Lab"} {
		sg = suggest(tenant, "example-"+strings.ToLower(strings.ReplaceAll(tenant, " ", ""))+".com", []string{name}, 0)
		assert.True(t, sg.AutoAccept, "%s: %s", tenant, sg.Reason)
	}
}
