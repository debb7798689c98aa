package match

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantsync/tenantsync"
)

func TestRomanize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"アルパイン", "arupain"},
		{"タンガロイ", "tangaroi"},
		{"クリスタージュ", "kurisutaaju"},
		{"サムコ", "samuko"},
		{"キャノン", "kyanon"},
		{"シャープ", "shaapu"},
		{"フィルム", "firumu"},
		{"ニッポン", "nippon"},
		{"かんろ", "kanro"},
		{"툴젠", "tuljen"},
		{"삼성", "samseong"},
		{"UDトラックス", "udtorakkusu"},
		// Latin letters by their names: a whole word of them, or two or more opening one.
		{"エスシーアイ", "sci"},
		{"ジェイ・エム・エス", "j m s"},
		{"エスアイテック", "sitekku"},
		{"アイホン", "aihon"},
		{"エーディア", "eedia"},
	} {
		got, ok := romanize(foldName(c.in))
		if !ok || got != c.want {
			t.Errorf("romanize(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	// Han needs a dictionary; a half-romanised name would compare as something it is not.
	for _, in := range []string{"霧島酒造", "トヨタ自動車", "Sony"} {
		if got, ok := romanize(foldName(in)); ok {
			t.Errorf("romanize(%q) = %q, want no romanisation", in, got)
		}
	}
}

func TestSoundKey(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"alpine", "arupain"}, {"tungaloy", "tangaroi"}, {"crystage", "kurisutaaju"}, {"samco", "samuko"},
		{"toolgen", "tuljen"}, {"samsung", "samseong"}, {"clealinktechnology", "kurearinkutekunorojii"},
		// English as katakana hear it: a silent r, the n of "ン", "tion" as "shon".
		{"alliedlasers", "araidoreezaa"}, {"moonstar", "muunsutaa"}, {"ambitionphotonics", "anbishonfotonikusu"},
	} {
		if a, b := soundKey(c[0]), soundKey(c[1]); a != b {
			t.Errorf("soundKey(%q) = %q, soundKey(%q) = %q; want them equal", c[0], a, c[1], b)
		}
	}
	for _, c := range [][2]string{{"sony", "canon"}, {"nipro", "nipo"}} {
		if a, b := soundKey(c[0]), soundKey(c[1]); a == b {
			t.Errorf("soundKey: %q and %q both %q", c[0], c[1], a)
		}
	}
}

// Short names whose consonants say too little compare by their spelling, vowels kept.
func TestSpellKey(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"naiki", "naiki"}, {"samco", "samuko"}, {"crie", "kurie"}, {"rohm", "roomu"}, {"topura", "toopura"},
		{"chino", "chinoo"}, {"eidia", "eedia"}, {"noritz", "nooritsu"},
	} {
		if a, b := spellKey(c[0]), spellKey(c[1]); a != b {
			t.Errorf("spellKey(%q) = %q, spellKey(%q) = %q; want them equal", c[0], a, c[1], b)
		}
	}
	for _, c := range [][2]string{{"naiki", "nike"}, {"dainen", "dynon"}, {"sugiyo", "sugino"}} {
		if a, b := spellKey(c[0]), spellKey(c[1]); a == b {
			t.Errorf("spellKey: %q and %q both %q", c[0], c[1], a)
		}
	}
}

// Japanese, Korean and Chinese legal forms are stripped like any other, though these scripts
// write no spaces.
func TestCJKLegalForms(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"株式会社タンガロイ", "タンカ\u3099ロイ"}, {"霧島酒造株式会社", "霧島酒造"}, {"㈱サムコ", "サムコ"},
		{"有限会社マグネオ技研", "マグネオ技研"}, {"삼성전자 주식회사", "삼성전자"}, {"云从科技集团股份有限公司", "云从科技集团"},
		{"北京科兴生物制品有限公司", "北京科兴生物制品"},
		// English legal forms and places written in katakana.
		{"マチダコーポレーション株式会社", "マチダ"}, {"株式会社おやつカンパニー", "おやつ"}, {"キャタピラージャパン", "キャタピラー (Japan)"},
	} {
		if got := NormalizeCompanyName(c[0]); got != NormalizeCompanyName(c[1]) {
			t.Errorf("NormalizeCompanyName(%q) = %q, want %q", c[0], got, NormalizeCompanyName(c[1]))
		}
	}
}

