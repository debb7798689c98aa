package kanji_test

import (
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

// The commonest Japanese family names in kanji (武藤 Mutou, 佐藤 Satou, 加藤 Katou, 伊藤 Itou,
// 安藤 Andou, 工藤 Kudou) with a kind never find clients named by initials with that kind.
func TestKanjiSurnamesAreNotInitialisms(t *testing.T) {
	t.Parallel()
	s, err := match.NewSuggester([]tenantsync.Client{
		{ID: "mutoh", Name: "Mutoh Industries Ltd. (Japan)"},
		{ID: "mt", Name: "MT Industries Ltd"},
		{ID: "ct", Name: "CT Electrical Ltd"},
		{ID: "it", Name: "IT Engineering Ltd"},
		{ID: "kat", Name: "KAT Trading Ltd"},
		{ID: "sat", Name: "SAT Trading Ltd"},
		{ID: "ant", Name: "ANT Construction Ltd"},
	}, nil, match.SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, wrong := range map[string]string{
		"武藤工業株式会社": "mt", "工藤電機株式会社": "ct", "伊藤技研株式会社": "it", "加藤商事株式会社": "kat", "佐藤商事株式会社": "sat", "安藤建設株式会社": "ant",
	} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
		for _, c := range sg.Candidates {
			if sig, ok := soundSignal(c); ok && c.ClientID == wrong {
				t.Errorf("%s: %q matched by sound at rank %d: %s", tenant, c.ClientName, c.Rank, sig.Detail)
			}
		}
	}
}

// A Latin word that only begins like a kind is no kind: "東京電機" (Tokyo Denki) is not "Tokyo
// Electron Ltd", another company.
func TestWordBeginningLikeAKindIsNoKind(t *testing.T) {
	t.Parallel()
	s, err := match.NewSuggester([]tenantsync.Client{{ID: "tel", Name: "Tokyo Electron Ltd"}}, nil, match.SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "東京電機株式会社"})
	for _, c := range sg.Candidates {
		if sig, ok := soundSignal(c); ok {
			t.Errorf("東京電機 matched %q by sound: %s", c.ClientName, sig.Detail)
		}
	}
}

// The evidence names the Latin words the Japanese name was compared with: "辻産業" sounds like
// "Tsuji", the words of "Tsuji Heavy Industries" before its first kind, not "Tsuji Heavy".
func TestEvidenceNamesTheWordsCompared(t *testing.T) {
	t.Parallel()
	s, err := match.NewSuggester([]tenantsync.Client{{ID: "tsuji", Name: "Tsuji Heavy Industries Co., Ltd."}}, nil, match.SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "辻産業株式会社"})
	if len(sg.Candidates) == 0 {
		t.Fatal("no candidates")
	}
	if sig, ok := soundSignal(sg.Candidates[0]); !ok || !strings.Contains(sig.Detail, `sounds like "tsuji" in`) {
		t.Errorf("signals %+v, want evidence naming \"tsuji\", the words compared", sg.Candidates[0].Signals)
	}
}
