package match

import (
	"cmp"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// nameForm is one spelling of a company name prepared for comparison.
type nameForm struct {
	tokens   []string // canonical tokens (see canonToken)
	joined   string   // tokens without spaces, so "Contoso Tech" and "ContosoTech" agree
	bigrams  []uint32
	initials string // first letters of the words as written that are not stop words, for two or more
	words    string // the words as written (folded), which the initials are read from, for evidence
	text     string // the part of the name as written, for evidence
}

// canonToken spells a token the way its variants agree: "ae", "oe" and "ue" after a letter as
// the vowel alone, so "Mueller" (the German transliteration of "Müller") and "Muller" (its
// folding) are one token. Applied to both sides of every comparison, it merges spellings
// without changing which names differ.
func canonToken(t string) string {
	if c, ok := sameWord[t]; ok {
		return c
	}
	return vowelCanon(t)
}

// vowelCanon spells t with "ae", "oe" and "ue" after a letter as the vowel alone (see
// canonToken).
func vowelCanon(t string) string {
	if len(t) < 4 || !strings.ContainsAny(t, "e") {
		return t
	}
	var b []byte
	for i := 0; i < len(t); i++ {
		if i > 0 && i+1 < len(t) && t[i+1] == 'e' && (t[i] == 'a' || t[i] == 'o' || t[i] == 'u') && t[i-1] != 'q' {
			if b == nil {
				b = append(make([]byte, 0, len(t)), t[:i]...)
			}
			b = append(b, t[i])
			i++
			continue
		}
		if b != nil {
			b = append(b, t[i])
		}
	}
	if b == nil {
		return t
	}
	return string(b)
}

// sameWord spells the words organisations of every country use for what they are in one
// language, so "Technische Universität Darmstadt" and "Technical University of Darmstadt", or
// "Grupo RAR" and "RAR Group", share their words. Kinds of organisation only, never names.
var sameWord = func() map[string]string {
	m := map[string]string{}
	for canon, ws := range map[string][]string{
		"university": {"universitat", "universite", "universidad", "universidade", "universita", "universiteit", "uniwersytet", "univerzita", "universitet", "universitatea", "universiti", "universitas"},
		"institute":  {"institut", "instituto", "istituto", "instytut", "instituut", "institutet"},
		"center":     {"centre", "centro", "zentrum", "centrum", "centr", "tsentr"},
		"technical":  {"technische", "tecnica", "tecnico", "technique", "technicka", "techniczna", "teknisk", "tekniska"},
		"national":   {"nacional", "nazionale", "nationale", "narodowy", "nationaal", "natsionalnyy"},
		"group":      {"grupo", "gruppe", "groupe", "gruppo", "groep", "grupa", "gruppa"},
		"hospital":   {"hopital", "ospedale", "hospitalet", "szpital"},
		"research":   {"recherche", "investigacion", "ricerca", "forschung"},
		"medical":    {"medizinische", "medica", "medico", "medicale", "medisch"},
		"school":     {"escuela", "ecole", "scuola", "schule", "escola"},
		"laboratory": {"laboratorio", "laboratoire", "laboratorium", "lab", "labs", "laboratories"},
		"foundation": {"fundacion", "fondation", "fondazione", "stiftung", "fundacao", "stichting"},
		"bank":       {"banco", "banque", "banca"},
		"company":    {"compania", "compagnie", "compagnia", "companhia", "kompaniya", "firma"},
		"combine":    {"kombinat"},
		"holding":    {"kholding"},
	} {
		for _, w := range ws {
			m[w] = canon
		}
	}
	return m
}()

func newNameForm(toks []string, text string) nameForm {
	f, _ := newTradeForm(toks, text, false)
	return f
}

// newTradeForm is newNameForm reading the words of tradeWords in English when trade is set
// (see readsTrade), and the words read so ("\"zavod\" as \"plant\""); the initials are the
// words' as written still ("MAZ" for "Minskii Avtomobilnyi Zavod").
func newTradeForm(toks []string, text string, trade bool) (nameForm, []string) {
	ct := make([]string, len(toks))
	var read []string
	for i, t := range toks {
		ct[i] = canonToken(t)
		if trade {
			if en, ok := tradeWord(t); ok && en != ct[i] {
				ct[i] = en
				read = append(read, strconv.Quote(t)+" as "+strconv.Quote(en))
			}
		}
	}
	f := nameForm{tokens: ct, joined: strings.Join(ct, ""), words: strings.Join(toks, " "), text: text}
	f.bigrams = bigrams(f.joined)
	// Initials are taken from the words as written: "Nerudnaya Kompaniya" is "NK", though
	// its words compare as "nerudnaya company".
	var sig []byte
	for i := range ct {
		if !skipInitial(ct, i) {
			sig = append(sig, toks[i][0])
		}
	}
	if len(sig) >= 2 {
		f.initials = string(sig)
	}
	return f, read
}

// parsedName is a company name as the suggester compares it: the whole name (parts in
// brackets or after commas included), its first part, and every part on its own but places.
type parsedName struct {
	full  nameForm
	parts []nameForm // parts[0] is the first part; empty when the name has one part
	// acronyms are short single-word parts the name itself gives ("... - HDHC", "(IBM)").
	acronyms []string
	// capitals are the capitals of a one-word acronym written in mixed case ("pc" for "PwC"),
	// "" for any other name (see acronymCapitals); camel the name's initials with a letter for
	// each capital inside a word ("pc" for "PricewaterhouseCoopers"; see camelInitials).
	capitals, camel string
	// rest are the words of the parts after the first that are not places: the qualifier that
	// tells "University of California, Irvine" from "…, Merced".
	rest []string
	// roman is the name romanised when it is written in kana or Hangul; sound holds the sound
	// keys it is compared with the other kind of name by (see soundForms).
	roman string
	sound []string
	// spell holds the spelling keys it is compared by as well (see spellForms), and letters
	// the Latin letters a katakana name spells by their names ("エスシーアイ", "sci").
	spell   []string
	letters string
	// firstSound and firstSpell are the keys of a romanised name's first word when it has
	// several; kanjiRead says the romanisation is a dictionary's reading of kanji.
	firstSound, firstSpell string
	kanjiRead              bool
	// brandKinds are the keys a Japanese name and a Latin one are compared by: the name
	// before a kind, and the kind translated (see scriptBrandKinds, latinBrandKinds).
	brandKinds []string
	// hanzi is a Chinese name read in pinyin, its kinds translated (see readHanzi), when a
	// PinyinReader is registered; ascii says the name, folded, is Latin letters only.
	hanzi     []hanItem
	hanziOpts [][]hanOpt
	ascii     bool
	// leadForm is the legal form the name opens with ("ooo"), "" for none.
	leadForm string
	// amp is the whole name with letters "&" joins made one word ("jb plumbing" for "J&B
	// Plumbing"), nil when it has none: the same name as "JB Plumbing".
	amp *nameForm
	// altInitials are other initials the name may go by, when they differ from full.initials:
	// with its legal form ("ibmc" for "International Business Machines Corporation"), and
	// without generic words and places ("msd" for "Merck Sharp & Dohme Austria", "cnbm" for
	// "China National Building Material Group").
	altInitials []string
	// altHow says, for each of altInitials, how they were read, for the evidence.
	altHow []string
	// translitInitials are the initials of a transliterated Russian name, a letter written
	// with two or more Latin ones kept whole ("tssd" for "Tsentr Sudoremonta Dalzavod"), when
	// they differ from full.initials.
	translitInitials string
	// russianInitials are the initials of a name translated from Russian as its Russian
	// acronym reads them ("baz" for "Bryansk Automobile Plant", Bryanskii Avtomobilnyi Zavod;
	// see russianWords), when they differ from its other initials; russianRead says which
	// words were read so, for the evidence.
	russianInitials []string
	russianRead     []string
	// keys are the transliteration keys of full.tokens (see translitKey), "" for a word
	// shorter than minTranslit; abbrevs says whether a word of it is in orgAbbrevs.
	keys    []string
	abbrevs bool
	// russian says whether the name reads as Russian with words russianReadings translate
	// (see readsRussian).
	russian bool
	// written is the name as written, its trade words not read in English, when some are
	// (see readsTrade): a match only the reading makes is a reading. tradeRead says which
	// words were read so, for the evidence.
	written   *parsedName
	tradeRead []string
	// rare holds rareWords of the name, when the caller found them once for many comparisons.
	rare []int
	// legalToks are the name's words with its legal forms, as newNameForm spells them: the
	// words a partial acronym may stand for ("pmc" in "Patriot PMC" for "private military
	// company").
	legalToks []string
	// legalWords are the same words as written (folded), which initials are read from:
	// "Proizvodstvenno-Stroitelnaya Kompaniya" is "PSK", though its words compare as
	// "… company".
	legalWords []string
	// lead holds the initials of the name's words from its first on, a legal form after them
	// included and stop words aside ("wsiecl" for "Wuhan Sanjiang Import and Export Co. Ltd"),
	// at most maxLead letters; leadWords the words they are read from, as written; leadEnd[k]
	// how many of leadWords the first k+1 letters take, leadNamed[k] how many of the name's
	// own words. nameWords counts the name's own words, stop words aside.
	lead               string
	leadWords          []string
	leadEnd, leadNamed []int
	nameWords          int
}

// maxLead is the longest run of initials kept in parsedName.lead: acronyms are short.
const maxLead = 8

// leadInitials sets p's lead initials from words, the whole name folded, legal forms included
// (legalToks as written).
func (p *parsedName) leadInitials(words []string) {
	for i := range p.full.tokens {
		if !skipInitial(p.full.tokens, i) {
			p.nameWords++
		}
	}
	if len(p.full.tokens) == 0 {
		return
	}
	start := slices.Index(p.legalToks, p.full.tokens[0])
	if start < 0 {
		return
	}
	var lead []byte
	named, j := 0, 0
	for i := start; i < len(words) && len(lead) < maxLead; i++ {
		t := p.legalToks[i]
		own := j < len(p.full.tokens) && t == p.full.tokens[j]
		if own {
			j++
		}
		if skipInitial(p.legalToks, i) {
			continue
		}
		if words[i][0] >= 0x80 {
			break
		}
		if own {
			named++
		}
		lead = append(lead, words[i][0])
		p.leadEnd = append(p.leadEnd, i-start+1)
		p.leadNamed = append(p.leadNamed, named)
	}
	if len(lead) < minLeadInitials {
		p.leadEnd, p.leadNamed = nil, nil
		return
	}
	p.lead = string(lead)
	p.leadWords = words[start : start+p.leadEnd[len(p.leadEnd)-1]]
}

// beforePlace returns how many words of folded (a name as foldName spells it, its parts
// apart) come before the first part after the first that is a place; all of them when none
// is.
func beforePlace(folded string) int {
	k := 0
	for i, seg := range strings.Split(folded, string(segBreak)) {
		ws := strings.Fields(seg)
		if i > 0 && len(ws) > 0 && isPlace(ws) {
			return k
		}
		k += len(ws)
	}
	return k
}

// legalInitials returns the initials of the words of folded (a name as foldName spells it),
// legal forms included, stop words aside.
func legalInitials(folded string) string {
	var sig []byte
	var toks []string
	for i, seg := range strings.Split(folded, string(segBreak)) {
		// A place after the name is no part of its acronym ("DSI" is not "Dicofarm SpA
		// (Italy)").
		if ws := strings.Fields(seg); i == 0 || !isPlace(ws) {
			toks = append(toks, ws...)
		}
	}
	for i, t := range toks {
		if !skipInitial(toks, i) && t[0] < 0x80 {
			sig = append(sig, t[0])
		}
	}
	if len(sig) < 2 {
		return ""
	}
	return string(sig)
}

// russianDigraphs are the Latin spellings of single Russian letters (Щ, Х, Ц, Ж, Ш, Ч, Ю, Я)
// that acronyms of transliterated names keep whole, longest first.
var russianDigraphs = []string{"shch", "kh", "ts", "zh", "sh", "ch", "yu", "ya"}

// translitInitials returns the initials of toks with a word opening with a Russian digraph
// giving the digraph ("tsentr obrabotki elektronnykh platezhey" is "tsoep"), stop words and
// the Russian "i" ("and") aside ("tekhnologicheskie sistemy i servis" is "tss"); "" when no
// word opens with one and no "i" is left out.
func translitInitials(toks []string) string {
	var sig []byte
	found := false
	russian := slices.ContainsFunc(toks, looksRussian)
	for _, t := range toks {
		if t == "i" && russian {
			found = true
		}
		if stopWords[t] || t == "i" || t[0] >= 0x80 {
			continue
		}
		d := t[:1]
		for _, g := range russianDigraphs {
			if strings.HasPrefix(t, g) && len(t) > len(g) {
				d, found = g, true
				break
			}
		}
		sig = append(sig, d...)
	}
	if !found || len(toks) < 2 {
		return ""
	}
	return string(sig)
}

// russianEndings end words of transliterated Russian names: adjectives, genitives, plurals.
var russianEndings = []string{"yy", "iy", "ii", "ie", "ye", "ogo", "ego", "aya", "oe", "ykh", "ikh", "iya", "stvo", "emy", "amy", "ymi"}

// looksRussian reports whether t ends as a transliterated Russian word does ("sistemy",
// "tekhnologicheskie"), so a lone "i" beside it is "and", not a Roman numeral ("Phase I").
func looksRussian(t string) bool {
	return len(t) > 3 && slices.ContainsFunc(russianEndings, func(e string) bool { return strings.HasSuffix(t, e) })
}

// plainInitials returns the initials of toks without stop words, generic words and places
// after the first word ("China National Building Material Group" is "cnbm": a name may begin
// with its country).
func plainInitials(toks []string) string {
	var sig []byte
	for i, t := range toks {
		if !skipInitial(toks, i) && !genericWords[t] && !laterPlace(toks, i) && t[0] < 0x80 {
			sig = append(sig, t[0])
		}
	}
	if len(sig) < 2 {
		return ""
	}
	return string(sig)
}

// oneWordLegalForms are the legal forms of one word ("ltd", "plc").
var oneWordLegalForms = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range legalForms {
		if len(f) == 1 {
			m[f[0]] = true
		}
	}
	return m
}()

