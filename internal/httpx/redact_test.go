package httpx_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync/internal/httpx"
)

// A made-up token of the JWT shape ({"typ":"JWT","alg":"RS256"}.{"aud":"https://graph"}.sig),
// assembled from its parts so it does not read as a committed credential.
const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9" + "." + "eyJhdWQiOiJodHRwczovL2dyYXBoIn0" + "." + "c2lnbmF0dXJlLXNlY3JldA"

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, secret, keep string
	}{
		{"bearer header", "Authorization: Bearer abc.DEF-ghi_123/+=", "abc.DEF-ghi_123", "Authorization: Bearer [REDACTED]"},
		{"bearer repeated", "Bearer Bearer s3cr3tvalue", "s3cr3tvalue", "Bearer"},
		{"bearer lower glued", "xbearer s3cr3tvalue", "s3cr3tvalue", "xbearer [REDACTED]"},
		{"basic", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "Basic [REDACTED]"},
		{"jwt bare", "token " + jwt + " rejected", "c2lnbmF0dXJlLXNlY3JldA", "token [REDACTED] rejected"},
		{"form secret", "client_id=abc&client_secret=Qx8~s3cr3t.value&grant_type=client_credentials", "Qx8~s3cr3t.value", "client_id=abc&client_secret=[REDACTED]&grant_type=client_credentials"},
		{"refresh token", "grant_type=refresh_token&refresh_token=0.AAAArefresh-secret&scope=x", "0.AAAArefresh-secret", "refresh_token=[REDACTED]&scope=x"},
		{"access token query", "https://x/cb#access_token=tok123secret&state=1", "tok123secret", "access_token=[REDACTED]&state=1"},
		{"json password", `{"userPrincipalName":"a@b","password":"P@ss \"w0rd\"!"}`, `w0rd`, `"password":"[REDACTED]"`},
		{"json newPassword", `{"newPassword" : "Hunter2-secret"}`, "Hunter2-secret", `"newPassword" : "[REDACTED]"`},
		{"escaped json", `{"body":"{\"password\":\"Esc4ped-secret\"}"}`, "Esc4ped-secret", `\"password\":\"[REDACTED]\"`},
		{"json refresh", `{"access_token":"at-secret-1","refresh_token":"rt-secret-2","expires_in":3599}`, "rt-secret-2", `"expires_in":3599`},
		{"sas sig", "https://blob.example/x?sv=2020&sig=AbC%2Bdef%3D&se=2030", "AbC%2Bdef%3D", "sv=2020&sig=[REDACTED]&se=2030"},
		{"auth code", "https://app.example/callback?code=0.AQ-authcode-secret&state=xyz", "0.AQ-authcode-secret", "code=[REDACTED]&state=xyz"},
		{"error code kept", "error_code=5 status code 400", "", "error_code=5 status code 400"},
		{"prose password", "Successfully reset the password for jane. The password is Zx9!qLm2", "Zx9!qLm2", "The password is [REDACTED]"},
		{"cipp reset result", `{"Results":{"resultText":"Successfully reset the password for Jane Doe, jane@contoso.com. User must change password is set to True. The new password is Xy7#pq!Lm2","copyField":"Xy7#pq!Lm2","state":"success"}}`, "Xy7#pq!Lm2", "User must change password is set to True"},
		{"password colon", "temporary password: Tmp-Secret-9", "Tmp-Secret-9", "password: [REDACTED]"},
		{"skiptoken kept", "https://graph.microsoft.com/v1.0/users?$skiptoken=RFNwdAIA", "", "$skiptoken=RFNwdAIA"},
		{"refresh token in prose", "the refresh token 1.AQABAAEAAAD--DLA3VO7QrddgJg7Wevr was revoked", "AQABAAEAAAD--DLA3VO7QrddgJg7Wevr", "the refresh token [REDACTED] was revoked"},
		{"v1 refresh token in prose", "token 0.AXEAMe_N-B6jSkuT5F9XHpElWRuyFs.x-1 expired", "AXEAMe_N-B6jSkuT5F9XHpElWRuyFs", "token [REDACTED] expired"},
		{"short version kept", "MSAL 1.4.2 and step 1.Add", "", "MSAL 1.4.2 and step 1.Add"},
		{"entra client secret", "secret abc8Q~Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9 rejected", "Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9", "secret [REDACTED] rejected"},
		{"client_secret colon", "client_secret: Qx8~s3cr3tVALUE", "s3cr3tVALUE", "client_secret: [REDACTED]"},
		{"yaml clientSecret", "clientSecret:   s3cr3tVALUE\nscope: x", "s3cr3tVALUE", "clientSecret:   [REDACTED]\nscope: x"},
		{"secret equals", "secret=s3cr3tVALUE&x=1", "s3cr3tVALUE", "secret=[REDACTED]&x=1"},
		{"single-quoted keys", "{'refresh_token': 'rt-s3cr3tVALUE', 'a': 1}", "s3cr3tVALUE", "{'refresh_token': '[REDACTED]', 'a': 1}"},
		{"url-encoded body", "client_secret=a%2Bb3cr3t%2FVALUE&refresh_token=rt%2Fs3cr3tVALUE&scope=x", "b3cr3t", "client_secret=[REDACTED]&refresh_token=[REDACTED]&scope=x"},
		{"url-encoded twice", "body=client_secret%3Da%2Bb3cr3tVALUE%26refresh_token%3Drts3cr3tVALUE%26scope%3Dx", "s3cr3tVALUE", "client_secret%3D[REDACTED]%26refresh_token%3D[REDACTED]%26scope%3Dx"},
		{"x-api-key header", "X-Api-Key: s3cr3tVALUE", "s3cr3tVALUE", "X-Api-Key: [REDACTED]"},
		{"api key in a header map", "map[Accept:[application/json] X-Api-Key:[s3cr3tVALUE]]", "s3cr3tVALUE", "map[Accept:[application/json] X-Api-Key:[[REDACTED]]]"},
		{"cookie header", "Cookie: session=s3cr3tVALUE; other=x", "s3cr3tVALUE", "Cookie: [REDACTED]"},
		{"set-cookie header", "Set-Cookie: ESTSAUTH=s3cr3tVALUE; path=/; secure\r\nX-Ms-Request-Id: r1", "s3cr3tVALUE", "Set-Cookie: [REDACTED]\r\nX-Ms-Request-Id: r1"},
		{"cookie in a header map", "map[Cookie:[a=s3cr3tVALUE] Request-Id:[r1]]", "s3cr3tVALUE", "Request-Id:[r1]"},
		{"redacted struct kept", "{ClientID:app Secret:[REDACTED] RefreshToken:[REDACTED]}", "", "{ClientID:app Secret:[REDACTED] RefreshToken:[REDACTED]}"},
		{"secret ID kept", `{"clientSecretId":"0f1e2d3c"}`, "", `{"clientSecretId":"0f1e2d3c"}`},
		{"word after password colon kept", "Password: required", "", "Password: required"},
		{"key as another key's value", `secret="refresh_token" : "rt-s3cr3tVALUE"`, "s3cr3tVALUE", `secret="[REDACTED]" : "[REDACTED]"`},
		{"a key inside its own rule's value", "secret=client_secret: s3cr3tVALUE", "s3cr3tVALUE", "secret=[REDACTED]"},
		{"form pair as a key's value", "client_secret: refresh_token=rt-s3cr3tVALUE&x=1", "s3cr3tVALUE", "client_secret: [REDACTED]&x=1"},
		{"pem pkcs1 key", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAs3cr3tKEYline1\nAbCdKEYline2==\n-----END RSA PRIVATE KEY-----\nnext",
			"s3cr3tKEY", "key:\n-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----\nnext"},
		{"pem pkcs8 key, crlf", "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANs3cr3tKEY\r\n-----END PRIVATE KEY-----\r\n", "s3cr3tKEY", "-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----"},
		{"pem key in json", `{"key":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIs3cr3tKEY\n-----END EC PRIVATE KEY-----\n"}`, "s3cr3tKEY", `"-----BEGIN EC PRIVATE KEY-----[REDACTED]-----END EC PRIVATE KEY-----\n"`},
		{"pem key quoted by %q", "\"-----BEGIN PRIVATE KEY-----\\nMIIEs3cr3tKEY\\n-----END PRIVATE KEY-----\"", "s3cr3tKEY", "-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----"},
		{"pem encrypted key with headers", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\ns3cr3tKEY\n-----END RSA PRIVATE KEY-----", "s3cr3tKEY", "-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----"},
		{"pem pkcs8 encrypted key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOs3cr3tKEY\n-----END ENCRYPTED PRIVATE KEY-----", "s3cr3tKEY", "-----BEGIN ENCRYPTED PRIVATE KEY-----[REDACTED]-----END ENCRYPTED PRIVATE KEY-----"},
		{"pem openssh key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEs3cr3tKEY\n-----END OPENSSH PRIVATE KEY-----", "s3cr3tKEY", "-----BEGIN OPENSSH PRIVATE KEY-----[REDACTED]-----END OPENSSH PRIVATE KEY-----"},
		{"pem lowercase markers", "-----begin private key-----\ns3cr3tKEY\n-----end private key-----", "s3cr3tKEY", "-----begin private key-----[REDACTED]-----end private key-----"},
		{"pem key cut short", "reading cert.pem: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANs3cr3tKEY\nMoreKEYbody", "MoreKEYbody", "reading cert.pem: -----BEGIN PRIVATE KEY-----[REDACTED]"},
		{"pem two keys", "-----BEGIN PRIVATE KEY-----\nfirstKEYs3cr3t\n-----END PRIVATE KEY----- and -----BEGIN RSA PRIVATE KEY-----\nsecondKEYs3cr3t\n-----END RSA PRIVATE KEY-----",
			"KEYs3cr3t", "-----END PRIVATE KEY----- and -----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END"},
		{"pem key after a key word", "client_secret=-----BEGIN PRIVATE KEY-----\ns3cr3tKEY\n-----END PRIVATE KEY-----", "s3cr3tKEY", "[REDACTED]"},
		{"pem certificate kept", "-----BEGIN CERTIFICATE-----\nMIIDazCCAlOgAwIBAgIUCERTbody\n-----END CERTIFICATE-----", "", "-----BEGIN CERTIFICATE-----\nMIIDazCCAlOgAwIBAgIUCERTbody\n-----END CERTIFICATE-----"},
		{"pem certificate then key", "-----BEGIN CERTIFICATE-----\nMIIDCERTbody\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\ns3cr3tKEY\n-----END PRIVATE KEY-----\n", "s3cr3tKEY", "-----BEGIN CERTIFICATE-----\nMIIDCERTbody\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----"},
		{"pem public key kept", "-----BEGIN PUBLIC KEY-----\nMIIBIjANPUBbody\n-----END PUBLIC KEY-----", "", "MIIBIjANPUBbody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := httpx.Redact(tt.in)
			if tt.secret != "" {
				assert.NotContains(t, got, tt.secret)
			}
			assert.Contains(t, got, tt.keep)
			assert.Equal(t, got, httpx.Redact(got), "idempotent")
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"2.128", 3 * time.Second, true},
		{"0.001", time.Second, true},
		{"3.0", 3 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(90*time.Second + 300*time.Millisecond).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(45 * time.Second).Format(time.RFC850), 45 * time.Second, true},
		{now.Add(10 * time.Second).Format(time.ANSIC), 10 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999999999999", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"1.2.3", 0, false},
		{"soon", 0, false},
		{"Mon, 32 Nov 2026 01:00:00 GMT", 0, false},
	}
	for _, tt := range tests {
		got, ok := httpx.ParseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	for _, s := range []string{"2", "2.128", "0", "-1", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "999999999999999999999.9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := httpx.ParseRetryAfter(v, now)
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false: a failed parse must return 0", v, d)
		}
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v: negative wait", v, d)
		}
		if ok && d%time.Second != 0 && d != time.Duration(1<<63-1) {
			t.Fatalf("ParseRetryAfter(%q) = %v: not rounded to whole seconds", v, d)
		}
	})
}

