package match_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"jane@contoso.com", "JOSÉ@Bücher.DE", "jose\u0301@bücher.de", `"Jane Doe" <jane@x.com>`,
		"SMTP:Jane@X.com", "x500:/o=Org", "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", "a+b@x.com", "İ@x.com",
		"jane@xn--bcher-kva.de", "jane@ＥＸＡＭＰＬＥ.com", "ß@straße.de", "<@>", "a@b.c.", "\xff@x.com", "a@-b.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := match.ParseAddress(s)
		if err != nil {
			var ae *match.AddressError
			if !errors.As(err, &ae) || ae.Reason == "" {
				t.Fatalf("ParseAddress(%q): untyped error %v", s, err)
			}
			if !strings.Contains(err.Error(), string(ae.Reason)) || tenantsync.HintOf(err) == "" {
				t.Fatalf("ParseAddress(%q): error without reason or hint: %v", s, err)
			}
		} else {
			key := a.String()
			if !utf8.ValidString(key) || strings.Count(key, "@") < 1 || a.Local == "" || a.Domain == "" {
				t.Fatalf("ParseAddress(%q) = %q: malformed", s, key)
			}
			if a.Domain != strings.ToLower(a.Domain) || strings.ContainsFunc(a.Domain, func(r rune) bool { return r >= utf8.RuneSelf }) {
				t.Fatalf("ParseAddress(%q): domain %q is not lowercase ASCII", s, a.Domain)
			}
			b, err := match.ParseAddress(key)
			if err != nil || b.String() != key {
				t.Fatalf("canonical form of %q is not stable: %q -> %q (%v)", s, key, b.String(), err)
			}
			n, err := match.NormalizeEmail(s)
			if err != nil || n != key {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", s, n, err, key)
			}
			if p, ok := a.PlusStripped(); ok && (len(p.Local) >= len(a.Local) || p.Domain != a.Domain) {
				t.Fatalf("PlusStripped(%q) = %q", key, p.String())
			}
		}
		if p, err := match.ParseProxyAddress(s); err == nil && p.Address.IsZero() {
			t.Fatalf("ParseProxyAddress(%q) returned no address", s)
		}
		if g, err := match.DecodeGuestUPN(s); err == nil && g.IsZero() {
			t.Fatalf("DecodeGuestUPN(%q) returned no address", s)
		}
		// The matcher's allocation-free path must agree with ParseAddress.
		ix, err := match.NewIndex([]tenantsync.Contact{{ID: "c", Email: s}}, nil, nil, match.Config{ServiceAccountPatterns: []string{}, AllowGuests: true})
		if err != nil {
			t.Fatal(err)
		}
		u := tenantsync.User{TenantID: "t", ObjectID: "o", Mail: s, AccountEnabled: true}
		r := ix.Match(u, "")
		if r.Confidence < 0 || r.Confidence > 1 {
			t.Fatalf("confidence %v", r.Confidence)
		}
		parsed := err == nil && !a.IsZero()
		if _, perr := match.ParseAddress(s); perr == nil && parsed && r.Outcome != match.Matched {
			t.Fatalf("Match on %q: %s (%s), want matched", s, r.Outcome, r.Reason)
		}
	})
}

func FuzzSuggest(f *testing.F) {
	f.Add("Contoso Ltd", "contoso.com", "Contoso Limited", "contoso.com", "Fabrikam", "x.com", "jane@contoso.com", "T1")
	f.Add("Summit Dental", "", "Summit Legal LLC", "", "Summit Dental Pty", "", "a@gmail.com", "")
	f.Add("IBM", "ibm.com", "International Business Machines", "https://www.ibm.com/", "", "", "", "t")
	f.Add("Bücher Müller GmbH", "xn--bcher-kva.de", "Bücher", "bücher.de", "The Co.", ".", "@", "id")
	// Domain labels of hyphens alone ("-.onmicrosoft.com").
	f.Add("-", "--.example", "A-B", "a-b.com", "", "", "", "")
	f.Fuzz(func(t *testing.T, tName, tDomain, c1Name, c1Domain, c2Name, c2Domain, contactEmail, storedID string) {
		clients := []tenantsync.Client{
			{ID: "c1", Name: c1Name, Domains: []string{c1Domain}, TenantIDs: []string{storedID}},
			{ID: "c2", Name: c2Name, Domains: []string{c2Domain}},
			{ID: "c3", Name: c1Name + " " + c2Name},
		}
		contacts := []tenantsync.Contact{{ID: "k1", ClientID: "c2", Email: contactEmail}, {ID: "k2", ClientID: "c3", Email: contactEmail}}
		tenants := []tenantsync.Tenant{{ID: "T1", DisplayName: tName, DefaultDomain: tDomain, InitialDomain: tName + ".onmicrosoft.com",
			Domains: []string{tDomain, c2Domain}}}
		first, err := match.Suggest(tenants, clients, contacts, match.SuggestConfig{})
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(clients)
		slices.Reverse(contacts)
		second, err := match.Suggest(tenants, clients, contacts, match.SuggestConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 1 || len(second) != 1 {
			t.Fatalf("want one suggestion per tenant")
		}
		a, b := first[0], second[0]
		if a.AutoAccept != b.AutoAccept || a.ClientID != b.ClientID || len(a.Candidates) != len(b.Candidates) {
			t.Fatalf("not deterministic:\n%+v\n%+v", a, b)
		}
		for i, c := range a.Candidates {
			if c.ClientID != b.Candidates[i].ClientID || c.Confidence != b.Candidates[i].Confidence {
				t.Fatalf("not deterministic at %d:\n%+v\n%+v", i, a, b)
			}
			if !(c.Confidence >= 0 && c.Confidence <= 1) {
				t.Fatalf("confidence %v outside [0,1]", c.Confidence)
			}
			if i > 0 && a.Candidates[i-1].Confidence < c.Confidence {
				t.Fatalf("candidates out of order: %+v", a.Candidates)
			}
			for _, s := range c.Signals {
				if !(s.Score >= 0 && s.Score <= 1) {
					t.Fatalf("signal score %v outside [0,1]", s.Score)
				}
			}
		}
		if a.AutoAccept && (a.ClientID != a.Candidates[0].ClientID || a.Candidates[0].Confidence < match.DefaultAutoAcceptMin) {
			t.Fatalf("auto-accepted a weak or different candidate: %+v", a)
		}
		if s := match.NameSimilarity(tName, c1Name); !(s >= 0 && s <= 1) || s != match.NameSimilarity(c1Name, tName) {
			t.Fatalf("NameSimilarity(%q, %q) = %v, not symmetric or outside [0,1]", tName, c1Name, s)
		}
	})
}
