package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeGraphError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body      string
		ok              bool
		code, requestID string
	}{
		{"current spelling", `{"error":{"code":"Request_ResourceNotFound","message":"gone","innerError":{"request-id":"r1","client-request-id":"mine"}}}`, true, "Request_ResourceNotFound", "r1"},
		{"older spelling", `{"error":{"code":"Forbidden","message":"no","innerError":{"requestId":"r2","date":"2024-01-01T00:00:00"}}}`, true, "Forbidden", "r2"},
		{"own ID is not the service's", `{"error":{"code":"x","innerError":{"client-request-id":"mine"}}}`, true, "x", ""},
		{"not JSON", `<html>Bad Gateway</html>`, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, ok := DecodeGraphError([]byte(tt.body))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.code, g.Error.Code)
			assert.Equal(t, tt.requestID, g.RequestID())
		})
	}
}

func TestFlexString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`"text"`, "text"},
		{`503`, "503"},
		{`1.5e3`, "1.5e3"},
		{`true`, "true"},
		{`null`, ""},
		{`["a", "", 2]`, "a, 2"},
		{`{"k":1}`, `{"k":1}`},
	}
	for _, tt := range tests {
		var v struct {
			Code FlexString `json:"code"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{"code":`+tt.in+`}`), &v), tt.in)
		assert.Equal(t, tt.want, string(v.Code), tt.in)
	}
	var bad FlexString
	assert.Error(t, bad.UnmarshalJSON([]byte(`nul`)))
}

// FuzzFlexString decodes anything without panicking, and a number or a string as its own text,
// the way a Partner Center error code must come out.
func FuzzFlexString(f *testing.F) {
	for _, s := range []string{`1`, `"a"`, `null`, `1.5e3`, `true`, `{}`, `"\u00e9"`, `[1,"b"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v FlexString
		if err := v.UnmarshalJSON([]byte(s)); err != nil {
			return
		}
		trimmed := strings.TrimSpace(s)
		if _, err := strconv.ParseFloat(trimmed, 64); err == nil && json.Valid([]byte(trimmed)) && string(v) != trimmed {
			t.Fatalf("number %q decoded as %q", s, v)
		}
	})
}
