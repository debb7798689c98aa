package match_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/idna"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

func aLabel(t *testing.T, d string) string {
	t.Helper()
	a, err := idna.Lookup.ToASCII(d)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(a, "xn--"))
	return a
}

func TestNormalizeCompanyName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Acme Pty. Ltd.":                       "acme",
		"ACME":                                 "acme",
		"The Acme Company, Inc.":               "acme",
		"Acme Limited":                         "acme",
		"Acme L.L.C.":                          "acme",
		"Müller GmbH & Co. KG":                 "muller",
		"Smith & Sons plc":                     "smith and sons",
		"N.V. Philips' Gloeilampenfabrieken":   "philips gloeilampenfabrieken",
		"NXP B.V.":                             "nxp",
		"NXP , B.V.":                           "nxp",
		"Nordström S.A.":                       "nordstrom",
		"Straße AG":                            "strasse",
		"O'Neil Logistics Corp":                "oneil logistics",
		"Limited":                              "limited",
		"B.V.":                                 "bv",
		"Blue-Ridge   Dental":                  "blue ridge dental",
		"Sociedad Ejemplo S. de R.L. de C.V.":  "sociedad ejemplo",
		"Widgets Sp. z o.o.":                   "widgets",
		"Contoso Holdings Pty Limited Limited": "contoso holdings",
	}
	for in, want := range tests {
		assert.Equal(t, want, match.NormalizeCompanyName(in), in)
	}
}

