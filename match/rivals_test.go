package match

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// A long abbreviation drops vowels between the start and the ending it shares with its word:
// five letters or more that occur in order in a longer word but keep its vowels, or end on one
// the word does not, are not one.
func TestSkeletonDropsVowels(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"mashoil", "mashinostroitelnyy"}, {"hamas", "hramadskaye"}, {"palea", "palestinian"},
		{"energies", "energeticheski"}, {"pniti", "penitentiary"},
	} {
		assert.False(t, isSkeleton(c[0], c[1]), "%s %s", c[0], c[1])
		assert.Less(t, tokenSim(c[0], c[1]), 0.8, "%s %s", c[0], c[1])
	}
	for _, c := range [][2]string{
		{"whse", "warehouse"}, {"managmt", "management"}, {"assoc", "association"}, {"hldgs", "holdings"},
		{"intnl", "international"}, {"johnson", "johnston"}, {"nicolas", "nicholas"}, {"europa", "european"},
		{"intrnatl", "international"}, {"grales", "generales"}, {"dccion", "direccion"}, {"hnos", "hermanos"},
		{"hnas", "hermanas"}, {"gral", "general"}, {"mpal", "municipal"}, {"sdad", "sociedad"},
	} {
		assert.True(t, isSkeleton(c[0], c[1]), "%s %s", c[0], c[1])
	}
	// "Mashoil" is no longer found in a machine-building plant's name.
	q, c := parseName("MYTISHCHINSKI MASHINOSTROITELNY ZAVOD"), parseName("MASHOIL LIMITED LIABILITY COMPANY")
	m := compareNames(&q, &c, nil)
	assert.Less(t, m.sim, 0.5, "%s", m.why)
}

// A client's name found whole in the tenant's counts for less when the tenant's name holds a
// rarer word that another client bears: "Yona" names "Yona Star International" more surely
// than "Star" names "Star JSC".
func TestRarerWordOutranksNameFoundWhole(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "star", Name: "Joint Stock Company Star"},
		{ID: "yona", Name: "Yona Star International"},
		{ID: "east", Name: "East Star Company"},
		{ID: "white", Name: "White Star DMCC"},
		{ID: "freedom", Name: "Freedom Star General Trading"},
		{ID: "sun", Name: "Sun Moon Star Logistics"},
	}
	clients = append(clients, fillerClients(60)...)
	s, err := NewSuggester(clients, nil, SuggestConfig{})
	require.NoError(t, err)
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Yona Star Shipping"})
	require.NotEmpty(t, sg.Candidates)
	assert.Equal(t, "yona", sg.Candidates[0].ClientID, "%+v", sg.Candidates)
	assert.False(t, sg.AutoAccept)
	// A word no client bears says nothing of which client it is: "Star" found whole in "Nova
	// Star Shipping" keeps its score.
	sg = s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Nova Star Shipping"})
	require.NotEmpty(t, sg.Candidates)
	assert.Equal(t, "star", sg.Candidates[0].ClientID, "%+v", sg.Candidates)
	assert.Contains(t, sg.Candidates[0].Signals[0].Detail, "found whole")
}

// fillerClients are n clients whose names no tenant below bears, so that the catalogue's
// weights (which need 50 clients or more) apply.
func fillerClients(n int) []tenantsync.Client {
	var cs []tenantsync.Client
	for i := range n {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		cs = append(cs, tenantsync.Client{ID: "f" + id, Name: "Filler " + id + []string{" Trading", " Shipping", " Plumbing", " Holdings", " Dental", " Group"}[i%6]})
	}
	return cs
}

// A client written with a Spanish abbreviation ("Hnos." for Hermanos, "Grales." for
// Generales) is still the tenant that spells the word out: a rival whose name is the tenant's
// without that word, with one contact on the tenant's domain, does not take the tenant.
func TestSpanishAbbreviationKeepsTheRightClient(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"Distribuidora Garcia Lopez Martinez Hermanos", "Distribuidora Garcia Lopez Martinez Hnos", "Distribuidora Garcia Lopez Martinez"},
		{"Transportes Ramirez Ortega Lopez Hermanas", "Transportes Ramirez Ortega Lopez Hnas", "Transportes Ramirez Ortega Lopez"},
		{"Servicios Generales Ramirez Ortega Lopez", "Servicios Grales Ramirez Ortega Lopez", "Servicios Ramirez Ortega Lopez"},
	} {
		sg := suggestWithContact(t, c[0], "tenantdom.com", c[1], c[2], "other", fillerClients(80))
		assert.False(t, sg.AutoAccept && sg.ClientID != "right", "%s: wrong automatic acceptance of %q: %s", c[0], c[2], sg.Reason)
	}
}

