// Package tracing wires tenantsync's tracing hooks to OpenTelemetry: a span per tenant sync
// (sync.Tracer) and a span per HTTP request (transport.RequestTracer), the request spans
// children of the sync that made them. Copy it into a program that exports traces; tenantsync
// itself does not depend on OpenTelemetry.
//
//	tr := tracing.New(otel.GetTracerProvider())
//	cfg := cipp.Config{ /* ... */ }
//	cfg.Tracer = tr                      // one span per request, retries included
//	eng, err := sync.New(sync.Config{ /* ... */ Tracer: tr}) // one span per tenant sync
//
// Attributes are the tenant, the service, the data kind, the HTTP method, host, path and
// status, the attempts and retries, and a sync's trigger, outcome and counts. The hooks never
// receive a header, a token, a secret or a query string, so none can reach an attribute.
//
// It lives in a module of its own so that tenantsync's go.mod does not require the
// OpenTelemetry SDK: a PSA that traces already has it, and one that does not need not download
// it.
package tracing

import (
	"context"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantsync/tenantsync"
	tsync "github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

// Tracer is both hooks over one OpenTelemetry tracer.
type Tracer struct {
	t trace.Tracer
}

var (
	_ transport.RequestTracer = (*Tracer)(nil)
	_ tsync.Tracer            = (*Tracer)(nil)
)

// New returns hooks that start spans with tp's tracer named "github.com/tenantsync/tenantsync".
func New(tp trace.TracerProvider) *Tracer {
	return &Tracer{t: tp.Tracer("github.com/tenantsync/tenantsync", trace.WithInstrumentationVersion(tenantsync.Version))}
}

// retriesKey carries a sync's running count of HTTP retries, which its request spans add to.
type retriesKey struct{}

// StartSync starts the span of one tenant sync.
func (t *Tracer) StartSync(ctx context.Context, tenantID, trigger string) (context.Context, func(*tsync.Report)) {
	ctx, span := t.t.Start(ctx, "tenantsync.sync", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("tenantsync.tenant", tenantID), attribute.String("tenantsync.trigger", trigger)))
	retries := new(atomic.Int64)
	ctx = context.WithValue(ctx, retriesKey{}, retries)
	return ctx, func(r *tsync.Report) {
		status := "ok"
		switch {
		case r.Err != nil:
			status = "failed"
		case r.Partial():
			status = "partial"
		}
		var complete, unavailable []string
		for k, kr := range r.Kinds {
			if kr.Mode == tenantsync.Unavailable {
				unavailable = append(unavailable, string(k))
			} else {
				complete = append(complete, string(k))
			}
		}
		slices.Sort(complete)
		slices.Sort(unavailable)
		span.SetAttributes(
			attribute.String("tenantsync.status", status),
			attribute.StringSlice("tenantsync.kinds", complete),
			attribute.StringSlice("tenantsync.kinds_unavailable", unavailable),
			attribute.Int("tenantsync.round_trips", r.RoundTrips),
			attribute.Int64("tenantsync.retries", retries.Load()),
			attribute.Int("tenantsync.contacts_created", r.Contacts.Created),
		)
		if r.Err != nil {
			span.SetAttributes(attribute.String("tenantsync.error_class", tenantsync.ClassName(tenantsync.ClassOf(r.Err))))
			span.SetStatus(codes.Error, r.Err.Error())
		}
		span.End()
	}
}

// StartRequest starts the span of one HTTP request, all its attempts included.
func (t *Tracer) StartRequest(ctx context.Context, r transport.Request) (context.Context, func(transport.RequestOutcome)) {
	attrs := []attribute.KeyValue{
		attribute.String("tenantsync.service", r.Service),
		attribute.String("http.request.method", r.Method),
		attribute.String("server.address", r.Host),
		attribute.String("url.path", r.Path),
	}
	if r.Tenant != "" {
		attrs = append(attrs, attribute.String("tenantsync.tenant", r.Tenant))
	}
	if r.Kind != "" {
		attrs = append(attrs, attribute.String("tenantsync.kind", r.Kind))
	}
	ctx, span := t.t.Start(ctx, r.Service+" "+r.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	sum, _ := ctx.Value(retriesKey{}).(*atomic.Int64)
	return ctx, func(o transport.RequestOutcome) {
		span.SetAttributes(
			attribute.Int("http.response.status_code", o.Status),
			attribute.Int("tenantsync.attempts", o.Attempts),
			attribute.Int("tenantsync.retries", o.Retries),
		)
		if sum != nil {
			sum.Add(int64(o.Retries))
		}
		if o.Err != nil {
			span.SetAttributes(attribute.String("tenantsync.error_class", tenantsync.ClassName(tenantsync.ClassOf(o.Err))))
			span.SetStatus(codes.Error, o.Err.Error())
		}
		span.End()
	}
}