// camelInitials returns the initials of the name s as written, a word with capitals inside it
// giving one letter for each ("GSK" for "GlaxoSmithKline plc", "PC" for
// "PricewaterhouseCoopers"), lowercase; the part before a bracket or comma only, stop words
// and legal forms aside; "" when no word has a capital inside it or fewer than two letters
// come of it.
func camelInitials(s string) string {
	if i := strings.IndexAny(s, "(,"); i >= 0 {
		s = s[:i]
	}
	var sig []byte
	camel := false
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’' }) {
		if f := foldName(w); stopWords[f] || oneWordLegalForms[f] {
			continue
		}
		prevLower := false
		for i, r := range w {
			up := unicode.IsUpper(r)
			// A capital after a surname's prefix is no new word ("McKinsey", "DeLonghi").
			if i > 0 && up && prevLower && surnamePrefixes[strings.ToLower(w[:i])] {
				prevLower = false
				continue
			}
			if i == 0 || up && prevLower {
				if r >= 0x80 {
					return ""
				}
				camel = camel || i > 0
				sig = append(sig, byte(unicode.ToLower(r)))
			}
			prevLower = unicode.IsLower(r)
		}
	}
	if !camel || len(sig) < 2 {
		return ""
	}
	return string(sig)
}

// surnamePrefixes open names written with a capital inside ("McKinsey", "MacGregor",
// "DeLonghi", "LaSalle", "VanEck"): camelInitials reads them as one word.
var surnamePrefixes = map[string]bool{"mc": true, "mac": true, "de": true, "di": true, "da": true, "du": true,
	"la": true, "le": true, "van": true, "von": true, "st": true}

// acronymCapitals returns the capitals of a one-word acronym written in mixed case ("PwC",
// "GfK", "EnBW"), lowercase: the letters in lower case stand for a stop word or the rest of a
// word, and the capitals are the initials. "" for any other name.
func acronymCapitals(s string) string {
	s = strings.TrimSpace(s)
	var caps []byte
	n := 0
	for _, r := range s {
		if !unicode.IsLetter(r) || r >= 0x80 {
			return ""
		}
		n++
		if unicode.IsUpper(r) {
			caps = append(caps, byte(unicode.ToLower(r)))
		}
	}
	if n > 5 || len(caps) < 2 || len(caps) == n || 2*len(caps) < n {
		return ""
	}
	return string(caps)
}

// laterPlace reports whether toks[i] is a place after the name's first word ("Sony Europe").
func laterPlace(toks []string, i int) bool {
	return i > 0 && len(toks[i]) > 2 && placeNames()[toks[i]]
}

// placeless returns toks without the places after its first word ("Da Vinci Labs (France)"
// goes by "DVL"), toks itself when it has none.
func placeless(toks []string) []string {
	var out []string
	for i, t := range toks {
		if laterPlace(toks, i) {
			if out == nil {
				out = append(make([]string, 0, len(toks)), toks[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, t)
		}
	}
	if out == nil {
		return toks
	}
	return out
}

// articleInitials returns the initials of a name that opens with "the" (words, as written),
// the article and stop words included and places left out ("TWP" for "The Wildlife Project");
// "" when it does not open with it.
func articleInitials(words, toks []string) string {
	if len(words) == 0 || words[0] != "the" || len(toks) == 0 || toks[0] == "the" {
		return ""
	}
	var sig []byte
	sig = append(sig, 't')
	for _, t := range placeless(toks) {
		if t[0] < 0x80 {
			sig = append(sig, t[0])
		}
	}
	if len(sig) < 3 {
		return ""
	}
	return string(sig)
}

// arabicArticles are the Arabic article as names write it before a word ("Ahl al-Haq",
// "Jama'at ul-Dawa"): acronyms of such names skip it ("AAH").
var arabicArticles = map[string]bool{"al": true, "el": true, "ul": true}

// wordInitials returns the initials of every one of toks, stop words included ("LNFM" for "La
// Nueva Familia Michoacana", "BOA" for "Bank of America"), or, with arabic, stop words and the
// Arabic article aside ("KSS" for "Kata'ib Sayyid al-Shuhada"); "" when they are the name's
// initials or fewer than two letters.
func wordInitials(toks []string, arabic bool) string {
	var sig []byte
	skipped := false
	for i, t := range toks {
		if t[0] >= 0x80 {
			continue
		}
		if arabic && (skipInitial(toks, i) || arabicArticles[t]) {
			skipped = skipped || arabicArticles[t]
			continue
		}
		skipped = skipped || !arabic && skipInitial(toks, i)
		sig = append(sig, t[0])
	}
	if !skipped || len(sig) < 2 {
		return ""
	}
	return string(sig)
}

// placeInitials are places written with dots that open names ("U.S. Steel"): not a person.
var placeInitials = map[string]bool{"us": true, "usa": true, "uk": true, "eu": true, "uae": true}

// leadingPersonInitials matches a person's initials that open a name ("P.L. Kapitza Institute",
// "A. M. Prokhorov …"): the name's acronym leaves them out.
var leadingPersonInitials = regexp.MustCompile(`^\s*(?:\p{Lu}\.\s*){1,3}\p{L}`)

// personlessInitials returns the initials of the first part of s without the person's
// initials it opens with ("KIPP" for "P.L. Kapitza Institute for Physical Problems, Russian
// Academy of Sciences"); "" when it opens with none.
func personlessInitials(s string, segs [][]string) string {
	if len(segs) == 0 || len(segs[0]) < 3 {
		return ""
	}
	lead := leadingPersonInitials.FindString(s)
	if lead == "" {
		return ""
	}
	// The initials must be the first words of the name as parsed: a legal form written with
	// dots ("O.O.O. Alfa Bank") is gone from it already.
	var letters []byte
	rs := []rune(strings.ToLower(lead))
	for _, r := range rs[:len(rs)-1] {
		if r >= 'a' && r <= 'z' {
			letters = append(letters, byte(r))
		}
	}
	seg, read := segs[0], ""
	for len(read) < len(letters) && len(seg) > 0 {
		read, seg = read+seg[0], seg[1:]
	}
	if read != string(letters) || len(seg) < 2 || placeInitials[read] {
		return ""
	}
	return plainInitials(seg)
}

func parseName(s string) parsedName {
	return parseNameTrade(s, true)
}

// parseNameTrade is parseName, reading trade words in English (see readsTrade) only when trade
// is set. A name read so keeps itself as written in written, for compareNames.
func parseNameTrade(s string, trade bool) parsedName {
	segs := nameSegments(s)
	var all []string
	for _, sg := range segs {
		all = append(all, sg...)
	}
	if len(all) == 0 {
		all = companyTokens(s)
	}
	folded := foldName(s)
	words := strings.Fields(strings.ReplaceAll(folded, string(segBreak), " "))
	trade = trade && readsTrade(all, words)
	var p parsedName
	p.full, p.tradeRead = newTradeForm(all, s, trade)
	if p.tradeRead != nil {
		w := parseNameTrade(s, false)
		p.written = &w
	}
	// A place after the name ("キャタピラージャパン", "Caterpillar (Japan)") is not in the
	// other spelling either.
	named := all
	if len(segs) > 1 {
		named = nil
		for i, sg := range segs {
			if i == 0 || !isPlace(sg) {
				named = append(named, sg...)
			}
		}
	}
	rom, ok := romanize(strings.Join(named, " "))
	if !ok && hasHan(strings.Join(named, "")) {
		if kana, read := readKanji(strings.Join(named, " ")); read {
			if rom, ok = romanize(kana); ok {
				p.kanjiRead = true
			}
		}
	}
	if ok {
		p.roman = rom
		rt := strings.Fields(rom)
		p.sound = soundForms(rt, true)
		p.spell = spellForms(rt, true)
		if l := spelledLetters(strings.Join(named, " ")); len(l) >= 2 {
			p.letters = l
		}
		p.brandKinds = scriptBrandKinds(rt)
		if len(rt) > 1 {
			// The first word alone, for the name whose other words its Latin name translates
			// ("タカナシ ニュウギョウ", "Takanashi Milk Products").
			if k := soundKey(rt[0]); len(k) >= soundMinKey {
				p.firstSound = k
			}
			if k := spellKey(rt[0]); len(k) >= spellMinKey+1 {
				p.firstSpell = k
			}
		}
	} else if strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.Cyrillic, unicode.Greek) }) {
		// Folding romanised it letter by letter, one of several ways ("АМКОМ" is "amkom",
		// the company writes "AMCOM"): compared by sound too.
		p.roman = p.full.joined
		p.sound = soundForms(all, true)
	} else if !strings.ContainsFunc(p.full.joined, func(r rune) bool { return r >= 0x80 }) {
		// The first part only: a place or unit after it is not in the other spelling
		// ("Tokin Corporation (Japan)" is "トーキン").
		first := all
		if len(segs) > 1 {
			first = segs[0]
		}
		p.sound = soundForms(first, false)
		p.spell = spellForms(first, false)
		p.brandKinds = latinBrandKinds(first)
	}
	p.hanzi = readHanzi(s)
	p.hanziOpts = hanziOptions(p.hanzi)
	p.leadForm = leadingForm(s)
	if j := joinedLetters(p.full.tokens); j != nil {
		f, _ := newTradeForm(j, s, trade)
		p.amp = &f
	}
	p.ascii = !strings.ContainsFunc(p.full.joined, func(r rune) bool { return r >= 0x80 })
	for _, t := range words {
		p.legalToks = append(p.legalToks, canonToken(t))
	}
	p.legalWords = words
	p.russian = readsRussian(p.full.tokens, p.legalToks)
	// Initials run over the words before a place that follows the name ("Dicofarm SpA
	// (Italy)" is not "DSI").
	p.leadInitials(words[:beforePlace(folded)])
	p.capitals = acronymCapitals(s)
	p.camel = camelInitials(s)
	for _, a := range [...][2]string{
		{legalInitials(folded), "with its legal form"},
		{plainInitials(all), "without its generic words and places"},
		{wordInitials(all, false), "with its stop words"},
		{wordInitials(placeless(named), false), "with its stop words, without its places"},
		{articleInitials(words, named), "with its article"},
		{p.camel, "with the capitals inside its words"},
		{wordInitials(all, true), "without the Arabic article"},
		{personlessInitials(s, segs), "without the person's initials it opens with"},
	} {
		if len(a[0]) >= 3 && a[0] != p.full.initials && !slices.Contains(p.altInitials, a[0]) {
			p.altInitials = append(p.altInitials, a[0])
			p.altHow = append(p.altHow, a[1])
		}
	}
	if ti := translitInitials(all); ti != "" && ti != p.full.initials {
		p.translitInitials = ti
	}
	p.keys = make([]string, len(p.full.tokens))
	for i, t := range p.full.tokens {
		if len(t) >= minTranslit {
			p.keys[i] = translitKey(t)
		}
		if _, ok := orgAbbrevs[t]; ok {
			p.abbrevs = true
		}
	}
	if ri, read := russianInitials(all); ri != nil {
		for _, r := range ri {
			if r != p.full.initials && !slices.Contains(p.altInitials, r) {
				p.russianInitials = append(p.russianInitials, r)
			}
		}
		if p.russianInitials != nil {
			p.russianRead = read
		}
	}
	if len(segs) > 1 {
		for i, sg := range segs {
			// A place after the first part says where, not which organisation: it is compared
			// within the whole name only.
			if i > 0 && isPlace(sg) {
				continue
			}
			f, _ := newTradeForm(sg, strings.Join(sg, " "), trade)
			p.parts = append(p.parts, f)
			if i > 0 {
				p.rest = append(p.rest, p.parts[len(p.parts)-1].tokens...)
				if len(sg) == 1 && len(sg[0]) >= 2 && len(sg[0]) <= 8 {
					p.acronyms = append(p.acronyms, sg[0])
				}
			}
		}
	}
	return p
}

