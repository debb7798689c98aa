package match

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// An English word Russian writes in Latin letters, its long vowels as "ei", "ai" or "yu", is
// read as the English word: a reading, with evidence that says so.
func TestEnglishWrittenInRussian(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"aviatreid", "aviatrade"}, {"sitibaik", "citybike"}, {"salyut", "salute"}, {"innodraiv", "innodrive"},
		{"meyker", "maker"}, {"emireits", "emirates"}, {"treiding", "trading"},
	} {
		assert.True(t, englishInRussian(c[0], c[1]), "%s %s", c[0], c[1])
		assert.True(t, englishInRussian(c[1], c[0]), "%s %s", c[1], c[0])
		assert.Equal(t, 0.8, tokenSim(c[0], c[1]), "%s %s", c[0], c[1])
	}
	for _, c := range [][2]string{
		{"main", "mine"}, {"fail", "file"}, {"casey", "casa"}, {"kelsey", "kelsa"}, {"treid", "tread"},
		{"flaiz", "flows"}, {"sitibaik", "citybank"}, {"treiding", "trending"},
	} {
		assert.False(t, englishInRussian(c[0], c[1]), "%s %s", c[0], c[1])
	}
	for _, c := range [][2]string{
		{"SITIBAIK AO", "JOINT STOCK COMPANY CITYBIKE"}, {"AVIATREID, OOO", "AVIATRADE LLC"}, {"SALYUT AO", "JSC SALUTE"},
	} {
		q, cl := parseName(c[0]), parseName(c[1])
		m := compareNames(&q, &cl, nil)
		assert.GreaterOrEqual(t, m.sim, 0.8, "%s ≈ %s: %s", c[0], c[1], m.why)
		assert.True(t, m.reading, "%s ≈ %s", c[0], c[1])
		assert.Contains(t, m.why, "may be one word transliterated", "%s ≈ %s", c[0], c[1])
	}
}
