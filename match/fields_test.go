package match_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

func TestApplyUser(t *testing.T) {
	t.Parallel()
	u := tenantsync.User{TenantID: "t", ObjectID: "o", GivenName: "Jane", Surname: "Doe", JobTitle: "", MobilePhone: "+44 7700 900000",
		BusinessPhones: []string{"+44 20 7946 0000"}, ProxyAddresses: []string{"SMTP:Jane.Doe@Contoso.com"}}
	tests := []struct {
		name      string
		in        tenantsync.Contact
		overwrite bool
		want      tenantsync.Contact
		changed   []string
	}{
		{
			name: "a new contact takes everything the user has",
			in:   tenantsync.Contact{ClientID: "c"},
			want: tenantsync.Contact{ClientID: "c", FirstName: "Jane", LastName: "Doe", Email: "Jane.Doe@Contoso.com",
				Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "t", ObjectID: "o"},
			changed: []string{match.FieldFirstName, match.FieldLastName, match.FieldEmail, match.FieldPhone, match.FieldMobile},
		},
		{
			name:    "a blank identity is a PSA that does not keep it: filled, not a change",
			in:      tenantsync.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@contoso.com", Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000"},
			want:    tenantsync.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@contoso.com", Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "t", ObjectID: "o"},
			changed: nil,
		},
		{
			name:    "an identity in the PSA's case is the same identity, kept as the PSA has it",
			in:      tenantsync.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@contoso.com", Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "T", ObjectID: "O"},
			want:    tenantsync.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@contoso.com", Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "T", ObjectID: "O"},
			changed: nil,
		},
		{
			name:    "another identity is replaced and reported",
			in:      tenantsync.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@contoso.com", Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "t", ObjectID: "other"},
			want:    tenantsync.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@contoso.com", Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "t", ObjectID: "o"},
			changed: []string{match.FieldIdentity},
		},
		{
			name: "blank never overwrites, and the PSA's values win by default",
			in:   tenantsync.Contact{FirstName: "Janet", JobTitle: "Partner", Email: "jane.doe@contoso.com", TenantID: "t", ObjectID: "o"},
			want: tenantsync.Contact{FirstName: "Janet", LastName: "Doe", JobTitle: "Partner", Email: "jane.doe@contoso.com",
				Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "t", ObjectID: "o"},
			changed: []string{match.FieldLastName, match.FieldPhone, match.FieldMobile},
		},
		{
			name:      "overwrite replaces filled fields but still never with a blank",
			in:        tenantsync.Contact{FirstName: "Janet", JobTitle: "Partner", Email: "old@contoso.com", TenantID: "t", ObjectID: "o"},
			overwrite: true,
			want: tenantsync.Contact{FirstName: "Jane", LastName: "Doe", JobTitle: "Partner", Email: "Jane.Doe@Contoso.com",
				Phone: "+44 20 7946 0000", Mobile: "+44 7700 900000", TenantID: "t", ObjectID: "o"},
			changed: []string{match.FieldFirstName, match.FieldLastName, match.FieldEmail, match.FieldPhone, match.FieldMobile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, changed := match.ApplyUser(tt.in, u, tt.overwrite)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.changed, changed)
		})
	}
	onms := tenantsync.User{TenantID: "t", ObjectID: "o", Mail: "jane@contoso.onmicrosoft.com"}
	got, _ := match.ApplyUser(tenantsync.Contact{}, onms, true)
	assert.Empty(t, got.Email, "a routing address is not a contact email")
}
