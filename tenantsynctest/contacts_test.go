package tenantsynctest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

const (
	tenantA = "6e2b1f0c-8d4a-4c1e-9f3a-2b7d5e8c1a90"
	userA   = "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"
	userB   = "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d"
)

// newPSA returns a directory on a manual clock with two clients, "1" (Contoso) and "2"
// (Fabrikam).
func newPSA(t *testing.T) (*tenantsynctest.Contacts, *tenantsynctest.ManualClock) {
	t.Helper()
	clock := tenantsynctest.NewManualClock(start)
	psa := tenantsynctest.NewContacts(clock)
	psa.AddClient("1", "Contoso")
	psa.AddClient("2", "Fabrikam")
	return psa, clock
}

func pat(client string) tenantsync.Contact {
	return tenantsync.Contact{ClientID: client, FirstName: "Pat", LastName: "Lee", Email: "pat@contoso.com",
		AltEmails: []string{"p.lee@contoso.com"}, Active: true, TenantID: tenantA, ObjectID: userA}
}

// requireDetail checks that err is a psa error of kind with op and status, and returns its
// details.
func requireDetail(t *testing.T, err error, kind error, op tenantsynctest.Op, status int) *tenantsync.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind)
	d, ok := tenantsync.Details(err)
	require.True(t, ok, "error %v carries no details", err)
	assert.Equal(t, "psa", d.Service)
	assert.Equal(t, string(op), d.Op)
	assert.Equal(t, status, d.Status)
	assert.NotEmpty(t, d.Hint, "every error says what to do")
	assert.Equal(t, kind, tenantsync.ClassOf(err))
	return d
}

func TestContactsDirectory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)

	in := pat("1")
	in.ID = "chosen-by-caller"
	a, err := psa.CreateContact(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, "1", a.ID, "the PSA assigns numeric IDs, ignoring the caller's")
	want := pat("1")
	want.ID = "1"
	assert.Equal(t, want, a)

	b, err := psa.CreateContact(ctx, tenantsync.Contact{ClientID: "2", LastName: "Kim", Email: "kim@fabrikam.com", Active: true})
	require.NoError(t, err)
	assert.Equal(t, "2", b.ID)

	// Copies go in and out: the caller's slices are not the directory's.
	a.AltEmails[0] = "changed@contoso.com"
	in.AltEmails[0] = "changed@contoso.com"
	got, err := psa.ListContacts(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.Contact{want}, got)
	got[0].AltEmails[0] = "changed@contoso.com"
	stored, ok := psa.Get("1")
	require.True(t, ok)
	assert.Equal(t, want, stored)

	upd := want
	upd.JobTitle, upd.Email, upd.Active, upd.AltEmails = "CFO", "pat.lee@contoso.com", false, nil
	require.NoError(t, psa.UpdateContact(ctx, upd))
	stored, _ = psa.Get("1")
	assert.Equal(t, upd, stored, "an update replaces every field")

	require.NoError(t, psa.SetContactActive(ctx, "1", "1", true))
	stored, _ = psa.Get("1")
	assert.True(t, stored.Active)

	empty, err := psa.ListContacts(ctx, "2")
	require.NoError(t, err)
	assert.Len(t, empty, 1)
	psa.AddClient("3", "Northwind")
	none, err := psa.ListContacts(ctx, "3")
	require.NoError(t, err)
	assert.NotNil(t, none, "a client without contacts lists as empty, not nil")
	assert.Empty(t, none)

	all := psa.All()
	require.Len(t, all, 2)
	assert.Equal(t, []string{"1", "2"}, []string{all[0].ID, all[1].ID})
	_, ok = psa.Get("99")
	assert.False(t, ok)
	assert.Equal(t, map[tenantsynctest.Op]int{
		tenantsynctest.OpCreateContact: 2, tenantsynctest.OpListContacts: 3,
		tenantsynctest.OpUpdateContact: 1, tenantsynctest.OpSetContactActive: 1,
	}, psa.Calls())
}

