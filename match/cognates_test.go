package match

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// An abbreviation by skeleton keeps the word's first letter and consonants up to its last
// sounded one; letters that merely occur in order in a longer word are not one.
func TestSkeletonAbbreviations(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"intl", "international"}, {"mgmt", "management"}, {"natl", "national"}, {"dept", "department"},
		{"govt", "government"}, {"bldg", "building"}, {"mfg", "manufacturing"}, {"ctr", "centre"},
		{"svcs", "services"}, {"svc", "services"}, {"assn", "association"}, {"hlth", "health"},
	} {
		assert.True(t, isSkeleton(c[0], c[1]), "%s %s", c[0], c[1])
		assert.Equal(t, 0.8, tokenSim(c[0], c[1]), "%s %s", c[0], c[1])
	}
	for _, c := range [][2]string{
		{"mal", "mashoil"}, {"vnii", "vnigriugol"}, {"mat", "material"}, {"sam", "sampson"},
	} {
		assert.False(t, isSkeleton(c[0], c[1]), "%s %s", c[0], c[1])
	}
	// "Mal" (in "Beit el Mal") is not "Mashoil": the client bearing the name's own words
	// ranks first.
	best := suggestTop(t, "BEIT EL MAL AL-PHALASTINI AL-ARABI AL-MUSHIMA AL-AAMA AL-MAHADUDA LTD.",
		"MASHOIL LIMITED LIABILITY COMPANY", "BEIT EL-MAL HOLDINGS", "AKTSIONERNOE OBSHCHESTVO AST")
	assert.Equal(t, "c1", best.ClientID)
}

// One word in two languages, or transliterated from Russian and written in English, compares
// alike; words of one family that only begin alike do not.
func TestCognates(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"tekhnologii", "technologies"}, {"elektronnykh", "electronic"}, {"natsionalnyi", "national"},
		{"kazanskii", "kazan"}, {"revolucionaria", "revolutionary"}, {"finansovaya", "financial"},
		{"tsentralnoe", "central"}, {"mekhanicheskii", "mechanical"}, {"kommunalnye", "communal"},
		{"federalnoe", "federal"}, {"revolutsii", "revolution"},
	} {
		assert.True(t, cognates(canonToken(c[0]), canonToken(c[1])), "%s %s", c[0], c[1])
		assert.GreaterOrEqual(t, tokenSim(canonToken(c[0]), canonToken(c[1])), 0.8, "%s %s", c[0], c[1])
	}
	// Words of one stem whose endings English gives both are two words, whatever the letters
	// read alike: only a Russian, Spanish, Portuguese or Italian ending, or a Russian spelling,
	// makes a cognate.
	for _, c := range [][2]string{
		{"electric", "electronics"}, {"general", "generation"}, {"australia", "austria"}, {"central", "control"},
		{"marine", "marketing"}, {"chase", "case"}, {"atlanta", "atlantic"}, {"nations", "national"},
		{"regions", "regional"}, {"colony", "colonial"}, {"academy", "academic"}, {"victory", "victoria"},
		{"universe", "universal"}, {"dynamo", "dynamic"}, {"memories", "memorial"}, {"glory", "gloria"},
		{"claude", "claudia"}, {"martinez", "martins"}, {"fernandez", "fernando"}, {"gonzalez", "gonzalo"},
		{"physics", "physical"}, {"chilton", "hilton"}, {"chandler", "handler"}, {"zanders", "sanders"},
		{"policia", "police"},
	} {
		assert.False(t, cognates(c[0], c[1]), "%s %s", c[0], c[1])
	}
	// A prefix still counts as one before a cognate: a plural is 0.9, not 0.85.
	assert.Equal(t, 0.9, tokenSim("system", "systems"))
	assert.Equal(t, 0.9, tokenSim("walton", "waltons"))
}

