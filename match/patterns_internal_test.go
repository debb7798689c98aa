package match

import (
	"bytes"
	"testing"
)

// The bucketed, filtered pattern matcher must agree with trying every glob in turn.
func FuzzServiceAccountPatterns(f *testing.F) {
	for _, s := range []string{"jane.doe", "svc-backup", "noreply", "x-no-reply-y", "admin", "admin2", "jane-admin", "p",
		"philip", "scanner", "sync_dc01", "donotreply", "a", "ops-deploy-bot", "q.robot"} {
		f.Add(s, "")
		f.Add(s, "ops-*-bot")
	}
	f.Fuzz(func(t *testing.T, local, extra string) {
		pats := DefaultServiceAccountPatterns()
		if extra != "" {
			pats = append(pats, extra)
		}
		compiled, err := compilePatterns(pats)
		if err != nil {
			return
		}
		set := newPatternSet(compiled)
		low := bytes.ToLower([]byte(local))
		if bytes.IndexByte(low, '@') >= 0 || len(low) == 0 {
			return
		}
		addr := append(append(bytes.Clone(low), '@'), "contoso.com"...)
		got := set.matchLower(addr, len(low)) != nil
		want := false
		for i := range compiled {
			p := &compiled[i]
			subject := low
			if p.full {
				subject = addr
			}
			if p.match(subject) {
				want = true
			}
			if len(p.parts) == 1 && p.anchorL && p.anchorR && !p.full {
				n := len(low)
				for n > 0 && '0' <= low[n-1] && low[n-1] <= '9' {
					n--
				}
				if bytes.Equal(low[:n], p.parts[0]) {
					want = true
				}
			}
		}
		if got != want {
			t.Fatalf("%q with %q: bucketed %v, naive %v", local, extra, got, want)
		}
	})
}
