package match

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// suggestAmong suggests for tenant against clients beside sixty unrelated ones (so word
// rarity means what it does in a real catalogue) and the given contacts.
func suggestAmong(t *testing.T, tenant tenantsync.Tenant, clients []tenantsync.Client, contacts []tenantsync.Contact) Suggestion {
	t.Helper()
	var all []tenantsync.Client
	for i, w := range strings.Fields("Acme Harbour Summit Maple Cedar Pioneer Atlas Beacon Crescent Horizon Lakeside Meadow Northgate Oakridge Pinnacle Quarry Redwood Silverline Trinity Unity") {
		for j, kind := range []string{"Plumbing", "Dental Care", "Logistics"} {
			all = append(all, tenantsync.Client{ID: "f" + strconv.Itoa(i*3+j), Name: w + " " + kind + " Ltd"})
		}
	}
	s, err := NewSuggester(append(all, clients...), contacts, SuggestConfig{})
	require.NoError(t, err)
	tenant.ID = "t"
	return s.Suggest(tenant)
}

// oneContact is a tenant (display name, default domain, initial domain) and a client that
// is not its own, one of whose contacts uses the tenant's domain.
type oneContact struct{ tenant, dom, wrong, initial string }

// neverLinkedOnOneContact asserts that no case links the tenant to the wrong client.
func neverLinkedOnOneContact(t *testing.T, cases ...oneContact) {
	t.Helper()
	for _, c := range cases {
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c.tenant, DefaultDomain: c.dom, InitialDomain: c.initial},
			[]tenantsync.Client{{ID: "wrong", Name: c.wrong}},
			[]tenantsync.Contact{{ID: "p", ClientID: "wrong", Email: "mike@" + c.dom}})
		assert.False(t, sg.AutoAccept, "%q on %s linked to %q: %s", c.tenant, c.dom, c.wrong, sg.Reason)
	}
}

// One contact of another client on the tenant's domain scores 0.93; a name that matches
// only once read (initials that differ, a leading legal form, a spelling, letters alike) must
// not lift it to an automatic link.
func TestNamesReadOtherwiseNeverLiftAContact(t *testing.T) {
	t.Parallel()
	neverLinkedOnOneContact(t,
		oneContact{"P C Jones Electrical", "pcjones.co.uk", "K G Jones Electrical", ""}, // two spaced letters are not joined into a legal form
		oneContact{"K G Electrical", "kgelectrical.com", "P C Electrical", ""},
		oneContact{"AB Plumbing", "abplumbing.com", "AG Plumbing", ""}, // "AB" opens names as a form, "AG" does not
		oneContact{"APS Electrical", "apselectrical.com", "SRL Electrical", ""},
		oneContact{"J&A Construction", "jaconstruction.com", "J&E Construction", ""}, // the initials differ
		oneContact{"A&B Plumbing", "abplumbing.com", "B&E Plumbing", ""},
		oneContact{"A J Smith & Sons", "ajsmith.co.uk", "E J Smith & Sons", ""},
		oneContact{"Smyth Electrical", "smythelectrical.co.uk", "Smith Electrical", ""}, // the label read as the name is
		oneContact{"Clarke Plumbing", "clarkeplumbing.com", "Clark Plumbing", ""},
		oneContact{"Johnston Dental", "johnstondental.com", "Johnson Dental", ""},
		oneContact{"A Smith Plumbing", "asmithplumbing.com", "E Smith Plumbing", ""},
	)
}

// An outside accountant is the only company-domain contact of one client and one of four of
// another: the accountant's own tenant is linked to neither without a person.
func TestAdvisersOwnTenantAsksAPerson(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Harper & Co", DefaultDomain: "harperandco.co.uk"},
		[]tenantsync.Client{{ID: "plumber", Name: "Harper Plumbing Ltd"}, {ID: "dentist", Name: "Birchwood Dental"}},
		[]tenantsync.Contact{
			{ID: "a1", ClientID: "plumber", Email: "jane@harperandco.co.uk"}, {ID: "p1", ClientID: "plumber", Email: "bob.harper@gmail.com"},
			{ID: "a2", ClientID: "dentist", Email: "jane@harperandco.co.uk"}, {ID: "d1", ClientID: "dentist", Email: "a@birchwooddental.com"},
			{ID: "d2", ClientID: "dentist", Email: "b@birchwooddental.com"}, {ID: "d3", ClientID: "dentist", Email: "c@birchwooddental.com"}})
	assert.False(t, sg.AutoAccept, sg.Reason)
	assert.Contains(t, sg.Reason, "contacts of two clients use the tenant's domains")
}