// weights gives each token its weight: the inverse document frequency of the token over the
// client names, so a word most clients share ("Electronics", "Europe", "Group") counts for
// little and a rare one ("Sony") for much. Without a catalogue every word weighs 1, generic
// words half; stop words weigh a fifth either way.
type weights struct {
	df     map[string]int
	n      int
	idf    map[string]float64 // of every client token, stop words discounted
	unseen float64            // of a token no client uses
}

// prepare computes the weight of every client token once.
func (w *weights) prepare() {
	w.idf = make(map[string]float64, len(w.df))
	w.unseen = math.Log(float64(w.n+1) / 0.5)
	for t, df := range w.df {
		f := max(math.Log(float64(w.n+1)/(float64(df)+0.5)), 0.05)
		if stopWords[t] {
			f *= 0.2
		}
		w.idf[t] = f
	}
}

func (w *weights) of(t string) float64 {
	f := 1.0
	if w != nil && w.n > 0 {
		if f, ok := w.idf[t]; ok {
			return f
		}
		f = w.unseen
	} else if genericWords[t] {
		f = 0.1
	}
	if stopWords[t] {
		f *= 0.2
	}
	return f
}

// tokenSim compares two tokens: 1 when equal, 0.9 when one abbreviates the other by its start
// ("univ", "ill"), 0.8 when one is the other's consonant skeleton ("intl", "mgmt"), 0.85 for a
// single typo in a long word.
func tokenSim(a, b string) float64 {
	if a == b {
		return 1
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) == 2 && compassInitials(b) == a {
		return 0.9
	}
	if len(a) >= minTranslit && len(b)-len(a) <= 2 && sameTranslit(a, b) {
		return 0.9
	}
	if len(a) < 3 || a[0] != b[0] {
		// A number written out and in digits ("five", "5"; "first", "1st") opens with
		// different characters.
		if a[0] != b[0] && sameNumber(a, b) {
			return 0.9
		}
		if cognates(a, b) {
			return 0.85
		}
		return englishInRussianSim(a, b)
	}
	if strings.HasPrefix(b, a) {
		return 0.9
	}
	if isSkeleton(a, b) {
		return 0.8
	}
	if len(a) >= 5 && oneEdit(a, b) || cognates(a, b) {
		return 0.85
	}
	return englishInRussianSim(a, b)
}

// englishInRussianSim is what tokenSim gives an English word and its Russian spelling.
func englishInRussianSim(a, b string) float64 {
	if len(a) >= 3 && englishInRussian(a, b) {
		return 0.8
	}
	return 0
}

// minTranslit is the shortest word compared by sameTranslit: shorter ones meet too many others.
const minTranslit = 4

// sameTranslit reports whether a and b are one word transliterated two ways, as Russian, Farsi
// and Arabic names are in Latin letters: "kh" or "h" ("Kholding", "Holding"), "y" or "i"
// ("Vympel", "Vimpel"; "Kamensky", "Kamenskii"), "ee" or "i" ("Steerer", "Stirer"; "Khateeb",
// "Khatib"), "oo" or "ou" or "u", "w" or "v" ("Web3", "Veb3"), "q" or "k", doubled letters once.
// A Latin spelling transliterated back reads "c" as it sounds, "k" ("Kontakt", "Contact") or
// "s" before "e", "i" and "y", "x" as "ks" ("Eliks", "Elix"), "qu" as "kv" ("Kvarta", "Quarta"),
// and drops a silent "e" that ends the word after a consonant ("Resurs", "Resource"). "dzh" is
// the "j" that a soft "g" is ("Dzheneral", "General"), and "ye" after a vowel is "e".
func sameTranslit(a, b string) bool {
	i, j := 0, 0
	var pa, pb byte
	for {
		var ca, cb byte
		ca, i = nextTranslit(a, i, pa)
		cb, j = nextTranslit(b, j, pb)
		if ca != cb {
			return false
		}
		if ca == 0 {
			return true
		}
		pa, pb = ca, cb
	}
}

// minCognate is the shortest word and the shortest stem compared by cognates.
const minCognate = 5

// cognateEndings are the endings one word takes in the languages company names are written or
// transliterated in, as cognateKey spells them: English plurals and adjectives ("systems",
// "electronic", "national"), Russian nouns and adjectives ("sistemy", "kompaniya", "kazanskii",
// "federalnoe", "elektronnykh", "mekhanicheskii"), Spanish, Portuguese and Italian ones
// ("nacional", "tecnologico", "industriales") and Slavic adjectives ("demokratska").
var cognateEndings = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range strings.Fields(`- s es i ia ie iu a o os as ai ei
		ik iks iki ika iko ikos ikas ih ikal ial al ali ales ar ari aria ario
		k ks ki ka ko kal kih
		ski ska sko skaia skoe skogo skih skoi skie
		ni nie naia noe nogo nih noi nii na no aia ogo on ons
		ovi ovaia ovo ovoe ovogo ovih ovie ovoi
		ihesk iheski iheskaia iheskoe iheskogo iheskih iheskie hesk heski heskaia heskoe heskogo heskih heskie`) {
		m[strings.TrimPrefix(e, "-")] = true
	}
	return m
}()

// cognateKey spells t as cognates compares it: its translitKey, with "ch" read as "h" (English
// "technology" and "mechanical" as Russian "tekhnologiya" and "mekhanicheskii" write them),
// "ts", "z" and a "t" before "i" and a vowel as "s" ("tsentr", "center"; "natsionalnyi",
// "national"; "pozitiv", "positive"), and a doubled letter once.
func cognateKey(t string) string {
	r := cogReader{s: t}
	var b []byte
	for c := r.next(); c != 0; c = r.next() {
		b = append(b, c)
	}
	return string(b)
}

// cogReader reads a word's cognateKey a letter at a time, so two words are told apart at
// their first difference without spelling either whole.
type cogReader struct {
	s    string
	i    int     // where nextTranslit goes on in s
	prev byte    // the last letter nextTranslit returned
	la   [3]byte // translitKey letters read ahead
	n    int     // how many of la hold one
	pos  int     // translitKey letters consumed before la[0]
	out  byte    // the last letter returned
}

// fill reads ahead until la holds k letters or the word ends.
func (r *cogReader) fill(k int) {
	for r.n < k {
		c, i := nextTranslit(r.s, r.i, r.prev)
		if c == 0 {
			return
		}
		r.i, r.prev = i, c
		r.la[r.n] = c
		r.n++
	}
}

func (r *cogReader) shift(k int) {
	copy(r.la[:], r.la[k:r.n])
	r.n -= k
	r.pos += k
}

// next returns the next letter of the key, 0 at its end.
func (r *cogReader) next() byte {
	for {
		r.fill(1)
		if r.n == 0 {
			return 0
		}
		c, k := r.la[0], 1
		// Only "c" and "t" need the letters after them.
		if c == 'c' || c == 't' {
			r.fill(3)
		}
		switch {
		case c == 'c' && r.n > 1 && r.la[1] == 'h':
			c, k = 'h', 2
		case c == 't' && r.n > 1 && r.la[1] == 's':
			c, k = 's', 2
		case c == 'z':
			c = 's'
		case c == 't' && r.pos > 0 && r.n > 2 && r.la[1] == 'i' && strings.IndexByte("aeou", r.la[2]) >= 0:
			c = 's'
		}
		r.shift(k)
		if c != r.out {
			r.out = c
			return c
		}
	}
}

// cognateFirst is the first letter of t's cognateKey, read from t's first letters alone: a
// cheap test that two words may be cognates at all. It follows nextTranslit and cogReader for
// a word's first letter.
func cognateFirst(t string) byte {
	var c, n, n2 byte = t[0], 0, 0
	if len(t) > 1 {
		n = t[1]
	}
	if len(t) > 2 {
		n2 = t[2]
	}
	switch c {
	case 'c':
		switch {
		case n == 'h':
			return 'h'
		case n == 'e' || n == 'i' || n == 'y':
			return 's'
		}
		return 'k'
	case 'k':
		switch n {
		case 'h':
			return 'h'
		case 'v', 'w':
			return 'q'
		case 's':
			return 'x'
		}
		return 'k'
	case 'q':
		if n == 'u' || n == 'v' || n == 'w' {
			return 'q'
		}
		return 'k'
	case 't':
		// "ts", "tc" before e, i or y and doubled t's read as cogReader does.
		if n == 's' || n == 'c' || n == 't' {
			r := cogReader{s: t}
			return r.next()
		}
	case 'z':
		return 's'
	case 'w':
		return 'v'
	case 'y':
		return 'i'
	case 'p':
		if n == 'h' {
			return 'f'
		}
	case 'd':
		if n == 'z' && n2 == 'h' {
			if len(t) > 3 && strings.IndexByte("eiy", t[3]) >= 0 {
				return 'g'
			}
			return 'j'
		}
	case 'e':
		if n == 'e' {
			return 'i'
		}
	case 'o':
		if n == 'o' || n == 'u' {
			return 'u'
		}
	}
	return c
}

// cognates reports whether a and b are one word in two languages, or one transliterated and
// one written: a stem of minCognate letters or more that both begin with, each going on with
// one of cognateEndings, and one of them with a foreign ending or spelled as Russian is
// ("tekhnologii" and "technologies", "elektronnykh" and "electronic", "natsionalnyi" and
// "national", "kazanskii" and "Kazan", "revolucionaria" and "revolutionary"). "Electric" and
// "Electronics" are not ("ic" and "onics" after "electr"), nor "Atlanta" and "Atlantic"
// (English endings both).
func cognates(a, b string) bool {
	if len(a) < minCognate || len(b) < minCognate || cognateFirst(a) != cognateFirst(b) {
		return false
	}
	ra, rb := cogReader{s: a}, cogReader{s: b}
	var bufA, bufB [48]byte
	ka, kb := bufA[:0], bufB[:0]
	for {
		ca, cb := ra.next(), rb.next()
		if ca != cb {
			if len(ka) < minCognate {
				return false
			}
			for ; ca != 0; ca = ra.next() {
				ka = append(ka, ca)
			}
			for ; cb != 0; cb = rb.next() {
				kb = append(kb, cb)
			}
			break
		}
		if ca == 0 {
			// One key, two spellings: one of them must be spelled as Russian is ("Chilton"
			// and "Hilton", "Zanders" and "Sanders" are two names).
			return foreignSpelling(a) || foreignSpelling(b)
		}
		ka, kb = append(ka, ca), append(kb, cb)
	}
	n := 0
	for n < len(ka) && n < len(kb) && ka[n] == kb[n] {
		n++
	}
	for p := n; p >= minCognate; p-- {
		if cognateEndings[string(ka[p:])] && cognateEndings[string(kb[p:])] && (foreignEnding(ka, p) || foreignEnding(kb, p) || foreignSpelling(a) || foreignSpelling(b)) {
			return true
		}
	}
	return false
}

// foreignEnding reports whether the key k goes on after its first p letters with one of
// foreignEndings. A Russian adjective's "n" follows a consonant ("federal-noe",
// "natsional-nyi"); after a vowel it is a word's own ("Americano", "Americas").
func foreignEnding(k []byte, p int) bool {
	e := string(k[p:])
	if !foreignEndings[e] {
		return false
	}
	return e[0] != 'n' || strings.IndexByte("aeiou", k[p-1]) < 0
}

// foreignEndings are the endings of cognateEndings no English word takes: Russian adjectives
// and nouns, Spanish, Portuguese and Italian ones. Two words differing in English endings only
// ("Atlanta", "Atlantic"; "Nations", "National"; "Victory", "Victoria") are two words.
var foreignEndings = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range strings.Fields(`ski ska sko skaia skoe skogo skih skoi skie
		ni nie naia noe nogo nih noi nii no aia ogo ih kih iu
		ovi ovaia ovo ovoe ovogo ovih ovie ovoi
		ihesk iheski iheskaia iheskoe iheskogo iheskih iheskie hesk heski heskaia heskoe heskogo heskih heskie
		iko ika ikos ikas aria ario ales ali`) {
		m[e] = true
	}
	return m
}()

