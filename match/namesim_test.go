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
		assert.InDelta(t, readingMax, m.sim, 1e-9, "%s ≈ %s: %s", c[0], c[1], m.why)
		assert.Contains(t, m.why, "is the initials of", "%s ≈ %s", c[0], c[1])
	}
	pa, pb := parseName("L'Oréal"), parseName("LOreal")
	assert.Equal(t, pa.full.joined, pb.full.joined, "the article still joins its word when spaces are ignored")
}

// A short word may be the initials of a name's first words, a legal form after them included;
// the more of the name's own words it takes in, the more it counts, never more than the
// initials of the whole name (a reading: readingMax).
func TestLeadInitials(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b     string
		min, max float64
	}{
		{"WSIEC", "WUHAN SANJIANG IMPORT AND EXPORT CO. LTD", readingMax, readingMax},
		{"LLC IBC", "LIMITED LIABILITY COMPANY INTERNATIONAL BUSINESS CORPORATION", readingMax, readingMax},
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
	assert.Contains(t, best.Signals[0].Detail, `"steerer" and "stirer" may be one word transliterated or spelled two ways`)
	best = suggestTop(t, "Resource LLC", "LIMITED LIABILITY COMPANY RESURS", "Respect Group")
	assert.Equal(t, "c0", best.ClientID)
	assert.True(t, strings.Contains(best.Signals[0].Detail, "transliterated or spelled two ways"), best.Signals[0].Detail)
}

// Numbers written out and ordinals are their digits.
func TestNumbersWrittenOut(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "5 Energy", "Five Energy Oil Trading", "Energy Partners Ltd", "Nova Energy Systems")
	assert.Equal(t, "c0", best.ClientID)
	a, b := parseName("1st National Bank of Elmwood"), parseName("First National Bank of Elmwood")
	m := compareNames(&a, &b, nil)
	assert.InDelta(t, 0.97, m.sim, 0.02)
	assert.True(t, m.reading, "a number written out is read as its digits")
	// One number written two ways is close, not the same name, and named in the evidence; a
	// cardinal is not its ordinal, and a name written as one word stays one word.
	a, b = parseName("Five Energy Oil Trading"), parseName("5 Energy Oil Trading")
	m = compareNames(&a, &b, nil)
	assert.NotEqual(t, whySame, m.why)
	assert.Contains(t, m.why, `"five" and "5" are one number`)
	assert.Less(t, NameSimilarity("Second Cup Cafe", "Two Cups Cafe"), NameSimilarity("Second Cup Cafe", "2nd Cup Cafe"))
	assert.InDelta(t, 1, NameSimilarity("One Stop Shop", "OneStop Shop LLC"), 1e-9)
	assert.Less(t, NameSimilarity("One Stop Shop", "First Stop Shop"), 0.8)
}

// A legal form transliterated another way is stripped as the spelling the table holds, and
// "Limited Liability Corporation" is one.
func TestLegalFormsTransliteratedOtherwise(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Obshchestvo s Ogranichennoi Otvetstvennostiu Mezhdunarodnye Transportnye Uslugi": "mezhdunarodnye transportnye uslugi",
		"Aktsionernoye Obshchestvo Alfa":          "alfa",
		"Acme Limited Liability Corporation":      "acme",
		"Zakrytoye Aktsionernoe Obshchestvo Vega": "vega",
	} {
		assert.Equal(t, want, NormalizeCompanyName(in), in)
	}
	// A word alone spelled like a legal form is a name.
	assert.Equal(t, "kompany media", NormalizeCompanyName("Kompany Media"))
	assert.Equal(t, "kompany", NormalizeCompanyName("The Kompany"))
	best := suggestTop(t, "OOO MTU", "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTIU MEZHDUNARODNYE TRANSPORTNYE USLUGI", "MTS BANK", "MIR TRADE")
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `"mtu" is the initials of "mezhdunarodnye transportnye uslugi"`)
}

// "dzh" and a soft "g" are one sound, as are "ye" and "e" after a vowel.
func TestSameTranslitSoftG(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{"general", "dzheneral"}, {"energy", "enerdzhi"}, {"aktsionernoye", "aktsionernoe"}} {
		assert.True(t, sameTranslit(c[0], c[1]) && sameTranslit(c[1], c[0]), "%s, %s", c[0], c[1])
	}
	for _, c := range [][2]string{{"gold", "jold"}, {"getty", "jetty"}, {"gill", "jill"}, {"gibbs", "jibbs"}} {
		assert.False(t, sameTranslit(c[0], c[1]), "a g is not a j: %s, %s", c[0], c[1])
	}
	best := suggestTop(t, "General Lubricants", "DZHENERAL LUBRIKANTS", "GENERAL PETROLEUM CORPORATION", "LUBRICANT SUPPLY CO")
	assert.Equal(t, "c0", best.ClientID)
}

