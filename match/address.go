package match

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/tenantsync/tenantsync"
)

// Address is an email address in canonical form: the key two spellings of one mailbox share.
//
// The domain is lowercase ASCII in IDNA A-label form ("xn--bcher-kva.de", not "bücher.de"): it
// is the comparison form UTS #46 defines, the form DNS and Exchange route on, and being pure
// ASCII it compares byte for byte. Nearly every domain is already ASCII, so canonicalising one
// costs a lowercase and nothing more. DomainUnicode gives the form to show a person.
//
// The local part is lowercased (Exchange Online resolves recipients case-insensitively) and
// NFC-normalised, so a composed and a decomposed "é" are one address. Dots are kept: removing
// them is a Gmail rule, and two Exchange mailboxes may differ only by a dot.
type Address struct {
	Local   string // lowercase, NFC
	Domain  string // lowercase IDNA A-label form, without a trailing dot
	Display string // the display name of a "Name <addr>" form, as given
}

// String returns the canonical "local@domain" key, or "" for the zero Address.
func (a Address) String() string {
	if a.Local == "" && a.Domain == "" {
		return ""
	}
	return a.Local + "@" + a.Domain
}

// IsZero reports whether a holds no address.
func (a Address) IsZero() bool { return a.Local == "" && a.Domain == "" }

// DomainUnicode returns the domain in Unicode (U-label) form, for display.
func (a Address) DomainUnicode() string {
	if !strings.Contains(a.Domain, "xn--") {
		return a.Domain
	}
	u, err := idna.Display.ToUnicode(a.Domain)
	if err != nil {
		return a.Domain
	}
	return u
}

// IsOnMicrosoft reports whether the address is on a tenant's routing domain
// (*.onmicrosoft.com, including *.mail.onmicrosoft.com).
func (a Address) IsOnMicrosoft() bool { return isOnMicrosoft(a.Domain) }

// PlusStripped returns the address without its "+tag" sub-address, and whether there was one.
// A leading "+" is not a tag, and onmicrosoft.com addresses are never stripped: Entra's
// duplicate-UPN resiliency writes "name+1234@tenant.onmicrosoft.com" for a different account.
func (a Address) PlusStripped() (Address, bool) {
	i := plusTag(a.Local, a.Domain)
	if i < 0 {
		return a, false
	}
	a.Local = a.Local[:i]
	return a, true
}

func plusTag(local, domain string) int {
	i := strings.IndexByte(local, '+')
	if i <= 0 || isOnMicrosoft(domain) {
		return -1
	}
	return i
}

func isOnMicrosoft(domain string) bool {
	return domain == "onmicrosoft.com" || strings.HasSuffix(domain, ".onmicrosoft.com")
}

// Reason says why a string is not an address.
type Reason string

// Reasons a string is not an address.
const (
	ReasonEmpty         Reason = "empty"
	ReasonSyntax        Reason = "malformed address or display-name form"
	ReasonNoAt          Reason = "no @"
	ReasonLocalEmpty    Reason = "nothing before the @"
	ReasonLocalInvalid  Reason = "invalid character or dot placement before the @"
	ReasonDomainEmpty   Reason = "nothing after the @"
	ReasonDomainInvalid Reason = "invalid domain"
	ReasonTooLong       Reason = "too long"
	ReasonNotSMTP       Reason = "not an SMTP proxy address"
	ReasonGuestUPN      Reason = "a guest's #EXT# user principal name, not a mailbox"
	ReasonNotGuestUPN   Reason = "not a guest #EXT# user principal name"
)

// AddressError reports a string that is not an email address, with a typed Reason.
// It matches tenantsync.ErrInvalidInput with errors.Is and carries a hint through
// tenantsync.Details.
type AddressError struct {
	Input  string // the input, cut to 200 bytes
	Reason Reason
}

func (e *AddressError) Error() string {
	return "match: not an email address (" + string(e.Reason) + "): " + quote(e.Input)
}

// Is makes AddressError match tenantsync.ErrInvalidInput.
func (e *AddressError) Is(target error) bool { return target == tenantsync.ErrInvalidInput }

