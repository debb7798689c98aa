package match

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// suggestTop suggests for a tenant named tenant against clients named names (IDs c0, c1, ...)
// and returns the best candidate.
func suggestTop(t *testing.T, tenant string, names ...string) Candidate {
	t.Helper()
	clients := make([]tenantsync.Client, len(names))
	for i, n := range names {
		clients[i] = tenantsync.Client{ID: "c" + string(rune('0'+i)), Name: n}
	}
	s, err := NewSuggester(clients, nil, SuggestConfig{})
	require.NoError(t, err)
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
	require.NotEmpty(t, sg.Candidates, "no candidate for %q", tenant)
	assert.False(t, sg.AutoAccept, "a name alone is never accepted")
	return sg.Candidates[0]
}

// Initials are read from the words as written, not from the words they are compared as:
// "Kompaniya" compares as "company" but gives its "K".
func TestInitialsOfWordsAsWritten(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"LLC NK", "LIMITED LIABILITY COMPANY NERUDNAYA KOMPANIYA"},
		{"ZAK", "Zentrum Adler Kreuzberg"},
	} {
		pa, pb := parseName(c[0]), parseName(c[1])
		m := compareNames(&pa, &pb, nil)
		assert.Contains(t, m.why, "is the initials of", "%s ≈ %s (%.2f)", c[0], c[1], m.sim)
		assert.GreaterOrEqual(t, m.sim, 0.75, "%s ≈ %s", c[0], c[1])
	}
	pa, pb := parseName("NK"), parseName("Nerudnaya Kompaniya")
	assert.Contains(t, compareNames(&pa, &pb, nil).why, `"nerudnaya kompaniya"`, "the evidence shows the words the letters come from")
}

// The French and Italian elided articles "d'" and "l'" are words of their own that initials
// skip; a lone letter that is not an article still counts.
func TestInitialsSkipElidedArticles(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"GIF SA", "GROUPE D'INVESTISSEMENT FINANCIER SA"},
		{"CEA", "Commissariat à l’Énergie Atomique"},
		{"SDS OOO", "S&D SOLUTIONS LIMITED LIABILITY COMPANY"},
	} {
		pa, pb := parseName(c[0]), parseName(c[1])
		m := compareNames(&pa, &pb, nil)
		assert.InDelta(t, 0.9, m.sim, 1e-9, "%s ≈ %s: %s", c[0], c[1], m.why)
		assert.Contains(t, m.why, "is the initials of", "%s ≈ %s", c[0], c[1])
	}
	pa, pb := parseName("L'Oréal"), parseName("LOreal")
	assert.Equal(t, pa.full.joined, pb.full.joined, "the article still joins its word when spaces are ignored")
}

// A short word may be the initials of a name's first words, a legal form after them included;
// the more of the name's own words it takes in, the more it counts, never as much as the
// initials of the whole name.
func TestLeadInitials(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b     string
		min, max float64
	}{
		{"WSIEC", "WUHAN SANJIANG IMPORT AND EXPORT CO. LTD", legalInitialsSim, legalInitialsSim},
		{"LLC IBC", "LIMITED LIABILITY COMPANY INTERNATIONAL BUSINESS CORPORATION", legalInitialsSim, legalInitialsSim},
		{"WDO", "WELFARE AND DEVELOPMENT ORGANIZATION OF JAMAAT-UD-DAWAH FOR QUR'AN AND SUNNAH", leadInitialsMin, 0.75},
	} {
		pa, pb := parseName(c.a), parseName(c.b)
		m := compareNames(&pa, &pb, nil)
		assert.True(t, m.sim >= c.min-1e-9 && m.sim <= c.max+1e-9, "%s ≈ %s = %.3f, want [%.2f, %.2f]", c.a, c.b, m.sim, c.min, c.max)
		assert.Contains(t, m.why, "is the initials of", c.a)
		assert.Contains(t, m.why, `in "`+c.b+`"`, "the evidence names the whole client")
	}
	// Two letters are too few to stand for a name's first words alone.
	pa, pb := parseName("WS"), parseName("WUHAN SANJIANG IMPORT AND EXPORT CO. LTD")
	assert.Less(t, compareNames(&pa, &pb, nil).sim, DefaultMinNameSim)

	// The suggester finds the client by those initials, and ranks the whole name's initials first.
	best := suggestTop(t, "WSIEC", "Wuhan Sanjiang Import and Export Co. Ltd", "Western Star Industries Ltd", "Wuhan Steel Co")
	assert.Equal(t, "c0", best.ClientID)
	best = suggestTop(t, "WDO", "Welfare and Development Organization of Lahore", "Wide Data Ops", "World Dental Office Group")
	assert.Equal(t, "c1", best.ClientID, "the name's own initials outrank those of its first words")
}

// A short word beside others that is the initials of a client's words finds that client.
func TestPartialAcronymFound(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "HDAS LINES", "HAFEZ DARYA ARYA SHIPPING COMPANY", "HORMOZ LINES TRADING", "DARYA CHEMICALS")
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `"hdas" read as the initials of`)
}

// A Latin spelling transliterated back into Latin letters is one word with it: "c" as "k" or
// "s", "x" as "ks", "qu" as "kv", and without a silent final "e".
func TestSameTranslitLatinSpellings(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"contact", "kontakt"}, {"elix", "eliks"}, {"quarta", "kvarta"}, {"aquarius", "akvarius"},
		{"resource", "resurs"}, {"melitek", "melytec"}, {"ucon", "ukon"}, {"electrocom", "elektrokom"},
	} {
		assert.True(t, sameTranslit(c[0], c[1]) && sameTranslit(c[1], c[0]), "%s, %s", c[0], c[1])
		assert.Equal(t, translitKey(c[0]), translitKey(c[1]), "%s, %s", c[0], c[1])
	}
	for _, c := range [][2]string{{"cena", "kena"}, {"chase", "hase"}, {"kalie", "kali"}, {"kuna", "kvna"}} {
		assert.False(t, sameTranslit(c[0], c[1]), "%s, %s", c[0], c[1])
	}
	assert.Greater(t, NameSimilarity("Kombinat Kamenskii", "Kamensky Combine"), 0.75, "kinds of organisation in Russian are their English words")
	assert.Greater(t, NameSimilarity("Firma Khorst", "Research and Production Company Horst"), 0.75, "\"firma\" is a company")
}

// A word spelled another way finds its client although the two share no letters at their
// start, and the evidence names the two spellings.
func TestTranslitFound(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "STEERER", "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU STIRER", "STEEL TRADE LLC", "STEPNOY ZAVOD")
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `"steerer" and "stirer" are one word transliterated two ways`)
	best = suggestTop(t, "Resource LLC", "LIMITED LIABILITY COMPANY RESURS", "Respect Group")
	assert.Equal(t, "c0", best.ClientID)
	assert.True(t, strings.Contains(best.Signals[0].Detail, "transliterated two ways"), best.Signals[0].Detail)
}
