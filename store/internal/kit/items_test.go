package kit

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync"
)

// Among serves ItemsReader for a backend that reads only whole kinds: the items of the IDs
// asked for, as a change set without a cursor, singletons included.
func TestAmongCutsAWholeMirrorToTheIDsAskedFor(t *testing.T) {
	all := &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Cursor: "c1",
		Users: []tenantsync.User{{ObjectID: "u1"}, {ObjectID: "u2"}, {ObjectID: "u3"}}}
	assert.Equal(t, &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes,
		Users: []tenantsync.User{{ObjectID: "u1"}, {ObjectID: "u3"}}}, Among(all, []string{"u3", "absent", "u1"}))
	assert.Empty(t, Among(all, nil).Users)

	baseline := &tenantsync.KindResult{Kind: tenantsync.KindBaseline, Mode: tenantsync.Complete,
		Baseline: &tenantsync.SecurityBaseline{SecureScore: 41}}
	assert.Equal(t, baseline.Baseline, Among(baseline, []string{BaselineID}).Baseline)
	assert.Nil(t, Among(baseline, []string{"other"}).Baseline)
}
