package match

import (
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
)

// Kanji names are read by a dictionary and compared by sound like kana: the whole name, or
// its first word when the Latin name translates the rest.
func TestKanjiBySound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ script, latin, why string }{
		{"霧島酒造株式会社", "Kirishima Shuzou Co., Ltd.", "read by a dictionary"},
		{"高梨乳業株式会社", "Takanashi Milk Products", "the first word of"},
		{"株式会社丸山製作所", "Maruyama MFG. Co.", "the first word of"},
	} {
		ps, pl := parseName(c.script), parseName(c.latin)
		for _, m := range []nameMatch{compareNames(&ps, &pl, nil), compareNames(&pl, &ps, nil)} {
			if m.sim < DefaultMinNameSim || m.sim > soundSimMax || !m.bySound || !strings.Contains(m.why, c.why) {
				t.Errorf("%q vs %q: %.2f bySound=%v (%s), want a sound match (%s)", c.script, c.latin, m.sim, m.bySound, m.why, c.why)
			}
		}
	}
	for _, c := range [][2]string{{"霧島酒造株式会社", "Sony Corporation"}, {"高梨乳業株式会社", "Tanaka Milk Products"}} {
		ps, pl := parseName(c[0]), parseName(c[1])
		if m := compareNames(&ps, &pl, nil); m.bySound {
			t.Errorf("%q vs %q: %.2f by sound (%s), want no sound match", c[0], c[1], m.sim, m.why)
		}
	}
}

// A tenant named in kanji finds the client its reading spells, and is never accepted on it.
func TestSuggestKanjiNotAutoAccepted(t *testing.T) {
	t.Parallel()
	s, err := NewSuggester([]tenantsync.Client{
		{ID: "c1", Name: "Kirishima Shuzou Co., Ltd."},
		{ID: "c2", Name: "Kirin Holdings"},
		{ID: "c3", Name: "Takanashi Milk Products"},
	}, nil, SuggestConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tenant, want string }{{"霧島酒造株式会社", "c1"}, {"高梨乳業株式会社", "c3"}} {
		sg := s.Suggest(tenantsync.Tenant{ID: "t", DisplayName: c.tenant})
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != c.want {
			t.Fatalf("%s: candidates %+v, want %s first", c.tenant, sg.Candidates, c.want)
		}
		if sg.AutoAccept || !hasEvidence(sg.Candidates[0], EvidenceNameSound) {
			t.Errorf("%s: auto-accepted %v, signals %+v; want a sound hint a person confirms", c.tenant, sg.AutoAccept, sg.Candidates[0].Signals)
		}
	}
}

// A company name the dictionary knows whole is read with its kind apart, so its first word
// compares with the Latin name's; a family name stays whole.
func TestReadKanjiSplitsKind(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"日阪製作所", "ヒサカ セイサクショ"}, {"ダイニチ工業", "ダイニチ コウギョウ"}, {"みのる産業", "ミノル サンギョウ"}, {"高橋", "タカハシ"},
	} {
		if got, ok := readKanji(foldName(c[0])); !ok || got != c[1] {
			t.Errorf("readKanji(%q) = %q, %v; want %q", c[0], got, ok, c[1])
		}
	}
	if _, ok := readKanji(foldName("Sony")); ok {
		t.Errorf("readKanji(Sony) read a name without kanji")
	}
}
