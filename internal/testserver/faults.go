package testserver

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

// Fault kinds.
const (
	// Throttle answers 429 (or Fault.Status) in the service's throttling shape.
	Throttle FaultKind = "throttle"
	// ServerError answers 503 (or Fault.Status) in the service's error shape.
	ServerError FaultKind = "server-error"
	// Latency waits Fault.Delay, then serves the request normally.
	Latency FaultKind = "latency"
	// Drop closes the connection without writing a response.
	Drop FaultKind = "drop"
	// Truncate serves the response with the full Content-Length but only half of the body,
	// then closes the connection.
	Truncate FaultKind = "truncate"
	// Hang holds the request until the client gives up (its context ends) or the fake closes.
	Hang FaultKind = "hang"
)

// Fault describes a fault to inject. Empty matching fields match everything; the first injected
// fault that matches a request and fires handles it.
type Fault struct {
	// Service is ServiceEntra, ServiceCIPP, ServiceGraph or ServicePartnerCenter.
	Service string
	// Tenant is the customer tenant ID the request is for, as Requests counts it.
	Tenant string
	// Path is a substring of the request URI (path and query), e.g. "/api/ListUsers" or "$batch".
	Path string
	// Method is an HTTP method.
	Method string

	// Kind is what the fault does; the zero value acts as ServerError.
	Kind FaultKind
	// Rate is the share of matching requests that get the fault, drawn from a random stream
	// seeded by Options.Seed (0 or ≥1: all of them).
	Rate float64
	// Count caps how many times the fault fires (0: unlimited).
	Count int
	// Status overrides the status of Throttle (429) and ServerError (503).
	Status int
	// RetryAfter is the Retry-After header of Throttle and ServerError answers ("" sends none):
	// seconds ("2"), fractional seconds ("2.128") or an HTTP date.
	RetryAfter string
	// Delay is waited before the fault acts (for Latency, it is the fault).
	Delay time.Duration
	// Message replaces the default text of the CIPP answer kinds (CIPPNotReady, CIPPForbidden,
	// CIPPResultsFailed).
	Message string
	// From and Until, when set, bound the time during which the fault fires.
	From, Until time.Time
}

type activeFault struct {
	Fault
	fired int
}

// faultSet holds the injected faults and draws rate decisions from one seeded stream under its
// mutex, so a test that sends the same requests in the same order sees the same faults.
type faultSet struct {
	mu     sync.Mutex
	rng    *rand.Rand
	faults []*activeFault
	counts map[FaultKind]int
}

func (fs *faultSet) init(seed int64) {
	fs.rng = rand.New(rand.NewPCG(uint64(seed), 0x6661756c74))
	fs.counts = map[FaultKind]int{}
}

// InjectFault adds f after the faults already injected and returns a function that removes it.
func (s *Server) InjectFault(f Fault) (remove func()) {
	af := &activeFault{Fault: f}
	fs := &s.faults
	fs.mu.Lock()
	fs.faults = append(fs.faults, af)
	fs.mu.Unlock()
	return func() {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		for i, x := range fs.faults {
			if x == af {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
				return
			}
		}
	}
}

// ClearFaults removes every injected fault (FaultCounts keeps counting from where it was).
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}

// FaultCounts returns how many faults of each kind fired, for harnesses that check a client
// recovered from every one.
func (s *Server) FaultCounts() map[FaultKind]int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make(map[FaultKind]int, len(s.faults.counts))
	for k, v := range s.faults.counts {
		out[k] = v
	}
	return out
}

// pick returns the fault to apply to a request, or nil.
func (fs *faultSet) pick(service, tenant string, r *http.Request) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	now := time.Now()
	for _, af := range fs.faults {
		f := &af.Fault
		switch {
		case f.Service != "" && f.Service != service,
			f.Tenant != "" && !strings.EqualFold(f.Tenant, tenant),
			f.Method != "" && !strings.EqualFold(f.Method, r.Method),
			f.Path != "" && !strings.Contains(r.URL.RequestURI(), f.Path) && !strings.Contains(r.URL.Path, f.Path),
			!f.From.IsZero() && now.Before(f.From),
			!f.Until.IsZero() && !now.Before(f.Until),
			f.Count > 0 && af.fired >= f.Count:
			continue
		}
		if f.Rate > 0 && f.Rate < 1 && fs.rng.Float64() >= f.Rate {
			continue
		}
		af.fired++
		fs.counts[f.Kind]++
		c := *f
		return &c
	}
	return nil
}

// applyFault applies the first matching injected fault; it returns true when the response was
// written (or the connection dropped) and h must not run.
func (s *Server) applyFault(service, tenant string, w http.ResponseWriter, r *http.Request, h http.Handler) bool {
	f := s.faults.pick(service, tenant, r)
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			dropConnection(w)
			return true
		}
	}
	switch f.Kind {
	case Latency:
		return false
	case Throttle:
		writeFaultError(w, r, service, orDefault(f.Status, http.StatusTooManyRequests), f.RetryAfter)
	case Drop:
		dropConnection(w)
	case Truncate:
		truncate(w, r, h)
	case CIPPNotReady, CIPPForbidden, CIPPResultsFailed:
		s.cippFaultAnswer(w, r, f)
	case Hang:
		<-r.Context().Done()
		// Never answer a hung request, even if its context ended for a reason other than the
		// client leaving: an empty 200 would read as a normal answer.
		dropConnection(w)
	default: // ServerError
		writeFaultError(w, r, service, orDefault(f.Status, http.StatusServiceUnavailable), f.RetryAfter)
	}
	return true
}