// Detail returns the error as a *tenantsync.Error with a remediation hint.
func (e *AddressError) Detail() *tenantsync.Error {
	return &tenantsync.Error{
		Class:   tenantsync.ErrInvalidInput,
		Service: "match",
		Op:      "ParseAddress",
		Message: string(e.Reason) + ": " + quote(e.Input),
		Hint:    e.hint(),
	}
}

func (e *AddressError) hint() string {
	switch e.Reason {
	case ReasonNotSMTP:
		return "only SMTP: and smtp: proxy addresses are email addresses; ignore X500:, SIP:, SPO: and other prefixes"
	case ReasonGuestUPN:
		return "decode the guest's home address with DecodeGuestUPN, or use the guest's mail attribute"
	default:
		return "correct the address in the PSA contact or in Microsoft 365; an address looks like name@example.com"
	}
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return `"` + strings.ToValidUTF8(s, "\uFFFD") + `"`
}

func addrErr(s string, r Reason) *AddressError { return &AddressError{Input: s, Reason: r} }

// ParseAddress parses an email address, bare ("jane@contoso.com") or in a display-name form
// (`"Jane Doe" <jane@contoso.com>`, `Jane <jane@contoso.com>`), and returns it in canonical
// form. A guest's "#EXT#" UPN is rejected with ReasonGuestUPN; use DecodeGuestUPN for it.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, addrErr(s, ReasonEmpty)
	}
	spec, display := s, ""
	if needsRFC5322(s) {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return Address{}, addrErr(s, ReasonSyntax)
		}
		spec, display = a.Address, a.Name
	}
	var buf [128]byte
	key, at, r := appendCanonical(buf[:0], spec, nil)
	if r != "" {
		return Address{}, addrErr(s, r)
	}
	return Address{Local: string(key[:at]), Domain: string(key[at+1:]), Display: display}, nil
}

// NormalizeEmail returns the canonical "local@domain" key of an address (see ParseAddress).
func NormalizeEmail(s string) (string, error) {
	a, err := ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// needsRFC5322 reports whether s is more than a bare addr-spec (a display name, angle
// brackets, quotes, comments), so it takes net/mail's full parser rather than the fast path.
func needsRFC5322(s string) bool {
	for i := 0; i < len(s); i++ {
		if rfc5322Special[s[i]] {
			return true
		}
	}
	return false
}

var rfc5322Special = func() (t [256]bool) {
	for _, c := range "<>\"() \t,;\\[]:" {
		t[c] = true
	}
	return t
}()

// ProxyAddress is one entry of an Exchange proxyAddresses list.
type ProxyAddress struct {
	Prefix  string // "SMTP", "smtp", or "" when the entry had none
	Primary bool   // "SMTP:" in upper case marks the primary address
	Address Address
}

// ParseProxyAddress parses a proxyAddresses entry. "SMTP:" marks the primary address, "smtp:"
// an alias; an entry without a prefix is read as an alias. Any other prefix (X500:, SIP:, SPO:,
// EUM:, X400:) is not an email address and yields ReasonNotSMTP.
func ParseProxyAddress(s string) (ProxyAddress, error) {
	s = strings.TrimSpace(s)
	prefix, rest, primary, ok := splitProxy(s)
	if !ok {
		return ProxyAddress{}, addrErr(s, ReasonNotSMTP)
	}
	a, err := ParseAddress(rest)
	if err != nil {
		return ProxyAddress{}, err
	}
	return ProxyAddress{Prefix: prefix, Primary: primary, Address: a}, nil
}

// splitProxy separates a proxy address's prefix. ok is false for a non-SMTP prefix.
func splitProxy(s string) (prefix, rest string, primary, ok bool) {
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return "", s, false, true
	}
	at := strings.IndexByte(s, '@')
	if at >= 0 && at < colon {
		// A colon after the @ is not a prefix separator; let the parser judge the address.
		return "", s, false, true
	}
	prefix = s[:colon]
	if len(prefix) != 4 || !strings.EqualFold(prefix, "smtp") {
		return prefix, "", false, false
	}
	return prefix, s[colon+1:], prefix == "SMTP", true
}

// IsGuestUPN reports whether upn is a B2B guest's "#EXT#" user principal name.
func IsGuestUPN(upn string) bool { return indexFold(upn, "#ext#") >= 0 }

