package match

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// legalForms are company legal forms as tokens after folding ("B.V." becomes "bv", "S. de
// R.L." becomes "s de rl"), abbreviated and written out, by country: they say how a company is
// registered, not which company it is. Drawn from cleanco's term lists and ISO 20275 entity
// legal forms. Longest first, so "pty ltd" goes before "ltd".
var legalForms = func() [][]string {
	forms := []string{
		// Abbreviations, many countries.
		"gmbh and co kgaa", "gmbh and co kg", "gmbh and co ohg", "gmbh and co", "ag and co kg", "ag and co",
		"s de rl de cv", "sa de cv", "s de rl", "sp z oo", "sp zoo", "s r o", "s a s", "s a", "s l", "s p a", "s r l",
		"pty ltd", "pty limited", "pte ltd", "pvt ltd", "sdn bhd", "co ltd", "co inc", "co llc", "coltd",
		"ltd co", "and co", "and company", "and cie", "et cie", "et co", "b v", "n v", "e v", "l l c", "s c", "a s", "a g",
		"ltd", "limited", "llc", "llp", "lllp", "lp", "plc", "inc", "incorporated", "corp", "corporation",
		"co", "cie", "company", "gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug", "ev", "eg", "gbr",
		"bv", "nv", "vof", "bvba", "sprl", "cv", "sa", "sas", "sarl", "srl", "spa", "sl", "slu", "sau", "sae",
		"ab", "as", "asa", "oy", "oyj", "aps", "kk", "pty", "pte", "pvt", "bhd", "kft", "zrt", "nyrt",
		"sro", "doo", "ltda", "pc", "pllc", "se", "sca", "scs", "jsc", "ojsc", "cjsc", "pjsc", "ooo", "oao",
		"zao", "pao", "tov", "fzco", "fze", "fz llc", "wll", "tbk", "pt", "eireli", "gie", "scrl", "ky", "hf",
		// Written out.
		"limited liability company", "limited liability corporation", "limited liability partnership", "limited partnership",
		"public limited company", "private limited company", "proprietary limited", "private limited", "company limited",
		"naamloze vennootschap", "besloten vennootschap met beperkte aansprakelijkheid", "besloten vennootschap",
		"commanditaire vennootschap", "vennootschap onder firma",
		"aktiengesellschaft", "gesellschaft mit beschrankter haftung", "kommanditgesellschaft", "eingetragener verein",
		"societe anonyme", "societe a responsabilite limitee", "societe par actions simplifiee", "societe en commandite",
		"sociedad anonima", "sociedad limitada", "sociedad de responsabilidad limitada", "sociedade anonima",
		"sociedade limitada", "societa per azioni", "societa a responsabilita limitata",
		"kabushiki kaisha", "kabushikigaisha", "kabushiki gaisha", "godo kaisha", "yugen kaisha", "yuugen kaisha",
		"aktiebolag", "aktieselskab", "aksjeselskap", "osakeyhtio", "anonim sirketi", "limited sirketi",
		"spolka z ograniczona odpowiedzialnoscia", "spolka akcyjna", "obshchestvo s ogranichennoy otvetstvennostyu",
		"aktsionernoe obshchestvo", "aktsionernoye obshchestvo", "otkrytoe aktsionernoe obshchestvo",
		"otkrytoye aktsionernoye obshchestvo", "zakrytoe aktsionernoe obshchestvo", "zakrytoye aktsionernoye obshchestvo",
		"publichnoe aktsionernoe obshchestvo", "publichnoye aktsionernoye obshchestvo", "ao",
		"obshchestvo s ogranichennoi otvetstvennostyu", "obshchestvo s ogranichennoy otvetstvennostu", "joint stock company", "public joint stock company", "closed joint stock company",
		"open joint stock company", "perseroan terbatas", "sendirian berhad", "berhad", "private limited company",
		// East Asian forms, as cjkLegalForms spells them.
		"goshi kaisha", "gomei kaisha", "jusik hoesa", "yuhan hoesa", "gufen youxian gongsi", "youxian zeren gongsi",
		"youxian gongsi",
	}
	out := make([][]string, len(forms))
	for i, f := range forms {
		out[i] = strings.Fields(f)
	}
	slices.SortStableFunc(out, func(a, b []string) int { return len(b) - len(a) })
	return out
}()

