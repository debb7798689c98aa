package cipp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/wire"
)

func TestMailboxTypeOf(t *testing.T) {
	t.Parallel()
	tests := map[string]tenantsync.MailboxType{
		"UserMailbox": tenantsync.MailboxUser, "SharedMailbox": tenantsync.MailboxShared, "roommailbox": tenantsync.MailboxRoom,
		"EquipmentMailbox": tenantsync.MailboxEquipment, "SchedulingMailbox": tenantsync.MailboxOther, "": tenantsync.MailboxOther,
	}
	for in, want := range tests {
		assert.Equal(t, want, MailboxTypeOf(in), in)
	}
}

func TestToMailboxAliases(t *testing.T) {
	t.Parallel()
	m := ToMailbox("t", Mailbox{
		ExternalDirectoryObjectID: "5B6C7D8E-9F0A-4B1C-8D2E-3F4A5B6C7D8E", PrimarySMTPAddress: "info@contoso.com", RecipientTypeDetails: "SharedMailbox",
		AdditionalEmailAddresses: "smtp:info@contoso.onmicrosoft.com, SMTP:INFO@contoso.com, x500:/o=Exchange/cn=x, sip:info@contoso.com, hello@contoso.co.uk, not-an-address",
	})
	assert.Equal(t, []string{"info@contoso.onmicrosoft.com", "hello@contoso.co.uk"}, m.Aliases)
	assert.Equal(t, "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", m.ObjectID)
	assert.Equal(t, tenantsync.MailboxShared, m.Type)
	assert.False(t, m.Type.IsPerson())
}

func TestToUser(t *testing.T) {
	t.Parallel()
	var u User
	require.NoError(t, json.Unmarshal([]byte(`{"id":"ABC","userPrincipalName":"sam_x.example#EXT#@contoso.onmicrosoft.com","accountEnabled":null,
		"Aliases":"SMTP:sam@x.example, smtp:s@x.example","assignedLicenses":[{"skuId":"F245ECC8-75AF-4F8E-B61F-27D8114DE5F3"},{"skuId":""}],
		"onPremisesSyncEnabled":true,"createdDateTime":"2025-11-02T16:45:10Z"}`), &u))
	d := ToUser("tid", u)
	assert.Equal(t, "abc", d.ObjectID)
	assert.Equal(t, "Guest", d.UserType, "an #EXT# UPN without userType is a guest")
	assert.False(t, d.AccountEnabled, "null is not enabled")
	assert.True(t, d.OnPremisesSync)
	assert.Equal(t, []string{"SMTP:sam@x.example", "smtp:s@x.example"}, d.ProxyAddresses, "ListUsers' Aliases when proxyAddresses is absent")
	assert.Equal(t, []string{"f245ecc8-75af-4f8e-b61f-27d8114de5f3"}, d.AssignedSKUs)
	assert.Equal(t, time.Date(2025, 11, 2, 16, 45, 10, 0, time.UTC), d.CreatedAt)
	assert.Equal(t, "Member", ToUser("t", User{User: wire.User{UserPrincipalName: "a@b.c"}}).UserType)
}

func TestToSubscription(t *testing.T) {
	t.Parallel()
	var lic []License
	require.NoError(t, json.Unmarshal(readTestdata(t, "ListLicenses.json"), &lic))
	s := ToSubscription("tid", lic[1])
	assert.Equal(t, tenantsync.Subscription{TenantID: "tid", SKUID: "f245ecc8-75af-4f8e-b61f-27d8114de5f3", Name: "Microsoft 365 Business Standard",
		Enabled: 5, Consumed: 1, Suspended: 2, CapabilityStatus: "Enabled"}, s)
	odd := ToSubscription("t", License{SkuPartNumber: "SPE_E3", TermInfo: []TermInfo{{Status: "Warning", TotalLicenses: 3}}})
	assert.Equal(t, "SPE_E3", odd.Name)
	assert.Equal(t, "SPE_E3", odd.SKUPartNumber)
	assert.Equal(t, 3, odd.Warning)
	assert.Equal(t, "Warning", odd.CapabilityStatus)
	assert.Equal(t, "Enabled", ToSubscription("t", License{}).CapabilityStatus)
}

func TestToTenant(t *testing.T) {
	t.Parallel()
	direct := ToTenant(Tenant{CustomerID: "ABC", DefaultDomainName: "Fabrikam.com", InitialDomainName: "fabrikam.onmicrosoft.com", DelegatedPrivilegeStatus: "directTenant", Domains: "fabrikam.com, fabrikam.co.uk, AllTenants"})
	assert.Equal(t, "abc", direct.ID)
	assert.Equal(t, "CIPP (direct tenant)", direct.Relationship)
	assert.Equal(t, []string{"fabrikam.com", "fabrikam.onmicrosoft.com", "fabrikam.co.uk"}, direct.Domains)
	assert.Equal(t, "CIPP", ToTenant(Tenant{CustomerID: "x"}).Relationship)
	assert.True(t, Tenant{CustomerID: "x", Domains: "PartnerTenant"}.IsPseudo())
}

func TestToMFAAndDomain(t *testing.T) {
	t.Parallel()
	var rows []MFAUser
	require.NoError(t, json.Unmarshal(readTestdata(t, "ListMFAUsers.json"), &rows))
	jane := ToMFAState("tid", rows[0])
	assert.True(t, jane.Registered)
	assert.True(t, jane.Capable)
	assert.True(t, jane.CoveredByCA)
	assert.False(t, jane.SecurityDefaults)
	boss := ToMFAState("tid", rows[1])
	assert.False(t, boss.Registered, "null without P1 reads as not registered")
	assert.Equal(t, "enforced", boss.PerUserState)
	assert.True(t, boss.IsAdmin)

	assert.True(t, ToDomain("t", Domain{ID: "Contoso.com", IsDefault: true}).IsVerified, "default domains are verified")
	assert.False(t, ToDomain("t", Domain{ID: "x.com"}).IsVerified)
	no := false
	assert.False(t, ToDomain("t", Domain{ID: "x.com", IsDefault: true, IsVerified: &no}).IsVerified)
}

func TestCAPolicyRequiresMFA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    CAPolicy
		want bool
	}{
		{CAPolicy{RawJSON: `{"grantControls":{"builtInControls":["MFA"]}}`}, true},
		{CAPolicy{RawJSON: `{"grantControls":{"builtInControls":["block"],"authenticationStrength":{"id":"x"}}}`}, true},
		{CAPolicy{RawJSON: `{"grantControls":{"builtInControls":["compliantDevice"],"authenticationStrength":null}}`}, false},
		{CAPolicy{RawJSON: `{"grantControls":null}`}, false},
		{CAPolicy{RawJSON: `not json`, BuiltInControls: "compliantDevice, mfa"}, true},
		{CAPolicy{BuiltInControls: "block"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.p.RequiresMFA(), "%+v", tt.p)
		assert.Equal(t, tt.want, ToCAPolicy(tt.p).RequiresMFA)
	}
}

func TestResultLineFailed(t *testing.T) {
	t.Parallel()
	assert.True(t, ResultLine{Text: "Error - nope"}.Failed())
	assert.True(t, ResultLine{Text: "  failed to do it"}.Failed())
	assert.True(t, ResultLine{Text: "done", State: "Error"}.Failed())
	assert.False(t, ResultLine{Text: "No MFA methods found for user x"}.Failed())
	assert.False(t, ResultLine{Text: "Success - ok", State: "success"}.Failed())
}
