package httpx_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

// A throttled request is retried after the server's Retry-After, and the response the
// caller sees is the successful one.
func ExampleClient_Do() {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `{"value":[]}`)
	}))
	defer srv.Close()

	c, err := httpx.New(httpx.Config{
		Service: "graph",
		BaseURL: srv.URL,
		Settings: transport.Settings{
			HTTPClient: srv.Client(),
			Observer: func(a transport.Attempt) {
				fmt.Printf("attempt: status %d, retry %v\n", a.Status, a.Retry)
			},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/users", nil)
	req = req.WithContext(httpx.WithTenant(req.Context(), "contoso.onmicrosoft.com"))
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// attempt: status 429, retry true
	// attempt: status 200, retry false
	// 200 {"value":[]}
}

// Links from a response are followed only on the configured origin.
func ExampleClient_Allowed() {
	c, _ := httpx.New(httpx.Config{Service: "graph", BaseURL: "https://graph.microsoft.com/v1.0"})
	fmt.Println(c.Allowed("https://graph.microsoft.com/v1.0/users?$skiptoken=X"))
	err := c.Allowed("https://graph.microsoft.com.attacker.example/v1.0/users")
	fmt.Println(errors.Is(err, tenantsync.ErrHostNotAllowed))
	// Output:
	// <nil>
	// true
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	for _, v := range []string{"2", "2.128", "Sun, 22 Nov 2026 01:01:30 GMT", "soon"} {
		d, ok := httpx.ParseRetryAfter(v, now)
		fmt.Println(d, ok)
	}
	// Output:
	// 2s true
	// 3s true
	// 1m30s true
	// 0s false
}

func ExampleRedact() {
	fmt.Println(httpx.Redact("POST client_id=app&client_secret=Qx8~abc&grant_type=client_credentials"))
	fmt.Println(httpx.Redact(`{"userPrincipalName":"jane@contoso.com","password":"Summer2026!"}`))
	// Output:
	// POST client_id=app&client_secret=[REDACTED]&grant_type=client_credentials
	// {"userPrincipalName":"jane@contoso.com","password":"[REDACTED]"}
}
