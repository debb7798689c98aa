package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// config is everything the daemon reads from flags and the environment. Secrets come only from
// the environment or from files, never from flags, so they stay out of shell history and ps, and
// they are read straight into a tenantsync.Secret, so printing or logging a config shows none.
type config struct {
	DataDir       string
	Listen        string
	Account       string
	Postgres      tenantsync.Secret // DSN, which may hold the database password; zero means the embedded SQLite store
	KeyFile       string            // 32-byte key (raw or base64) sealing stored secrets; created in DataDir when empty
	Demo          bool              // start the fake services in-process
	DemoTenants   int
	DemoSeed      int64
	DemoHugeUsers int
	WritesEnabled bool
	DryRun        bool
	AutoCreate    bool
	// Assets syncs the linked tenants' devices into their clients' assets (the store's asset
	// directory stands in for the PSA's configuration items), for the clients whose settings
	// do not say otherwise.
	Assets  bool
	Writers []string // actors holding m365.write
	// Managers are the actors holding m365.manage (link, unlink, reviews, hold releases,
	// contact-failure decisions, settings, partner connect, disconnect); nil grants it to
	// every actor that holds a token.
	Managers          []string
	SyncUnlinkedUsers bool   // mirror the users of tenants linked to no client
	ActorsFile        string // "name:token" lines: who may call the API besides admin
	Quiet             time.Duration
	Active            time.Duration
	Concurrency       int
	// PSACallsPerSecond and PSACallsPerSync bound the calls to the PSA's contact directory.
	PSACallsPerSecond float64
	PSACallsPerSync   int
	// MaxCreatesPerSync caps the contacts one tenant sync creates.
	MaxCreatesPerSync int
	NoProgress        bool
	// ShowVersion is -version: print the version and exit.
	ShowVersion bool
	// WebhookURL receives the change feed as signed POSTs, with WebhookSecret as the HMAC key;
	// ChangeRetention is how long the store keeps the feed.
	WebhookURL      string
	WebhookSecret   tenantsync.Secret
	ChangeRetention time.Duration

	CIPP    cippConfig
	Partner partnerConfig

	// ProfileWriteBack turns on the profile write-back workflow (with -writes).
	ProfileWriteBack bool
}

type cippConfig struct {
	URL      string
	TenantID string
	ClientID string
	Secret   tenantsync.Secret
}

type partnerConfig struct {
	TenantID     string
	ClientID     string
	Secret       tenantsync.Secret
	RefreshToken tenantsync.Secret
	// CloudName (-partner-cloud) names the Microsoft cloud the partner and its customers live
	// in; Cloud is that cloud once the configuration is checked.
	CloudName string
	Cloud     entra.Cloud
}

func (c cippConfig) set() bool    { return c.URL != "" || c.ClientID != "" || c.TenantID != "" }
func (p partnerConfig) set() bool { return p.ClientID != "" || p.TenantID != "" }

