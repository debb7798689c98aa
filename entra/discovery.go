package entra

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// MSAL resolves the endpoints of every authority it is asked for by fetching the authority's
// OpenID configuration, and a client credentials token per customer tenant is a new authority
// (WithTenantID): each tenant's first token cost two round trips, the configuration and the
// token. On Entra ID's login host every tenant's configuration is the same document with the
// tenant's ID in its URLs, so once the login host has answered for one tenant, the answer for
// another is that document with the other ID, and a small tenant's sync saves a round trip.
//
// The template is used only when it is safe to assume:
//   - the answer came from the configured login host over https, for a tenant named by its
//     GUID, and its issuer, token and authorization endpoints are that host under that
//     tenant's path; anything else (a custom authority, endpoints on another host, a tenant
//     asked for by domain, whose answer names its GUID instead) is fetched as before;
//   - only the URLs under the tenant's path are templated; what an answer says of its own
//     tenant alone (its region, for one) is left out, since MSAL reads only the endpoints;
//   - a configuration fetched later whose endpoints differ from what the template says for its
//     tenant turns the template off: from then on every tenant is fetched.

// openIDPath matches MSAL's request for a tenant's OpenID configuration.
var openIDPath = regexp.MustCompile(`^/([^/]+)/v2\.0/\.well-known/openid-configuration$`)

// guidPattern is a tenant ID as Entra ID writes it.
var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// maxOpenIDBody bounds an OpenID configuration read to learn the template from; Entra ID's is
// about 2 KB.
const maxOpenIDBody = 64 << 10

// tenantPlaceholder stands for the tenant ID in a template; no URL Entra ID writes holds it.
const tenantPlaceholder = "\x00tenant\x00"

// openIDTemplate is an http.RoundTripper that answers MSAL's OpenID configuration requests on
// the login host from a template once it has learned one, and passes every other request on.
type openIDTemplate struct {
	next http.RoundTripper
	host string // the login host, lower case, with its port when it has one

	mu       sync.Mutex
	template map[string]string // field → URL with tenantPlaceholder; nil until learned
	off      bool              // an answer disagreed with the template: fetch every tenant
	served   int               // configurations answered from the template
	// learning is closed when the fetch the template may be learned from ends; nil when none
	// is under way. The tenants a sync starts at once wait for it rather than each fetching
	// their own configuration in the same instant.
	learning chan struct{}
}

func newOpenIDTemplate(next http.RoundTripper, host string) *openIDTemplate {
	if next == nil {
		next = http.DefaultTransport
	}
	return &openIDTemplate{next: next, host: strings.ToLower(host)}
}

// RoundTrip implements http.RoundTripper.
func (o *openIDTemplate) RoundTrip(req *http.Request) (*http.Response, error) {
	tenant, ok := o.openIDRequest(req)
	if !ok {
		return o.next.RoundTrip(req)
	}
	lead := false
	for {
		if body := o.answer(tenant); body != nil {
			return &http.Response{
				Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				Body:          io.NopCloser(bytes.NewReader(body)),
				ContentLength: int64(len(body)),
				Request:       req,
			}, nil
		}
		var wait <-chan struct{}
		if wait, lead = o.gate(tenant); wait == nil {
			break
		}
		select {
		case <-wait:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	if lead {
		defer o.learned()
	}
	resp, err := o.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	// Read the answer to learn from it, then hand MSAL the same bytes.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOpenIDBody+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) <= maxOpenIDBody {
		o.learn(tenant, body)
	}
	return resp, nil
}

// gate decides whether a tenant's configuration is fetched now: while no template is known and
// none has been ruled out, the first GUID tenant's fetch leads (lead) and the others wait for
// it (wait); otherwise both are zero and the tenant is fetched.
func (o *openIDTemplate) gate(tenant string) (wait <-chan struct{}, lead bool) {
	if !guidPattern.MatchString(strings.ToLower(tenant)) {
		return nil, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.template != nil || o.off:
		return nil, false
	case o.learning != nil:
		return o.learning, false
	}
	o.learning = make(chan struct{})
	return nil, true
}

// learned ends the leading fetch: the waiting tenants look for the template again, and one of
// them leads the next fetch when it was not learned (an unknown tenant's error).
func (o *openIDTemplate) learned() {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.learning)
	o.learning = nil
}

