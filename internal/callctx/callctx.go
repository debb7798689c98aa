// Package callctx carries what the HTTP stack and the rate limiters both read from a request's
// context: the customer tenant the request concerns, and the data kind it reads. It is a package of its own because the
// public transport package (the limiters) and the internal HTTP stack both need it and neither
// may import the other's internals.
package callctx

import "context"

type key int

const (
	tenantKey key = iota
	kindKey
)

// WithKind tags ctx with the data kind ("users", "devices", ...) the requests made with it
// read, for tracing.
func WithKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey, kind)
}

// Kind returns the kind set by WithKind, or "".
func Kind(ctx context.Context) string {
	k, _ := ctx.Value(kindKey).(string)
	return k
}

// WithTenant tags ctx with the customer tenant a request concerns.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey, tenant)
}

// Tenant returns the tenant set by WithTenant, or "".
func Tenant(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey).(string)
	return t
}

// Error wraps a context's error with a redacted description of what was waiting, so
// errors.Is(err, context.Canceled) still holds and the message says what was cut short.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string    { return e.Msg }
func (e *Error) Unwrap() error    { return e.Err }
func (e *Error) GoString() string { return e.Msg }