const usageHead = `syncd: the tenantsync evaluation daemon.

With no flags it starts fake CIPP, Graph, Partner Center and Entra ID services in-process with
about 25 demo tenants, opens an SQLite store in a data directory, links the tenants to demo
clients and keeps them in sync, serving a JSON API on localhost.

Pointed at real services, it reads every secret from the environment or from a file, never
from a flag:

  CIPP-API:       -cipp-url, -cipp-tenant-id, -cipp-client-id; secret in $TENANTSYNC_CIPP_SECRET
                  or the file named by -cipp-secret-file
  Partner app:    -partner-tenant-id, -partner-client-id; secret in $TENANTSYNC_PARTNER_SECRET or
  (Graph + GDAP)  -partner-secret-file; optional SAM refresh token in $TENANTSYNC_PARTNER_REFRESH_TOKEN
                  or -partner-refresh-token-file
  PostgreSQL:     $TENANTSYNC_POSTGRES or -postgres-file (a file holding the DSN)

The API needs a token on every call but /healthz (Authorization: Bearer <token>). The install
token is created in <data-dir>/api-token on first start and authenticates the actor admin;
-actors-file gives other people (or programs) tokens of their own, one "name:token" per line.

Every flag can also be set as an environment variable: -cipp-url is $TENANTSYNC_CIPP_URL.

Flags:
`

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseConfig reads flags from args and the environment through getenv.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var cippSecretFile, partnerSecretFile, partnerRTFile, pgFile, writers, managers, webhookSecretFile string
	fs := flag.NewFlagSet("syncd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.DataDir, "data-dir", "tenantsync-data", "directory for the SQLite store and the secret key (created if missing)")
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8765", "address of the HTTP API (keep it on loopback)")
	fs.StringVar(&c.Account, "account", "demo-msp", "account (MSP) ID this daemon serves")
	fs.StringVar(&c.KeyFile, "key-file", "", "file holding the 32-byte key that seals stored secrets (default: <data-dir>/secret.key, created)")
	fs.StringVar(&pgFile, "postgres-file", "", "file holding a PostgreSQL DSN (or set $TENANTSYNC_POSTGRES); default is the embedded SQLite store")
	fs.BoolVar(&c.Demo, "demo", true, "start fake services with demo tenants when no real service is configured")
	fs.IntVar(&c.DemoTenants, "demo-tenants", 25, "number of demo tenants")
	fs.Int64Var(&c.DemoSeed, "demo-seed", 1, "seed of the demo tenants")
	fs.IntVar(&c.DemoHugeUsers, "demo-huge-users", 10500, "users in the largest demo tenant")
	fs.BoolVar(&c.WritesEnabled, "writes", false, "enable write actions (block sign-in, password reset, ...)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "audit write actions without calling out")
	fs.BoolVar(&c.ProfileWriteBack, "profile-writeback", false, "allow the profile write-back workflow (phones, job title, department, office), with -writes")
	fs.BoolVar(&c.AutoCreate, "auto-create", true, "create PSA contacts for unmatched people")
	fs.BoolVar(&c.Assets, "assets", true, "sync each linked tenant's devices into its client's assets (create, update, retire, bring back) unless the client's settings turn it off")
	fs.StringVar(&writers, "writers", "", "comma-separated actors holding the m365.write permission: admin (the install token) or names from -actors-file")
	fs.StringVar(&managers, "managers", "", "comma-separated actors holding the m365.manage permission (link, unlink, reviews, hold releases, contact-failure decisions, settings, partner connect, disconnect): admin or names from -actors-file; empty grants it to every actor")
	fs.BoolVar(&c.SyncUnlinkedUsers, "sync-unlinked-users", false, "also mirror the users of tenants linked to no client (no contacts are written for them)")
	fs.StringVar(&c.ActorsFile, "actors-file", "", "file (mode 0600) of API callers, one \"name:token\" per line; the token authenticates the actor, the install token in <data-dir>/api-token is admin")
	fs.DurationVar(&c.Quiet, "quiet-interval", time.Hour, "sync interval of quiet clients")
	fs.DurationVar(&c.Active, "active-interval", 10*time.Minute, "sync interval of active clients")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "tenants synced at once")
	fs.Float64Var(&c.PSACallsPerSecond, "psa-calls-per-second", 0, "calls per second to the PSA's contact directory, shared by every tenant (0: the engine's default)")
	fs.IntVar(&c.PSACallsPerSync, "psa-calls-per-sync", 0, "PSA contact writes one tenant sync may make, and asset writes apart; the rest wait for the next syncs and show as pending (0: the engine's default, 1000)")
	fs.IntVar(&c.MaxCreatesPerSync, "max-creates-per-sync", sync.DefaultMaxCreatesPerSync, "PSA contacts one tenant sync may create, so a matching fault cannot flood the PSA; the rest come at the next syncs (GET /api/tenants/{id} shows sync.contactCreation, POST /api/tenants/{id}/contacts/create-remaining creates them now). Every create is a PSA call: -psa-calls-per-sync must allow as many")
	fs.BoolVar(&c.NoProgress, "no-progress", false, "plain log lines even on a terminal")
	fs.BoolVar(&c.ShowVersion, "version", false, "print the tenantsync version and exit")
	fs.StringVar(&c.WebhookURL, "webhook-url", "", "endpoint that receives the change feed as signed POSTs (https; http only on loopback); the HMAC secret is $TENANTSYNC_WEBHOOK_SECRET or -webhook-secret-file")
	fs.StringVar(&webhookSecretFile, "webhook-secret-file", "", "file holding the webhook signing secret (or set $TENANTSYNC_WEBHOOK_SECRET)")
	fs.DurationVar(&c.ChangeRetention, "change-retention", store.DefaultChangeRetention, "how long the change feed (GET /api/changes, webhooks) keeps changes; a consumer further behind must resync")
	fs.StringVar(&c.CIPP.URL, "cipp-url", "", "CIPP-API Function App URL (https://<app>.azurewebsites.net)")
	fs.StringVar(&c.CIPP.TenantID, "cipp-tenant-id", "", "tenant ID of the CIPP API client's app registration")
	fs.StringVar(&c.CIPP.ClientID, "cipp-client-id", "", "client ID of the CIPP API client")
	fs.StringVar(&cippSecretFile, "cipp-secret-file", "", "file holding the CIPP API client's secret (or set $TENANTSYNC_CIPP_SECRET)")
	fs.StringVar(&c.Partner.TenantID, "partner-tenant-id", "", "partner (MSP) tenant ID of the Graph app")
	fs.StringVar(&c.Partner.ClientID, "partner-client-id", "", "client ID of the partner's multi-tenant app")
	fs.StringVar(&c.Partner.CloudName, "partner-cloud", "global", "the partner's Microsoft cloud: global (commercial and GCC), usgov-high (GCC High), usgov-dod (DoD) or china (21Vianet)")
	fs.StringVar(&partnerSecretFile, "partner-secret-file", "", "file holding the partner app's secret (or set $TENANTSYNC_PARTNER_SECRET)")
	fs.StringVar(&partnerRTFile, "partner-refresh-token-file", "", "file holding a partner admin's refresh token (or set $TENANTSYNC_PARTNER_REFRESH_TOKEN)")

	// Environment first, flags override.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "TENANTSYNC_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("$%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: every setting is a flag (see -help)", fs.Arg(0))
	}
	if c.ShowVersion {
		return c, nil // nothing else is read: -version answers whatever the rest says
	}
	for _, w := range strings.Split(writers, ",") {
		if w = strings.TrimSpace(w); w != "" {
			c.Writers = append(c.Writers, w)
		}
	}
	for _, m := range strings.Split(managers, ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.Managers = append(c.Managers, m)
		}
	}
	var err error
	if c.CIPP.Secret, err = secret(getenv, "TENANTSYNC_CIPP_SECRET", cippSecretFile); err != nil {
		return c, err
	}
	if c.Partner.Secret, err = secret(getenv, "TENANTSYNC_PARTNER_SECRET", partnerSecretFile); err != nil {
		return c, err
	}
	if c.Partner.RefreshToken, err = secret(getenv, "TENANTSYNC_PARTNER_REFRESH_TOKEN", partnerRTFile); err != nil {
		return c, err
	}
	if c.Postgres, err = secret(getenv, "TENANTSYNC_POSTGRES", pgFile); err != nil {
		return c, err
	}
	if c.WebhookSecret, err = secret(getenv, "TENANTSYNC_WEBHOOK_SECRET", webhookSecretFile); err != nil {
		return c, err
	}
	if c.CIPP.set() || c.Partner.set() {
		c.Demo = false
	}
	c.Partner.Cloud, _ = entra.CloudByName(c.Partner.CloudName) // validate reports an unknown name
	return c, c.validate()
}