// A tenant named in katakana finds the client with the Latin name it spells, by sound: a
// hint a person confirms, never an automatic acceptance, even with contacts on the tenant's
// domain.
func TestSuggestBySound(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "c1", Name: "Alpine Electronics, Inc."},
		{ID: "c2", Name: "Tungaloy Corporation"},
		{ID: "c3", Name: "Canon Inc."},
		{ID: "c4", Name: "サムコ株式会社"},
		{ID: "c5", Name: "株式会社エスシーアイ"},
		{ID: "c6", Name: "Naiki Co., Ltd."},
		{ID: "c7", Name: "Nike Inc."},
	}
	contacts := []tenantsync.Contact{{ID: "p1", ClientID: "c2", Email: "a@tungaloy.co.jp"}}
	s, err := NewSuggester(clients, contacts, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant tenantsync.Tenant
		want   string
	}{
		{tenantsync.Tenant{ID: "t1", DisplayName: "アルパイン株式会社"}, "c1"},
		{tenantsync.Tenant{ID: "t2", DisplayName: "株式会社タンガロイ", DefaultDomain: "tungaloy.co.jp"}, "c2"},
		{tenantsync.Tenant{ID: "t3", DisplayName: "Samco Inc."}, "c4"},
		{tenantsync.Tenant{ID: "t4", DisplayName: "SCI Co., Ltd."}, "c5"},
		{tenantsync.Tenant{ID: "t5", DisplayName: "株式会社ナイキ"}, "c6"},
	} {
		sg := s.Suggest(c.tenant)
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != c.want {
			t.Fatalf("%s: candidates %+v, want %s first", c.tenant.DisplayName, sg.Candidates, c.want)
		}
		best := sg.Candidates[0]
		if sg.AutoAccept || best.Confidence > ScoreName*soundSimMax+0.1 && !hasEvidence(best, EvidenceContactDomain) {
			t.Errorf("%s: auto-accepted %v at %.2f by sound: %s", c.tenant.DisplayName, sg.AutoAccept, best.Confidence, sg.Reason)
		}
		if !hasEvidence(best, EvidenceNameSound) || !strings.Contains(best.Signals[len(best.Signals)-1].Detail+best.Signals[0].Detail, "sounds alike") {
			t.Errorf("%s: no sound evidence in words: %+v", c.tenant.DisplayName, best.Signals)
		}
	}
}

// Initials that take in the legal form are a hint.
func TestLegalFormInitials(t *testing.T) {
	t.Parallel()
	if got := NameSimilarity("IBMC", "International Business Machines Corporation"); got != readingMax {
		t.Errorf("NameSimilarity(IBMC, …Corporation) = %.2f, want %.2f", got, readingMax)
	}
	if got := NameSimilarity("IBM Corp", "International Business Machines Corporation"); got != readingMax {
		t.Errorf("NameSimilarity(IBM Corp, …) = %.2f, want the initials' %.2f", got, readingMax)
	}
	if got := NameSimilarity("PPMC", "Patriot Private Military Company"); got != readingMax {
		t.Errorf("NameSimilarity(PPMC, Patriot Private Military Company) = %.2f, want %.2f", got, readingMax)
	}
}

