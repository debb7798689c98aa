package match

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// A name whose trade words are Russian, Farsi or Arabic, transliterated, finds the client that
// writes them in English, above a client sharing only its place or brand.
func TestTradeWordsReadInEnglish(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{ // tenant, right, rival
		{"OAO MINSKII AVTOMOBILNYI ZAVOD", "MINSK AUTOMOBILE PLANT", "MINSK TRACTOR WORKS"},
		{"SILOVYE MASHINY, PAO", "JSC POWER MACHINES", "POWER GRID HOLDINGS"},
		{"SANAYE MOKHABERAT IRAN", "IRAN COMMUNICATION INDUSTRIES", "IRAN INSURANCE COMPANY"},
		{"OOO SBERBANK STRAKHOVANIE", "SBERBANK INSURANCE LLC", "SBERBANK LEASING JSC"},
		{"KLYUCHEVYE INFORMATSIONNYE SISTEMY OOO", "KEY INFORMATION SYSTEMS LLC", "KEY SOLUTIONS LLC"},
		{"AO NATSIONALNAYA SISTEMA PLATEZHNYKH KART", "NATIONAL PAYMENT CARD SYSTEM JSC", "NATIONAL SETTLEMENT DEPOSITORY"},
	} {
		best := suggestTop(t, c[0], c[2], c[1], "ACME TRADING LTD")
		assert.Equal(t, "c1", best.ClientID, c[0])
		assert.Contains(t, best.Signals[0].Detail, "(trade words read in English)", c[0])
	}
}

// Russian words are read with the endings Russian gives them; an adjective's stem alone is not
// one ("Severn" is a river), and of two stems the longer is read.
func TestTradeWordInflections(t *testing.T) {
	t.Parallel()
	for w, en := range map[string]string{
		"severnyi": "northern", "severnaya": "northern", "severnoye": "northern", "severnogo": "northern",
		"zavod": "plant", "zavoda": "plant", "obyedinenie": "association", "obedineniya": "association",
		"obyedinennaya": "united", "strakhovanie": "insurance", "strakhovaya": "insurance",
		"nauchno": "scientific", "issledovatelskiy": "research", "sanaye": "industries",
	} {
		got, ok := tradeWord(w)
		assert.True(t, ok, w)
		assert.Equal(t, en, got, w)
	}
	for _, w := range []string{"severn", "sever", "zavodski", "pharmacy", "plant", "nova", "novartis", "fabric", "cart", "fond", "fondue", "assurance", "nuevo"} {
		_, ok := tradeWord(w)
		assert.False(t, ok, w)
	}
}

// One trade word alone is not read: "zavod" is an institute in Slovenian, and a French or
// Spanish name's one kind word is compared as written. Two are, or one beside a Russian legal
// form.
func TestTradeWordsNeedAForeignName(t *testing.T) {
	t.Parallel()
	read := func(name string) bool {
		p := parseName(name)
		return p.tradeRead != nil
	}
	assert.False(t, read("Zavod Sonce"))
	assert.False(t, read("Pharmacie Girard"))
	assert.False(t, read("Transportes J y M"))
	assert.True(t, read("Minskii Avtomobilnyi Zavod"))
	assert.True(t, read("Zavod Sonce OOO"))
	assert.True(t, read("OOO Sberbank Strakhovanie"))
	assert.False(t, read("Sberbank Strakhovanie"))
	assert.False(t, read("Severn Trent Water"))
	// English names with a word some table reads, or ending as Russian words do, are not read.
	assert.False(t, read("Annie Fabric"))
	assert.False(t, read("Watson Assurance"))
	assert.False(t, read("Cookie Cart Company"))
	assert.False(t, read("Transportes Nuevo Leon"))
	// Nor are the words every name spells one way ("Idea Factory" is not "Idea Plants").
	assert.Less(t, NameSimilarity("Idea Factory", "Idea Plants"), 0.67)
}

