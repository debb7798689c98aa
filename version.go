package tenantsync

// Version is the version of the tenantsync module. Every request the SDK sends names it in its
// User-Agent (tenantsync/<Version>), so a service's logs, and Microsoft's support, can tell
// which release made a call; the evaluation daemon reports it with -version and on /healthz.
const Version = "1.1.0-dev"
