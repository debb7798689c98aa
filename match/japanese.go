package match

import (
	"cmp"
	"slices"
	"strings"
)

// Japanese company names are [name][kind][legal form] ("武藤工業株式会社", "ムトウ コウギョウ"
// read): the Latin name spells the name as it sounds and translates the kind ("Mutoh
// Industries Ltd."), or keeps it romanised ("Suzunaka Kogyo"). A family name is short, so its
// sound alone ("mutou") says too little; with the kind translated it says enough to show the
// client. Read in kana (or by the kanji dictionary), a name's first kind word is found by this
// table; its name before it is compared with the Latin words before a word the kind translates
// into, by brandKey.

// japaneseKinds maps the romanised reading of a word Japanese names use for what a company is
// ("kougyou", 工業) to the English words their Latin names translate it into: kinds only,
// never names. A Latin word is one of them as listed or with an s (see kindWord).
var japaneseKinds = map[string][]string{
	"kougyou":      {"industry", "industries", "industrial", "mining"},
	"juukougyou":   {"heavy"},
	"sangyou":      {"industry", "industries", "industrial"},
	"seisakusho":   {"works", "manufacturing", "mfg"},
	"seisakujo":    {"works", "manufacturing", "mfg"},
	"kougyousho":   {"works", "factory"},
	"seikousho":    {"works", "steel"},
	"zousen":       {"shipbuilding", "shipyard", "dockyard"},
	"zousensho":    {"shipyard", "shipbuilding", "dockyard"},
	"yakuhin":      {"pharmaceutical", "pharma"},
	"seiyaku":      {"pharmaceutical", "pharma"},
	"kagaku":       {"chemical", "chemistry", "science"},
	"kemikaru":     {"chemical"},
	"denki":        {"electric", "electrical"},
	"denkou":       {"electric", "electrical"},
	"denkikougyou": {"electric", "electrical"},
	"denshi":       {"electronic", "electronics"},
	"densen":       {"cable", "wire"},
	"kikai":        {"machinery", "machine"},
	"kouki":        {"machinery", "machine", "tool"},
	"kensetsu":     {"construction"},
	"koumuten":     {"construction", "builder", "building"},
	"kenzai":       {"building", "material"},
	"shouji":       {"trading", "trade"},
	"shoukai":      {"trading", "trade"},
	"bussan":       {"trading", "trade"},
	"boueki":       {"trading", "trade"},
	"shouten":      {"store", "shop", "trading"},
	"seimitsu":     {"precision"},
	"seiki":        {"precision"},
	"seikou":       {"precision"},
	"kenkyuusho":   {"research", "laboratory", "laboratories", "lab", "institute"},
	"kenkyuujo":    {"research", "laboratory", "laboratories", "lab", "institute"},
	"kenkyuukai":   {"research", "society", "association"},
	"gijutsu":      {"technology", "technologies", "tech", "engineering"},
	"giken":        {"engineering", "technical", "research", "tech"},
	"tekkou":       {"steel", "iron"},
	"seitetsu":     {"steel", "iron"},
	"seishi":       {"paper"},
	"bouseki":      {"spinning", "textile"},
	"unyu":         {"transport", "transportation", "logistics", "express"},
	"tsuuun":       {"transport", "transportation", "logistics", "express"},
	"kaiun":        {"shipping", "steamship", "line"},
	"koukuu":       {"airline", "airways", "aviation", "aero", "aerospace", "air"},
	"kuuyu":        {"airways", "air"},
	"ginkou":       {"bank"},
	"shouken":      {"securities"},
	"hoken":        {"insurance"},
	"seimei":       {"life"},
	"kaijou":       {"marine"},
	"shokuhin":     {"food"},
	"seihin":       {"product"},
	"shuzou":       {"brewery", "brewing", "sake", "distillery"},
	"jouzou":       {"brewery", "brewing"},
	"kaihatsu":     {"development"},
	"kougaku":      {"optical", "optics", "engineering"},
	"keiki":        {"instrument", "gauge", "meter"},
	"keisoku":      {"measurement", "measuring", "instrument"},
	"tsuushin":     {"communication", "communications", "telecom"},
	"housou":       {"broadcasting"},
	"shinbun":      {"newspaper"},
	"shuppan":      {"publishing", "publisher"},
	"insatsu":      {"printing"},
	"garasu":       {"glass"},
	"kinzoku":      {"metal"},
	"gomu":         {"rubber"},
	"jidousha":     {"motor", "automobile", "automotive", "auto"},
	"tetsudou":     {"railway", "railroad"},
	"denryoku":     {"power", "electric"},
	"gasu":         {"gas"},
	"sekiyu":       {"oil", "petroleum"},
	"kouryou":      {"flavor", "fragrance", "perfumery", "aromatic"},
	"seiyu":        {"oil"},
	"nyuugyou":     {"dairy", "milk"},
	"sekkei":       {"design", "engineering"},
	"kyoukai":      {"association", "society"},
	"kikou":        {"organization", "agency"},
	"seifun":       {"flour", "milling"},
	"seitou":       {"sugar"},
	"suisan":       {"fishery", "fisheries", "seafood", "marine"},
	"nougyou":      {"agriculture", "agricultural", "farm", "farming"},
	"semento":      {"cement"},
	"hiryou":       {"fertilizer", "fertiliser"},
	"souko":        {"warehouse"},
	"tosou":        {"paint", "painting", "coating"},
	"sanso":        {"oxygen"},
}

// japaneseKindWords are the words of japaneseKinds, and each reading as Latin names write it
// romanised with long vowels short ("kogyo", "seisakusho"): every word by which a Latin name
// translates or keeps a kind.
var japaneseKindWords = func() map[string]bool {
	m := map[string]bool{}
	for r, ws := range japaneseKinds {
		for _, w := range ws {
			m[w] = true
		}
		m[shortVowels(r)] = true
	}
	return m
}()