func TestContactsNumericOrder(t *testing.T) {
	t.Parallel()
	psa, _ := newPSA(t)
	for i := range 12 {
		_, err := psa.CreateContact(t.Context(), tenantsync.Contact{ClientID: "1", LastName: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	all := psa.All()
	require.Len(t, all, 12)
	assert.Equal(t, "9", all[8].ID)
	assert.Equal(t, "10", all[9].ID, "IDs order as numbers, not strings")
	listed, err := psa.ListContacts(t.Context(), "1")
	require.NoError(t, err)
	assert.Equal(t, all, listed)
}

func TestContactsNotFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		op   tenantsynctest.Op
		call func(ctx context.Context, psa *tenantsynctest.Contacts) error
	}{
		{"create in unknown client", tenantsynctest.OpCreateContact, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			_, err := psa.CreateContact(ctx, pat("404"))
			return err
		}},
		{"list unknown client", tenantsynctest.OpListContacts, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			_, err := psa.ListContacts(ctx, "404")
			return err
		}},
		{"update unknown contact", tenantsynctest.OpUpdateContact, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			c := pat("1")
			c.ID = "99"
			return psa.UpdateContact(ctx, c)
		}},
		{"update contact through another client", tenantsynctest.OpUpdateContact, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			c := pat("2")
			c.ID = "1"
			return psa.UpdateContact(ctx, c)
		}},
		{"update in unknown client", tenantsynctest.OpUpdateContact, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			c := pat("404")
			c.ID = "1"
			return psa.UpdateContact(ctx, c)
		}},
		{"activate unknown contact", tenantsynctest.OpSetContactActive, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			return psa.SetContactActive(ctx, "1", "99", false)
		}},
		{"activate contact through another client", tenantsynctest.OpSetContactActive, func(ctx context.Context, psa *tenantsynctest.Contacts) error {
			return psa.SetContactActive(ctx, "2", "1", false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			psa, _ := newPSA(t)
			seeded, err := psa.Seed(pat("1"))
			require.NoError(t, err)
			want := error(tenantsync.ErrNotFound)
			if strings.HasSuffix(tt.name, "unknown client") {
				want = tenantsync.ErrClientNotFound // what the engine reads as "link to an existing client"
			}
			requireDetail(t, tt.call(t.Context(), psa), want, tt.op, 404)
			stored, _ := psa.Get("1")
			assert.Equal(t, seeded, stored, "a refused call changes nothing")
			assert.Len(t, psa.All(), 1)
		})
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	psa, _ := newPSA(t)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.ServerError{}}))
	psa.AddRule(tenantsynctest.Required(tenantsynctest.FieldFirstName))
	psa.SetUniqueEmails(true)
	psa.SetQuota(1, time.Hour)

	a, err := psa.Seed(tenantsync.Contact{ClientID: "1", LastName: "Lee", Email: "pat@contoso.com", Active: true})
	require.NoError(t, err)
	b, err := psa.Seed(tenantsync.Contact{ClientID: "1", LastName: "Lee", Email: "PAT@contoso.com", Active: true})
	require.NoError(t, err, "seeding bypasses faults, rules and the duplicate-email rule")
	assert.Equal(t, []string{"1", "2"}, []string{a.ID, b.ID})
	assert.Empty(t, psa.Calls(), "seeding is not a call")
	assert.Len(t, psa.Duplicates(), 1, "seeded duplicates are visible")

	_, err = psa.Seed(pat("404"))
	require.ErrorIs(t, err, tenantsync.ErrClientNotFound)
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode        tenantsynctest.Identity
		secondIsNew bool // a second create for the same user makes a second contact
		listed      bool // ListContacts returns TenantID and ObjectID
	}{
		{tenantsynctest.IdentityDeduplicated, false, true},
		{tenantsynctest.IdentityStored, true, true},
		{tenantsynctest.IdentityIgnored, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			psa, _ := newPSA(t)
			psa.SetIdentity(tt.mode)

			first, err := psa.CreateContact(ctx, pat("1"))
			require.NoError(t, err)
			// A repeat after a crash, for a user without email, spelled in upper case.
			again := pat("1")
			again.Email, again.TenantID = "", strings.ToUpper(tenantA)
			second, err := psa.CreateContact(ctx, again)
			require.NoError(t, err)
			if tt.secondIsNew {
				assert.NotEqual(t, first.ID, second.ID)
				assert.Len(t, psa.All(), 2)
			} else {
				assert.Equal(t, first, second, "a create for a known identity returns the contact the client has")
				assert.Len(t, psa.All(), 1)
			}
			// The same user in another client is another contact, as is a user of another
			// tenant linked to the same client, and a contact without identity.
			other, err := psa.CreateContact(ctx, pat("2"))
			require.NoError(t, err)
			assert.NotEqual(t, first.ID, other.ID)
			otherTenant := pat("1")
			otherTenant.TenantID = userB
			ot, err := psa.CreateContact(ctx, otherTenant)
			require.NoError(t, err)
			assert.NotEqual(t, first.ID, ot.ID)
			anon := pat("1")
			anon.TenantID, anon.ObjectID = "", ""
			n1, err := psa.CreateContact(ctx, anon)
			require.NoError(t, err)
			n2, err := psa.CreateContact(ctx, anon)
			require.NoError(t, err)
			assert.NotEqual(t, n1.ID, n2.ID, "without identity every create is new")

			listed, err := psa.ListContacts(ctx, "1")
			require.NoError(t, err)
			if tt.listed {
				assert.Equal(t, userA, listed[0].ObjectID)
				assert.Equal(t, tenantA, listed[0].TenantID)
				assert.Equal(t, userA, first.ObjectID, "the create's answer shows the identity too")
			} else {
				assert.Empty(t, listed[0].ObjectID+listed[0].TenantID)
				assert.Empty(t, first.ObjectID+first.TenantID, "nor does the create's answer")
			}
			stored, _ := psa.Get(first.ID)
			assert.Equal(t, userA, stored.ObjectID, "All and Get always show the identity a contact was created for")

			// An update without identity (as read back from a PSA that drops it).
			upd := listed[0]
			upd.TenantID, upd.ObjectID, upd.JobTitle = "", "", "CFO"
			require.NoError(t, psa.UpdateContact(ctx, upd))
			stored, _ = psa.Get(first.ID)
			assert.Equal(t, "CFO", stored.JobTitle)
			if tt.mode == tenantsynctest.IdentityIgnored {
				assert.Equal(t, userA, stored.ObjectID, "a PSA without the field cannot lose it")
			} else {
				assert.Empty(t, stored.ObjectID, "an update writes every field, the identity included")
			}
		})
	}
}