// cognateFirst reads the first letter of a word's cognateKey without spelling the key: it
// must agree with the key for every word, or cognates would miss pairs it should find.
func TestCognateFirstAgreesWithTheKey(t *testing.T) {
	t.Parallel()
	words := strings.Fields(`chemical khimicheskii cement cyber cycle coop kvant kwik kseniya quarta qatar quick
		tsentr tank tiara zavod world yellow yuzhnyi phoenix pharma dzheneral dzhet dzhi eesti eel oost outlet
		ocean south shch cheski company kompaniya center ecology`)
	words = append(words, "tcentral", "ttsentr", "tcimova", "ttcentr", "tttsa", "tsa", "tta")
	for _, w := range words {
		if k := cognateKey(w); k != "" {
			assert.Equal(t, string(k[0]), string(cognateFirst(w)), w)
		}
	}
	// Every word of up to three letters from an alphabet of the letters the first-letter rules
	// look at, then "a".
	const alpha = "cdehkoqstuvwyz"
	for _, x := range alpha {
		for _, y := range alpha {
			for _, z := range alpha {
				w := string([]rune{x, y, z}) + "a"
				assert.Equal(t, string(cognateKey(w)[0]), string(cognateFirst(w)), w)
			}
		}
	}
	assert.True(t, cognates("tcentralnyi", "central"))
}

// A name in another language or transliterated from Russian finds its English name first,
// and the evidence says which words were read as one.
func TestCognatesAcrossLanguagesRank(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "NATIONAL REVOLUTIONARY POLICE",
		"NATIONAL PETROCHEMICAL COMPANY", "POLICIA NACIONAL REVOLUCIONARIA", "REVOLUTIONARY STRUGGLE", "MINSK SPECIAL PURPOSE POLICE UNIT")
	assert.Equal(t, "c1", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, "may be one word in two languages")

	best = suggestTop(t, "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU NOVYE KOMMUNALNYE TEKHNOLOGII",
		"LLC NOVYE PROEKTY", "LIMITED LIABILITY COMPANY NEW COMMUNAL TECHNOLOGIES", "UGOLNYE TEKHNOLOGII, OOO")
	assert.Equal(t, "c1", best.ClientID)
}

// A transliterated Russian name reads in English through russianWords: "zavod" is a plant,
// "novye" new; not in a name that is not Russian ("Zavod Sonce", Slovenian).
func TestRussianNameReadInEnglish(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "JSC KAZAN OPTICAL AND MECHANICAL PLANT",
		"JOINT STOCK COMPANY PROMTEKH KAZAN", "KAZANSKII OPTIKO-MEKHANICHESKII ZAVOD AO", "JOINT STOCK COMPANY MECHANICAL ENGINEERING RESEARCH INSTITUTE")
	assert.Equal(t, "c1", best.ClientID)

	ex, why := translateRussian(strings.Fields("kazanskii optiko mekhanicheskii zavod"), strings.Fields("kazan optical and mechanical plant"))
	assert.Equal(t, []string{"kazanskii", "optiko", "mekhanicheskii", "plant"}, ex)
	assert.Equal(t, `"zavod" read as "plant" (Russian)`, why)
	ex, _ = translateRussian(strings.Fields("zavod sonce"), strings.Fields("sonce nursery"))
	assert.Nil(t, ex, "no English word of the reading in the other name")

	assert.True(t, readsRussian(strings.Fields("kazanskii zavod"), strings.Fields("kazanskii zavod ao")))
	assert.False(t, readsRussian(strings.Fields("zavod sonce"), strings.Fields("zavod sonce")))
	assert.Less(t, NameSimilarity("Zavod Sonce", "Sonce Plant Nursery"), 0.67)
}

