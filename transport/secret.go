package transport

import "github.com/tenantsync/tenantsync"

// Secret holds a credential (client secret, refresh token). It is tenantsync.Secret: every way
// of printing, logging or marshalling it yields "[REDACTED]"; Reveal returns the value for the
// one place that sends it. Build one with tenantsync.NewSecret.
type Secret = tenantsync.Secret
