// Command fakeserver runs tenantsync's fake Entra ID, CIPP-API, Microsoft Graph and Partner
// Center as a standalone process, so a PSA's own integration tests, in any language, can run
// against generated customer tenants without Microsoft.
//
//	go run ./examples/fakeserver -seed 1 -tenants 25
//
// It prints the base URL of each service, the path of the CA certificate every listener's TLS
// certificate chains to, demo credentials (a CIPP API client, the partner's multi-tenant app and
// a Secure Application Model refresh token) and ready-to-paste curl commands, then serves until
// interrupted. With -cipp-recorded, CIPP also lists contoso.com and answers for it with the
// responses recorded in cipp/testdata, for tests that compare against fixed bodies. The same seed gives the same tenants and the same client IDs and secrets; the
// ports change from run to run, so read them from the output or from -env-file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	opts          tenantsynctest.ServerOptions
	caFile        string
	caFileDefault bool
	envFile       string
	faultRate     float64
	faultKind     tenantsynctest.HTTPFaultKind
	faultServices []tenantsynctest.ServiceName
	faultRetry    time.Duration
	faultStatus   int
	faultDelay    time.Duration
	cippRecorded  bool
}

func parseFlags(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("fakeserver", flag.ContinueOnError)
	fs.SetOutput(out)
	c := &config{}
	seed := fs.Int64("seed", 1, "seed of the generated world: the same seed gives the same tenants and credentials")
	tenants := fs.Int("tenants", 25, "number of customer tenants")
	sizes := fs.String("sizes", "", "comma-separated user counts of the first tenants, e.g. 10000,500")
	minUsers := fs.Int("min-users", 5, "fewest users of the other tenants")
	maxUsers := fs.Int("max-users", 60, "most users of the other tenants")
	latency := fs.Duration("latency", 0, "latency added to every request")
	lifetime := fs.Duration("token-lifetime", 3599*time.Second, "lifetime of issued access tokens")
	fs.StringVar(&c.caFile, "ca-file", "", "where to write the CA certificate (PEM); default: a file in the temporary directory, removed on exit")
	fs.StringVar(&c.envFile, "env-file", "", "also write the URLs, CA path and credentials to this file as KEY=value lines")
	fs.Float64Var(&c.faultRate, "fault-rate", 0, "share of requests (0 to 1) to the faulted services that get -fault-kind")
	kind := fs.String("fault-kind", string(tenantsynctest.HTTPThrottle), "fault to inject: throttle, server-error, latency, drop, truncate, hang")
	services := fs.String("fault-services", "cipp,graph,partnercenter", "comma-separated services the faults apply to (entra, cipp, graph, partnercenter)")
	retry := fs.String("fault-retry-after", "1", "Retry-After of throttle and server-error faults, in seconds (e.g. 1 or 2.5; \"\" for none)")
	fs.IntVar(&c.faultStatus, "fault-status", 0, "status of throttle (default 429) and server-error (default 503) faults")
	fs.DurationVar(&c.faultDelay, "fault-delay", 500*time.Millisecond, "delay of latency faults")
	fs.BoolVar(&c.cippRecorded, "cipp-recorded", false, "add the recorded tenant "+tenantsynctest.CIPPRecordedDomain+
		" to CIPP, answering with the recorded responses of tenantsync's cipp/testdata byte for byte")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *tenants < 1 {
		return nil, fmt.Errorf("-tenants must be at least 1, got %d", *tenants)
	}
	if *minUsers < 0 || *maxUsers < *minUsers {
		return nil, fmt.Errorf("-min-users and -max-users must satisfy 0 <= min <= max, got %d and %d", *minUsers, *maxUsers)
	}
	if c.faultRate < 0 || c.faultRate > 1 {
		return nil, fmt.Errorf("-fault-rate must be between 0 and 1, got %g", c.faultRate)
	}
	if *lifetime <= 0 {
		return nil, fmt.Errorf("-token-lifetime must be positive, got %s", *lifetime)
	}
	if r := strings.TrimSpace(*retry); r != "" {
		secs, err := strconv.ParseFloat(r, 64)
		if err != nil || secs < 0 || secs > 86400 {
			return nil, fmt.Errorf("-fault-retry-after %q is not a number of seconds between 0 and 86400", *retry)
		}
		c.faultRetry = time.Duration(secs * float64(time.Second))
	}
	c.faultKind = tenantsynctest.HTTPFaultKind(*kind)
	switch c.faultKind {
	case tenantsynctest.HTTPThrottle, tenantsynctest.HTTPServerError, tenantsynctest.HTTPLatency,
		tenantsynctest.HTTPDrop, tenantsynctest.HTTPTruncate, tenantsynctest.HTTPHang:
	default:
		return nil, fmt.Errorf("-fault-kind %q is not one of throttle, server-error, latency, drop, truncate, hang", *kind)
	}
	for _, s := range strings.Split(*services, ",") {
		s = strings.TrimSpace(s)
		switch svc := tenantsynctest.ServiceName(s); svc {
		case "":
		case tenantsynctest.ServiceEntra, tenantsynctest.ServiceCIPP, tenantsynctest.ServiceGraph, tenantsynctest.ServicePartnerCenter:
			c.faultServices = append(c.faultServices, svc)
		default:
			return nil, fmt.Errorf("-fault-services: unknown service %q (entra, cipp, graph, partnercenter)", s)
		}
	}
	var sz []int
	for _, f := range strings.Split(*sizes, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-sizes: %q is not a user count", f)
		}
		sz = append(sz, n)
	}
	c.opts = tenantsynctest.ServerOptions{
		Seed: *seed, Tenants: *tenants, Sizes: sz, MinUsers: *minUsers, MaxUsers: *maxUsers,
		Latency: *latency, TokenLifetime: *lifetime,
	}
	c.caFileDefault = c.caFile == ""
	return c, nil
}

