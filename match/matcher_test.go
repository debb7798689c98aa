package match_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

const tenant = "11111111-2222-4333-8444-555555555555"

func member(obj, primary string, aliases ...string) tenantsync.User {
	proxies := []string{"SMTP:" + primary, "smtp:" + obj + "@contoso.onmicrosoft.com", "SIP:" + primary,
		"X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=" + obj}
	for _, a := range aliases {
		proxies = append(proxies, "smtp:"+a)
	}
	return tenantsync.User{TenantID: tenant, ObjectID: obj, UserPrincipalName: primary, Mail: primary,
		ProxyAddresses: proxies, AccountEnabled: true, UserType: "Member"}
}

func contact(id, email string, alt ...string) tenantsync.Contact {
	return tenantsync.Contact{ID: id, ClientID: "client-1", Email: email, AltEmails: alt, Active: true}
}

func id(obj string) match.Identity { return match.Identity{TenantID: tenant, ObjectID: obj} }

func TestMatch(t *testing.T) {
	t.Parallel()
	type want struct {
		outcome    match.Outcome
		contact    string
		via        match.Via
		conf       float64
		auto       bool
		create     bool
		candidates []string
		reason     string // a substring of Reason
	}
	tests := []struct {
		name     string
		contacts []tenantsync.Contact
		links    []match.Link
		merges   []match.Merge
		cfg      match.Config
		user     tenantsync.User
		mailbox  tenantsync.MailboxType
		want     want
	}{
		{
			name:     "primary address, case differs",
			contacts: []tenantsync.Contact{contact("c1", "JANE.DOE@contoso.com"), contact("c2", "john@contoso.com")},
			user:     member("u1", "Jane.Doe@Contoso.com"),
			mailbox:  tenantsync.MailboxUser,
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "display-name form in the PSA",
			contacts: []tenantsync.Contact{contact("c1", `"Doe, Jane" <Jane.Doe@Contoso.com>`)},
			user:     member("u1", "jane.doe@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "composed and decomposed é, upper and lower case",
			contacts: []tenantsync.Contact{contact("c1", norm.NFD.String("JOSÉ.GARCÍA@CONTOSO.COM"))},
			user:     member("u1", norm.NFC.String("josé.garcía@contoso.com")),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "IDN domain: Unicode in the PSA, A-label in Exchange",
			contacts: []tenantsync.Contact{contact("c1", "JOSÉ@Bücher.DE")},
			user:     member("u1", "jose\u0301@xn--bcher-kva.de"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "IDN domain: Unicode on both sides",
			contacts: []tenantsync.Contact{contact("c1", "josé@xn--bcher-kva.de")},
			user:     member("u1", "José@BÜCHER.de"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, auto: true, conf: match.ConfidencePrimary},
		},
		{
			name:     "an smtp alias",
			contacts: []tenantsync.Contact{contact("c1", "jane.smith@contoso.com")},
			user:     member("u1", "jane.doe@contoso.com", "Jane.Smith@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaAlias, conf: match.ConfidenceAlias, auto: true},
		},
		{
			name:     "an alternative email of the contact",
			contacts: []tenantsync.Contact{contact("c1", "", "jane.doe@contoso.com")},
			user:     member("u1", "jane.doe@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "the UPN",
			contacts: []tenantsync.Contact{contact("c1", "jdoe@contoso.com")},
			user: func() tenantsync.User {
				u := member("u1", "jane.doe@contoso.com")
				u.UserPrincipalName = "JDoe@contoso.com"
				return u
			}(),
			want: want{outcome: match.Matched, contact: "c1", via: match.ViaUPN, conf: match.ConfidenceUPN, auto: true},
		},
		{
			name:     "mail without proxy addresses is the primary",
			contacts: []tenantsync.Contact{contact("c1", "jane@contoso.com")},
			user:     tenantsync.User{TenantID: tenant, ObjectID: "u1", Mail: "Jane@contoso.com", UserPrincipalName: "jane@contoso.onmicrosoft.com", AccountEnabled: true},
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "otherMails",
			contacts: []tenantsync.Contact{contact("c1", "jane.home@fabrikam.com")},
			user: func() tenantsync.User {
				u := member("u1", "jane@contoso.com")
				u.OtherMails = []string{"Jane.Home@Fabrikam.com"}
				return u
			}(),
			want: want{outcome: match.Matched, contact: "c1", via: match.ViaOtherMail, conf: match.ConfidenceOtherMail, auto: true},
		},
		{
			name:     "the onmicrosoft.com routing alias links at lower confidence",
			contacts: []tenantsync.Contact{contact("c1", "u1@contoso.onmicrosoft.com")},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaAlias, conf: match.ConfidenceOnMicrosoft, auto: true},
		},
		{
			name:     "a literal + in a real address matches exactly, not the stripped address",
			contacts: []tenantsync.Contact{contact("c1", "sales@contoso.com"), contact("c2", "sales+eu@contoso.com")},
			user:     member("u1", "Sales+EU@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c2", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "plus-stripped fallback: the contact has a tag",
			contacts: []tenantsync.Contact{contact("c1", "jane+psa@contoso.com")},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPlus, conf: match.ConfidencePlus, auto: false, reason: "+tag"},
		},
		{
			name:     "plus-stripped fallback: the user has a tag",
			contacts: []tenantsync.Contact{contact("c1", "jane@contoso.com")},
			user:     member("u1", "jane+eu@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPlus, conf: match.ConfidencePlus, auto: false},
		},
		{
			name:     "plus-stripped fallback: different tags",
			contacts: []tenantsync.Contact{contact("c1", "jane+psa@contoso.com")},
			user:     member("u1", "jane+eu@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPlus, conf: match.ConfidencePlus, auto: false},
		},
		{
			name:     "duplicate-UPN resiliency is not a sub-address",
			contacts: []tenantsync.Contact{contact("c1", "jdoe@contoso.onmicrosoft.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserPrincipalName: "jdoe+4711@contoso.onmicrosoft.com",
				ProxyAddresses: []string{"SMTP:jane@contoso.com"}, AccountEnabled: true},
			cfg:  match.Config{AutoCreate: true},
			want: want{outcome: match.None, create: true},
		},
		{
			name:     "dots are never removed",
			contacts: []tenantsync.Contact{contact("c1", "janedoe@contoso.com")},
			user:     member("u1", "jane.doe@contoso.com"),
			want:     want{outcome: match.None, reason: "AutoCreate is off"},
		},
		{
			name:     "no contact, creation allowed",
			contacts: []tenantsync.Contact{contact("c1", "john@contoso.com")},
			cfg:      match.Config{AutoCreate: true},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.None, create: true, reason: "may be created"},
		},
		{
			name: "no usable address: nothing to create",
			cfg:  match.Config{AutoCreate: true},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserPrincipalName: "not-an-address", AccountEnabled: true},
			want: want{outcome: match.None, create: false, reason: "no usable email address"},
		},
		{
			name:     "two contacts with one address are ambiguous",
			contacts: []tenantsync.Contact{contact("c2", "jane@contoso.com"), contact("c1", "Jane@Contoso.com")},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.Ambiguous, candidates: []string{"c1", "c2"}, via: match.ViaPrimary, conf: match.ConfidencePrimary, reason: "a person decides"},
		},
		{
			name:     "aliases reaching two contacts are ambiguous",
			contacts: []tenantsync.Contact{contact("c1", "jane.smith@contoso.com"), contact("c2", "jdoe@contoso.com")},
			user: func() tenantsync.User {
				u := member("u1", "jane.doe@contoso.com", "jane.smith@contoso.com")
				u.UserPrincipalName = "jdoe@contoso.com"
				return u
			}(),
			want: want{outcome: match.Ambiguous, candidates: []string{"c1", "c2"}, via: match.ViaAlias, conf: match.ConfidenceAlias},
		},
		{
			name:     "primary wins over an alias reaching another contact",
			contacts: []tenantsync.Contact{contact("c1", "jane.doe@contoso.com"), contact("c2", "jane.smith@contoso.com")},
			user:     member("u1", "jane.doe@contoso.com", "jane.smith@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "remembered link survives a rename",
			contacts: []tenantsync.Contact{contact("c1", "jane.smith@contoso.com")},
			links:    []match.Link{{User: id("u1"), ContactID: "c1"}},
			user:     member("u1", "jane.doe@contoso.com"),
			want:     want{outcome: match.Linked, contact: "c1", via: match.ViaLink, conf: 1, auto: true},
		},
		{
			name:     "a person's merge beats an email match",
			contacts: []tenantsync.Contact{contact("c1", ""), contact("c2", "jane@contoso.com")},
			merges:   []match.Merge{{User: id("u1"), ContactID: "c1", By: "tech@msp.example"}},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.Linked, contact: "c1", via: match.ViaMerge, conf: 1, auto: true, reason: "merged"},
		},
		{
			name:     "a person's merge beats a remembered link",
			contacts: []tenantsync.Contact{contact("c1", ""), contact("c2", "jane@contoso.com")},
			links:    []match.Link{{User: id("u1"), ContactID: "c2"}},
			merges:   []match.Merge{{User: id("u1"), ContactID: "c1"}},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.Linked, contact: "c1", via: match.ViaMerge, conf: 1, auto: true},
		},
		{
			name: "the contact stores the object ID",
			contacts: []tenantsync.Contact{{ID: "c1", Email: "other@contoso.com", TenantID: tenant, ObjectID: "u1"},
				contact("c2", "jane@contoso.com")},
			user: member("u1", "jane@contoso.com"),
			want: want{outcome: match.Linked, contact: "c1", via: match.ViaContactField, conf: 1, auto: true, reason: "stores"},
		},
		{
			name: "the stored identity comes before every other rule, for a user without an address too",
			contacts: []tenantsync.Contact{{ID: "c1", TenantID: tenant, ObjectID: "u1"},
				contact("c2", "u1@contoso.onmicrosoft.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserPrincipalName: "u1@contoso.onmicrosoft.com"},
			want: want{outcome: match.Linked, contact: "c1", via: match.ViaContactField, conf: 1, auto: true, reason: "stores"},
		},
		{
			name: "the stored identity is compared without regard to case, as GUIDs are",
			contacts: []tenantsync.Contact{{ID: "c1", TenantID: tenant, ObjectID: "9f1c2d3e-aaaa-4bbb-8ccc-0123456789ab"},
				contact("c2", "jane@contoso.com")},
			user: member("9F1C2D3E-AAAA-4BBB-8CCC-0123456789AB", "jane@contoso.com"),
			want: want{outcome: match.Linked, contact: "c1", via: match.ViaContactField, conf: 1, auto: true, reason: "stores"},
		},
		{
			name:     "a contact linked to another user is not linked twice",
			contacts: []tenantsync.Contact{contact("c1", "jane@contoso.com")},
			links:    []match.Link{{User: id("former"), ContactID: "c1"}},
			user:     member("u1", "jane@contoso.com"),
			want:     want{outcome: match.Ambiguous, candidates: []string{"c1"}, via: match.ViaPrimary, conf: match.ConfidencePrimary, reason: "already linked to user " + tenant + "/former"},
		},
		{
			name:     "shared mailbox",
			contacts: []tenantsync.Contact{contact("c1", "info@contoso.com")},
			user:     member("u1", "info@contoso.com"),
			mailbox:  tenantsync.MailboxShared,
			want:     want{outcome: match.Excluded, reason: "shared mailbox"},
		},
		{
			name:    "room mailbox",
			user:    member("u1", "boardroom@contoso.com"),
			mailbox: tenantsync.MailboxRoom,
			want:    want{outcome: match.Excluded, reason: "room mailbox"},
		},
		{
			name:    "equipment mailbox",
			user:    member("u1", "projector@contoso.com"),
			mailbox: tenantsync.MailboxEquipment,
			want:    want{outcome: match.Excluded, reason: "equipment mailbox"},
		},
		{
			name:    "other mailbox types",
			user:    member("u1", "archive@contoso.com"),
			mailbox: tenantsync.MailboxOther,
			want:    want{outcome: match.Excluded, reason: "other"},
		},
		{
			name:     "guest excluded by default",
			contacts: []tenantsync.Contact{contact("c1", "jane.doe@gmail.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserType: "Guest", Mail: "jane.doe@gmail.com",
				UserPrincipalName: "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", AccountEnabled: true},
			want: want{outcome: match.Excluded, reason: "AllowGuests"},
		},
		{
			name:     "a #EXT# UPN marks a guest even without the user type",
			contacts: []tenantsync.Contact{contact("c1", "jane.doe@gmail.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserPrincipalName: "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com",
				AccountEnabled: true},
			want: want{outcome: match.Excluded, reason: "guest"},
		},
		{
			name:     "guest allowed: matched by mail",
			cfg:      match.Config{AllowGuests: true},
			contacts: []tenantsync.Contact{contact("c1", "jane.doe@gmail.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserType: "Guest", Mail: "Jane.Doe@gmail.com",
				UserPrincipalName: "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", AccountEnabled: true},
			want: want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "guest allowed: matched by the home address decoded from the UPN",
			cfg:      match.Config{AllowGuests: true},
			contacts: []tenantsync.Contact{contact("c1", "jane.doe@gmail.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserType: "Guest",
				UserPrincipalName: "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", AccountEnabled: true},
			want: want{outcome: match.Matched, contact: "c1", via: match.ViaGuestHome, conf: match.ConfidenceUPN, auto: true},
		},
		{
			name:     "a raw #EXT# UPN is never matched",
			cfg:      match.Config{AllowGuests: true, AutoCreate: true},
			contacts: []tenantsync.Contact{contact("c1", "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com")},
			user: tenantsync.User{TenantID: tenant, ObjectID: "u1", UserType: "Guest",
				UserPrincipalName: "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com", AccountEnabled: true},
			want: want{outcome: match.None, create: true},
		},
		{
			name:     "disabled user excluded",
			contacts: []tenantsync.Contact{contact("c1", "jane@contoso.com")},
			user:     func() tenantsync.User { u := member("u1", "jane@contoso.com"); u.AccountEnabled = false; return u }(),
			want:     want{outcome: match.Excluded, reason: "disabled"},
		},
		{
			name:     "disabled user allowed",
			cfg:      match.Config{AllowDisabled: true},
			contacts: []tenantsync.Contact{contact("c1", "jane@contoso.com")},
			user:     func() tenantsync.User { u := member("u1", "jane@contoso.com"); u.AccountEnabled = false; return u }(),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaPrimary, conf: match.ConfidencePrimary, auto: true},
		},
		{
			name:     "disabled user with a link stays linked, so its contact can be deactivated",
			contacts: []tenantsync.Contact{contact("c1", "jane@contoso.com")},
			links:    []match.Link{{User: id("u1"), ContactID: "c1"}},
			user:     func() tenantsync.User { u := member("u1", "jane@contoso.com"); u.AccountEnabled = false; return u }(),
			want:     want{outcome: match.Linked, contact: "c1", via: match.ViaLink, conf: 1, auto: true},
		},
		{
			name:     "higher auto-link threshold leaves aliases to a person",
			cfg:      match.Config{AutoLinkThreshold: 0.97},
			contacts: []tenantsync.Contact{contact("c1", "jane.smith@contoso.com")},
			user:     member("u1", "jane.doe@contoso.com", "jane.smith@contoso.com"),
			want:     want{outcome: match.Matched, contact: "c1", via: match.ViaAlias, conf: match.ConfidenceAlias, auto: false, reason: "below"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix, err := match.NewIndex(tt.contacts, tt.links, tt.merges, tt.cfg)
			require.NoError(t, err)
			r := ix.Match(tt.user, tt.mailbox)
			assert.Equal(t, tt.want.outcome, r.Outcome, r.Reason)
			assert.Equal(t, tt.want.contact, r.ContactID)
			assert.Equal(t, tt.want.via, r.Via)
			assert.InDelta(t, tt.want.conf, r.Confidence, 1e-9)
			assert.Equal(t, tt.want.auto, r.AutoLink)
			assert.Equal(t, tt.want.create, r.Create)
			assert.Equal(t, tt.want.candidates, r.Candidates)
			assert.Equal(t, match.IdentityOf(tt.user), r.User)
			assert.NotEmpty(t, r.Reason)
			if tt.want.reason != "" {
				assert.Contains(t, r.Reason, tt.want.reason)
			}
			if r.Outcome == match.Matched {
				assert.NotEmpty(t, r.Address)
			}
		})
	}
}

func TestServiceAccounts(t *testing.T) {
	t.Parallel()
	ix, err := match.NewIndex([]tenantsync.Contact{contact("c1", "svc-backup@contoso.com")}, nil, nil, match.Config{})
	require.NoError(t, err)
	for _, addr := range []string{"svc-backup@contoso.com", "SVC_sql@contoso.com", "NoReply@contoso.com", "do-not-reply@contoso.com",
		"scanner@contoso.com", "scanner2@contoso.com", "Sync_DC01_1a2b3c4d@contoso.onmicrosoft.com", "admin@contoso.com",
		"jane-admin@contoso.com", "adm-jane@contoso.com", "admin2@contoso.com", "Administrator01@contoso.com", "breakglass01@contoso.com", "HealthMailbox0a1b@contoso.com",
		"postmaster@contoso.com", "printer-floor2@contoso.com", "backup-svc@contoso.com"} {
		r := ix.Match(member("u1", addr), tenantsync.MailboxUser)
		assert.Equal(t, match.Excluded, r.Outcome, addr)
		assert.Contains(t, r.Reason, "service account", addr)
	}
	for _, addr := range []string{"jane.doe@contoso.com", "admiral@contoso.com", "svcmanager@contoso.com", "scott@contoso.com",
		"norepl@contoso.com", "administration.lead@contoso.com", "admin2b@contoso.com", "2admin@contoso.com"} {
		r := ix.Match(member("u1", addr), tenantsync.MailboxUser)
		assert.NotEqual(t, match.Excluded, r.Outcome, addr)
	}
	// The UPN and mail are checked too, not only the primary address.
	u := member("u1", "backups@contoso.com")
	u.UserPrincipalName = "svc-backup@contoso.onmicrosoft.com"
	assert.Equal(t, match.Excluded, ix.Match(u, "").Outcome)
	u = tenantsync.User{TenantID: tenant, ObjectID: "u2", Mail: "noreply@contoso.com", UserPrincipalName: "x@contoso.com",
		ProxyAddresses: []string{"SMTP:x@contoso.com"}, AccountEnabled: true}
	assert.Equal(t, match.Excluded, ix.Match(u, "").Outcome)

	custom, err := match.NewIndex(nil, nil, nil, match.Config{ServiceAccountPatterns: []string{"*@scanners.contoso.com", "ops-*-bot", "*.robot"}})
	require.NoError(t, err)
	for addr, excluded := range map[string]bool{"floor1@Scanners.Contoso.com": true, "ops-deploy-bot@contoso.com": true,
		"ops-bot@contoso.com": false, "r2.robot@contoso.com": true, "svc-backup@contoso.com": false, "jane@contoso.com": false} {
		assert.Equal(t, excluded, custom.Match(member("u1", addr), "").Outcome == match.Excluded, addr)
	}
	none, err := match.NewIndex([]tenantsync.Contact{contact("c1", "svc-backup@contoso.com")}, nil, nil, match.Config{ServiceAccountPatterns: []string{}})
	require.NoError(t, err)
	assert.Equal(t, match.Matched, none.Match(member("u1", "svc-backup@contoso.com"), "").Outcome)
}

func TestNewIndexRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []match.Config{
		{ServiceAccountPatterns: []string{"*"}},
		{ServiceAccountPatterns: []string{" ** "}},
		{AutoLinkThreshold: 1.5},
		{AutoLinkThreshold: -0.1},
	} {
		_, err := match.NewIndex(nil, nil, nil, cfg)
		require.Error(t, err)
		assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		assert.NotEmpty(t, tenantsync.HintOf(err))
	}
}

func TestIndexSkipsUnusableInput(t *testing.T) {
	t.Parallel()
	contacts := []tenantsync.Contact{
		contact("c1", "jane at contoso.com"),
		contact("c2", "  ", "john@contoso.com", "not-an-address", "JOHN@contoso.com"),
		{Email: "noid@contoso.com"},
		contact("c2", "dup@contoso.com"),
		contact("c3", `"Broken <x@contoso.com`),
	}
	links := []match.Link{{User: match.Identity{TenantID: tenant}, ContactID: "c1"}}
	ix, err := match.NewIndex(contacts, links, nil, match.Config{})
	require.NoError(t, err)
	assert.Equal(t, 1, ix.Len(), "only john@contoso.com is an address, indexed once")
	skipped := ix.Skipped()
	var reasons []string
	for _, s := range skipped {
		reasons = append(reasons, s.ContactID+": "+s.Reason)
	}
	assert.Len(t, skipped, 6, reasons)
	assert.Equal(t, "", skipped[0].ContactID, "sorted by contact ID")
	r := ix.Match(member("u1", "dup@contoso.com"), "")
	assert.Equal(t, match.None, r.Outcome, "the second contact with ID c2 is ignored")
}

func TestRememberDuringARun(t *testing.T) {
	t.Parallel()
	ix, err := match.NewIndex([]tenantsync.Contact{contact("c1", "jane@contoso.com"), contact("c2", "")}, nil, nil, match.Config{})
	require.NoError(t, err)
	a := member("a", "jane@contoso.com")
	require.Equal(t, match.Matched, ix.Match(a, "").Outcome)
	ix.Remember(match.Link{User: id("a"), ContactID: "c1"})
	who, ok := ix.LinkedUser("c1")
	require.True(t, ok)
	assert.Equal(t, id("a"), who)
	assert.Equal(t, match.Linked, ix.Match(a, "").Outcome)

	// Another user (of another tenant mapped to the same client) with the same address.
	b := member("b", "jane@contoso.com")
	b.TenantID = "other-tenant"
	r := ix.Match(b, "")
	assert.Equal(t, match.Ambiguous, r.Outcome)
	assert.Contains(t, r.Reason, "already linked")

	// A person decides b is c1 after all: a's link is superseded and a is no longer linked.
	ix.RememberMerge(match.Merge{User: match.IdentityOf(b), ContactID: "c1", By: "tech"})
	assert.Equal(t, match.Linked, ix.Match(b, "").Outcome)
	r = ix.Match(a, "")
	assert.Equal(t, match.Ambiguous, r.Outcome, r.Reason)
	assert.NotEmpty(t, ix.Skipped(), "the superseded link is reported")

	// Re-binding a user to another contact frees the first.
	ix.RememberMerge(match.Merge{User: match.IdentityOf(b), ContactID: "c2"})
	_, ok = ix.LinkedUser("c1")
	assert.False(t, ok)
	_, ok = ix.LinkedUser("nope")
	assert.False(t, ok)
}

func TestLinksSharingAnObjectID(t *testing.T) {
	t.Parallel()
	// Object IDs are GUIDs, but the index must not confuse two tenants' users with one ID.
	links := []match.Link{
		{User: match.Identity{TenantID: "t1", ObjectID: "same"}, ContactID: "c1"},
		{User: match.Identity{TenantID: "t2", ObjectID: "same"}, ContactID: "c2"},
	}
	ix, err := match.NewIndex([]tenantsync.Contact{contact("c1", ""), contact("c2", "")}, links, nil, match.Config{})
	require.NoError(t, err)
	u := member("same", "x@contoso.com")
	u.TenantID = "t2"
	assert.Equal(t, "c2", ix.Match(u, "").ContactID)
	u.TenantID = "t1"
	assert.Equal(t, "c1", ix.Match(u, "").ContactID)
	u.TenantID = "t3"
	assert.Equal(t, match.None, ix.Match(u, "").Outcome)
	ix.RememberMerge(match.Merge{User: match.Identity{TenantID: "t1", ObjectID: "same"}, ContactID: "c2"})
	u.TenantID = "t2"
	assert.NotEqual(t, match.Linked, ix.Match(u, "").Outcome, "t2's link to c2 was superseded")
}

func TestLinksIgnoreTheCaseOfIDs(t *testing.T) {
	t.Parallel()
	// Graph answers GUIDs in lower case, but a link or a user read elsewhere may carry them in
	// upper case; the link holds either way, also for an ID whose case differs outside ASCII.
	const obj = "6E4A2C1B-93F0-4D7E-8A5B-0C1D2E3F4A5B"
	links := []match.Link{
		{User: match.Identity{TenantID: strings.ToUpper(tenant), ObjectID: obj}, ContactID: "c1"},
		{User: match.Identity{TenantID: tenant, ObjectID: "user-ÉLODIE"}, ContactID: "c2"},
	}
	ix, err := match.NewIndex([]tenantsync.Contact{contact("c1", ""), contact("c2", "")}, links, nil, match.Config{})
	require.NoError(t, err)
	for _, o := range []string{obj, strings.ToLower(obj)} {
		r := ix.Match(member(o, "x@contoso.com"), "")
		assert.Equal(t, match.Linked, r.Outcome, o)
		assert.Equal(t, "c1", r.ContactID, o)
	}
	for _, o := range []string{"user-élodie", "USER-ÉLODIE"} {
		r := ix.Match(member(o, "x@contoso.com"), "")
		assert.Equal(t, "c2", r.ContactID, o)
	}
	assert.Equal(t, match.None, ix.Match(member("6e4a2c1b-93f0-4d7e-8a5b-0c1d2e3f4a5c", "x@contoso.com"), "").Outcome)
}

func TestMatchAll(t *testing.T) {
	t.Parallel()
	contacts := []tenantsync.Contact{contact("c1", "shared.inbox@contoso.com"), contact("c2", "john@contoso.com"), contact("c3", "old@contoso.com")}
	ix, err := match.NewIndex(contacts, []match.Link{{User: id("linked"), ContactID: "c3"}}, nil, match.Config{})
	require.NoError(t, err)
	a := member("a", "a@contoso.com")
	a.OtherMails = []string{"shared.inbox@contoso.com"}
	b := member("b", "b@contoso.com", "shared.inbox@contoso.com")
	john := member("john", "john@contoso.com")
	linked := member("linked", "x@contoso.com")
	room := member("room", "room@contoso.com")
	results := ix.MatchAll([]tenantsync.User{a, b, john, linked, room}, map[string]tenantsync.MailboxType{"room": tenantsync.MailboxRoom})
	require.Len(t, results, 5)
	for _, r := range results[:2] {
		assert.Equal(t, match.Ambiguous, r.Outcome)
		assert.Equal(t, []string{"c1"}, r.Candidates)
		assert.False(t, r.AutoLink)
		assert.Contains(t, r.Reason, "several users")
	}
	assert.Equal(t, match.Matched, results[2].Outcome)
	assert.Equal(t, match.Linked, results[3].Outcome)
	assert.Equal(t, match.Excluded, results[4].Outcome)
}

func TestMatchIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	ix, err := match.NewIndex([]tenantsync.Contact{contact("c1", "jane@contoso.com")}, []match.Link{{User: id("l"), ContactID: "c9"}}, nil, match.Config{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]match.Result, 8)
	for i := range results {
		wg.Go(func() { results[i] = ix.Match(member("u1", "jane@contoso.com"), "") })
	}
	wg.Wait()
	for _, r := range results {
		assert.Equal(t, "c1", r.ContactID)
	}
}
