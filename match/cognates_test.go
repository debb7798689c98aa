package match

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
		{"mal", "mashoil"}, {"ast", "asatir"}, {"vnii", "vnigriugol"}, {"mat", "material"}, {"sam", "sampson"},
	} {
		assert.False(t, isSkeleton(c[0], c[1]), "%s %s", c[0], c[1])
	}
	// "Mal" (in "Beit el Mal") is not "Mashoil": the client bearing the name's own words
	// ranks first.
	best := suggestTop(t, "BEIT EL MAL AL-PHALASTINI AL-ARABI AL-MUSHIMA AL-AAMA AL-MAHADUDA LTD.",
		"MASHOIL LIMITED LIABILITY COMPANY", "BEIT EL-MAL HOLDINGS", "AKTSIONERNOE OBSHCHESTVO AST")
	assert.Equal(t, "c1", best.ClientID)
	assert.Less(t, NameSimilarity("SOROUSH SARZAMIN ASATIR SHIP MANAGEMENT CO.", "AKTSIONERNOE OBSHCHESTVO AST"), DefaultMinNameSim)
}

// One word in two languages, or transliterated from Russian and written in English, compares
// alike; words of one family that only begin alike do not.
func TestCognates(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"tekhnologii", "technologies"}, {"elektronnykh", "electronic"}, {"natsionalnyi", "national"},
		{"kazanskii", "kazan"}, {"revolucionaria", "revolutionary"}, {"policia", "police"},
		{"sistemy", "systems"}, {"finansovaya", "financial"}, {"tsentralnoe", "central"},
		{"mekhanicheskii", "mechanical"}, {"kommunalnye", "communal"}, {"federalnoe", "federal"},
		{"pozitiv", "positive"}, {"revolutsii", "revolution"},
	} {
		assert.True(t, cognates(canonToken(c[0]), canonToken(c[1])), "%s %s", c[0], c[1])
		assert.Equal(t, 0.85, tokenSim(canonToken(c[0]), canonToken(c[1])), "%s %s", c[0], c[1])
	}
	for _, c := range [][2]string{
		{"electric", "electronics"}, {"general", "generation"}, {"australia", "austria"}, {"central", "control"},
		{"marine", "marketing"}, {"chase", "case"},
	} {
		assert.False(t, cognates(c[0], c[1]), "%s %s", c[0], c[1])
	}
}

// cognateFirst reads the first letter of a word's cognateKey without spelling the key: it
// must agree with the key for every word, or cognates would miss pairs it should find.
func TestCognateFirstAgreesWithTheKey(t *testing.T) {
	t.Parallel()
	words := strings.Fields(`chemical khimicheskii cement cyber cycle coop kvant kwik kseniya quarta qatar quick
		tsentr tank tiara zavod world yellow yuzhnyi phoenix pharma dzheneral dzhet dzhi eesti eel oost outlet
		ocean south shch cheski company kompaniya center ecology`)
	for _, w := range words {
		if k := cognateKey(w); k != "" {
			assert.Equal(t, string(k[0]), string(cognateFirst(w)), w)
		}
	}
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