// FuzzRedact plants a secret in each form Redact must catch, surrounded by arbitrary text,
// and checks it never survives.
func FuzzRedact(f *testing.F) {
	// New forms go at the end: the corpus in testdata/fuzz names a form by its index.
	forms := []func(string) string{
		func(s string) string { return "Bearer " + s },
		func(s string) string { return "client_secret=" + s },
		func(s string) string { return "refresh_token=" + s + "&x=1" },
		func(s string) string { return `"password":"` + s + `"` },
		func(s string) string { return `\"newPassword\":\"` + s + `\"` },
		func(s string) string { return " sig=" + s },
		func(s string) string { return "?code=" + s },
		func(s string) string { return "eyJhbGciOiJub25lIn0." + s + ".sig" },
		func(s string) string { return "access_token=" + s },
		func(s string) string { return `"refresh_token" : "` + s + `"` },
		func(s string) string { return " 1.AQ" + s },
		func(s string) string { return "(0.A" + s + ")" },
		func(s string) string { return "abc8Q~" + s + strings.Repeat("Z", 31) },
		func(s string) string { return "client_secret: " + s },
		func(s string) string { return "secret=" + s },
		func(s string) string { return `{'refresh_token': '` + s + `'}` },
		func(s string) string { return "client_secret=a%2Bb&refresh_token=" + s },
		func(s string) string { return "body=client_secret%3D" + s + "%26scope%3Dx" },
		func(s string) string { return "X-Api-Key: " + s },
		func(s string) string { return "Cookie: a=b; session=" + s },
		func(s string) string { return "Set-Cookie: ESTSAUTH=" + s + "; path=/" },
		func(s string) string { return "map[X-Api-Key:[" + s + "]]" },
		func(s string) string {
			return "-----BEGIN RSA PRIVATE KEY-----\n" + s + "\n-----END RSA PRIVATE KEY-----"
		},
		func(s string) string {
			return `"-----BEGIN PRIVATE KEY-----\nMII` + s + `\n-----END PRIVATE KEY-----\n"`
		},
		func(s string) string {
			return "-----BEGIN EC PRIVATE KEY-----\r\n" + s + "\r\n-----END EC PRIVATE KEY-----\r\n"
		},
		func(s string) string { return "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + s },
		func(s string) string {
			return "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n" + s + "\n-----END PRIVATE KEY-----"
		},
	}
	f.Add("error: ", "s3cr3t-value.XYZ", " done", uint8(0))
	f.Add(`{"a":1,`, "P4ssw0rd_long", `}`, uint8(3))
	f.Add("Bearer", "abcdefgh", "", uint8(0))
	f.Add(`\`, "abcdefgh", `\"`, uint8(4))
	f.Add("secret=", "MIIEvQIBADAN", "\n", uint8(22))
	f.Add("-----BEGIN PRIVATE KEY-----\n", "MIIEvQIBADAN", "", uint8(23))
	for form := range len(forms) {
		f.Add("x", "s3cr3t-VALUE.z", "\n", uint8(form))
	}
	f.Fuzz(func(t *testing.T, prefix, secret, suffix string, form uint8) {
		if len(secret) < 8 || strings.Contains("[REDACTED]", secret) {
			return
		}
		for _, c := range secret {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return
			}
		}
		planted := forms[int(form)%len(forms)](secret)
		in := prefix + planted + suffix
		if strings.Count(in, secret) != 1 || strings.Index(in, secret) != len(prefix)+strings.Index(planted, secret) {
			return // the secret also occurs as ordinary text, which Redact cannot know about
		}
		out := httpx.Redact(in)
		if strings.Contains(out, secret) {
			t.Fatalf("Redact(%q) = %q: the planted secret survived", in, out)
		}
		if httpx.Redact(out) != out {
			t.Fatalf("Redact is not idempotent on %q", out)
		}
	})
}
