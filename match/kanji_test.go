package match

import (
	"testing"

	"github.com/tenantsync/tenantsync"
)

// Kanji names are read only by a registered reader (package match/kanji registers a
// dictionary's): without one a kanji name is compared by spelling only, with one by the sound
// of its reading, and never accepted on it. Not parallel: it registers a reader for the package.
func TestKanjiReaderRegistration(t *testing.T) {
	prev := kanjiReader.Load()
	t.Cleanup(func() { kanjiReader.Store(prev) })
	clients := []tenantsync.Client{{ID: "c1", Name: "Kirishima Shuzou Co., Ltd."}, {ID: "c2", Name: "Kirin Holdings"}}
	suggest := func() Suggestion {
		s, err := NewSuggester(clients, nil, SuggestConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: "霧島酒造株式会社"})
	}

	RegisterKanjiReader(nil)
	if sg := suggest(); len(sg.Candidates) > 0 && hasEvidence(sg.Candidates[0], EvidenceNameSound) {
		t.Fatalf("without a reader: %+v, want no match by sound", sg.Candidates)
	}

	var asked []string
	RegisterKanjiReader(func(name string) (string, bool) {
		asked = append(asked, name)
		if name == "霧島酒造" {
			return "キリシマシュゾウ", true
		}
		return "", false
	})
	sg := suggest()
	if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != "c1" || !hasEvidence(sg.Candidates[0], EvidenceNameSound) || sg.AutoAccept {
		t.Fatalf("with a reader (asked %q): %+v auto %v, want c1 by sound, not accepted", asked, sg.Candidates, sg.AutoAccept)
	}
}
