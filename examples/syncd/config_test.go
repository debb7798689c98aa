package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParsedConfigRendersNoSecret reads every secret the daemon takes, from the environment and
// from files, and renders the parsed configuration every way the daemon or a developer might
// print or log it.
func TestParsedConfigRendersNoSecret(t *testing.T) {
	t.Parallel()
	const (
		cippSecret     = "cipp-8Q~ConfigTestSecretValue"
		partnerSecret  = "partner-8Q~ConfigTestSecretValue"
		refreshToken   = "1.AQ-config-test-refresh-token"
		dbPassword     = "pg-ConfigTestPassw0rd"
		partnerFromEnv = "partner-env-ConfigTestSecret"
	)
	dsn := "postgres://tenantsync:" + dbPassword + "@db.example:5432/tenantsync"
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content+"\n"), 0o600))
		return path
	}
	ids := []string{"-cipp-url", "https://cipp.example.net",
		"-cipp-tenant-id", "6b9a2d1e-0000-4000-8000-000000000001", "-cipp-client-id", "6b9a2d1e-0000-4000-8000-000000000002",
		"-partner-tenant-id", "6b9a2d1e-0000-4000-8000-000000000003", "-partner-client-id", "6b9a2d1e-0000-4000-8000-000000000004"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want map[string]string // where each secret must have been read from
	}{
		{
			name: "secrets in files",
			args: append(slices.Clone(ids), "-cipp-secret-file", file("cipp", cippSecret), "-partner-secret-file", file("partner", partnerSecret),
				"-partner-refresh-token-file", file("rt", refreshToken), "-postgres-file", file("pg", dsn)),
			want: map[string]string{"cipp": cippSecret, "partner": partnerSecret, "refresh": refreshToken, "postgres": dsn},
		},
		{
			name: "secrets in the environment",
			args: ids,
			env: map[string]string{"TENANTSYNC_CIPP_SECRET": cippSecret, "TENANTSYNC_PARTNER_SECRET": partnerFromEnv,
				"TENANTSYNC_PARTNER_REFRESH_TOKEN": refreshToken, "TENANTSYNC_POSTGRES": dsn},
			want: map[string]string{"cipp": cippSecret, "partner": partnerFromEnv, "refresh": refreshToken, "postgres": dsn},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			require.NoError(t, err)
			// The secrets were read, or finding none of them below proves nothing.
			require.Equal(t, tc.want["cipp"], c.CIPP.Secret.Reveal())
			require.Equal(t, tc.want["partner"], c.Partner.Secret.Reveal())
			require.Equal(t, tc.want["refresh"], c.Partner.RefreshToken.Reveal())
			require.Equal(t, tc.want["postgres"], c.Postgres.Reveal())

			secrets := map[string]string{"CIPP secret": tc.want["cipp"], "partner secret": tc.want["partner"],
				"refresh token": refreshToken, "database password": dbPassword}
			for how, out := range renderConfig(t, c) {
				lower := strings.ToLower(out)
				for what, secret := range secrets {
					assert.NotContains(t, out, secret, "%s shows the %s", how, what)
					assert.NotContains(t, lower, fmt.Sprintf("%x", secret), "%s shows the %s in hex", how, what)
				}
				assert.Contains(t, out, "REDACTED", "%s: a configured secret shows as redacted, not as nothing", how)
			}
		})
	}
}

// renderConfig is every way the parsed configuration might be printed or logged, whole and by part.
func renderConfig(t *testing.T, c config) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, v := range map[string]any{"config": c, "*config": &c, "cipp": c.CIPP, "partner": c.Partner} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out[verb+" "+name] = fmt.Sprintf(verb, v)
		}
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("configuration", "cfg", v)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("configuration", "cfg", v)
		out["slog text "+name], out["slog json "+name] = text.String(), js.String()
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out["encoding/json "+name] = string(b)
	}
	return out
}

func TestConfigErrorsQuoteNoSecret(t *testing.T) {
	t.Parallel()
	const password = "pg-ErrorTestPassw0rd"
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"malformed DSN", map[string]string{"TENANTSYNC_POSTGRES": "mysql://tenantsync:" + password + "@db.example/x"}, "DSN is malformed"},
		{"unparsable DSN", map[string]string{"TENANTSYNC_POSTGRES": "postgres://tenantsync:" + password + "@db.example:port/x"}, "DSN is malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(nil, func(k string) string { return tc.env[k] }, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), password)
		})
	}
}