// firstAmong asserts that the client named want (by its index in names) alone ranks first.
func firstAmong(t *testing.T, tenant tenantsync.Tenant, contacts []tenantsync.Contact, want string, names ...string) {
	t.Helper()
	var cs []tenantsync.Client
	for i, n := range names {
		cs = append(cs, tenantsync.Client{ID: "c" + strconv.Itoa(i), Name: n})
	}
	sg := suggestAmong(t, tenant, cs, contacts)
	var got []string
	for _, c := range sg.Candidates {
		got = append(got, c.ClientName+" "+fmtScore(c.Confidence)+" #"+strconv.Itoa(c.Rank))
	}
	require.NotEmpty(t, sg.Candidates, tenant.DisplayName)
	assert.Equal(t, want, sg.Candidates[0].ClientID, "%q: %v", tenant.DisplayName, got)
	if len(sg.Candidates) > 1 {
		assert.NotEqual(t, 1, sg.Candidates[1].Rank, "%q: a tie: %v", tenant.DisplayName, got)
	}
}

// Spaced letters, letters joined by "&" and leading forms rank the name as written first.
func TestLettersAndFormsRankTheNameAsWritten(t *testing.T) {
	t.Parallel()
	firstAmong(t, tenantsync.Tenant{DisplayName: "P C Jones Electrical"}, nil, "c0", "P C Jones Electrical Ltd", "K G Jones Electrical", "Jones Electrical")
	firstAmong(t, tenantsync.Tenant{DisplayName: "Transportes J y M"}, nil, "c0", "Transportes J&M S.L.", "Transportes Jiménez S.L.", "Transportes JMR S.L.")
	firstAmong(t, tenantsync.Tenant{DisplayName: "JRS Plumbing"}, nil, "c0", "J R Smith Plumbing", "JRS Roofing")
	firstAmong(t, tenantsync.Tenant{DisplayName: "J&B Plumbing"}, nil, "c0", "JB Plumbing Supplies", "James Brown Plumbing")
	firstAmong(t, tenantsync.Tenant{DisplayName: "J&B Plumbing"}, nil, "c0", "J B Plumbing and Heating", "James Brown Plumbing")
	// The client with the contacts is not held below one whose name is the same only once a
	// form or initials are left out.
	contacts := []tenantsync.Contact{{ID: "p", ClientID: "c0", Email: "kevin@abplumbing.com"}, {ID: "q", ClientID: "c0", Email: "gary@abplumbing.com"}}
	firstAmong(t, tenantsync.Tenant{DisplayName: "AB Plumbing", DefaultDomain: "abplumbing.com"}, contacts, "c0", "AB Plumbing & Heating", "SL Plumbing")
	contacts = []tenantsync.Contact{{ID: "p", ClientID: "c0", Email: "kevin@kgjones.co.uk"}, {ID: "q", ClientID: "c0", Email: "gary@kgjones.co.uk"}}
	firstAmong(t, tenantsync.Tenant{DisplayName: "K G Jones Electrical", DefaultDomain: "kgjones.co.uk"}, contacts, "c0", "KG Jones Electrical Services", "Jones Electrical Ltd")
}

// A Roman numeral is not the Russian "and": "PES" is not read as the initials of "Phase I
// Environmental Services" in Russian.
func TestRomanNumeralIsNotRussianAnd(t *testing.T) {
	t.Parallel()
	q, c := parseName("PES"), parseName("Phase I Environmental Services")
	m := compareNames(&q, &c, &weights{})
	assert.NotContains(t, m.why, "Russian", m.why)
	assert.Empty(t, translitInitials([]string{"phase", "i", "environmental", "services"}))
}

// A domain label with hyphens spells the name its words make ("birch-partners.com").
func TestHyphenatedLabelSpellsTheName(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "BP Limited", DefaultDomain: "birch-partners.com"},
		[]tenantsync.Client{{ID: "bp", Name: "Birch Partners B.V."}},
		[]tenantsync.Contact{{ID: "p", ClientID: "bp", Email: "a@birch-partners.com"}, {ID: "q", ClientID: "bp", Email: "b@birch-partners.com"}})
	require.NotEmpty(t, sg.Candidates)
	assert.True(t, slices.ContainsFunc(sg.Candidates[0].Signals, func(s Signal) bool {
		return s.Evidence == EvidenceDomainLabel && strings.Contains(s.Detail, "(1.00)")
	}), "%+v", sg.Candidates[0].Signals)
}

