package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenantsync/tenantsync/store"
)

// benchKeys is the KeyProvider of the stores the harnesses open: the audit log is keyed with
// it, and every process that opens a harness's database (an engine child, the checker after a
// kill) must verify with the same key. A fixed key is enough: nothing here is secret.
func benchKeys() store.KeyProvider {
	k, _ := store.NewStaticKeys("bench", map[string][]byte{"bench": []byte("tenantsync-bench-key-32-bytes!!!")})
	return k
}

// syncdKeys reads the key examples/syncd created in its data directory, under the ID syncd
// gives it, so the harness can verify the audit log syncd keyed.
func syncdKeys(dataDir string) (store.KeyProvider, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("reading syncd's key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("syncd's key: %w", err)
	}
	sum := sha256.Sum256(key)
	id := "k-" + hex.EncodeToString(sum[:4])
	return store.NewStaticKeys(id, map[string][]byte{id: key})
}
