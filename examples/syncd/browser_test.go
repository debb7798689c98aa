package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// chromePath returns the Chromium the browser test drives: $CHROME_PATH, else Debian's
// chromium package. Without one the test skips, except under CI=true, where a missing browser
// means the machine was not set up (.ci/run installs it) and the test fails.
func chromePath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROME_PATH")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("no Chromium at %s (%v): install Debian's chromium package (apt-get install chromium) or set CHROME_PATH", path, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// screenshotDir is where the browser test saves its screenshots: $SYNCD_SCREENSHOTS when set
// (e.g. testdata/screenshots to look at them), else a temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SYNCD_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestConsoleInABrowser drives headless Chromium through the console as a person would: log
// in with a token, accept a tenant-to-client suggestion, watch the initial sync finish in the
// live progress, resolve the review it queued, and find the resolution in the audit log.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	chrome := chromePath(t)
	shots := screenshotDir(t)
	td := newTestDaemon(t, nil)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a, err := td.d.api(ln.Addr())
	require.NoError(t, err)
	con, err := newConsole(a)
	require.NoError(t, err)
	srv := &http.Server{Handler: con.handler(a.routes()), ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	// The tenant whose best suggestion is its own demo client, with a duplicate contact the
	// initial sync cannot settle alone.
	tenantID, clientName := suggestedTenant(t, td, "client-001")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.Flag("headless", true),
		chromedp.WindowSize(1400, 1000))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	// Start the browser on ctx itself: a step's shorter context would take it down on return.
	require.NoError(t, chromedp.Do(ctx), "start %s", chrome)

	shot := func(name, sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel), chromedp.NodeVisible))
			if err != nil {
				return err
			}
			path := filepath.Join(shots, name)
			t.Logf("screenshot %s", path)
			return os.WriteFile(path, png, 0o644)
		})
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		require.NoError(t, err, sel)
		return s
	}
	// do runs steps; on failure it shows the page the browser is on.
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancelStep := context.WithTimeout(ctx, time.Minute)
		err := chromedp.Do(stepCtx, steps...)
		cancelStep()
		if err == nil {
			return
		}
		evalCtx, cancelEval := context.WithTimeout(ctx, 10*time.Second)
		page, perr := chromedp.Run(evalCtx, chromedp.Evaluate[string](`location.href + "\n" + (document.querySelector("#flash") || {}).innerText + "\n" + document.body.innerText.slice(0, 3000)`))
		cancelEval()
		if len(page) > 4000 {
			page = page[:4000]
		}
		t.Fatalf("%s: %v\nthe browser shows (%v):\n%s", what, err, perr, page)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	// Log in: the console sends a browser without a session to the form.
	do("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), td.actors.tokens["alice"]),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#actor")),
	)
	assert.Equal(t, "alice", text("#actor"))
	assert.Contains(t, text("#tenants"), "GDAP readiness")
	do("screenshot the tenants", shot("tenants-readiness.png", "#tenants"))

	// Accept the suggestion: the tenant is linked and its initial sync starts.
	form := fmt.Sprintf(`form.suggestion[data-tenant=%q]`, tenantID)
	do("accept the suggestion",
		chromedp.ScrollIntoView(css(form)),
		shot("suggestion.png", form),
		chromedp.Click(css(form+" button.accept")),
		chromedp.WaitVisible(css("#flash")),
	)
	assert.Contains(t, text("#flash"), "its initial sync has started")
	assert.Contains(t, text("#flash"), clientName)

	// The progress section updates itself (no reload) until the sync has finished.
	pollCtx, cancelPoll := context.WithTimeout(ctx, time.Minute)
	_, err = chromedp.Run(pollCtx, chromedp.Poll[bool](
		`document.getElementById("progress-live").hasAttribute("data-updated") &&
		 document.getElementById("progress-live").textContent.includes("1 of 1 linked tenants synced")`,
		chromedp.WithPollingInterval(200*time.Millisecond)))
	cancelPoll()
	if err != nil {
		st, serr := td.d.engine.Status(context.WithoutCancel(t.Context()), tenantID)
		t.Logf("status: running=%v %+v %v", st.Running, st.State, serr)
		evalCtx, cancelEval := context.WithTimeout(ctx, 5*time.Second)
		shown, eerr := chromedp.Run(evalCtx, chromedp.Evaluate[string](`document.getElementById("progress-live").outerHTML`))
		cancelEval()
		t.Fatalf("the live progress does not show the finished sync: %v\nshown: %s %v", err, shown, eerr)
	}
	assert.Contains(t, text("#progress-live"), "synced")

	// The sync made the client's assets from the tenant's devices: the console lists them.
	assets, err := td.d.engine.ClientAssets(context.WithoutCancel(t.Context()), "client-001")
	require.NoError(t, err)
	require.NotEmpty(t, assets, "the demo syncs devices into assets")
	slices.SortFunc(assets, func(a, b tenantsync.Asset) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	clientAssets := `div.client-assets[data-client="client-001"]`
	do("open the assets",
		chromedp.Navigate(base+"/"),
		chromedp.ScrollIntoView(css("#assets")),
		chromedp.WaitVisible(css(clientAssets+" tr.asset")),
		shot("assets.png", clientAssets),
	)
	shown := text(clientAssets)
	assert.Contains(t, shown, clientName)
	assert.Contains(t, shown, fmt.Sprintf("%d in service", len(assets)))
	first := fmt.Sprintf(`tr.asset[data-asset=%q]`, assets[0].ID)
	assert.Contains(t, text(clientAssets+" "+first), assets[0].Name)
	assert.Contains(t, text(clientAssets+" "+first), assets[0].SerialNumber)

	// The sync queued the duplicate contact's user for a person: resolve it by linking the
	// first candidate.
	open, err := td.d.store.Account(td.d.cfg.Account).Reviews.List(context.WithoutCancel(t.Context()), store.ReviewFilter{TenantID: tenantID})
	require.NoError(t, err)
	require.NotEmpty(t, open, "the demo's duplicate contact makes a review")
	rv := open[0]
	u, err := td.d.store.Account(td.d.cfg.Account).Mirror.GetUser(context.WithoutCancel(t.Context()), tenantID, rv.ObjectID)
	require.NoError(t, err)
	reviewForm := fmt.Sprintf(`form.review[data-review=%q]`, rv.ID)
	do("open the review queue",
		// Not "/#reviews": from "/#progress" that is a jump within the page, not a reload.
		chromedp.Navigate(base+"/"),
		chromedp.ScrollIntoView(css("#reviews")),
		chromedp.WaitVisible(css(reviewForm)),
	)
	card := text(reviewForm)
	assert.Contains(t, card, u.DisplayName, "the review names the user")
	assert.Contains(t, card, u.UserPrincipalName)
	do("resolve the review",
		shot("review-queue.png", "#reviews"),
		chromedp.Click(css(reviewForm+` input[value^="link:"]`)),
		chromedp.Click(css(reviewForm+" button.resolve")),
		chromedp.WaitVisible(css("#flash")),
	)
	assert.Contains(t, text("#flash"), "Review resolved")

	// The audit log shows the resolution under alice, and the chain verifies.
	do("open the audit log",
		chromedp.Navigate(base+"/"),
		chromedp.ScrollIntoView(css("#audit")),
		chromedp.WaitVisible(css(`tr.audit-entry[data-action="resolve_review"]`)),
		shot("audit.png", "#audit"),
	)
	row := text(`tr.audit-entry[data-action="resolve_review"]`)
	assert.Contains(t, row, "alice")
	assert.Contains(t, row, "succeeded")
	assert.Contains(t, text(`tr.audit-entry[data-action="link"]`), "alice")
	assert.Contains(t, text("#audit-verify"), "chain intact")

	// Log out: the console is closed again.
	do("log out",
		chromedp.Click(css("#logout")),
		chromedp.WaitVisible(css("#token")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(loc, "/login?out"), loc)
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the browser test ran out of time")
	}
}