// foreignSpelling reports whether t is spelled as Russian is transliterated: "kh", "zh",
// "shch", "ts" before a vowel ("Tsentr", "Natsionalnyi"), or a closing "iy" or "yy".
func foreignSpelling(t string) bool {
	if strings.Contains(t, "kh") || strings.Contains(t, "zh") || strings.HasSuffix(t, "iy") || strings.HasSuffix(t, "yy") {
		return true
	}
	for i := strings.Index(t, "ts"); i >= 0 && i+2 < len(t); {
		if strings.IndexByte("aeiouy", t[i+2]) >= 0 {
			return true
		}
		k := strings.Index(t[i+1:], "ts")
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return false
}

// englishInRussian reports whether one of t and u is the other, an English word, as Russian
// writes it in Latin letters: an English long "a" as "ei" or "ey" ("Treid", "Trade"; "Meyker",
// "Maker"), a long "i" as "ai" or "ay" ("Draiv", "Drive"; "Sitibaik", "Citybike"), a long
// "u" as "yu" or "iu" ("Salyut", "Salute"); the rest as sameTranslit reads it. It is a
// reading: English has such pairs of its own ("Grain", "Grin").
func englishInRussian(t, u string) bool {
	if len(t)-len(u) > 2 || len(u)-len(t) > 2 || soundClass(t[0]) != soundClass(u[0]) {
		return false
	}
	rt, ru := hasRussianVowel(t), hasRussianVowel(u)
	if rt == ru {
		return false
	}
	if ru {
		t, u = u, t
	}
	if len(t) < minEnglishInRussian {
		return false
	}
	var buf [32]byte
	b := buf[:0]
	for i := 0; i < len(t); i++ {
		if i+1 < len(t) {
			if r := russianVowel(t[i : i+2]); r != 0 {
				b, i = append(b, r), i+1
				continue
			}
		}
		b = append(b, t[i])
	}
	// English spellings Russian does not keep: a closing "ue" sounds "u", a closing "es"
	// after a consonant "s" ("Emirates", "Emireits"), "dge" the "dzh" of "Bridzh".
	if v, ok := strings.CutSuffix(u, "ue"); ok {
		u = v + "u"
	} else if v, ok := strings.CutSuffix(u, "es"); ok && len(v) > 0 && !isVowel(v[len(v)-1]) {
		u = v + "s"
	}
	u = strings.ReplaceAll(u, "dge", "dzh")
	return sameTranslit(string(b), u)
}

// minEnglishInRussian is the shortest word read by englishInRussian: shorter English words
// spell the pairs as English ("Main", "Mine"; "Fail", "File").
const minEnglishInRussian = 5

// soundClass puts the letters a word may open with in either spelling together: "c", "k",
// "q" and "s" ("Sitibaik", "Citybike").
func soundClass(c byte) byte {
	switch c {
	case 'c', 'k', 'q', 's':
		return 'k'
	}
	return c
}

// russianVowel returns the English long vowel a pair of letters Russian writes it with stands
// for, or 0.
func russianVowel(pair string) byte {
	switch pair {
	case "ai", "ay":
		return 'i'
	case "ei", "ey":
		return 'a'
	case "yu", "iu":
		return 'u'
	}
	return 0
}

// hasRussianVowel reports whether t holds a pair russianVowel reads; a closing "ey" or "ay" is
// English as often ("Casey", "Bailey", "Holiday").
func hasRussianVowel(t string) bool {
	for i := 0; i+1 < len(t); i++ {
		switch c, d := t[i], t[i+1]; {
		case (c == 'a' || c == 'e') && (d == 'i' || d == 'y' && i+2 < len(t)), (c == 'y' || c == 'i') && d == 'u':
			return true
		}
	}
	return false
}

// oneTranslit reports whether t and u are two words one word is transliterated to
// ("Elektrokom", "Electrocom").
func oneTranslit(t, u string) bool {
	return t != u && len(t) >= minTranslit && len(u) >= minTranslit && len(t)-len(u) <= 2 && len(u)-len(t) <= 2 && sameTranslit(t, u)
}

// numberWords are numbers written out with their digits, and ordinals written out with
// theirs: "Five Energy" and "5 Energy", "First Armored Division" and "1st Armored Division"
// compare alike (not as one word: "One Source" and "1Source" are different spellings). A
// cardinal is not its ordinal: "Second Cup" is not "Two Cups".
var numberWords = func() map[string]string {
	m := map[string]string{}
	for i, ws := range [][3]string{
		{"one", "first", "1st"}, {"two", "second", "2nd"}, {"three", "third", "3rd"}, {"four", "fourth", "4th"},
		{"five", "fifth", "5th"}, {"six", "sixth", "6th"}, {"seven", "seventh", "7th"}, {"eight", "eighth", "8th"},
		{"nine", "ninth", "9th"}, {"ten", "tenth", "10th"},
	} {
		m[ws[0]] = strconv.Itoa(i + 1)
		m[ws[1]] = ws[2]
	}
	return m
}()

// sameNumber reports whether t and u are one number, one written out and one in digits.
func sameNumber(t, u string) bool {
	// Only one of them opens with a digit: most pairs are told apart without a lookup.
	if t == "" || u == "" || isDigit(t[0]) == isDigit(u[0]) {
		return false
	}
	return numberWords[t] == u || numberWords[u] == t
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// firstPart returns the words of p's first part, or of the whole name when it has one part: a
// site or office after a comma, a bracket or a dash ("Jones Dental - Main Office") qualifies
// the name rather than telling it from another.
func firstPart(p *parsedName) []string {
	if len(p.parts) > 0 {
		return p.parts[0].tokens
	}
	return p.full.tokens
}

// allIn reports whether every word of a is a word of b.
func allIn(a, b []string) bool {
	return !slices.ContainsFunc(a, func(t string) bool { return !slices.Contains(b, t) })
}

// branchWords returns a word of a and a word of b that the other name lacks, when the names
// (their first parts) share a word ("denver" and "boulder" in "Sparkle Cleaning Denver",
// "Sparkle Cleaning Boulder"); "" when they share none or either has no word of its own. Words
// of fewer than three letters, stop words and generic words do not tell names apart.
func branchWords(a, b []string) (string, string) {
	own := func(x, y []string) (string, bool) {
		shared, extra := false, ""
		for _, t := range x {
			if len(t) < 3 || stopWords[t] || genericWords[t] {
				continue
			}
			if slices.ContainsFunc(y, func(u string) bool { return tokenSim(t, u) >= 0.8 }) {
				shared = true
			} else if extra == "" {
				extra = t
			}
		}
		return extra, shared
	}
	x, shared := own(a, b)
	y, _ := own(b, a)
	if !shared || x == "" || y == "" {
		return "", ""
	}
	return x, y
}

// numbersIn returns the runs of digits in toks ("214" in "store214", "3" in "3m").
func numbersIn(toks []string) []string {
	var out []string
	for _, t := range toks {
		for i := 0; i < len(t); {
			if !isDigit(t[i]) {
				i++
				continue
			}
			j := i
			for j < len(t) && isDigit(t[j]) {
				j++
			}
			out = append(out, t[i:j])
			i = j
		}
	}
	return out
}

// translitNote names, for the evidence, a word of a and a word of b, neither of them in the
// other name, that are one word transliterated two ways ("; "resource" and "resurs" may be
// …"), or one number written two ways; "" when there are none. A match with such a pair
// reads a word as another: a reading. So does a compass point and its initials ("NE",
// "Northeast": Nebraska too).
func translitNote(a, b []string) string {
	for _, t := range a {
		if slices.Contains(b, t) {
			continue
		}
		for _, u := range b {
			if slices.Contains(a, u) {
				continue
			}
			if oneTranslit(t, u) || englishInRussian(t, u) {
				return "; " + strconv.Quote(t) + " and " + strconv.Quote(u) + " may be one word transliterated or spelled two ways"
			}
			if t != u && cognates(t, u) && !strings.HasPrefix(t, u) && !strings.HasPrefix(u, t) {
				return "; " + strconv.Quote(t) + " and " + strconv.Quote(u) + " may be one word in two languages"
			}
			if t != u && sameNumber(t, u) {
				return "; " + strconv.Quote(t) + " and " + strconv.Quote(u) + " are one number"
			}
			if len(t) == 2 && compassInitials(u) == t || len(u) == 2 && compassInitials(t) == u {
				return "; " + strconv.Quote(t) + " and " + strconv.Quote(u) + " may be one direction"
			}
		}
	}
	return ""
}

// translitKey spells t as sameTranslit compares it: two words with the same key are one word
// transliterated two ways.
func translitKey(t string) string {
	var b []byte
	var c byte
	for i := 0; ; {
		if c, i = nextTranslit(t, i, c); c == 0 {
			return string(b)
		}
		b = append(b, c)
	}
}

// nextTranslit returns the next letter of s from i in the spelling sameTranslit compares, and
// where the one after it starts; 0 at the end. prev is the letter it returned last, so a
// doubled letter counts once.
func nextTranslit(s string, i int, prev byte) (byte, int) {
	for i < len(s) {
		c := s[i]
		var next byte
		if i+1 < len(s) {
			next = s[i+1]
		}
		n := 1
		switch {
		case c == 'e' && next == 0 && prev != 0 && !strings.ContainsRune("aeiou", rune(prev)):
			// A silent final "e".
			i++
			continue
		case c == 'y' && next == 'e' && prev != 0 && strings.IndexByte("aeiou", prev) >= 0:
			// "ye" after a vowel is Russian "е" written as "e" too ("Aktsionernoye").
			i++
			continue
		case c == 'd' && next == 'z' && i+2 < len(s) && s[i+2] == 'h':
			// "dzh" is the soft "g" of "General" before e, i and y ("Dzheneral", "Enerdzhi"),
			// else the "j" of "Jet"; a "g" is never a "j" ("Getty", "Jetty").
			c, n = 'j', 3
			if i+3 < len(s) && strings.IndexByte("eiy", s[i+3]) >= 0 {
				c = 'g'
			}
		case c == 'k' && next == 'h':
			c, n = 'h', 2
		case c == 'p' && next == 'h':
			c, n = 'f', 2
		case c == 'k' && (next == 'v' || next == 'w'), c == 'q' && (next == 'u' || next == 'v' || next == 'w'):
			// "kv" as Russian writes "qu"; 'q' stands for the pair.
			c, n = 'q', 2
		case c == 'k' && next == 's':
			c, n = 'x', 2
		case c == 'c' && next == 'k', c == 'q':
			c, n = 'k', 1+b2i(c == 'c')
		case c == 'c' && (next == 'e' || next == 'i' || next == 'y'):
			c = 's'
		case c == 'c' && next != 'h':
			c = 'k'
		case c == 'w':
			c = 'v'
		case c == 'y':
			c = 'i'
		case c == 'e' && next == 'e':
			c, n = 'i', 2
		case c == 'o' && (next == 'o' || next == 'u'):
			c, n = 'u', 2
		}
		i += n
		if c != prev {
			return c, i
		}
	}
	return 0, i
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compassInitials returns "ne" for "northeastern" and "sw" for "southwest": the initials of a
// compass direction written as one word, which abbreviations spell out ("NE Ill Univ").
func compassInitials(t string) string {
	for _, ns := range []string{"north", "south"} {
		if rest, ok := strings.CutPrefix(t, ns); ok {
			for _, ew := range []string{"east", "west"} {
				if strings.HasPrefix(rest, ew) {
					return ns[:1] + ew[:1]
				}
			}
		}
	}
	return ""
}

// isSkeleton reports whether a abbreviates b by some of its letters in order, as "intl",
// "mgmt", "bros", "whse", "engr" and "managmt" do. A short one, of three or four letters, is a
// consonant skeleton: at most one vowel after its first letter, none in the middle of three.
// Short letters that merely occur in order in a longer word ("mal" in "mashoil", "vnii" in
// "vnigriugol") are not one; five letters or more in order are, when they keep at most one
// vowel past the word's start and before its ending ("johnson" in "johnston" is a reading of
// one name as another, as before).
func isSkeleton(a, b string) bool {
	if !isSubsequence(a, b) {
		return false
	}
	if len(a) == 3 {
		return !isVowel(a[1])
	}
	if len(a) == 4 {
		vowels := 0
		for i := 1; i < len(a); i++ {
			if isVowel(a[i]) {
				vowels++
			}
		}
		return vowels <= 1
	}
	// Five letters or more, one or two short of the other word, are one word spelled two
	// ways ("johnson", "johnston"; "europa", "european"): a reading, as before.
	if len(b)-len(a) <= 2 {
		return true
	}
	// Between the letters a and b begin with and the ending they share (up to three
	// letters: "grales", "generales"; "dccion", "direccion") is the skeleton proper: it keeps
	// one vowel at most ("intrnatl") and does not end on one unless the shared ending follows.
	// "Mashoil" is not "mashinostroitelnyi", "hamas" not "hramadskaye", "palea" not
	// "palestinian".
	p := 0
	for p < len(a) && a[p] == b[p] {
		p++
	}
	e := 0
	for e < 3 && p+e < len(a) && a[len(a)-1-e] == b[len(b)-1-e] {
		e++
	}
	rest := a[p : len(a)-e]
	if e == 0 && rest != "" && isVowel(rest[len(rest)-1]) {
		return false
	}
	kept := 0
	for i := range len(rest) {
		if isVowel(rest[i]) {
			kept++
		}
	}
	return kept <= 1
}

func isVowel(c byte) bool { return strings.IndexByte("aeiou", c) >= 0 }

func isSubsequence(a, b string) bool {
	j := 0
	for i := 0; i < len(b) && j < len(a); i++ {
		if b[i] == a[j] {
			j++
		}
	}
	return j == len(a)
}

// oneEdit reports whether a (the shorter) becomes b by one insertion, deletion, substitution
// or swap of neighbours.
func oneEdit(a, b string) bool {
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		// A substitution, or two neighbours swapped ("Atlsa", "Atlas").
		return a[i+1:] == b[i+1:] || i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	}
	return a[i:] == b[i+1:]
}

// match is how two names compare, with what a person needs to check it.
type nameMatch struct {
	sim     float64
	bySound bool // the names match by sound only (romanised kana or Hangul): a hint
	// reading says the names match only once a word of one is read as something else
	// (initials of any shape, an abbreviation, a spelling or a number, a rare word shared; see
	// match/doc.go), or that words or numbers of their own tell them apart. A hint: what it adds
	// never lifts a candidate to an automatic acceptance without proof ("TD" may be a trading
	// house or Toronto-Dominion).
	reading bool
	// branch says the names share words and each has one the other lacks ("Sparkle Cleaning
	// Denver", "Sparkle Cleaning Boulder"): two branches of one name as likely as one
	// organisation. A reading, which also undoes what a domain label spelling both says.
	branch bool
	why    string // e.g. "rare token 'sony' shared"
	a, b   string // the parts compared, as written
	// written is the names' match as written when this one reads their trade words in
	// English (see compareNames): what a domain label, which spells names as written, is
	// judged beside.
	written *nameMatch
}

// whySame is the evidence of two names that are one after folding and legal forms.
const whySame = "same name"

// coverage is how much of b (by weight) a finds: "Peking University" is all there in "Peking
// University Center for Public Health".
func coverage(a, b []string, w *weights) float64 {
	var num, den float64
	for _, t := range b {
		wt := w.of(t)
		m := 0.0
		for _, u := range a {
			// A one-word name is not found whole in a word that only begins like it:
			// "Citybike" is not in "City of …", nor "Ansaru" in "Ansar al-Sharia".
			if len(b) == 1 && runsOn(t, u) {
				continue
			}
			m = max(m, tokenSim(t, u))
		}
		num += wt * m
		den += wt
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// runsOn reports whether one of t and u begins with the other and goes on for three letters or
// more: "city" and "citybike", "solid" and "solidarite".
func runsOn(t, u string) bool {
	if len(t) > len(u) {
		t, u = u, t
	}
	return len(u)-len(t) >= 3 && strings.HasPrefix(u, t)
}

// massFactor is 1 when the words a and b share include a rare one, less when all they share is
// common: the weight of the heaviest shared word against half the weight of a word no client
// uses. Without a catalogue, or with one too small for rarity to mean much, it is 1.
func massFactor(a, b []string, w *weights) float64 {
	if w == nil || w.n < 50 {
		return 1
	}
	best := 0.0
	for _, t := range a {
		for _, u := range b {
			if tokenSim(t, u) >= 0.8 {
				best = max(best, min(w.of(t), w.of(u)))
			}
		}
	}
	return min(1, best/(0.5*w.unseen))
}

// rarerRest is 1, or less when the longer name a holds, before the words of b, a word rarer
// than all of them that the catalogue holds: "Star" is found whole in "Yona Star Shipping",
// but "Yona" names "Yona Star International" more surely than "Star" names anything. A word
// after them is more often a place or a branch ("Smith Dental Westside").
func rarerRest(a, b []string, w *weights) float64 {
	if w == nil || w.n < 50 {
		return 1
	}
	shared := 0.0
	for _, t := range b {
		shared = max(shared, w.of(t))
	}
	for _, u := range a {
		if slices.ContainsFunc(b, func(t string) bool { return tokenSim(t, u) >= 0.8 }) {
			return 1
		}
		if f, seen := w.idf[u]; seen && f >= shared+rarerMargin {
			return rarerPenalty
		}
	}
	return 1
}

// rarerMargin is how much rarer (in weight, the log of how many clients bear a word) a word
// must be to name the tenant more surely than another: about e times fewer clients.
const rarerMargin = 1.0

// rarerPenalty is what a name found whole counts for beside such a word.
const rarerPenalty = 0.8

// containPenalty discounts a name found whole inside the other: the longer name may name a
// part of the organisation, or another organisation that carries its name.
const containPenalty = 0.85

// softDice is the weighted Dice coefficient of two token lists where tokens may match in part
// (tokenSim): every token of each side counts by its weight and by how well it is matched on
// the other side. It returns the best-weighted token matched exactly, for the evidence.
func softDice(a, b []string, w *weights) (float64, string) {
	var num, den, bestW float64
	best := ""
	side := func(x, y []string) {
		for _, t := range x {
			wt := w.of(t)
			m := 0.0
			for _, u := range y {
				m = max(m, tokenSim(t, u))
				if m == 1 {
					break
				}
			}
			num += wt * m
			den += wt
			if m == 1 && wt > bestW {
				bestW, best = wt, t
			}
		}
	}
	side(a, b)
	side(b, a)
	if den == 0 {
		return 0, ""
	}
	return num / den, best
}

// qualifierWeight is how much a client's qualifier (the parts after its first, places aside)
// counts when the tenant's name matches the client's first part only.
const qualifierWeight = 0.08

// partPenalty discounts a match made by one part of a name rather than the whole: "Sony" is
// the first part of "Sony (Japan)" and of "Sony (United States)", and a tenant called "Sony
// (Japan)" should still prefer the first.
const partPenalty = 0.97

// compareNames scores two parsed names in [0,1] as the best of: the whole names and their
// parts compared token by token, weighted by rarity; the whole names' letters compared (Dice
// of character bigrams, for "ContosoTech" and typos), when close; and initials ("IBM" and
// "International Business Machines", or an acronym the name lists).
func compareNames(q, c *parsedName, w *weights) nameMatch {
	if q.written == nil && c.written == nil {
		return compareRead(q, c, w)
	}
	qw, cw := q, c
	if q.written != nil {
		qw = q.written
	}
	if c.written != nil {
		cw = c.written
	}
	// The names as written first: a trade word may be the name a company goes by ("OOO
	// Almaz" is "Almaz", whatever "almaz" means), and a match as written is evidence a
	// reading is not.
	mw := compareRead(qw, cw, w)
	if mw.sim >= DefaultMinNameSim && !mw.reading {
		return mw
	}
	// Only reading trade words in English makes the names this alike: a reading, a little
	// discounted and below a name found whole in the other as written, and only when it makes
	// them a match at all.
	m := compareRead(q, c, w)
	if m.sim = min(m.sim*tradeReadingPenalty, readingMax); mw.sim >= m.sim || m.sim < DefaultMinNameSim {
		return mw
	}
	m.written = &mw
	var read []string
	for _, r := range slices.Concat(q.tradeRead, c.tradeRead) {
		if !slices.Contains(read, r) {
			read = append(read, r)
		}
	}
	// Names that as written share words while each has its own ("Zenith Silovye Mashiny",
	// "Zenith Power Machines") stay two branches of one name as likely as one organisation.
	m.reading, m.branch = true, m.branch || mw.branch
	m.why = strings.Replace(m.why, whySame, "the same name", 1) + "; " + strings.Join(read, ", ") + " (trade words read in English)"
	return m
}

// tradeReadingPenalty discounts names that compare only once their trade words are read in
// English, as partialAcronymPenalty does initials.
const tradeReadingPenalty = 0.9

// compareRead is compareNames with the names' trade words read as parseName reads them.
func compareRead(q, c *parsedName, w *weights) nameMatch {
	var m nameMatch
	try := func(a, b *nameForm, pen float64) {
		if len(a.tokens) == 0 || len(b.tokens) == 0 {
			return
		}
		if a.joined == b.joined {
			if s := pen; s > m.sim {
				m = nameMatch{sim: s, why: whySame, a: a.text, b: b.text}
			}
			return
		}
		// A part, or a name found inside another, stands for the whole only when what it
		// shares is rare: "(Japan)" or "China" found in a client's name says little.
		mass := 1.0
		if pen < 1 || len(a.tokens) != len(b.tokens) {
			mass = massFactor(a.tokens, b.tokens, w)
		}
		s, tok := softDice(a.tokens, b.tokens, w)
		if pen < 1 {
			s *= mass
		}
		s *= pen
		if s > m.sim {
			why := "no word shared exactly"
			if tok != "" {
				why = "rare token " + strconv.Quote(tok) + " shared"
				if w != nil && w.n > 0 && w.of(tok) < 1 {
					why = "common token " + strconv.Quote(tok) + " shared"
				}
			}
			note := translitNote(a.tokens, b.tokens)
			m = nameMatch{sim: s, reading: note != "", why: why + note, a: a.text, b: b.text}
		}
		if c := coverage(a.tokens, b.tokens, w) * containPenalty * pen * mass; c > m.sim && len(b.tokens) < len(a.tokens) {
			if c *= rarerRest(a.tokens, b.tokens, w); c > m.sim {
				note := translitNote(a.tokens, b.tokens)
				m = nameMatch{sim: c, reading: note != "", why: "the client's name is found whole in the tenant's" + note, a: a.text, b: b.text}
			}
		}
		if c := coverage(b.tokens, a.tokens, w) * containPenalty * pen * mass; c > m.sim && len(a.tokens) < len(b.tokens) {
			note := translitNote(a.tokens, b.tokens)
			m = nameMatch{sim: c, reading: note != "", why: "the tenant's name is found whole in the client's" + note, a: a.text, b: b.text}
		}
		// Letters alike but not the same ("Blue Harbor", "Blue Hill") are a reading, unless one
		// name's words are all in the other ("Northwind Traders", "Northwind Traders USA").
		if d := dice(a.bigrams, b.bigrams) * pen; d >= 0.8 && d > m.sim {
			m = nameMatch{sim: d, reading: !allIn(a.tokens, b.tokens) && !allIn(b.tokens, a.tokens), why: "the same letters, spaced or spelled differently", a: a.text, b: b.text}
		}
		acr := func(x, y *nameForm) {
			if len(x.tokens) != 1 || y.initials == "" || len(x.joined) < 2 {
				return
			}
			if x.joined == y.initials {
				s := 0.9 * pen
				if len(x.joined) == 2 {
					s = 0.75 * pen
				}
				// Initials are a reading even of the whole name: "Case" may be Chicago Area
				// Storage Enterprises, but a client named Case is read as written.
				if s = min(s, readingMax); s > m.sim {
					m = nameMatch{sim: s, reading: true, why: strconv.Quote(x.joined) + " is the initials of " + strconv.Quote(y.words), a: a.text, b: b.text}
				}
			}
		}
		acr(a, b)
		acr(b, a)
	}
	try(&q.full, &c.full, 1)
	if q.amp != nil || c.amp != nil {
		qa, ca := &q.full, &c.full
		if q.amp != nil {
			qa = q.amp
		}
		if c.amp != nil {
			ca = c.amp
		}
		try(qa, ca, 1)
	}
	if len(c.parts) > 0 {
		// The client's first part alone leaves out its qualifier: as much as the tenant's name
		// lacks it, the match counts less ("University of California" is not yet "…, Irvine").
		qual := partPenalty
		if len(c.rest) > 0 {
			qual *= 1 - qualifierWeight*(1-coverage(q.full.tokens, c.rest, w))
		}
		try(&q.full, &c.parts[0], qual)
		for i := range q.parts {
			try(&q.parts[i], &c.parts[0], qual)
		}
	}
	for i := range q.parts {
		try(&q.parts[i], &c.full, partPenalty)
	}
	// An acronym the client's name lists itself ("Canon Medical Research Europe - CMRE").
	if len(q.full.tokens) == 1 && slices.Contains(c.acronyms, q.full.joined) && 0.95 > m.sim {
		m = nameMatch{sim: 0.95, why: strconv.Quote(q.full.joined) + " is the acronym the client's name gives", a: q.full.text, b: c.full.text}
	}
	if len(c.full.tokens) == 1 && slices.Contains(q.acronyms, c.full.joined) && 0.95 > m.sim {
		m = nameMatch{sim: 0.95, why: strconv.Quote(c.full.joined) + " is the acronym the tenant's name gives", a: q.full.text, b: c.full.text}
	}
	// Initials that take in the legal form ("IBMC" for "International Business Machines
	// Corporation"): a weaker hint than initials of the name itself.
	legalAcr := func(x, y *parsedName) {
		if len(x.full.tokens) != 1 {
			return
		}
		how := ""
		if k := slices.Index(y.altInitials, x.full.joined); k >= 0 {
			how = y.altHow[k]
		} else if x.capitals == "" {
			return
		} else if k := slices.Index(y.altInitials, x.capitals); k >= 0 {
			// A mixed-case acronym's capitals ("PwC", PricewaterhouseCoopers; "GfK",
			// Gesellschaft für Konsumforschung).
			how = "its capitals, " + y.altHow[k]
		} else if x.capitals == y.full.initials || x.capitals == y.camel {
			how = "its capitals"
		} else {
			return
		}
		if sc := readingMax; sc > m.sim {
			m = nameMatch{sim: sc, reading: true, why: strconv.Quote(x.full.text) + " may be the initials of " + strconv.Quote(y.full.text) +
				" (" + how + ")", a: q.full.text, b: c.full.text}
		}
	}
	legalAcr(q, c)
	legalAcr(c, q)
	// Initials closed by "co" for the company ("SISCO" for "Sirjan Iranian Steel", "MEKPCO"
	// for "Middle East Kimiya Pars Co.").
	coAcr := func(x, y *parsedName) {
		init, ok := strings.CutSuffix(x.full.joined, "co")
		if len(x.full.tokens) != 1 || !ok || len(init) < minLeadInitials || coInitialsSim <= m.sim {
			return
		}
		if init == y.full.initials || len(y.parts) > 0 && init == y.parts[0].initials {
			m = nameMatch{sim: coInitialsSim, reading: true, why: strconv.Quote(x.full.joined) + " may be the initials of " + strconv.Quote(y.full.text) +
				" and \"co\" for company", a: q.full.text, b: c.full.text}
		}
	}
	coAcr(q, c)
	coAcr(c, q)
	// The initials of a name's first words, a legal form after them included ("WSIEC" for
	// "Wuhan Sanjiang Import and Export Co. Ltd", "WDO" for "Welfare and Development
	// Organization of …"): the more of the name's own words they take in, the more they count.
	leadAcr := func(x, y *parsedName) {
		j := x.full.joined
		if len(x.full.tokens) != 1 || len(j) < minLeadInitials || !strings.HasPrefix(y.lead, j) || y.nameWords == 0 {
			return
		}
		k := len(j) - 1
		sc := leadInitialsMin + (legalInitialsSim-leadInitialsMin)*min(1, float64(y.leadNamed[k])/float64(y.nameWords))
		if sc = min(sc, readingMax); sc > m.sim {
			m = nameMatch{sim: sc, reading: true, why: strconv.Quote(j) + " is the initials of " + strconv.Quote(strings.Join(y.leadWords[:y.leadEnd[k]], " ")) +
				" in " + strconv.Quote(y.full.text), a: q.full.text, b: c.full.text}
		}
	}
	leadAcr(q, c)
	leadAcr(c, q)
	translitAcr := func(x, y *parsedName) {
		if len(x.full.tokens) == 1 && y.translitInitials != "" && x.full.joined == y.translitInitials && readingMax > m.sim {
			how := ", Russian letters written as their transliteration"
			if !slices.ContainsFunc(russianDigraphs, func(g string) bool { return strings.Contains(x.full.joined, g) }) {
				how = ", without \"i\" (\"and\" in Russian)"
			}
			m = nameMatch{sim: readingMax, reading: true, why: strconv.Quote(x.full.joined) + " is the initials of " + strconv.Quote(strings.Join(y.full.tokens, " ")) +
				how, a: q.full.text, b: c.full.text}
		}
	}
	translitAcr(q, c)
	translitAcr(c, q)
	russianAcr := func(x, y *parsedName) {
		k := slices.Index(y.russianInitials, x.full.joined)
		if len(x.full.tokens) != 1 || k < 0 {
			return
		}
		// Read in another order, a little less.
		sc, order := russianInitialsSim, ""
		if k > 0 {
			sc, order = russianInitialsSim-0.02, ", the word for what it is first"
		}
		if sc > m.sim {
			m = nameMatch{sim: sc, reading: true, why: strconv.Quote(x.full.joined) + " is the initials of " + strconv.Quote(y.full.words) +
				" read in Russian (" + strings.Join(y.russianRead, ", ") + order + ")", a: q.full.text, b: c.full.text}
		}
	}
	russianAcr(q, c)
	russianAcr(c, q)
	// A short word of one name that is the initials of a run of the other's words ("ISIS-WA"
	// and "ISIS West Africa", "Peralta DTO" and "Cesar Peralta Drug Trafficking
	// Organization"): read as those words, the names compare again, a little discounted.
	readAs := func(ex []string, y *parsedName, why string) {
		sc, _ := softDice(ex, y.legalToks, w)
		if cv := coverage(ex, y.legalToks, w) * containPenalty; cv > sc && len(ex) > len(y.legalToks) {
			sc = cv
		}
		if cv := coverage(y.legalToks, ex, w) * containPenalty; cv > sc && len(ex) < len(y.legalToks) {
			sc = cv
		}
		if sc = min(sc*partialAcronymPenalty, readingMax); sc > m.sim {
			m = nameMatch{sim: sc, reading: true, why: why, a: q.full.text, b: c.full.text}
		}
	}
	partial := func(x, y *parsedName) {
		toks := x.full.tokens
		ex, run := expandAcronym(toks, y.legalToks, y.legalWords)
		shown := run[0]
		if ex == nil && x.amp != nil {
			// Letters joined by "&" ("PSB I&I", "Smith R&D") are initials too.
			toks = x.amp.tokens
			ex, run = expandAcronym(toks, y.legalToks, y.legalWords)
			shown = strings.Join(strings.Split(run[0], ""), "&")
		}
		if ex == nil {
			return
		}
		// Two letters are the initials of some two words of most names ("SC South" and
		// "Saba Crane"): they count only beside a word the names share.
		if len(run[0]) == 2 && !slices.ContainsFunc(toks, func(t string) bool {
			return t != run[0] && !stopWords[t] && slices.ContainsFunc(y.legalToks, func(u string) bool { return tokenSim(t, u) >= 0.8 })
		}) {
			return
		}
		readAs(ex, y, strconv.Quote(shown)+" read as the initials of "+strconv.Quote(run[1]))
	}
	if len(q.full.tokens) > 1 {
		partial(q, c)
	}
	if len(c.full.tokens) > 1 {
		partial(c, q)
	}
	// Abbreviations of kinds of organisation ("NPP Kontakt" and "Scientific Production
	// Enterprise Kontakt"): read as what they stand for, the names compare again, a little
	// discounted; a short word left may then be the initials of the other's words ("SVT" in
	// "NII SVT").
	abbrev := func(x, y *parsedName) {
		if !x.abbrevs {
			return
		}
		ex, why := expandOrgAbbrevs(x.full.tokens, y.legalToks)
		if ex == nil {
			return
		}
		if ex2, run := expandAcronym(ex, y.legalToks, y.legalWords); ex2 != nil {
			ex, why = ex2, why+"; "+strconv.Quote(run[0])+" read as the initials of "+strconv.Quote(run[1])
		}
		readAs(ex, y, why)
	}
	abbrev(q, c)
	abbrev(c, q)
	// A transliterated Russian name and its English translation ("Kazanskii
	// Optiko-Mekhanicheskii Zavod", "Kazan Optical and Mechanical Plant"): its words that
	// russianWords translates, read in English, the names compare again, a little discounted.
	translate := func(x, y *parsedName) {
		if !x.russian {
			return
		}
		if ex, why := translateRussian(x.full.tokens, y.legalToks); ex != nil {
			readAs(ex, y, why)
		}
	}
	translate(q, c)
	translate(c, q)
	// Names that share a rare word ("Brooks Running", "Brooks Sports"; "Shipyard Lotos",
	// "Shipbuilding Plant Lotos"; "AO 356 ARZ", "356 Aircraft Repair Plant") likely name one
	// organisation or its parts: enough to be shown, never to be taken.
	// A shared word one of the names opens with is the brand, most likely: the lift is
	// monotonic for it, so names that already score a little above firstWordSim are raised as
	// well, and the rarer the word, the higher. A pair sharing a brand no other client bears
	// ("Cemag Consulting", "CEMAG Care"; "Cardi9 Health Services Provision", "Cardi9 Prestação
	// de Serviços de Saúde") then never ranks below a pair sharing a trade word or a town in
	// neither name's first place ("Findmore Consulting"; "Universal Health Services"; "Bell
	// Windows (Norwich)"), which is lifted only from below firstWordSim. A name opening with
	// its kind ("Pharmacie Girard") lifts both the client named by its brand ("Girard Santé")
	// and the one sharing its kind ("Pharmacie Centrale"); the closer names rank first.
	if m.sim < (firstWordSim+rareLiftMax)/0.9 && len(q.full.tokens)+len(c.full.tokens) > 2 && w != nil && w.n >= 50 {
		if t, u := rareShared(q, c, w); t != "" {
			brand := t == q.full.tokens[0] || u == c.full.tokens[0]
			lifted := firstWordSim + 0.1*m.sim
			why := "the rare word " + strconv.Quote(t) + " shared"
			if brand {
				lifted += rareLiftMax * min(1, 2*min(w.of(t), w.of(u))/w.unseen-1)
			}
			if t == q.full.tokens[0] && u == c.full.tokens[0] {
				why = "the rare first word " + strconv.Quote(t) + " shared"
			}
			if m.sim < firstWordSim || brand && lifted > m.sim {
				m = nameMatch{sim: lifted, reading: true, why: why + translitNote([]string{t}, []string{u}), a: q.full.text, b: c.full.text}
			}
		}
	}
	// A word made of the first letters of each of the other name's first words ("Iralco" for
	// "Iran Aluminum Company", "Kogen" for "Korea General Corporation …").
	syllables := func(x, y *parsedName) {
		// Bounded: the search tries every split of the word, which a long one would make slow.
		if len(x.full.tokens) != 1 || len(y.full.tokens) < 2 || len(x.full.joined) < 3 || len(x.full.joined) > maxSyllableWord {
			return
		}
		start := slices.Index(y.legalToks, y.full.tokens[0])
		if start < 0 {
			return
		}
		n := spellsStarts(x.full.joined, y.legalWords[start:], 0, false)
		if n == 0 {
			return
		}
		sc := syllableSim * min(1, float64(n)/float64(len(y.full.tokens))*0.5+0.5)
		if sc > m.sim {
			m = nameMatch{sim: sc, reading: true, why: strconv.Quote(x.full.joined) + " is made of the first letters of the words of " + strconv.Quote(y.full.text), a: q.full.text, b: c.full.text}
		}
	}
	syllables(q, c)
	syllables(c, q)
	// A kana or Hangul name and a Latin one, compared by sound.
	sound := func(script, latin *parsedName) {
		s := max(soundSim(script.sound, latin.sound), spellSim(script.spell, latin.spell))
		if s > 0 {
			// Among names with the same consonants, the one whose letters are closest: a
			// tie-breaker within the cap.
			s = min(soundSimMax, s-soundTieRoom+soundTieRoom*dice(bigrams(script.roman), latin.full.bigrams))
		}
		how := " (romanised), like "
		if script.kanjiRead {
			how = " (read by a dictionary and romanised), like "
		}
		if s > m.sim {
			m = nameMatch{sim: s, bySound: true, why: "sounds alike: " + strconv.Quote(script.full.text) + " reads " + strconv.Quote(script.roman) +
				how + strconv.Quote(latin.full.text), a: q.full.text, b: c.full.text}
		}
		// The first words alone: the rest of a Japanese name is often a kind the Latin name
		// translates ("工業", "Industry").
		if len(latin.full.tokens) > 0 {
			lt := latin.full.tokens[0]
			f := 0.0
			switch {
			case script.firstSpell != "" && script.firstSpell == spellKey(lt):
				f = firstWordSoundSim
			case script.firstSound != "" && script.firstSound == soundKey(lt) && len(lt) >= 4:
				f = firstWordSoundSim - 0.05
			}
			if f > m.sim {
				m = nameMatch{sim: f, bySound: true, why: "sounds alike: the first word of " + strconv.Quote(script.full.text) + " reads " +
					strconv.Quote(strings.Fields(script.roman)[0]) + how + "the first word of " + strconv.Quote(latin.full.text), a: q.full.text, b: c.full.text}
			}
		}
		// The name before a kind sounds like the Latin words before the kind translated
		// ("武藤工業", "mutou kougyou", and "Mutoh Industries"), or like the whole Latin name.
		if k := sharedBrandKind(script.brandKinds, latin.brandKinds); k != "" {
			f, what := firstWordSoundSim, strconv.Quote(latin.full.text)
			if b, j := latinKindAt(latin.full.tokens, k); j > 0 {
				f = brandKindSim
				what = strconv.Quote(strings.Join(latin.full.tokens[:b], " ")) + " in " + what + ", and its kind is " + strconv.Quote(latin.full.tokens[j])
			}
			if f > m.sim {
				m = nameMatch{sim: f, bySound: true, why: "sounds alike: " + strconv.Quote(script.full.text) + " reads " + strconv.Quote(script.roman) +
					strings.TrimSuffix(how, ", like ") + "; its name before its kind sounds like " + what, a: q.full.text, b: c.full.text}
			}
		}
		// Letters spelled by their names are the name's initials, read aloud.
		if l := script.letters; l != "" && (l == latin.full.joined || len(latin.parts) > 0 && l == latin.parts[0].joined) && lettersSim > m.sim {
			m = nameMatch{sim: lettersSim, bySound: true, why: "sounds alike: " + strconv.Quote(script.full.text) + " spells the letters " +
				strconv.Quote(strings.ToUpper(l)) + ", like " + strconv.Quote(latin.full.text), a: q.full.text, b: c.full.text}
		}
	}
	switch {
	case q.roman != "" && c.roman == "":
		sound(q, c)
	case c.roman != "" && q.roman == "":
		sound(c, q)
	}
	// A Chinese name read in pinyin, and a Latin one.
	hanzi := func(h, latin *parsedName) {
		if s, read := hanziSim(h, latin, w); s > m.sim {
			m = nameMatch{sim: s, bySound: true, why: hanziWhy(h, latin, read), a: q.full.text, b: c.full.text}
		}
	}
	switch {
	case q.hanzi != nil && c.ascii && c.roman == "":
		hanzi(q, c)
	case c.hanzi != nil && q.ascii && q.roman == "":
		hanzi(c, q)
	}
	if m.sim > 0 {
		if x, y := branchWords(firstPart(q), firstPart(c)); x != "" {
			m.reading, m.branch = true, true
			// Words of a name in another script differ from the Latin name's by their letters,
			// which the match by sound has read already ("コウギョウ", "Industries").
			// Nor does a word read as the other ("cie" read as "company") tell them apart.
			if (!m.bySound || !strings.ContainsFunc(x+y, func(r rune) bool { return r >= 0x80 })) && !strings.Contains(m.why, strconv.Quote(x)+" read as ") {
				m.why += "; " + strconv.Quote(x) + " and " + strconv.Quote(y) + " tell them apart"
			}
		}
	}
	// Names that both carry numbers, none of them the same ("Sparkle Cleaning 214", "Sparkle
	// Cleaning 117"), are two branches or units as likely as one: a hint a person confirms.
	if m.sim > 0 && !m.reading {
		if qn, cn := numbersIn(q.full.tokens), numbersIn(c.full.tokens); len(qn) > 0 && len(cn) > 0 && !slices.ContainsFunc(qn, func(n string) bool { return slices.Contains(cn, n) }) {
			m.reading = true
			m.why += "; the numbers differ (" + strings.Join(qn, ", ") + " and " + strings.Join(cn, ", ") + ")"
		}
	}
	// Names that both carry a person's initials, not the same ones ("A Smith Plumbing", "E
	// Smith Plumbing"; "J&A", "J&E"), are two people's firms as likely as one.
	if m.sim > 0 && !m.reading {
		if ql, cl := lettersIn(q.full.tokens, q.full.text), lettersIn(c.full.tokens, c.full.text); len(ql) > 0 && len(cl) > 0 && !sameSet(ql, cl) {
			m.reading = true
			m.why += "; the initials differ (" + strings.Join(ql, ", ") + " and " + strings.Join(cl, ", ") + ")"
		}
	}
	// Names alike once the legal forms they open with are left out, which differ ("OOO Alfa"
	// and "AO Alfa", "AB Plumbing" and "Plumbing Ltd"): one organisation as likely as two.
	if m.sim > 0 && !m.reading && leadFormsDiffer(q, c) {
		form := func(f string) string {
			if f == "" {
				return "none"
			}
			return strconv.Quote(strings.ToUpper(f))
		}
		m.reading = true
		m.why += "; the legal forms they open with differ (" + form(q.leadForm) + " and " + form(c.leadForm) + ")"
	}
	return m
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	return !slices.ContainsFunc(a, func(x string) bool { return !slices.Contains(b, x) }) &&
		!slices.ContainsFunc(b, func(x string) bool { return !slices.Contains(a, x) })
}

// lettersIn returns the single letters of toks, the words of the name text: a person's
// initials ("a" in "A Smith").
func lettersIn(toks []string, text string) []string {
	var out []string
	lt := strings.ToLower(text)
	for i, t := range toks {
		// A conjunction between two words ("Silva e Filhos") or an elided article
		// ("L'Atelier") is not an initial.
		if conjunctionLetters[t] && i > 0 && i+1 < len(toks) && len(toks[i-1]) > 1 && len(toks[i+1]) > 1 ||
			(t == "l" || t == "d") && (strings.Contains(lt, t+"'") || strings.Contains(lt, t+"’")) {
			continue
		}
		if len(t) == 1 && t[0] >= 'a' && t[0] <= 'z' && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// firstWordSoundSim is what the first words of two names sounding alike score: enough to show
// the client, below a whole name's sound match.
const firstWordSoundSim = 0.7

// brandKindSim is what a Japanese name scores whose name before its kind sounds like a Latin
// name's words before the kind translated: two agreements, below a whole name's sound match.
const brandKindSim = 0.8

// lettersSim is what a katakana name spelling a Latin name's letters scores: a reading, so a
// hint like any match by sound.
const lettersSim = soundSimMax

// rareShared returns the rarest word of x's name that few clients use, of three characters or
// more, or two with a digit ("MMK", "356", "A1"), that y's name has too, as written or transliterated otherwise, and that
// word as y writes it; "" when they share none.
func rareShared(x, y *parsedName, w *weights) (string, string) {
	rare := x.rare
	if rare == nil {
		rare = rareWords(x, w)
	}
	b := y.full.tokens
	best, bestB, bestW := "", "", 0.0
	for _, i := range rare {
		t := x.full.tokens[i]
		if w.of(t) <= bestW {
			break
		}
		// The same word, or one word transliterated two ways ("Elektrokom", "Electrocom").
		u := t
		if !slices.Contains(b, t) {
			k := -1
			for j, u := range b {
				if x.keys[i] != "" && y.keys[j] == x.keys[i] && !genericWords[u] && len(t)-len(u) <= 2 && len(u)-len(t) <= 2 {
					k = j
					break
				}
			}
			if k < 0 {
				continue
			}
			u = b[k]
		}
		if wt := min(w.of(t), w.of(u)); wt >= 0.5*w.unseen && wt > bestW {
			best, bestB, bestW = t, u, wt
		}
	}
	return best, bestB
}

// rareWords returns the indices of the words of x's name rareShared may find shared, rarest
// first: the tenant's are found once for all the clients it is compared with.
func rareWords(x *parsedName, w *weights) []int {
	rare := []int{}
	for i, t := range x.full.tokens {
		if len(t) < 2 || len(t) == 2 && !strings.ContainsAny(t, "0123456789") || stopWords[t] || genericWords[t] || w.of(t) < 0.5*w.unseen {
			continue
		}
		rare = append(rare, i)
	}
	slices.SortStableFunc(rare, func(i, j int) int { return cmp.Compare(w.of(x.full.tokens[j]), w.of(x.full.tokens[i])) })
	return rare
}

// firstWordSim is what a shared rare word scores at least (raised by a tenth of what the names
// score otherwise, so the closer of two such names ranks first).
const firstWordSim = 0.5

// rareLiftMax is how much more a shared word scores for its rarity: nothing for a word at the
// edge of rare (half the weight of one no client has), all of it for one only a client has.
const rareLiftMax = 0.05

// soundTieRoom is how much of a sound match's score depends on how alike the letters are.
const soundTieRoom = 0.05

// syllableSim is what a word spelled by the starts of the other name's words scores when it
// takes in all of them; fewer count less.
const syllableSim = 0.8

// maxSyllableWord is the longest word read as made of the starts of other words.
const maxSyllableWord = 10

// spellsStarts reports how many of toks (from the first) t is spelled by, taking a non-empty
// start of each word in turn, stop words optional; 0 when it is not, or when every start is a
// single letter (plain initials, compared elsewhere) or fewer than two words are used.
func spellsStarts(t string, toks []string, used int, long bool) int {
	if t == "" {
		if used >= 2 && long {
			return used
		}
		return 0
	}
	if len(toks) == 0 {
		return 0
	}
	tok := toks[0]
	for l := min(len(t), len(tok)); l >= 1; l-- {
		if t[:l] == tok[:l] {
			if n := spellsStarts(t[l:], toks[1:], used+1, long || l >= 2); n > 0 {
				return n
			}
		}
	}
	if stopWords[tok] && used > 0 {
		return spellsStarts(t, toks[1:], used, long)
	}
	return 0
}

// joinedLetters returns toks with each run of single letters joined by "and" ("j and b", as
// "J&B" is parsed) made one word ("jb"), or nil when toks has no such run.
func joinedLetters(toks []string) []string {
	var out []string
	for i := 0; i < len(toks); i++ {
		j := i
		for j+2 < len(toks) && len(toks[j]) == 1 && toks[j+1] == "and" && len(toks[j+2]) == 1 {
			j += 2
		}
		if j == i {
			if out != nil {
				out = append(out, toks[i])
			}
			continue
		}
		if out == nil {
			out = append(make([]string, 0, len(toks)), toks[:i]...)
		}
		var b strings.Builder
		for k := i; k <= j; k += 2 {
			b.WriteString(toks[k])
		}
		out = append(out, b.String())
		i = j
	}
	return out
}

// partialAcronymPenalty discounts names that compare only once a word is read as initials.
const partialAcronymPenalty = 0.9

// expandAcronym replaces the first word of a (of 2 to 5 letters, not itself a word of b) that
// spells the initials of a run of b's words, stop words within the run aside ("DS" for
// "Defence and Space"), by those words. bw holds b's words as written, which the initials are
// read from. It returns nil when no word does, and the word and the run, for the evidence.
func expandAcronym(a, b, bw []string) ([]string, [2]string) {
	for i, t := range a {
		if len(t) < 2 || len(t) > 5 || slices.Contains(b, t) || stopWords[t] {
			continue
		}
		for j := range b {
			if bw[j] == "" || bw[j][0] != t[0] || stopWords[b[j]] {
				continue
			}
			k, end := 0, j
			for ; end < len(b) && k < len(t); end++ {
				switch {
				case bw[end] != "" && bw[end][0] == t[k] && !(stopWords[b[end]] && k > 0 && end+1 < len(b) && bw[end+1] != "" && bw[end+1][0] == t[k]):
					k++
				case stopWords[b[end]] && k > 0:
				default:
					end = len(b) + 1
				}
			}
			if k < len(t) || end > len(b) {
				continue
			}
			run := b[j:end]
			out := make([]string, 0, len(a)+len(run))
			out = append(append(append(out, a[:i]...), run...), a[i+1:]...)
			return out, [2]string{t, strings.Join(bw[j:end], " ")}
		}
	}
	return nil, [2]string{}
}

// legalInitialsSim is the top of the range of the initials of a name's first words (leadAcr),
// which readingMax caps as it caps every reading of initials.
const legalInitialsSim = 0.85

// readingMax is the most a reading of initials or abbreviations scores (see
// nameMatch.reading): below a name found whole in the other (containPenalty), so "TD Logistics"
// is "TD Logistics Solutions" before it is "Trading House Logistics". A word spelled otherwise
// keeps the score of the names' words.
const readingMax = containPenalty - 0.01

// coInitialsSim is what initials closed by "co" score ("SISCO" for "Sirjan Iranian Steel"):
// below a name found whole in another ("Cisco" in "Cisco Systems"), which the same word may
// as well be.
const coInitialsSim = 0.8

// russianInitialsSim is what a name's initials read in Russian score: a translation's
// reading, a little below initials of the words as written.
const russianInitialsSim = 0.8

// minLeadInitials is the fewest letters read as the initials of a name's first words alone,
// and leadInitialsMin what such initials score when they take in almost none of the name:
// shorter runs of initials meet unrelated names too often.
const (
	minLeadInitials = 3
	leadInitialsMin = 0.6
)

// bigrams returns the sorted character bigrams of s, as pairs of runes packed into uint32
// (each rune's low 16 bits; a rare collision between distant runes only nudges a score).
func bigrams(s string) []uint32 {
	r := []rune(s)
	if len(r) < 2 {
		if len(r) == 1 {
			return []uint32{uint32(r[0]) & 0xffff}
		}
		return nil
	}
	out := make([]uint32, 0, len(r)-1)
	for i := 0; i+1 < len(r); i++ {
		out = append(out, (uint32(r[i])&0xffff)<<16|uint32(r[i+1])&0xffff)
	}
	slices.Sort(out)
	return out
}

// dice is the Sørensen–Dice coefficient of two sorted bigram multisets.
func dice(a, b []uint32) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	common, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			common++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b))
}

// NameSimilarity scores two company names in [0,1]: their words compared after
// NormalizeCompanyName (abbreviations, initials and single typos matching in part), or their
// letters when those are close. Generic words ("Group", "Holdings") weigh a tenth; the suggester
// weighs words by how rare they are among the clients instead.
func NameSimilarity(a, b string) float64 {
	pa, pb := parseName(a), parseName(b)
	if len(pa.full.tokens) == 0 || len(pb.full.tokens) == 0 {
		return 0
	}
	return max(compareNames(&pa, &pb, nil).sim, compareNames(&pb, &pa, nil).sim)
}

// nameIndex finds the clients whose names may be like a tenant's without comparing every
// client: by whole token, by a token's first three letters (abbreviations, words run
// together) and by initials.
type nameIndex struct {
	w      weights
	tok    map[string][]int32
	prefix map[string][]int32
	initl  map[string][]int32
	// soundScript finds romanised (kana, Hangul) client names by their sound key, soundLatin
	// Latin client names by the sound keys of their first words.
	soundScript, soundLatin map[string][]int32
	// spellScript and spellLatin do the same by spelling keys.
	spellScript, spellLatin map[string][]int32
	// translit finds names by the translitKey of their words of minTranslit letters or more,
	// which a word spelled another way shares.
	translit map[string][]int32

	// syl finds names by the first two letters of their first word and the first of their
	// second ("kob" for "Korea Broadcast …"), as a word made of the starts of their words
	// begins ("KOBACO").
	syl map[string][]int32
	// pinyin finds Chinese client names by the Latin words their characters spell in pinyin
	// (see hanziKeys).
	pinyin map[string][]int32
	// brandScript and brandLatin find romanised Japanese and Latin client names by their
	// brandKinds.
	brandScript, brandLatin map[string][]int32
	limit                   int // posting lists longer than this are skipped when rarer keys exist
}

// maxPinyinList is the most Chinese client names a Latin word finds by their pinyin or the
// kinds they translate.
const maxPinyinList = 32

func newNameIndex(names []parsedName) *nameIndex {
	ix := &nameIndex{w: weights{df: map[string]int{}, n: len(names)}, tok: map[string][]int32{}, prefix: map[string][]int32{}, initl: map[string][]int32{},
		soundScript: map[string][]int32{}, soundLatin: map[string][]int32{}, spellScript: map[string][]int32{}, spellLatin: map[string][]int32{},
		syl: map[string][]int32{}, translit: map[string][]int32{}, pinyin: map[string][]int32{},
		brandScript: map[string][]int32{}, brandLatin: map[string][]int32{}}
	ix.limit = max(64, len(names)/16)
	add := func(m map[string][]int32, k string, i int32) {
		if l := m[k]; len(l) == 0 || l[len(l)-1] != i {
			m[k] = append(l, i)
		}
	}
	for i, p := range names {
		seen := map[string]bool{}
		// How rare a word is counts the names as written: reading some in English moves no
		// other name's score.
		written := p.full.tokens
		if p.written != nil {
			written = p.written.full.tokens
		}
		for _, t := range written {
			if !seen[t] {
				seen[t] = true
				ix.w.df[t]++
			}
		}
		for _, t := range p.full.tokens {
			add(ix.tok, t, int32(i))
			for _, k := range prefixKeys(t) {
				add(ix.prefix, k, int32(i))
			}
			if len(t) >= minTranslit {
				add(ix.translit, translitKey(t), int32(i))
			}
		}
		if p.written != nil {
			// A name read in English is found by its words as written too: a domain label
			// spells them, and the other name may not be read ("Almaz", "OOO Almaz").
			for _, t := range p.written.full.tokens {
				add(ix.tok, t, int32(i))
				for _, k := range prefixKeys(t) {
					add(ix.prefix, k, int32(i))
				}
			}
		}
		for _, f := range append([]nameForm{p.full}, p.parts...) {
			if f.initials != "" {
				add(ix.initl, f.initials, int32(i))
			}
		}
		for _, a := range p.acronyms {
			add(ix.initl, a, int32(i))
		}
		if len(p.full.tokens) == 1 {
			add(ix.initl, p.full.joined, int32(i))
		}
		for _, a := range p.altInitials {
			add(ix.initl, a, int32(i))
		}
		if p.camel != "" {
			add(ix.initl, p.camel, int32(i))
		}
		if p.translitInitials != "" {
			add(ix.initl, p.translitInitials, int32(i))
		}
		for _, r := range p.russianInitials {
			add(ix.initl, r, int32(i))
		}
		for k := minLeadInitials; k <= len(p.lead); k++ {
			add(ix.initl, p.lead[:k], int32(i))
		}
		if ft := p.full.tokens; len(ft) >= 2 && len(ft[0]) >= 2 && ft[0][0] < 0x80 && ft[0][1] < 0x80 && ft[1][0] < 0x80 {
			add(ix.syl, ft[0][:2]+ft[1][:1], int32(i))
		}
		for _, k := range p.sound {
			if p.roman != "" {
				add(ix.soundScript, k, int32(i))
			} else {
				add(ix.soundLatin, k, int32(i))
			}
		}
		for _, k := range p.spell {
			if p.roman != "" {
				add(ix.spellScript, k, int32(i))
			} else {
				add(ix.spellLatin, k, int32(i))
			}
		}
		if p.letters != "" {
			add(ix.initl, p.letters, int32(i))
		}
		if p.firstSound != "" {
			add(ix.soundScript, p.firstSound, int32(i))
		}
		if p.firstSpell != "" {
			add(ix.spellScript, p.firstSpell, int32(i))
		}
		for _, k := range p.brandKinds {
			if p.roman != "" {
				add(ix.brandScript, k, int32(i))
			} else {
				add(ix.brandLatin, k, int32(i))
			}
		}
		for _, k := range hanziKeys(p.hanzi, p.hanziOpts) {
			add(ix.pinyin, k, int32(i))
		}
	}
	ix.w.prepare()
	return ix
}

// prefixKeys are the keys a token is found by in part: its first four letters with one left
// out (so an abbreviation, a word run into the next, or a slip in the first letters still
// meets its word), or a three-letter token itself.
func prefixKeys(t string) []string {
	switch {
	case len(t) < 3:
		return nil
	case len(t) == 3:
		return []string{t}
	}
	p := t[:4]
	return []string{p[1:], p[:1] + p[2:], p[:2] + p[3:], p[:3]}
}

// candidates returns the clients worth comparing with q (and with the domain labels), each once.
func (ix *nameIndex) candidates(q *parsedName, labels []string, buf []int32, mark []uint32, gen uint32) []int32 {
	var lists [][]int32
	forms := append([]nameForm{q.full}, q.parts...)
	for _, f := range forms {
		for _, t := range f.tokens {
			if stopWords[t] {
				continue
			}
			// A word some client uses is found by itself; one no client uses may be an
			// abbreviation or a slip, found by its start.
			if l := ix.tok[t]; len(l) > 0 {
				lists = append(lists, l)
				continue
			}
			for _, k := range prefixKeys(t) {
				lists = append(lists, ix.prefix[k])
			}
			// A short word beside others may be the initials of some of a client's words
			// ("HDAS Lines"; see expandAcronym).
			if len(f.tokens) > 1 && len(t) >= minLeadInitials && len(t) <= 5 {
				lists = append(lists, ix.initl[t])
			}
		}
		if f.initials != "" {
			lists = append(lists, ix.tok[f.initials], ix.initl[f.initials])
		}
		if len(f.tokens) == 1 {
			lists = append(lists, ix.initl[f.joined])
		}
	}
	if q.written != nil {
		// The tenant's words as written find the clients that write them too.
		for _, t := range q.written.full.tokens {
			if !stopWords[t] {
				lists = append(lists, ix.tok[t])
			}
		}
	}
	for _, t := range q.full.tokens {
		if len(t) >= minTranslit {
			lists = append(lists, ix.translit[translitKey(t)])
		}

		// An abbreviation of a kind of organisation finds the clients its rarest word is in,
		// when they are few: "TD" is not worth reading every "trading" and "house" for.
		for _, ex := range orgAbbrevs[t].expansions {
			var rarest []int32
			for k, u := range ex {
				if l := ix.tok[u]; !stopWords[u] && (k == 0 || len(l) < len(rarest)) {
					rarest = l
				}
			}
			if len(rarest) > 0 && len(rarest) <= ix.limit {
				lists = append(lists, rarest)
			}
		}
	}
	for _, k := range q.sound {
		if q.roman != "" {
			lists = append(lists, ix.soundLatin[k])
		} else {
			lists = append(lists, ix.soundScript[k])
		}
	}
	for _, k := range q.spell {
		if q.roman != "" {
			lists = append(lists, ix.spellLatin[k])
		} else {
			lists = append(lists, ix.spellScript[k])
		}
	}
	if q.letters != "" {
		lists = append(lists, ix.tok[q.letters], ix.initl[q.letters])
	}
	if q.firstSound != "" {
		lists = append(lists, ix.soundLatin[q.firstSound])
	}
	if q.firstSpell != "" {
		lists = append(lists, ix.spellLatin[q.firstSpell])
	}
	if q.capitals != "" {
		lists = append(lists, ix.initl[q.capitals])
	}
	for _, k := range q.brandKinds {
		if q.roman != "" {
			lists = append(lists, ix.brandLatin[k])
		} else {
			lists = append(lists, ix.brandScript[k])
		}
	}
	// A Chinese name finds the clients a word its characters spell in pinyin is in; a Latin
	// name, the Chinese names whose characters spell one of its words.
	for _, k := range hanziKeys(q.hanzi, q.hanziOpts) {
		lists = append(lists, ix.tok[k])
	}
	if q.ascii {
		for _, t := range q.full.tokens {
			// Only a word few Chinese names spell: "china" or "technology", which many
			// translate, would bring them all.
			if l := ix.pinyin[t]; len(l) <= maxPinyinList {
				lists = append(lists, l)
			}
		}
	}
	if len(q.full.tokens) == 1 {
		lists = append(lists, ix.initl[q.full.joined])
		if init, ok := strings.CutSuffix(q.full.joined, "co"); ok && len(init) >= minLeadInitials {
			lists = append(lists, ix.initl[init])
		}
		if j := q.full.joined; len(j) >= 3 && len(j) <= maxSyllableWord {
			lists = append(lists, ix.syl[j[:3]])
		}
	}
	for _, a := range q.altInitials {
		lists = append(lists, ix.tok[a])
	}
	for _, f := range forms {
		if f.initials != "" {
			lists = append(lists, ix.tok[f.initials+"co"])
		}
	}
	for k := minLeadInitials; k <= len(q.lead); k++ {
		lists = append(lists, ix.tok[q.lead[:k]])
	}
	for _, l := range labels {
		lists = append(lists, ix.tok[l])
		for _, k := range prefixKeys(l) {
			lists = append(lists, ix.prefix[k])
		}
	}
	rarest := -1
	for i, l := range lists {
		if len(l) > 0 && (rarest < 0 || len(l) < len(lists[rarest])) {
			rarest = i
		}
	}
	out := buf[:0]
	for i, l := range lists {
		if len(l) > ix.limit && i != rarest {
			continue
		}
		for _, c := range l {
			if mark[c] != gen {
				mark[c] = gen
				out = append(out, c)
			}
		}
	}
	return out
}

// leadFormsDiffer reports whether the legal forms q and c open with differ in a way that may
// be initials: a form of two letters the other name carries nowhere ("AB Plumbing", "Plumbing
// Ltd"; "AO Alfa", "OOO Alfa"), spaces aside ("AS", "A S").
func leadFormsDiffer(q, c *parsedName) bool {
	qf, cf := strings.ReplaceAll(q.leadForm, " ", ""), strings.ReplaceAll(c.leadForm, " ", "")
	amb := func(f string, o *parsedName) bool { return len(f) == 2 && !slices.Contains(o.legalToks, f) }
	return qf != cf && (amb(qf, c) || amb(cf, q))
}
