package match

import (
	"cmp"
	"slices"
	"strings"
)

// tradeWords spell in English the words names use in other languages for what an organisation
// does, makes or is, beyond the kinds sameWord holds, and a few words that go with them ("new",
// "first", "northern"): "Minskii Avtomobilnyi Zavod" and "Minsk Automobile Plant", "OOO Sberbank
// Strakhovanie" and "Sberbank Insurance", "Sanaye Mokhaberat Iran" and "Iran Communication
// Industries" then share those words. Some are the names companies go by too ("Almaz",
// "Sistema", "Soyuz"), so names are compared as written first and a match as written is kept
// (see compareNames); a match only this reading makes is a reading, and a domain label spells
// the name as written. A name that does not read as foreign (see readsTrade) is never read.
//
// A word ending in "+" is a Russian adjective's stem and one ending in "*" a Russian noun's;
// each is read with the endings Russian inflects it with (see russianAdjEndings and
// russianNounEndings), spelled as translitKey compares them, so "severnyi", "severnaya" and
// "severnoye" are one word. An adjective's stem is never read without an ending: "Severn" is
// a river. Any other word is read as written.
var tradeWords = map[string][]string{
	// Russian, as transliterated.
	"plant":         {"zavod*", "factory", "factories"},
	"shipyard":      {"verfi", "verfey", "verfyu"},
	"shipbuilding":  {"sudostroitel+", "sudostroeni*"},
	"machine":       {"mashin*"},
	"research":      {"issledovatelsk+", "issledovani*", "nauchnoissledovatelsk+"},
	"scientific":    {"nauchn+"},
	"production":    {"proizvodstv*", "proizvodstvenn+", "tolid", "tolidi"},
	"association":   {"obyedineni*", "obedineni*", "obiedineni*"},
	"united":        {"obyedinenn+", "obedinenn+"},
	"enterprise":    {"predpriyati*"},
	"design":        {"konstruktorsk+", "proektn+"},
	"bureau":        {"byuro", "biuro", "buro"},
	"state":         {"gosudarstvenn+"},
	"international": {"mezhdunarodn+"},
	"national":      {"natsionaln+", "natsyyaln+"},
	"consulting":    {"konsalting*", "konsaltingov+"},
	"finance":       {"finans", "finansy"},
	"federal":       {"federaln+"},
	"central":       {"tsentraln+"},
	"unitary":       {"unitarn+"},
	"financial":     {"finansov+"},
	"information":   {"informatsionn+"},
	"system":        {"sistem*"},
	"commercial":    {"kommerchesk+"},
	"credit":        {"kreditn+"},
	"pension":       {"pensionn+"},
	"sports":        {"sportivn+"},
	"northern":      {"severn+"},
	"southern":      {"yuzhn+"},
	"eastern":       {"vostochn+"},
	"western":       {"zapadn+"},
	"marine":        {"morsk+", "daryaei", "daryayi"},
	"river":         {"rechn+"},
	"fleet":         {"flot*"},
	"airlines":      {"avialini*", "aerolineas"},
	"automobile":    {"avtomobil*", "avtomobiln+"},
	"tractor":       {"traktorn+"},
	"engine":        {"dvigatel*"},
	"instrument":    {"pribor*"},
	"communication": {"svyaz*", "mokhaberat", "mokhaberati"},
	"space":         {"kosmichesk+"},
	"rocket":        {"raketn+"},
	"armament":      {"vooruzheni*"},
	"defense":       {"oboron*", "oboronn+", "savunma"},
	"military":      {"voenn+", "voenno"},
	"industrial":    {"promyshlenn+"},
	"industries":    {"sanaye", "sanayi", "sanaat", "sanayee", "sinaat"},
	"chemical":      {"khimichesk+"},
	"oil":           {"neft*", "neftyan+", "naft"},
	"gas":           {"gazov+"},
	"energy":        {"energetichesk+", "enerji"},
	"power":         {"silov+"},
	"coal":          {"ugoln+", "ugol"},
	"gold":          {"zolot*"},
	"diamond":       {"almaz*"},
	"pipe":          {"trubn+"},
	"construction":  {"stroitelstv*", "stroiteln+", "sakhteman", "sakhtemani", "insaat", "construcciones", "constructora", "construtora", "costruzioni"},
	"engineering":   {"inzhenern+", "inzhiniring*", "inzhiniringov+", "mohandesi", "muhendislik", "ingenieria", "engenharia", "ingegneria", "ingenierie"},
	"development":   {"razviti*", "toseh", "towse", "tanmiya", "tanmia", "desarrollo", "desarrollos", "desenvolvimento", "developpement", "entwicklung", "sviluppo", "ontwikkeling"},
	"investment":    {"investitsionn+", "investitsi*", "yatirim", "inversiones", "investimentos", "investissements", "investimenti"},
	"management":    {"upravlyayushch+", "menedzhment", "menedzhmenta"},
	"savings":       {"sberegateln+"},
	"insurance":     {"strakhov+", "strakhovani*", "strahovani*", "bimeh", "sigorta", "seguros", "seguradora", "versicherung", "versicherungen", "assicurazioni", "verzekeringen", "verzekering"},
	"leasing":       {"lizing*", "lizingov+"},
	"trading":       {"torgov+"},
	"trade":         {"torgovl*", "bazargani", "tejarat", "tejarati", "tijara", "tijaria", "tijariya", "ticaret", "comercializadora"},
	"exchange":      {"birzh*", "sarafi"},
	"key":           {"klyuchev+"},
	"technology":    {"tekhnologi*", "tekhnologichesk+", "fanavari"},
	"payment":       {"platezhn+"},
	"first":         {"perv+"},
	"new":           {"novyy", "novyi", "novy", "novaya", "novoe", "novoye", "novye", "novyye", "novogo", "novykh"},
	"special":       {"osob+", "spetsialn+"},
	"economic":      {"ekonomichesk+", "ekonomik*"},
	"heavy":         {"tyazhel+"},
	"precision":     {"tochn+"},
	"nuclear":       {"yadern+"},
	"helicopter":    {"vertolet*", "vertoletn+"},
	"aircraft":      {"samolet*", "samoletostroitel+"},
	"repair":        {"remontn+"},
	"railway":       {"zheleznodorozhn+"},
	"agricultural":  {"selskokhozyaystvenn+"},
	"food":          {"pishchev+", "alimentos", "alimentaire", "alimentari", "lebensmittel", "gida"},
	"public":        {"obshchestvenn+"},
	"union":         {"soyuz*", "ittihad"},
	"hospital":      {"bolnits*"},
	"service":       {"sluzhb*"},
	"agency":        {"agentstv*"},
	"ministry":      {"ministerstv*"},
	"committee":     {"komitet*", "kamitet*", "lajna", "lajnat"},
	"organization":  {"sazman", "sazeman", "munazzamat", "munazamat", "munazzama"},
	"society":       {"jamiat", "jamiyat", "jamiyya", "jamiya", "jameat"},
	"charitable":    {"khayriyya", "khairiya", "khayriya", "khayriyah", "khairiyah", "khairia"},
	"islamic":       {"islamiyya", "islamiya", "islamia", "islamiyah"},
	"movement":      {"harakat", "harakah"},
	"front":         {"jabhat", "jabha"},
	"army":          {"jaysh", "jaish", "jeish"},
	"party":         {"hizb"},
	"council":       {"majlis"},
	// Other European languages.
	"mining":     {"minera", "mineracao", "bergbau", "madencilik"},
	"shipping":   {"naviera", "navegacao", "navigazione", "reederei", "scheepvaart", "kashtirani"},
	"steel":      {"acero", "acier", "acciaio", "foolad", "fulad"},
	"pharmacy":   {"farmacia", "pharmacie", "apotheke", "apotheek"},
	"bakery":     {"panaderia", "boulangerie", "backerei", "panificio", "padaria"},
	"church":     {"iglesia", "eglise", "kirche", "chiesa", "igreja"},
	"transport":  {"transportes", "transporte", "trasporti"},
	"automotive": {"otomotiv"},
}

