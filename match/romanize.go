package match

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Japanese and Korean companies are listed under their kana or Hangul name in one place and
// under its Latin spelling in another ("アルパイン" and "Alpine", "툴젠" and "ToolGen"). Kana and
// Hangul spell sounds, so both sides can be romanised (Hepburn for kana, Revised Romanisation
// for Hangul) and compared by a sound key. Han characters (kanji, hanzi) spell meanings and
// need a dictionary: a name holding any is not romanised. A match by sound is a hint, never
// proof: it scores at most soundSimMax and never leads to an automatic acceptance.

// kanaRomaji is the Hepburn spelling of every katakana (hiragana are mapped onto them).
var kanaRomaji = func() map[rune]string {
	m := map[rune]string{}
	rows := []struct {
		kana string
		rom  []string
	}{
		{"アイウエオ", []string{"a", "i", "u", "e", "o"}},
		{"カキクケコ", []string{"ka", "ki", "ku", "ke", "ko"}},
		{"ガギグゲゴ", []string{"ga", "gi", "gu", "ge", "go"}},
		{"サシスセソ", []string{"sa", "shi", "su", "se", "so"}},
		{"ザジズゼゾ", []string{"za", "ji", "zu", "ze", "zo"}},
		{"タチツテト", []string{"ta", "chi", "tsu", "te", "to"}},
		{"ダヂヅデド", []string{"da", "ji", "zu", "de", "do"}},
		{"ナニヌネノ", []string{"na", "ni", "nu", "ne", "no"}},
		{"ハヒフヘホ", []string{"ha", "hi", "fu", "he", "ho"}},
		{"バビブベボ", []string{"ba", "bi", "bu", "be", "bo"}},
		{"パピプペポ", []string{"pa", "pi", "pu", "pe", "po"}},
		{"マミムメモ", []string{"ma", "mi", "mu", "me", "mo"}},
		{"ヤユヨ", []string{"ya", "yu", "yo"}},
		{"ラリルレロ", []string{"ra", "ri", "ru", "re", "ro"}},
		{"ワヰヱヲンヴ", []string{"wa", "i", "e", "o", "n", "vu"}},
		{"ヵヶヮ", []string{"ka", "ke", "wa"}},
	}
	for _, r := range rows {
		for i, k := range []rune(r.kana) {
			m[k] = r.rom[i]
		}
	}
	return m
}()

// smallKana modify the syllable before them: a small ya/yu/yo makes "ki"+"ya" "kya" (and
// "shi"+"ya" "sha"), a small vowel replaces the vowel ("fu"+"i" is "fi", "te"+"i" "ti").
var smallKana = map[rune]string{'ャ': "ya", 'ュ': "yu", 'ョ': "yo", 'ァ': "a", 'ィ': "i", 'ゥ': "u", 'ェ': "e", 'ォ': "o"}

const (
	kanaSokuon = 'ッ' // doubles the next consonant
	kanaChoon  = 'ー' // lengthens the vowel before it
)

