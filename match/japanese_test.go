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
		{"mutou kougyou", []string{"mt|industr", "mt|kogyo"}, false},
		{"namurazousensho", []string{"namra|shipyard", "namra|shipbuild"}, false},
		{"maru daka kougyou", []string{brandKey("marutaka") + "|industr"}, false},
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
	if got := latinBrandKinds([]string{"mutoh", "industries"}); !slices.Contains(got, "mt|industr") {
		t.Errorf("latinBrandKinds(Mutoh Industries) = %q, want mt|industr", got)
	}
	if got := latinBrandKinds([]string{"suzunaka", "kogyo"}); !slices.Contains(got, brandKey("suzunaka")+"|kogyo") {
		t.Errorf("latinBrandKinds(Suzunaka Kogyo) = %q, want the romanised kind", got)
	}
	if got := latinBrandKinds([]string{"industries"}); got != nil {
		t.Errorf("latinBrandKinds(Industries) = %q, want none: a kind alone", got)
	}
	if brandKey("marutaka") != brandKey("marudaka") || brandKey("mutoh") != brandKey("mutou") {
		t.Errorf("brandKey: %q %q %q %q", brandKey("marutaka"), brandKey("marudaka"), brandKey("mutoh"), brandKey("mutou"))
	}
}