// russianAdjEndings are the endings of a Russian adjective, as transliterated: "-yy", "-aya",
// "-oye", "-ogo", "-ykh" and the rest, and "-o" that joins it to the next word
// ("nauchno-proizvodstvennoe").
var russianAdjEndings = []string{"y", "yy", "yi", "iy", "ii", "ij", "yj", "i", "aya", "aja", "ia", "oye", "oe", "oj", "oy", "oi",
	"ogo", "ego", "omu", "ykh", "ikh", "yye", "ye", "ie", "iye", "uyu", "ym", "im", "ymi", "imi", "o", "ei", "ey"}

// russianNounEndings are the endings of a Russian noun, as transliterated, the bare stem
// included.
var russianNounEndings = []string{"", "a", "y", "i", "u", "e", "o", "ya", "yu", "ye", "ie", "iye", "ii", "iya", "iyu", "ia", "iu",
	"om", "ov", "ami", "akh", "ey", "ei", "oy", "oi", "em", "yam", "yakh"}

// tradeWordsExact and tradeStems hold tradeWords by word as written and by stem (its
// translitKey), and tradeStemMin is the length of the shortest stem's key.
var (
	tradeWordsExact = map[string]string{}
	tradeStems      = map[string]tradeStem{}
	tradeStemMin    = 0
)

