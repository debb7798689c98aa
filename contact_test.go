package tenantsync_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync"
)

func TestContactIdempotencyKey(t *testing.T) {
	t.Parallel()
	const tenant, object = "6e2b1f0c-8d4a-4c1e-9f3a-2b7d5e8c1a90", "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"
	tests := []struct {
		name           string
		tenant, object string
		want           string
	}{
		{"both set", tenant, object, "tenantsync:" + tenant + ":" + object},
		{"case and spaces do not change the key", " 6E2B1F0C-8D4A-4C1E-9F3A-2B7D5E8C1A90 ", "0F9E8D7C-6B5A-4C3D-2E1F-0A9B8C7D6E5F", "tenantsync:" + tenant + ":" + object},
		{"no tenant", "", object, ""},
		{"no object", tenant, " ", ""},
		{"neither", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tenantsync.Contact{ID: "12", ClientID: "7", Email: "a@b.c", TenantID: tt.tenant, ObjectID: tt.object}
			assert.Equal(t, tt.want, c.IdempotencyKey())
		})
	}
	t.Run("other fields do not change the key", func(t *testing.T) {
		t.Parallel()
		a := tenantsync.Contact{TenantID: tenant, ObjectID: object, Email: "a@b.c", ID: "1"}
		b := tenantsync.Contact{TenantID: tenant, ObjectID: object, Email: "x@y.z", LastName: "Other"}
		assert.Equal(t, a.IdempotencyKey(), b.IdempotencyKey())
	})
	t.Run("different users have different keys", func(t *testing.T) {
		t.Parallel()
		a := tenantsync.Contact{TenantID: tenant, ObjectID: object}
		b := tenantsync.Contact{TenantID: object, ObjectID: tenant}
		assert.NotEqual(t, a.IdempotencyKey(), b.IdempotencyKey())
	})
}