// Revised Romanisation of Hangul: initial consonants, vowels and final consonants, in the order
// of Unicode's syllable block.
var (
	hangulInitial = []string{"g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"}
	hangulVowel   = []string{"a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu", "ui", "i"}
	hangulFinal   = []string{"", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"}
)

// letterNames are the katakana spellings of the Latin letters, as Japanese companies write
// initials ("エスシーアイ" for "SCI", "ジェイ・エム・エス" for "JMS").
var letterNames = func() map[string]byte {
	m := map[string]byte{}
	for l, ks := range map[byte][]string{
		'a': {"エー", "エイ"}, 'b': {"ビー"}, 'c': {"シー"}, 'd': {"ディー", "デー"}, 'e': {"イー"}, 'f': {"エフ"},
		'g': {"ジー"}, 'h': {"エイチ", "エッチ"}, 'i': {"アイ"}, 'j': {"ジェイ", "ジェー"}, 'k': {"ケー", "ケイ"},
		'l': {"エル"}, 'm': {"エム"}, 'n': {"エヌ"}, 'o': {"オー"}, 'p': {"ピー"}, 'q': {"キュー"}, 'r': {"アール"},
		's': {"エス"}, 't': {"ティー", "ティ", "テー"}, 'u': {"ユー"}, 'v': {"ブイ", "ヴィ", "ヴィー"},
		'w': {"ダブリュー", "ダブリュ"}, 'x': {"エックス"}, 'y': {"ワイ"}, 'z': {"ゼット", "ゼッド"},
	} {
		for _, k := range ks {
			m[k] = l
		}
	}
	return m
}()

// spellLetters reads the start of a katakana word as Latin letters by their names, longest
// name first. It returns the letters and the rest of the word when the whole word is letters or
// at least two letters begin it ("エスアイテック" is "si" and "テック"), and nothing otherwise:
// one letter name opening a word is as likely a syllable ("アイホン", "Aiphone").
func spellLetters(w []rune) (string, []rune) {
	var out []byte
	i := 0
	for i < len(w) {
		n := 0
		for l := min(5, len(w)-i); l >= 2; l-- {
			if c, ok := letterNames[string(w[i:i+l])]; ok {
				out = append(out, c)
				n = l
				break
			}
		}
		if n == 0 {
			break
		}
		i += n
	}
	if len(out) == 0 || i < len(w) && len(out) < 2 {
		return "", w
	}
	return string(out), w[i:]
}

// romanize spells a folded name holding kana or Hangul in Latin letters. It reports false when
// the name has neither, or has letters it cannot spell (Han, Arabic …): a half-romanised name
// would compare as something it is not. A katakana word made of the names of Latin letters is
// spelled as those letters ("エム・アール" is "m r").
func romanize(s string) (string, bool) {
	s = norm.NFC.String(s) // folding split the voicing marks and Hangul syllables; join them again
	var b strings.Builder
	found := false
	rs := []rune(s)
	for i := range rs {
		if rs[i] >= 'ぁ' && rs[i] <= 'ゖ' {
			rs[i] += 'ァ' - 'ぁ' // hiragana to katakana
		}
	}
	wordStart := true
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if wordStart && r >= 'ァ' && r <= 'ヺ' {
			end := i
			for end < len(rs) && (rs[end] >= 'ァ' && rs[end] <= 'ヺ' || rs[end] == kanaChoon) {
				end++
			}
			if letters, rest := spellLetters(rs[i:end]); letters != "" {
				found = true
				b.WriteString(letters)
				i = end - len(rest) - 1
				wordStart = false
				continue
			}
		}
		wordStart = r == '・' || unicode.IsSpace(r)
		switch {
		case r < unicode.MaxASCII:
			b.WriteRune(r)
		case r >= 0xAC00 && r <= 0xD7A3:
			found = true
			n := int(r - 0xAC00)
			b.WriteString(hangulInitial[n/588])
			b.WriteString(hangulVowel[n%588/28])
			b.WriteString(hangulFinal[n%28])
		case r == kanaSokuon:
			found = true
			if i+1 < len(rs) {
				if next := kanaRomaji[rs[i+1]]; next != "" && next[0] != 'n' && !strings.ContainsRune("aiueo", rune(next[0])) {
					b.WriteByte(next[0])
				}
			}
		case r == kanaChoon:
			found = true
			out := b.String()
			if n := len(out); n > 0 && strings.ContainsRune("aiueo", rune(out[n-1])) {
				b.WriteByte(out[n-1])
			}
		case smallKana[r] != "":
			found = true
			out := b.String()
			sm := smallKana[r]
			switch {
			case sm[0] == 'y' && strings.HasSuffix(out, "i") && len(out) > 1:
				out = out[:len(out)-1]
				if strings.HasSuffix(out, "sh") || strings.HasSuffix(out, "ch") || strings.HasSuffix(out, "j") {
					sm = sm[1:]
				}
			case sm[0] != 'y' && len(out) > 1 && strings.ContainsRune("aiueo", rune(out[len(out)-1])) && !strings.ContainsRune("aiueo", rune(out[len(out)-2])):
				out = out[:len(out)-1]
			}
			b.Reset()
			b.WriteString(out)
			b.WriteString(sm)
		case kanaRomaji[r] != "":
			found = true
			b.WriteString(kanaRomaji[r])
		case r == '・' || unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			return "", false
		}
	}
	return b.String(), found
}

