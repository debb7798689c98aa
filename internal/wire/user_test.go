package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func TestUserToUser(t *testing.T) {
	t.Parallel()
	enabled := true
	tests := []struct {
		name string
		json string
		want tenantsync.User
	}{
		{"Graph v1.0 user", `{"id":"8c1d4b2a-3e5f-4a6b-9c7d-1e2f3a4b5c6d","userPrincipalName":"jane@contoso.com","displayName":"Jane","mail":"jane@contoso.com",
			"proxyAddresses":["SMTP:jane@contoso.com"],"accountEnabled":true,"userType":"Member","createdDateTime":"2025-11-02T16:45:10Z",
			"assignedLicenses":[{"skuId":"f245ecc8-75af-4f8e-b61f-27d8114de5f3","disabledPlans":[]}]}`,
			tenantsync.User{TenantID: "t", ObjectID: "8c1d4b2a-3e5f-4a6b-9c7d-1e2f3a4b5c6d", UserPrincipalName: "jane@contoso.com", DisplayName: "Jane",
				Mail: "jane@contoso.com", ProxyAddresses: []string{"SMTP:jane@contoso.com"}, AccountEnabled: enabled, UserType: "Member",
				AssignedSKUs: []string{"f245ecc8-75af-4f8e-b61f-27d8114de5f3"}, CreatedAt: time.Date(2025, 11, 2, 16, 45, 10, 0, time.UTC)}},
		{"CIPP's PowerShell forms", `{"id":"ABC","userPrincipalName":"sam_x.example#EXT#@contoso.onmicrosoft.com","accountEnabled":null,
			"createdDateTime":"/Date(1762101910000)/","onPremisesSyncEnabled":true,"assignedLicenses":[{"skuId":"F245ECC8-75AF-4F8E-B61F-27D8114DE5F3"},{"skuId":""}]}`,
			tenantsync.User{TenantID: "t", ObjectID: "abc", UserPrincipalName: "sam_x.example#EXT#@contoso.onmicrosoft.com", UserType: "Guest",
				OnPremisesSync: true, AssignedSKUs: []string{"f245ecc8-75af-4f8e-b61f-27d8114de5f3"}, CreatedAt: time.Date(2025, 11, 2, 16, 45, 10, 0, time.UTC)}},
		{"no userType, no #EXT#", `{"id":"x","userPrincipalName":"a@b.c"}`,
			tenantsync.User{TenantID: "t", ObjectID: "x", UserPrincipalName: "a@b.c", UserType: "Member"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var u User
			require.NoError(t, json.Unmarshal([]byte(tt.json), &u))
			assert.Equal(t, tt.want, u.ToUser("t"))
		})
	}
}