// openIDRequest returns the tenant path segment of a request for a tenant's OpenID
// configuration on the login host.
func (o *openIDTemplate) openIDRequest(req *http.Request) (string, bool) {
	if req.Method != http.MethodGet || req.URL == nil || req.URL.Scheme != "https" || req.URL.RawQuery != "" ||
		strings.ToLower(req.URL.Host) != o.host {
		return "", false
	}
	m := openIDPath.FindStringSubmatch(req.URL.Path)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// answer returns the templated configuration for tenant, or nil when it must be fetched.
func (o *openIDTemplate) answer(tenant string) []byte {
	// Entra ID writes a GUID asked for in capitals in lower case, as the template does.
	tenant = strings.ToLower(tenant)
	if !guidPattern.MatchString(tenant) {
		// A tenant asked for by a domain (or common, organizations) is answered with its GUID
		// or a placeholder, which the template cannot know.
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.template == nil || o.off {
		return nil
	}
	doc := make(map[string]string, len(o.template))
	for k, v := range o.template {
		doc[k] = strings.ReplaceAll(v, tenantPlaceholder, tenant)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil
	}
	o.served++
	return body
}

// learn takes the template from the first templatable answer, and turns templating off when
// a later answer disagrees with it.
func (o *openIDTemplate) learn(asked string, body []byte) {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return
	}
	// A tenant asked for by its GUID whose answer cannot be templated rules the template out;
	// one asked for by a domain only once there is a template to disagree with.
	byGUID := guidPattern.MatchString(strings.ToLower(asked))
	issuer, _ := doc["issuer"].(string)
	prefix := "https://" + o.host + "/"
	tid, ok := strings.CutPrefix(issuer, prefix)
	if !ok {
		o.disagree(byGUID) // the login host named another host as the issuer
		return
	}
	tid, ok = strings.CutSuffix(tid, "/v2.0")
	if !ok || !guidPattern.MatchString(tid) {
		o.disagree(byGUID)
		return
	}
	base := prefix + tid + "/"
	tmpl := map[string]string{}
	for k, v := range doc {
		if s, ok := v.(string); ok && strings.HasPrefix(s, base) {
			tmpl[k] = tenantPlaceholder + "/" + strings.TrimPrefix(s, base)
		}
	}
	for _, k := range []string{"issuer", "token_endpoint", "authorization_endpoint"} {
		if _, ok := tmpl[k]; !ok {
			o.disagree(byGUID) // an endpoint MSAL uses is elsewhere than under the tenant's path
			return
		}
	}
	for k, v := range tmpl {
		tmpl[k] = prefix + v
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.template == nil {
		switch {
		case strings.EqualFold(asked, tid):
			// Learned only from an answer for the tenant as asked: a GUID asked, the same
			// GUID in every URL.
			o.template = tmpl
		case byGUID:
			o.off = true // a GUID answered with another tenant's URLs: nothing to assume
		}
		return
	}
	for _, k := range []string{"issuer", "token_endpoint", "authorization_endpoint"} {
		if o.template[k] != tmpl[k] {
			o.off = true
			return
		}
	}
}

// disagree turns templating off when the login host answered with something a template would
// not have said: once a template exists, or, before, for a tenant asked for by its GUID (ruled
// the template out). A domain's answer before any template teaches nothing.
func (o *openIDTemplate) disagree(byGUID bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.template != nil || byGUID {
		o.off = true
	}
}

// stats says how many configurations the template answered and whether it is in use.
func (o *openIDTemplate) stats() (served int, active bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.served, o.template != nil && !o.off
}

var _ http.RoundTripper = (*openIDTemplate)(nil)
