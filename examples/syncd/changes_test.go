package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/store/sqlite"
)

// syncedTestDaemon is a test daemon whose suggested links are made and synced once.
func syncedTestDaemon(t *testing.T) *testDaemon {
	t.Helper()
	td := newTestDaemon(t, nil)
	_, err := td.d.engine.LinkSuggested(t.Context(), "admin", nil)
	require.NoError(t, err)
	require.NoError(t, td.d.engine.Wait(t.Context()))
	return td
}

func TestChangesAPIPagesWithACursor(t *testing.T) {
	t.Parallel()
	td := syncedTestDaemon(t)
	var all []store.Change
	var after int64
	for {
		rec := td.do(t, http.MethodGet, fmt.Sprintf("/api/changes?after=%d&limit=50", after), "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var page changesPage
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
		if len(page.Changes) == 0 {
			assert.Equal(t, after, page.Next, "an empty page keeps the cursor")
			assert.Equal(t, after, page.Head)
			break
		}
		assert.LessOrEqual(t, len(page.Changes), 50)
		assert.Equal(t, page.Changes[len(page.Changes)-1].Seq, page.Next)
		all = append(all, page.Changes...)
		after = page.Next
	}
	require.NotEmpty(t, all, "the initial sync is in the feed")
	types := map[store.ChangeType]int{}
	for i, c := range all {
		require.Equal(t, int64(i+1), c.Seq)
		assert.Equal(t, store.ChangeID(c.Seq), c.ID)
		types[c.Type]++
	}
	assert.Positive(t, types[store.ChangeUpserted])
	assert.Positive(t, types[store.ChangeLinked])
	assert.Positive(t, types[store.ChangeContact])

	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "limit=ten"} {
		rec := td.do(t, http.MethodGet, "/api/changes?"+q, "")
		assert.Equal(t, http.StatusBadRequest, rec.Code, q)
		assert.Contains(t, decodeError(t, rec).Hint, "after=", q)
	}
	rec := td.do(t, http.MethodGet, fmt.Sprintf("/api/changes?after=%d", after+100), "")
	require.Equal(t, http.StatusGone, rec.Code, rec.Body.String())
	e := decodeError(t, rec)
	assert.Equal(t, "cursor_expired", e.Kind)
	assert.Contains(t, e.Hint, "resync")

	rec = td.do(t, http.MethodGet, "/api/changes", "", "Authorization", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "the feed needs a token like every call")

	rec = td.do(t, http.MethodGet, "/api/webhooks/deliveries", "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"configured": false`)
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	secret := tenantsync.NewSecret("whsec-0123456789abcdef")
	body := []byte(`{"id":"dlv_1_2","changes":[]}`)
	now := time.Unix(1_760_000_000, 0)
	header := signWebhook(secret, now, body)
	assert.Regexp(t, `^t=1760000000,v1=[0-9a-f]{64}$`, header)
	require.NoError(t, verifyWebhook(secret, header, body, now.Add(time.Minute), signatureTolerance))

	tests := []struct {
		name   string
		secret tenantsync.Secret
		header string
		body   []byte
		now    time.Time
		want   string
	}{
		{"tampered body", secret, header, []byte(`{"id":"dlv_1_3","changes":[]}`), now, "no signature matches"},
		{"other secret", tenantsync.NewSecret("whsec-someone-else-000"), header, body, now, "no signature matches"},
		{"replayed later", secret, header, body, now.Add(signatureTolerance + time.Second), "from now"},
		{"from the future", secret, header, body, now.Add(-signatureTolerance - time.Second), "from now"},
		{"no time", secret, strings.Replace(header, "t=1760000000,", "", 1), body, now, "not t="},
		{"no signature", secret, "t=1760000000", body, now, "not t="},
		{"time moved", secret, strings.Replace(header, "t=1760000000", "t=1760000001", 1), body, now, "no signature matches"},
	}
	for _, tc := range tests {
		err := verifyWebhook(tc.secret, tc.header, tc.body, tc.now, signatureTolerance)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}
	// A receiver rotating secrets accepts any listed v1.
	two := header + ",v1=" + strings.Repeat("0", 64)
	assert.NoError(t, verifyWebhook(secret, two, body, now, signatureTolerance))
	assert.NotContains(t, fmt.Sprintf("%v %+v", secret, webhook{secret: secret}), "whsec-0123456789abcdef", "the secret never prints")
}

// receiver is a webhook endpoint as a PSA would write it: it verifies each delivery's
// signature and records the changes by ID, failing the attempts fail says to fail.
type receiver struct {
	t      *testing.T
	secret tenantsync.Secret
	mu     gosync.Mutex
	got    map[string]int // change ID -> times received
	seqs   map[int64]bool
	posts  int
	bad    int
	fail   func(post int) int // the status to answer the n-th post (from 1) with; 0 for 200
	block  chan struct{}      // when set, posts after blockAfter wait on it
	after  int
}

func newReceiver(t *testing.T, secret tenantsync.Secret) *receiver {
	return &receiver{t: t, secret: secret, got: map[string]int{}, seqs: map[int64]bool{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if err := verifyWebhook(rc.secret, r.Header.Get(signatureHeader), body, time.Now(), signatureTolerance); err != nil {
		rc.mu.Lock()
		rc.bad++
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.posts++
	n, block := rc.posts, rc.block
	status := 0
	if rc.fail != nil {
		status = rc.fail(n)
	}
	rc.mu.Unlock()
	if status != 0 {
		http.Error(w, "try later", status)
		return
	}
	if block != nil && n > rc.after {
		// The endpoint hangs: the sender gets no answer and must send the page again.
		select {
		case <-block:
		case <-r.Context().Done():
		}
		return
	}
	var wb webhookBody
	if err := json.Unmarshal(body, &wb); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	assert.Equal(rc.t, r.Header.Get(deliveryHeader), wb.ID)
	rc.mu.Lock()
	for _, c := range wb.Changes {
		rc.got[c.ID]++
		rc.seqs[c.Seq] = true
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) received() (map[int64]bool, int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seqs := map[int64]bool{}
	for k, v := range rc.seqs {
		seqs[k] = v
	}
	return seqs, rc.posts, rc.bad
}

// feedWith returns a memory store account whose feed holds n changes (users u0..u(n-1)).
func feedWith(t *testing.T, n int) (store.Account, func(ids ...string)) {
	t.Helper()
	st := memory.New(memory.Config{})
	acct := st.Account("msp")
	_, err := acct.Tenants.RecordDiscovery(t.Context(), "cipp", []tenantsync.Tenant{{ID: "t1", DisplayName: "T1", DefaultDomain: "t1.example"}}, time.Now())
	require.NoError(t, err)
	add := func(ids ...string) {
		var us []tenantsync.User
		for _, id := range ids {
			us = append(us, tenantsync.User{TenantID: "t1", ObjectID: id, DisplayName: id, AccountEnabled: true})
		}
		_, err := acct.Mirror.Commit(t.Context(), store.Batch{TenantID: "t1", Now: time.Now(),
			Kinds: []store.KindApply{{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Users: us}}}})
		require.NoError(t, err)
	}
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("u%d", i))
	}
	add(ids...)
	return acct, add
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookReceiverVerifiesSignaturesAndRetries(t *testing.T) {
	t.Parallel()
	secret := tenantsync.NewSecret("whsec-retries-0123456789")
	acct, add := feedWith(t, 25)
	rc := newReceiver(t, secret)
	rc.fail = func(n int) int {
		switch n {
		case 1:
			return http.StatusInternalServerError
		case 2:
			return http.StatusTooManyRequests
		}
		return 0
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	dir := t.TempDir()
	start := func() (*webhook, context.CancelFunc, chan struct{}) {
		h := newWebhook(srv.URL+"/hooks/tenantsync", secret, "msp", acct.Feed, dir, discardLog())
		h.retry = retryPolicy{First: 10 * time.Millisecond, Max: 40 * time.Millisecond, GiveUp: time.Hour}
		h.page, h.poll = 10, 5*time.Millisecond
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); h.run(ctx) }()
		return h, cancel, done
	}
	// The cursor moves once the endpoint answered and the attempt is logged.
	delivered := func(h *webhook, n int64) func() bool {
		return func() bool { return h.status()["cursor"] == n }
	}
	h, cancel, done := start()
	waitFor(t, "25 changes delivered", delivered(h, 25))
	cancel()
	<-done

	seqs, posts, bad := rc.received()
	assert.Zero(t, bad, "every delivery verified")
	assert.Equal(t, 5, posts, "3 pages, the first after two failed attempts")
	for i := range 25 {
		assert.True(t, seqs[int64(i+1)], "change %d delivered", i+1)
	}
	st := h.status()
	log := st["deliveries"].([]delivery)
	require.Len(t, log, 5)
	assert.Equal(t, []string{"retrying", "retrying", "delivered", "delivered", "delivered"},
		[]string{log[0].Outcome, log[1].Outcome, log[2].Outcome, log[3].Outcome, log[4].Outcome})
	assert.Equal(t, http.StatusInternalServerError, log[0].Status)
	assert.Equal(t, http.StatusTooManyRequests, log[1].Status)
	assert.Equal(t, []int{1, 2, 3}, []int{log[0].Attempt, log[1].Attempt, log[2].Attempt}, "the attempts of one page are numbered")
	assert.Equal(t, log[0].ID, log[2].ID, "a retried page keeps its delivery ID")
	assert.Equal(t, "dlv_1_10", log[0].ID)
	assert.False(t, log[0].RetryAt.IsZero())
	assert.Equal(t, int64(25), st["cursor"])
	lines, err := os.ReadFile(h.logFile)
	require.NoError(t, err)
	assert.Equal(t, 5, strings.Count(string(lines), "\n"), "the log file has every attempt")
	assert.NotContains(t, string(lines), secret.Reveal())
	fi, err := os.Stat(h.cursorFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A restart resumes from the saved cursor: only the new changes go out.
	add("late-1", "late-2")
	h, cancel, done = start()
	waitFor(t, "27 changes delivered", delivered(h, 27))
	cancel()
	<-done
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Equal(t, 6, rc.posts)
	for id, n := range rc.got {
		assert.Equal(t, 1, n, "%s was delivered again after the endpoint took it", id)
	}

	// A receiver with another secret refuses every delivery.
	other := newReceiver(t, tenantsync.NewSecret("whsec-not-the-same-one"))
	srv2 := httptest.NewServer(other)
	defer srv2.Close()
	h2 := newWebhook(srv2.URL, secret, "msp", acct.Feed, t.TempDir(), discardLog())
	h2.retry = retryPolicy{First: time.Millisecond, Max: time.Millisecond, GiveUp: 20 * time.Millisecond}
	h2.run(t.Context())
	_, posts2, bad2 := other.received()
	assert.Zero(t, posts2)
	assert.Positive(t, bad2)
	assert.Equal(t, "gave_up", h2.status()["state"], "a page the endpoint never takes is given up after the retry window")
	assert.Zero(t, h2.status()["cursor"], "and its cursor stays, so a restart delivers it again")
}

func TestWebhookRetriesForADay(t *testing.T) {
	t.Parallel()
	p := defaultRetry
	assert.Equal(t, 30*time.Second, p.wait(1))
	assert.Equal(t, time.Minute, p.wait(2))
	assert.Equal(t, time.Hour, p.wait(9))
	assert.Equal(t, time.Hour, p.wait(100))
	var total time.Duration
	attempts := 1
	for total+p.wait(attempts) <= p.GiveUp {
		total += p.wait(attempts)
		attempts++
	}
	assert.Greater(t, total, 23*time.Hour, "retries span the day")
	assert.InDelta(t, 30, attempts, 5, "attempts in a day")
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestWebhookCrashBetweenCommitAndDelivery kills the daemon with SIGKILL while it has
// committed changes the endpoint has not taken, then starts it again: every change committed
// before the kill reaches the endpoint once or more, never zero times.
func TestWebhookCrashBetweenCommitAndDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	t.Parallel()
	bin := buildDaemon(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	secret := tenantsync.NewSecret("whsec-crash-test-0123456789")
	rc := newReceiver(t, secret)
	rc.block, rc.after = make(chan struct{}), 2
	srv := httptest.NewServer(rc)
	defer srv.Close()
	defer close(rc.block)
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(secret.Reveal()+"\n"), 0o600))
	args := []string{"-demo-tenants", "3", "-demo-huge-users", "60", "-webhook-url", srv.URL + "/tenantsync", "-webhook-secret-file", secretFile}

	d := startDaemon(t, bin, dataDir, args...)
	// Two pages taken, the third hangs in the endpoint: the daemon holds committed changes it
	// has not delivered.
	waitFor(t, "a delivery in flight", func() bool { _, posts, _ := rc.received(); return posts > rc.after })
	d.waitInitialSync(2 * time.Minute)
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
	<-d.done
	before, _, _ := rc.received()

	st, err := sqlite.Open(t.Context(), filepath.Join(dataDir, "tenantsync.db"), sqlite.Config{})
	require.NoError(t, err)
	head, err := st.Account("demo-msp").Feed.Head(t.Context())
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.Greater(t, head, int64(len(before)), "the kill came between commit and delivery")
	require.Len(t, before, 2*100, "two pages taken before the kill")
	t.Logf("at the kill: %d changes committed, %d delivered", head, len(before))

	rc.mu.Lock()
	rc.block = nil
	rc.mu.Unlock()
	d2 := startDaemon(t, bin, dataDir, args...)
	waitFor(t, "every change committed before the kill delivered", func() bool {
		got, _, _ := rc.received()
		for seq := int64(1); seq <= head; seq++ {
			if !got[seq] {
				return false
			}
		}
		return true
	})
	d2.stop()
	_, _, bad := rc.received()
	assert.Zero(t, bad)
	rc.mu.Lock()
	redelivered := 0
	for _, n := range rc.got {
		redelivered += n - 1
	}
	rc.mu.Unlock()
	t.Logf("after the restart: all %d delivered, %d of them more than once", head, redelivered)
}

func TestWebhookConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	const long = "whsec-0123456789abcdef"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"http to another host", []string{"-webhook-url", "http://psa.example.com/hook"}, map[string]string{"TENANTSYNC_WEBHOOK_SECRET": long}, "use https, or http to a loopback"},
		{"credentials in the url", []string{"-webhook-url", "https://user:pw@psa.example.com/hook"}, map[string]string{"TENANTSYNC_WEBHOOK_SECRET": long}, "must not carry credentials"},
		{"not a url", []string{"-webhook-url", "psa.example.com"}, map[string]string{"TENANTSYNC_WEBHOOK_SECRET": long}, "not an http(s) URL"},
		{"no secret", []string{"-webhook-url", "https://psa.example.com/hook"}, nil, "TENANTSYNC_WEBHOOK_SECRET"},
		{"short secret", []string{"-webhook-url", "https://psa.example.com/hook"}, map[string]string{"TENANTSYNC_WEBHOOK_SECRET": "short"}, "shorter than 16"},
		{"secret without url", nil, map[string]string{"TENANTSYNC_WEBHOOK_SECRET": long}, "no -webhook-url"},
		{"retention too short", []string{"-change-retention", "10m"}, nil, "at least 1h"},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args, env(tt.env), io.Discard)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
		assert.NotContains(t, err.Error(), long, tt.name)
	}
	c, err := parseConfig([]string{"-webhook-url", "https://psa.example.com/hook", "-change-retention", "72h"},
		env(map[string]string{"TENANTSYNC_WEBHOOK_SECRET": long}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, long, c.WebhookSecret.Reveal())
	assert.Equal(t, 72*time.Hour, c.ChangeRetention)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", c, c, c), long, "printing the configuration shows no webhook secret")
	c, err = parseConfig([]string{"-webhook-url", "http://127.0.0.1:9000/hook"}, env(map[string]string{"TENANTSYNC_WEBHOOK_SECRET": long}), io.Discard)
	require.NoError(t, err, "http to a loopback receiver is allowed")
	assert.Equal(t, store.DefaultChangeRetention, c.ChangeRetention)
}
