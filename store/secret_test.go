package store_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

const plaintext = "hunter2-CLIENT-SECRET-value"

func TestSecretNeverFormatsItsPlaintext(t *testing.T) {
	t.Parallel()
	s := store.NewSecret(plaintext)
	require.Equal(t, plaintext, s.Reveal())
	conn := store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Secret: s}
	hidden := struct {
		name   string
		secret store.Secret
	}{"x", s}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("connected", "secret", s, "conn", conn)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("connected", "secret", s, "conn", conn)
	js, err := json.Marshal(conn)
	require.NoError(t, err)
	text, err := s.MarshalText()
	require.NoError(t, err)

	outputs := map[string]string{
		"slog": logged.String(), "json": string(js), "text": string(text),
		"error": fmt.Errorf("connect %v: %w", conn, tenantsync.ErrUnauthorized).Error(),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		outputs[verb+" secret"] = fmt.Sprintf(verb, s)
		outputs[verb+" connection"] = fmt.Sprintf(verb, conn)
		outputs[verb+" pointer"] = fmt.Sprintf(verb, &conn)
		outputs[verb+" unexported field"] = fmt.Sprintf(verb, hidden)
	}
	hexed := fmt.Sprintf("%x", plaintext)
	for name, out := range outputs {
		assert.NotContains(t, out, plaintext, name)
		assert.NotContains(t, strings.ToLower(out), hexed, name)
	}
	assert.Contains(t, outputs["%v secret"], "[REDACTED]")
	assert.Contains(t, outputs["json"], "[REDACTED]")
}

func TestSecretEquality(t *testing.T) {
	t.Parallel()
	assert.True(t, store.NewSecret("a").Equal(store.NewSecret("a")))
	assert.False(t, store.NewSecret("a").Equal(store.NewSecret("b")))
	assert.True(t, store.NewSecret("").IsZero())
	assert.True(t, store.Secret{}.IsZero())
	assert.Empty(t, store.Secret{}.Reveal())
	assert.False(t, store.NewSecret("a").IsZero())
}

func keys(t *testing.T) *store.StaticKeys {
	t.Helper()
	k, err := store.NewStaticKeys("k2", map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32), "k2": bytes.Repeat([]byte{2}, 32)})
	require.NoError(t, err)
	return k
}

func TestStaticKeysValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
	}{
		{"current missing", "k9", map[string][]byte{"k1": make([]byte, 32)}},
		{"no current", "", map[string][]byte{"k1": make([]byte, 32)}},
		{"short key", "k1", map[string][]byte{"k1": make([]byte, 16)}},
		{"short other key", "k1", map[string][]byte{"k1": make([]byte, 32), "k0": make([]byte, 31)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := store.NewStaticKeys(tc.current, tc.keys)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.NotEmpty(t, tenantsync.HintOf(err))
		})
	}
	var none *store.StaticKeys
	_, _, err := none.CurrentKey(t.Context())
	assert.Error(t, err)
	_, err = keys(t).Key(t.Context(), "k9")
	assert.ErrorIs(t, err, tenantsync.ErrNotFound)
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	k := keys(t)
	sealed, err := store.Seal(ctx, k, "acct", "cipp", store.NewSecret(plaintext))
	require.NoError(t, err)
	assert.Equal(t, "k2", sealed.KeyID)
	assert.False(t, bytes.Contains(sealed.Box, []byte(plaintext)))
	again, err := store.Seal(ctx, k, "acct", "cipp", store.NewSecret(plaintext))
	require.NoError(t, err)
	assert.NotEqual(t, sealed.Box, again.Box, "a fresh nonce every time")

	opened, err := store.Open(ctx, k, "acct", "cipp", sealed)
	require.NoError(t, err)
	assert.Equal(t, plaintext, opened.Reveal())

	flipped := store.Sealed{KeyID: sealed.KeyID, Box: bytes.Clone(sealed.Box)}
	flipped.Box[len(flipped.Box)-1] ^= 1
	bad := map[string]struct {
		account, name string
		sealed        store.Sealed
		kind          error
	}{
		"other account":   {"acct-b", "cipp", sealed, tenantsync.ErrInvalidInput},
		"other name":      {"acct", "graph", sealed, tenantsync.ErrInvalidInput},
		"flipped bit":     {"acct", "cipp", flipped, tenantsync.ErrInvalidInput},
		"truncated":       {"acct", "cipp", store.Sealed{KeyID: "k2", Box: sealed.Box[:10]}, tenantsync.ErrInvalidInput},
		"unknown key":     {"acct", "cipp", store.Sealed{KeyID: "k9", Box: sealed.Box}, tenantsync.ErrNotFound},
		"other known key": {"acct", "cipp", store.Sealed{KeyID: "k1", Box: sealed.Box}, tenantsync.ErrInvalidInput},
	}
	for name, tc := range bad {
		_, err := store.Open(ctx, k, tc.account, tc.name, tc.sealed)
		assert.ErrorIs(t, err, tc.kind, name)
		assert.NotEmpty(t, tenantsync.HintOf(err), name)
		assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), plaintext, name)
	}
	_, err = store.Seal(ctx, nil, "acct", "cipp", store.NewSecret("x"))
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = store.Open(ctx, nil, "acct", "cipp", sealed)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func FuzzOpen(f *testing.F) {
	k, err := store.NewStaticKeys("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	require.NoError(f, err)
	sealed, err := store.Seal(f.Context(), k, "acct", "cipp", store.NewSecret("secret"))
	require.NoError(f, err)
	f.Add(sealed.Box)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 40))
	f.Fuzz(func(t *testing.T, box []byte) {
		s, err := store.Open(t.Context(), k, "acct", "cipp", store.Sealed{KeyID: "k1", Box: box})
		if err != nil {
			assert.True(t, s.IsZero())
			return
		}
		// Only a genuine ciphertext opens (GCM rejects every forgery), and the only genuine
		// ones in play seal "secret".
		assert.Equal(t, "secret", s.Reveal())
	})
}
