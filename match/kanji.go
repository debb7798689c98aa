package match

import (
	"strings"
	"sync"
	"unicode"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
	"golang.org/x/text/unicode/norm"
)

// Most Japanese company names are written in kanji ("霧島酒造", Kirishima Shuzou), which spell
// meanings, not sounds: only a dictionary says how a name reads. IPADIC, through kagome's
// morphological analyser, reads words, place and family names, so "霧島酒造" reads
// "キリシマシュゾウ" and compares with the Latin name by sound, as kana do. A reading is a
// guess (a name may read otherwise; a Chinese name is read the Japanese way), so a match made
// by it is a hint like any other match by sound: capped, and never accepted without proof.
// The dictionary is loaded once, the first time a name holds Han characters.

var kanjiReader = sync.OnceValue(func() *tokenizer.Tokenizer {
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

// readKanji spells a folded name holding Han characters in katakana, word by word, as the
// dictionary reads it, for romanize. It reports false when a word holding Han has no reading:
// a half-read name would compare as something it is not.
func readKanji(s string) (string, bool) {
	t := kanjiReader()
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
		words = append(words, r)
	}
	return strings.Join(words, " "), len(words) > 0
}
