package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

// BenchmarkDo measures the stack's overhead per request (token, limiter, retry policy,
// bounded body) against a local TLS server answering a 4 KiB body.
func BenchmarkDo(b *testing.B) {
	body := strings.Repeat("x", 4096)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{
		BaseURL: srv.URL,
		Tokens:  &tokens{},
		Settings: transport.Settings{
			HTTPClient: srv.Client(),
			Limits:     transport.NewLimits(transport.Rule{Rate: 1e9, Burst: 1000}),
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := httpx.WithTenant(b.Context(), "bench")
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1.0/users", nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkPlainClient is the same request through a bare http.Client, for comparison.
func BenchmarkPlainClient(b *testing.B) {
	body := strings.Repeat("x", 4096)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	hc := srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/v1.0/users", nil)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkRedact measures redaction of a typical token-endpoint error message.
func BenchmarkRedact(b *testing.B) {
	msg := `http call(https://login.microsoftonline.com/t/oauth2/v2.0/token)(POST) error: reply status code was 400:
{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 0000aaaa","error_codes":[700082],"trace_id":"0000aaaa"} client_secret=abc&refresh_token=0.AAAAxyz Bearer ` + jwt
	b.ReportAllocs()
	for b.Loop() {
		_ = httpx.Redact(msg)
	}
}

// BenchmarkRedactOnlyKeys measures the worst case of overlapping matches: 64 KiB of nothing but
// keys, each the value of the one before, which Redact must still read in linear time.
func BenchmarkRedactOnlyKeys(b *testing.B) {
	for name, unit := range map[string]string{"form": "secret=", "pem": "-----BEGIN PRIVATE KEY-----\n"} {
		msg := strings.Repeat(unit, 64<<10/len(unit))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				_ = httpx.Redact(msg)
			}
		})
	}
}