// Acronyms that keep their stop words ("LNFM"), skip the Arabic article ("KSS"), leave out a
// person's initials that open the name ("KIPP"), or close with "co" for the company
// ("MEKPCO").
func TestAcronymsOfOtherShapes(t *testing.T) {
	t.Parallel()
	for acr, want := range map[string]string{
		"LNFM":   "LA NUEVA FAMILIA MICHOACANA",
		"KSS":    "KATA'IB SAYYID AL-SHUHADA",
		"JDQ":    "JAMA'AT UL DAWA AL-QU'RAN",
		"KIPP":   "P.L. KAPITZA INSTITUTE FOR PHYSICAL PROBLEMS, RUSSIAN ACADEMY OF SCIENCES",
		"MEKPCO": "MIDDLE EAST KIMIYA PARS CO.",
		"SISCO":  "SIRJAN IRANIAN STEEL",
		"BOA":    "Bank of America",
	} {
		best := suggestTop(t, acr, "Northern Fisheries Group", want, "Kestrel Systems", "Middle Europe Trading")
		assert.Equal(t, "c1", best.ClientID, acr)
		assert.Contains(t, best.Signals[0].Detail, "initials of", acr)
	}
	// Person's initials are dropped only where they open the name, and a legal form written
	// with dots is not a person's initials.
	assert.Zero(t, NameSimilarity("KIPP", "KAPITZA P.L. INSTITUTE FOR PHYSICAL PROBLEMS"))
	assert.Less(t, NameSimilarity("BTS", "O.O.O. Alfa Bank Trade Systems"), 0.5)
	assert.Less(t, NameSimilarity("STP", "U.S. Steel Tubular Products"), 0.5, "U.S. is not a person")
	// The evidence says how the initials were read.
	for acr, how := range map[string]string{"BOA": "(with its stop words)", "KIPP": "(without the person's initials it opens with)", "KSS": "(without the Arabic article)"} {
		a, b := parseName(acr), parseName(map[string]string{"BOA": "Bank of America", "KIPP": "P.L. KAPITZA INSTITUTE FOR PHYSICAL PROBLEMS", "KSS": "KATA'IB SAYYID AL-SHUHADA"}[acr])
		m := compareNames(&a, &b, nil)
		assert.Contains(t, m.why, how, acr)
		assert.True(t, m.reading, "%s is a reading", acr)
	}
}

// Initials are read from the words as written when a word of the name is read as another's
// initials: "Kompaniya" gives "K" though it compares as "company".
func TestPartialAcronymOfWordsAsWritten(t *testing.T) {
	t.Parallel()
	best := suggestTop(t, "PSK SNM", "PROIZVODSTVENNO-STROITELNAYA KOMPANIYA SNM", "SNM TRADING", "PSC HOLDINGS")
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `"psk" read as the initials of "proizvodstvenno stroitelnaya kompaniya"`)
}

// Two letters read as the initials of two words count only beside a word the names share: most
// names have some two words with those initials.
func TestTwoLetterInitialsNeedASharedWord(t *testing.T) {
	t.Parallel()
	assert.Zero(t, NameSimilarity("SABA CRANE", "SC SOUTH LLC"))
	assert.Greater(t, NameSimilarity("Airbus DS", "Airbus Defence and Space GmbH"), 0.7)
}

