package kanji_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/match/kanji"
)

func soundSignal(c match.Candidate) (match.Signal, bool) {
	i := slices.IndexFunc(c.Signals, func(s match.Signal) bool { return s.Evidence == match.EvidenceNameSound })
	if i < 0 {
		return match.Signal{}, false
	}
	return c.Signals[i], true
}

// A tenant named in kanji finds the client its reading spells (the whole name, or its first
// word when the Latin name translates the rest), by sound, and is never accepted on it; a
// client whose name reads otherwise is not matched by sound.
func TestKanjiNamesBySound(t *testing.T) {
	t.Parallel()
	s, err := match.NewSuggester([]tenantsync.Client{
		{ID: "c1", Name: "Kirishima Shuzou Co., Ltd."},
		{ID: "c2", Name: "Kirin Holdings"},
		{ID: "c3", Name: "Takanashi Milk Products"},
		{ID: "c4", Name: "Maruyama MFG. Co."},
		{ID: "c5", Name: "Sony Corporation"},
		{ID: "c6", Name: "Tanaka Milk Products"},
	}, nil, match.SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tenant, want string }{
		{"霧島酒造株式会社", "c1"}, {"高梨乳業株式会社", "c3"}, {"株式会社丸山製作所", "c4"},
	} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: c.tenant})
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != c.want {
			t.Fatalf("%s: candidates %+v, want %s first", c.tenant, sg.Candidates, c.want)
		}
		sig, ok := soundSignal(sg.Candidates[0])
		if sg.AutoAccept || !ok || !strings.Contains(sig.Detail, "romanised") && !strings.Contains(sig.Detail, "read") {
			t.Errorf("%s: auto-accepted %v, signals %+v; want a sound hint a person confirms", c.tenant, sg.AutoAccept, sg.Candidates[0].Signals)
		}
		for _, other := range sg.Candidates {
			if _, ok := soundSignal(other); ok && (other.ClientID == "c5" || other.ClientID == "c6") {
				t.Errorf("%s: %s matched by sound: %+v", c.tenant, other.ClientID, other.Signals)
			}
		}
	}
}

// A Japanese name whose family name is too short to say much by its sound alone finds the
// client whose Latin name spells that name before the kind translated ("武藤工業", "Mutoh
// Industries"), by sound, and never the client of another name with the same kind, nor one
// of the same name with another kind.
func TestNameBeforeKindTranslated(t *testing.T) {
	t.Parallel()
	s, err := match.NewSuggester([]tenantsync.Client{
		{ID: "mutoh", Name: "Mutoh Industries Ltd. (Japan)"},
		{ID: "torii", Name: "Torii Pharmaceutical Co., Ltd. (Japan)"},
		{ID: "namura", Name: "Namura Shipbuilding Co., Ltd. (Japan)"},
		{ID: "marutaka", Name: "Marutaka Industry Inc. (Japan)"},
		{ID: "eto", Name: "ETO Manufacturing Co., Ltd. (Japan)"},
		{ID: "foster", Name: "Foster Electric Co., Ltd. (Japan)"},
		{ID: "mory", Name: "MORY Industries"},
		{ID: "tsuji", Name: "Tsuji Heavy Industries Co., Ltd."},
		{ID: "tanabe", Name: "Tanabe Pharmaceutical"},
		{ID: "mutoh-shipping", Name: "Mutoh Shipping"},
	}, nil, match.SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{
		"武藤工業株式会社": "mutoh", "鳥居薬品株式会社": "torii", "株式会社名村造船所": "namura", "丸高工業株式会社": "marutaka", "株式会社江藤製作所": "eto",
		// Katakana spell English "er" as a long "a", a closing "y" as "i"; a Latin name may put
		// another kind between the name and the one the Japanese name gives.
		"フォスター電機株式会社": "foster", "モリ工業株式会社": "mory", "辻産業株式会社": "tsuji",
	} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != want || sg.AutoAccept {
			t.Errorf("%s: candidates %+v (auto %v), want %s first, for a person", tenant, sg.Candidates, sg.AutoAccept, want)
			continue
		}
		if sig, ok := soundSignal(sg.Candidates[0]); !ok || !strings.Contains(sig.Detail, "its name before its kind sounds like") {
			t.Errorf("%s: signals %+v, want the name before the kind as evidence", tenant, sg.Candidates[0].Signals)
		}
		for _, other := range sg.Candidates[1:] {
			if _, ok := soundSignal(other); ok {
				t.Errorf("%s: %s matched by sound too: %+v", tenant, other.ClientID, other.Signals)
			}
		}
	}
}

// A company name the dictionary knows whole is read with its kind apart, so its first word
// compares with the Latin name's; a family name stays whole; a name without kanji is not read.
func TestReadSplitsKind(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"日阪製作所", "ヒサカ セイサクショ"}, {"ダイニチ工業", "ダイニチ コウギョウ"}, {"みのる産業", "ミノル サンギョウ"}, {"高橋", "タカハシ"},
	} {
		if got, ok := kanji.Read(c[0]); !ok || got != c[1] {
			t.Errorf("Read(%q) = %q, %v; want %q", c[0], got, ok, c[1])
		}
	}
	if _, ok := kanji.Read("sony"); ok {
		t.Errorf("Read(sony) read a name without kanji")
	}
}
