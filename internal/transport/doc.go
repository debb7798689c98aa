// Package transport is the one HTTP stack every tenantsync client uses: token injection only
// for the configured origin, per (host, tenant) rate limiting, retries with Retry-After and a
// shared retry budget, bounded bodies, and redaction of secrets from every error.
package transport
