package testserver

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// worldJSON serialises the generated content (not the relationships, whose dates follow the
// wall clock) for comparing two worlds.
func worldJSON(t *testing.T, w *World) string {
	t.Helper()
	w.mu.RLock()
	defer w.mu.RUnlock()
	type view struct {
		Partner []string
		Tenants []Tenant
	}
	v := view{Partner: []string{w.PartnerTenantID, w.PartnerName, w.PartnerDomain}}
	for _, tn := range w.Tenants {
		c := *tn
		c.Relationships = nil
		v.Tenants = append(v.Tenants, c)
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	opts := Options{Seed: 42, Tenants: 12, Sizes: []int{300}}
	a, b := worldJSON(t, Generate(opts)), worldJSON(t, Generate(opts))
	assert.Equal(t, a, b)
	opts.Seed = 43
	assert.NotEqual(t, a, worldJSON(t, Generate(opts)))

	// More tenants leave the earlier tenants' content as it was.
	small, large := Generate(Options{Seed: 42, Tenants: 3}), Generate(Options{Seed: 42, Tenants: 9})
	for i := range 3 {
		assert.Equal(t, small.Tenants[i].ID, large.Tenants[i].ID)
		assert.Equal(t, len(small.Tenants[i].Users), len(large.Tenants[i].Users))
		assert.Equal(t, small.Tenants[i].Users[0].ID, large.Tenants[i].Users[0].ID)
	}
}

func TestGenerateShape(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 7, Tenants: 40, Sizes: []int{2000, 1, 3}, MinUsers: 5, MaxUsers: 80})
	require.Len(t, w.Tenants, 40)
	assert.Len(t, w.Tenants[0].Users, 2000)
	assert.Len(t, w.Tenants[1].Users, 1)
	assert.Len(t, w.Tenants[2].Users, 3)
	assert.Regexp(t, guidRE, w.PartnerTenantID)
	assert.NotEmpty(t, w.PartnerDomain)

	ids := map[string]bool{}
	names := map[string]bool{}
	words := map[string]int{}
	var inCIPP, stale, consented, inPC int
	for i, tn := range w.Tenants {
		assert.Regexp(t, guidRE, tn.ID)
		assert.False(t, ids[tn.ID], "tenant IDs are unique")
		ids[tn.ID] = true
		assert.False(t, names[tn.Name], "company names are unique")
		names[tn.Name] = true
		words[strings.Fields(tn.Name)[0]]++
		assert.Regexp(t, `^[a-z0-9]+\.onmicrosoft\.com$`, tn.InitialDomain)
		if i >= 3 {
			assert.GreaterOrEqual(t, len(tn.Users), 5)
			assert.LessOrEqual(t, len(tn.Users), 80)
		}

		defaults, initials := 0, 0
		for _, d := range tn.Domains {
			if d.IsDefault {
				defaults++
				assert.Equal(t, tn.DefaultDomain, d.Name)
				assert.True(t, d.IsVerified)
			}
			if d.IsInitial {
				initials++
				assert.Equal(t, tn.InitialDomain, d.Name)
			}
		}
		assert.Equal(t, 1, defaults, tn.Name)
		assert.Equal(t, 1, initials, tn.Name)
		assert.Same(t, tn, w.TenantByDomain(strings.ToUpper(tn.DefaultDomain)))
		assert.Same(t, tn, w.TenantByDomain(tn.InitialDomain))
		assert.Same(t, tn, w.Tenant(strings.ToUpper(tn.ID)))

		// Consumed licences equal the assignments.
		assigned := map[string]int{}
		for _, u := range tn.Users {
			for _, l := range u.Licenses {
				assigned[l]++
			}
		}
		for _, s := range tn.SKUs {
			assert.Equal(t, assigned[s.ID], s.Consumed, s.PartNumber)
			assert.GreaterOrEqual(t, s.Enabled, s.Consumed)
			assert.Regexp(t, guidRE, s.ID)
		}
		assert.Greater(t, tn.SecureScore.Max, tn.SecureScore.Current)
		assert.Positive(t, tn.SecureScore.Current)
		if tn.SecurityDefaults {
			assert.Empty(t, tn.CAPolicies, "security defaults exclude CA policies")
		}
		if len(tn.CAPolicies) > 0 {
			assert.True(t, tn.PremiumP1)
		}
		assert.Equal(t, tn.Users[len(tn.Users)-1].Seq, tn.Seq(), "Seq counts the generated users")

		if tn.InCIPP {
			inCIPP++
		}
		if tn.CIPPStale {
			stale++
			assert.True(t, tn.InCIPP)
		}
		if tn.Consented {
			consented++
		}
		if tn.InPartnerCenter {
			inPC++
		}
	}
	assert.InDelta(t, 24, inCIPP, 1, "about 60%% in CIPP")
	assert.Equal(t, 1, stale)
	assert.InDelta(t, 35, consented, 1, "all but about 1 in 8 consented")
	assert.GreaterOrEqual(t, inPC, 37)

	shared := 0
	for _, n := range words {
		if n > 1 {
			shared++
		}
	}
	assert.Positive(t, shared, "some company names share a word")
	assert.Equal(t, strings.Fields(w.Tenants[0].Name)[0], strings.Fields(w.Tenants[1].Name)[0])
	assert.Nil(t, w.TenantByDomain("nosuch.example"))
}