func TestIdentityDeduplicatedReturnsInactiveContact(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	first, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	require.NoError(t, psa.SetContactActive(ctx, "1", first.ID, false))
	again, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	assert.False(t, again.Active, "the existing contact comes back as it is; reactivating is the caller's decision")
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	psa.SetIdentity(tenantsynctest.IdentityStored)
	seed := func(c tenantsync.Contact) tenantsync.Contact {
		t.Helper()
		s, err := psa.Seed(c)
		require.NoError(t, err)
		return s
	}
	a := seed(pat("1"))
	b := seed(tenantsync.Contact{ClientID: "1", LastName: "Lee", Email: " Pat@Contoso.com", Active: true})          // same email
	c := seed(tenantsync.Contact{ClientID: "1", Active: true, TenantID: tenantA, ObjectID: strings.ToUpper(userA)}) // same user
	seed(tenantsync.Contact{ClientID: "1", Email: "pat@contoso.com", Active: false})                                // inactive: not a duplicate
	seed(tenantsync.Contact{ClientID: "2", Email: "pat@contoso.com", Active: true, TenantID: tenantA, ObjectID: userA})
	seed(tenantsync.Contact{ClientID: "1", Email: "kim@contoso.com", Active: true, TenantID: tenantA, ObjectID: userB})
	seed(tenantsync.Contact{ClientID: "1", Active: true})
	seed(tenantsync.Contact{ClientID: "1", Active: true})

	got := psa.Duplicates()
	require.Len(t, got, 2)
	assert.Equal(t, "1", got[0].ClientID)
	assert.Equal(t, "email pat@contoso.com", got[0].Key)
	assert.Equal(t, []tenantsync.Contact{a, b}, got[0].Contacts)
	assert.Equal(t, "identity tenantsync:"+tenantA+":"+userA, got[1].Key)
	assert.Equal(t, []tenantsync.Contact{a, c}, got[1].Contacts)

	require.NoError(t, psa.SetContactActive(ctx, "1", a.ID, false))
	got = psa.Duplicates()
	require.Len(t, got, 1, "deactivating the first resolves the email pair")
	assert.Equal(t, "identity tenantsync:"+tenantA+":"+userA, got[0].Key,
		"but a second contact for one user is a duplicate even when the first is inactive: it should have been reactivated")
	a.Active = false
	assert.Equal(t, []tenantsync.Contact{a, c}, got[0].Contacts)
}

