package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// TestPartnerConnectInABrowser drives the partner connect page in headless Chromium against the
// fake Entra ID: from the console's Connect button through the sign-in to the callback page
// listing the Partner Center customers, the bulk consent with one result per customer, and
// each way a connection fails, shown with its message and what to do.
func TestPartnerConnectInABrowser(t *testing.T) {
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
	srv := &http.Server{Handler: con.handler(td.d.connectRoutes(a, a.routes())), ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	// The fake Entra ID serves TLS under its own CA, which this Chromium does not know.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.Flag("headless", true),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1200, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	require.NoError(t, chromedp.Do(ctx), "start %s", chrome)

	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancelStep := context.WithTimeout(ctx, time.Minute)
		err := chromedp.Do(stepCtx, steps...)
		cancelStep()
		if err == nil {
			return
		}
		evalCtx, cancelEval := context.WithTimeout(ctx, 10*time.Second)
		page, perr := chromedp.Run(evalCtx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 3000)`))
		cancelEval()
		t.Fatalf("%s: %v\nthe browser shows (%v):\n%s", what, err, perr, page)
	}
	// signIn starts a connection from the console and follows the sign-in link to the page the
	// callback shows.
	signIn := func(what string) {
		t.Helper()
		do(what,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(css("#connect")),
			chromedp.Click(css("#connect")),
			chromedp.WaitVisible(css("#sign-in")),
			chromedp.Click(css("#sign-in")),
			chromedp.WaitVisible(css("h1")),
		)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(loc, base+"/connect/callback?"), "%s: Entra ID sent the browser back: %s", what, loc)
	}

	do("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), td.actors.tokens["alice"]),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#partner-state")),
	)

	// Sign in, see the customers, consent across them.
	signIn("connect")
	assert.Contains(t, text("#signed-in"), "Signed in as admin@")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#customers tr").length - 1`))
	require.NoError(t, err)
	require.Positive(t, rows, "Partner Center's customers are listed")
	customers := text("#customers")
	for _, tn := range td.d.fake.Tenants() {
		if tn.InPartnerCenter {
			assert.Contains(t, customers, tn.ID, "customer %s is listed", tn.DisplayName)
		}
	}
	do("the customers", shot("connect-customers.png"))
	do("consent",
		chromedp.Click(css("#consent")),
		chromedp.WaitVisible(css("#summary")),
		shot("connect-consent.png"),
	)
	assert.Contains(t, text("#summary"), "consented")
	results, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#consents tr").length - 1`))
	require.NoError(t, err)
	assert.Equal(t, rows, results, "one consent result per customer")

	// The console shows the connection, under the partner admin who signed in.
	do("back to the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#partner-state")))
	assert.Contains(t, text("#partner-state"), "connected as admin@")

	// Each failure, as the person sees it.
	for _, tc := range []struct {
		name    string
		outcome tenantsynctest.SignInOutcome
		says    string
	}{
		{"consent declined", tenantsynctest.SignInDeclined, "were declined"},
		{"MFA not satisfied", tenantsynctest.SignInMFARequired, "did not complete it"},
		{"no refresh token", tenantsynctest.SignInNoRefreshToken, "Microsoft did not provide a refresh token"},
		{"not in the partner tenant", tenantsynctest.SignInGuest, "does not belong to the partner tenant"},
		{"lacks Admin Agent", tenantsynctest.SignInNotAdminAgent, "Admin Agent role"},
		{"Partner Center requires MFA", tenantsynctest.SignInWithoutMFA, "requires multifactor authentication"},
	} {
		require.NoError(t, td.d.fake.SetSignInOutcome(tc.outcome))
		signIn(tc.name)
		assert.Equal(t, "The partner connection did not complete", text("h1"), tc.name)
		shown := text("#error") + "\n" + text("#hint")
		assert.Contains(t, shown, tc.says, tc.name)
		assert.Contains(t, text("#hint"), "What to do:", tc.name)
		assert.Equal(t, 1, strings.Count(shown, "What to do:"), "%s: the hint is shown once:\n%s", tc.name, shown)
		if tc.outcome == tenantsynctest.SignInNoRefreshToken {
			do(tc.name, shot("connect-no-refresh-token.png"))
		}
	}
	require.NoError(t, td.d.fake.SetSignInOutcome(tenantsynctest.SignInApprove))

	var requested, failed int
	for _, e := range td.auditEntries(t) {
		if e.Action != "partner-connect" {
			continue
		}
		assert.Equal(t, "alice", e.Actor, "the console's actor connects")
		switch e.Outcome {
		case "requested":
			requested++
		case "failed":
			failed++
		}
	}
	assert.Equal(t, 7, requested, "one sign-in link per attempt")
	assert.Equal(t, 6, failed, "each failure audited")
}