// DecodeGuestUPN recovers a B2B guest's home address from its UPN:
// "jane.doe_gmail.com#EXT#@contoso.onmicrosoft.com" is jane.doe@gmail.com. Entra replaces the
// home address's "@" with "_", and a domain holds no "_", so the last "_" before "#EXT#" is
// the "@". Anything that is not such a UPN yields ReasonNotGuestUPN.
func DecodeGuestUPN(upn string) (Address, error) {
	upn = strings.TrimSpace(upn)
	i := indexFold(upn, "#ext#")
	if i < 0 {
		return Address{}, addrErr(upn, ReasonNotGuestUPN)
	}
	home := upn[:i]
	u := strings.LastIndexByte(home, '_')
	if u <= 0 || u == len(home)-1 || strings.IndexByte(home, '@') >= 0 {
		return Address{}, addrErr(upn, ReasonNotGuestUPN)
	}
	a, err := ParseAddress(home[:u] + "@" + home[u+1:])
	if err != nil {
		return Address{}, addrErr(upn, ReasonNotGuestUPN)
	}
	return a, nil
}

// indexFold is strings.Index for an ASCII lowercase needle, ignoring ASCII case in s.
func indexFold(s, lowerNeedle string) int {
	n := len(lowerNeedle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lowerASCII(s[i+j]) == lowerNeedle[j] {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// atext marks the ASCII characters RFC 5322 allows in a dot-atom local part, besides ".".
var atext = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

const (
	maxLocal   = 64
	maxAddress = 254
)

// appendCanonical appends the canonical "local@domain" form of a bare addr-spec to dst and
// returns it with the index of the "@" in it. It allocates nothing for an ASCII address that
// fits dst's capacity, which keeps Index.Match as cheap as a lowercase and a map lookup.
// known, when not nil, holds canonical domains already validated (an Index's contact
// domains), so an A-label domain among them skips the IDNA check.
func appendCanonical(dst []byte, s string, known map[string]struct{}) ([]byte, int, Reason) {
	if s == "" {
		return dst, 0, ReasonEmpty
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return dst, 0, ReasonNoAt
	}
	local, domain := s[:at], s[at+1:]
	if local == "" {
		return dst, 0, ReasonLocalEmpty
	}
	if domain == "" {
		return dst, 0, ReasonDomainEmpty
	}
	if len(s) > 4*maxAddress {
		return dst, 0, ReasonTooLong
	}
	if strings.IndexByte(local, '#') >= 0 && indexFold(local, "#ext#") >= 0 {
		return dst, 0, ReasonGuestUPN
	}
	start := len(dst)
	var r Reason
	dst, r = appendLocal(dst, local)
	if r != "" {
		return dst[:start], 0, r
	}
	if len(dst)-start > maxLocal {
		return dst[:start], 0, ReasonTooLong
	}
	atPos := len(dst) - start
	dst = append(dst, '@')
	dst, r = appendDomain(dst, domain, known)
	if r != "" {
		return dst[:start], 0, r
	}
	if len(dst)-start > maxAddress {
		return dst[:start], 0, ReasonTooLong
	}
	return dst, start + atPos, ""
}

func appendLocal(dst []byte, local string) ([]byte, Reason) {
	start := len(dst)
	dst = slices.Grow(dst, len(local))[:start+len(local)]
	out := dst[start:]
	for i := 0; i < len(local); i++ {
		c := localClass[local[i]]
		if c <= classUnicode {
			if c == classUnicode {
				return appendLocalUnicode(dst[:start], local)
			}
			return dst[:start], ReasonLocalInvalid
		}
		out[i] = c
	}
	if out[0] == '.' || out[len(out)-1] == '.' || bytes.Contains(out, doubleDot) {
		return dst[:start], ReasonLocalInvalid
	}
	return dst, ""
}

var doubleDot = []byte("..")

// localClass maps each byte of a local part to its lowercase self when it is atext or a dot,
// or to classInvalid or classUnicode (neither of which is).
var localClass = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = classUnicode
		case c == '.' || atext[c]:
			t[c] = lowerASCII(byte(c))
		default:
			t[c] = classInvalid
		}
	}
	return t
}()