func TestNameSimilarity(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 1, match.NameSimilarity("Contoso Ltd", "CONTOSO LIMITED"), 1e-9)
	assert.InDelta(t, 1, match.NameSimilarity("Contoso Tech", "ContosoTech Inc"), 1e-9)
	assert.InDelta(t, 0.84, match.NameSimilarity("IBM", "International Business Machines Corp"), 1e-9, "initials are a reading: at most 0.84")
	assert.Greater(t, match.NameSimilarity("Contosso", "Contoso"), 0.8, "a typo")
	assert.Less(t, match.NameSimilarity("Summit Dental", "Summit Legal"), 0.6, "a shared word is not the same company")
	assert.Less(t, match.NameSimilarity("Fabrikam", "Northwind"), 0.2)
	assert.Greater(t, match.NameSimilarity("Shell Group", "Shell Holdings"), 0.9, "generic words are discounted")
	assert.Equal(t, match.NameSimilarity("a b", "c d e"), match.NameSimilarity("c d e", "a b"))
	assert.Zero(t, match.NameSimilarity("", "Contoso"))
	assert.Zero(t, match.NameSimilarity("...", "Contoso"))
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "stored", Name: "Totally Different Name", TenantIDs: []string{"AAAAAAAA-0000-0000-0000-000000000001"}},
		{ID: "contoso", Name: "Contoso Ltd", Domains: []string{"https://www.Contoso.com/"}},
		{ID: "fabrikam", Name: "Fabrikam Inc", Domains: []string{"fabrikam.co.uk"}},
		{ID: "northwind", Name: "Northwind Traders"},
		{ID: "summit-dental", Name: "Summit Dental"},
		{ID: "summit-legal", Name: "Summit Legal LLC"},
		{ID: "apex-uk", Name: "Apex Solutions Ltd"},
		{ID: "apex-us", Name: "Apex Solutions Inc"},
		{ID: "freemail", Name: "Gmail Fans", Domains: []string{"gmail.com", "contoso.onmicrosoft.com"}},
		{ID: "buecher", Name: "Bücher Müller", Domains: []string{"Bücher-Müller.de"}},
	}
	contacts := []tenantsync.Contact{
		{ID: "n1", ClientID: "northwind", Email: "a@northwindtraders.com"},
		{ID: "n2", ClientID: "northwind", Email: "b@northwindtraders.com"},
		{ID: "n3", ClientID: "northwind", Email: "c@gmail.com"},
		{ID: "s1", ClientID: "summit-legal", Email: "accountant@northwindtraders.com"},
		{ID: "s2", ClientID: "summit-legal", Email: "a@summitlegal.com"},
		{ID: "s3", ClientID: "summit-legal", Email: "b@summitlegal.com"},
		{ID: "s4", ClientID: "summit-legal", Email: "c@summitlegal.com"},
		{ID: "s5", ClientID: "summit-legal", Email: "d@summitlegal.com"},
		{ID: "s6", ClientID: "summit-legal", Email: "e@summitlegal.com"},
		{ID: "m1", ClientID: "contoso", Email: "tech@msp.example"},
		{ID: "m2", ClientID: "fabrikam", Email: "tech@msp.example"},
		{ID: "x", ClientID: "unknown-client", Email: "x@fabrikam.co.uk"},
	}
	s, err := match.NewSuggester(clients, contacts, match.SuggestConfig{ExcludeDomains: []string{"MSP.example"}})
	require.NoError(t, err)

	tests := []struct {
		name     string
		tenant   tenantsync.Tenant
		auto     bool
		top      string
		evidence match.Evidence
		conf     float64 // 0: not checked
		none     bool
	}{
		{name: "stored tenant ID", tenant: tenantsync.Tenant{ID: "aaaaaaaa-0000-0000-0000-000000000001", DisplayName: "Whatever"},
			auto: true, top: "stored", evidence: match.EvidenceTenantID, conf: 1},
		{name: "default domain", tenant: tenantsync.Tenant{ID: "t2", DisplayName: "Contoso Holdings", DefaultDomain: "contoso.com",
			InitialDomain: "contosoholdings.onmicrosoft.com", Domains: []string{"contoso.com", "contosoholdings.onmicrosoft.com"}},
			auto: true, top: "contoso", evidence: match.EvidenceDefaultDomain, conf: match.ScoreDefaultDomain},
		{name: "a verified default domain decides even when the names differ", tenant: tenantsync.Tenant{ID: "t2b", DisplayName: "Nimbus Holdings", DefaultDomain: "contoso.com",
			InitialDomain: "nimbus.onmicrosoft.com", Domains: []string{"contoso.com", "nimbus.onmicrosoft.com"}},
			auto: true, top: "contoso", evidence: match.EvidenceDefaultDomain, conf: match.ScoreDefaultDomain},
		{name: "secondary domain only", tenant: tenantsync.Tenant{ID: "t3", DisplayName: "Kestrel Group", DefaultDomain: "kestrel.com",
			Domains: []string{"kestrel.com", "fabrikam.co.uk"}},
			auto: false, top: "fabrikam", evidence: match.EvidenceSecondaryDomain, conf: match.ScoreSecondaryDomain},
		{name: "contact domains and the name agree", tenant: tenantsync.Tenant{ID: "t4", DisplayName: "Northwind Traders Limited",
			DefaultDomain: "northwindtraders.com"}, auto: true, top: "northwind", evidence: match.EvidenceContactDomain},
		{name: "a subdomain of a client domain", tenant: tenantsync.Tenant{ID: "t5", DisplayName: "Kestrel", DefaultDomain: "uk.contoso.com"},
			auto: false, top: "contoso", evidence: match.EvidenceSameOrg, conf: match.ScoreRegistrable},
		{name: "IDN domain in A-label form", tenant: tenantsync.Tenant{ID: "t6", DisplayName: "BM", DefaultDomain: aLabel(t, "bücher-müller.de")},
			auto: true, top: "buecher", evidence: match.EvidenceDefaultDomain},
		{name: "name only is never auto-accepted", tenant: tenantsync.Tenant{ID: "t7", DisplayName: "Summit Dental Pty Ltd"},
			auto: false, top: "summit-dental", evidence: match.EvidenceName},
		{name: "two clients with one name stay manual", tenant: tenantsync.Tenant{ID: "t8", DisplayName: "Apex Solutions", DefaultDomain: "apex.example"},
			auto: false},
		{name: "public and onmicrosoft domains are no evidence", tenant: tenantsync.Tenant{ID: "t9", DisplayName: "Zzyzx",
			DefaultDomain: "gmail.com", InitialDomain: "qqqq.onmicrosoft.com", Domains: []string{"gmail.com", "outlook.com", "contoso.onmicrosoft.com"}},
			none: true},
		{name: "the MSP's own domain is no evidence", tenant: tenantsync.Tenant{ID: "t10", DisplayName: "Qwvx", DefaultDomain: "msp.example"},
			none: true},
		{name: "initial domain label is a name hint", tenant: tenantsync.Tenant{ID: "t11", DisplayName: "", InitialDomain: "northwindtraders.onmicrosoft.com"},
			auto: false, top: "northwind", evidence: match.EvidenceDomainLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sg := s.Suggest(tt.tenant)
			assert.Equal(t, tt.tenant.ID, sg.TenantID)
			assert.NotEmpty(t, sg.Reason)
			if tt.none {
				assert.Empty(t, sg.Candidates)
				assert.False(t, sg.AutoAccept)
				return
			}
			require.NotEmpty(t, sg.Candidates)
			assert.Equal(t, tt.auto, sg.AutoAccept, sg.Reason)
			for i, c := range sg.Candidates {
				assert.GreaterOrEqual(t, c.Confidence, 0.0)
				assert.LessOrEqual(t, c.Confidence, 1.0)
				if i > 0 {
					assert.GreaterOrEqual(t, sg.Candidates[i-1].Confidence, c.Confidence)
				}
				for _, sig := range c.Signals {
					assert.NotEqual(t, "freemail", c.ClientID, "gmail.com and onmicrosoft.com domains are no evidence: %+v", sig)
				}
			}
			if tt.top != "" {
				top := sg.Candidates[0]
				assert.Equal(t, tt.top, top.ClientID)
				assert.True(t, slices.ContainsFunc(top.Signals, func(s match.Signal) bool { return s.Evidence == tt.evidence }),
					"%s in %+v", tt.evidence, top.Signals)
				if tt.conf != 0 {
					assert.GreaterOrEqual(t, top.Confidence, tt.conf)
				}
			}
			if tt.auto {
				assert.Equal(t, sg.Candidates[0].ClientID, sg.ClientID)
			} else {
				assert.Empty(t, sg.ClientID)
			}
		})
	}

	t.Run("the adviser's address is weak evidence for the wrong client", func(t *testing.T) {
		t.Parallel()
		sg := s.Suggest(tenantsync.Tenant{ID: "t12", DisplayName: "Northwind Traders", DefaultDomain: "northwindtraders.com"})
		require.GreaterOrEqual(t, len(sg.Candidates), 2)
		assert.Equal(t, "northwind", sg.Candidates[0].ClientID)
		i := slices.IndexFunc(sg.Candidates, func(c match.Candidate) bool { return c.ClientID == "summit-legal" })
		require.GreaterOrEqual(t, i, 0)
		assert.InDelta(t, match.ScoreContactFew, sg.Candidates[i].Confidence, 1e-9)
	})
}

