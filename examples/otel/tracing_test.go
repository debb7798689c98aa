package tracing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"example.com/tenantsync-otel"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

func attr(s tracetest.SpanStub, key string) (string, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit(), true
		}
	}
	return "", false
}

// A tenant sync through the CIPP client, with the first user listing throttled once: one sync
// span carrying the tenant, its outcome and the retry, with every request span its child,
// carrying tenant, kind, status and retries, and no token or secret anywhere.
func TestSyncAndRequestSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	tr := tracing.New(tp)

	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 3, Tenants: 2, Sizes: []int{12}})
	tenant := fakes.Tenants()[0]
	_, err := fakes.InjectHTTPFault(tenantsynctest.HTTPFault{Service: tenantsynctest.ServiceCIPP, Tenant: tenant.ID,
		Path: "/api/ListUsers", Kind: tenantsynctest.HTTPThrottle, RetryAfter: time.Second, Count: 1})
	require.NoError(t, err)

	cfg := fakes.CIPPConfig()
	cfg.Tracer = tr
	client, err := cipp.NewClient(cfg)
	require.NoError(t, err)
	src, err := cipp.NewSource(client, cipp.SourceConfig{})
	require.NoError(t, err)
	psa := tenantsynctest.NewContacts(nil)
	psa.AddClient("17", "Contoso")
	eng, err := sync.New(sync.Config{Store: memory.New(memory.Config{}), Account: "msp", Sources: []tenantsync.Source{src},
		Contacts: psa, AutoCreate: true, Tracer: tr})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close(t.Context()) })
	_, err = eng.Discover(t.Context())
	require.NoError(t, err)
	require.NoError(t, eng.Link(t.Context(), "alice", tenant.ID, "17"))
	require.NoError(t, eng.Wait(t.Context()))

	spans := exp.GetSpans()
	var syncs, requests []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == "tenantsync.sync" {
			syncs = append(syncs, s)
		} else {
			requests = append(requests, s)
		}
	}
	require.Len(t, syncs, 1, "one span per tenant sync")
	sy := syncs[0]
	v, _ := attr(sy, "tenantsync.tenant")
	assert.Equal(t, tenant.ID, v)
	v, _ = attr(sy, "tenantsync.status")
	assert.Contains(t, []string{"ok", "partial"}, v)
	v, _ = attr(sy, "tenantsync.retries")
	assert.Equal(t, "1", v, "the throttled listing's retry is counted on the sync")

	children, retried := 0, 0
	kinds := map[string]bool{}
	for _, r := range requests {
		if r.Parent.SpanID() != sy.SpanContext.SpanID() {
			continue // discovery's ListTenants runs outside any sync
		}
		children++
		tn, _ := attr(r, "tenantsync.tenant")
		if p, _ := attr(r, "url.path"); p != "/api/ListTenants" { // the partner-level tenant lookup has none
			assert.Equal(t, tenant.ID, tn, r.Name+" "+p)
		}
		st, ok := attr(r, "http.response.status_code")
		assert.True(t, ok)
		if k, _ := attr(r, "tenantsync.kind"); k == "signins" && st == "400" {
			// CIPP's answer for a tenant without Entra ID P1, which sign-in activity needs.
			continue
		}
		assert.Equal(t, "200", st, r.Name)
		if k, ok := attr(r, "tenantsync.kind"); ok {
			kinds[k] = true
		}
		if n, _ := attr(r, "tenantsync.retries"); n == "1" {
			retried++
			k, _ := attr(r, "tenantsync.kind")
			assert.Equal(t, "users", k)
		}
	}
	assert.Positive(t, children, "request spans are children of the sync span")
	assert.Equal(t, 1, retried, "one request span was retried once")
	assert.True(t, kinds["users"] && kinds["devices"], "kinds: %v", kinds)

	secret := fakes.CIPPCredentials().Secret.Reveal()
	for _, s := range spans {
		for _, kv := range s.Attributes {
			val := kv.Value.Emit()
			assert.NotContains(t, val, secret, "%s %s", s.Name, kv.Key)
			assert.False(t, strings.HasPrefix(val, "eyJ"), "a JWT in %s %s", s.Name, kv.Key)
			assert.NotContains(t, strings.ToLower(val), "bearer", "%s %s", s.Name, kv.Key)
			assert.NotContains(t, val, "tenantFilter", "no query string in %s %s", s.Name, kv.Key)
		}
		assert.NotContains(t, s.Status.Description, secret)
	}
}