// Abbreviations of kinds of organisation ("NPP", "FSUE", "RAS", "TD") are read as what they
// stand for, in transliterated Russian or in English, and the evidence says so.
func TestOrgAbbreviations(t *testing.T) {
	t.Parallel()
	for tenant, want := range map[string]string{
		"NPP KONTAKT": "JOINT STOCK COMPANY SCIENTIFIC PRODUCTION ENTERPRISE KONTAKT",
		"FSUE ISR":    "FEDERAL STATE UNITARY ENTERPRISE S.V. LEBEDEV INSTITUTE OF SYNTHETIC RUBBER",
		"ISSP RAS":    "OSIPYAN INSTITUTE OF SOLID STATE PHYSICS OF THE RUSSIAN ACADEMY OF SCIENCES",
		"AO TD ROSEL": "JOINT STOCK COMPANY TRADING HOUSE ROSEL",
		"NII SVT PAO": "AKTSIONERNOE OBSHCHESTVO NAUCHNO ISSLEDOVATELSKII INSTITUT SREDSTV VYCHISLITELNOI TEKHNIKI",
	} {
		best := suggestTop(t, tenant, "FEDERAL STATE UNITARY ENTERPRISE CENTER FOR OPERATION OF SPACE GROUND BASED INFRASTRUCTURE",
			want, "SPACE RESEARCH INSTITUTE RUSSIAN ACADEMY OF SCIENCES", "KONTUR LLC", "ROSTEC TRADING")
		assert.Equal(t, "c1", best.ClientID, tenant)
		assert.Contains(t, best.Signals[0].Detail, " read as ", tenant)
	}
	// A zavod is a plant in Russian initials only: in Slovenian it is an institute.
	assert.Less(t, NameSimilarity("Zavod Sonce", "Sonce Plant Nursery"), 0.67)
	ex, why := expandOrgAbbrevs([]string{"fsu", "isr"}, strings.Fields("federal state unitary enterprise"))
	assert.Equal(t, []string{"federal", "state", "unitary", "enterprise", "isr"}, ex)
	assert.Equal(t, `"fsue" read as "federal state unitary enterprise"`, why)
	ex, _ = expandOrgAbbrevs([]string{"npp", "acme"}, []string{"acme", "holdings"})
	assert.Nil(t, ex, "an abbreviation whose words the other name lacks is left")

	// "TD" does not read every client with "trading" and "house" in its name.
	names := make([]parsedName, 2000)
	for i := range names {
		names[i] = parseName("Trading House " + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)) + "ville")
	}
	ix := newNameIndex(names)
	q := parseName("TD")
	assert.LessOrEqual(t, len(ix.candidates(&q, nil, nil, make([]uint32, len(names)), 1)), ix.limit)
}

// A rare word the names share, anywhere in them and however transliterated, is enough to show the client, never to take
// it; a word many clients use is not.
func TestRareWordSharedAnywhere(t *testing.T) {
	t.Parallel()
	names := []string{"JOINT STOCK COMPANY SHIPBUILDING PLANT LOTOS", "JOINT STOCK COMPANY 356 AIRCRAFT REPAIR PLANT",
		"OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM VPK"}
	for i := range 60 {
		names = append(names, "Filler "+string(rune('a'+i%26))+string(rune('a'+i/26))+" Shipping Trading")
	}
	best := suggestTop(t, "SHIPYARD LOTOS", names...)
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `the rare word "lotos" shared`)
	best = suggestTop(t, "AO 356 ARZ", names...)
	assert.Equal(t, "c1", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `"356" shared`)
	// One word transliterated two ways is the same word.
	best = suggestTop(t, "ELECTROCOM SPB", names...)
	assert.Equal(t, "c2", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `the rare first word "electrocom" shared; "electrocom" and "elektrokom" may be one word transliterated or spelled two ways`)
	clients := make([]tenantsync.Client, len(names))
	for i, n := range names {
		clients[i] = tenantsync.Client{ID: n, Name: n}
	}
	s, err := NewSuggester(clients, nil, SuggestConfig{})
	require.NoError(t, err)
	assert.Empty(t, s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Harbour Shipping"}).Candidates, "a word sixty clients use says nothing")
}

// A Russian company's acronym is read from its Russian name, which its English name
// translates: "plant" is "zavod" ("BAZ", Bryanskii Avtomobilnyi Zavod), "machine building" one
// word ("AMZ"), "all-Russian" "vserossiiskii" ("VNIIEF").
func TestInitialsReadInRussian(t *testing.T) {
	t.Parallel()
	catalogue := []string{
		"JOINT STOCK COMPANY BRYANSK AUTOMOBILE PLANT", "JOINT STOCK COMPANY ARZAMAS MACHINE BUILDING PLANT",
		"PUBLIC JOINT STOCK COMPANY AMURSKY SHIPBUILDING PLANT", "ALL-RUSSIAN SCIENTIFIC RESEARCH INSTITUTE OF EXPERIMENTAL PHYSICS",
		"BRYANSK AUTOMOBILE COMPANY", "ARZAMAS MACHINE COMPANY", "KOVROV ELECTROMECHANICAL PLANT",
	}
	for tenant, want := range map[string]string{
		"AO BAZ":   "c0",
		"AO AMZ":   "c1",
		"PJSC ASZ": "c2",
		"VNIIEF":   "c3",
		"KEMZ":     "c6",
	} {
		best := suggestTop(t, tenant, catalogue...)
		assert.Equal(t, want, best.ClientID, tenant)
		assert.Contains(t, best.Signals[0].Detail, "read in Russian", tenant)
	}
	best := suggestTop(t, "AO BAZ", catalogue...)
	assert.Contains(t, best.Signals[0].Detail, `"plant" as "zavod"`)
	ri, _ := russianInitials(strings.Fields("bryansk automobile group"))
	assert.Empty(t, ri, "a name without a word Russian acronyms read otherwise has no Russian initials")
	ri, read := russianInitials(strings.Fields("design bureau of special machine building"))
	assert.Equal(t, []string{"kbsm"}, ri)
	assert.Len(t, read, 2)
}

