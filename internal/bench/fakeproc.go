package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/tenantsync/tenantsync/internal/testserver"
)

// fake is the fake services a measurement runs against: in this process (the smoke test), or
// in a process of its own pinned to its own core (make bench), so the fake's CPU time never
// lands on the engine's core nor in its figures.
type fake interface {
	endpoints(tenants []string) endpoints
	// counts returns the requests since the last reset: service → tenant → requests.
	counts() (requestCounts, error)
	reset() error
	// served returns the fake's own service time per request since the last reset, by service.
	served() (map[string]serviceTimes, error)
	// update changes users of the fake's World (through its methods, so pages are rendered again).
	update(changes []userChange) error
	setLatency(d time.Duration) error
	// spans returns the requests since the last reset with their tenant, caller and times
	// (with fakeSpec.RecordSpans).
	spans() ([]testserver.RequestSpan, error)
	close()
}

// fakeSpec says which world the fake serves: the same seed and partner give the same World in
// the fake's process and in the harness's, which computes the bounds from its own copy.
type fakeSpec struct {
	Partner partner
	Latency time.Duration
	// PageCache serves pages rendered once and hands out fresh tokens again
	// (testserver.Options.PageCache and TokenCache): the fake's rendering and RSA signing are
	// not the client's work.
	PageCache bool
	// RecordSpans keeps every request's tenant, caller and times (testserver.Options.RecordSpans).
	RecordSpans bool
}

type userChange struct {
	Tenant, User, JobTitle string
}

type requestCounts map[string]map[string]int

// get returns a service's requests for a tenant; "*" sums the service.
func (c requestCounts) get(service, tenant string) int {
	if tenant != "*" {
		return c[service][tenant]
	}
	n := 0
	for _, v := range c[service] {
		n += v
	}
	return n
}

// trips is what a tenant cost at a service and at Entra ID.
func (c requestCounts) trips(service, tenant string) int {
	return c.get(service, tenant) + c.get(testserver.ServiceEntra, tenant)
}

// serviceTimes summarises a service's per-request times in the fake.
type serviceTimes struct {
	N        int
	P50, P99 time.Duration
}

func summarise(ds []time.Duration) serviceTimes {
	if len(ds) == 0 {
		return serviceTimes{}
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return serviceTimes{N: len(ds), P50: q(0.50), P99: q(0.99)}
}

// localFake runs the fake in this process.
type localFake struct{ srv *testserver.Server }

func newLocalFake(spec fakeSpec) (*localFake, error) {
	srv, err := testserver.New(testserver.Options{Seed: spec.Partner.Seed, World: spec.Partner.world(), Latency: spec.Latency, PageCache: spec.PageCache, TokenCache: spec.PageCache,
		RecordSpans: spec.RecordSpans})
	if err != nil {
		return nil, err
	}
	return &localFake{srv: srv}, nil
}

func (l *localFake) endpoints(ids []string) endpoints { return endpointsOf(l.srv, ids) }
func (l *localFake) counts() (requestCounts, error)   { return l.srv.Counts(), nil }
func (l *localFake) reset() error                     { l.srv.ResetCounts(); return nil }
func (l *localFake) served() (map[string]serviceTimes, error) {
	out := map[string]serviceTimes{}
	for _, s := range []string{testserver.ServiceGraph, testserver.ServiceEntra, testserver.ServiceCIPP} {
		out[s] = summarise(l.srv.ServiceTimes(s))
	}
	return out, nil
}
func (l *localFake) update(changes []userChange) error { return applyChanges(l.srv.World, changes) }
func (l *localFake) setLatency(d time.Duration) error  { l.srv.SetLatency(d); return nil }
func (l *localFake) spans() ([]testserver.RequestSpan, error) {
	return l.srv.RequestSpans(), nil
}
func (l *localFake) close() { l.srv.Close() }

func applyChanges(w *testserver.World, changes []userChange) error {
	for _, c := range changes {
		if err := w.UpdateUser(c.Tenant, c.User, func(u *testserver.User) { u.JobTitle = c.JobTitle }); err != nil {
			return err
		}
	}
	return nil
}

// fakeCommand is one request to a fake process, one JSON line on its stdin; the answer is one
// JSON line on its stdout.
type fakeCommand struct {
	Op      string
	Changes []userChange  `json:",omitempty"`
	Latency time.Duration `json:",omitempty"`
}

type fakeAnswer struct {
	Err       string                   `json:",omitempty"`
	Endpoints *endpoints               `json:",omitempty"`
	Counts    requestCounts            `json:",omitempty"`
	Served    map[string]serviceTimes  `json:",omitempty"`
	Spans     []testserver.RequestSpan `json:",omitempty"`
}

// remoteFake is a fake in its own process.
type remoteFake struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	ends endpoints
}

