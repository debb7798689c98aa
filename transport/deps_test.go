package transport_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transport is the package a caller imports to share a budget, limits and an observer across
// clients, or to bring its own TokenSource; it must not make them compile Entra authentication
// (MSAL) or the HTTP stack's retry library.
func TestTransportDependencies(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	require.NoError(t, err, "go list -deps")
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/tenantsync/tenantsync/transport", "go list ran in the wrong directory")
	for _, forbidden := range []string{
		"github.com/AzureAD/microsoft-authentication-library-for-go",
		"github.com/tenantsync/tenantsync/entra",
		"github.com/tenantsync/tenantsync/internal/httpx",
		"github.com/hashicorp/go-retryablehttp",
	} {
		for _, d := range deps {
			assert.False(t, d == forbidden || strings.HasPrefix(d, forbidden+"/"), "transport depends on %s", d)
		}
	}
}
