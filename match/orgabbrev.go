package match

import (
	"slices"
	"strconv"
	"strings"
)

// orgAbbrevs are the abbreviations of kinds of organisation that Russian and Soviet names are
// written with, in Latin letters and in English, with what each stands for in transliterated
// Russian and in the English that registries translate it to ("NPO" is "nauchno
// proizvodstvennoe obedinenie", a "scientific production association"), and the French "Cie"
// (Compagnie, a company) that opens names: a reading, since "CIE" may be initials too. Kinds only, never
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
		"cie":        {"compagnie"},
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

// russianWords are English words of Russian names that translate a word the name's Russian
// acronym takes its letters from: "plant" is "zavod", so the Bryansk Automobile Plant
// (Bryanskii Avtomobilnyi Zavod) is "BAZ", and the Amursky Shipbuilding Plant "ASZ". Kinds of
// industry only, never names; words whose Russian counterpart opens with their own letter
// ("automobile", "metallurgical") need no entry. Keyed by the words' canonical spellings,
// several words joined by spaces.
var russianWords = map[string]russianWord{
	"plant":                         {"z", "zavod"},
	"zavod":                         {"z", "zavod"},
	"works":                         {"z", "zavod"},
	"factory":                       {"z", "zavod"},
	"shipyard":                      {"sz", "sudostroitelnyi zavod"},
	"shipbuilding":                  {"s", "sudostroitelnyi"},
	"cartridge":                     {"p", "patronnyi"},
	"pipe":                          {"t", "trubnyi"},
	"electromechanical":             {"em", "elektromekhanicheskii"},
	"electrotechnical":              {"et", "elektrotekhnicheskii"},
	"machine building":              {"m", "mashinostroitelnyi"},
	"design bureau":                 {"kb", "konstruktorskoe byuro"},
	"physics":                       {"f", "fiziki"},
	"physical":                      {"f", "fizicheskii"},
	"radio engineering":             {"rt", "radiotekhnicheskii"},
	"all russian":                   {"v", "vserossiiskii"},
	"all russia":                    {"v", "vserossiiskii"},
	"research institute":            {"nii", "nauchno issledovatelskii institut"},
	"scientific research institute": {"nii", "nauchno issledovatelskii institut"},
	"scientific":                    {"n", "nauchnyi"},
	"center":                        {"ts", "tsentr"},
	"central":                       {"ts", "tsentralnyi"},
	"association":                   {"o", "obedinenie"},
	"enterprise":                    {"p", "predpriyatie"},
	"main":                          {"g", "glavnyi"},
	"computing":                     {"v", "vychislitelnyi"},
	"computation":                   {"v", "vychislitelnyi"},
	"state":                         {"g", "gosudarstvennyi"},
	"security":                      {"b", "bezopasnosti"},
	"foreign":                       {"v", "vneshnei"},
	"intelligence":                  {"r", "razvedki"},
	"chemical":                      {"kh", "khimicheskii"},
	"container":                     {"e", "emkostei"},
	"wheel":                         {"k", "kolesnykh"},
	"rubber":                        {"k", "kauchuka"},
	"devices":                       {"p", "priborov"},
	"instruments":                   {"p", "priborov"},
	"instrument making":             {"p", "priborostroitelnyi"},
	"ceramic":                       {"k", "keramicheskii"},
	"ship repair":                   {"sr", "sudoremontnyi"},
	"space":                         {"k", "kosmicheskii"},
	"communications":                {"s", "svyazi"},
	"nuclear":                       {"ya", "yadernyi"},
	"military":                      {"v", "voennyi"},
	"company":                       {"k", "kompaniya"},
	"corporation":                   {"k", "korporatsiya"},
	"concern":                       {"k", "kontsern"},
	"committee":                     {"k", "komitet"},
	"investigative":                 {"s", "sledstvennyi"},
	"union":                         {"s", "soyuz"},
	"oil":                           {"n", "neftyanoi"},
	"railway":                       {"zhd", "zheleznaya doroga"},
	"railways":                      {"zhd", "zheleznye dorogi"},
	"heavy":                         {"t", "tyazhelyi"},
	"precision":                     {"t", "tochnyi"},
	"helicopter":                    {"v", "vertoletnyi"},
	"engine":                        {"d", "dvigatel"},
	"engines":                       {"d", "dvigatelei"},
	"armored":                       {"b", "bronetankovyi"},
	"armoured":                      {"b", "bronetankovyi"},
	"far eastern":                   {"dv", "dalnevostochnyi"},
	"northern":                      {"s", "severnyi"},
	"southern":                      {"yu", "yuzhnyi"},
	"western":                       {"z", "zapadnyi"},
	"eastern":                       {"v", "vostochnyi"},
	"high":                          {"v", "vysokii"},
	"sciences":                      {"n", "nauk"},
	"directorate":                   {"u", "upravlenie"},
	"administration":                {"u", "upravlenie"},
}