// A short word that spells the initials of a run of the other name's words, legal form
// included, lets the names compare as if written out.
func TestPartialAcronym(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"ISIS-WA", "ISIS-WEST AFRICA"},
		{"PERALTA DTO", "CESAR PERALTA DRUG TRAFFICKING ORGANIZATION"},
		{"PATRIOT PMC", "PATRIOT PRIVATE MILITARY COMPANY"},
	} {
		pa, pb := parseName(c[0]), parseName(c[1])
		m := compareNames(&pa, &pb, nil)
		if m.sim < DefaultMinNameSim || !strings.Contains(m.why, "read as the initials of") {
			t.Errorf("compareNames(%q, %q) = %.2f (%s), want a partial-acronym match", c[0], c[1], m.sim, m.why)
		}
	}
	if got, _ := expandAcronym([]string{"acme", "xyz"}, []string{"acme", "corp"}, []string{"acme", "corp"}); got != nil {
		t.Errorf("expandAcronym found initials that are not there: %v", got)
	}
}

// A word made of the starts of the other name's words, as sanctions lists abbreviate
// transliterated names.
func TestSyllableAcronym(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"IRALCO", "IRAN ALUMINUM COMPANY"},
		{"KOGEN", "KOREA GENERAL CORPORATION FOR EXTERNAL CONSTRUCTION"},
		{"PASCO", "PASARGAD STEEL COMPLEX"},
	} {
		pa, pb := parseName(c[0]), parseName(c[1])
		m := compareNames(&pa, &pb, nil)
		if m.sim < DefaultMinNameSim || m.sim > syllableSim || !strings.Contains(m.why, "first letters of the words") {
			t.Errorf("compareNames(%q, %q) = %.2f (%s), want a match by the starts of the words", c[0], c[1], m.sim, m.why)
		}
	}
	for _, c := range [][2]string{{"IAC", "IRAN ALUMINUM COMPANY"}, {"IRANX", "IRAN ALUMINUM COMPANY"}, {"KORE", "KOREA"}} {
		if n := spellsStarts(strings.ToLower(c[0]), strings.Fields(strings.ToLower(c[1])), 0, false); n != 0 {
			t.Errorf("spellsStarts(%q, %q) = %d, want 0", c[0], c[1], n)
		}
	}
}

// Names that open with the same rare word are shown to a person, however different the rest.
func TestSharedRareFirstWord(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{{ID: "brooks", Name: "Brooks Sports"}}
	for i := range 60 {
		clients = append(clients, tenantsync.Client{ID: "c" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Name: "Filler " + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " Trading"})
	}
	s, err := NewSuggester(clients, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "Brooks Running"})
	if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != "brooks" || sg.AutoAccept {
		t.Fatalf("candidates %+v (auto %v), want Brooks Sports first, for a person", sg.Candidates, sg.AutoAccept)
	}
	if d := sg.Candidates[0].Signals[0].Detail; !strings.Contains(d, `rare first word "brooks" shared`) {
		t.Errorf("evidence %q does not name the shared word", d)
	}
	// A common first word is no such hint.
	sg = s.Suggest(tenantsync.Tenant{ID: "t2", DisplayName: "Filler Zeta"})
	for _, c := range sg.Candidates {
		if strings.Contains(c.Signals[0].Detail, "rare first word") {
			t.Errorf("common first word taken as rare: %s", c.Signals[0].Detail)
		}
	}
}

func TestPartialAcronymSkipsStopWords(t *testing.T) {
	t.Parallel()
	got, run := expandAcronym([]string{"airbus", "ds"}, []string{"airbus", "defence", "and", "space", "gmbh"}, []string{"airbus", "defence", "and", "space", "gmbh"})
	if want := []string{"airbus", "defence", "and", "space"}; !slices.Equal(got, want) || run[1] != "defence and space" {
		t.Errorf("expandAcronym = %v, %q; want %v", got, run, want)
	}
	// A run broken by a word that does not fit is no run.
	if got, _ := expandAcronym([]string{"airbus", "ds"}, []string{"airbus", "defence", "systems"}, []string{"airbus", "defence", "systems"}); !slices.Equal(got, []string{"airbus", "defence", "systems"}) {
		t.Errorf("expandAcronym(airbus ds, airbus defence systems) = %v", got)
	}
	if got, _ := expandAcronym([]string{"airbus", "ds"}, []string{"airbus", "defence", "green", "space"}, []string{"airbus", "defence", "green", "space"}); got != nil {
		t.Errorf("expandAcronym across a word that does not fit = %v, want nil", got)
	}
}

