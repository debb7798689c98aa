package match

import (
	"slices"
	"strconv"
	"strings"
)

// orgAbbrevs are the abbreviations of kinds of organisation that Russian and Soviet names are
// written with, in Latin letters and in English, with what each stands for in transliterated
// Russian and in the English that registries translate it to ("NPO" is "nauchno
// proizvodstvennoe obedinenie", a "scientific production association"). Kinds only, never
// names, as sameWord holds; an acronym of a name is compared as initials elsewhere.
var orgAbbrevs = func() map[string]orgAbbrev {
	m := map[string]orgAbbrev{}
	for abbrs, expansions := range map[string][]string{
		"nii":        {"nauchno issledovatelskii institut", "scientific research institute", "research institute"},
		"tsnii cnii": {"tsentralnyi nauchno issledovatelskii institut", "central scientific research institute", "central research institute"},
		"vnii":       {"vserossiiskii nauchno issledovatelskii institut", "all russian scientific research institute", "all russian research institute"},
		"npo":        {"nauchno proizvodstvennoe obedinenie", "scientific production association", "research and production association", "scientific and production association"},
		"npp":        {"nauchno proizvodstvennoe predpriyatie", "scientific production enterprise", "research and production enterprise", "scientific and production enterprise"},
		"npk":        {"nauchno proizvodstvennaya korporatsiya", "scientific production corporation", "research and production corporation", "scientific production company", "research and production company"},
		"kb":         {"konstruktorskoe byuro", "design bureau"},
		"okb":        {"opytnoe konstruktorskoe byuro", "experimental design bureau"},
		"skb":        {"spetsialnoe konstruktorskoe byuro", "special design bureau"},
		"tskb":       {"tsentralnoe konstruktorskoe byuro", "central design bureau"},
		"ran ras":    {"rossiiskoi akademii nauk", "russian academy of sciences"},
		"fgup fsue":  {"federalnoe gosudarstvennoe unitarnoe predpriyatie", "federal state unitary enterprise"},
		"gup sue":    {"gosudarstvennoe unitarnoe predpriyatie", "state unitary enterprise"},
		"fgbu":       {"federalnoe gosudarstvennoe byudzhetnoe uchrezhdenie", "federal state budgetary institution"},
		"td":         {"torgovyi dom", "trading house"},
	} {
		var ex [][]string
		for _, e := range expansions {
			var toks []string
			for _, t := range strings.Fields(e) {
				toks = append(toks, canonToken(t))
			}
			ex = append(ex, toks)
		}
		for _, a := range strings.Fields(abbrs) {
			// Keyed as names' words are spelled when compared ("fsue" is "fsu").
			m[canonToken(a)] = orgAbbrev{abbr: a, expansions: ex}
		}
	}
	return m
}()

// orgAbbrev is one abbreviation of orgAbbrevs, as written, with what it stands for, each
// spelling as canonical tokens.
type orgAbbrev struct {
	abbr       string
	expansions [][]string
}

// expandOrgAbbrevs replaces every word of a that abbreviates a kind of organisation (see
// orgAbbrevs), and is not itself a word of b, by the spelling of what it stands for that b
// shares most words with. It returns nil when a has no such word or b shares none, and for
// the evidence the abbreviations with what they were read as.
func expandOrgAbbrevs(a, b []string) ([]string, string) {
	var out []string
	var notes []string
	found := false
	for _, t := range a {
		ab, ok := orgAbbrevs[t]
		if !ok || slices.Contains(b, t) {
			out = append(out, t)
			continue
		}
		best, bestN := ab.expansions[0], 0
		for _, ex := range ab.expansions {
			n := 0
			for _, u := range ex {
				if !stopWords[u] && slices.ContainsFunc(b, func(v string) bool { return tokenSim(u, v) >= 0.85 }) {
					n++
				}
			}
			if n > bestN {
				best, bestN = ex, n
			}
		}
		if bestN == 0 {
			out = append(out, t)
			continue
		}
		found = true
		out = append(out, best...)
		notes = append(notes, strconv.Quote(ab.abbr)+" read as "+strconv.Quote(strings.Join(best, " ")))
	}
	if !found {
		return nil, ""
	}
	return out, strings.Join(notes, ", ")
}
