package tenantsync_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

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

// keyMaterial is every form in which a printer could spell an RSA key's private parts: the
// private exponent, the primes and the CRT values in decimal (fmt, encoding/json of big.Int),
// hex (%x) and base64 (of their bytes and of the key's DER, as PEM carries it).
func keyMaterial(t *testing.T, k *rsa.PrivateKey) map[string]string {
	t.Helper()
	out := map[string]string{}
	ints := map[string]*big.Int{"D": k.D, "P": k.Primes[0], "Q": k.Primes[1],
		"Dp": k.Precomputed.Dp, "Dq": k.Precomputed.Dq, "Qinv": k.Precomputed.Qinv}
	for name, n := range ints {
		require.NotNil(t, n, name)
		out[name+" decimal"] = n.String()
		out[name+" hex"] = n.Text(16)
		out[name+" base64"] = base64.StdEncoding.EncodeToString(n.Bytes())[:40]
		out[name+" base64url"] = base64.RawURLEncoding.EncodeToString(n.Bytes())[:40]
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	// The middle of the DER's base64: its start is the same ASN.1 header in every key.
	b64 := base64.StdEncoding.EncodeToString(der)
	out["PKCS #8 base64"] = b64[len(b64)/2 : len(b64)/2+48]
	return out
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

// keyHolder stands for a token source that keeps a key in unexported state.
type keyHolder struct {
	key    tenantsync.PrivateKey
	byName map[string]tenantsync.PrivateKey
}

func TestPrivateKeyNeverRendersItsMaterial(t *testing.T) {
	t.Parallel()
	rk := newRSAKey(t)
	k := tenantsync.NewPrivateKey(rk)
	require.Same(t, rk, k.Signer(), "the signer is the key itself")
	exported := struct {
		ClientID string
		Key      tenantsync.PrivateKey
		ByName   map[string]tenantsync.PrivateKey
	}{"app", k, map[string]tenantsync.PrivateKey{"cert": k}}
	hidden := &keyHolder{key: k, byName: map[string]tenantsync.PrivateKey{"cert": k}}

	material := keyMaterial(t, rk)
	// The needles find the key where it is not wrapped, or this test proves nothing.
	bare, err := json.Marshal(struct{ Key any }{rk})
	require.NoError(t, err)
	require.Contains(t, string(bare), material["D decimal"], "encoding/json prints a bare RSA key's D")
	require.Contains(t, fmt.Sprintf("%+v", rk), material["D decimal"], "fmt prints a bare RSA key's D")

	var logged bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logged, nil), slog.NewTextHandler(&logged, nil)} {
		slog.New(h).Info("cert", "key", k, "exported", exported, "hidden", hidden, slog.Any("any", k))
	}
	js, err := json.Marshal(exported)
	require.NoError(t, err)
	text, err := k.MarshalText()
	require.NoError(t, err)
	outputs := map[string]string{"slog": logged.String(), "json": string(js), "text": string(text),
		"error": fmt.Errorf("connect %v: %w", exported, tenantsync.ErrUnauthorized).Error()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs[verb+" key"] = fmt.Sprintf(verb, k)
		outputs[verb+" pointer"] = fmt.Sprintf(verb, &k)
		outputs[verb+" exported"] = fmt.Sprintf(verb, exported)
		outputs[verb+" unexported"] = fmt.Sprintf(verb, hidden)
		outputs[verb+" unexported value"] = fmt.Sprintf(verb, *hidden)
	}
	for name, out := range outputs {
		lower := strings.ToLower(out)
		for what, needle := range material {
			assert.NotContains(t, out, needle, "%s shows %s", name, what)
			assert.NotContains(t, lower, strings.ToLower(needle), "%s shows %s", name, what)
		}
	}
	assert.Equal(t, tenantsync.Redacted, fmt.Sprintf("%v", k))
	assert.Equal(t, tenantsync.Redacted, fmt.Sprintf("%#v", k))
	assert.Equal(t, `"`+tenantsync.Redacted+`"`, string(mustJSON(t, k)))
	assert.Contains(t, outputs["json"], tenantsync.Redacted)
}

func TestNewPrivateKeyOfNothingIsZero(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  crypto.Signer
	}{
		{"nil", nil},
		{"nil RSA pointer", (*rsa.PrivateKey)(nil)},
		{"nil ECDSA pointer", (*ecdsa.PrivateKey)(nil)},
		{"empty ed25519 key", ed25519.PrivateKey(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := tenantsync.NewPrivateKey(tc.key)
			assert.True(t, k.IsZero())
			assert.Nil(t, k.Signer())
			assert.Equal(t, tenantsync.Redacted, k.String(), "an empty key renders like any other")
		})
	}
	assert.True(t, tenantsync.PrivateKey{}.IsZero())
	assert.False(t, tenantsync.NewPrivateKey(newRSAKey(t)).IsZero())
}

