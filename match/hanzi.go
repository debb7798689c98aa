package match

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Chinese company names ("华为技术有限公司") are written in Han characters and their Latin
// names spell the brand and the place in pinyin and translate the rest ("Huawei
// Technologies"): [place][brand][kind][legal form]. Read in pinyin, character by character,
// the brand and place are found among the Latin name's words, and a small table translates
// the kinds. Like kanji, the readings come from a table too large for this package: a program
// imports github.com/tenantsync/tenantsync/match/hanzi, which registers its reader here.

// PinyinReader returns the Mandarin readings of a Han character in pinyin, in lower case and
// without tones, the most common first; nil when it knows none.
type PinyinReader func(r rune) []string

var pinyinReader atomic.Pointer[PinyinReader]

// RegisterPinyinReader makes the suggester read Chinese names with r (nil: not at all).
// Package match/hanzi registers its table's reader when it is imported; a program may register
// another. It is safe to call at any time; names already indexed keep how they were read.
func RegisterPinyinReader(r PinyinReader) {
	if r == nil {
		pinyinReader.Store(nil)
		return
	}
	pinyinReader.Store(&r)
}

// hanItem is one unit of a Chinese name as read: a word (a kind the table translates, or a
// Latin word the name holds), or one Han character with its readings.
type hanItem struct {
	word     string
	readings []string
}

// maxReadings is the most readings of one character tried; maxHanWord the most characters one
// Latin word is spelled by ("Zhangjiagang" takes three).
const (
	maxReadings = 2
	maxHanWord  = 4
)

// chineseLegalForms are dropped from a Chinese name before it is read, longest first: the
// Latin name drops or translates them ("Co., Ltd.") as legalForms does.
var chineseLegalForms = []string{
	"股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "股份公司", "总公司", "總公司", "公司",
}

// chineseKinds translates the words Chinese names use for what an organisation is, simplified
// and traditional, into the English words their Latin names use ("科技" is "technology"):
// kinds only, never names, as sameWord does for European ones. "市" and "省" (city, province)
// after a place read as nothing: Latin names leave them out.
var chineseKinds = func() map[string][]string {
	m := map[string][]string{}
	for en, zh := range map[string][]string{
		"technology":                 {"科技", "技术", "技術"},
		"group":                      {"集团", "集團"},
		"research institute":         {"研究院", "研究所"},
		"design institute":           {"设计院", "設計院"},
		"research center":            {"研究中心"},
		"research":                   {"研究"},
		"design":                     {"设计", "設計"},
		"center":                     {"中心"},
		"university":                 {"大学", "大學"},
		"college":                    {"学院", "學院"},
		"hospital":                   {"医院", "醫院"},
		"bank":                       {"银行", "銀行"},
		"bio":                        {"生物"},
		"pharmaceutical":             {"医药", "醫藥", "制药", "製藥", "药业", "藥業"},
		"electronics":                {"电子", "電子"},
		"electric":                   {"电气", "電氣", "电器", "電器"},
		"power":                      {"电力", "電力"},
		"energy":                     {"能源"},
		"petroleum":                  {"石油"},
		"chemical":                   {"化工", "化学", "化學"},
		"machinery":                  {"机械", "機械"},
		"automobile":                 {"汽车", "汽車"},
		"aviation":                   {"航空"},
		"aerospace":                  {"航天"},
		"engineering":                {"工程"},
		"construction":               {"建设", "建設", "建筑", "建築"},
		"industry":                   {"工业", "工業", "实业", "實業"},
		"investment":                 {"投资", "投資"},
		"holdings":                   {"控股"},
		"international":              {"国际", "國際"},
		"information":                {"信息", "资讯", "資訊"},
		"software":                   {"软件", "軟件", "软体", "軟體"},
		"network":                    {"网络", "網絡", "網路"},
		"communication":              {"通信", "通讯", "通訊"},
		"telecom":                    {"电信", "電信"},
		"materials":                  {"材料"},
		"equipment":                  {"装备", "裝備", "设备", "設備"},
		"instruments":                {"仪器", "儀器"},
		"optoelectronics":            {"光电", "光電"},
		"semiconductor":              {"半导体", "半導體"},
		"intelligent":                {"智能"},
		"innovation":                 {"创新", "創新"},
		"environment":                {"环境", "環境"},
		"environmental protection":   {"环保", "環保"},
		"agriculture":                {"农业", "農業"},
		"transportation":             {"交通", "运输", "運輸"},
		"planning":                   {"规划", "規劃"},
		"survey":                     {"勘测", "勘測", "勘察"},
		"measurement":                {"测量", "測量"},
		"radio":                      {"无线电", "無線電"},
		"satellite":                  {"卫星", "衛星"},
		"commercial":                 {"商用", "商业", "商業"},
		"aircraft":                   {"飞机", "飛機"},
		"education":                  {"教育"},
		"medical":                    {"医疗", "醫療"},
		"health":                     {"健康"},
		"food":                       {"食品"},
		"logistics":                  {"物流"},
		"trading":                    {"贸易", "貿易", "商贸", "商貿"},
		"development":                {"发展", "發展", "开发", "開發"},
		"management":                 {"管理"},
		"consulting":                 {"咨询", "諮詢"},
		"services":                   {"服务", "服務"},
		"national":                   {"国家", "國家"},
		"china":                      {"中国", "中國", "中华", "中華"},
		"plastics":                   {"塑胶", "塑膠", "塑料"},
		"steel":                      {"钢铁", "鋼鐵"},
		"coal":                       {"煤炭"},
		"securities":                 {"证券", "證券"},
		"insurance":                  {"保险", "保險"},
		"software and information":   {"软件信息"},
		"municipal":                  {"市政"},
		"science":                    {"科学", "科學"},
		"academy":                    {"科学院", "科學院"},
		"eye":                        {"眼科"},
		"general research institute": {"研究总院", "研究總院"},
		"nonferrous metals":          {"有色金属", "有色金屬"},
		"metals":                     {"金属", "金屬"},
		"machine tool":               {"机床", "機床"},
		"resources":                  {"资源", "資源"},
		"building materials":         {"建材"},
		"cement":                     {"水泥"},
		"products":                   {"制品", "製品"},
		"research development":       {"研发", "研發"},
		"":                           {"市", "省"},
	} {
		for _, z := range zh {
			m[z] = strings.Fields(en)
		}
	}
	return m
}()