// run starts the fakes, prints how to reach them and serves until ctx ends.
func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	srv, err := tenantsynctest.NewServer(c.opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	if c.caFileDefault {
		f, err := os.CreateTemp("", "tenantsync-fakeserver-*-ca.pem")
		if err != nil {
			return fmt.Errorf("creating the CA certificate file: %w", err)
		}
		f.Close()
		c.caFile = f.Name()
		defer os.Remove(c.caFile)
	}
	if err := os.WriteFile(c.caFile, srv.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("writing the CA certificate: %w", err)
	}
	srv.ServeCIPPRecorded(c.cippRecorded)
	// The banner counts what CIPP's ListTenants answers, asked through tenantsync's CIPP
	// client before any fault is injected, so the figure is the one a client sees.
	listed, err := countCIPPTenants(ctx, srv)
	if err != nil {
		return err
	}
	if c.faultRate > 0 {
		for _, s := range c.faultServices {
			if _, err := srv.InjectHTTPFault(tenantsynctest.HTTPFault{
				Service: s, Kind: c.faultKind, Rate: c.faultRate, Status: c.faultStatus,
				RetryAfter: c.faultRetry, Delay: c.faultDelayFor(),
			}); err != nil {
				return err
			}
		}
	}
	vals := values(srv, c)
	if c.envFile != "" {
		if err := writeEnv(c.envFile, vals); err != nil {
			return err
		}
	}
	printBanner(out, srv, c, listed, vals)

	<-ctx.Done()
	fmt.Fprintln(out, "Stopping.")
	return nil
}

func (c *config) faultDelayFor() time.Duration {
	if c.faultKind == tenantsynctest.HTTPLatency {
		return c.faultDelay
	}
	return 0
}

// values are the facts a client needs, by environment variable name. The settings syncd and
// cipp-tenants also take have the names they read (TENANTSYNC_CIPP_SECRET, ...); the ones only
// a client of the fake needs (its CA, the Entra, Graph and Partner Center URLs) say FAKE.
func values(srv *tenantsynctest.Server, c *config) map[string]string {
	cipp, partner := srv.CIPPCredentials(), srv.PartnerApp()
	return map[string]string{
		"TENANTSYNC_FAKE_CA_FILE":           c.caFile,
		"TENANTSYNC_FAKE_ENTRA_URL":         srv.EntraURL(),
		"TENANTSYNC_CIPP_URL":               srv.CIPPURL(),
		"TENANTSYNC_FAKE_GRAPH_URL":         srv.GraphURL(),
		"TENANTSYNC_FAKE_PARTNERCENTER_URL": srv.PartnerCenterURL(),
		"TENANTSYNC_CIPP_TENANT_ID":         cipp.TenantID,
		"TENANTSYNC_CIPP_CLIENT_ID":         cipp.ClientID,
		"TENANTSYNC_CIPP_SECRET":            cipp.Secret.Reveal(),
		"TENANTSYNC_FAKE_CIPP_SCOPE":        "api://" + cipp.ClientID + "/.default",
		"TENANTSYNC_PARTNER_TENANT_ID":      partner.TenantID,
		"TENANTSYNC_PARTNER_CLIENT_ID":      partner.ClientID,
		"TENANTSYNC_PARTNER_SECRET":         partner.Secret.Reveal(),
		"TENANTSYNC_PARTNER_REFRESH_TOKEN":  srv.PartnerRefreshToken().Reveal(),
	}
}

func writeEnv(path string, vals map[string]string) error {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, vals[k])
	}
	// The file holds the demo secrets: readable by the owner only.
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing -env-file: %w", err)
	}
	return nil
}

// countCIPPTenants asks the fake CIPP's ListTenants, through tenantsync's CIPP client, how many
// tenants it lists.
func countCIPPTenants(ctx context.Context, srv *tenantsynctest.Server) (int, error) {
	client, err := cipp.NewClient(srv.CIPPConfig())
	if err != nil {
		return 0, err
	}
	tenants, err := client.ListTenants(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing the fake CIPP's tenants: %w", err)
	}
	return len(tenants), nil
}