// Three or more single letters written with spaces are one word, as with dots; two letters
// stay apart (a person's initials, or a form: "J R Smith", "P C Jones"), and so does a run with
// a conjunction inside ("J y M") or spelling a legal form ("S P A"). Letters "&" joins compare
// as one word too ("J&B" and "JB").
func TestSpacedLettersAreOneWord(t *testing.T) {
	t.Parallel()
	for spaced, joined := range map[string]string{
		"A T S Heavy Equipment Trading LLC": "ATS Heavy Equipment Trading LLC",
		"Smith B C D Ltd":                   "Smith BCD Ltd",
	} {
		assert.Equal(t, parseName(joined).full.tokens, parseName(spaced).full.tokens, spaced)
	}
	for name, toks := range map[string][]string{
		"Commissariat à l'Énergie Atomique": {"commissariat", "a", "l", "energie", "atomique"},
		"J R Smith Plumbing":                {"j", "r", "smith", "plumbing"},
		"P C Jones Electrical":              {"p", "c", "jones", "electrical"},
		"Transportes J y M":                 {"transportes", "j", "y", "m"},
		"Ferro S P A":                       {"ferro"},
		"AT&T":                              {"at", "and", "t"},
	} {
		assert.Equal(t, toks, parseName(name).full.tokens, name)
	}
	best := suggestTop(t, "ATS HEAVY EQUIPMENT", "A T S HEAVY EQUIPMENT AND MACHINERY SPARE PARTS TRADING LLC", "AI TI SI CO", "HEAVY EQUIPMENT RENTALS")
	assert.Equal(t, "c0", best.ClientID)
	assert.Equal(t, "c0", suggestTop(t, "JRS Plumbing", "J R Smith Plumbing", "JRS Roofing").ClientID, "a person's spaced initials are read")
	assert.Equal(t, "c0", suggestTop(t, "J&B Plumbing", "JB Plumbing Supplies", "James Brown Plumbing").ClientID, "the same letters as written before any person's initials")
	assert.Equal(t, "c0", suggestTop(t, "J&B Plumbing", "J B Plumbing and Heating", "James Brown Plumbing").ClientID)
	assert.Equal(t, "c0", suggestTop(t, "Transportes J y M", "Transportes J&M S.L.", "Transportes Jiménez S.L.", "Transportes JMR S.L.").ClientID)
}

// Letters joined by "&" are initials of the other name's words ("PSB I&I" and "PSB
// Innovations and Investments"), a reading like any other initials.
func TestLettersJoinedByAndReadAsInitials(t *testing.T) {
	t.Parallel()
	names := []string{"PSB INNOVATIONS AND INVESTMENTS LIMITED LIABILITY COMPANY", "KISH P AND I CLUB", "PSB-FOREKS OOO",
		"Smith Research and Development Ltd", "Smith Roofing Ltd"}
	for tenant, want := range map[string]string{"PSB I&I LLC": "c0", "PSB I AND I LLC": "c0", "Smith R&D Ltd": "c3"} {
		best := suggestTop(t, tenant, names...)
		assert.Equal(t, want, best.ClientID, tenant)
		assert.Contains(t, best.Signals[0].Detail, "read as the initials of", tenant)
	}
	assert.Contains(t, suggestTop(t, "PSB I&I LLC", names...).Signals[0].Detail, `"i&i" read as the initials of "innovations and investments"`)
	assert.Equal(t, []string{"psb", "ii", "llc"}, joinedLetters([]string{"psb", "i", "and", "i", "llc"}))
	assert.Equal(t, []string{"abc"}, joinedLetters([]string{"a", "and", "b", "and", "c"}))
	assert.Nil(t, joinedLetters([]string{"bank", "and", "trust"}))
	// Two letters still need a word the names share besides: "R&D" alone is the initials of
	// some two words of too many names.
	m := compareNames(ptr(parseName("R&D Solutions")), ptr(parseName("Red Dune Partners")), nil)
	assert.Less(t, m.sim, DefaultMinNameSim, m.why)
	m = compareNames(ptr(parseName("R&D Partners")), ptr(parseName("Red Dune Partners")), nil)
	assert.True(t, m.reading, m.why)
}