func TestUniqueEmails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		unique  bool
		mode    tenantsynctest.Identity
		second  tenantsync.Contact
		wantErr error
	}{
		{"same email refused", true, tenantsynctest.IdentityStored,
			tenantsync.Contact{ClientID: "1", Email: "pat@contoso.com", ObjectID: userB, TenantID: tenantA}, tenantsync.ErrConflict},
		{"case and spaces do not matter", true, tenantsynctest.IdentityStored,
			tenantsync.Contact{ClientID: "1", Email: " PAT@Contoso.COM "}, tenantsync.ErrConflict},
		{"another client may have it", true, tenantsynctest.IdentityStored,
			tenantsync.Contact{ClientID: "2", Email: "pat@contoso.com"}, nil},
		{"contacts without email are exempt", true, tenantsynctest.IdentityStored,
			tenantsync.Contact{ClientID: "1", LastName: "Kim"}, nil},
		{"a known identity returns its contact before the rule applies", true, tenantsynctest.IdentityDeduplicated,
			pat("1"), nil},
		{"off, a second contact is made", false, tenantsynctest.IdentityStored,
			tenantsync.Contact{ClientID: "1", Email: "pat@contoso.com"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			psa, _ := newPSA(t)
			psa.SetIdentity(tt.mode)
			psa.SetUniqueEmails(tt.unique)
			first, err := psa.CreateContact(ctx, pat("1"))
			require.NoError(t, err)
			before := psa.All()
			_, err = psa.CreateContact(ctx, tt.second)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			d := requireDetail(t, err, tt.wantErr, tenantsynctest.OpCreateContact, 409)
			assert.Equal(t, "DuplicateEmail", d.Code)
			assert.Contains(t, d.Message, `contact "`+first.ID+`"`, "the refusal names the contact holding the address")
			assert.Equal(t, before, psa.All(), "nothing was created")
		})
	}
}

func TestUniqueEmailsOnUpdate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa, _ := newPSA(t)
	psa.SetUniqueEmails(true)
	a, err := psa.CreateContact(ctx, pat("1"))
	require.NoError(t, err)
	b, err := psa.CreateContact(ctx, tenantsync.Contact{ClientID: "1", LastName: "Kim", Email: "kim@contoso.com", Active: true})
	require.NoError(t, err)
	require.NoError(t, psa.SetContactActive(ctx, "1", a.ID, false))

	a.JobTitle = "CFO"
	a.Active = false
	require.NoError(t, psa.UpdateContact(ctx, a), "a contact keeps its own address")

	b.Email = "PAT@contoso.com"
	err = psa.UpdateContact(ctx, b)
	requireDetail(t, err, tenantsync.ErrConflict, tenantsynctest.OpUpdateContact, 409)
	stored, _ := psa.Get(b.ID)
	assert.Equal(t, "kim@contoso.com", stored.Email, "an inactive contact's address still counts, and the refused update changed nothing")
}