// russianHeads are the words for what an organisation is that a Russian name puts before the
// words saying which ("Sluzhba Vneshnei Razvedki", Foreign Intelligence Service), or after a
// place ("Minskii Zavod Kolesnykh Tyagachei", Minsk Wheel Tractor Plant), where English puts
// them last.
var russianHeads = map[string]bool{
	"plant": true, "works": true, "factory": true, "service": true, "corporation": true, "concern": true,
	"center": true, "institute": true, "bureau": true, "company": true, "enterprise": true, "association": true,
	"combine": true, "committee": true, "directorate": true, "administration": true, "agency": true,
}

// russianWord is what an entry of russianWords reads as: the letters it gives a Russian
// acronym and the Russian word, for the evidence.
type russianWord struct{ letters, russian string }

// maxRussianPhrase is the most words an entry of russianWords has.
const maxRussianPhrase = 3

// russianInitials returns the initials of toks (a name's words, legal forms aside) read as its
// Russian acronym is ("baz" for "Bryansk Automobile Plant"), and the words read so, for the
// evidence; none when no word of toks is one of russianWords. When the name ends with a word
// for what it is (russianHeads), the initials are read with that word moved first ("svr" for
// "Foreign Intelligence Service") and second ("mzkt" for "Minsk Wheel Tractor Plant") too, as
// Russian orders them.
func russianInitials(toks []string) ([]string, []string) {
	var units []string
	var read []string
	head := false
	for i := 0; i < len(toks); i++ {
		if toks[i][0] >= 0x80 {
			continue
		}
		found := false
		for n := min(maxRussianPhrase, len(toks)-i); n >= 1 && !found; n-- {
			phrase := make([]string, n)
			for k := range n {
				phrase[k] = canonToken(toks[i+k])
			}
			if rw, ok := russianWords[strings.Join(phrase, " ")]; ok {
				units = append(units, rw.letters)
				read = append(read, strconv.Quote(strings.Join(toks[i:i+n], " "))+" as "+strconv.Quote(rw.russian))
				head = i+n == len(toks) && n == 1 && russianHeads[phrase[0]]
				i += n - 1
				found = true
			}
		}
		if !found && !skipInitial(toks, i) {
			units = append(units, toks[i][:1])
			head = i == len(toks)-1 && russianHeads[canonToken(toks[i])]
		}
	}
	if read == nil || len(strings.Join(units, "")) < minLeadInitials {
		return nil, nil
	}
	out := []string{strings.Join(units, "")}
	if n := len(units); head && n >= 3 {
		last := units[n-1]
		for _, at := range []int{0, 1} {
			v := slices.Concat(units[:at], []string{last}, units[at:n-1])
			if j := strings.Join(v, ""); !slices.Contains(out, j) {
				out = append(out, j)
			}
		}
	}
	return out, read
}

// russianReading is an entry of russianWords read the other way: the Russian words, as names'
// words are spelled when compared, and the English words they translate.
type russianReading struct{ russian, english []string }