// Korean names translate their kind of organisation in Latin ("우리은행", "Woori Bank"): the
// kind is read as the English word, the name compared by sound.
func TestKoreanKindWords(t *testing.T) {
	t.Parallel()
	if got, want := NormalizeCompanyName("우리은행"), NormalizeCompanyName("우리 Bank"); got != want {
		t.Errorf("NormalizeCompanyName(우리은행) = %q, want %q", got, want)
	}
	for _, c := range [][2]string{{"우리은행", "Woori Bank"}, {"하나은행", "Hana Bank"}} {
		pa, pb := parseName(c[0]), parseName(c[1])
		if m := compareNames(&pa, &pb, nil); !m.bySound || m.sim < 0.8 || m.sim > soundSimMax {
			t.Errorf("compareNames(%q, %q) = %.2f by sound %v (%s), want a sound match up to %.1f", c[0], c[1], m.sim, m.bySound, m.why, soundSimMax)
		}
	}
}

// A long word against a long name is not searched split by split: the answer stays quick.
func TestSyllableAcronymBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 40) + "z" // no split spells it: every split is tried
	other := strings.TrimSpace(strings.Repeat(strings.Repeat("a", 30)+" ", 40))
	pa, pb := parseName(long), parseName(other)
	done := make(chan struct{})
	go func() { compareNames(&pa, &pb, nil); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("compareNames of a long word against a long name took over 2 s")
	}
}

// Initials without generic words and trailing places; a leading country stays.
func TestPlainInitials(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"China National Building Material Group", "cnbm"},
		{"Merck Sharp & Dohme Austria", "msd"},
	} {
		if got := plainInitials(parseName(c[0]).full.tokens); got != c[1] {
			t.Errorf("plainInitials(%q) = %q, want %q", c[0], got, c[1])
		}
		if got := NameSimilarity(strings.ToUpper(c[1]), c[0]); got != readingMax {
			t.Errorf("NameSimilarity(%q, %q) = %.2f, want %.2f", c[1], c[0], got, readingMax)
		}
	}
}

// A word made of the starts of a client's words finds that client though it shares no word
// and no word's start with it.
func TestSyllableAcronymFound(t *testing.T) {
	t.Parallel()
	s, err := NewSuggester([]tenantsync.Client{{ID: "k", Name: "Korea Broadcast Advertising Corporation"}, {ID: "o", Name: "Other Name Ltd"}}, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "KOBACO"})
	if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != "k" || sg.AutoAccept {
		t.Fatalf("candidates %+v (auto %v), want Korea Broadcast Advertising Corporation, for a person", sg.Candidates, sg.AutoAccept)
	}
}

// One Russian, Farsi or Arabic word transliterated two ways is one word.
func TestSameTranslit(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"kholding", "holding"}, {"vympel", "vimpel"}, {"kamensky", "kamenskii"}, {"steerer", "stirer"},
		{"web3", "veb3"}, {"khateeb", "khatib"}, {"akvarius", "aqvarius"},
	} {
		if !sameTranslit(c[0], c[1]) || !sameTranslit(c[1], c[0]) {
			t.Errorf("sameTranslit(%q, %q) = false, want true", c[0], c[1])
		}
	}
	for _, c := range [][2]string{{"kamensky", "kamenska"}, {"holding", "folding"}, {"vimpel", "vimpex"}, {"stirer", "stir"}} {
		if sameTranslit(c[0], c[1]) {
			t.Errorf("sameTranslit(%q, %q) = true, want false", c[0], c[1])
		}
	}
	if got := NameSimilarity("FAM HOLDING", "FAM KHOLDING"); got < 0.9 {
		t.Errorf("NameSimilarity(FAM HOLDING, FAM KHOLDING) = %.2f, want at least 0.9", got)
	}
}