// maxKind is the longest entry of chineseKinds, in characters.
const maxKind = 4

// readHanzi reads a name holding Han characters as hanItems, when a PinyinReader is
// registered and the name holds no kana or Hangul (a Japanese or Korean name is read
// otherwise); nil when it cannot read every Han character.
func readHanzi(s string) []hanItem {
	r := pinyinReader.Load()
	if r == nil || !hasHan(s) || strings.ContainsFunc(s, func(c rune) bool { return unicode.In(c, unicode.Hiragana, unicode.Katakana, unicode.Hangul) }) {
		return nil
	}
	s = norm.NFC.String(s)
	for _, f := range chineseLegalForms {
		s = strings.ReplaceAll(s, f, " ")
	}
	rs := []rune(s)
	var items []hanItem
	latin := 0 // where the Latin run being read starts
	flushLatin := func(end int) {
		if end > latin {
			for _, t := range companyTokens(string(rs[latin:end])) {
				items = append(items, hanItem{word: t})
			}
		}
	}
	for i := 0; i < len(rs); {
		if !unicode.Is(unicode.Han, rs[i]) {
			i++
			continue
		}
		flushLatin(i)
		n := 0
		for k := min(maxKind, len(rs)-i); k >= 1 && n == 0; k-- {
			if en, ok := chineseKinds[string(rs[i:i+k])]; ok {
				for _, w := range en {
					items = append(items, hanItem{word: w})
				}
				n = k
			}
		}
		if n == 0 {
			rd := (*r)(rs[i])
			if len(rd) == 0 {
				return nil
			}
			items = append(items, hanItem{readings: rd[:min(len(rd), maxReadings)]})
			n = 1
		}
		i += n
		latin = i
	}
	flushLatin(len(rs))
	return items
}

// hanOpt is a Latin word k characters from a position spell in pinyin.
type hanOpt struct {
	word string
	k    int
}

