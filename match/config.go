package match

import (
	"bytes"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Config says which users may be linked or created as contacts.
type Config struct {
	// AutoCreate lets a user with no candidate contact be created (Result.Create).
	AutoCreate bool
	// AllowGuests lets B2B guests be matched and created; they are excluded otherwise.
	AllowGuests bool
	// AllowDisabled lets users whose sign-in is blocked be matched and created. A disabled user
	// with a remembered link is reported Linked regardless, so its contact can be deactivated.
	AllowDisabled bool
	// ServiceAccountPatterns exclude accounts that are not people. Each pattern is matched,
	// ignoring case, against the local part of the user's primary address, mail and UPN, or
	// against the whole address when it contains "@". "*" matches any run of characters, and
	// a pattern without "*" also matches its name numbered ("admin" matches "admin2").
	// nil means DefaultServiceAccountPatterns; an empty, non-nil slice excludes none.
	ServiceAccountPatterns []string
	// AutoLinkThreshold is the confidence from which a single-candidate match is linked without
	// a person (Result.AutoLink). Zero means DefaultAutoLinkThreshold.
	AutoLinkThreshold float64
}

// DefaultAutoLinkThreshold links exact address matches, down to an onmicrosoft.com routing
// address (0.85), and leaves the plus-stripped fallback (0.75) to a person.
const DefaultAutoLinkThreshold = 0.85

// Confidence of each way a user can match a contact.
const (
	ConfidenceLink        = 1.0  // a person's merge, a remembered link, a contact storing the object ID
	ConfidencePrimary     = 0.98 // the primary SMTP address
	ConfidenceAlias       = 0.95 // an smtp: alias or the mail attribute
	ConfidenceUPN         = 0.93 // the UPN, or a guest's decoded home address
	ConfidenceOtherMail   = 0.9  // otherMails: set by the user or an admin, not routed by Exchange
	ConfidenceOnMicrosoft = 0.85 // any *.onmicrosoft.com routing address
	ConfidencePlus        = 0.75 // equal only once a "+tag" is removed
)

// DefaultServiceAccountPatterns returns the patterns that name accounts that are not people, from the filters MSP sync
// tools ship and from what Entra Connect and Exchange create themselves:
//   - svc-/svc_/svc. prefixes and -svc/_svc suffixes: the common service-account conventions;
//   - noreply and its spellings, postmaster, mailer-daemon: senders no person reads;
//   - scanner, scan-to-email and printer/copier accounts: multi-function devices sending mail;
//   - sync_* and msol_*: the Entra Connect directory synchronisation accounts;
//   - healthmailbox* and discoverysearchmailbox*: Exchange system mailboxes synced from on-premises;
//   - admin and administrator, adm-/admin- prefixes and -admin/.admin suffixes, breakglass:
//     shared or second administrative credentials. A person's admin account is a second
//     account of someone who already has one; a contact for it would be a duplicate.
//
// The slice is the caller's own.
func DefaultServiceAccountPatterns() []string {
	return []string{
		"svc-*", "svc_*", "svc.*", "*-svc", "*_svc",
		"*noreply*", "*no-reply*", "*no_reply*", "*donotreply*", "*do-not-reply*", "*do_not_reply*",
		"postmaster", "mailer-daemon",
		"scanner*", "*-scanner", "scan2*", "scantoemail*", "scan-to-email*", "printer*", "copier*",
		"sync_*", "msol_*", "adtoaadsyncserviceaccount*",
		"healthmailbox*", "discoverysearchmailbox*",
		"admin", "administrator", "adm-*", "adm_*", "admin-*", "admin_*", "*-admin", "*_admin", "*.admin",
		"breakglass*", "break-glass*",
	}
}

// pattern is a compiled glob: the lowercase literal pieces between "*".
type pattern struct {
	raw     string
	full    bool // matched against the whole address, not the local part
	parts   [][]byte
	anchorL bool // no leading "*"
	anchorR bool // no trailing "*"
}

// patternSet buckets compiled patterns so that checking an address costs a few byte
// comparisons rather than one pass per pattern: most patterns are a literal prefix, suffix,
// infix or whole local part, and only those sharing the address's first or last byte (or, for
// infixes, a byte of it) are tried.
type patternSet struct {
	all       []pattern
	exact     []*pattern
	exactLens uint64 // bit n set: some exact pattern is n bytes long (n < 64)
	prefix    bucket // by first byte
	suffix    bucket // by last byte
	infix     bucket // by anchor byte
	anchors   []byte // the distinct anchor bytes of the infixes (see anchorOf)
	general   []*pattern
	// Bigram filters: the first two bytes of each prefix, the last two of each suffix. A name whose bigrams miss them (nearly every person's) is passed by a few bit
	// tests instead of a comparison per pattern.
	prefixBG, suffixBG bigrams4k
	short              []*pattern // one-byte prefixes, suffixes and infixes, always tried
}

// byteCommonness lists bytes from rare to common in the local parts of people's addresses
// (English letter frequencies, then separators); bytes not listed count as rarest.
const byteCommonness = "qxzjkvwfbpyg-_0123456789mcuhdtslroinae."

// anchorOf picks the rarest byte of an infix: a name without it cannot contain the infix, and
// one search for it (rather than for the infix's first letter, often a common one) passes
// nearly every person's name.
func anchorOf(lit []byte) byte {
	best, rank := lit[0], len(byteCommonness)+1
	for _, c := range lit {
		r := strings.IndexByte(byteCommonness, c)
		if r < rank {
			best, rank = c, r
		}
	}
	return best
}

// bigrams4k is a 4,096-bit set of hashed byte pairs; a false positive only costs a comparison.
type bigrams4k [64]uint64

func bigramBit(a, b byte) uint32 { return (uint32(a)<<4 ^ uint32(b)) & 4095 }

func (s *bigrams4k) add(a, b byte) { h := bigramBit(a, b); s[h/64] |= 1 << (h % 64) }

func (s *bigrams4k) has(a, b byte) bool { h := bigramBit(a, b); return s[h/64]&(1<<(h%64)) != 0 }

// bucket groups patterns by one byte, compactly (a few hundred bytes rather than a slice
// header per byte), so the tables stay in cache beside everything else Match touches.
type bucket struct {
	start [256]uint16
	n     [256]uint8
	list  []*pattern
}

func (b *bucket) of(c byte) []*pattern {
	s := b.start[c]
	return b.list[s : s+uint16(b.n[c])]
}

func newBucket(ps map[byte][]*pattern) bucket {
	var b bucket
	for c := range 256 {
		b.start[c] = uint16(len(b.list))
		b.n[c] = uint8(min(len(ps[byte(c)]), 255))
		b.list = append(b.list, ps[byte(c)][:b.n[c]]...)
	}
	return b
}

func newPatternSet(ps []pattern) *patternSet {
	s := &patternSet{all: ps}
	prefix, suffix, infix := map[byte][]*pattern{}, map[byte][]*pattern{}, map[byte][]*pattern{}
	for i := range s.all {
		p := &s.all[i]
		lit := []byte(nil)
		if len(p.parts) == 1 {
			lit = p.parts[0]
		}
		switch {
		case p.full || len(p.parts) != 1:
			s.general = append(s.general, p)
		case p.anchorL && p.anchorR:
			s.exact = append(s.exact, p)
			if len(lit) < 64 {
				s.exactLens |= 1 << len(lit)
			} else {
				s.general = append(s.general, p)
			}
		case len(lit) == 1:
			s.short = append(s.short, p)
		case p.anchorL:
			prefix[lit[0]] = append(prefix[lit[0]], p)
			s.prefixBG.add(lit[0], lit[1])
		case p.anchorR:
			suffix[lit[len(lit)-1]] = append(suffix[lit[len(lit)-1]], p)
			s.suffixBG.add(lit[len(lit)-2], lit[len(lit)-1])
		default:
			a := anchorOf(lit)
			if len(infix[a]) == 0 {
				s.anchors = append(s.anchors, a)
			}
			infix[a] = append(infix[a], p)
		}
	}
	s.prefix, s.suffix, s.infix = newBucket(prefix), newBucket(suffix), newBucket(infix)
	return s
}

// matchLower returns a pattern matching the lowercase address addr (local part addr[:at]),
// or nil.
func (s *patternSet) matchLower(addr []byte, at int) *pattern {
	local := addr[:at]
	if len(local) == 0 {
		return nil
	}
	if s.exactLens != 0 {
		n := len(local)
		for n > 0 && '0' <= local[n-1] && local[n-1] <= '9' {
			n--
		}
		if (n < 64 && s.exactLens&(1<<n) != 0) || (len(local) < 64 && s.exactLens&(1<<len(local)) != 0) {
			for _, p := range s.exact {
				if bytes.Equal(local, p.parts[0]) || bytes.Equal(local[:n], p.parts[0]) {
					return p
				}
			}
		}
	}
	if len(local) >= 2 {
		if s.prefixBG.has(local[0], local[1]) {
			for _, p := range s.prefix.of(local[0]) {
				if bytes.HasPrefix(local, p.parts[0]) {
					return p
				}
			}
		}
		if s.suffixBG.has(local[len(local)-2], local[len(local)-1]) {
			for _, p := range s.suffix.of(local[len(local)-1]) {
				if bytes.HasSuffix(local, p.parts[0]) {
					return p
				}
			}
		}
		for _, c := range s.anchors {
			if bytes.IndexByte(local, c) < 0 {
				continue
			}
			for _, p := range s.infix.of(c) {
				if bytes.Contains(local, p.parts[0]) {
					return p
				}
			}
		}
	}
	for _, p := range s.short {
		if p.match(local) {
			return p
		}
	}
	for _, p := range s.general {
		if (p.full && p.match(addr)) || (!p.full && p.match(local)) {
			return p
		}
	}
	return nil
}

func compilePatterns(ps []string) ([]pattern, error) {
	if ps == nil {
		ps = DefaultServiceAccountPatterns()
	}
	out := make([]pattern, 0, len(ps))
	for _, p := range ps {
		lp := strings.ToLower(strings.TrimSpace(p))
		if strings.Trim(lp, "*") == "" {
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput,
				"give a pattern with at least one character besides *, such as svc-*",
				"match: service account pattern %q matches every account", p)
		}
		var parts [][]byte
		for _, f := range strings.FieldsFunc(lp, func(r rune) bool { return r == '*' }) {
			parts = append(parts, []byte(f))
		}
		out = append(out, pattern{
			raw:     p,
			full:    strings.Contains(lp, "@"),
			parts:   parts,
			anchorL: !strings.HasPrefix(lp, "*"),
			anchorR: !strings.HasSuffix(lp, "*"),
		})
	}
	return out, nil
}

// match reports whether s, already lowercased, matches the glob.
func (p *pattern) match(s []byte) bool {
	parts := p.parts
	if p.anchorL {
		if !bytes.HasPrefix(s, parts[0]) {
			return false
		}
		s = s[len(parts[0]):]
		parts = parts[1:]
		if len(parts) == 0 {
			return !p.anchorR || len(s) == 0
		}
	}
	last := len(parts) - 1
	for i, part := range parts {
		if i == last && p.anchorR {
			return bytes.HasSuffix(s, part)
		}
		j := bytes.Index(s, part)
		if j < 0 {
			return false
		}
		s = s[j+len(part):]
	}
	return true
}
