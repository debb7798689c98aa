package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The scale-out figure's own breakdown of what holds a run back: how busy the machine's cores
// were, how much of that PostgreSQL took, and what its sessions waited on, sampled from
// pg_stat_activity while the engines ran.

// userHz is the unit of /proc's CPU times: USER_HZ, 100 on every Linux architecture Go
// supports.
const userHz = 100

// cpuSample is the machine's busy and total CPU time, and PostgreSQL's processes' CPU time,
// read from /proc (zeros where /proc is not Linux's).
type cpuSample struct {
	busy, total, postgres time.Duration
	cores                 int
}

func sampleCPU() cpuSample {
	var s cpuSample
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		lines := strings.Split(string(b), "\n")
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "cpu") {
				s.cores++
			}
		}
		f := strings.Fields(lines[0])
		if len(f) > 8 && f[0] == "cpu" {
			// user nice system idle iowait irq softirq steal (guest time is within user's)
			for i, v := range f[1:9] {
				n, _ := strconv.ParseInt(v, 10, 64)
				d := time.Duration(n) * time.Second / userHz
				s.total += d
				if i != 3 && i != 4 { // idle, iowait
					s.busy += d
				}
			}
		}
	}
	s.postgres = processCPU("postgres")
	return s
}

// processCPU sums the user and system CPU time of the processes whose command is comm.
func processCPU(comm string) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var d time.Duration
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != comm {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		// After the command: state, ppid, ... utime is the 14th field of the line, stime the 15th.
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		d += time.Duration(ut+st) * time.Second / userHz
	}
	return d
}

// waitSampler counts, every interval, what PostgreSQL's active sessions (other than its own)
// are doing: the wait event they wait on, or "on CPU".
type waitSampler struct {
	mu      stdsync.Mutex
	samples int
	counts  map[string]int
	stop    func()
	done    chan struct{}
}

func startWaitSampler(ctx context.Context, dsn string, every time.Duration) *waitSampler {
	w := &waitSampler{counts: map[string]int{}, done: make(chan struct{})}
	ctx, w.stop = context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rows, err := c.Query(ctx, `SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), left(regexp_replace(query, '\s+', ' ', 'g'), 60)
				FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
			if err != nil {
				continue
			}
			seen := map[string]int{}
			for rows.Next() {
				var ev, q string
				if rows.Scan(&ev, &q) == nil {
					if strings.HasPrefix(ev, "Lock:") {
						ev += " (" + q + ")"
					}
					seen[ev]++
				}
			}
			rows.Close()
			w.mu.Lock()
			w.samples++
			for k, n := range seen {
				w.counts[k] += n
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// finish stops the sampler and returns its summary: active sessions on average, and the
// commonest states with their share of the samples.
func (w *waitSampler) finish() string {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.samples == 0 {
		return "no samples"
	}
	total := 0
	keys := make([]string, 0, len(w.counts))
	for k, n := range w.counts {
		keys = append(keys, k)
		total += n
	}
	slices.SortFunc(keys, func(a, b string) int { return w.counts[b] - w.counts[a] })
	var parts []string
	for i, k := range keys {
		if i == 4 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(w.counts[k])/float64(w.samples)))
	}
	return fmt.Sprintf("%.1f active sessions on average over %d samples: %s", float64(total)/float64(w.samples), w.samples, strings.Join(parts, ", "))
}

// loadLine says how busy the machine was between two samples and what PostgreSQL took of it;
// engines is the engine processes' CPU time over the same span.
func loadLine(a, b cpuSample, wall, engines time.Duration) string {
	cores := b.cores
	if b.total <= a.total {
		return "machine CPU: not measured (no Linux /proc)"
	}
	busy := float64(b.busy-a.busy) / float64(b.total-a.total) * float64(cores)
	pg := (b.postgres - a.postgres).Seconds() / wall.Seconds()
	eng := engines.Seconds() / wall.Seconds()
	return fmt.Sprintf("machine CPU over the run: %.2f of %d cores busy (engines %.2f, PostgreSQL %.2f, the fake and the rest %.2f)",
		busy, cores, eng, pg, max(0, busy-eng-pg))
}