// tradeStem is an entry of tradeStems: the English word and whether the stem is an adjective's.
type tradeStem struct {
	english string
	adj     bool
}

// endingKeys are the translitKeys of russianAdjEndings and russianNounEndings, shortest first
// (so tradeWord tries the longest stem first), each saying which kind of stem takes it.
var endingKeys []endingKey

type endingKey struct {
	key       string
	adj, noun bool
}

func init() {
	for en, ws := range tradeWords {
		en = vowelCanon(en)
		for _, w := range ws {
			switch {
			case strings.HasSuffix(w, "+"), strings.HasSuffix(w, "*"):
				k := translitKey(w[:len(w)-1])
				tradeStems[k] = tradeStem{english: en, adj: strings.HasSuffix(w, "+")}
				if tradeStemMin == 0 || len(k) < tradeStemMin {
					tradeStemMin = len(k)
				}
			default:
				tradeWordsExact[w] = en
			}
		}
	}
	ends := map[string]*endingKey{}
	for _, set := range []struct {
		es  []string
		adj bool
	}{{russianAdjEndings, true}, {russianNounEndings, false}} {
		for _, e := range set.es {
			k := translitKey(e)
			if ends[k] == nil {
				ends[k] = &endingKey{key: k}
			}
			if set.adj {
				ends[k].adj = true
			} else {
				ends[k].noun = true
			}
		}
	}
	for _, e := range ends {
		endingKeys = append(endingKeys, *e)
	}
	slices.SortFunc(endingKeys, func(a, b endingKey) int {
		return cmp.Or(cmp.Compare(len(a.key), len(b.key)), strings.Compare(a.key, b.key))
	})
}

// tradeWord returns the English word of tradeWords t is, if any. Of the stems t may be read as,
// the longest is taken: "obyedinenie" is an association, "obyedinennaya" united.
func tradeWord(t string) (string, bool) {
	if en, ok := tradeWordsExact[t]; ok {
		return en, true
	}
	if len(t) < tradeStemMin || t[0] >= 0x80 {
		return "", false
	}
	k := translitKey(t)
	// Shortest ending first is the longest stem first.
	for _, e := range endingKeys {
		if len(k)-len(e.key) < tradeStemMin {
			break
		}
		if !strings.HasSuffix(k, e.key) {
			continue
		}
		if s, ok := tradeStems[k[:len(k)-len(e.key)]]; ok && (s.adj && e.adj || !s.adj && e.noun) {
			return s.english, true
		}
	}
	return "", false
}

// readsTrade reports whether the words of a name (toks, as folded; words, its legal forms
// included) are read through tradeWords: two of them are words of tradeWords read as another
// word, or one is, beside a Russian legal form. One word alone is not enough: "zavod" is an
// institute in Slovenian ("Zavod Sonce"), "zawody" competitions in Polish, and an English
// name's word may be another language's ("Transportes", a Spanish name's).
func readsTrade(toks, words []string) bool {
	n := 0
	for _, t := range toks {
		if en, ok := tradeWord(t); ok && en != canonToken(t) {
			n++
		}
	}
	switch {
	case n >= 2:
		return true
	case n == 0:
		return false
	}
	return slices.ContainsFunc(words, func(w string) bool { return russianLegalWords[canonToken(w)] })
}
