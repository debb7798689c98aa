package msgraphsdk_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/graph"
)

// usersPage builds a page of n users in Graph's shape with every field the sync $selects.
func usersPage(n int) []byte {
	users := make([]map[string]any, n)
	created := time.Date(2021, 8, 2, 10, 36, 57, 0, time.UTC)
	for i := range users {
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		users[i] = map[string]any{
			"id":                    fmt.Sprintf("87d349ed-44d7-43e1-9a83-%012d", i),
			"userPrincipalName":     upn,
			"displayName":           fmt.Sprintf("User %04d", i),
			"givenName":             "User",
			"surname":               fmt.Sprintf("%04d", i),
			"mail":                  upn,
			"otherMails":            []string{fmt.Sprintf("user%04d@gmail.com", i)},
			"proxyAddresses":        []string{"SMTP:" + upn, fmt.Sprintf("smtp:user%04d@contoso.onmicrosoft.com", i)},
			"imAddresses":           []string{},
			"jobTitle":              "Retail Manager",
			"department":            "Sales",
			"companyName":           nil,
			"officeLocation":        "18/2111",
			"mobilePhone":           nil,
			"businessPhones":        []string{"+1 425 555 0109"},
			"accountEnabled":        i%7 != 0,
			"userType":              "Member",
			"assignedLicenses":      []map[string]any{{"disabledPlans": []string{}, "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df"}},
			"createdDateTime":       created.Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
			"onPremisesSyncEnabled": nil,
		}
	}
	b, _ := json.Marshal(map[string]any{
		"@odata.context":  "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName)",
		"@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=RFNwdAIAAQAAAC",
		"value":           users,
	})
	return b
}

func decodeKiota(data []byte) (models.UserCollectionResponseable, error) {
	node, err := jsonserialization.NewJsonParseNode(data)
	if err != nil {
		return nil, err
	}
	v, err := node.GetObjectValue(models.CreateUserCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	return v.(models.UserCollectionResponseable), nil
}

func TestDecodersAgree(t *testing.T) {
	t.Parallel()
	data := usersPage(999)
	lean, err := graph.DecodeUsersPage(data)
	require.NoError(t, err)
	sdk, err := decodeKiota(data)
	require.NoError(t, err)
	require.Len(t, lean.Items, 999)
	require.Len(t, sdk.GetValue(), 999)
	for i, u := range sdk.GetValue() {
		require.Equal(t, *u.GetId(), lean.Items[i].ID)
		require.Equal(t, u.GetProxyAddresses(), lean.Items[i].ProxyAddresses)
		require.Equal(t, *u.GetAccountEnabled(), *lean.Items[i].AccountEnabled)
	}
	require.Equal(t, *sdk.GetOdataNextLink(), lean.Next)
}

// BenchmarkDecodeUsers999 decodes one page of 999 users with the graph package's encoding/json
// structs and with msgraph-sdk-go's Kiota models. Compare ns/op and B/op of the two sub-benchmarks.
func BenchmarkDecodeUsers999(b *testing.B) {
	data := usersPage(999)
	b.Run("graph", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := graph.DecodeUsersPage(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("msgraph-sdk-go", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := decodeKiota(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