func TestGenerateAccountKinds(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 5, Tenants: 1, Sizes: []int{1500}})
	tn := w.Tenants[0]

	var disabled, unlicensed, guests, shared, rooms, equipment, admins, otherMails, x500, sip, plus, apostrophe, unicode, serviceAccts int
	domains := map[string]bool{}
	for _, d := range tn.Domains {
		domains[d.Name] = true
	}
	upns := map[string]bool{}
	for _, u := range tn.Users {
		assert.Regexp(t, guidRE, u.ID)
		assert.False(t, upns[strings.ToLower(u.UserPrincipalName)], "UPNs are unique: %s", u.UserPrincipalName)
		upns[strings.ToLower(u.UserPrincipalName)] = true
		_, upnDomain, ok := strings.Cut(u.UserPrincipalName, "@")
		require.True(t, ok)
		assert.True(t, domains[upnDomain] || upnDomain == tn.InitialDomain, u.UserPrincipalName)
		if u.MailboxType != "" {
			assert.Equal(t, []string{"SMTP:" + u.Mail}, u.ProxyAddresses[:1], "primary address first")
			assert.Contains(t, u.ProxyAddresses, "smtp:"+strings.Split(u.Mail, "@")[0]+"@"+tn.InitialDomain)
		}
		switch {
		case u.UserType == "Guest":
			guests++
			assert.Contains(t, u.UserPrincipalName, "#EXT#@"+tn.InitialDomain)
			assert.Equal(t, strings.ReplaceAll(u.Mail, "@", "_")+"#EXT#@"+tn.InitialDomain, u.UserPrincipalName)
			assert.Empty(t, u.MailboxType)
			assert.Empty(t, u.Licenses)
		case u.MailboxType == "SharedMailbox":
			shared++
			assert.False(t, u.AccountEnabled)
			assert.Empty(t, u.Licenses)
		case u.MailboxType == "RoomMailbox":
			rooms++
			assert.False(t, u.AccountEnabled)
		case u.MailboxType == "EquipmentMailbox":
			equipment++
		}
		if strings.HasPrefix(u.UserPrincipalName, "svc-backup@") || strings.HasPrefix(u.UserPrincipalName, "scanner@") {
			serviceAccts++
			assert.True(t, u.AccountEnabled)
		}
		if !u.AccountEnabled && u.MailboxType == "UserMailbox" || !u.AccountEnabled && u.MailboxType == "" && u.UserType == "Member" {
			disabled++
		}
		if u.UserType == "Member" && u.MailboxType == "" && len(u.Licenses) == 0 {
			unlicensed++
		}
		if u.IsAdmin {
			admins++
		}
		if len(u.OtherMails) > 0 && u.UserType == "Member" {
			otherMails++
		}
		for _, p := range u.ProxyAddresses {
			switch {
			case strings.HasPrefix(p, "x500:"):
				x500++
			case strings.HasPrefix(p, "sip:"):
				sip++
			case strings.Contains(p, "+"):
				plus++
			}
		}
		if strings.Contains(u.UserPrincipalName, "'") {
			apostrophe++
		}
		for _, r := range u.DisplayName {
			if r > 127 {
				unicode++
				break
			}
		}
	}
	n := len(tn.Users)
	assert.InDelta(t, 0.05, float64(disabled)/float64(n), 0.03, "about 5%% disabled")
	assert.InDelta(t, 0.10, float64(unlicensed)/float64(n), 0.04, "about 10%% unlicensed")
	assert.GreaterOrEqual(t, guests, 3)
	assert.Equal(t, 3, shared)
	assert.Equal(t, 1, rooms)
	assert.Equal(t, 1, equipment)
	assert.Equal(t, 2, serviceAccts)
	assert.GreaterOrEqual(t, admins, 2)
	for name, v := range map[string]int{"otherMails": otherMails, "x500": x500, "sip": sip, "plus alias": plus, "apostrophe": apostrophe, "unicode name": unicode} {
		assert.Positive(t, v, name)
	}
	for _, local := range []string{"info@", "accounts@", "support@"} {
		assert.NotNil(t, tn.User(local+tn.DefaultDomain), local)
	}

	// Devices: every platform, real-looking and junk serials, owners that exist.
	oses := map[string]bool{}
	junk := 0
	for _, d := range tn.Devices {
		oses[d.OperatingSystem] = true
		if d.UserID != "" {
			require.NotNil(t, tn.User(d.UserID))
		}
		for _, j := range junkSerials {
			if d.SerialNumber == j {
				junk++
			}
		}
		assert.NotEmpty(t, d.DeviceName)
	}
	assert.Len(t, oses, 4)
	assert.Positive(t, junk)

	// MFA states and methods.
	var registered, unregistered, perUser int
	for _, u := range tn.ActiveUsers() {
		if u.UserType != "Member" {
			continue
		}
		if u.MFARegistered {
			registered++
			assert.Greater(t, len(u.Methods), 1)
		} else {
			unregistered++
		}
		if u.PerUserMFA != "disabled" {
			perUser++
		}
		assert.Equal(t, "password", u.Methods[passwordMethodID])
	}
	assert.Positive(t, registered)
	assert.Positive(t, unregistered)
	assert.Positive(t, perUser)

	// Groups hold existing users.
	require.NotEmpty(t, tn.Groups)
	assert.Equal(t, "All Staff", tn.Groups[0].DisplayName)
	for id := range tn.Groups[0].Members {
		require.NotNil(t, tn.User(id))
	}
}