// stopWords join the words of a name; initials skip them and they weigh little.
var stopWords = map[string]bool{
	"of": true, "and": true, "the": true, "for": true, "de": true, "del": true, "la": true, "le": true, "les": true,
	"des": true, "du": true, "di": true, "da": true, "do": true, "dos": true, "das": true, "van": true, "von": true,
	"der": true, "den": true, "und": true, "et": true, "y": true, "e": true, "en": true, "in": true, "at": true, "a": true,
	"fur": true, "voor": true, "per": true, "on": true,
}

// genericWords are words many unrelated companies share. Against a catalogue, their weight comes
// from how many clients use them; without one (NameSimilarity) they weigh half.
var genericWords = map[string]bool{
	"group": true, "holdings": true, "holding": true, "international": true, "intl": true,
	"services": true, "solutions": true, "global": true,
}

// foldRune maps letters NFKD does not decompose to their ASCII spelling, and Cyrillic and Greek
// letters to Latin (ISO 9-like, as company registries romanise them).
var foldRune = map[rune]string{
	'ß': "ss", 'æ': "ae", 'ø': "o", 'đ': "d", 'ł': "l", 'œ': "oe", 'þ': "th", 'ı': "i", 'ð': "d",
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'ґ': "g", 'д': "d", 'е': "e", 'ё': "e", 'є': "ye", 'ж': "zh",
	'з': "z", 'и': "i", 'і': "i", 'ї': "yi", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh",
	'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya", 'ў': "u",
	'α': "a", 'β': "v", 'γ': "g", 'δ': "d", 'ε': "e", 'ζ': "z", 'η': "i", 'θ': "th", 'ι': "i", 'κ': "k",
	'λ': "l", 'μ': "m", 'ν': "n", 'ξ': "x", 'ο': "o", 'π': "p", 'ρ': "r", 'σ': "s", 'ς': "s", 'τ': "t",
	'υ': "y", 'φ': "f", 'χ': "ch", 'ψ': "ps", 'ω': "o",
}

// cjkLegalForms spells the Japanese, Korean and Chinese legal forms in Latin letters, as words
// of their own: these scripts write no spaces, so "ソニー株式会社" would otherwise be one word,
// and the form is then stripped like any other ("ソニー"). Longest first: the replacer tries
// its patterns in order.
var cjkLegalForms = strings.NewReplacer(
	"股份有限公司", " gufen youxian gongsi ", "有限责任公司", " youxian zeren gongsi ", "有限責任公司", " youxian zeren gongsi ",
	"有限公司", " youxian gongsi ",
	"株式会社", " kabushiki kaisha ", "株式會社", " kabushiki kaisha ", "(株)", " kabushiki kaisha ", "（株）", " kabushiki kaisha ",
	"㈱", " kabushiki kaisha ", "有限会社", " yugen kaisha ", "合同会社", " godo kaisha ", "合資会社", " goshi kaisha ",
	"合名会社", " gomei kaisha ",
	"주식회사", " jusik hoesa ", "(주)", " jusik hoesa ", "㈜", " jusik hoesa ", "유한회사", " yuhan hoesa ",
	// Korean words for kinds of organisation, which companies translate in their Latin name
	// ("우리은행", "Woori Bank"): kinds only, never names, as sameWord does for European ones.
	"은행", " bank ", "그룹", " group ", "재단", " foundation ", "연구소", " institute ", "연구원", " institute ",
	"대학교", " university ", "병원", " hospital ", "전자", " electronics ", "제약", " pharmaceutical ", "화학", " chemical ",
	"건설", " construction ", "증권", " securities ", "보험", " insurance ",
	// Japanese names write English legal forms and kinds in katakana ("マチダコーポレーション",
	// "Machida Corporation"; "キャタピラージャパン", "Caterpillar (Japan)"): read as the
	// English words, they are stripped or weighed as those are.
	"コーポレーション", " corporation ", "カンパニー", " company ", "ホールディングス", " holdings ",
	"グループ", " group ", "インターナショナル", " international ", "ジャパン", " (japan) ",
)

