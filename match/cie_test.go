package match

import (
	"testing"

	"github.com/tenantsync/tenantsync"
)

// "CIE" may be initials: read as "Compagnie" it is a reading, so "CIE Consulting Ltd" and
// "Company Consulting Ltd" are never one name, and one contact of that client on the
// tenant's domain does not make it an automatic acceptance.
func TestCIEInitialsAreNotTheWordCompany(t *testing.T) {
	t.Parallel()
	for _, c := range []oneContact{
		{"CIE Consulting Ltd", "cieconsulting.co.uk", "Company Consulting Ltd", ""},
		{"CIE Solutions Ltd", "ciesolutions.co.uk", "Firma Solutions Ltd", ""},
	} {
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c.tenant, DefaultDomain: c.dom},
			[]tenantsync.Client{{ID: "wrong", Name: c.wrong}},
			[]tenantsync.Contact{{ID: "p", ClientID: "wrong", Email: "mike@" + c.dom}})
		if sg.AutoAccept {
			t.Errorf("%q on %s auto-accepted as %q: %s", c.tenant, c.dom, c.wrong, sg.Reason)
		}
	}
	q, cl := parseName("CIE Consulting"), parseName("Company Consulting")
	if m := compareNames(&q, &cl, nil); m.sim == 1 && !m.reading {
		t.Errorf("compareNames(CIE Consulting, Company Consulting) = %.2f (%s), read as written: an acronym is not a word", m.sim, m.why)
	}
}

// A name opening with its kind of business ("Pharmacie", "Atelier", "Studio", "Maison",
// "Cabinet") has its brand second: the client bearing the brand ranks above the client
// sharing only the kind word.
func TestBrandAfterAKindWordStaysFirst(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ tenant, right, wrong string }{
		{"Pharmacie Girard", "Girard Santé", "Pharmacie Centrale du Marché"},
		{"Atelier Lumiere", "Lumiere Design", "Atelier du Chocolat Bordeaux"},
		{"Studio Bramley", "Bramley Architects", "Studio Nine Creative Agency"},
		{"Maison Moreau", "Moreau Traiteur", "Maison du Monde Interiors"},
		{"Cabinet Lefebvre", "Lefebvre Avocats", "Cabinet Dentaire du Parc"},
	} {
		sg := suggestAmong(t, tenantsync.Tenant{DisplayName: c.tenant},
			[]tenantsync.Client{{ID: "right", Name: c.right}, {ID: "wrong", Name: c.wrong}}, nil)
		if len(sg.Candidates) == 0 || sg.Candidates[0].ClientID != "right" {
			t.Errorf("%q: %q (shares only the kind word) ranks above %q (shares the brand): %+v", c.tenant, c.wrong, c.right, sg.Candidates)
		}
	}
}

// A lone "Cie" closing a name is a legal form, as "Co" is: "Durand et Cie" is "Durand Cie",
// not a tie with "Durand Electricite".
func TestLoneCieIsALegalFormLikeCo(t *testing.T) {
	t.Parallel()
	sg := suggestAmong(t, tenantsync.Tenant{DisplayName: "Durand et Cie"},
		[]tenantsync.Client{{ID: "right", Name: "Durand Cie"}, {ID: "wrong", Name: "Durand Electricite"}}, nil)
	if len(sg.Candidates) < 2 || sg.Candidates[0].ClientID != "right" || sg.Candidates[0].Rank == sg.Candidates[1].Rank {
		t.Errorf("Durand et Cie: want Durand Cie alone first, got %+v", sg.Candidates)
	}
	q, cl := parseName("Durand Cie"), parseName("Durand & Cie")
	if m := compareNames(&q, &cl, nil); m.sim < 0.95 {
		t.Errorf("compareNames(Durand Cie, Durand & Cie) = %.2f (%s), want the same name as \"Durand Co\" and \"Durand & Co\"", m.sim, m.why)
	}
}
