package match

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync"
)

// soundOf returns c's name-sound signal, if any.
func soundOf(c Candidate) (Signal, bool) {
	i := slices.IndexFunc(c.Signals, func(s Signal) bool { return s.Evidence == EvidenceNameSound })
	if i < 0 {
		return Signal{}, false
	}
	return c.Signals[i], true
}

// A client sharing only the tenant's trade word or town ("Heating", "(Norwich)") never ranks
// above the clients sharing the brand the tenant's name opens with, though the trade word is
// in one client name and the brand in two.
func TestBrandOutranksTradeOrTownWord(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tenant string
		brand  []string // clients bearing the tenant's brand
		other  string   // a client sharing only a trade word or a town
	}{
		{"Thompson Heating", []string{"Thompson Electrical Ltd", "Thompson Motors Group"}, "Cotswold Heating Ltd"},
		{"Westbury Norwich", []string{"Westbury Dental Surgery", "Westbury Electrical"}, "Bell Windows (Norwich)"},
		{"Thames Norwich", []string{"Thames Logistics UK Ltd", "Thames Electrical Ltd"}, "Bell Windows (Norwich)"},
	} {
		clients := []tenantsync.Client{{ID: "other", Name: c.other}}
		for i, b := range c.brand {
			clients = append(clients, tenantsync.Client{ID: "brand" + string(rune('a'+i)), Name: b})
		}
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c.tenant}, clients, nil)
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID == "other" {
			t.Errorf("%q: %q (shares only %q) ranks first over the clients named %q: %+v", c.tenant, c.other,
				strings.Fields(c.tenant)[1], strings.Fields(c.tenant)[0], sg.Candidates)
		}
	}
}

// A town shared with a client ("Southampton") does not lift it above the clients bearing the
// tenant's brand ("Horizon"), and a lifted score says what lifted it.
func TestSharedTownNeitherLeadsNorHidesWhy(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Horizon Southampton"}, []tenantsync.Client{
		{ID: "x0", Name: "Horizon Recruitment Limited"},
		{ID: "x1", Name: "Horizon Care Homes Ltd"},
		{ID: "x2", Name: "Scott Ashford Opticians (Southampton)"},
		{ID: "x3", Name: "Baker Roofing Supplies (Bristol)"},
		{ID: "x4", Name: "Parker Insurance Limited"},
		{ID: "x5", Name: "Parker Electrical Ltd"},
	}, nil)
	if len(sg.Candidates) == 0 {
		t.Fatal("no candidates")
	}
	if !strings.HasPrefix(sg.Candidates[0].ClientName, "Horizon") {
		t.Errorf("first %q, want a Horizon client: %+v", sg.Candidates[0].ClientName, sg.Candidates)
	}
	for _, c := range sg.Candidates {
		if c.ClientID != "x2" {
			continue
		}
		if d := c.Signals[0].Detail; !strings.Contains(d, "southampton") || strings.Contains(d, "found whole") {
			t.Errorf("evidence %q: the score was lifted by the shared word \"southampton\", the reason does not say so", d)
		}
	}
}

// The commonest Japanese family names end in -tou or -dou (Satou, Katou, Itou, Mutou, Kudou,
// Andou): their spelling keeps the o, so with a kind they never sound like initials with the
// same kind ("サトウ ショウジ" and "SAT Trading Ltd"; "ムトウ コウギョウ" and "MT Industries").
func TestJapaneseSurnameIsNoInitialism(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "mutoh", Name: "Mutoh Industries Ltd"},
		{ID: "kudo", Name: "Kudo Electric Works"},
		{ID: "mt", Name: "MT Industries Ltd"},
		{ID: "ct", Name: "CT Electrical Ltd"},
		{ID: "sat", Name: "SAT Trading Ltd"},
		{ID: "kat", Name: "KAT Trading Ltd"},
		{ID: "it", Name: "IT Engineering Ltd"},
		{ID: "ant", Name: "ANT Construction Ltd"},
	}
	for _, q := range []string{"ムトウ コウギョウ", "クドウデンキ", "サトウ ショウジ", "カトウ ショウジ", "イトウ ギケン", "アンドウ ケンセツ"} {
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: q}, clients, nil)
		for _, c := range sg.Candidates {
			if sig, ok := soundOf(c); ok && slices.Contains([]string{"mt", "ct", "sat", "kat", "it", "ant"}, c.ClientID) {
				t.Errorf("%s: initialism client %q matched by sound (rank %d): %s", q, c.ClientName, c.Rank, sig.Detail)
			}
		}
	}
}

// A name in Latin letters with its kind in kana ("Mutoh コウギョウ") matches by its kind
// translated; the evidence never names that kind and its translation as words that tell the
// names apart. Another client named "Mutoh" makes the branch rule look at them.
func TestKindMatchEvidenceDoesNotContradictItself(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Mutoh コウギョウ"}, []tenantsync.Client{{ID: "r", Name: "Mutoh Industries Ltd"}, {ID: "h", Name: "Mutoh"}}, nil)
	i := slices.IndexFunc(sg.Candidates, func(c Candidate) bool { return c.ClientID == "r" })
	if i < 0 {
		t.Fatalf("Mutoh Industries not a candidate: %+v", sg.Candidates)
	}
	d := sg.Candidates[i].Signals[0].Detail
	if strings.Contains(d, "the kind translated") && strings.Contains(d, `" and "industries" tell them apart`) {
		t.Errorf("evidence contradicts itself: %s", d)
	}
}
