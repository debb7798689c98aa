package tenantsync

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
