package match

import (
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
)

// Chinese names are read only by a registered reader (package match/hanzi registers a
// table's): without one a Chinese name is compared by spelling only, with one by its pinyin,
// and never accepted on it, even when the client also has a contact on the tenant's domain.
// Not parallel: it registers a reader for the package.
func TestPinyinReaderRegistration(t *testing.T) {
	prev := pinyinReader.Load()
	t.Cleanup(func() { pinyinReader.Store(prev) })
	clients := []tenantsync.Client{{ID: "c1", Name: "Huawei Technologies Co., Ltd."}, {ID: "c2", Name: "Hua Xia Bank"}}
	contacts := []tenantsync.Contact{{ID: "p1", ClientID: "c1", Email: "li@huawei-example.cn"}}
	suggest := func() Suggestion {
		s, err := NewSuggester(clients, contacts, SuggestConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "华为技术有限公司", Domains: []string{"huawei-example.cn"}})
	}

	RegisterPinyinReader(nil)
	if sg := suggest(); len(sg.Candidates) > 0 && hasEvidence(sg.Candidates[0], EvidenceNameSound) {
		t.Fatalf("without a reader: %+v, want no match by sound", sg.Candidates)
	}

	RegisterPinyinReader(func(r rune) []string {
		return map[rune][]string{'华': {"hua"}, '为': {"wei"}}[r]
	})
	sg := suggest()
	if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != "c1" || !hasEvidence(sg.Candidates[0], EvidenceNameSound) {
		t.Fatalf("with a reader: %+v, want c1 by sound", sg.Candidates)
	}
	if sg.AutoAccept {
		t.Fatalf("accepted on a pinyin reading and one contact: %+v (%s)", sg.Candidates[0], sg.Reason)
	}
	if d := sg.Candidates[0].Signals; !strings.Contains(d[0].Detail+d[len(d)-1].Detail, "pinyin") {
		t.Errorf("evidence %+v, want the pinyin reading named", d)
	}
	// A character the reader does not know leaves the name unread: half a reading would
	// compare as something it is not.
	if items := readHanzi("华为龘"); items != nil {
		t.Errorf("readHanzi with an unknown character = %+v, want nil", items)
	}
}
