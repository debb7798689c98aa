package transport

import (
	"fmt"
	"log/slog"
)

// Secret holds a credential (client secret, refresh token) in configuration structs. Every
// way of printing, logging or marshalling it yields "[REDACTED]"; Reveal returns the value
// for the one place that sends it. An empty Secret prints as "" so a missing value shows.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) masked() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.masked() }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("transport.Secret(%q)", s.masked()) }

// Format covers every verb, so %x or %q cannot print the value either.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.masked())
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.masked()))
	default:
		_, _ = f.Write([]byte(s.masked()))
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.masked()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.masked() + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML, TOML, map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.masked()), nil }
