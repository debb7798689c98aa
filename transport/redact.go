package transport

import (
	"regexp"
	"strings"

	"github.com/tenantsync/tenantsync"
)

const redacted = tenantsync.Redacted

// redactions are applied in order. Keys are matched without a leading word boundary where a
// secret could otherwise slip through glued to preceding text ("xBearer abc").
var redactions = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Authorization header values; "Bearer Bearer x" must not leave x behind.
	{regexp.MustCompile(`(?i)(bearer)(?:\s+bearer)*(\s+)[A-Za-z0-9\-._~+/=]+`), "${1}${2}" + redacted},
	{regexp.MustCompile(`(?i)\b(basic)(\s+)[A-Za-z0-9+/]{8,}=*`), "${1}${2}" + redacted},
	// JSON fields holding secrets, plain and as escaped JSON inside a JSON string.
	{regexp.MustCompile(`(?i)("(?:password|newPassword|client_secret|refresh_token|access_token|id_token|client_assertion|secret|clientSecret|refreshToken|accessToken|copyField)"\s*:\s*)"(?:[^"\\]|\\.)*"`), `${1}"` + redacted + `"`},
	{regexp.MustCompile(`(?i)(\\"(?:password|newPassword|client_secret|refresh_token|access_token|id_token|client_assertion|secret|clientSecret|refreshToken|accessToken|copyField)\\"\s*:\s*)\\"(?:[^\\]|\\[^"])*\\"`), `${1}\"` + redacted + `\"`},
	// Form and query parameters.
	{regexp.MustCompile(`(?i)(client_secret|refresh_token|access_token|id_token|client_assertion|password|newPassword)(=)[^&\s"'<>]+`), "${1}${2}" + redacted},
	{regexp.MustCompile(`(?i)\b(code|sig|assertion)(=)[^&\s"'<>]+`), "${1}${2}" + redacted},
	// JWTs anywhere (access and ID tokens, client assertions): a base64url JSON header "eyJ…".
	{regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)+`), redacted},
}

// prosePassword finds passwords in prose, as CIPP's reset-password message returns them
// ("The new password is Xy7#…"); proseWords are the ordinary words that follow "password is"
// in messages without one ("User must change password is set to True").
var (
	prosePassword = regexp.MustCompile(`(?i)\b(password|passwd|pwd)(\s+is\s*:?\s*|\s*:\s*)([^\s"',;&]+)`)
	proseWords    = map[string]bool{"set": true, "required": true, "not": true, "expired": true, "incorrect": true,
		"wrong": true, "invalid": true, "too": true, "missing": true, "empty": true, "changed": true, "reset": true,
		"being": true, "the": true, "a": true, "now": true, "true": true, "false": true}
)

func redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return prosePassword.ReplaceAllStringFunc(s, func(m string) string {
		sub := prosePassword.FindStringSubmatch(m)
		if proseWords[strings.ToLower(strings.TrimRight(sub[3], ".!?"))] {
			return m
		}
		return sub[1] + sub[2] + redacted
	})
}
