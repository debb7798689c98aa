package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenantsync/tenantsync"
)

const (
	// tokenFileName is the install's API token in the data directory.
	tokenFileName = "api-token"
	// adminActor is the actor of the install token.
	adminActor = "admin"
	// minTokenLen keeps guessable tokens out of the actors file: 32 characters of base64 carry
	// 192 bits.
	minTokenLen = 32
)

// checkPrivateFile refuses a file that users other than its owner may read or write: it holds
// a key or a token, and a copy in another user's hands is as good as the original.
func checkPrivateFile(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if fi.IsDir() {
		return tenantsync.Errorf(tenantsync.ErrInvalidInput, "name a file, not a directory", "%s %s is a directory", what, path)
	}
	if perm := fi.Mode().Perm(); enforcePerms() && perm&0o077 != 0 {
		return tenantsync.Errorf(tenantsync.ErrInvalidInput, "run chmod 600 "+path,
			"%s %s is open to other users (mode %04o)", what, path, perm)
	}
	return nil
}

// checkPrivateDir refuses a data directory other users may enter: it holds the store, the
// secret key and the API token.
func checkPrivateDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return tenantsync.Errorf(tenantsync.ErrInvalidInput, "point -data-dir at a directory", "the data directory %s is not a directory", path)
	}
	if perm := fi.Mode().Perm(); enforcePerms() && perm&0o077 != 0 {
		return tenantsync.Errorf(tenantsync.ErrInvalidInput, "run chmod 700 "+path,
			"the data directory %s is open to other users (mode %04o)", path, perm)
	}
	return nil
}

// enforcePerms reports whether Unix permission bits mean anything here; on Windows the
// permission bits Go reports are synthetic and every file would look world-readable.
func enforcePerms() bool { return runtime.GOOS != "windows" }

// createPrivateFile writes data to a new file readable only by its owner. It fails with
// fs.ErrExist when the file is already there, so a concurrent first start never overwrites a
// key or token the other process already handed out.
func createPrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// loadAPIToken reads the install's API token from path, creating it (32 random bytes,
// base64url, mode 0600) when it does not exist. created says whether it was made now.
func loadAPIToken(path string) (token string, created bool, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	fresh := base64.RawURLEncoding.EncodeToString(raw)
	err = createPrivateFile(path, []byte(fresh+"\n"))
	if err == nil {
		return fresh, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return "", false, fmt.Errorf("creating the API token %s: %w", path, err)
	}
	if err := checkPrivateFile(path, "the API token file"); err != nil {
		return "", false, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, fmt.Errorf("reading the API token: %w", err)
	}
	token = strings.TrimSpace(string(b))
	if len(token) < minTokenLen || strings.ContainsAny(token, " \t\r\n") {
		return "", false, tenantsync.Errorf(tenantsync.ErrInvalidInput,
			"delete "+path+" and restart syncd to create a new token",
			"the API token in %s is not one token of at least %d characters", path, minTokenLen)
	}
	return token, false, nil
}

// actorToken is one line of the actors file.
type actorToken struct {
	Name  string
	Token string
}

var actorNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// loadActors reads the actors file: one "name:token" per line, blank lines and lines starting
// with # ignored. The file must be readable by its owner only.
func loadActors(path string) ([]actorToken, error) {
	if err := checkPrivateFile(path, "the actors file"); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the actors file: %w", err)
	}
	return parseActors(path, b)
}

func parseActors(path string, b []byte) ([]actorToken, error) {
	const hint = `write one "name:token" per line, the token at least 32 characters (e.g. from: openssl rand -base64 32)`
	var out []actorToken
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Never quote the line: its token is a secret.
		name, token, ok := strings.Cut(line, ":")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		switch {
		case !ok:
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, "%s line %d has no colon between name and token", path, n)
		case !actorNameRE.MatchString(name):
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "use letters, digits and . _ @ - in actor names",
				"%s line %d: the actor name is empty or has other characters", path, n)
		case name == adminActor:
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "pick another name; admin holds the token in <data-dir>/"+tokenFileName,
				"%s line %d: the name admin is reserved for the install token", path, n)
		case len(token) < minTokenLen || strings.ContainsAny(token, " \t"):
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, "%s line %d: the token of %s is shorter than %d characters or has spaces", path, n, name, minTokenLen)
		}
		if prev, dup := seen[token]; dup {
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "give every actor a token of their own",
				"%s lines %d and %d have the same token", path, prev, n)
		}
		seen[token] = n
		out = append(out, actorToken{Name: name, Token: token})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the actors file: %w", err)
	}
	return out, nil
}