// The client a fifth of whose contacts use the tenant's domain holds the link wherever it
// ranks, not only second.
func TestAdviserRuleLooksAtEveryCandidate(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Harper & Co", DefaultDomain: "harperandco.co.uk", Domains: []string{"harperandco.co.uk", "harperco.com"}},
		[]tenantsync.Client{{ID: "plumber", Name: "Harper & Co Plumbing Ltd"}, {ID: "dentist", Name: "Birchwood Dental"}, {ID: "acct", Name: "Harper & Co Accountants"}},
		[]tenantsync.Contact{
			{ID: "a1", ClientID: "plumber", Email: "jane@harperandco.co.uk"}, {ID: "p1", ClientID: "plumber", Email: "bob.harper@gmail.com"},
			{ID: "a2", ClientID: "dentist", Email: "jane@harperco.com"}, {ID: "d1", ClientID: "dentist", Email: "a@birchwooddental.com"},
			{ID: "d2", ClientID: "dentist", Email: "b@birchwooddental.com"}, {ID: "d3", ClientID: "dentist", Email: "c@birchwooddental.com"}})
	assert.False(t, sg.AutoAccept, "linked to %s: %s", sg.ClientID, sg.Reason)
}

// A domain label is looked up and compared without its hyphens; alike but not the same, it
// lifts nothing unless the display name matches as written; with another number than the
// client's, it makes the display name a reading too.
func TestDomainLabelsReadWithCare(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Zq Xv", DefaultDomain: "a-smith-plumbing.co.uk"},
		[]tenantsync.Client{{ID: "right", Name: "A Smith Plumbing"}}, nil)
	require.NotEmpty(t, sg.Candidates)
	assert.Equal(t, "right", sg.Candidates[0].ClientID)
	neverLinkedOnOneContact(t,
		oneContact{"ASP Ltd", "asmithplumbing.co.uk", "E Smith Plumbing", ""},
		oneContact{"Cedar Dental", "cedardental2.com", "Cedar Dental 3", ""},
		oneContact{"Cedar Dental", "cedar-dental-2.com", "Cedar Dental No. 3", ""},
	)
	// A label spelling the client's words, a generic one left out, still lifts a contact.
	sg = suggestAmong(t, tenantsync.Tenant{DisplayName: "Default Directory", DefaultDomain: "jonesdental.com"},
		[]tenantsync.Client{{ID: "jd", Name: "Jones Dental Group"}},
		[]tenantsync.Contact{{ID: "p", ClientID: "jd", Email: "amy@jonesdental.com"}})
	assert.True(t, sg.AutoAccept, sg.Reason)
}

// "日本" opening a katakana name is the Japanese company of a foreign brand: "日本モレックス"
// is "Molex (Japan)".
func TestJapanOpeningAKatakanaName(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "日本モレックス合同会社"},
		[]tenantsync.Client{{ID: "molex", Name: "Molex, LLC (Japan)"}, {ID: "other", Name: "Nippon Koei Co., Ltd."}}, nil)
	require.NotEmpty(t, sg.Candidates)
	assert.Equal(t, "molex", sg.Candidates[0].ClientID, "%+v", sg.Candidates)
	assert.False(t, sg.AutoAccept)
	assert.Equal(t, "日本電気株式会社", japanPrefix("日本電気株式会社"), "a kanji name keeps its 日本 (Nippon Electric)")
}

// contactsOn returns n contacts of client id on domain d.
func contactsOn(id, d string, n int) []tenantsync.Contact {
	var out []tenantsync.Contact
	for i := range n {
		out = append(out, tenantsync.Contact{ID: id + "-" + d + "-" + strconv.Itoa(i), ClientID: id, Email: "user" + strconv.Itoa(i) + "@" + d})
	}
	return out
}

