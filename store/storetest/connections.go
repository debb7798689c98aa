package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testConnections(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	const plaintext = "s3cr3t-CIPP-client-secret-5f2a"
	c := store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{"baseURL":"https://cipp.example"}`), Secret: store.NewSecret(plaintext)}
	require.NoError(t, s.Account(h.acct).Connections.Put(ctx, c))
	require.NoError(t, s.Account(h.acct).Connections.Put(ctx, store.Connection{Name: "partner", Kind: store.ConnectionPartnerCenter, Config: []byte(`{}`), Secret: store.NewSecret("other")}))

	got, err := s.Account(h.acct).Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	assert.Equal(t, plaintext, got.Secret.Reveal())
	assert.Equal(t, store.ConnectionCIPP, got.Kind)
	assert.JSONEq(t, `{"baseURL":"https://cipp.example"}`, string(got.Config))
	assert.Equal(t, "k1", got.KeyID)
	assert.False(t, got.CreatedAt.IsZero())
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		assert.NotContains(t, fmt.Sprintf(f, got), plaintext, "format %s", f)
	}

	list, err := s.Account(h.acct).Connections.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "cipp", list[0].Name)
	assert.Equal(t, "partner", list[1].Name)
	assert.Equal(t, "other", list[1].Secret.Reveal())

	// Replacing keeps one connection of that name.
	c.Secret = store.NewSecret("replaced")
	require.NoError(t, s.Account(h.acct).Connections.Put(ctx, c))
	got, err = s.Account(h.acct).Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "replaced", got.Secret.Reveal())

	err = s.Account(h.acct).Connections.Put(ctx, store.Connection{Name: "x", Kind: "ftp", Secret: store.NewSecret("zzz-not-leaked")})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "zzz-not-leaked")

	// A connection without its secret (as one decoded from JSON comes back) does not wipe the
	// stored secret; putting back what GetConnection returned keeps it and its creation time.
	assertKind(t, s.Account(h.acct).Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{"baseURL":"https://other.example"}`)}), tenantsync.ErrInvalidInput)
	got, err = s.Account(h.acct).Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "replaced", got.Secret.Reveal())
	assert.JSONEq(t, `{"baseURL":"https://cipp.example"}`, string(got.Config))
	created := got.CreatedAt
	got.Config = []byte(`{"baseURL":"https://moved.example"}`)
	require.NoError(t, s.Account(h.acct).Connections.Put(ctx, got))
	got, err = s.Account(h.acct).Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "replaced", got.Secret.Reveal())
	assert.JSONEq(t, `{"baseURL":"https://moved.example"}`, string(got.Config))
	assert.True(t, got.CreatedAt.Equal(created), "replacing keeps the creation time")

	require.NoError(t, s.Account(h.acct).Connections.Delete(ctx, "cipp"))
	_, err = s.Account(h.acct).Connections.Get(ctx, "cipp")
	assertKind(t, err, tenantsync.ErrNotFound)
	assertKind(t, s.Account(h.acct).Connections.Delete(ctx, "cipp"), tenantsync.ErrNotFound)
}

func testSecretRotation(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	secrets := map[string]string{"cipp": "cipp-secret-1", "graph": "graph-secret-2"}
	for name, sec := range secrets {
		require.NoError(t, s.Account(h.acct).Connections.Put(ctx, store.Connection{Name: name, Kind: store.ConnectionKind(name), Secret: store.NewSecret(sec)}))
	}
	n, err := s.Account(h.acct).Connections.RotateSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "nothing to re-seal while k1 is current")

	h.keys.Rotate(t, "k2")
	n, err = s.Account(h.acct).Connections.RotateSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	h.keys.Forget("k1")
	for name, sec := range secrets {
		got, err := s.Account(h.acct).Connections.Get(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, "k2", got.KeyID)
		assert.Equal(t, sec, got.Secret.Reveal())
	}
	n, err = s.Account(h.acct).Connections.RotateSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	// A secret whose key is gone fails clearly, without the plaintext.
	h.keys.Rotate(t, "k3")
	require.NoError(t, s.Account(h.acct).Connections.Put(ctx, store.Connection{Name: "lost", Kind: store.ConnectionGraph, Secret: store.NewSecret("lost-plaintext-77")}))
	h.keys.Forget("k3")
	h.keys.Rotate(t, "k4")
	_, err = s.Account(h.acct).Connections.Get(ctx, "lost")
	require.Error(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), "lost-plaintext-77")
	_, err = s.Account(h.acct).Connections.RotateSecrets(ctx)
	require.Error(t, err, "rotation cannot re-seal a secret it cannot open")
}
