// Package kanji reads Japanese names written in kanji by a dictionary (IPADIC, through the
// kagome morphological analyser), so that match's suggester compares them with Latin names by
// sound: "霧島酒造" reads "キリシマシュゾウ", like "Kirishima Shuzou". Importing it registers
// its reader with package match:
//
//	import _ "github.com/tenantsync/tenantsync/match/kanji"
//
// The dictionary adds about 13 MB to a binary and is loaded the first time a name holds Han
// characters (about a second, and 90 MB of memory); without this package such names are
// compared by spelling only. A match made by a reading is sound evidence
// (match.EvidenceNameSound): capped, and never accepted without proof.
package kanji

import (
	"strings"
	"sync"
	"unicode"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
	"golang.org/x/text/unicode/norm"

	"github.com/tenantsync/tenantsync/match"
)

func init() { match.RegisterKanjiReader(Read) }

// reader is the dictionary's tokenizer, loaded the first time a name holds Han characters.
var reader = sync.OnceValue(func() *tokenizer.Tokenizer {
	t, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
	if err != nil {
		return nil
	}
	return t
})

// hasHan reports whether s holds a Han character.
func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// Read spells a name holding Han characters in katakana, word by word, as the dictionary
// reads it (a match.KanjiReader). It reports false when the name holds no Han, or a word
// holding Han has no reading: a half-read name would compare as something it is not.
func Read(s string) (string, bool) {
	if !hasHan(s) {
		return "", false
	}
	t := reader()
	if t == nil {
		return "", false
	}
	var words []string
	for _, tk := range t.Tokenize(norm.NFC.String(s)) {
		surface := strings.TrimSpace(tk.Surface)
		if surface == "" {
			continue
		}
		if !hasHan(surface) {
			words = append(words, surface)
			continue
		}
		r, ok := tk.Reading()
		if !ok || r == "" || r == "*" || hasHan(r) {
			return "", false
		}
		if f := tk.Features(); len(f) > 1 && f[1] == "固有名詞" {
			words = append(words, splitKind(t, []rune(surface), r)...)
		} else {
			words = append(words, r)
		}
	}
	return strings.Join(words, " "), len(words) > 0
}

// splitKind splits the reading of a proper noun the dictionary knows whole ("日阪製作所",
// "ヒサカセイサクショ") before the common nouns that end it, the kind of company the Latin
// name translates ("製作所", Works): "ヒサカ セイサクショ". The name before must keep two
// characters, and the common noun's own reading must end the whole one, so a family name
// is not split ("高橋", "墨田川" whose "川" reads "ガワ" there).
func splitKind(t *tokenizer.Tokenizer, surface []rune, reading string) []string {
	for k := 2; k+2 <= len(surface); k++ {
		suffix := string(surface[k:])
		toks := t.Tokenize(suffix)
		if len(toks) != 1 {
			continue
		}
		f := toks[0].Features()
		r, ok := toks[0].Reading()
		if !ok || len(f) < 2 || f[0] != "名詞" || f[1] != "一般" && f[1] != "サ変接続" || !strings.HasSuffix(reading, r) || len(r) == len(reading) {
			continue
		}
		return append(splitKind(t, surface[:k], strings.TrimSuffix(reading, r)), r)
	}
	return []string{reading}
}
