package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// maxBody bounds a request body; the largest legitimate one, a bulk accept of suggestions for a
// few thousand tenants, is far below it.
const maxBody = 1 << 20

// hostPolicy says which Host headers name this daemon: the listen address as configured,
// localhost or any loopback literal, always with the listen port. Anything else is a request
// meant for another server, or a DNS-rebinding page that pointed its own name at 127.0.0.1.
type hostPolicy struct {
	configured string // the -listen host, lower case
	port       string
}

func newHostPolicy(listen string, addr net.Addr) (hostPolicy, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return hostPolicy{}, err
	}
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port) // -listen with port 0 gets its real port here
	}
	return hostPolicy{configured: strings.ToLower(host), port: port}, nil
}

func (p hostPolicy) allows(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port: only the default port may be left out.
		host, port = strings.Trim(hostport, "[]"), "80"
	}
	if port != p.port {
		return false
	}
	host = strings.ToLower(host)
	if host == "localhost" || host == p.configured {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowsOrigin reports whether an Origin header is the daemon's own: http on an allowed host.
func (p hostPolicy) allowsOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" || u.User != nil {
		return false
	}
	return p.allows(u.Host)
}

// openPath reports whether a path answers without a token: the liveness check, and the API's
// description, which holds nothing of the account.
func openPath(path string) bool { return path == "/healthz" || path == "/openapi.json" }

type ctxKey int

const actorKey ctxKey = iota

// actorFrom returns the actor authenticated for the request.
func actorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey).(string)
	return a
}

// guard puts every request through the checks that keep other local processes and web pages
// out, in an order that costs an unauthenticated caller nothing but a counter: Host (421),
// Origin (403), token (401, 429 past the failure limit), then the body's type and size (415,
// 413). Nothing is logged or audited before the token is checked.
func (a *api) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.hosts.allows(r.Host) {
			failStatus(w, http.StatusMisdirectedRequest, tenantsync.Errorf(tenantsync.ErrForbidden,
				"call the API at http://"+net.JoinHostPort(a.hosts.configured, a.hosts.port)+"; the Host header must name that address, localhost or a loopback address with the same port",
				"this daemon does not answer for host %q", r.Host))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !a.hosts.allowsOrigin(origin) {
			failStatus(w, http.StatusForbidden, tenantsync.Errorf(tenantsync.ErrForbidden,
				"call the API from a program (the PSA's server), not from a web page",
				"requests from origin %q are refused", origin))
			return
		}
		// A browser that sends no Origin (an old one, or a GET) still says where the request
		// came from.
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			failStatus(w, http.StatusForbidden, tenantsync.Errorf(tenantsync.ErrForbidden,
				"call the API from a program (the PSA's server), not from a web page",
				"requests from another site are refused"))
			return
		}
		if openPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		actor, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if !a.checkBody(w, r) {
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey, actor)))
	})
}

// authenticate returns the actor of the request's bearer token, or answers 401 (429 past the
// failure limit) and returns false. Failures are counted, never logged or audited, so a
// flood of them costs no disk.
func (a *api) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	const hintFmt = "send the header Authorization: Bearer <token>; the install token (actor admin) is in %s, readable only by the user running syncd, and -actors-file gives other people tokens of their own"
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		if actor, ok := a.creds.actor(strings.TrimSpace(token)); ok {
			return actor, true
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ok, wait := a.failures.allow(host); !ok {
		a.metrics.add("tenantsync_api_auth_failures_total", 1, "outcome", "rate_limited")
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, apiError{
			Error:      "too many failed authentication attempts from " + host,
			Kind:       tenantsync.ClassName(tenantsync.ErrThrottled),
			Hint:       fmt.Sprintf(hintFmt, a.creds.tokenFile),
			RetryAfter: secs,
		})
		return "", false
	}
	a.metrics.add("tenantsync_api_auth_failures_total", 1, "outcome", "refused")
	w.Header().Set("WWW-Authenticate", `Bearer realm="syncd"`)
	what := "no API token sent"
	if r.Header.Get("Authorization") != "" {
		what = "the API token is not valid"
	}
	failStatus(w, http.StatusUnauthorized, tenantsync.Errorf(tenantsync.ErrUnauthorized, fmt.Sprintf(hintFmt, a.creds.tokenFile), "%s", what))
	return "", false
}

// checkBody refuses a body that is not JSON (so a cross-site form, which can only send
// text/plain, form or multipart bodies, never reaches a handler) or is larger than maxBody,
// and caps what the handler may read.
func (a *api) checkBody(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return true // no body: sync-now and the GETs
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		failStatus(w, http.StatusUnsupportedMediaType, tenantsync.Errorf(tenantsync.ErrInvalidInput,
			"send the body as JSON with the header Content-Type: application/json",
			"request bodies must be application/json, not %q", r.Header.Get("Content-Type")))
		return false
	}
	if r.ContentLength > maxBody {
		tooLarge(w)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return true
}

func tooLarge(w http.ResponseWriter) {
	failStatus(w, http.StatusRequestEntityTooLarge, tenantsync.Errorf(tenantsync.ErrLimitExceeded,
		fmt.Sprintf("send at most %d KiB; split a bulk request into several", maxBody>>10),
		"request body too large"))
}

// isTooLarge reports whether a body read failed on the size cap.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