// The firm's own tenant links though one of its people is also a contact of a small client:
// the client bearing the tenant's exact name, all of whose contacts use its domain, against one
// that has nothing of the name.
func TestOwnFirmsTenantLinksDespiteItsPersonAtAnotherClient(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tenant, dom, right string
		own                int
		other              string
		otherOwn           int
	}{
		{"Brightside Accounting", "brightsideaccounting.co.uk", "Brightside Accounting Ltd", 8, "Oak Bakery", 3},
		{"Keystone IT Consulting", "keystoneit.com", "Keystone IT Consulting LLC", 5, "Riverside Veterinary Clinic", 2},
		{"Fenwick Engineering", "fenwickeng.co.uk", "Fenwick Engineering Ltd", 12, "Oldbury Village Hall Trust", 2},
	} {
		contacts := append(contactsOn("right", c.dom, c.own), contactsOn("other", "other-"+c.dom, c.otherOwn)...)
		contacts = append(contacts, tenantsync.Contact{ID: "adviser", ClientID: "other", Email: "jane@" + c.dom})
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c.tenant, DefaultDomain: c.dom},
			[]tenantsync.Client{{ID: "right", Name: c.right}, {ID: "other", Name: c.other}}, contacts)
		assert.True(t, sg.AutoAccept && sg.ClientID == "right", "%q: %s", c.tenant, sg.Reason)
	}
}

// What must still link: a leading form against the same form at the end, spaced, or one that
// cannot be initials; numbers run together in a label ("2020" for "20/20"); an elided article
// or a conjunction, which is no person's initial.
func TestFormsNumbersAndArticlesThatStillLink(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ tenant, dom, initial, client string }{
		{"AB Volvo", "volvogroup.com", "", "Volvo AB"},
		{"AB Svensk Bygg", "svenskbygg-sthlm.se", "", "Svensk Bygg AB"},
		{"AS Tallinna Vesi", "tvesi.ee", "", "Tallinna Vesi AS"},
		{"NV Bekaert SA", "bekaert-group.com", "", "Bekaert NV"},
		{"Oy Karl Fazer Ab", "fazergroup.com", "", "Karl Fazer Oy"},
		{"LLC Alfa", "alfa-group.ru", "", "Alfa LLC"},
		{"JSC Kaspi Bank", "kaspi.kz", "", "Kaspi Bank JSC"},
		{"OOO Romashka", "romashka-spb.ru", "", "Romashka OOO"},
		{"OOO Romashka", "romashka-spb.ru", "", "Romashka LLC"},
		{"ООО Ромашка", "romashka-spb.ru", "", "Romashka LLC"},
		{"OOO Romashka", "romashka-spb.ru", "", "Romashka"},
		{"株式会社サンプル", "sample-jp.co.jp", "", "サンプル株式会社"},
		{"株式会社トヨタ自動車", "toyota-global.jp", "", "トヨタ自動車株式会社"},
		{"Kabushiki Kaisha Sample", "sample-jp.co.jp", "", "Sample KK"},
		{"AS Electrical", "aselectrical.co.uk", "", "A S Electrical Ltd"},
		{"NV Plumbing", "nvplumbing.com", "", "N V Plumbing"},
		{"20/20 Vision Opticians", "2020visionopticians.co.uk", "", "20/20 Vision Opticians"},
		{"24/7 Plumbing", "247plumbing.com", "", "24/7 Plumbing Ltd"},
		{"24/7 Plumbing", "24-7plumbing.com", "", "24/7 Plumbing Ltd"},
		{"1-800-Flowers", "1800flowers.com", "", "1-800-Flowers.com Inc"},
		{"Speedy Taxis", "speedytaxis247.co.uk", "", "Speedy Taxis 24/7"},
		{"Studio 54", "studio54.com", "studio541.onmicrosoft.com", "Studio 54 Ltd"},
		{"L'Atelier d'Anna", "latelierdanna.fr", "", "Atelier d'Anna"},
		{"Silva e Filhos, Lda", "silvaefilhos.pt", "", "J. Silva e Filhos"},
		{"García y Asociados SL", "garciayasociados-madrid.es", "", "J. Garcia y Asociados"},
	} {
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c.tenant, DefaultDomain: c.dom, InitialDomain: c.initial},
			[]tenantsync.Client{{ID: "right", Name: c.client}}, contactsOn("right", c.dom, 4))
		assert.True(t, sg.AutoAccept && sg.ClientID == "right", "%q on %s, %q: %s", c.tenant, c.dom, c.client, sg.Reason)
	}
	// And what must not, on one contact of the client.
	neverLinkedOnOneContact(t,
		oneContact{"Cedar Dental", "cedardental.com", "Cedar Dental 3", "cedardental2.onmicrosoft.com"},
		oneContact{"OOO Alfa", "alfa-spb.ru", "AO Alfa", ""},
		oneContact{"AB Plumbing", "abplumbing.com", "Plumbing Ltd", ""},
		oneContact{"J&E Construction", "jeconstruction.com", "J&O Construction", ""},
		oneContact{"20/20 Vision", "2020vision.com", "20/20 Vision 2", ""},
	)
}
