package match

import (
	"slices"
	"strings"
	"testing"
)

// The keys a Japanese name and a Latin one meet by: the name before the first kind (run into
// the name or a word of its own) with each word the kind translates into, and the name alone
// when it says enough; voiced and unvoiced consonants one.
func TestBrandKinds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		roman string
		want  []string // a subset of the keys
		none  bool
	}{
		{"mutou kougyou", []string{"mto|industries", "mto|kogyo"}, false},
		{"namurazousensho", []string{"namra|shipyard", "namra|shipbuilding"}, false},
		{"maru daka kougyou", []string{brandKey("marutaka") + "|industry"}, false},
		{"satou shouji", []string{"sato|trading"}, false}, // never "SAT Trading"
		{"daidou metaru kougyou", []string{brandKey("daidometal") + "|"}, false},
		{"kougyou", nil, true},        // a kind alone names nothing
		{"toyota motaazu", nil, true}, // no kind
	} {
		got := scriptBrandKinds(strings.Fields(c.roman))
		if c.none != (got == nil) {
			t.Errorf("scriptBrandKinds(%q) = %q", c.roman, got)
		}
		for _, k := range c.want {
			if !slices.Contains(got, k) {
				t.Errorf("scriptBrandKinds(%q) = %q, want %q among them", c.roman, got, k)
			}
		}
	}
	if got := latinBrandKinds([]string{"mutoh", "industries"}); !slices.Contains(got, "mto|industries") {
		t.Errorf("latinBrandKinds(Mutoh Industries) = %q, want mto|industries", got)
	}
	if got := latinBrandKinds([]string{"tsuji", "heavy", "industries"}); !slices.Contains(got, brandKey("tsuji")+"|industries") || !slices.Contains(got, brandKey("tsuji")+"|heavy") {
		t.Errorf("latinBrandKinds(Tsuji Heavy Industries) = %q, want the name before the first kind with each kind", got)
	}
	for _, toks := range [][]string{{"tokyo", "electron"}, {"mt", "industries"}} {
		for _, k := range latinBrandKinds(toks) {
			if !strings.HasSuffix(k, "|") {
				t.Errorf("latinBrandKinds(%q) = %q: a word that only begins like a kind, or a name of two letters", toks, k)
			}
		}
	}
	if got := latinBrandKinds([]string{"suzunaka", "kogyo"}); !slices.Contains(got, brandKey("suzunaka")+"|kogyo") {
		t.Errorf("latinBrandKinds(Suzunaka Kogyo) = %q, want the romanised kind", got)
	}
	// Latin names keep "ei" romanised ("Hitachi Seisakusho"), as the reading does.
	if got, want := latinBrandKinds([]string{"maruyama", "seisakusho"}), scriptBrandKinds([]string{"maruyama", "seisakusho"}); sharedBrandKind(want, got) == "" {
		t.Errorf("latinBrandKinds(Maruyama Seisakusho) = %q, scriptBrandKinds(maruyama seisakusho) = %q, want a key in common", got, want)
	}
	if got := latinBrandKinds([]string{"industries"}); got != nil {
		t.Errorf("latinBrandKinds(Industries) = %q, want none: a kind alone", got)
	}
	if brandKey("marutaka") != brandKey("marudaka") || brandKey("mutoh") != brandKey("mutou") || brandKey("satou") == brandKey("sat") {
		t.Errorf("brandKey: %q %q %q %q", brandKey("marutaka"), brandKey("marudaka"), brandKey("mutoh"), brandKey("mutou"))
	}
}