// startFake starts the fake in a process of its own, on core pinned when taskset is there and
// pinned >= 0.
func startFake(ctx context.Context, spec fakeSpec, pinned int) (*remoteFake, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-child", "fake"}
	var cmd *exec.Cmd
	if ts, err := exec.LookPath("taskset"); err == nil && pinned >= 0 {
		cmd = exec.CommandContext(ctx, ts, append([]string{"-c", strconv.Itoa(pinned), self}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, self, args...)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &remoteFake{cmd: cmd, in: in, out: bufio.NewReaderSize(outPipe, 1<<20)}
	spec0, _ := json.Marshal(spec)
	if _, err := fmt.Fprintf(in, "%s\n", spec0); err != nil {
		r.close()
		return nil, err
	}
	a, err := r.read()
	if err != nil {
		r.close()
		return nil, err
	}
	r.ends = *a.Endpoints
	return r, nil
}

func (r *remoteFake) read() (*fakeAnswer, error) {
	line, err := r.out.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("fake process: %w", err)
	}
	var a fakeAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		return nil, fmt.Errorf("fake process: %w", err)
	}
	if a.Err != "" {
		return nil, errors.New("fake process: " + a.Err)
	}
	return &a, nil
}

func (r *remoteFake) do(c fakeCommand) (*fakeAnswer, error) {
	b, _ := json.Marshal(c)
	if _, err := fmt.Fprintf(r.in, "%s\n", b); err != nil {
		return nil, err
	}
	return r.read()
}

func (r *remoteFake) endpoints(ids []string) endpoints {
	e := r.ends
	e.Tenants = ids
	return e
}

func (r *remoteFake) counts() (requestCounts, error) {
	a, err := r.do(fakeCommand{Op: "counts"})
	if err != nil {
		return nil, err
	}
	return a.Counts, nil
}

func (r *remoteFake) reset() error { _, err := r.do(fakeCommand{Op: "reset"}); return err }

func (r *remoteFake) served() (map[string]serviceTimes, error) {
	a, err := r.do(fakeCommand{Op: "served"})
	if err != nil {
		return nil, err
	}
	return a.Served, nil
}

func (r *remoteFake) update(changes []userChange) error {
	_, err := r.do(fakeCommand{Op: "update", Changes: changes})
	return err
}

func (r *remoteFake) setLatency(d time.Duration) error {
	_, err := r.do(fakeCommand{Op: "latency", Latency: d})
	return err
}

func (r *remoteFake) spans() ([]testserver.RequestSpan, error) {
	a, err := r.do(fakeCommand{Op: "spans"})
	if err != nil {
		return nil, err
	}
	return a.Spans, nil
}

func (r *remoteFake) close() {
	_ = r.in.Close()
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}

// childFake is the fake's process: it reads its spec, starts the fake, prints the endpoints,
// then answers commands until its stdin closes.
func childFake(ctx context.Context) error {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	enc := json.NewEncoder(os.Stdout)
	var spec fakeSpec
	line, err := in.ReadBytes('\n')
	if err != nil {
		return err
	}
	if err := json.Unmarshal(line, &spec); err != nil {
		return err
	}
	l, err := newLocalFake(spec)
	if err != nil {
		_ = enc.Encode(fakeAnswer{Err: err.Error()})
		return err
	}
	defer l.close()
	e := l.endpoints(nil)
	if err := enc.Encode(fakeAnswer{Endpoints: &e}); err != nil {
		return err
	}
	for ctx.Err() == nil {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return nil // the harness closed stdin: done
		}
		var c fakeCommand
		var a fakeAnswer
		if err := json.Unmarshal(line, &c); err != nil {
			a.Err = err.Error()
		} else {
			switch c.Op {
			case "counts":
				a.Counts, _ = l.counts()
			case "reset":
				_ = l.reset()
			case "served":
				a.Served, _ = l.served()
			case "update":
				if err := l.update(c.Changes); err != nil {
					a.Err = err.Error()
				}
			case "latency":
				_ = l.setLatency(c.Latency)
			case "spans":
				a.Spans, _ = l.spans()
			default:
				a.Err = "unknown command " + c.Op
			}
		}
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return ctx.Err()
}
