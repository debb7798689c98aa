package tenantsynctest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// examples/externaltest is a module of its own, as a PSA's is: its test starts tenantsynctest,
// links a tenant through the engine into tenantsynctest.Contacts and checks the contacts. Run
// from here, it proves the fakes work through the public API alone: the go tool refuses an
// import of tenantsync's internal packages from another module, and the module replaces
// tenantsync's root and nothing else.
func TestExternalModuleUsesThePublicFakes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs another module's tests")
	}
	dir := filepath.Join("..", "examples", "externaltest")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	var replaces []string
	inBlock := false
	for _, line := range strings.Split(string(gomod), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "replace ("):
			inBlock = true
		case inBlock && line == ")":
			inBlock = false
		case inBlock && line != "" && !strings.HasPrefix(line, "//"):
			replaces = append(replaces, line)
		case strings.HasPrefix(line, "replace "):
			replaces = append(replaces, strings.TrimPrefix(line, "replace "))
		}
	}
	assert.Equal(t, []string{"github.com/tenantsync/tenantsync => ../.."}, replaces,
		"the module replaces tenantsync's root only")

	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.CommandContext(t.Context(), goTool, "test", "-count=1", "./...")
	cmd.Dir = dir
	// The module resolves its dependencies from its own go.sum, as a user's would.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go test in examples/externaltest:\n%s", out)
	assert.Contains(t, string(out), "ok  \texample.com/psa")
}