func ptr[T any](v T) *T { return &v }

// A rare word of three letters shared ("MMK Turkey", "MMK Metalurji …") shows the client;
// the Russian "i" ("and") gives no letter to a transliterated name's initials.
func TestShortRareWordsAndRussianAnd(t *testing.T) {
	t.Parallel()
	names := []string{"MMK METALURJI SANAYI TICARET VE LIMAN ISLETMECILIGI ANONIM SIRKETI",
		"OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTIU TEKHNOLOGICHESKIE SISTEMY I SERVIS"}
	for i := range 60 {
		names = append(names, "Filler "+string(rune('a'+i%26))+string(rune('a'+i/26))+" Shipping Trading")
	}
	best := suggestTop(t, "MMK TURKEY", names...)
	assert.Equal(t, "c0", best.ClientID)
	assert.Contains(t, best.Signals[0].Detail, `the rare first word "mmk" shared`)
	best = suggestTop(t, "OOO TSS", names...)
	assert.Equal(t, "c1", best.ClientID)
	assert.Equal(t, "tss", translitInitials([]string{"tekhnologicheskie", "sistemy", "i", "servis"}))
	assert.Empty(t, translitInitials([]string{"technology", "systems", "services"}), "nothing read otherwise: the plain initials say it")
}

// A Russian name puts the word for what an organisation is first, or after a place, where
// English puts it last: "MZKT" is Minskii Zavod Kolesnykh Tyagachei, the Minsk Wheel Tractor
// Plant. Read so, initials score a little less than in order.
func TestRussianInitialsInRussianOrder(t *testing.T) {
	t.Parallel()
	catalogue := []string{
		"MINSK WHEEL TRACTOR PLANT", "KAZAN SYNTHETIC RUBBER PLANT JSC", "JOINT STOCK COMPANY ASTRONOMICAL SCIENTIFIC CENTER",
		"MINISTRY OF STATE SECURITY", "MINSK TRACTOR WORKS GROUP", "KAZAN STEEL COMPANY",
	}
	for tenant, want := range map[string]string{"OJSC MZKT": "c0", "OAO KZSK": "c1", "AO ANTS": "c2", "MGB": "c3"} {
		best := suggestTop(t, tenant, catalogue...)
		assert.Equal(t, want, best.ClientID, tenant)
		assert.Contains(t, best.Signals[0].Detail, "read in Russian", tenant)
	}
	assert.Contains(t, suggestTop(t, "OJSC MZKT", catalogue...).Signals[0].Detail, "the word for what it is first")
	ri, _ := russianInitials(strings.Fields("minsk wheel tractor plant"))
	assert.Equal(t, []string{"mktz", "zmkt", "mzkt"}, ri)
}

// Initials kept with their stop words are read without the place a name ends with ("DVL",
// "Da Vinci Labs (France)"), and a name opening with "the" goes by initials that take it in
// ("TWP", "The Wildlife Project"): both found, for a person to confirm.
func TestInitialsWithoutPlacesAndWithArticle(t *testing.T) {
	t.Parallel()
	s, err := NewSuggester([]tenantsync.Client{
		{ID: "dvl", Name: "Da Vinci Labs (France)"},
		{ID: "twp", Name: "The Wildlife Project (United States)"},
		{ID: "other", Name: "Vinci Logistics"},
	}, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{"DVL": "dvl", "TWP": "twp"} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != want || sg.AutoAccept {
			t.Errorf("%s: candidates %+v (auto %v), want %s first, for a person", tenant, sg.Candidates, sg.AutoAccept, want)
		}
	}
}