// credentials maps API tokens to the actors they authenticate. Only digests are kept, all of
// one length, so comparing them takes the same time whatever the token sent.
type credentials struct {
	tokenFile string // where the install token is, for hints
	entries   []credential
}

type credential struct {
	digest [sha256.Size]byte
	actor  string
}

func newCredentials(tokenFile, adminToken string, actors []actorToken) (*credentials, error) {
	c := &credentials{tokenFile: tokenFile}
	c.entries = append(c.entries, credential{digest: sha256.Sum256([]byte(adminToken)), actor: adminActor})
	for _, a := range actors {
		if a.Token == adminToken {
			return nil, tenantsync.Errorf(tenantsync.ErrInvalidInput, "give "+a.Name+" a token of their own",
				"the actors file gives %s the install token", a.Name)
		}
		c.entries = append(c.entries, credential{digest: sha256.Sum256([]byte(a.Token)), actor: a.Name})
	}
	return c, nil
}

// actor returns the actor a token authenticates. Every entry is compared, matched or not.
func (c *credentials) actor(token string) (string, bool) {
	return c.actorOf(sha256.Sum256([]byte(token)))
}

// actorOf returns the actor whose token has the SHA-256 digest d.
func (c *credentials) actorOf(d [sha256.Size]byte) (string, bool) {
	found := -1
	for i := range c.entries {
		if subtle.ConstantTimeCompare(d[:], c.entries[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return c.entries[found].actor, true
}

// names returns the actors that hold a token.
func (c *credentials) names() []string {
	out := make([]string, 0, len(c.entries))
	for _, e := range c.entries {
		if !slices.Contains(out, e.actor) {
			out = append(out, e.actor)
		}
	}
	return out
}

// checkWriters refuses a -writers entry naming nobody: an actor without a token can never
// act, so the entry is a typo.
func (c *credentials) checkWriters(writers []string) error {
	known := c.names()
	var unknown []string
	for _, w := range writers {
		if !slices.Contains(known, w) {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return tenantsync.Errorf(tenantsync.ErrInvalidInput,
		"give each writer a line \"name:token\" in the -actors-file, or remove them from -writers; the install token's actor is "+adminActor,
		"-writers names %s, who hold no API token (actors: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// failureLimiter bounds failed authentication attempts per remote address. Valid tokens are
// never throttled, so a flood of guesses from another local process cannot lock out the PSA.
type failureLimiter struct {
	every time.Duration
	burst int
	max   int // addresses tracked; past it, new addresses share one limiter
	now   func() time.Time

	mu       gosync.Mutex
	byAddr   map[string]*rate.Limiter
	overflow *rate.Limiter
}

func newFailureLimiter() *failureLimiter {
	// 10 failures, then one every 6 s: 10 a minute.
	f := &failureLimiter{every: 6 * time.Second, burst: 10, max: 4096, now: time.Now, byAddr: map[string]*rate.Limiter{}}
	f.overflow = rate.NewLimiter(rate.Every(f.every), f.burst)
	return f
}

// allow records one failed attempt from addr and reports whether it is within the limit; when
// it is not, wait is how long until the next attempt would be.
func (f *failureLimiter) allow(addr string) (ok bool, wait time.Duration) {
	now := f.now()
	f.mu.Lock()
	l := f.byAddr[addr]
	if l == nil {
		if len(f.byAddr) >= f.max {
			f.sweep(now)
		}
		if len(f.byAddr) >= f.max {
			l = f.overflow
		} else {
			l = rate.NewLimiter(rate.Every(f.every), f.burst)
			f.byAddr[addr] = l
		}
	}
	f.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the addresses whose limiter has refilled: they are as good as new.
func (f *failureLimiter) sweep(now time.Time) {
	for a, l := range f.byAddr {
		if l.TokensAt(now) >= float64(f.burst) {
			delete(f.byAddr, a)
		}
	}
}