// A branch named brand, kind and place ("Smith Dental Westside") is not taken from the
// brand's client by a practice bearing the place, however many other clients bear the brand's
// word: a rarer word counts against a name found whole only before it.
func TestBranchPlaceDoesNotOutrankTheBrand(t *testing.T) {
	t.Parallel()
	clients := append([]tenantsync.Client{{ID: "right", Name: "Smith Dental"}, {ID: "other", Name: "Westside Dental"},
		{ID: "s1", Name: "Smith Plumbing"}, {ID: "s2", Name: "Smith Law Group"}, {ID: "s3", Name: "Smith Brothers Furniture"}},
		fillerClients(60)...)
	s, err := NewSuggester(clients, nil, SuggestConfig{})
	require.NoError(t, err)
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Smith Dental Westside"})
	require.NotEmpty(t, sg.Candidates)
	conf := map[string]float64{}
	for _, c := range sg.Candidates {
		conf[c.ClientID] = c.Confidence
	}
	assert.GreaterOrEqual(t, conf["right"], conf["other"], "%+v", sg.Candidates)
}

// Two clients whose names match the tenant's about as well as each other's ("Harbor Realty"
// and "Coastal Realty" in "Harbor Realty Coastal"; "Lopez Hmes" and "Lopes Homes" for "Lopez
// Homes") are not told apart by one contact's address: a person chooses.
func TestEqualNamesLeaveTheChoiceToAPerson(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"Harbor Realty Coastal", "Harbor Realty", "Coastal Realty"},
		{"Smith Dental Westside", "Smith Dental", "Westside Dental"},
		{"Delta Eagle Dental", "Delta Dental", "Delta Eagle"},
		{"Acme Plumbing Pinnacle", "Acme Plumbing", "Pinnacle Plumbing"},
		{"Lopez Homes", "Lopez Hmes", "Lopes Homes"},
		{"Garcia Hermanos", "Garcia Hnos", "Garcia"},
	} {
		more := append([]tenantsync.Client{{ID: "d1", Name: "Delta Dental Partners"}, {ID: "d2", Name: "Delta Services"}}, fillerClients(60)...)
		sg := suggestWithContact(t, c[0], "tenantdom.com", c[1], c[2], "other", more)
		assert.False(t, sg.AutoAccept, "%s: %s", c[0], sg.Reason)
		assert.Contains(t, sg.Reason, "match the tenant's name about as well", c[0])
		// With the contact on the client whose name the tenant bears first, the same holds.
		sg = suggestWithContact(t, c[0], "tenantdom.com", c[1], c[2], "right", more)
		assert.False(t, sg.AutoAccept, "%s: %s", c[0], sg.Reason)
	}
	// A rival whose name matches only as a reading does not hold back a client bearing the
	// tenant's name whole ("Jetty Realty" for "Getty Realty"): covered by
	// TestReadingsNeverLiftAContactHint.
}

// Most of a client's contacts on the tenant's domain link the tenant, whatever another client's
// name: only one or two contacts' addresses give way to a rival's name as good as its own.
func TestManyContactsStillLinkBesideANameRival(t *testing.T) {
	t.Parallel()
	for _, c := range [][4]string{ // tenant, domain, right, rival
		{"Falcon Shipping", "falconshipping.com", "Falcon Shipping Holdings", "Fal Shipping"},
		{"Meridian Trading", "meridiantrading.com", "Meridian Trading Partners", "Meridian Trading Midtown LLC"},
		{"Copperline Homes Eastgate", "copperlinehomeseastgate.com", "Copperline Homes Eastgate Partners", "Copperline Homes Group"},
		{"Eagle International Electric", "eagleinternational.com", "Eagle Intl Electric", "Eagle Electric Inc"},
		{"Granite Management Plumbing", "granitemp.com", "Granite Mgmt Plumbing LLC", "Granite Plumbing Ltd"},
		{"Midtown Meridian Trading", "midtownmeridiantrading.com", "Meridian Trading Ltd", "Midtown Trading LLC"},
		{"Delta Realty Northside", "deltarealty.com", "Delta Realty LLC", "Northside Realty"},
	} {
		clients := append([]tenantsync.Client{{ID: "right", Name: c[2]}, {ID: "other", Name: c[3]}}, fillerClients(60)...)
		var contacts []tenantsync.Contact
		for i := range 8 {
			contacts = append(contacts, tenantsync.Contact{ID: fmt.Sprint("r", i), ClientID: "right", Email: fmt.Sprintf("p%d@%s", i, c[1])})
		}
		contacts = append(contacts, tenantsync.Contact{ID: "r9", ClientID: "right", Email: "bookkeeper@gmail.com"})
		s, err := NewSuggester(clients, contacts, SuggestConfig{})
		require.NoError(t, err)
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: c[0], DefaultDomain: c[1]})
		assert.True(t, sg.AutoAccept && sg.ClientID == "right", "%s: %s", c[0], sg.Reason)
	}
}

// A domain label that spells another client's name ("redstonerealty.com": "Redstone Realty
// Group") and not the best one's holds back a best client whose evidence beyond its name is
// one contact's address ("Red Realty LLC").
func TestLabelSpellingAnotherClientHoldsBackOneContact(t *testing.T) {
	t.Parallel()
	sg := suggestWithContact(t, "Redstone Realty", "redstonerealty.com", "Redstone Realty Group", "Red Realty LLC", "other", fillerClients(60))
	assert.False(t, sg.AutoAccept, sg.Reason)
	assert.Contains(t, sg.Reason, "domain label spells Redstone Realty Group", sg.Reason)
}
