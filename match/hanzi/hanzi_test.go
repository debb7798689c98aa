package hanzi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/match/hanzi"
)

func soundSignal(c match.Candidate) (match.Signal, bool) {
	i := slices.IndexFunc(c.Signals, func(s match.Signal) bool { return s.Evidence == match.EvidenceNameSound })
	if i < 0 {
		return match.Signal{}, false
	}
	return c.Signals[i], true
}

func TestRead(t *testing.T) {
	t.Parallel()
	for r, want := range map[rune]string{'华': "hua", '为': "wei", '行': "xing", '绿': "lv"} {
		if got := hanzi.Read(r); len(got) == 0 || !slices.Contains(got, want) {
			t.Errorf("Read(%q) = %q, want it to hold %q", r, got, want)
		}
	}
	if got := hanzi.Read('行'); !slices.Contains(got, "hang") {
		t.Errorf("Read('行') = %q: every reading is wanted (银行, yinhang)", got)
	}
	if got := hanzi.Read('绿'); !slices.Contains(got, "lu") {
		t.Errorf("Read('绿') = %q: Latin names write ü as u too", got)
	}
	if got := hanzi.Read('a'); got != nil {
		t.Errorf("Read('a') = %q, want nil", got)
	}
}

// A tenant named in Chinese finds the client whose Latin name spells its brand and place in
// pinyin and translates its kinds, and the other way round; a client that shares only kinds
// ("technology") is not matched; a match by reading is never accepted.
func TestChineseNamesByPinyin(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "c1", Name: "Huawei Technologies (China)"},
		{ID: "c2", Name: "Zhejiang Haikang Zhilian Science and Technology Co."},
		{ID: "c3", Name: "China Coal Research Institute"},
		{ID: "c4", Name: "Yinhe Technology Group"},
		{ID: "c5", Name: "China Technology Group"},
		{ID: "c6", Name: "浙江大华技术股份有限公司"},
		{ID: "c7", Name: "Changsha Aier Eye Hospital"},
	}
	for i := range 60 {
		clients = append(clients, tenantsync.Client{ID: "f" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Name: "Filler " + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " Technology Group"})
	}
	s, err := match.NewSuggester(clients, nil, match.SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{
		"华为技术有限公司":                  "c1",
		"浙江海康智联科技有限公司":              "c2",
		"中国煤炭科学研究总院":                "c3",
		"Zhejiang Dahua Technology": "c6",
		"爱尔眼科医院":                    "c7",
		"中国科技集团":                    "c5",
	} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant})
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != want {
			t.Errorf("%s: candidates %+v, want %s first", tenant, sg.Candidates, want)
			continue
		}
		sig, ok := soundSignal(sg.Candidates[0])
		if sg.AutoAccept || !ok || !strings.Contains(sig.Detail, "pinyin") {
			t.Errorf("%s: auto-accepted %v, signals %+v; want a pinyin hint a person confirms", tenant, sg.AutoAccept, sg.Candidates[0].Signals)
		}
	}
	sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "华为技术有限公司"})
	if sig, _ := soundSignal(sg.Candidates[0]); !strings.Contains(sig.Detail, `reads "huawei technologies"`) {
		t.Errorf("evidence %q, want the reading", sig.Detail)
	}
	for _, tenant := range []string{"科技集团有限公司", "集团"} {
		for _, c := range s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant}).Candidates {
			if _, ok := soundSignal(c); ok {
				t.Errorf("%s: %s (%s) matched by kinds alone: %+v", tenant, c.ClientID, c.ClientName, c.Signals)
			}
		}
	}
	// A Japanese name (kana) is not read in pinyin.
	for _, c := range s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "ファーウェイ・ジャパン株式会社"}).Candidates {
		if sig, ok := soundSignal(c); ok && strings.Contains(sig.Detail, "pinyin") {
			t.Errorf("a Japanese name read in pinyin: %+v", sig)
		}
	}
}

// Chinese names, mixed with Latin words, brackets and full-width punctuation, against Latin and
// Chinese clients: no panic, a confidence in [0,1], and no automatic acceptance on a reading.
func FuzzSuggestChinese(f *testing.F) {
	f.Add("华为技术有限公司", "Huawei Technologies (China)", "浙江大华技术股份有限公司", "huawei.example")
	f.Add("开元教育科技（深圳）有限公司", "Creative Education Technology (Shenzhen) Co., Ltd.", "ABC科技", "")
	f.Add("公司", "有限公司", "【】", "-")
	f.Add("厦门航空", "Sha Men Aviation", "Xiamen Aviation", "xiamenair.example")
	f.Fuzz(func(t *testing.T, tenant, c1, c2, domain string) {
		s, err := match.NewSuggester([]tenantsync.Client{{ID: "c1", Name: c1}, {ID: "c2", Name: c2}}, nil, match.SuggestConfig{})
		if err != nil {
			t.Fatal(err)
		}
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: tenant, DefaultDomain: domain})
		for _, c := range sg.Candidates {
			if !(c.Confidence >= 0 && c.Confidence <= 1) {
				t.Fatalf("confidence %v outside [0,1]", c.Confidence)
			}
		}
		if sg.AutoAccept {
			t.Fatalf("accepted on a name alone: %+v (%s)", sg.Candidates, sg.Reason)
		}
	})
}