// secret reads a secret from a file when one is named, else from the environment.
func secret(getenv func(string) string, env, file string) (tenantsync.Secret, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return tenantsync.Secret{}, fmt.Errorf("reading secret file for $%s: %v", env, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return tenantsync.Secret{}, fmt.Errorf("secret file %s is empty", file)
		}
		return tenantsync.NewSecret(v), nil
	}
	return tenantsync.NewSecret(strings.TrimSpace(getenv(env))), nil
}

func (c config) validate() error {
	var errs []error
	if c.Account == "" {
		errs = append(errs, errors.New("-account is empty: name the MSP account this daemon serves"))
	}
	if host, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("-listen %q is not host:port (e.g. 127.0.0.1:8765)", c.Listen))
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		errs = append(errs, fmt.Errorf("-listen %q is not a loopback address: the API has no TLS, keep it on 127.0.0.1", c.Listen))
	}
	if c.PSACallsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("-psa-calls-per-second %g: use 0 (the default) or a positive rate", c.PSACallsPerSecond))
	}
	if c.PSACallsPerSync < 0 {
		errs = append(errs, fmt.Errorf("-psa-calls-per-sync %d: use 0 (the default) or a positive count", c.PSACallsPerSync))
	}
	if c.MaxCreatesPerSync < 1 {
		errs = append(errs, fmt.Errorf("-max-creates-per-sync %d: use a positive count (default %d)", c.MaxCreatesPerSync, sync.DefaultMaxCreatesPerSync))
	} else if calls := cmp.Or(c.PSACallsPerSync, sync.DefaultPSACallsPerSync); c.MaxCreatesPerSync > calls {
		errs = append(errs, fmt.Errorf("-max-creates-per-sync %d is more than the %d PSA calls a sync may make: every create is a call, so set -psa-calls-per-sync to %d or more too",
			c.MaxCreatesPerSync, calls, c.MaxCreatesPerSync))
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("-concurrency %d: use 1 to 256", c.Concurrency))
	}
	if c.Quiet < time.Minute || c.Active < time.Minute {
		errs = append(errs, errors.New("-quiet-interval and -active-interval must be at least 1m"))
	}
	if c.CIPP.set() {
		errs = append(errs, checkURL("-cipp-url", c.CIPP.URL))
		errs = append(errs, checkUUID("-cipp-tenant-id", c.CIPP.TenantID, "the Directory (tenant) ID on the CIPP-API integration page"))
		errs = append(errs, checkUUID("-cipp-client-id", c.CIPP.ClientID, "the Application (client) ID of the CIPP API client"))
		if c.CIPP.Secret.IsZero() {
			errs = append(errs, errors.New("the CIPP API client's secret is missing: set $TENANTSYNC_CIPP_SECRET or -cipp-secret-file"))
		}
	}
	if _, err := entra.CloudByName(c.Partner.CloudName); err != nil {
		errs = append(errs, fmt.Errorf("-partner-cloud %q: %s", c.Partner.CloudName, tenantsync.HintOf(err)))
	} else if c.Demo && !strings.EqualFold(c.Partner.CloudName, string(entra.CloudGlobal)) {
		errs = append(errs, errors.New("-partner-cloud applies to a real partner app: the demo's fake services are the global cloud's"))
	}
	if c.Partner.set() {
		errs = append(errs, checkUUID("-partner-tenant-id", c.Partner.TenantID, "your partner tenant's ID"))
		errs = append(errs, checkUUID("-partner-client-id", c.Partner.ClientID, "the Application (client) ID of the partner app"))
		if c.Partner.Secret.IsZero() {
			errs = append(errs, errors.New("the partner app's secret is missing: set $TENANTSYNC_PARTNER_SECRET or -partner-secret-file"))
		}
	}
	if dsn := c.Postgres.Reveal(); dsn != "" {
		// The parse error is not shown: it quotes the DSN, password included.
		if _, err := url.Parse(dsn); err != nil || !(strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") || strings.Contains(dsn, "host=")) {
			errs = append(errs, errors.New("the PostgreSQL DSN is malformed: use postgres://user:password@host:5432/db or \"host=... dbname=...\" form"))
		}
	}
	if !c.Demo && !c.CIPP.set() && !c.Partner.set() {
		errs = append(errs, errors.New("no service configured: pass -cipp-url/-cipp-client-id/-cipp-tenant-id or -partner-client-id/-partner-tenant-id, or leave -demo on"))
	}
	if c.WebhookURL != "" {
		errs = append(errs, checkWebhookURL(c.WebhookURL))
		if len(c.WebhookSecret.Reveal()) < 16 {
			errs = append(errs, errors.New("the webhook signing secret is missing or shorter than 16 characters: set $TENANTSYNC_WEBHOOK_SECRET or -webhook-secret-file to a long random value the receiver shares"))
		}
	} else if !c.WebhookSecret.IsZero() {
		errs = append(errs, errors.New("a webhook secret is set but no -webhook-url: name the endpoint that receives the change feed"))
	}
	if c.ChangeRetention < time.Hour {
		errs = append(errs, fmt.Errorf("-change-retention %s: keep changes at least 1h (default %s)", c.ChangeRetention, store.DefaultChangeRetention))
	}
	if c.DemoTenants < 1 || c.DemoTenants > 5000 {
		errs = append(errs, fmt.Errorf("-demo-tenants %d: use 1 to 5000", c.DemoTenants))
	}
	return errors.Join(errs...)
}

func checkURL(name, v string) error {
	u, err := url.Parse(v)
	switch {
	case v == "":
		return fmt.Errorf("%s is missing", name)
	case err != nil || u.Host == "":
		return fmt.Errorf("%s %q is not a URL: use https://<function-app>.azurewebsites.net", name, v)
	case u.Scheme != "https":
		return fmt.Errorf("%s %q must use https", name, v)
	}
	return nil
}

// checkWebhookURL accepts https, and http to a loopback host only (a receiver on the same
// machine, or a test's).
func checkWebhookURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("-webhook-url %q is not an http(s) URL", v)
	}
	if u.User != nil {
		return errors.New("-webhook-url must not carry credentials: deliveries are authenticated by their signature")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("-webhook-url %q: use https, or http to a loopback address only", v)
		}
	}
	return nil
}

func checkUUID(name, v, what string) error {
	if v == "" {
		return fmt.Errorf("%s is missing: give %s", name, what)
	}
	if !uuidRE.MatchString(v) {
		return fmt.Errorf("%s %q is not a GUID: give %s (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", name, v, what)
	}
	return nil
}