// soundKey reduces a Latin spelling to the consonants both a Latin name and its kana or Hangul
// spelling keep: vowels, h, w and y dropped (kana add a vowel after every consonant), l and r
// one sound (Japanese has one), c, k and q one, v as b, j as g, z as s, doubled letters once.
// "Alpine" and "arupain" are both "rpn"; "ToolGen" and "tuljen" both "trgn". Katakana spell
// English as it is heard: an r before a consonant or at the end is silent ("レーザー" for
// "Laser", "ムーンスター" for "Moon Star"), m before b or p is the n of "ン" ("アンビション",
// "Ambition") and "tio" is "sho" ("ション").
func soundKey(s string) string {
	var out []byte
	emit := func(c byte) {
		if len(out) == 0 || out[len(out)-1] != c {
			out = append(out, c)
		}
	}
	if s != "" && strings.IndexByte("aeiou", s[0]) >= 0 || len(s) > 1 && strings.IndexByte("wy", s[0]) >= 0 && strings.IndexByte("aeiou", s[1]) >= 0 {
		// A leading vowel (or w or y before one) is heard in both spellings ("Alpine",
		// "arupain"; "Woori", "uri"); kept as one mark, it keeps "Ichibiki" from sounding like
		// "Kobaco".
		out = append(out, 'a')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		var next byte
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch c {
		case 'a', 'e', 'i', 'o', 'u', 'y', 'h', 'w':
		case 'p':
			if next == 'h' {
				emit('f')
				i++
			} else {
				emit('p')
			}
		case 'c':
			switch next {
			case 'h', 'k':
				emit('k')
				i++
			case 'e', 'i', 'y':
				emit('s')
			default:
				emit('k')
			}
		case 's':
			emit('s')
			if next == 'h' {
				i++
			}
		case 't':
			switch {
			case next == 's' || next == 'h':
				emit('s')
				i++
			case next == 'i' && i+2 < len(s) && s[i+2] == 'o':
				emit('s')
			default:
				emit('t')
			}
		case 'q', 'k':
			emit('k')
		case 'x':
			emit('k')
			emit('s')
		case 'v':
			emit('b')
		case 'l':
			emit('r')
		case 'r':
			if next != 0 && strings.IndexByte("aeiouy", next) >= 0 {
				emit('r')
			}
		case 'm':
			if next == 'b' || next == 'p' {
				emit('n')
			} else {
				emit('m')
			}
		case 'j':
			emit('g')
		case 'z':
			emit('s')
		default:
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				emit(c)
			}
		}
	}
	return string(out)
}

// soundForms returns the sound keys a name is compared by: for a romanised kana or Hangul name
// its whole key, and for a Latin name the keys of its first one, two and three words run
// together (a kana name is often the Latin name's first words, "アルパイン" for "Alpine
// Electronics").
func soundForms(toks []string, romanised bool) []string {
	if romanised {
		k := soundKey(strings.Join(toks, ""))
		if len(k) < soundMinKey {
			return nil
		}
		return []string{k}
	}
	var out []string
	joined := ""
	for i := 0; i < len(toks) && i < 3; i++ {
		joined += toks[i]
		if k := soundKey(joined); len(k) >= soundMinKey && (len(out) == 0 || out[len(out)-1] != k) {
			out = append(out, k)
		}
	}
	return out
}

const (
	// soundMinKey is the fewest consonants a sound key needs to say anything: two are shared
	// by too many names.
	soundMinKey = 3
	// soundSimMax is the most a match by sound scores: it is a hint for a person to confirm.
	soundSimMax = 0.9
)

// soundSim compares the sound keys of a romanised name and a Latin one: the same whole keys
// score soundSimMax (less for a key of three consonants), the romanised name spelling only
// the Latin name's first words less again.
func soundSim(script, latin []string) float64 {
	if len(script) == 0 || len(latin) == 0 {
		return 0
	}
	k := script[0]
	best := 0.0
	for i, l := range latin {
		if l != k {
			continue
		}
		s := soundSimMax
		switch {
		case len(k) == soundMinKey:
			s -= 0.15
		case len(k) < 6:
			s -= 0.05
		}
		if i < len(latin)-1 {
			s -= 0.1 // the first words only
		}
		best = max(best, s)
	}
	return best
}

// spelledLetters returns the letters a folded name spells when each of its words is made only
// of the katakana names of Latin letters ("ケー・シー・エス" is "kcs"), and "" otherwise.
func spelledLetters(s string) string {
	var out strings.Builder
	for w := range strings.FieldsFuncSeq(norm.NFC.String(s), func(r rune) bool { return r == '・' || unicode.IsSpace(r) }) {
		rs := []rune(w)
		for i := range rs {
			if rs[i] >= 'ぁ' && rs[i] <= 'ゖ' {
				rs[i] += 'ァ' - 'ぁ'
			}
		}
		letters, rest := spellLetters(rs)
		if letters == "" || len(rest) > 0 {
			return ""
		}
		out.WriteString(letters)
	}
	return out.String()
}