// dropConnection closes the connection without a response.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// truncate runs h into a buffer, then writes its status and headers with the full
// Content-Length but only the first half of the body, and closes the connection: what a client
// sees when a proxy or the network cuts a response short.
func truncate(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	body := rec.Body.Bytes()
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	hdr := rec.Header().Clone()
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Connection", "close")
	_ = hdr.Write(bw)
	bw.WriteString("\r\n")
	bw.Write(body[:len(body)/2])
	_ = bw.Flush()
}

// writeFaultError answers an injected throttle or server error in the service's own shape.
func writeFaultError(w http.ResponseWriter, r *http.Request, service string, status int, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	throttled := status == http.StatusTooManyRequests
	switch service {
	case ServiceGraph:
		if throttled {
			writeGraphError(w, r, status, "TooManyRequests", "Please retry again later.")
			return
		}
		code, msg := "serviceNotAvailable", "The service is temporarily unavailable. Please retry after some time."
		switch status {
		case http.StatusInternalServerError:
			code, msg = "generalException", "An unexpected error occurred while processing the request."
		case http.StatusBadGateway:
			code, msg = "BadGateway", "The gateway received an invalid response."
		case http.StatusGatewayTimeout:
			code, msg = "UnknownError", "The gateway timed out."
		}
		writeGraphError(w, r, status, code, msg)
	case ServicePartnerCenter:
		if throttled {
			writePCThrottle(w, r, retryAfterSeconds(retryAfter))
			return
		}
		writePCError(w, r, status, status, "The service is temporarily unavailable. Please try again later.")
	case ServiceEntra:
		if throttled {
			writeAADError(w, r, status, "temporarily_unavailable", 90055, "TenantThrottlingError - There are too many incoming requests. Please try again later.")
			return
		}
		writeAADError(w, r, status, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	default:
		if throttled {
			writeCIPPText(w, status, "Rate limit is exceeded. Try again later.")
			return
		}
		writeCIPPText(w, status, fmt.Sprintf("The service is unavailable (%d %s).", status, http.StatusText(status)))
	}
}

// retryAfterSeconds reads a Retry-After header value as whole seconds (rounded up), 0 when it is
// absent or a date.
func retryAfterSeconds(v string) int {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0
	}
	return int(math.Ceil(f))
}

// writeGraphError writes Microsoft Graph's error body (reference §6):
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}, with the
// request-id and client-request-id headers (the client's client-request-id echoed, as Graph
// does). Graph fakes use it for every error they answer.
func writeGraphError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	reqID := randomGUID()
	clientReqID := r.Header.Get("client-request-id")
	if clientReqID == "" {
		clientReqID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientReqID)
	writeJSON(w, status, map[string]any{
		"error": map[string]any{
			"code":    code,
			"message": message,
			"innerError": map[string]string{
				"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
				"request-id":        reqID,
				"client-request-id": clientReqID,
			},
		},
	})
}

// writePCError writes Partner Center's error body (reference §2.1):
// {"code":<number>,"description","data":[],"source":"PartnerApiServiceControllers"}, echoing
// the MS-RequestId and MS-CorrelationId request headers (new IDs when absent).
func writePCError(w http.ResponseWriter, r *http.Request, status, code int, description string) {
	pcHeaders(w, r)
	writeJSON(w, status, map[string]any{
		"code":        code,
		"description": description,
		"data":        []any{},
		"source":      "PartnerApiServiceControllers",
	})
}

// writePCThrottle writes Partner Center's 429 body:
// {"statusCode":429,"message":"Rate limit is exceeded. Try again in N seconds."}. The caller
// sets Retry-After when it wants one.
func writePCThrottle(w http.ResponseWriter, r *http.Request, seconds int) {
	pcHeaders(w, r)
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"statusCode": http.StatusTooManyRequests,
		"message":    fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", max(seconds, 1)),
	})
}

func pcHeaders(w http.ResponseWriter, r *http.Request) {
	for _, h := range []string{"MS-RequestId", "MS-CorrelationId"} {
		v := r.Header.Get(h)
		if v == "" {
			v = randomGUID()
		}
		w.Header().Set(h, v)
	}
}

// writeCIPPText writes CIPP-API's plain-text answer (RBAC denials, errors): the message as the
// body with Content-Type text/plain (reference cipp-api.md §1.5).
func writeCIPPText(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(message)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(message))
}

func (s *Server) requestTenant(service string, r *http.Request) string {
	switch service {
	case ServiceEntra:
		return s.entraTenant(r)
	case ServiceCIPP:
		return s.cippTenant(r)
	case ServiceGraph:
		return s.graphTenant(r)
	case ServicePartnerCenter:
		return s.pcTenant(r)
	}
	return ""
}