func printBanner(out io.Writer, srv *tenantsynctest.Server, c *config, listed int, v map[string]string) {
	tenants := srv.Tenants()
	fmt.Fprintf(out, "tenantsync fake server: seed %d, %d customer tenants (%d listed by CIPP's ListTenants), partner %q\n\n",
		c.opts.Seed, len(tenants), listed, srv.PartnerName())
	fmt.Fprintf(out, "CA certificate:   %s\n", v["TENANTSYNC_FAKE_CA_FILE"])
	fmt.Fprintf(out, "Entra ID:         %s   (authority: <url>/<tenant>)\n", v["TENANTSYNC_FAKE_ENTRA_URL"])
	fmt.Fprintf(out, "CIPP-API:         %s   (endpoints under /api/)\n", v["TENANTSYNC_CIPP_URL"])
	fmt.Fprintf(out, "Microsoft Graph:  %s   (append /v1.0 or /beta)\n", v["TENANTSYNC_FAKE_GRAPH_URL"])
	fmt.Fprintf(out, "Partner Center:   %s   (paths start with /v1/)\n\n", v["TENANTSYNC_FAKE_PARTNERCENTER_URL"])

	fmt.Fprintln(out, "CIPP API client (admin role):")
	fmt.Fprintf(out, "  tenant ID:      %s\n", v["TENANTSYNC_CIPP_TENANT_ID"])
	fmt.Fprintf(out, "  client ID:      %s\n", v["TENANTSYNC_CIPP_CLIENT_ID"])
	fmt.Fprintf(out, "  client secret:  %s\n", v["TENANTSYNC_CIPP_SECRET"])
	fmt.Fprintf(out, "  scope:          %s\n\n", v["TENANTSYNC_FAKE_CIPP_SCOPE"])
	fmt.Fprintln(out, "Partner app (multi-tenant; Graph and Partner Center):")
	fmt.Fprintf(out, "  tenant ID:      %s\n", v["TENANTSYNC_PARTNER_TENANT_ID"])
	fmt.Fprintf(out, "  client ID:      %s\n", v["TENANTSYNC_PARTNER_CLIENT_ID"])
	fmt.Fprintf(out, "  client secret:  %s\n", v["TENANTSYNC_PARTNER_SECRET"])
	fmt.Fprintf(out, "  refresh token:  %s\n", v["TENANTSYNC_PARTNER_REFRESH_TOKEN"])
	fmt.Fprintln(out, "  (the refresh token rotates: store the refresh_token of each response)")
	fmt.Fprintln(out)
	if c.cippRecorded {
		fmt.Fprintf(out, "Recorded CIPP tenant: %s (%s), answered from cipp/testdata\n\n", tenantsynctest.CIPPRecordedDomain, tenantsynctest.CIPPRecordedTenantID)
	}
	if c.faultRate > 0 {
		fmt.Fprintf(out, "Faults: %s on %.0f%% of requests to %s\n\n", c.faultKind, c.faultRate*100, joinServices(c.faultServices))
	}
	if c.envFile != "" {
		fmt.Fprintf(out, "Environment file: %s\n\n", c.envFile)
	}

	fmt.Fprintln(out, "Try it:")
	fmt.Fprintf(out, "  TOKEN=$(curl -sS --cacert %s %s/%s/oauth2/v2.0/token -d grant_type=client_credentials -d client_id=%s --data-urlencode 'client_secret=%s' --data-urlencode 'scope=%s' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n",
		v["TENANTSYNC_FAKE_CA_FILE"], v["TENANTSYNC_FAKE_ENTRA_URL"], v["TENANTSYNC_CIPP_TENANT_ID"],
		v["TENANTSYNC_CIPP_CLIENT_ID"], v["TENANTSYNC_CIPP_SECRET"], v["TENANTSYNC_FAKE_CIPP_SCOPE"])
	fmt.Fprintf(out, "  curl -sS --cacert %s -H \"Authorization: Bearer $TOKEN\" %s/api/ListTenants\n\n", v["TENANTSYNC_FAKE_CA_FILE"], v["TENANTSYNC_CIPP_URL"])
	if len(tenants) > 0 {
		// Tenant 0 is always consented, so the partner app gets an app-only Graph token there.
		t := tenants[0]
		fmt.Fprintf(out, "Graph for %s (%s), app-only with the partner app:\n", t.DisplayName, t.ID)
		fmt.Fprintf(out, "  GTOKEN=$(curl -sS --cacert %s %s/%s/oauth2/v2.0/token -d grant_type=client_credentials -d client_id=%s --data-urlencode 'client_secret=%s' --data-urlencode 'scope=https://graph.microsoft.com/.default' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n",
			v["TENANTSYNC_FAKE_CA_FILE"], v["TENANTSYNC_FAKE_ENTRA_URL"], t.ID, v["TENANTSYNC_PARTNER_CLIENT_ID"], v["TENANTSYNC_PARTNER_SECRET"])
		fmt.Fprintf(out, "  curl -sS --cacert %s -H \"Authorization: Bearer $GTOKEN\" '%s/v1.0/users?$top=5'\n\n", v["TENANTSYNC_FAKE_CA_FILE"], v["TENANTSYNC_FAKE_GRAPH_URL"])
	}
	fmt.Fprintln(out, "Ready. Press Ctrl+C to stop.")
}

func joinServices(svcs []tenantsynctest.ServiceName) string {
	names := make([]string, len(svcs))
	for i, s := range svcs {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