// A one-word client name is not found whole in a tenant's word that only begins like it.
func TestOneWordNameNotFoundInALongerWord(t *testing.T) {
	t.Parallel()
	assert.Less(t, NameSimilarity("CITY OF MONOTHEISM AND HOLY WARRIORS", "JOINT STOCK COMPANY CITYBIKE"), DefaultMinNameSim)
	assert.Less(t, NameSimilarity("DE BIENFAISANCE ET DE COMMITE LE SOLIDARITE AVEC LA PALESTINE", "SOLID LTD"), DefaultMinNameSim)
	best := suggestTop(t, "ANSAR AL-SHARIA IN LIBYA", "ANSARU", "ANSAR AL-SHARI'A IN BENGHAZI", "ANSAR BANK")
	assert.Equal(t, "c1", best.ClientID)
	// A word found whole still is.
	assert.GreaterOrEqual(t, NameSimilarity("Peking University Center for Public Health", "Peking University"), 0.8)
}

// A Russian legal form is stripped however "щ" is written in it.
func TestRussianLegalFormSpelledOtherwise(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"PUBLICHNOE AKTSIONERNOE OBSCHESTVO SOLLERS", "SOLLERS PUBLIC JOINT STOCK COMPANY"},
		{"OTKRYTOYE AKTSIONERNOYE OBSCHESTVO TAE AVIA", "TAE AVIA"},
		{"OBSHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ALFA", "ALFA LLC"},
	} {
		assert.Equal(t, 1.0, NameSimilarity(c[0], c[1]), c[0])
	}
}

// A plural or a word's start is 0.9, as before cognates were read: a client whose name differs
// from the tenant's by one plural stays credible, and one contact of another client on the
// tenant's domain does not take the tenant.
func TestPluralRivalStaysCredible(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"Simons Dental", "Simon Dental", "Simon & Co"},
		{"Walton Roofing", "Waltons Roofing", "Waltons and Co"},
		{"Indiana Plumbing", "Indian Plumbing", "Indian and Co"},
	} {
		assertRivalContactTakesNothing(t, c)
	}
}

// assertRivalContactTakesNothing suggests for a tenant named c[0] on its own domain, between
// the client c[1] and the client c[2], which has one contact on that domain: c[2] must not be
// accepted automatically.
func assertRivalContactTakesNothing(t *testing.T, c [3]string) {
	t.Helper()
	sg := suggestWithContact(t, c[0], "tenantdom.com", c[1], c[2], "other", nil)
	assert.False(t, sg.AutoAccept && sg.ClientID != "right", "%s: wrong automatic acceptance of %q: %s", c[0], c[2], sg.Reason)
}

// suggestWithContact suggests for a tenant named tenant on its default domain dom, among the
// clients right and other (IDs "right" and "other") and the clients more, one contact of the
// client whose ID is holder using dom.
func suggestWithContact(t *testing.T, tenant, dom, right, other, holder string, more []tenantsync.Client) Suggestion {
	t.Helper()
	clients := append([]tenantsync.Client{{ID: "right", Name: right}, {ID: "other", Name: other}}, more...)
	contacts := []tenantsync.Contact{{ID: "x", ClientID: holder, Email: "office@" + dom}}
	s, err := NewSuggester(clients, contacts, SuggestConfig{})
	require.NoError(t, err)
	return s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant, DefaultDomain: dom})
}

// English words of one stem are not read as one word in two languages: the client holding the
// tenant's name whole ranks first, and no evidence says "two languages".
func TestEnglishNearNamesAreNotCognates(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"Atlanta Plumbing", "Atlantic Plumbing", "Atlanta Plumbing & Drain Services"},
		{"Nations Bank", "National Bank", "Nations Bank Holdings Corp"},
		{"Colonial Plumbing", "Colony Plumbing", "Colonial Plumbing & Heating Inc"},
		{"Martinez Roofing", "Martins Roofing", "Martinez Roofing and Gutters"},
		{"Victory Auto Body", "Victoria Auto Body", "Victory Auto Body and Paint"},
		{"Academy Dental", "Academic Dental", "Academy Dental Care of Austin"},
		{"Universal Electric", "Universe Electric", "Universal Electric Supply Company"},
		{"Gonzalez Trucking", "Gonzalo Trucking", "Gonzalez Trucking and Hauling"},
	} {
		best := suggestTop(t, c[0], c[1], c[2])
		assert.Equal(t, "c1", best.ClientID, "%s: got %q (%s)", c[0], best.ClientName, best.Signals[0].Detail)
		assert.NotContains(t, best.Signals[0].Detail, "two languages", c[0])
	}
}