// Acronyms of transliterated Russian names keep a letter written with two Latin ones whole:
// a reading, which ranks below a name found whole.
func TestTranslitInitials(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"TSSD", "AKTSIONERNOYE OBSHCHESTVO TSENTR SUDOREMONTA DALZAVOD"},
		{"AKHK", "ALEKSINSKII KHIMICHESKII KOMBINAT"},
		{"DTSSS", "DALNEVOSTOCHNYY TSENTR SUDOSTROYENIYA I SUDOREMONTA"},
	} {
		pa, pb := parseName(c[0]), parseName(c[1])
		m := compareNames(&pa, &pb, nil)
		if m.sim != readingMax || !m.reading || !strings.Contains(m.why, "transliteration") {
			t.Errorf("compareNames(%q, %q) = %.2f (%s), want the transliterated initials", c[0], c[1], m.sim, m.why)
		}
	}
	if got := translitInitials([]string{"tsentr"}); got != "" {
		t.Errorf("translitInitials of one word = %q, want none", got)
	}
	if got := translitInitials([]string{"kazan", "synthetic", "rubber"}); got != "" {
		t.Errorf("translitInitials without a digraph = %q, want none", got)
	}
}

// A name sharing a word no other client has ranks above names sharing a word several clients
// have, however the lift for a shared rare word treats both (ROR's "Cemag Consulting" and
// "CEMAG Care"; "Fujirebio Diagnostics" and "Fujirebio US"), and above a name sharing two
// words a few clients have ("Cardi9 Health Services Provision" and "Universal Health
// Services").
func TestRarerSharedWordRanksFirst(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "cemag", Name: "CEMAG Care (France)"},
		{ID: "findmore", Name: "Findmore Consulting (Portugal)"},
		{ID: "oai", Name: "OAI Consulting (United States)"},
		{ID: "kma", Name: "KMA Consulting Ltd. (Saint Lucia)"},
		{ID: "mortality", Name: "Mortality Research & Consulting, Inc. (United States)"},
		{ID: "fujirebio", Name: "Fujirebio US (United States)"},
		{ID: "pockit", Name: "PocKit Diagnostics Ltd. (United Kingdom)"},
		{ID: "roche", Name: "Roche Diagnostics International AG (Switzerland)"},
		{ID: "abbott", Name: "Abbott Rapid Diagnostics (United States)"},
		{ID: "celtic", Name: "Celtic Molecular Diagnostics (South Africa)"},
		{ID: "cardi9", Name: "Cardi9 Prestação de Serviços de Saúde (Portugal)"},
		{ID: "uhs", Name: "Universal Health Services (United States)"},
		{ID: "hsrc", Name: "Health Services Research Center (Cyprus)"},
		{ID: "elona", Name: "Elona Health GmbH (Germany)"},
		{ID: "eko", Name: "Eko Health, Inc. (United States)"},
	}
	for i := range 60 {
		clients = append(clients, tenantsync.Client{ID: "c" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Name: "Filler " + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " Trading"})
	}
	s, err := NewSuggester(clients, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"Cemag Consulting": "cemag", "Fujirebio Diagnostics": "fujirebio", "Cardi9 Health Services Provision": "cardi9"} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: q})
		if len(sg.Candidates) < 2 || sg.Candidates[0].ClientID != want || sg.Candidates[1].Rank == 1 || sg.AutoAccept {
			t.Errorf("%q: candidates %+v (auto %v), want %s alone first, for a person", q, sg.Candidates, sg.AutoAccept, want)
		}
	}
}