// spellKey reduces a Latin spelling to what a romanised kana name and the Latin name it stands
// for both write, vowels kept: long vowels ("oo", "ou", "ei") and doubled letters once, the u
// and o kana add after a consonant ("サムコ" "samuko", "Samco"; "クリエ" "kurie", "Crie")
// dropped, an r before a consonant or at the end and an h after a vowel silent ("ローム",
// "Rohm"), "er" and "ir" before a consonant or at the end as "a" ("フォスター", "Foster"), a
// closing y as i ("モリ", "Mory"), l as r, v as b, c as k or s, z as s. Short names whose
// consonants alone say too little ("ナイキ", "Naiki"; "ダイネン", "Dainen") still compare by it.
func spellKey(s string) string { return spellKeyOf(s, true) }

// spellKeyOf is spellKey, with dropTo false keeping an o after t or d: the Japanese long "ou"
// of a family name ("サトウ", "satou"), which the Latin name writes ("Sato").
func spellKeyOf(s string, dropTo bool) string {
	vowel := func(c byte) bool { return c != 0 && strings.IndexByte("aeiou", c) >= 0 }
	// Long vowels and doubled letters first, so "トー" ("too") and "to" lose the same letters.
	var long []byte
	for i := 0; i < len(s); i++ {
		if n := len(long); n > 0 && (s[i] == long[n-1] || s[i] == 'u' && long[n-1] == 'o' || s[i] == 'i' && long[n-1] == 'e') {
			continue
		}
		long = append(long, s[i])
	}
	s = string(long)
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		var next, prev byte
		if i+1 < len(s) {
			next = s[i+1]
		}
		if len(out) > 0 {
			prev = out[len(out)-1]
		}
		switch c {
		case 'e', 'i':
			// English "er" and "ir" before a consonant or at the end are a long "a" in
			// katakana ("フォスター", "Foster").
			if next == 'r' && (i+2 >= len(s) || !vowel(s[i+2]) && s[i+2] != 'y') {
				c = 'a'
			}
		case 'y':
			// A final or closing y is the vowel i ("モリ", "Mory"; "キロニー", "Kilony").
			if prev != 0 && !vowel(next) {
				c = 'i'
			}
		case 'l':
			c = 'r'
		case 'v':
			c = 'b'
		case 'q':
			c = 'k'
		case 'z':
			c = 's'
		case 'x':
			out = append(out, 'k')
			c = 's'
		case 'c':
			switch {
			case next == 'h':
			case next == 'k':
				continue
			case next == 'e' || next == 'i' || next == 'y':
				c = 's'
			default:
				c = 'k'
			}
		case 'p':
			if next == 'h' {
				c = 'f'
				i++
			}
		case 'h':
			// After a vowel as written, even one the key leaves out ("Mutoh" is "muto").
			if (vowel(prev) || i > 0 && vowel(s[i-1])) && !vowel(next) {
				continue
			}
		case 'r':
			if !vowel(next) && next != 'y' {
				continue
			}
		case 'u':
			if prev != 0 && !vowel(prev) && prev != 'y' && !vowel(next) {
				continue
			}
		case 'o':
			if dropTo && (prev == 't' || prev == 'd') && !vowel(next) && next != 'y' {
				continue
			}
		}
		if c == prev {
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// spellMinKey is the fewest letters a spelling key needs to say anything.
const spellMinKey = 4

// spellForms returns the spelling keys a name is compared by, as soundForms does.
func spellForms(toks []string, romanised bool) []string {
	if romanised {
		if k := spellKey(strings.Join(toks, "")); len(k) >= spellMinKey {
			return []string{k}
		}
		return nil
	}
	var out []string
	joined := ""
	for i := 0; i < len(toks) && i < 3; i++ {
		joined += toks[i]
		if k := spellKey(joined); len(k) >= spellMinKey && (len(out) == 0 || out[len(out)-1] != k) {
			out = append(out, k)
		}
	}
	return out
}

// spellSim compares the spelling keys of a romanised name and a Latin one as soundSim does the
// sound keys: they keep the vowels, so the same key says more.
func spellSim(script, latin []string) float64 {
	if len(script) == 0 || len(latin) == 0 {
		return 0
	}
	best := 0.0
	for i, l := range latin {
		if l != script[0] {
			continue
		}
		s := soundSimMax
		if len(l) == spellMinKey {
			s -= 0.05
		}
		if i < len(latin)-1 {
			s -= 0.1 // the first words only
		}
		best = max(best, s)
	}
	return best
}
