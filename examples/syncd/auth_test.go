package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func TestFirstStartCreatesPrivateFilesAndPrintsOnlyTheTokenPath(t *testing.T) {
	t.Parallel()
	if !enforcePerms() {
		t.Skip("Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	cfg, err := parseConfig([]string{"-data-dir", dir, "-demo-tenants", "1", "-demo-huge-users", "5"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	d, err := newDaemon(t.Context(), cfg, &out, hooks{})
	require.NoError(t, err)
	d.close()

	for path, want := range map[string]os.FileMode{
		dir:                               0o700,
		filepath.Join(dir, "secret.key"):  0o600,
		filepath.Join(dir, tokenFileName): 0o600,
	} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(filepath.Join(dir, tokenFileName))
	require.NoError(t, err)
	token := strings.TrimSpace(string(b))
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err, "the token is base64url")
	assert.Len(t, raw, 32, "the token carries 32 random bytes")
	assert.Contains(t, out.String(), filepath.Join(dir, tokenFileName))
	assert.NotContains(t, out.String(), token, "the token itself is never printed")

	// A second start keeps the token.
	again, created, err := loadAPIToken(filepath.Join(dir, tokenFileName))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, token, again)
}

func TestFilesOpenToOthersAreRefused(t *testing.T) {
	t.Parallel()
	if !enforcePerms() {
		t.Skip("Unix permissions")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (cfg func(*config), path string)
		want  string // the command the message must name, before the path
	}{
		{"data directory", func(t *testing.T, dir string) (func(*config), string) {
			require.NoError(t, os.Chmod(dir, 0o755))
			return nil, dir
		}, "chmod 700 "},
		{"secret key", func(t *testing.T, dir string) (func(*config), string) {
			p := filepath.Join(dir, "secret.key")
			require.NoError(t, os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o644))
			require.NoError(t, os.Chmod(p, 0o644))
			return nil, p
		}, "chmod 600 "},
		{"key file given", func(t *testing.T, dir string) (func(*config), string) {
			p := filepath.Join(t.TempDir(), "key")
			require.NoError(t, os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o600))
			require.NoError(t, os.Chmod(p, 0o604))
			return func(c *config) { c.KeyFile = p }, p
		}, "chmod 600 "},
		{"api token", func(t *testing.T, dir string) (func(*config), string) {
			p := filepath.Join(dir, tokenFileName)
			require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("x", 43)), 0o600))
			require.NoError(t, os.Chmod(p, 0o640))
			return nil, p
		}, "chmod 600 "},
		{"actors file", func(t *testing.T, dir string) (func(*config), string) {
			a := writeActors(t, "alice")
			require.NoError(t, os.Chmod(a.path, 0o644))
			return func(c *config) { c.ActorsFile = a.path }, a.path
		}, "chmod 600 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			require.NoError(t, os.Mkdir(dir, 0o700))
			edit, path := tt.setup(t, dir)
			cfg, err := parseConfig([]string{"-data-dir", dir}, func(string) string { return "" }, io.Discard)
			require.NoError(t, err)
			if edit != nil {
				edit(&cfg)
			}
			_, err = newDaemon(t.Context(), cfg, io.Discard, hooks{})
			require.Error(t, err)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want+path)
			assert.Contains(t, err.Error(), "open to other users")
		})
	}
}

func TestParseActors(t *testing.T) {
	t.Parallel()
	tok := strings.Repeat("A", 32)
	tests := []struct {
		name    string
		file    string
		want    []actorToken
		wantErr string
	}{
		{"names and tokens", "# who may call\n\nalice:" + tok + "\n  bob : " + tok + "b \n", []actorToken{{"alice", tok}, {"bob", tok + "b"}}, ""},
		{"colon in token", "svc.psa@example:" + tok + ":x\n", []actorToken{{"svc.psa@example", tok + ":x"}}, ""},
		{"empty", "# nobody yet\n", nil, ""},
		{"no colon", "alice " + tok + "\n", nil, "line 1 has no colon"},
		{"short token", "alice:short\n", nil, "shorter than 32"},
		{"space in token", "alice:" + tok + " x\n", nil, "has spaces"},
		{"no name", ":" + tok + "\n", nil, "name is empty"},
		{"odd name", "al ice:" + tok + "\n", nil, "other characters"},
		{"admin reserved", "admin:" + tok + "\n", nil, "reserved"},
		{"shared token", "alice:" + tok + "\nbob:" + tok + "\n", nil, "lines 1 and 2 have the same token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseActors("actors", []byte(tt.file))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), tok, "a token is never quoted in an error")
				assert.NotEmpty(t, tenantsync.HintOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	admin, alice := strings.Repeat("a", 43), strings.Repeat("b", 43)
	c, err := newCredentials("/data/api-token", admin, []actorToken{{"alice", alice}, {"alice", alice + "2"}})
	require.NoError(t, err)
	for token, want := range map[string]string{admin: adminActor, alice: "alice", alice + "2": "alice", "": "", alice[:42]: "", admin + "x": ""} {
		got, ok := c.actor(token)
		assert.Equal(t, want, got, "token %q", token)
		assert.Equal(t, want != "", ok)
	}
	assert.Equal(t, []string{adminActor, "alice"}, c.names())

	require.NoError(t, c.checkWriters([]string{"alice", adminActor}))
	err = c.checkWriters([]string{"alice", "bob"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-writers names bob")
	assert.Contains(t, tenantsync.HintOf(err), "-actors-file")

	_, err = newCredentials("/data/api-token", admin, []actorToken{{"alice", admin}})
	require.Error(t, err, "an actor may not hold the install token")
}

func TestWritersMustHoldATokenAtStart(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig([]string{"-data-dir", filepath.Join(t.TempDir(), "data"), "-writers", "alice"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	_, err = newDaemon(t.Context(), cfg, io.Discard, hooks{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-writers names alice")
}
