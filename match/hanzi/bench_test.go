package hanzi_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

// BenchmarkSuggestChineseName suggests for Chinese names of 17 and 60 characters against 5,000
// Latin clients whose words are pinyin syllables and English words ("long hang", "sun"): the
// pinyin words of a name are found once, not for every client compared.
func BenchmarkSuggestChineseName(b *testing.B) {
	words := strings.Fields("long hang man ban fan tan sun china ring song pen bang chang change shine lane dental plumbing acme harbour summit maple cedar pioneer atlas beacon crescent horizon lakeside meadow northgate oakridge pinnacle quarry redwood silverline trinity unity wang ming hua wei tech group bank trading shan dong nan bei xin hong kong ping an zhong guo")
	clients := make([]tenantsync.Client, 0, 5000)
	x := uint32(1)
	for i := range 5000 {
		var n []string
		for range 3 {
			x = x*1664525 + 1013904223
			n = append(n, words[int(x>>8)%len(words)])
		}
		clients = append(clients, tenantsync.Client{ID: strconv.Itoa(i), Name: strings.Join(n, " ")})
	}
	s, err := match.NewSuggester(clients, nil, match.SuggestConfig{})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"深圳市龙行长乐重华电子科技有限公司", strings.Repeat("长行重乐还都", 10)} {
		b.Run(strconv.Itoa(len([]rune(name)))+"-characters", func(b *testing.B) {
			for b.Loop() {
				s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: name})
			}
		})
	}
}