// A word with capitals inside gives a letter for each ("GSK" for "GlaxoSmithKline plc"), and a
// one-word acronym in mixed case is read by its capitals ("PwC", PricewaterhouseCoopers;
// "EnBW", Energie Baden-Württemberg): readings a person confirms. A surname's prefix is no
// word of its own ("McKinsey"), and a name in one case has no such capitals.
func TestCapitalsInsideWords(t *testing.T) {
	t.Parallel()
	s, err := NewSuggester([]tenantsync.Client{
		{ID: "pwc", Name: "PricewaterhouseCoopers LLP"},
		{ID: "gsk", Name: "GlaxoSmithKline plc"},
		{ID: "enbw", Name: "Energie Baden-Württemberg AG"},
		{ID: "mck", Name: "McKinsey Global Institute"},
		{ID: "apple", Name: "Apple Inc."},
	}, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{"PwC": "pwc", "GSK": "gsk", "EnBW": "enbw"} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != want || sg.AutoAccept {
			t.Errorf("%s: candidates %+v (auto %v), want %s first, for a person", tenant, sg.Candidates, sg.AutoAccept, want)
		}
	}
	for _, tenant := range []string{"MKGI", "PC", "Pc"} {
		if sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant}); len(sg.Candidates) > 0 {
			t.Errorf("%s: candidates %+v, want none", tenant, sg.Candidates)
		}
	}
	for name, want := range map[string]string{"GlaxoSmithKline plc": "gsk", "PricewaterhouseCoopers": "pc", "McKinsey Global Institute": "", "Apple Inc.": "", "BridgeBio Oncology (US)": "bbo"} {
		if got := camelInitials(name); got != want {
			t.Errorf("camelInitials(%q) = %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{"PwC": "pc", "GfK": "gk", "EnBW": "ebw", "IBM": "", "Apple": "", "BridgeBio": ""} {
		if got := acronymCapitals(name); got != want {
			t.Errorf("acronymCapitals(%q) = %q, want %q", name, got, want)
		}
	}
}

// A place after a name is no part of its initials: "DSI" is Dynasplint Systems, Inc., not
// "Dicofarm SpA (Italy)", and "CSI" is not "CellPly S.r.l. (Italy)".
func TestInitialsLeaveOutAClosingPlace(t *testing.T) {
	t.Parallel()
	s, err := NewSuggester([]tenantsync.Client{
		{ID: "dsi", Name: "Dynasplint Systems, Inc. (United States)"},
		{ID: "dicofarm", Name: "Dicofarm SpA (Italy)"},
		{ID: "cellply", Name: "CellPly S.r.l. (Italy)"},
	}, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "DSI"})
	if len(sg.Candidates) != 1 || sg.Candidates[0].ClientID != "dsi" || sg.AutoAccept {
		t.Errorf("DSI: candidates %+v (auto %v), want Dynasplint Systems alone, for a person", sg.Candidates, sg.AutoAccept)
	}
	if sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "CSI"}); len(sg.Candidates) > 0 {
		t.Errorf("CSI: candidates %+v, want none", sg.Candidates)
	}
}

// Words for a kind of organisation in other languages are one word, and so are the forms
// closing a name ("Michelin et Cie", "Michelin and Company"; "Durand Cie", "Durand & Cie");
// "Cie" opening a name is read as "Compagnie", a reading, since "CIE" may be initials: "Cie
// Nationale du Rhône" finds "Compagnie Nationale du Rhône" before "CRIE Inc.", for a person.
func TestKindsInOtherLanguagesAndAbbreviated(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"Michelin et Cie", "Michelin and Company"},
		{"Durand Cie", "Durand & Cie"},
		{"Technische Universität Darmstadt", "Technical University Darmstadt"},
	} {
		q, cl := parseName(c[0]), parseName(c[1])
		if m := compareNames(&q, &cl, nil); m.sim < 0.95 {
			t.Errorf("compareNames(%q, %q) = %.2f (%s), want the same name", c[0], c[1], m.sim, m.why)
		}
	}
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Cie Nationale du Rhône"}, []tenantsync.Client{
		{ID: "cnr", Name: "Compagnie Nationale du Rhône"}, {ID: "crie", Name: "CRIE Inc."},
	}, nil)
	if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != "cnr" || sg.AutoAccept {
		t.Fatalf("candidates %+v (auto %v), want Compagnie Nationale du Rhône first, for a person", sg.Candidates, sg.AutoAccept)
	}
	if d := sg.Candidates[0].Signals[0].Detail; !strings.Contains(d, `"cie" read as "company"`) || strings.Contains(d, "tell them apart") {
		t.Errorf("evidence %q, want \"cie\" read as \"company\", and no word telling them apart", d)
	}
}