// russianReadings are russianWords by the first letters of the cognateKey of their first
// Russian word, for reading a transliterated Russian name in English ("Kazanskii
// Optiko-Mekhanicheskii Zavod", Kazan Optical and Mechanical Plant).
var russianReadings = func() map[string][]russianReading {
	m := map[string][]russianReading{}
	for en, rw := range russianWords {
		r := russianReading{english: strings.Fields(en)}
		for _, t := range strings.Fields(rw.russian) {
			r.russian = append(r.russian, canonToken(t))
		}
		if r.russian[0] == r.english[0] {
			continue
		}
		k := russianKey(r.russian[0])
		m[k] = append(m[k], r)
	}
	for _, rs := range m {
		// Longest first, so "konstruktorskoe byuro" is read before "byuro"; then by the English,
		// so a choice between equals is the same every run.
		slices.SortFunc(rs, func(a, b russianReading) int {
			if len(a.russian) != len(b.russian) {
				return len(b.russian) - len(a.russian)
			}
			return strings.Compare(strings.Join(a.english, " "), strings.Join(b.english, " "))
		})
	}
	return m
}()

// russianKey is the key russianReadings are found by: the first three letters of a word's
// cognateKey.
func russianKey(t string) string {
	k := cognateKey(t)
	return k[:min(3, len(k))]
}

// isRussianWord reports whether t is the word of russianReadings r, inflected or spelled
// another way ("zavoda" and "zavod", "severnaya" and "severnyi"). An English word of the same
// stem is not ("Cosmic" and "kosmicheskii", "Patrons" and "patronnyi"): t itself must end or
// be spelled as Russian is.
func isRussianWord(t, r string) bool {
	if t == r {
		return true
	}
	if !foreignSpelling(t) && !looksRussian(t) && !slices.ContainsFunc(canonRussianEndings, func(e string) bool { return strings.HasSuffix(t, e) }) {
		return false
	}
	return cognates(t, r)
}

// canonRussianEndings are Russian endings as canonToken leaves them ("-noe" as "-no") or as
// some registries write them ("-ski", "-nyi"), which looksRussian does not read.
var canonRussianEndings = []string{"nyi", "skii", "ski", "sko", "nno", "lno", "tno"}

// russianLegalWords are the words of Russian legal forms as names' words are spelled when
// compared: a name with one is Russian.
var russianLegalWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("ooo ao oao zao pao obshchestvo obshestvo aktsionernoe aktsionernoye tovarishchestvo ogranichennoi ogranichennoy otvetstvennostyu") {
		m[canonToken(w)] = true
	}
	return m
}()

// readsRussian reports whether a name is likely Russian and has a word russianReadings
// translate: two words of it, or one beside a Russian legal form. One word alone is not
// enough: "zavod" is an institute in Slovenian ("Zavod Sonce").
func readsRussian(toks, legalToks []string) bool {
	n := 0
	for _, t := range toks {
		if len(t) < 3 || t[0] >= 0x80 {
			continue
		}
		for _, r := range russianReadings[russianKey(t)] {
			if isRussianWord(t, r.russian[0]) {
				n++
				break
			}
		}
	}
	return n >= 2 || n == 1 && slices.ContainsFunc(legalToks, func(t string) bool { return russianLegalWords[t] })
}

// translateRussian replaces the words of a that are a Russian word of russianReadings, and not
// themselves words of b, by the English of the reading whose words b has ("zavod" by "plant"
// when b has "plant", by "works" when b has "works"). It returns nil when no word was read so,
// and for the evidence the words with what they were read as.
func translateRussian(a, b []string) ([]string, string) {
	var out []string
	var notes []string
	for i := 0; i < len(a); i++ {
		t := a[i]
		var found *russianReading
		if len(t) >= 3 && t[0] < 0x80 && !slices.Contains(b, t) {
			for k, r := range russianReadings[russianKey(t)] {
				if i+len(r.russian) > len(a) || !slices.ContainsFunc(r.english, func(e string) bool {
					return slices.ContainsFunc(b, func(u string) bool { return tokenSim(e, u) >= 0.85 })
				}) {
					continue
				}
				ok := true
				for j, rt := range r.russian {
					ok = ok && isRussianWord(a[i+j], rt)
				}
				if ok {
					found = &russianReadings[russianKey(t)][k]
					break
				}
			}
		}
		if found == nil {
			out = append(out, t)
			continue
		}
		n := len(found.russian)
		out = append(out, found.english...)
		notes = append(notes, strconv.Quote(strings.Join(a[i:i+n], " "))+" read as "+strconv.Quote(strings.Join(found.english, " ")))
		i += n - 1
	}
	if notes == nil {
		return nil, ""
	}
	return out, strings.Join(notes, ", ") + " (Russian)"
}