// hanziOptions returns, for each position of items, the Latin words the characters from there
// may spell, the longest first: found once for a name, looked up in every name it is compared
// with.
func hanziOptions(items []hanItem) [][]hanOpt {
	if items == nil {
		return nil
	}
	opts := make([][]hanOpt, len(items))
	for i := range items {
		for k := min(maxHanWord, len(items)-i); k >= 1; k-- {
			if slices.ContainsFunc(items[i:i+k], func(it hanItem) bool { return it.readings == nil }) {
				continue
			}
			var rec func(j int, prefix string)
			rec = func(j int, prefix string) {
				if j == i+k {
					opts[i] = append(opts[i], hanOpt{canonToken(prefix), k})
					return
				}
				for _, r := range items[j].readings {
					rec(j+1, prefix+r)
				}
			}
			rec(i, "")
		}
	}
	return opts
}

// hanziAlign reads items against the words of a Latin name: runs of characters that spell one
// of its words become that word ("华为", "huawei"), other characters their first reading, run
// together. It returns the words read and those of them the Latin name holds, spelled in
// pinyin or translated, or none when it holds none.
func hanziAlign(items []hanItem, opts [][]hanOpt, latin []string) (words, shared []string) {
	var pending strings.Builder
	flush := func() {
		if pending.Len() > 0 {
			words = append(words, pending.String())
			pending.Reset()
		}
	}
	for i := 0; i < len(items); {
		it := items[i]
		if it.readings == nil {
			flush()
			w := it.word
			if l := sameOrPlural(w, latin); l != "" {
				w = l
				shared = append(shared, w)
			}
			words = append(words, w)
			i++
			continue
		}
		n := 0
		for _, o := range opts[i] {
			if slices.Contains(latin, o.word) {
				flush()
				words = append(words, o.word)
				shared = append(shared, o.word)
				n = o.k
				break
			}
		}
		if n == 0 {
			pending.WriteString(it.readings[0])
			n = 1
		}
		i += n
	}
	flush()
	if shared == nil {
		return nil, nil
	}
	return words, shared
}

// sameOrPlural returns the word of latin that is w, or w in the plural or the singular
// ("technology" and "Technologies"), as latin writes it; "" when latin holds none.
func sameOrPlural(w string, latin []string) string {
	forms := []string{w, w + "s", w + "es", strings.TrimSuffix(w, "s"), strings.TrimSuffix(w, "es")}
	if y, ok := strings.CutSuffix(w, "y"); ok {
		forms = append(forms, y+"ies")
	}
	if y, ok := strings.CutSuffix(w, "ies"); ok {
		forms = append(forms, y+"y")
	}
	for _, f := range forms {
		if f != "" && slices.Contains(latin, f) {
			return f
		}
	}
	return ""
}

// hanziSim compares a Chinese name read in pinyin (h, items) with a Latin one: the words read,
// weighted, against the Latin name's words and, discounted, against its first part alone (a
// place in brackets after it). The words shared must include a rare one: kinds alone
// ("technology", "group") say nothing. A match by reading is a hint, capped as a match by
// sound is; every reading of a character counts alike, as the table's order is not the one
// names use ("厦门" reads "sha men" first, and is Xiamen).
func hanziSim(h *parsedName, latin *parsedName, w *weights) (float64, string) {
	best, how := 0.0, ""
	try := func(f *nameForm, pen float64) {
		words, shared := hanziAlign(h.hanzi, h.hanziOpts, f.tokens)
		if words == nil || massFactor(shared, f.tokens, w) < 1 {
			return
		}
		s, _ := softDice(words, f.tokens, w)
		if s = min(s*pen, soundSimMax); s > best {
			best, how = s, strings.Join(words, " ")
		}
	}
	try(&latin.full, 1)
	if len(latin.parts) > 0 {
		try(&latin.parts[0], partPenalty)
	}
	return best, how
}

// hanziKeys returns the Latin words a Chinese name's characters may spell and those it
// translates, for the index.
func hanziKeys(items []hanItem, opts [][]hanOpt) []string {
	var out []string
	for i, it := range items {
		if it.readings == nil {
			if !slices.Contains(out, it.word) {
				out = append(out, it.word)
			}
			continue
		}
		for _, o := range opts[i] {
			if len(o.word) >= 4 && !slices.Contains(out, o.word) {
				out = append(out, o.word)
			}
		}
	}
	return out
}

// hanziWhy is the evidence of a Chinese name read in pinyin.
func hanziWhy(h, latin *parsedName, read string) string {
	return "sounds alike: " + strconv.Quote(h.full.text) + " reads " + strconv.Quote(read) + " (pinyin, kinds translated), like " + strconv.Quote(latin.full.text)
}
