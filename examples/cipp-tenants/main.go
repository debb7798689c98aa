// Command cipp-tenants lists the tenants a CIPP-API client can reach, with each tenant's user,
// mailbox and device counts.
//
// With no flags it starts the fake CIPP (and fake Entra ID) in-process with generated tenants,
// so it runs anywhere:
//
//	go run ./examples/cipp-tenants
//
// Against a real CIPP, pass the values of CIPP → Integrations → CIPP-API and the secret in the
// environment (or a file):
//
//	TENANTSYNC_CIPP_SECRET=... go run ./examples/cipp-tenants \
//		-cipp-url https://cipp-abc12.azurewebsites.net -cipp-tenant-id <partner tenant ID> -cipp-client-id <API client ID>
//
// The flags and the environment variable have the names syncd uses for the same settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cipp-tenants:", err)
		os.Exit(1)
	}
}

func run() error {
	baseURL := flag.String("cipp-url", "", "CIPP-API Function App URL (empty: run against the built-in fake)")
	tenantID := flag.String("cipp-tenant-id", "", "tenant ID of the CIPP API client's app registration")
	clientID := flag.String("cipp-client-id", "", "client ID of the CIPP API client")
	secretFile := flag.String("cipp-secret-file", "", "file holding the CIPP API client's secret (or set $TENANTSYNC_CIPP_SECRET)")
	seed := flag.Int64("seed", 1, "seed of the fake's generated tenants")
	tenants := flag.Int("tenants", 8, "number of the fake's generated tenants")
	timeout := flag.Duration("timeout", 10*time.Minute, "overall time limit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	cfg := cipp.Config{BaseURL: *baseURL, TenantID: *tenantID, ClientID: *clientID}
	if *baseURL == "" {
		srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: *seed, Tenants: *tenants, MinUsers: 5, MaxUsers: 40})
		if err != nil {
			return err
		}
		defer srv.Close()
		creds := srv.CIPPCredentials()
		cfg = cipp.Config{BaseURL: srv.CIPPURL(), TenantID: creds.TenantID, ClientID: creds.ClientID, Secret: creds.Secret,
			AuthorityHost: srv.EntraURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}}
		fmt.Printf("Using the built-in fake CIPP at %s (seed %d)\n\n", srv.CIPPURL(), *seed)
	} else {
		secret := os.Getenv("TENANTSYNC_CIPP_SECRET")
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return err
			}
			secret = strings.TrimSpace(string(b))
		}
		cfg.Secret = tenantsync.NewSecret(secret)
	}

	c, err := cipp.NewClient(cfg)
	if err != nil {
		return explain(err)
	}
	list, err := c.Tenants(ctx)
	if err != nil {
		return explain(err)
	}
	if len(list) == 0 {
		return errors.New(cipp.HintEmptyTenants)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tDEFAULT DOMAIN\tUSERS\tMAILBOXES\tDEVICES\t")
	for _, t := range list {
		users, uerr := count(c.ListUsers(ctx, t.CustomerID))
		mailboxes, merr := count(c.ListMailboxes(ctx, t.CustomerID))
		devices, derr := count(c.ListDevices(ctx, t.CustomerID))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", t.DisplayName, t.DefaultDomainName, show(users, uerr), show(mailboxes, merr), show(devices, derr))
		for _, e := range []error{uerr, merr, derr} {
			if e != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", t.DisplayName, e)
			}
		}
	}
	return tw.Flush()
}

// count drains an iterator; a failed listing has no count, never a smaller one.
func count[T any](seq iter.Seq2[T, error]) (int, error) {
	n := 0
	for _, err := range seq {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

func show(n int, err error) string {
	if err != nil {
		return "n/a"
	}
	return fmt.Sprint(n)
}

func explain(err error) error {
	if hint := tenantsync.HintOf(err); hint != "" && !strings.Contains(err.Error(), hint) {
		return fmt.Errorf("%w\nWhat to do: %s", err, hint)
	}
	return err
}