// Abbreviations keeping a vowel or two consonants at their end still abbreviate.
func TestSkeletonKeepsRealAbbreviations(t *testing.T) {
	t.Parallel()
	for _, p := range [][2]string{{"bros", "brothers"}, {"prods", "products"}, {"props", "properties"}, {"engr", "engineering"},
		{"whse", "warehouse"}, {"hdwe", "hardware"}, {"mtge", "mortgage"}, {"acct", "accounting"}, {"assocs", "associates"},
		{"eqp", "equipment"}, {"canada", "canadian"}, {"europa", "european"}, {"managmt", "management"},
		{"internatnl", "international"}, {"johnson", "johnston"}} {
		assert.Equal(t, 0.8, tokenSim(p[0], p[1]), "%s %s", p[0], p[1])
	}
	assert.GreaterOrEqual(t, NameSimilarity("Smith Bros", "Smith Brothers"), 0.8)
	best := suggestTop(t, "Warner Bros", "Warner Brothers")
	assert.Equal(t, "c0", best.ClientID)
}

// An English word of a Russian word's stem is not read as Russian.
func TestEnglishNameNotReadAsRussian(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "Cosmic Physics Institute", "Space Physics Institute", "Cosmic Physics Research Inst")
	assert.Equal(t, "c1", best.ClientID, best.Signals[0].Detail)
	best = suggestTop(t, "Central Patrons Association", "Central Cartridge Association", "Patrons Assn")
	assert.Equal(t, "c1", best.ClientID, best.Signals[0].Detail)
	assert.False(t, readsRussian(strings.Fields("cosmic patron bar"), strings.Fields("cosmic patron bar")))
}

// Surnames one letter apart stay a reading a person confirms, as a subsequence always was:
// one contact of the other client on the tenant's domain does not take the tenant.
func TestSurnameOneLetterApartNotAutoAccepted(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"Johnson Dental", "Johnson Dental Group", "Johnston Dental"},
		{"Thomson Dental", "Thomson Dental Group", "Thompson Dental"},
		{"Nicholas Dental", "Nicholas Dental Group", "Nicolas Dental"},
		{"Rivera Dental", "Rivera Dental Group", "Riviera Dental"},
		{"Marino Motors", "Marino Motors & Sons", "Mariano Motors"},
	} {
		assertRivalContactTakesNothing(t, c)
	}
}

// Abbreviations keeping two vowels ("Managmt", "Internatnl") still abbreviate, and the
// client so written ranks before a client of another surname or word.
func TestTwoVowelSkeletonRanks(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{"Moore Management", "Moore Managmt", "Moreno Management"},
		{"Russo International", "Russo Internatnl", "Russell International"},
		{"Universal International", "Universal Internatnl", "Universe International"},
	} {
		best := suggestTop(t, c[0], c[1], c[2])
		assert.Equal(t, "c0", best.ClientID, "%s: got %q (%s)", c[0], best.ClientName, best.Signals[0].Detail)
	}
}

// "Americas" and "Americano" are two words: an "n" after a vowel is the word's own, not a
// Russian adjective's.
func TestAmericasNotAmericano(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "Americas Cafe", "Americas Cafe Group", "Americano Cafe")
	assert.Equal(t, "c0", best.ClientID, best.Signals[0].Detail)
	assert.NotContains(t, best.Signals[0].Detail, "two languages")
	assert.False(t, cognates("americas", "americano"))
}
