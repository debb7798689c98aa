package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// storeOnly hides a store's default Directory, as a third-party store without one would.
type storeOnly struct{ store.Store }

// The engine falls back to the store's default Directory only when the store has one; without
// it, Config.Contacts is required and New says so.
func TestNewUsesTheStoreDirectoryOnlyWhenThereIsOne(t *testing.T) {
	t.Parallel()
	psa := tenantsynctest.NewContacts(tenantsynctest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	tests := []struct {
		name     string
		store    store.Store
		contacts tenantsync.Contacts
		wantErr  bool
	}{
		{"store with a directory, no contacts", memory.New(memory.Config{}), nil, false},
		{"store without a directory, contacts", storeOnly{memory.New(memory.Config{})}, psa, false},
		{"store without a directory, no contacts", storeOnly{memory.New(memory.Config{})}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(Config{Store: tt.store, Account: "a", Sources: []tenantsync.Source{NewFakeSource("cipp")}, Contacts: tt.contacts})
			if tt.wantErr {
				require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
				assert.True(t, strings.Contains(tenantsync.HintOf(err), "Config.Contacts"), "the hint names the fix: %q", tenantsync.HintOf(err))
				return
			}
			require.NoError(t, err)
			require.NoError(t, e.Close(t.Context()))
		})
	}
}