func TestGenerateSmallTenants(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 1, Tenants: 4, Sizes: []int{1, 2, 5, 0}})
	assert.Len(t, w.Tenants[0].Users, 1)
	assert.True(t, w.Tenants[0].Users[0].IsAdmin, "a one-user tenant has its admin")
	assert.Empty(t, w.Tenants[3].Users)
	assert.Len(t, Generate(Options{Seed: 1}).Tenants, 5, "default tenant count")
}

func TestWorldUserChanges(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 9, Tenants: 2})
	tn := w.Tenants[0]
	before := tn.Seq()

	u, err := w.AddUser(tn.ID, User{UserPrincipalName: "new.starter@" + tn.DefaultDomain, DisplayName: "New Starter", AccountEnabled: true})
	require.NoError(t, err)
	assert.Regexp(t, guidRE, u.ID)
	assert.Equal(t, "Member", u.UserType)
	assert.Equal(t, before+1, u.Seq)
	assert.Equal(t, before+1, tn.Seq())

	_, err = w.AddUser(tn.ID, User{UserPrincipalName: strings.ToUpper(u.UserPrincipalName)})
	assert.ErrorContains(t, err, "already in use")
	_, err = w.AddUser("nope", User{})
	assert.True(t, errors.Is(err, ErrNotFound))

	require.NoError(t, w.UpdateUser(tn.ID, u.ID, func(u *User) { u.JobTitle = "Engineer" }))
	assert.Equal(t, before+2, tn.User(u.ID).Seq)
	victim := tn.Users[len(tn.Users)/2]
	require.NoError(t, w.DeleteUser(tn.ID, victim.ID))
	assert.True(t, victim.Deleted)
	assert.NotContains(t, tn.ActiveUsers(), victim)

	changed := tn.ChangedSince(before)
	require.Len(t, changed, 2)
	assert.Equal(t, u.ID, changed[0].ID)
	assert.Equal(t, victim.ID, changed[1].ID)

	assert.True(t, errors.Is(w.UpdateUser(tn.ID, "missing", func(*User) {}), ErrNotFound))
	assert.True(t, errors.Is(w.DeleteUser("missing", u.ID), ErrNotFound))
	for _, m := range tn.Mailboxes() {
		assert.NotEmpty(t, m.MailboxType)
		assert.False(t, m.Deleted)
	}
}

func TestGenerateDatesDoNotFollowTheClock(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 3, Tenants: 1, Sizes: []int{50}})
	for _, u := range w.Tenants[0].Users {
		assert.True(t, u.CreatedAt.Before(genEpoch.Add(time.Hour)), u.CreatedAt)
	}
}

// BenchmarkGenerate reports the time to generate the worlds the issue names: one 50,000-user
// tenant, 1,000 ordinary tenants, and both together.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"50000users", Options{Seed: 1, Tenants: 1, Sizes: []int{50000}}},
		{"1000tenants", Options{Seed: 1, Tenants: 1000}},
		{"50000users+1000tenants", Options{Seed: 1, Tenants: 1001, Sizes: []int{50000}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				w := Generate(bc.opts)
				if len(w.Tenants) != max(bc.opts.Tenants, 1) {
					b.Fatal("wrong tenant count")
				}
			}
		})
	}
}

func TestGenerateScale(t *testing.T) {
	t.Parallel()
	// The 10,000+ users in one tenant; BenchmarkGenerate times 50,000.
	const users = 12000
	w := Generate(Options{Seed: 1, Tenants: 1, Sizes: []int{users}})
	require.Len(t, w.Tenants[0].Users, users)
	upns := make(map[string]bool, users)
	for _, u := range w.Tenants[0].Users {
		upns[strings.ToLower(u.UserPrincipalName)] = true
	}
	assert.Len(t, upns, users, "UPNs unique at scale")
}

func TestGenerateUniqueNamesAtScale(t *testing.T) {
	t.Parallel()
	w := Generate(Options{Seed: 2, Tenants: 1500, MinUsers: 1, MaxUsers: 1})
	names, domains := map[string]bool{}, map[string]bool{}
	for _, tn := range w.Tenants {
		assert.False(t, names[strings.ToLower(tn.Name)], "duplicate name %s", tn.Name)
		names[strings.ToLower(tn.Name)] = true
		for _, d := range tn.Domains {
			assert.False(t, domains[d.Name], "duplicate domain %s", d.Name)
			domains[d.Name] = true
		}
	}
}
