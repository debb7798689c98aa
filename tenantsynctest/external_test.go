package tenantsynctest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// examples/externaltest and examples/otel are modules of their own, as a PSA's is. The first
// starts tenantsynctest, links a tenant through the engine into tenantsynctest.Contacts and
// checks the contacts; the second traces a sync against the fakes with OpenTelemetry's SDK.
// Run from here, they prove the fakes and the hooks work through the public API alone: the go
// tool refuses an import of tenantsync's internal packages from another module, and each
// module replaces tenantsync's root and nothing else.
func TestExternalModules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs other modules' tests")
	}
	for _, m := range []struct{ dir, module string }{
		{"externaltest", "example.com/psa"},
		{"otel", "example.com/tenantsync-otel"},
	} {
		t.Run(m.dir, func(t *testing.T) { testExternalModule(t, filepath.Join("..", "examples", m.dir), m.module) })
	}
}

func testExternalModule(t *testing.T, dir, module string) {
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

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	cmd := exec.CommandContext(t.Context(), goTool, "test", "-count=1", "./...")
	cmd.Dir = dir
	// The module resolves its dependencies from its own go.sum, as a user's would.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go test in %s:\n%s", dir, out)
	assert.Contains(t, string(out), "ok  \t"+module)
}
