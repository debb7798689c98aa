package tenantsync_test

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
)

const plaintext = "hunter2-CLIENT-SECRET-value"

// holder stands for a client that keeps a secret in unexported state, where fmt cannot call
// Secret's methods, including inside a map, which fmt prints at any depth.
type holder struct {
	name   string
	secret tenantsync.Secret
	cache  map[string]tenantsync.Secret
	nested struct{ token tenantsync.Secret }
}

func TestSecretNeverRendersItsPlaintext(t *testing.T) {
	t.Parallel()
	s := tenantsync.NewSecret(plaintext)
	require.Equal(t, plaintext, s.Reveal())
	exported := struct {
		Name   string
		Secret tenantsync.Secret
		ByKey  map[string]tenantsync.Secret
	}{"x", s, map[string]tenantsync.Secret{"k": s}}
	hidden := &holder{name: "x", secret: s, cache: map[string]tenantsync.Secret{"t": s}}
	hidden.nested.token = s

	var logged bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logged, nil), slog.NewTextHandler(&logged, nil)} {
		slog.New(h).Info("connected", "secret", s, "exported", exported, "hidden", hidden, slog.Any("any", s))
	}
	js, err := json.Marshal(exported)
	require.NoError(t, err)
	text, err := s.MarshalText()
	require.NoError(t, err)

	outputs := map[string]string{
		"slog": logged.String(), "json": string(js), "text": string(text),
		"error": fmt.Errorf("connect %v: %w", exported, tenantsync.ErrUnauthorized).Error(),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs[verb+" secret"] = fmt.Sprintf(verb, s)
		outputs[verb+" pointer"] = fmt.Sprintf(verb, &s)
		outputs[verb+" exported"] = fmt.Sprintf(verb, exported)
		outputs[verb+" unexported"] = fmt.Sprintf(verb, hidden)
		outputs[verb+" unexported value"] = fmt.Sprintf(verb, *hidden)
	}
	hexed := fmt.Sprintf("%x", plaintext)
	for name, out := range outputs {
		assert.NotContains(t, out, plaintext, name)
		assert.NotContains(t, strings.ToLower(out), hexed, name)
	}
	assert.Equal(t, tenantsync.Redacted, fmt.Sprintf("%v", s))
	assert.Equal(t, tenantsync.Redacted, fmt.Sprintf("%#v", s))
	assert.Equal(t, `"`+tenantsync.Redacted+`"`, string(mustJSON(t, s)))
	assert.Contains(t, outputs["json"], tenantsync.Redacted)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestSecretEquality(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		a, b  tenantsync.Secret
		equal bool
	}{
		{"same plaintext", tenantsync.NewSecret("a"), tenantsync.NewSecret("a"), true},
		{"other plaintext", tenantsync.NewSecret("a"), tenantsync.NewSecret("b"), false},
		{"prefix", tenantsync.NewSecret("a"), tenantsync.NewSecret("ab"), false},
		{"both empty", tenantsync.NewSecret(""), tenantsync.Secret{}, true},
		{"empty and set", tenantsync.Secret{}, tenantsync.NewSecret("a"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.equal, tc.a.Equal(tc.b))
			assert.Equal(t, tc.equal, tc.b.Equal(tc.a))
		})
	}
	assert.True(t, tenantsync.NewSecret("").IsZero())
	assert.True(t, tenantsync.Secret{}.IsZero())
	assert.Empty(t, tenantsync.Secret{}.Reveal())
	assert.False(t, tenantsync.NewSecret("a").IsZero())
	assert.Equal(t, tenantsync.Redacted, tenantsync.Secret{}.String(), "an empty secret renders like any other")
}

func TestSecretLoadsFromConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    string
		wantErr bool
	}{
		{"a string", `{"Secret":"from-config"}`, "from-config", false},
		{"escapes", `{"Secret":"a\"b\u0041"}`, `a"bA`, false},
		{"null", `{"Secret":null}`, "", false},
		{"absent", `{}`, "", false},
		{"a redacted value comes back missing", `{"Secret":"[REDACTED]"}`, "", false},
		{"a number", `{"Secret":12345678}`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cfg struct{ Secret tenantsync.Secret }
			err := json.Unmarshal([]byte(tc.json), &cfg)
			if tc.wantErr {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "12345678", "the error does not echo the value")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.Secret.Reveal())
			assert.Equal(t, tc.want == "", cfg.Secret.IsZero())
		})
	}
	var s tenantsync.Secret
	require.NoError(t, s.UnmarshalText([]byte("from-flag")))
	assert.Equal(t, "from-flag", s.Reveal())
	round, err := json.Marshal(struct{ Secret tenantsync.Secret }{s})
	require.NoError(t, err)
	var back struct{ Secret tenantsync.Secret }
	require.NoError(t, json.Unmarshal(round, &back))
	assert.True(t, back.Secret.IsZero(), "a marshalled secret never comes back as the word [REDACTED]")
}
