package tenantsync

import (
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
)

// Redacted is what a Secret renders as, everywhere: every fmt verb, slog, JSON and text.
const Redacted = "[REDACTED]"

// Secret holds a credential in memory: a client secret, a refresh token, an access token in a
// cache. It renders as [REDACTED] with every fmt verb, in slog and in JSON, so a configuration
// or a client holding one can be printed, logged or wrapped in an error without leaking it.
// Reveal returns the plaintext for the one place that sends it. Build one with NewSecret; the
// zero Secret is empty. Compare with Equal (== does not compile: a Secret holds a func).
type Secret struct {
	// A closure, because fmt prints a func as its address whatever the verb, even where it
	// cannot call Secret's methods: inside an unexported field, a map, a bad verb. A string, or
	// a pointer to one, would print its content there.
	reveal func() string
}

// NewSecret wraps a plaintext credential.
func NewSecret(plaintext string) Secret {
	if plaintext == "" {
		return Secret{}
	}
	return Secret{reveal: func() string { return plaintext }}
}

// Reveal returns the plaintext ("" for the zero Secret).
func (s Secret) Reveal() string {
	if s.reveal == nil {
		return ""
	}
	return s.reveal()
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.reveal == nil }

// Equal reports whether two secrets hold the same plaintext, in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String returns [REDACTED].
func (s Secret) String() string { return Redacted }

// GoString returns [REDACTED], for %#v.
func (s Secret) GoString() string { return Redacted }

// Format writes [REDACTED] whatever the verb and flags, so %x, %q or %d cannot print the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue returns [REDACTED] for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the secret as "[REDACTED]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the secret as [REDACTED] (YAML, TOML, map keys, slog's text handler).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalJSON loads a secret from a JSON string (a configuration file). The word [REDACTED]
// decodes as the zero Secret, so a value that went through MarshalJSON comes back missing,
// which callers refuse, rather than as a wrong credential.
func (s *Secret) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("a secret must be a JSON string")
	}
	return s.UnmarshalText([]byte(v))
}

// UnmarshalText loads a secret from text (flag.TextVar, configuration libraries), with the
// same reading of [REDACTED] as UnmarshalJSON.
func (s *Secret) UnmarshalText(b []byte) error {
	if string(b) == Redacted {
		*s = Secret{}
		return nil
	}
	*s = NewSecret(string(b))
	return nil
}

// PrivateKey holds the private key of a certificate credential: the key an app registration's
// certificate signs client assertions with. Like Secret it renders as [REDACTED] with every fmt
// verb, in slog and in JSON. A bare *rsa.PrivateKey in a configuration would not: encoding/json,
// slog's JSON handler and fmt walk its exported big.Int fields and print the private exponent
// and the primes. Signer returns the key for the one place that signs. Build one with
// NewPrivateKey or ParsePrivateKeyPEM; the zero PrivateKey is empty.
type PrivateKey struct {
	// A closure, for the reason Secret holds one: fmt prints a func as its address whatever the
	// verb and however deep, where it cannot call PrivateKey's methods.
	signer func() crypto.Signer
}

// NewPrivateKey wraps a private key: *rsa.PrivateKey from x509.ParsePKCS1PrivateKey or
// ParsePKCS8PrivateKey, or any crypto.Signer. A nil key gives the zero PrivateKey.
func NewPrivateKey(key crypto.Signer) PrivateKey {
	if key == nil {
		return PrivateKey{}
	}
	// A typed nil (a nil *rsa.PrivateKey in the interface) or an empty ed25519.PrivateKey would
	// panic when asked for its public key; treat it as no key, which configurations refuse.
	switch v := reflect.ValueOf(key); v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Func, reflect.Chan:
		if v.IsNil() {
			return PrivateKey{}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			return PrivateKey{}
		}
	}
	return PrivateKey{signer: func() crypto.Signer { return key }}
}

// Signer returns the key, for the one place that signs with it (nil for the zero PrivateKey).
// What it returns prints the key's material: keep it out of anything that is logged or kept.
func (k PrivateKey) Signer() crypto.Signer {
	if k.signer == nil {
		return nil
	}
	return k.signer()
}

// IsZero reports whether no key is set.
func (k PrivateKey) IsZero() bool { return k.signer == nil }

// String returns [REDACTED].
func (k PrivateKey) String() string { return Redacted }

// GoString returns [REDACTED], for %#v.
func (k PrivateKey) GoString() string { return Redacted }

// Format writes [REDACTED] whatever the verb and flags.
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue returns [REDACTED] for log/slog.
func (k PrivateKey) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the key as "[REDACTED]".
func (k PrivateKey) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the key as [REDACTED].
func (k PrivateKey) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalJSON loads a key from a JSON string holding its PEM (a configuration file). As with
// Secret, the word [REDACTED] decodes as the zero PrivateKey, which configurations refuse.
func (k *PrivateKey) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*k = PrivateKey{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return Errorf(ErrInvalidInput, "give the private key as a JSON string holding its PEM", "a private key must be a JSON string")
	}
	return k.UnmarshalText([]byte(v))
}

// UnmarshalText loads a key from PEM text (see ParsePrivateKeyPEM), with the same reading of
// [REDACTED] and of empty text as UnmarshalJSON.
func (k *PrivateKey) UnmarshalText(b []byte) error {
	if s := strings.TrimSpace(string(b)); s == "" || s == Redacted {
		*k = PrivateKey{}
		return nil
	}
	key, err := ParsePrivateKeyPEM(b)
	if err != nil {
		return err
	}
	*k = key
	return nil
}

const hintPEMKey = "give the certificate's private key in PEM, unencrypted (-----BEGIN PRIVATE KEY----- or " +
	"-----BEGIN RSA PRIVATE KEY-----); convert a .pfx with: openssl pkcs12 -in cert.pfx -nodes -out cert.pem"

// ParsePrivateKeyPEM reads the first private key in PEM data: PKCS #8 (PRIVATE KEY), PKCS #1
// (RSA PRIVATE KEY) or SEC 1 (EC PRIVATE KEY). Other blocks are skipped, so a file holding the
// certificate and its key together parses. An encrypted key is refused. Errors quote nothing of
// the data.
func ParsePrivateKeyPEM(data []byte) (PrivateKey, error) {
	invalid := func(msg string) (PrivateKey, error) {
		return PrivateKey{}, &Error{Class: ErrInvalidInput, Op: "ParsePrivateKeyPEM", Message: msg, Hint: hintPEMKey}
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return invalid("no PEM private key found")
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["DEK-Info"] != "" ||
			strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return PrivateKey{}, &Error{Class: ErrInvalidInput, Op: "ParsePrivateKeyPEM", Message: "the private key is encrypted",
				Hint: "decrypt it (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem) and protect the file with its permissions instead"}
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default: // OPENSSH PRIVATE KEY and the like: named only by format, the type is data
			return invalid("the private key is in a format other than PKCS #8, PKCS #1 or SEC 1")
		}
		// err is not passed on: x509's messages name no key material today, but nothing
		// promises that, and a key's bytes must never reach an error string.
		if err != nil {
			return invalid("the PEM private key could not be parsed")
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return invalid("the PEM private key cannot sign")
		}
		return NewPrivateKey(signer), nil
	}
}
