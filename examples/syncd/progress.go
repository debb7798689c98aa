package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/sync"
)

// progress shows the initial sync: one rewritten status line on a terminal, plain log lines
// otherwise (so a log file or CI output stays readable). It reads the tenants' stored sync
// state, never the event stream: events may be dropped when the daemon falls behind, and a
// dropped sync.finished must not leave a tenant shown as unfinished.
type progress struct {
	mu       gosync.Mutex
	w        io.Writer
	terminal bool
	since    time.Time       // a finish at or after it belongs to this run
	start    time.Time       // for the elapsed time
	watch    map[string]bool // the tenants the initial sync waits for
	reported map[string]bool // finished tenants already given their own line
	line     string
	last     string // the last line printed on a non-terminal
	active   bool   // set once the tenants to wait for are known
	finished bool
}

func newProgress(w io.Writer, terminal bool, since time.Time) *progress {
	return &progress{w: w, terminal: terminal, since: since, start: time.Now(), watch: map[string]bool{}, reported: map[string]bool{}}
}

// isTerminal reports whether f is a character device (a terminal), without a dependency.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// waitFor names the tenants the initial sync consists of.
func (p *progress) waitFor(ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		p.watch[id] = true
	}
	p.active = true
}

// finishedThisRun reports whether a tenant's last sync ended after the daemon started.
func (p *progress) finishedThisRun(s sync.TenantStatus) bool {
	return !s.State.LastFinish.IsZero() && !s.State.LastFinish.Before(p.since)
}

// update reads the tenants' status, prints a line for each tenant that finished since the last
// update and the status line, and returns how many tenants are still to finish. A tenant
// unlinked or paused meanwhile is no longer waited for.
func (p *progress) update(sts []sync.TenantStatus) (pending int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active {
		return 0
	}
	var total, done, failed, users, running int
	var msgs []string
	for _, s := range sts {
		id := s.Tenant.ID
		if !p.watch[id] || !s.Tenant.Linked() || !s.Tenant.Syncing {
			continue
		}
		total++
		if !p.finishedThisRun(s) {
			pending++
			if s.Running {
				running++
				users += s.Progress[tenantsync.KindUsers]
			}
			continue
		}
		done++
		if s.State.LastError != nil {
			failed++
		} else {
			users += s.State.Counts[tenantsync.KindUsers]
		}
		if !p.reported[id] {
			p.reported[id] = true
			msgs = append(msgs, finishLine(s))
		}
	}
	p.line = fmt.Sprintf("initial sync: %d/%d tenants done, %d users synced, %d errors, %d running, %s",
		done, total, users, failed, running, time.Since(p.start).Round(time.Second))
	p.render(msgs)
	return pending
}

// finishLine says how a tenant's sync ended, from its stored state.
func finishLine(s sync.TenantStatus) string {
	name := nonEmpty(s.Tenant.DisplayName, s.Tenant.ID)
	if e := s.State.LastError; e != nil {
		msg := fmt.Sprintf("sync of %s failed: %s", name, e.Message)
		if e.Hint != "" {
			msg += " (what to do: " + e.Hint + ")"
		}
		return msg
	}
	msg := fmt.Sprintf("synced %s: %d users", name, s.State.Counts[tenantsync.KindUsers])
	if len(s.State.KindErrors) > 0 {
		kinds := make([]string, 0, len(s.State.KindErrors))
		for k := range s.State.KindErrors {
			kinds = append(kinds, string(k))
		}
		slices.Sort(kinds)
		msg += ", unavailable: " + strings.Join(kinds, ", ") + " (GET /api/tenants/" + s.Tenant.ID + " says why)"
	}
	if n := s.FailingContacts(); n > 0 {
		msg += fmt.Sprintf(", %d contacts could not be written (GET /api/tenants/%s lists each reason)", n, s.Tenant.ID)
	}
	if c := s.Creation; c != nil && !c.Done() {
		msg += fmt.Sprintf(", contacts %s (POST /api/tenants/%s/contacts/create-remaining creates them now)", c, s.Tenant.ID)
	} else if s.ContactsPending > 0 {
		msg += fmt.Sprintf(", %d users' contacts pending for the next syncs", s.ContactsPending)
	}
	for _, h := range s.Holds {
		msg += fmt.Sprintf(", removal of %d of %d %s held (POST /api/tenants/%s/holds/%s/release after checking)", h.Removals, h.Of, h.Kind, s.Tenant.ID, h.Kind)
	}
	return msg
}

// render prints msgs and the status line: rewritten in place on a terminal; on other outputs,
// each message as a log line and the status line after them when it changed. p.mu is held.
func (p *progress) render(msgs []string) {
	if p.finished {
		return
	}
	if p.terminal {
		for _, m := range msgs {
			fmt.Fprintf(p.w, "\r\033[K%s\n", m)
		}
		fmt.Fprintf(p.w, "\r\033[K%s", p.line)
		return
	}
	for _, m := range msgs {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), m)
	}
	if len(msgs) > 0 && p.line != p.last {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), p.line)
		p.last = p.line
	}
}

// done reports whether the initial sync has been shown to its end.
func (p *progress) done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.finished
}

// finish prints the final status line, from a last update of sts, and stops showing progress.
func (p *progress) finish(sts []sync.TenantStatus) {
	if sts != nil {
		p.update(sts)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished || !p.active || p.line == "" {
		p.finished = true
		return
	}
	p.finished = true
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s\n", p.line)
	} else if p.line != p.last {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format(time.TimeOnly), p.line)
	}
}
