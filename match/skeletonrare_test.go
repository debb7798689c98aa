package match

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// An abbreviation drops vowels past the start it shares with its word: letters that occur in
// order in a longer word but keep its vowels, or end on one the word does not, are not one.
func TestSkeletonDropsVowels(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"mashoil", "mashinostroitelnyy"}, {"hamas", "hramadskaye"}, {"palea", "palestinian"},
		{"energies", "energeticheski"}, {"sang", "stankogomel"}, {"sect", "specvolt"}, {"nko", "nikoliya"},
		{"pniti", "penitentiary"},
	} {
		assert.False(t, isSkeleton(c[0], c[1]), "%s %s", c[0], c[1])
		assert.Less(t, tokenSim(c[0], c[1]), 0.8, "%s %s", c[0], c[1])
	}
	for _, c := range [][2]string{
		{"whse", "warehouse"}, {"managmt", "management"}, {"assoc", "association"}, {"hldgs", "holdings"},
		{"intnl", "international"}, {"johnson", "johnston"}, {"nicolas", "nicholas"}, {"europa", "european"},
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
	for i := range 60 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		clients = append(clients, tenantsync.Client{ID: "f" + id, Name: "Filler " + id + []string{" Trading", " Shipping", " Trading", " Holdings", " International", " Group"}[i%6]})
	}
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