func TestRules(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 51)
	tests := []struct {
		name      string
		rule      tenantsynctest.Rule
		refused   tenantsync.Contact
		accepted  tenantsync.Contact
		field     string
		code      string
		inMessage string
	}{
		{"max length counts characters", tenantsynctest.MaxLength(tenantsynctest.FieldLastName, 50),
			tenantsync.Contact{ClientID: "1", LastName: long}, tenantsync.Contact{ClientID: "1", LastName: long[2:]},
			"lastName", "MaxLength", "lastName: cannot be longer than 50 characters"},
		{"max length of the first name", tenantsynctest.MaxLength(tenantsynctest.FieldFirstName, 3),
			tenantsync.Contact{ClientID: "1", FirstName: "Patricia"}, tenantsync.Contact{ClientID: "1", FirstName: "Pat"},
			"firstName", "MaxLength", "firstName: cannot be longer than 3 characters"},
		{"required", tenantsynctest.Required(tenantsynctest.FieldFirstName),
			tenantsync.Contact{ClientID: "1", FirstName: "  ", LastName: "Lee"}, tenantsync.Contact{ClientID: "1", FirstName: "Pat"},
			"firstName", "Required", "firstName: a value is required"},
		{"required title, phone, mobile", tenantsynctest.Required(tenantsynctest.FieldMobile),
			tenantsync.Contact{ClientID: "1", Phone: "1", JobTitle: "CFO"}, tenantsync.Contact{ClientID: "1", Mobile: "+1 555"},
			"mobile", "Required", "mobile: a value is required"},
		{"refused emails", tenantsynctest.RefuseEmails("Pat@Contoso.com"),
			tenantsync.Contact{ClientID: "1", Email: "pat@contoso.COM "}, tenantsync.Contact{ClientID: "1", Email: "kim@contoso.com"},
			"email", "InvalidEmail", "email: this address is not accepted"},
		{"refused users", tenantsynctest.RefuseObjectIDs(strings.ToUpper(userA)),
			tenantsync.Contact{ClientID: "1", TenantID: tenantA, ObjectID: userA}, tenantsync.Contact{ClientID: "1", TenantID: tenantA, ObjectID: userB},
			"", "Invalid", "the contact is not valid"},
		{"a predicate of one's own", tenantsynctest.Rule{Field: "phone", Message: "phone must start with +",
			Refuses: func(c tenantsync.Contact) bool { return c.Phone != "" && !strings.HasPrefix(c.Phone, "+") }},
			tenantsync.Contact{ClientID: "1", Phone: "555"}, tenantsync.Contact{ClientID: "1", Phone: "+1 555"},
			"phone", "Invalid", "phone: phone must start with +"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			psa, _ := newPSA(t)
			psa.AddRule(tenantsynctest.Rule{Field: "nothing"}) // a rule without a predicate refuses nothing
			psa.AddRule(tt.rule)

			check := func(err error, op tenantsynctest.Op) {
				t.Helper()
				d := requireDetail(t, err, tenantsync.ErrInvalidInput, op, 400)
				var ve *tenantsynctest.ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tt.field, ve.Field)
				assert.Equal(t, tt.code, d.Code)
				assert.Equal(t, tt.inMessage, d.Message)
			}
			_, err := psa.CreateContact(ctx, tt.refused)
			check(err, tenantsynctest.OpCreateContact)
			assert.Empty(t, psa.All(), "a refused create stores nothing")

			ok, err := psa.CreateContact(ctx, tt.accepted)
			require.NoError(t, err)
			upd := tt.refused
			upd.ID = ok.ID
			check(psa.UpdateContact(ctx, upd), tenantsynctest.OpUpdateContact)
			stored, _ := psa.Get(ok.ID)
			assert.Equal(t, ok, stored, "a refused update changes nothing")
			require.NoError(t, psa.SetContactActive(ctx, "1", ok.ID, true), "rules check data, not activation")

			psa.ClearRules()
			_, err = psa.CreateContact(ctx, tt.refused)
			require.NoError(t, err)
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	psa := tenantsynctest.NewContacts(nil)
	psa.AddClient("1", "Contoso")
	psa.SetUniqueEmails(true)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.ServerError{}, Times: 25}))

	const workers, users = 8, 50
	var made, failed atomic.Int64
	count := func(err error) error {
		made.Add(1)
		if errors.Is(err, tenantsync.ErrUnavailable) {
			failed.Add(1)
			return nil
		}
		return err
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for u := range users {
				// Every worker creates every user: only one contact per user may result.
				c := tenantsync.Contact{ClientID: "1", Active: true, TenantID: tenantA, ObjectID: fmt.Sprintf("user-%03d", u)}
				if u%2 == 0 {
					c.Email = fmt.Sprintf("user%03d@contoso.com", u)
				}
				for attempt := 0; ; attempt++ {
					created, err := psa.CreateContact(ctx, c)
					if errors.Is(err, tenantsync.ErrUnavailable) && attempt < 25 {
						count(err)
						continue
					}
					if !assert.NoError(t, count(err)) {
						return
					}
					created.JobTitle = fmt.Sprint("worker ", w)
					assert.NoError(t, count(psa.UpdateContact(ctx, created)))
					break
				}
				_, err := psa.ListContacts(ctx, "1")
				assert.NoError(t, count(err))
				if u == users/2 && w == 0 {
					psa.SetLatency(time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, psa.All(), users)
	assert.Empty(t, psa.Duplicates())
	assert.EqualValues(t, 25, failed.Load(), "the fault caught exactly its 25 calls")
	calls := psa.Calls()
	assert.Equal(t, workers*users, calls[tenantsynctest.OpListContacts])
	assert.EqualValues(t, made.Load(), calls[tenantsynctest.OpListContacts]+calls[tenantsynctest.OpCreateContact]+calls[tenantsynctest.OpUpdateContact],
		"every call is counted, failed ones included")
}
