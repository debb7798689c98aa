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
// ("kougyou", 工業) to the starts of the English words their Latin names translate it into:
// kinds only, never names.
var japaneseKinds = map[string][]string{
	"kougyou":      {"industr", "mining"},
	"juukougyou":   {"heavy"},
	"sangyou":      {"industr"},
	"seisakusho":   {"works", "manufactur"},
	"seisakujo":    {"works", "manufactur"},
	"kougyousho":   {"works", "factory"},
	"seikousho":    {"works", "steel"},
	"zousen":       {"shipbuild", "shipyard", "dockyard"},
	"zousensho":    {"shipyard", "shipbuild", "dockyard"},
	"yakuhin":      {"pharma"},
	"seiyaku":      {"pharma"},
	"kagaku":       {"chemi", "scien"},
	"kemikaru":     {"chemi"},
	"denki":        {"electr"},
	"denkou":       {"electr"},
	"denshi":       {"electron"},
	"densen":       {"cable", "wire"},
	"kikai":        {"machin"},
	"kouki":        {"machin", "tool"},
	"kensetsu":     {"construct"},
	"koumuten":     {"construct", "build"},
	"kenzai":       {"building", "material"},
	"shouji":       {"trading", "trade"},
	"shoukai":      {"trading", "trade"},
	"bussan":       {"trading", "trade"},
	"boueki":       {"trading", "trade"},
	"shouten":      {"store", "shop", "trading"},
	"seimitsu":     {"precision"},
	"seiki":        {"precision"},
	"seikou":       {"precision"},
	"kenkyuusho":   {"research", "laborator", "lab", "institute"},
	"kenkyuujo":    {"research", "laborator", "lab", "institute"},
	"gijutsu":      {"technolog", "tech", "engineering"},
	"giken":        {"engineering", "technical", "research", "tech"},
	"tekkou":       {"steel", "iron"},
	"seitetsu":     {"steel", "iron"},
	"seishi":       {"paper"},
	"bouseki":      {"spinning", "textile"},
	"unyu":         {"transport", "logistics", "express"},
	"tsuuun":       {"transport", "logistics", "express"},
	"kaiun":        {"shipping", "steamship", "line"},
	"koukuu":       {"air", "aviation", "aero"},
	"kuuyu":        {"air"},
	"ginkou":       {"bank"},
	"shouken":      {"securities"},
	"hoken":        {"insurance"},
	"seimei":       {"life"},
	"kaijou":       {"marine"},
	"shokuhin":     {"food"},
	"seihin":       {"product"},
	"shuzou":       {"brew", "sake", "distill"},
	"jouzou":       {"brew"},
	"kaihatsu":     {"develop"},
	"kougaku":      {"optic", "engineering"},
	"keiki":        {"instrument", "gauge", "meter"},
	"keisoku":      {"measur", "instrument"},
	"tsuushin":     {"communicat", "telecom"},
	"housou":       {"broadcast"},
	"shinbun":      {"newspaper"},
	"shuppan":      {"publish"},
	"insatsu":      {"print"},
	"garasu":       {"glass"},
	"kinzoku":      {"metal"},
	"gomu":         {"rubber"},
	"jidousha":     {"motor", "automo", "auto"},
	"tetsudou":     {"railway", "railroad", "rail"},
	"denryoku":     {"power", "electric"},
	"gasu":         {"gas"},
	"sekiyu":       {"oil", "petroleum"},
	"kouryou":      {"flavor", "fragrance", "perfum"},
	"seiyu":        {"oil"},
	"nyuugyou":     {"dairy", "milk"},
	"sekkei":       {"design", "engineer"},
	"kyoukai":      {"association", "society"},
	"kikou":        {"organization", "agency"},
	"seifun":       {"flour", "milling"},
	"seitou":       {"sugar"},
	"suisan":       {"fisher", "seafood", "marine"},
	"nougyou":      {"agricultur", "farm"},
	"semento":      {"cement"},
	"hiryou":       {"fertili"},
	"souko":        {"warehouse"},
	"tosou":        {"paint", "coating"},
	"sanso":        {"oxygen"},
	"kenkyuukai":   {"research", "society", "association"},
	"denkikougyou": {"electr"},
}

