package match_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, display string
	}{
		{"lowercases both parts", "Jane.Doe@Contoso.COM", "jane.doe@contoso.com", ""},
		{"trims", "  jane@contoso.com\t", "jane@contoso.com", ""},
		{"keeps dots", "j.a.n.e@contoso.com", "j.a.n.e@contoso.com", ""},
		{"keeps a literal plus", "Sales+EU@contoso.com", "sales+eu@contoso.com", ""},
		{"drops the root dot", "jane@contoso.com.", "jane@contoso.com", ""},
		{"quoted display name", `"Jane Doe" <Jane@Contoso.com>`, "jane@contoso.com", "Jane Doe"},
		{"bare display name", "Jane <jane@contoso.com>", "jane@contoso.com", "Jane"},
		{"display name with comma", `"Doe, Jane" <jane@contoso.com>`, "jane@contoso.com", "Doe, Jane"},
		{"angle brackets only", "<jane@contoso.com>", "jane@contoso.com", ""},
		{"IDN domain to A-label", "JOSÉ@Bücher.DE", "josé@xn--bcher-kva.de", ""},
		{"decomposed é composes", "jose\u0301@bücher.de", "josé@xn--bcher-kva.de", ""},
		{"A-label stays", "josé@XN--BCHER-KVA.de", "josé@xn--bcher-kva.de", ""},
		{"full-width domain maps", "jane@ＣＯＮＴＯＳＯ.com", "jane@contoso.com", ""},
		{"sharp s kept (non-transitional)", "ß@straße.de", "ß@xn--strae-oqa.de", ""},
		{"hyphens inside a label", "jane@ab--cd.com", "jane@ab--cd.com", ""},
		{"digits in labels", "jane@365.contoso.co.uk", "jane@365.contoso.co.uk", ""},
		{"atext specials", "o'brien!#$%&*/=?^_`{|}~-@contoso.com", "o'brien!#$%&*/=?^_`{|}~-@contoso.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := match.ParseAddress(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.String())
			assert.Equal(t, tt.display, a.Display)
			again, err := match.ParseAddress(a.String())
			require.NoError(t, err)
			assert.Equal(t, a.String(), again.String(), "canonical form is stable")
			n, err := match.NormalizeEmail(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, n)
		})
	}
}

func TestParseAddressRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     match.Reason
	}{
		{"empty", "  ", match.ReasonEmpty},
		{"no at", "jane.contoso.com", match.ReasonNoAt},
		{"nothing before at", "@contoso.com", match.ReasonLocalEmpty},
		{"nothing after at", "jane@", match.ReasonDomainEmpty},
		{"single label", "jane@localhost", match.ReasonDomainInvalid},
		{"IP address", "jane@10.0.0.1", match.ReasonDomainInvalid},
		{"underscore in domain", "jane@con_toso.com", match.ReasonDomainInvalid},
		{"leading hyphen", "jane@-contoso.com", match.ReasonDomainInvalid},
		{"trailing hyphen", "jane@contoso-.com", match.ReasonDomainInvalid},
		{"empty label", "jane@contoso..com", match.ReasonDomainInvalid},
		{"bad punycode", "jane@xn--zz.com", match.ReasonDomainInvalid},
		{"label too long", "jane@" + strings.Repeat("a", 64) + ".com", match.ReasonDomainInvalid},
		{"doubled dot", "ja..ne@contoso.com", match.ReasonLocalInvalid},
		{"leading dot", ".jane@contoso.com", match.ReasonLocalInvalid},
		{"trailing dot", "jane.@contoso.com", match.ReasonLocalInvalid},
		{"quoted local part with space", `"jane doe"@contoso.com`, match.ReasonLocalInvalid},
		{"invalid UTF-8", "jan\xffe@contoso.com", match.ReasonLocalInvalid},
		{"control in Unicode local", "jos\u00e9\u0007@contoso.com", match.ReasonLocalInvalid},
		{"local part too long", strings.Repeat("a", 65) + "@contoso.com", match.ReasonTooLong},
		{"address too long", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com", match.ReasonTooLong},
		{"raw guest UPN", "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", match.ReasonGuestUPN},
		{"broken display form", `"Jane <jane@contoso.com`, match.ReasonSyntax},
		{"two addresses", "jane@contoso.com, john@contoso.com", match.ReasonSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := match.ParseAddress(tt.in)
			require.Error(t, err)
			var ae *match.AddressError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, ae.Reason)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.NotEmpty(t, d.Hint)
			assert.Equal(t, tenantsync.ErrInvalidInput, tenantsync.ClassOf(err))
			assert.Contains(t, err.Error(), string(tt.want))
			_, err = match.NormalizeEmail(tt.in)
			assert.Error(t, err)
		})
	}
}