// kindWord returns the word of japaneseKindWords a Latin word is, as written or with an s
// ("metals", "motors"), "" for none: a word that only begins like one ("Electron",
// "Airedale") is none.
func kindWord(t string) string {
	if japaneseKindWords[t] {
		return t
	}
	if w, ok := strings.CutSuffix(t, "s"); ok && japaneseKindWords[w] {
		return w
	}
	return ""
}

// japaneseKindsLongest are the readings of japaneseKinds, longest first: a word ends with the
// longest kind it ends with ("juukougyou" before "kougyou").
var japaneseKindsLongest = func() []string {
	out := make([]string, 0, len(japaneseKinds))
	for r := range japaneseKinds {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return out
}()

// shortVowels spells a romanised reading as Latin names mostly do, long o and u short
// ("kougyou" is "kogyo", "kenkyuusho" "kenkyusho"), ei kept ("seisakusho", "Seiko").
func shortVowels(r string) string {
	return strings.NewReplacer("ou", "o", "uu", "u", "oo", "o").Replace(r)
}

// kindWords returns the words a romanised kind word is written by in Latin names, its
// translations and its short-vowel spelling, or nil when it is no kind.
func kindWords(r string) []string {
	ws, ok := japaneseKinds[r]
	if !ok {
		return nil
	}
	return append(slices.Clip(ws), shortVowels(r))
}

// minBrandKey is the fewest letters a name's brandKey needs beside a kind; minBrandOnlyKey
// without one.
const (
	minBrandKey     = 3
	minBrandOnlyKey = 5
)

// brandKey is a name's spelling key (spellKey), keeping an o after t or d ("satou" is
// "sato", never "SAT"; "mutou" and "Mutoh" are "mto", never "MT"), with voiced and unvoiced
// consonants one: the first consonant of a word joined to another is often voiced in Japanese
// ("丸高", "maru daka", is "Marutaka").
func brandKey(s string) string {
	k := []byte(spellKeyOf(s, false))
	out := k[:0]
	for _, c := range k {
		switch c {
		case 'd':
			c = 't'
		case 'g':
			c = 'k'
		}
		if n := len(out); n > 0 && out[n-1] == c {
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// scriptBrandKinds returns the keys a romanised Japanese name (its words rt) is compared with
// Latin names by: its name before its first kind word joined to each word its kinds are
// written by in Latin names ("mto|industry" for "mutou kougyou"), and its name alone ("mto|")
// when it says enough. A kind run into the name by the dictionary ("namurazousensho") is
// found at the end of a word. Nil when the name has no kind after a name.
func scriptBrandKinds(rt []string) []string {
	ws := splitFirstKind(rt)
	var out []string
	key := ""
	for i, r := range ws {
		kws := kindWords(r)
		if kws == nil {
			continue
		}
		if out == nil {
			if key = brandKey(strings.Join(ws[:i], "")); len(key) < minBrandKey {
				continue
			}
			if len(key) >= minBrandOnlyKey {
				out = append(out, key+"|")
			}
		}
		for _, w := range kws {
			out = append(out, key+"|"+w)
		}
	}
	return out
}

// splitFirstKind returns rt with a kind the dictionary ran into the name before it
// ("namurazousensho") made a word of its own, when no kind word comes first.
func splitFirstKind(rt []string) []string {
	for i, r := range rt {
		if kindWords(r) != nil {
			return rt
		}
		for _, kind := range japaneseKindsLongest {
			if head, ok := strings.CutSuffix(r, kind); ok && len(head) >= 3 {
				return slices.Concat(rt[:i], []string{head, kind}, rt[i+1:])
			}
		}
	}
	return rt
}

// latinBrandKinds returns the keys a Latin name (the words of its first part) is compared with
// romanised Japanese names by: the words before its first kind word, and before each, joined
// to the kind word ("mto|industry" for "Mutoh Industries"; "tsuji|heavy" and "tsuji|industry"
// for "Tsuji Heavy Industries"), and the whole first part ("mto|") unless it is made of kinds
// only.
func latinBrandKinds(toks []string) []string {
	var out []string
	first, kinds := -1, 0
	for j, t := range toks {
		kw := kindWord(t)
		if kw == "" {
			continue
		}
		kinds++
		if j == 0 {
			continue
		}
		if first < 0 {
			first = j
		}
		for _, b := range []int{first, j} {
			bk := brandKey(strings.Join(toks[:b], ""))
			if key := bk + "|" + kw; len(bk) >= minBrandKey && !slices.Contains(out, key) {
				out = append(out, key)
			}
		}
	}
	if key := brandKey(strings.Join(toks, "")); len(key) >= minBrandOnlyKey && kinds < len(toks) {
		out = append(out, key+"|")
	}
	return out
}

// latinKindAt returns where a key of latinBrandKinds was made in toks: the number of words of
// the name before the kind, and the kind word's index; -1, -1 when no place makes it.
func latinKindAt(toks []string, key string) (int, int) {
	brand, kw, _ := strings.Cut(key, "|")
	for j, t := range toks {
		if j == 0 || kw == "" || kindWord(t) != kw {
			continue
		}
		for b := 1; b <= j; b++ {
			if brandKey(strings.Join(toks[:b], "")) == brand {
				return b, j
			}
		}
	}
	return -1, -1
}

// sharedBrandKind returns the first key of a that b holds too, "" for none.
func sharedBrandKind(a, b []string) string {
	for _, k := range a {
		if slices.Contains(b, k) {
			return k
		}
	}
	return ""
}
