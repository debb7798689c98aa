package httpx

import (
	"cmp"
	"regexp"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

const redacted = tenantsync.Redacted

// rule finds one shape of credential. Group 1 of re is the credential: only it is replaced, so
// the key, the quotes and the separator around it stay readable.
type rule struct {
	re *regexp.Regexp
	// lower runs re on the text with ASCII letters lowered (same length, so indexes carry
	// over), which lets a pattern start with a literal: Go's regexp then skips to each
	// occurrence of it with a string search instead of running its automaton over every byte.
	lower bool
	// wordStart refuses a match that follows a letter, digit or underscore (what \b would
	// say; \b in front of a pattern costs it its literal prefix).
	wordStart bool
	// need, when set, is a lowercase literal the text must contain for the rule to run at
	// all, for patterns that cannot start with a literal.
	need string
	// keep reports whether a lowercased captured value is an ordinary word, not a secret.
	keep func(string) bool
}

// secretKeys name values that are credentials, lowercase, matched without a leading word
// boundary so that one key covers its compounds ("secret" covers client_secret, clientSecret,
// x-client-secret; "password" covers newPassword) and a key glued to preceding text still counts.
var secretKeys = []string{"secret", "password", "refresh_token", "refreshtoken", "access_token", "accesstoken",
	"id_token", "idtoken", "client_assertion", "clientassertion", "api_key", "apikey", "api-key",
	"subscription-key", "copyfield"}

// colonKeys are the secretKeys whose values are also redacted in "key: value" prose and YAML.
// Passwords are left to prosePassword, which knows the words that follow "password:" in
// messages without one.
var colonKeys = []string{"secret", "refresh_token", "refreshtoken", "access_token", "accesstoken", "id_token",
	"idtoken", "client_assertion", "clientassertion", "api_key", "apikey", "api-key", "subscription-key"}

// proseWords are the ordinary words that follow "password is" in messages without one ("User
// must change password is set to True").
var proseWords = map[string]bool{"set": true, "required": true, "not": true, "expired": true, "incorrect": true,
	"wrong": true, "invalid": true, "too": true, "missing": true, "empty": true, "changed": true, "reset": true,
	"being": true, "the": true, "a": true, "now": true, "true": true, "false": true}

// rules each find credentials in the text as given (see redact).
var rules = buildRules()

func buildRules() []rule {
	lit := regexp.QuoteMeta
	var rs []rule
	add := func(r rule, pattern string) {
		r.re = regexp.MustCompile(pattern)
		rs = append(rs, r)
	}
	// PEM private keys (PKCS #8, PKCS #1, SEC 1, encrypted, OpenSSH), across lines and with the
	// newlines escaped as in JSON or %q: the body between the BEGIN and END lines, which stay
	// readable. A key cut short (a truncated log line or body) is redacted to the end of the
	// text. Certificates are public and stay.
	add(rule{lower: true}, `-----begin [a-z0-9 ]*private key[a-z ]*-----((?s:.*?))(?:-----end [a-z0-9 ]*private key[a-z ]*-----|\z)`)
	// Authorization header values; "Bearer Bearer x" must not leave x behind, nor read the
	// second "Bearer" as the token.
	add(rule{lower: true, keep: func(v string) bool { return v == "bearer" }}, `bearer(?:\s+bearer)*\s+([a-z0-9\-._~+/=]+)`)
	add(rule{lower: true, wordStart: true}, `basic\s+([a-z0-9+/]{8,}=*)`)
	// Cookies, sent or set: every name=value pair up to the end of the line (or of the value
	// when the headers are printed as a Go map or JSON).
	add(rule{lower: true}, `cookie["']?\s*:\s*[\["']*([^\r\n"'\]]+)`)
	for _, k := range secretKeys {
		k = lit(k)
		// JSON and Python-style dicts, YAML and prose with a quoted value: "key": "v",
		// 'key': 'v', key = "v".
		add(rule{lower: true}, k+`["']?\s*[:=]\s*"((?:[^"\\]|\\.)*)"`)
		add(rule{lower: true}, k+`["']?\s*[:=]\s*'((?:[^'\\]|\\.)*)'`)
		// JSON escaped inside a JSON string: \"key\":\"v\".
		add(rule{lower: true}, k+`\\"\s*:\s*\\"((?:[^\\]|\\[^"])*)\\"`)
		// Form bodies and query strings, and the same URL-encoded once more (a form inside a
		// form or a logged URL): key=v&..., key%3Dv%26...
		add(rule{lower: true}, k+`=([^&\s"'<>]+)`)
		add(rule{lower: true}, k+`%3d((?:[^&\s"'<>%]|%(?:[013-9a-f][0-9a-f]|2[0-57-9a-f]))+)`)
	}
	for _, k := range colonKeys {
		// Prose, YAML and headers with a bare value: client_secret: v, X-Api-Key: v, and Go's
		// printing of a header map, X-Api-Key:[v].
		add(rule{lower: true}, lit(k)+`["']?\s*[:=]\s*\[?([^\s&"'<>,;{}\[\]()\\]+)`)
	}
	for _, k := range []string{"code", "sig", "assertion"} {
		add(rule{lower: true, wordStart: true}, k+`=([^&\s"'<>]+)`)
	}
	// JWTs anywhere (access and ID tokens, client assertions): a base64url JSON header "eyJ…".
	add(rule{}, `(eyJ[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)+)`)
	// Entra ID refresh tokens and authorization codes in prose: opaque base64url after a
	// "0.A" or "1.A" version marker (0.AAAA…, 1.AQAB…).
	for _, p := range []string{"0", "1"} {
		add(rule{lower: true, wordStart: true}, `(`+p+`\.a[a-z0-9_\-.]{8,})`)
	}
	// Entra ID client secrets generated since 2021: three characters, a digit, "Q~", then 31
	// to 34 more (abc8Q~…), as GitHub's secret scanning recognises them.
	add(rule{lower: true, need: "q~"}, `([a-z0-9_~.\-]{3}[0-9]q~[a-z0-9_~.\-]{31,})`)
	// Passwords in prose, as CIPP's reset-password message returns them ("The new password
	// is Xy7#…").
	keepWord := func(v string) bool { return proseWords[strings.TrimRight(v, ".!?")] }
	for _, k := range []string{"password", "passwd", "pwd"} {
		add(rule{lower: true, wordStart: true, keep: keepWord}, k+`(?:\s+is\s*:?\s*|\s*:\s*)([^\s"',;&]+)`)
	}
	return rs
}

// redact finds every rule's credentials in the text as given, then replaces them all at once.
// Running each rule on the previous one's output would let one rule's match hide another's: in
// secret="refresh_token" : "v" the secret rule takes the key refresh_token as its value, and the
// refresh_token rule then finds no key to redact v by.
func redact(s string) string {
	lower := asciiLower(s)
	var spans []span
	for i := range rules {
		r := &rules[i]
		if r.need != "" && !strings.Contains(lower, r.need) {
			continue
		}
		subject := s
		if r.lower {
			subject = lower
		}
		spans = r.find(s, lower, subject, spans)
	}
	if spans == nil {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i := 0; i < len(spans); {
		// Overlapping and touching spans become one [REDACTED].
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start <= end; i++ {
			end = max(end, spans[i].end)
		}
		b.WriteString(s[last:start])
		b.WriteString(redacted)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// span is a credential's byte range in the text.
type span struct{ start, end int }

// find appends the spans of r's credentials in subject (s, or lower for a lowercase rule).
//
// Matches may overlap: the next search starts inside the value just found, not after it, because
// a value can hold the same rule's key with a credential beyond it (secret=client_secret: v takes
// "client_secret:" as the first value, and v is the second's). Searching again from inside a
// value re-reads it, so those re-reads are limited to about the text's length in all; past
// that the search goes on after each match, and Redact stays linear on text made of nothing but
// keys (a token endpoint's body can be a megabyte).
func (r *rule) find(s, lower, subject string, spans []span) []span {
	budget := len(subject) + 1024
	for pos := 0; pos <= len(subject); {
		m := r.re.FindStringSubmatchIndex(subject[pos:])
		if m == nil {
			break
		}
		for j := range m {
			if m[j] >= 0 {
				m[j] += pos
			}
		}
		start, end := m[2], m[3]
		if start >= 0 && end > start && !(r.wordStart && m[0] > 0 && isWordByte(s[m[0]-1])) {
			if v := lower[start:end]; v != "redacted" && v != "[redacted]" && (r.keep == nil || !r.keep(v)) {
				spans = append(spans, span{start, end})
			}
		}
		next := m[1]
		if start > m[0] && budget > 0 {
			next = start
			budget -= m[1] - start
		}
		pos = max(next, m[0]+1)
	}
	return spans
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// asciiLower lowers ASCII letters only, so every byte keeps its index; it returns s itself when
// there is nothing to lower.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