func TestAddressErrorHints(t *testing.T) {
	t.Parallel()
	_, err := match.ParseProxyAddress("X500:/o=ExchangeLabs/ou=Exchange")
	assert.Contains(t, tenantsync.HintOf(err), "SMTP")
	_, err = match.ParseAddress("jane_gmail.com#EXT#@contoso.onmicrosoft.com")
	assert.Contains(t, tenantsync.HintOf(err), "DecodeGuestUPN")
	_, err = match.ParseAddress(strings.Repeat("x", 500))
	var ae *match.AddressError
	require.True(t, errors.As(err, &ae))
	assert.LessOrEqual(t, len(ae.Error()), 300, "the input is cut in messages")
}

func TestParseProxyAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		primary bool
		reject  bool
	}{
		{in: "SMTP:Jane@Contoso.com", want: "jane@contoso.com", primary: true},
		{in: "smtp:jane.doe@contoso.com", want: "jane.doe@contoso.com"},
		{in: "Smtp:jane@contoso.com", want: "jane@contoso.com"},
		{in: "jane@contoso.com", want: "jane@contoso.com"},
		{in: "  SMTP:jane@contoso.com ", want: "jane@contoso.com", primary: true},
		{in: "X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=jane", reject: true},
		{in: "x500:/o=First Organization/cn=jane", reject: true},
		{in: "SIP:jane@contoso.com", reject: true},
		{in: "sip:jane@contoso.com", reject: true},
		{in: "SPO:SPO_0c6e1d2a@SPO_tenant", reject: true},
		{in: "EUM:1234;phone-context=contoso.com", reject: true},
		{in: "X400:C=US;A= ;P=Contoso;O=Exchange;S=Doe;", reject: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			p, err := match.ParseProxyAddress(tt.in)
			if tt.reject {
				var ae *match.AddressError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, match.ReasonNotSMTP, ae.Reason)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Address.String())
			assert.Equal(t, tt.primary, p.Primary)
		})
	}
	_, err := match.ParseProxyAddress("smtp:not an address")
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestDecodeGuestUPN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", "jane.doe@gmail.com"},
		{"first_last_outlook.com#EXT#@contoso.onmicrosoft.com", "first_last@outlook.com"},
		{"Jane_Fabrikam.CO.UK#ext#@contoso.onmicrosoft.com", "jane@fabrikam.co.uk"},
		{"jos\u00e9_b\u00fccher.de#EXT#@contoso.onmicrosoft.com", "josé@xn--bcher-kva.de"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			assert.True(t, match.IsGuestUPN(tt.in))
			a, err := match.DecodeGuestUPN(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.String())
		})
	}
	for _, bad := range []string{"jane@contoso.com", "_gmail.com#EXT#@c.onmicrosoft.com", "jane_#EXT#@c.onmicrosoft.com",
		"janegmail.com#EXT#@c.onmicrosoft.com", "jane_localhost#EXT#@c.onmicrosoft.com", "a@b_c.com#EXT#@c.onmicrosoft.com"} {
		_, err := match.DecodeGuestUPN(bad)
		var ae *match.AddressError
		require.ErrorAs(t, err, &ae, bad)
		assert.Equal(t, match.ReasonNotGuestUPN, ae.Reason, bad)
	}
	assert.False(t, match.IsGuestUPN("jane@contoso.com"))
}

func TestAddressHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, stripped string
		ok           bool
	}{
		{"jane+news@contoso.com", "jane@contoso.com", true},
		{"jane+a+b@contoso.com", "jane@contoso.com", true},
		{"+tag@contoso.com", "+tag@contoso.com", false},
		{"jane@contoso.com", "jane@contoso.com", false},
		// Entra's duplicate-UPN resiliency, not a sub-address.
		{"jdoe+4711@contoso.onmicrosoft.com", "jdoe+4711@contoso.onmicrosoft.com", false},
		{"jdoe+4711@contoso.mail.onmicrosoft.com", "jdoe+4711@contoso.mail.onmicrosoft.com", false},
	}
	for _, tt := range tests {
		a, err := match.ParseAddress(tt.in)
		require.NoError(t, err)
		s, ok := a.PlusStripped()
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.stripped, s.String(), tt.in)
	}
	a, err := match.ParseAddress("josé@bücher.de")
	require.NoError(t, err)
	assert.Equal(t, "bücher.de", a.DomainUnicode())
	assert.False(t, a.IsOnMicrosoft())
	b, err := match.ParseAddress("jane@Contoso.com")
	require.NoError(t, err)
	assert.Equal(t, "contoso.com", b.DomainUnicode())
	c, err := match.ParseAddress("jane@contoso.mail.onmicrosoft.com")
	require.NoError(t, err)
	assert.True(t, c.IsOnMicrosoft())
	assert.Equal(t, "", match.Address{}.String())
	assert.True(t, match.Address{}.IsZero())
	assert.False(t, a.IsZero())
	assert.Equal(t, "xn--zz.com", match.Address{Local: "x", Domain: "xn--zz.com"}.DomainUnicode(), "undecodable domains are shown as they are")
}
