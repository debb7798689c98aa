// Package hanzi reads Chinese names in pinyin by a table of the Mandarin readings of Han
// characters (go-pinyin's, from the Unihan database), so that match's suggester compares them
// with their Latin names: "华为技术有限公司" reads "hua wei", found in "Huawei Technologies".
// Importing it registers its reader with package match:
//
//	import _ "github.com/tenantsync/tenantsync/match/hanzi"
//
// The table adds about 1 MB to a binary and 2 MB of memory. A name holding kana or Hangul is Japanese or Korean
// and is not read so; a Japanese name in kanji alone is read both ways when package
// match/kanji is imported too. A match made by a reading is sound evidence
// (match.EvidenceNameSound): capped, and never accepted without proof.
package hanzi

import (
	"slices"
	"strings"

	"github.com/mozillazg/go-pinyin"

	"github.com/tenantsync/tenantsync/match"
)

func init() { match.RegisterPinyinReader(Read) }

// args asks for every reading of a character, without tones.
var args = pinyin.Args{Style: pinyin.Normal, Heteronym: true}

// Read returns the Mandarin readings of r in pinyin, lower case and without tones, the most
// common first (a match.PinyinReader); nil when r is not a Han character the table knows.
func Read(r rune) []string {
	var out []string
	for _, p := range pinyin.SinglePinyin(r, args) {
		// The table writes "ü" as "v" ("lv"); Latin names write it "u" ("Lu") as often.
		for _, v := range []string{p, strings.ReplaceAll(p, "v", "u")} {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}
