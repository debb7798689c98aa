//go:build linux || darwin || freebsd

package sqlite_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// The database holds sealed secrets and the audit log: the file, its write-ahead log and
// shared-memory index, and a directory Open creates, are its owner's alone, under the usual
// umask 022 that leaves files created 0644 readable by everyone.
//
// Not parallel: the umask is the process's. Parallel tests wait until this one returns.
func TestOpenCreatesOwnerOnlyFiles(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })

	base := t.TempDir()
	path := filepath.Join(base, "data", "tenantsync", "store.db")
	keys := storetest.NewKeys(t)
	s, err := sqlite.Open(t.Context(), path, sqlite.Config{Keys: keys})
	require.NoError(t, err)
	defer s.Close()

	mode := func(p string) fs.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		require.NoError(t, err)
		return fi.Mode().Perm()
	}
	assert.Equal(t, fs.FileMode(0o700), mode(filepath.Join(base, "data")), "a missing directory is created for the owner alone")
	assert.Equal(t, fs.FileMode(0o700), mode(filepath.Dir(path)))
	assert.Equal(t, fs.FileMode(0o600), mode(path), "after Open")

	ctx := t.Context()
	require.NoError(t, s.Account("acct").Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Secret: store.NewSecret("s")}))
	_, err = s.Account("acct").Audit.Append(ctx, tenantsync.AuditEntry{Actor: "alice", Action: "link"})
	require.NoError(t, err)
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		assert.Equal(t, fs.FileMode(0o600), mode(f), "%s after a write", filepath.Base(f))
	}
	require.NoError(t, s.Close())
	assert.Equal(t, fs.FileMode(0o600), mode(path), "after Close")

	// A file that exists keeps the mode its owner chose.
	mine := filepath.Join(base, "mine.db")
	require.NoError(t, os.WriteFile(mine, nil, 0o640))
	require.NoError(t, os.Chmod(mine, 0o640))
	other, err := sqlite.Open(ctx, mine, sqlite.Config{Keys: keys})
	require.NoError(t, err)
	defer other.Close()
	assert.Equal(t, fs.FileMode(0o640), mode(mine))
}