// segBreak separates the parts of a name: a comma, a semicolon, brackets or a spaced dash end
// one ("DSM N.V., Heerlen", "Sony (Japan)", "Hellenic Digital Health Cluster - HDHC").
const segBreak = '|'

// foldName folds s to lowercase ASCII letters, digits, spaces and segment breaks: diacritics
// dropped, Cyrillic and Greek romanised, "&" read as "and", dots and apostrophes joining ("B.V."
// is "bv", "O'Neil" is "oneil"), but for the French and Italian elided articles "d'" and "l'",
// which stay words of their own ("Groupe d'Investissement" is "groupe d investissement").
func foldName(s string) string {
	var b strings.Builder
	prevSpace := true
	word := 0 // where the word being written starts in b
	for _, r := range norm.NFKD.String(cjkLegalForms.Replace(japanPrefix(s))) {
		switch {
		case r == '\u3099' || r == '\u309a':
			// Kana voicing marks are not diacritics: "ガ" is not "カ". Kept, so romanize can
			// join them again.
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
		case (r == '\'' || r == '’') && isElidedArticle(b.String()[word:]):
			b.WriteByte(' ')
			word = b.Len()
		case r == '.' || r == '\'' || r == '’' || r == '`' || r == 'ʻ' || r == 'ʿ' || r == 'ʼ':
		case r == '&' || r == '+':
			b.WriteString(" and ")
			word = b.Len()
		case r == ',' || r == ';' || r == '(' || r == ')' || r == '[' || r == ']' || r == '|' || r == '/' || r == ':':
			b.WriteByte(segBreak)
			word = b.Len()
		case (r == '-' || r == '–' || r == '—') && prevSpace:
			b.WriteByte(segBreak)
			word = b.Len()
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if f, ok := foldRune[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteByte(' ')
			word = b.Len()
		}
		prevSpace = unicode.IsSpace(r)
	}
	return joinSpacedLetters(b.String())
}

// conjunctionLetters are the letters that are words joining two others: "y" and "e" ("and" in
// Spanish and Portuguese), "i" (in Catalan and Russian), "o" ("or").
var conjunctionLetters = map[string]bool{"y": true, "e": true, "i": true, "o": true}

// joinSpacedLetters joins a run of three or more single letters written with spaces between
// them into one word, as dots join them: "A T S Heavy Equipment" is "ats heavy equipment",
// like "A.T.S." and "ATS". A run with a conjunction inside ("J y M") or spelling a legal form
// ("S P A") stays apart, and so do two letters, which are as often a person's initials ("J R
// Smith", whose "JRS" reads them) or a form ("P C"). Letters "&" joins ("J&B") stay words of
// their own, which initials read; names compare them joined too (parsedName.amp).
func joinSpacedLetters(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	f := strings.Fields(s)
	single := func(t string) bool { return len(t) == 1 && t[0] >= 'a' && t[0] <= 'z' }
	out := f[:0]
	for i := 0; i < len(f); i++ {
		if !single(f[i]) {
			out = append(out, f[i])
			continue
		}
		j := i + 1
		for j < len(f) && single(f[j]) {
			j++
		}
		joined := strings.Join(f[i:j], "")
		if j-i < 3 || slices.ContainsFunc(f[i+1:j-1], func(t string) bool { return conjunctionLetters[t] }) || len(legalByLast[joined]) > 0 || leadingForms[joined] {
			out = append(out, f[i])
			continue
		}
		out = append(out, joined)
		i = j - 1
	}
	return strings.Join(out, " ")
}

// japanPrefix moves "日本" (Japan) opening a katakana name to a place after it: "日本モレックス"
// is Molex's Japanese company, "Molex (Japan)", as "キャタピラージャパン" is "Caterpillar
// (Japan)".
func japanPrefix(s string) string {
	t := strings.TrimSpace(s)
	for _, f := range []string{"株式会社", "合同会社", "有限会社"} {
		t = strings.TrimPrefix(t, f)
	}
	rest, ok := strings.CutPrefix(t, "日本")
	if r, _ := utf8.DecodeRuneInString(rest); !ok || !unicode.Is(unicode.Katakana, r) {
		return s
	}
	return strings.Replace(s, "日本", "", 1) + " (japan)"
}

// isElidedArticle reports whether w, a whole word before an apostrophe, is an elided article
// ("d'", "l'"), which initials skip as they skip "de" and "la" (see skipInitial).
func isElidedArticle(w string) bool { return w == "d" || w == "l" }

// skipInitial reports whether toks[i] gives no letter to the name's initials: a stop word, or
// an elided article, a lone "d" or "l" before a word opening with a vowel or "h" ("Groupe
// d'Investissement Financier" is "GIF"; "S&D Solutions" is still "SDS").
func skipInitial(toks []string, i int) bool {
	t := toks[i]
	if stopWords[t] {
		return true
	}
	return isElidedArticle(t) && i+1 < len(toks) && toks[i+1] != "" && strings.IndexByte("aeiouh", toks[i+1][0]) >= 0
}

// NormalizeCompanyName reduces a company name to the tokens that tell companies apart:
// diacritics folded, Cyrillic and Greek romanised, lowercase, "&" read as "and", punctuation
// removed (dots and apostrophes join, so "B.V." is "bv" and "O'Neil" is "oneil"), a leading
// "the" and legal forms, abbreviated or written out, removed at either end of each part,
// repeatedly ("Acme Pty. Ltd." and "ACME Aktiengesellschaft" are both "acme"). A name made only
// of legal forms is kept as it is rather than reduced to nothing.
func NormalizeCompanyName(s string) string { return strings.Join(companyTokens(s), " ") }

// companyTokens returns the tokens of every part of s, legal forms stripped part by part.
func companyTokens(s string) []string {
	var out []string
	for _, seg := range nameSegments(s) {
		out = append(out, seg...)
	}
	if len(out) == 0 {
		return strings.Fields(strings.ReplaceAll(foldName(s), string(segBreak), " "))
	}
	return out
}

// nameSegments splits s into its parts, each as tokens with legal forms stripped; parts made only
// of legal forms are dropped ("NXP, B.V." is one part).
func nameSegments(s string) [][]string {
	var out [][]string
	for seg := range strings.SplitSeq(foldName(s), string(segBreak)) {
		if toks := stripLegal(strings.Fields(seg), len(out) == 0); len(toks) > 0 {
			out = append(out, toks)
		}
	}
	return out
}

// stripLegal removes a leading "the" and legal forms at either end of toks; keepOne keeps the
// last token when only legal forms are left ("SL Ltd" is "sl"). A long word of a legal form
// may be transliterated another way ("Otvetstvennostiu" for "Otvetstvennostyu"; see
// legalSpelling) within a form of several words: a word alone spelled so is a name ("Kompany
// Media" is not "Media Co").
func stripLegal(toks []string, keepOne bool) []string {
	lo, hi := legalBounds(toks, keepOne)
	return toks[lo:hi]
}

// legalBounds returns where in toks the name stripLegal keeps starts and ends.
func legalBounds(toks []string, keepOne bool) (int, int) {
	start := 0
	if len(toks) > 1 && toks[0] == "the" {
		start = 1
	}
	toks = toks[start:]
	least := 0
	if keepOne {
		least = 1
	}
	// The words as legalForms spells them, compared in place of toks.
	spelled := toks
	for i, t := range toks {
		if len(t) < minTranslitLegal {
			continue
		}
		if w, ok := legalSpelling[legalKey(t)]; ok && w != t {
			if &spelled[0] == &toks[0] {
				spelled = slices.Clone(toks)
			}
			spelled[i] = w
		}
	}
	lo, hi := 0, len(toks)
	for changed := true; changed && hi-lo > least; {
		changed = false
		for _, f := range legalByLast[spelled[hi-1]] {
			if hi-lo-len(f) >= least && slices.Equal(spelled[hi-len(f):hi], f) && (len(f) > 1 || spelled[hi-1] == toks[hi-1]) {
				hi -= len(f)
				changed = true
				break
			}
		}
	}
	for changed := true; changed && hi-lo > least; {
		changed = false
		for _, f := range legalByFirst[spelled[lo]] {
			if (len(f) > 1 || leadingForms[f[0]]) && hi-lo-len(f) >= least && slices.Equal(spelled[lo:lo+len(f)], f) && (len(f) > 1 || spelled[lo] == toks[lo]) {
				lo += len(f)
				changed = true
				break
			}
		}
	}
	return start + lo, start + hi
}

// leadingForms are the legal forms of one word that open names ("OOO Alfa", "PT Astra", "AB
// Volvo"): any other short one at the front is more likely initials ("AG Plumbing", "KG Jones
// Electrical") and stays part of the name. Forms of several words open names wherever.
var leadingForms = map[string]bool{
	"ooo": true, "oao": true, "zao": true, "pao": true, "ao": true, "tov": true, "jsc": true, "ojsc": true,
	"cjsc": true, "pjsc": true, "llc": true, "pt": true, "cv": true, "nv": true, "ab": true, "as": true, "oy": true,
	"uab": true,
}

// leadingForm returns the legal form s opens with, as folded ("ooo" for "OOO Alfa"), "" when
// it opens with none.
func leadingForm(s string) string {
	seg, _, _ := strings.Cut(foldName(s), string(segBreak))
	f := strings.Fields(seg)
	start := 0
	if len(f) > 1 && f[0] == "the" {
		start = 1
	}
	lo, _ := legalBounds(f, true)
	return strings.Join(f[start:lo], " ")
}

// legalByLast and legalByFirst hold legalForms by their last and first word, longest first.
var legalByLast, legalByFirst = func() (last, first map[string][][]string) {
	last, first = map[string][][]string{}, map[string][][]string{}
	for _, f := range legalForms {
		last[f[len(f)-1]] = append(last[f[len(f)-1]], f)
		first[f[0]] = append(first[f[0]], f)
	}
	return last, first
}()

// minTranslitLegal is the shortest word of a legal form that may be spelled another way:
// Russian forms are transliterated several ways ("Otvetstvennostyu", "Otvetstvennostiu";
// "Aktsionernoe", "Aktsionernoye"), short abbreviations are not.
const minTranslitLegal = 6

// legalSpelling maps the transliteration key (see translitKey) of every word of a legal form of
// minTranslitLegal letters or more to the word as legalForms spells it.
var legalSpelling = func() map[string]string {
	m := map[string]string{}
	for _, f := range legalForms {
		for _, w := range f {
			if len(w) >= minTranslitLegal {
				if _, ok := m[legalKey(w)]; !ok {
					m[legalKey(w)] = w
				}
			}
		}
	}
	return m
}()

// legalKey is the key legalSpelling finds a word of a legal form by: its translitKey, with
// Russian "щ" read alike however it is written ("Obshchestvo", "Obschestvo", "Obshestvo").
func legalKey(w string) string {
	k := translitKey(w)
	if strings.Contains(k, "sh") || strings.Contains(k, "sc") {
		k = strings.ReplaceAll(strings.ReplaceAll(k, "shch", "sh"), "sch", "sh")
	}
	return k
}
