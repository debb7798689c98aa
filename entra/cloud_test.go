package entra_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
)

// The hosts as Microsoft publishes them (learn.microsoft.com/graph/deployments and
// partner-center/developer/partner-center-rest-urls); a typo in the table fails here.
func TestCloudsCarryMicrosoftsHosts(t *testing.T) {
	t.Parallel()
	want := map[entra.CloudName][3]string{
		entra.CloudGlobal:    {"https://login.microsoftonline.com", "https://graph.microsoft.com", "https://api.partnercenter.microsoft.com"},
		entra.CloudUSGovHigh: {"https://login.microsoftonline.us", "https://graph.microsoft.us", "https://api.partnercenter.microsoft.com"},
		entra.CloudUSGovDoD:  {"https://login.microsoftonline.us", "https://dod-graph.microsoft.us", "https://api.partnercenter.microsoft.com"},
		entra.CloudChina:     {"https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn", "https://partner.partnercenterapi.microsoftonline.cn"},
	}
	clouds := entra.Clouds()
	require.Len(t, clouds, len(want))
	for _, c := range clouds {
		w := want[c.Name]
		assert.Equal(t, w, [3]string{c.AuthorityHost, c.GraphURL, c.PartnerCenterURL}, c.Name)
		assert.Equal(t, c.GraphURL+"/.default", c.GraphScope(), "a national cloud's scopes name its own Graph")
		assert.Len(t, c.Hosts(), 3)
	}
	high, err := entra.CloudByName("USGOV-HIGH")
	require.NoError(t, err)
	gaps := high.Gaps()
	require.Len(t, gaps, 2)
	assert.Equal(t, entra.ServiceGDAP, gaps[0].Service)
	assert.Contains(t, gaps[0].Reason, "only in the global cloud")
	assert.Equal(t, entra.ServiceCIPP, gaps[1].Service)
	global, err := entra.CloudByName("")
	require.NoError(t, err)
	assert.Empty(t, global.Gaps())
	_, err = entra.CloudByName("germany")
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)

	clouds[0].Missing[entra.ServiceGDAP] = "changed"
	again, _ := entra.CloudByName("global")
	assert.Empty(t, again.Gaps(), "Clouds hands out copies")
}