func pemOf(t *testing.T, typ string, der []byte, headers map[string]string) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der})
}

func TestParsePrivateKeyPEM(t *testing.T) {
	t.Parallel()
	rk := newRSAKey(t)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, edk, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return der
	}
	sec1, err := x509.MarshalECPrivateKey(ek)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tenantsync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rk.PublicKey, rk)
	require.NoError(t, err)
	certPEM := pemOf(t, "CERTIFICATE", certDER, nil)
	pkcs1PEM := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), nil)
	corrupt := pkcs8(rk)
	corrupt = corrupt[:len(corrupt)/2]

	tests := []struct {
		name string
		data []byte
		want crypto.PublicKey // nil: an error of kind ErrInvalidInput with this text
		err  string
	}{
		{"PKCS #8 RSA", pemOf(t, "PRIVATE KEY", pkcs8(rk), nil), &rk.PublicKey, ""},
		{"PKCS #1 RSA", pkcs1PEM, &rk.PublicKey, ""},
		{"SEC 1 EC", pemOf(t, "EC PRIVATE KEY", sec1, nil), &ek.PublicKey, ""},
		{"PKCS #8 EC", pemOf(t, "PRIVATE KEY", pkcs8(ek), nil), &ek.PublicKey, ""},
		{"PKCS #8 Ed25519", pemOf(t, "PRIVATE KEY", pkcs8(edk), nil), edk.Public(), ""},
		{"certificate, then its key", append(append([]byte("subject=CN = tenantsync\n"), certPEM...), pkcs1PEM...), &rk.PublicKey, ""},
		{"certificate only", certPEM, nil, "no PEM private key"},
		{"not PEM", []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ"), nil, "no PEM private key"},
		{"empty", nil, nil, "no PEM private key"},
		{"PKCS #8 encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", pkcs8(rk), nil), nil, "encrypted"},
		{"legacy encrypted", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk),
			map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}), nil, "encrypted"},
		{"OpenSSH format", pemOf(t, "OPENSSH PRIVATE KEY", pkcs8(rk), nil), nil, "format"},
		{"truncated DER", pemOf(t, "PRIVATE KEY", corrupt, nil), nil, "could not be parsed"},
		{"PKCS #8 under a PKCS #1 label", pemOf(t, "RSA PRIVATE KEY", pkcs8(rk), nil), nil, "could not be parsed"},
	}
	material := keyMaterial(t, rk)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := tenantsync.ParsePrivateKeyPEM(tc.data)
			if tc.want == nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
				assert.Contains(t, err.Error(), tc.err)
				assert.NotEmpty(t, tenantsync.HintOf(err))
				assert.True(t, k.IsZero())
				for what, needle := range material {
					assert.NotContains(t, err.Error(), needle, "the error shows %s", what)
				}
				return
			}
			require.NoError(t, err)
			require.False(t, k.IsZero())
			assert.True(t, tc.want.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Signer().Public()),
				"the parsed key is the encoded one")
		})
	}
}

func TestPrivateKeyLoadsFromConfiguration(t *testing.T) {
	t.Parallel()
	rk := newRSAKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	require.NoError(t, err)
	pemText, err := json.Marshal(string(pemOf(t, "PRIVATE KEY", der, nil)))
	require.NoError(t, err)
	tests := []struct {
		name    string
		json    string
		set     bool
		wantErr bool
	}{
		{"a PEM string", `{"Key":` + string(pemText) + `}`, true, false},
		{"null", `{"Key":null}`, false, false},
		{"absent", `{}`, false, false},
		{"empty", `{"Key":""}`, false, false},
		{"a redacted key comes back missing", `{"Key":"[REDACTED]"}`, false, false},
		{"not PEM", `{"Key":"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}`, false, true},
		{"a number", `{"Key":12345678}`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cfg struct{ Key tenantsync.PrivateKey }
			err := json.Unmarshal([]byte(tc.json), &cfg)
			if tc.wantErr {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "12345678", "the error does not echo the value")
				assert.NotContains(t, err.Error(), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "the error does not echo the value")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.set, !cfg.Key.IsZero())
			if tc.set {
				assert.True(t, rk.Equal(cfg.Key.Signer()))
			}
		})
	}
	round, err := json.Marshal(struct{ Key tenantsync.PrivateKey }{tenantsync.NewPrivateKey(rk)})
	require.NoError(t, err)
	var back struct{ Key tenantsync.PrivateKey }
	require.NoError(t, json.Unmarshal(round, &back))
	assert.True(t, back.Key.IsZero(), "a marshalled key never comes back as the word [REDACTED]")
}
