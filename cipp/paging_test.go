package cipp

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// A Graph listing through CIPP that a refused nextLink or a nextLink loop cut short is
// incomplete (the data is unknown, not empty) and still says why.
func TestGraphListingCutShortIsIncomplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		next string
		kind error
	}{
		{"nextLink to another host", "https://evil.example/beta/users?$skiptoken=x", tenantsync.ErrHostNotAllowed},
		{"nextLink loop", "https://graph.microsoft.com/beta/users?$skiptoken=same", tenantsync.ErrLimitExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(map[string]any{"Results": []map[string]string{{"id": "a"}}, "Metadata": map[string]string{"nextLink": tt.next}})
			require.NoError(t, err)
			c, _ := stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: string(b)}})
			_, err = c.GraphDomains(t.Context(), contosoDomain)
			require.ErrorIs(t, err, tenantsync.ErrIncomplete)
			require.ErrorIs(t, err, tt.kind)
			assert.Equal(t, tt.kind, tenantsync.ClassOf(err))
			assert.NotEmpty(t, tenantsync.HintOf(err))
		})
	}
}