// A domain label spells a client's name as written: a reading neither makes a label match nor
// loses one. "Southern Fleet" on southernfleet.com does not go to "Yuzhnyi Flot" by its label
// read in English, and "silovyemashiny.ru" still spells "Silovye Mashiny", which holds back a
// client with one contact there.
func TestTradeWordsLeaveDomainLabelsAsWritten(t *testing.T) {
	t.Parallel()
	contacts := func(id, dom string, n int) []tenantsync.Contact {
		var cs []tenantsync.Contact
		for i := range n {
			cs = append(cs, tenantsync.Contact{ID: id + string(rune('a'+i)), ClientID: id, Email: string(rune('a'+i)) + "@" + dom})
		}
		return cs
	}
	for _, c := range []struct {
		tenant, dom, right, rival string
		rivalContacts             int
	}{
		{"Southern Fleet", "southernfleet.com", "Southern Fleet Group", "Yuzhnyi Flot", 2},
		{"SM Group", "silovyemashiny.ru", "Silovye Mashiny", "SM Group Holdings", 1},
		{"Zenith Silovye Mashiny", "zenithpowermachines.com", "Zenith Silovye Mashiny Group", "Zenith Power Machines", 1},
		// The label spells the right client's English name; reading the tenant's name in
		// English must not make that label a reading, which would let a contact decide.
		{"OOO Almaz Stroitelstvo", "diamondconstruction.ru", "Diamond Construction Group", "Almaz Stroitelstvo Holding", 1},
	} {
		clients := append([]tenantsync.Client{{ID: "right", Name: c.right}, {ID: "rival", Name: c.rival}}, fillerClients(40)...)
		s, err := NewSuggester(clients, contacts("rival", c.dom, c.rivalContacts), SuggestConfig{})
		require.NoError(t, err)
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: c.tenant, DefaultDomain: c.dom})
		assert.False(t, sg.AutoAccept, "%s: %s", c.tenant, sg.Reason)
		for _, cd := range sg.Candidates {
			for _, sig := range cd.Signals {
				if sig.Evidence == EvidenceDomainLabel {
					assert.NotEqual(t, "Yuzhnyi Flot", cd.ClientName, "%s: %s", c.tenant, sig.Detail)
				}
			}
		}
	}
}

// A name that matches only once its trade words are read in English is a reading: a contact's
// address beside it does not make an automatic acceptance, and the evidence says which words
// were read.
func TestTradeWordsAreAReading(t *testing.T) {
	t.Parallel()
	clients := append([]tenantsync.Client{{ID: "right", Name: "Minsk Automobile Plant"}}, fillerClients(40)...)
	contacts := []tenantsync.Contact{{ID: "x", ClientID: "right", Email: "office@maz.by"}}
	s, err := NewSuggester(clients, contacts, SuggestConfig{})
	require.NoError(t, err)
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "OAO Minskii Avtomobilnyi Zavod", DefaultDomain: "maz.by"})
	require.NotEmpty(t, sg.Candidates)
	assert.Equal(t, "right", sg.Candidates[0].ClientID)
	assert.False(t, sg.AutoAccept, sg.Reason)
	var detail []string
	for _, sig := range sg.Candidates[0].Signals {
		detail = append(detail, sig.Detail)
	}
	assert.Contains(t, strings.Join(detail, " | "), `"zavod" as "plant"`)

	// The same name as written on both sides is no reading.
	m := compareNames(ptr(parseName("OAO Minskii Avtomobilnyi Zavod")), ptr(parseName("Minskii Avtomobilnyi Zavod")), nil)
	assert.Equal(t, 1.0, m.sim)
	assert.False(t, m.reading, m.why)
}

// A trade word may be the name a company goes by: "OOO Almaz" is read as a diamond maker,
// and is "Almaz" still. The names as written match first, so the exact name holds back a
// client with one contact on the tenant's domain, as it does for any name.
func TestTradeWordsKeepTheNameAsWritten(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{"Almaz", "OOO Almaz"}, {"Sistema", "PAO Sistema"}, {"Soyuz", "OOO Soyuz"}} {
		assert.Equal(t, 1.0, NameSimilarity(c[0], c[1]), c[1])
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c[0], DefaultDomain: "unrelatedco.com"},
			[]tenantsync.Client{{ID: "right", Name: c[1]}, {ID: "other", Name: c[0] + " Group"}},
			[]tenantsync.Contact{{ID: "x", ClientID: "other", Email: "office@unrelatedco.com"}})
		assert.False(t, sg.AutoAccept, "%s: %s", c[0], sg.Reason)
		require.NotEmpty(t, sg.Candidates)
		assert.Equal(t, "right", sg.Candidates[0].ClientID, c[0])
	}
}