// japaneseKindStems are the stems of japaneseKinds, each once, plus each reading as Latin
// names write it romanised without long vowels ("kogyo", "seisakusho"): every word a Latin
// name may translate or keep a kind by.
var japaneseKindStems = func() []string {
	var out []string
	for r, stems := range japaneseKinds {
		out = append(out, stems...)
		out = append(out, shortVowels(r))
	}
	slices.Sort(out)
	return slices.Compact(out)
}()

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

// shortVowels spells a romanised reading as Latin names mostly do, long vowels short
// ("kougyou" is "kogyo", "kenkyuusho" "kenkyusho").
func shortVowels(r string) string {
	return strings.NewReplacer("ou", "o", "uu", "u", "oo", "o", "ei", "e").Replace(r)
}

// kindStems returns the stems a romanised kind word translates into, its short-vowel
// spelling among them, or nil when it is no kind.
func kindStems(r string) []string {
	stems, ok := japaneseKinds[r]
	if !ok {
		return nil
	}
	return append(slices.Clip(stems), shortVowels(r))
}

// minBrandKey is the fewest letters a name's brandKey needs beside a kind; minBrandOnlyKey
// without one.
const (
	minBrandKey     = 2
	minBrandOnlyKey = 5
)

// brandKey is a name's spelling key (spellKey) with voiced and unvoiced consonants one: the
// first consonant of a word joined to another is often voiced in Japanese ("丸高", "maru
// daka", is "Marutaka").
func brandKey(s string) string {
	k := []byte(spellKey(s))
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
// Latin names by: its name before its first kind word joined to each stem its kinds translate
// into ("mt|industr" for "mutou kougyou"), and its name alone ("mt|"). A kind run into the
// name by the dictionary ("namurazousensho") is found at the end of a word. Nil when the name
// has no kind after a name.
func scriptBrandKinds(rt []string) []string {
	ws := splitFirstKind(rt)
	var out []string
	key := ""
	for i, r := range ws {
		stems := kindStems(r)
		if stems == nil {
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
		for _, s := range stems {
			out = append(out, key+"|"+s)
		}
	}
	return out
}

// splitFirstKind returns rt with a kind the dictionary ran into the name before it
// ("namurazousensho") made a word of its own, when no kind word comes first.
func splitFirstKind(rt []string) []string {
	for i, r := range rt {
		if kindStems(r) != nil {
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
// romanised Japanese names by: the words before its first word a kind translates into, and
// before each such word, joined to the kind's stem ("mt|industr" for "Mutoh Industries";
// "tsuji|heavy" and "tsuji|industr" for "Tsuji Heavy Industries"), and the whole first part
// ("mt|").
func latinBrandKinds(toks []string) []string {
	var out []string
	first, kinds := -1, 0
	for j, t := range toks {
		kind := false
		for _, s := range japaneseKindStems {
			if !strings.HasPrefix(t, s) {
				continue
			}
			kind = true
			if j == 0 {
				continue
			}
			if first < 0 {
				first = j
			}
			for _, b := range []int{first, j} {
				if key := brandKey(strings.Join(toks[:b], "")); len(key) >= minBrandKey && !slices.Contains(out, key+"|"+s) {
					out = append(out, key+"|"+s)
				}
			}
		}
		if kind {
			kinds++
		}
	}
	// A name made of kinds only ("Industries") names nothing by itself.
	if key := brandKey(strings.Join(toks, "")); len(key) >= minBrandOnlyKey && kinds < len(toks) {
		out = append(out, key+"|")
	}
	return out
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
