package transport

import (
	"regexp"
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

// rules are applied in order, each to the previous one's output.
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
	// text. Certificates are public and stay. This rule runs first: a later one could take the
	// BEGIN line for another secret's value and leave the body with no marker to find it by.
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

func redact(s string) string {
	lower := asciiLower(s)
	var b strings.Builder
	for i := range rules {
		r := &rules[i]
		if r.need != "" && !strings.Contains(lower, r.need) {
			continue
		}
		subject := s
		if r.lower {
			subject = lower
		}
		ms := r.re.FindAllStringSubmatchIndex(subject, -1)
		if ms == nil {
			continue
		}
		b.Reset()
		last := 0
		for _, m := range ms {
			start, end := m[2], m[3]
			if start < 0 || end <= start || start < last {
				continue
			}
			if r.wordStart && m[0] > 0 && isWordByte(s[m[0]-1]) {
				continue
			}
			v := lower[start:end]
			if v == "redacted" || v == "[redacted]" || (r.keep != nil && r.keep(v)) {
				continue
			}
			b.WriteString(s[last:start])
			b.WriteString(redacted)
			last = end
		}
		if last == 0 {
			continue
		}
		b.WriteString(s[last:])
		s = b.String()
		lower = asciiLower(s)
	}
	return s
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
