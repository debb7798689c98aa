package match

import (
	"strings"
	"sync/atomic"
	"unicode"
)

// Most Japanese company names are written in kanji ("霧島酒造", Kirishima Shuzou), which spell
// meanings, not sounds: only a dictionary says how a name reads. The dictionary is large (13 MB
// in a binary, about 90 MB of memory once loaded), so it is not part of this package: a program
// that wants kanji names compared by sound imports github.com/tenantsync/tenantsync/match/kanji,
// which registers its reader here, as time/tzdata registers its zone data. A reading is a guess
// (a name may read otherwise; a Chinese name is read the Japanese way), so a match made by it is
// a hint like any other match by sound: capped, and never accepted without proof.

// KanjiReader spells a name holding Han characters in katakana, word by word, as a dictionary
// reads it. It reports false when it cannot read every word holding Han: a half-read name would
// compare as something it is not.
type KanjiReader func(name string) (katakana string, ok bool)

var kanjiReader atomic.Pointer[KanjiReader]

// RegisterKanjiReader makes the suggester read kanji names with r (nil: not at all). Package
// match/kanji registers its dictionary's reader when it is imported; a program may register
// another. It is safe to call at any time; names already indexed keep how they were read.
func RegisterKanjiReader(r KanjiReader) {
	if r == nil {
		kanjiReader.Store(nil)
		return
	}
	kanjiReader.Store(&r)
}

// hasHan reports whether s holds a Han character.
func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// readKanji spells a folded name holding Han characters in katakana by the registered reader,
// for romanize; false when the name holds no Han or no reader is registered.
func readKanji(s string) (string, bool) {
	if !hasHan(s) {
		return "", false
	}
	r := kanjiReader.Load()
	if r == nil {
		return "", false
	}
	return (*r)(s)
}
