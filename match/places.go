package match

import (
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// placeNames holds the names of countries and territories, folded and written without spaces:
// in English and in each one's main language (from CLDR, through x/text's display tables), and
// their ISO 3166 alpha-3 codes, with the customary forms the tables lack. A part of a name that
// is a place ("DSM N.V., Heerlen, NL", "Sony (Japan)", "…, New Haven, CT, USA") says where,
// not which organisation.
var placeNames = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	add := func(s string) {
		if k := strings.Join(strings.Fields(strings.ReplaceAll(foldName(s), string(segBreak), " ")), ""); k != "" {
			m[k] = true
		}
	}
	en := display.English.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !r.IsCountry() {
				continue
			}
			add(en.Name(r))
			if iso3 := r.ISO3(); iso3 != "ZZZ" {
				add(iso3)
			}
			if base, conf := language.Make("und-" + r.String()).Base(); conf != language.No {
				if n := display.Regions(language.Make(base.String())); n != nil {
					add(n.Name(r))
				}
			}
		}
	}
	for _, s := range []string{"UK", "Great Britain", "England", "Scotland", "Wales", "Northern Ireland",
		"PRC", "PR China", "P R China", "People's Republic of China", "Republic of China", "Korea",
		"Republic of Korea", "Viet Nam", "UAE", "Russian Federation", "Czech Republic", "Holland"} {
		add(s)
	}
	return m
})

// isPlace reports whether the tokens of a part of a name, numbers aside, name a country or are
// a two-letter code (a country's or a state's).
func isPlace(toks []string) bool {
	for len(toks) > 0 && isNumber(toks[0]) {
		toks = toks[1:]
	}
	for len(toks) > 0 && isNumber(toks[len(toks)-1]) {
		toks = toks[:len(toks)-1]
	}
	switch {
	case len(toks) == 0:
		return true
	case len(toks) == 1 && len(toks[0]) == 2:
		return true
	}
	return placeNames()[strings.Join(toks, "")]
}

func isNumber(t string) bool {
	return t != "" && strings.Trim(t, "0123456789") == ""
}