func TestSuggestBulk(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{{ID: "c1", Name: "Contoso", Domains: []string{"contoso.com", "contoso.eu"}}}
	for i := range 8 {
		clients = append(clients, tenantsync.Client{ID: "z" + string(rune('a'+i)), Name: "Contoso " + string(rune('A'+i))})
	}
	tenants := []tenantsync.Tenant{
		{ID: "t1", DisplayName: "Contoso", DefaultDomain: "contoso.com"},
		{ID: "t2", DisplayName: "Contoso Europe", DefaultDomain: "contoso.eu"},
		{ID: "t3", DisplayName: "Contoso"},
	}
	out, err := match.Suggest(tenants, clients, nil, match.SuggestConfig{TopN: 3})
	require.NoError(t, err)
	require.Len(t, out, 3)
	assert.Equal(t, "c1", out[0].ClientID, "several tenants may map to one client")
	assert.Equal(t, "c1", out[1].ClientID)
	assert.False(t, out[2].AutoAccept)
	assert.Len(t, out[2].Candidates, 3, "TopN")
	assert.Equal(t, "c1", out[2].Candidates[0].ClientID)

	for _, cfg := range []match.SuggestConfig{{AutoAcceptMin: 2}, {AutoAcceptMargin: -1}, {MinConfidence: 1.1}, {TopN: -1}} {
		_, err := match.Suggest(tenants, clients, nil, cfg)
		assert.Error(t, err)
	}
}

func TestSuggestIsDeterministic(t *testing.T) {
	t.Parallel()
	clients := []tenantsync.Client{
		{ID: "b", Name: "Contoso"}, {ID: "a", Name: "Contoso"}, {ID: "c", Name: "Contoso Ltd"},
		{ID: "d", Name: "Fabrikam", Domains: []string{"contoso.com"}}, {ID: "a", Name: "Duplicate ID"},
	}
	tenant := tenantsync.Tenant{ID: "t", DisplayName: "Contoso", DefaultDomain: "contoso.com"}
	first, err := match.Suggest([]tenantsync.Tenant{tenant}, clients, nil, match.SuggestConfig{})
	require.NoError(t, err)
	for range 5 {
		slices.Reverse(clients)
		again, err := match.Suggest([]tenantsync.Tenant{tenant}, clients, nil, match.SuggestConfig{})
		require.NoError(t, err)
		assert.Equal(t, first, again)
	}
	var ids []string
	for _, c := range first[0].Candidates {
		ids = append(ids, c.ClientID)
	}
	assert.Equal(t, "d", ids[0])
	assert.Equal(t, []string{"a", "b", "c"}, ids[1:], "tied candidates listed by client ID")
	assert.Equal(t, first[0].Candidates[1].Rank, first[0].Candidates[2].Rank, "and reported as a tie")
}