const (
	classInvalid = 0
	classUnicode = 1
)

func appendLocalUnicode(dst []byte, local string) ([]byte, Reason) {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") || !utf8.ValidString(local) {
		return dst, ReasonLocalInvalid
	}
	for _, r := range local {
		if r < utf8.RuneSelf {
			if r != '.' && !atext[r] {
				return dst, ReasonLocalInvalid
			}
			continue
		}
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return dst, ReasonLocalInvalid
		}
	}
	// Lowercasing can decompose (or leave uncomposed) what NFC composes, and NFC can yield an
	// upper-case letter from a lower-case base in rare scripts, so repeat until stable.
	out := local
	for range 3 {
		next := norm.NFC.String(strings.ToLower(out))
		if next == out {
			break
		}
		out = next
	}
	return append(dst, out...), ""
}

func appendDomain(dst []byte, domain string, known map[string]struct{}) ([]byte, Reason) {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" || len(domain) > 253 {
		return dst, ReasonDomainInvalid
	}
	start := len(dst)
	dst = slices.Grow(dst, len(domain))[:start+len(domain)]
	out := dst[start:]
	// One pass lowercases through a table; labels are then checked one by one. A non-ASCII
	// byte or an A-label ("xn--") sends the domain through IDNA instead.
	for i := 0; i < len(domain); i++ {
		c := domainClass[domain[i]]
		if c <= classUnicode {
			if c == classUnicode {
				return appendIDNA(dst[:start], domain)
			}
			return dst[:start], ReasonDomainInvalid
		}
		out[i] = c
	}
	labels, aLabel := 0, false
	for rest := out; ; {
		label := rest
		j := bytes.IndexByte(rest, '.')
		if j >= 0 {
			label = rest[:j]
		}
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return dst[:start], ReasonDomainInvalid
		}
		if len(label) >= 4 && label[0] == 'x' && label[1] == 'n' && label[2] == '-' && label[3] == '-' {
			aLabel = true
		}
		labels++
		if j < 0 {
			if labels < 2 || allDigits(label) {
				return dst[:start], ReasonDomainInvalid
			}
			break
		}
		rest = rest[j+1:]
	}
	if aLabel {
		if _, ok := known[string(out)]; ok {
			return dst, ""
		}
		return appendIDNA(dst[:start], domain)
	}
	return dst, ""
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// domainClass maps each byte of a domain to its lowercase self when it may appear in an LDH
// domain, or to classInvalid or classUnicode.
var domainClass = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = classUnicode
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.':
			t[c] = byte(c)
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		default:
			t[c] = classInvalid
		}
	}
	return t
}()

func appendIDNA(dst []byte, domain string) ([]byte, Reason) {
	if !utf8.ValidString(domain) {
		return dst, ReasonDomainInvalid
	}
	a, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return dst, ReasonDomainInvalid
	}
	// The canonical form must read back as itself, or two spellings could disagree later.
	if again, err := idna.Lookup.ToASCII(a); err != nil || again != a {
		return dst, ReasonDomainInvalid
	}
	start := len(dst)
	dst = append(dst, a...)
	if !validASCIIDomain(dst[start:]) {
		return dst[:start], ReasonDomainInvalid
	}
	return dst, ""
}

// validASCIIDomain checks a lowercase ASCII domain: at least two labels of 1 to 63 letters,
// digits and inner hyphens, and a top-level label that is not all digits (an IP address is
// not a mail domain Exchange accepts).
func validASCIIDomain(d []byte) bool {
	if len(d) > 253 {
		return false
	}
	labels, n, digits := 0, 0, true
	for i := 0; i <= len(d); i++ {
		if i == len(d) || d[i] == '.' {
			if n == 0 || n > 63 || d[i-n] == '-' || d[i-1] == '-' {
				return false
			}
			labels++
			if i == len(d) && digits {
				return false
			}
			n, digits = 0, true
			continue
		}
		c := d[i]
		switch {
		case 'a' <= c && c <= 'z', c == '-':
			digits = false
		case '0' <= c && c <= '9':
		default:
			return false
		}
		n++
	}
	return labels >= 2
}
