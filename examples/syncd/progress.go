package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress shows the initial sync: one rewritten status line on a terminal, plain log lines
// otherwise (so a log file or CI output stays readable).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	total    int
	done     int
	failed   int
	users    int
	running  map[string]int // tenant → users so far, for tenants in flight
	start    time.Time
	last     string
	active   bool // set once the total is known; events before it are counted, not shown
	finished bool
}

func newProgress(w io.Writer, terminal bool) *progress {
	return &progress{w: w, terminal: terminal, running: map[string]int{}, start: time.Now()}
}

// isTerminal reports whether f is a character device (a terminal), without a dependency.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) setTotal(n int) {
	p.mu.Lock()
	p.total = n
	p.active = true
	p.mu.Unlock()
	p.render("")
}

// tick redraws the status line every second on a terminal, so the elapsed time moves while a
// large tenant is fetched, until ctx ends or the initial sync finishes.
func (p *progress) tick(ctx context.Context) {
	if !p.terminal {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.mu.Lock()
			done := p.finished
			p.mu.Unlock()
			if done {
				return
			}
			p.render("")
		}
	}
}

func (p *progress) started(tenant string) {
	p.mu.Lock()
	p.running[tenant] = 0
	p.mu.Unlock()
}

func (p *progress) userCount(tenant string, n int) {
	p.mu.Lock()
	if _, ok := p.running[tenant]; ok {
		p.running[tenant] = n
	}
	p.mu.Unlock()
	if p.terminal {
		p.render("")
	}
}

// finishedTenant records a tenant's end; err is nil on success.
func (p *progress) finishedTenant(id, name string, users int, err error) {
	p.mu.Lock()
	delete(p.running, id)
	p.done++
	p.users += users
	if err != nil {
		p.failed++
	}
	p.mu.Unlock()
	msg := fmt.Sprintf("synced %s: %d users", name, users)
	if err != nil {
		msg = fmt.Sprintf("sync of %s failed: %v", name, err)
	}
	p.render(msg)
}

// line returns the status line.
func (p *progress) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	inflight := 0
	for _, n := range p.running {
		inflight += n
	}
	return fmt.Sprintf("initial sync: %d/%d tenants done, %d users synced, %d errors, %d running, %s",
		p.done, p.total, p.users+inflight, p.failed, len(p.running), time.Since(p.start).Round(time.Second))
}

// render prints the status line: rewritten in place on a terminal; on other outputs, msg as a
// log line and the status line when it changed.
func (p *progress) render(msg string) {
	line := p.line()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active {
		return
	}
	if p.finished {
		if msg != "" {
			fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), msg)
		}
		return
	}
	if p.terminal {
		if msg != "" {
			fmt.Fprintf(p.w, "\r\033[K%s\n", msg)
		}
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	if msg != "" {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), msg)
	}
	if line != p.last && msg != "" {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), line)
	}
	p.last = line
}

// finish prints the final status line and switches to plain log lines.
func (p *progress) finish() {
	line := p.line()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s\n", line)
	} else {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), line)
	}
}
