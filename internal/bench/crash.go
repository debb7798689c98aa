package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	stdsync "sync"
	"syscall"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

// engineInput is what the engine child (the daemon stand-in) gets.
type engineInput struct {
	Endpoints endpoints
	Dir       string
	Offset    time.Duration // the engine clock's lead, so every tenant is due and past its cooldown
}

const crashInstance = "crash-daemon"

// openCrashStore opens the daemon's SQLite file with a clock ahead by offset.
func openCrashStore(ctx context.Context, dir string, clock *offsetClock) (*sqlite.Store, error) {
	return sqlite.Open(ctx, filepath.Join(dir, "tenantsync.db"), benchKeys(), sqlite.WithClock(clock.Now))
}

func crashEngine(st *sqlite.Store, e endpoints, clock *offsetClock) (*sync.Engine, error) {
	hc, err := e.httpClient()
	if err != nil {
		return nil, err
	}
	cl, err := newClients(e, hc, transport.NewBudget(0), graph.MailboxesPerUser)
	if err != nil {
		return nil, err
	}
	return sync.New(sync.Config{Store: st, Account: account, Sources: []tenantsync.Source{graph.NewSource(cl.graph)},
		Clock: clock, AutoCreate: true, InstanceID: crashInstance,
		Limits: sync.Limits{Concurrency: 4, LeaseTTL: 3 * time.Second}})
}

// childEngine is the daemon the crash harness kills: it opens the SQLite store, links every
// tenant (harmless when already linked) and syncs them all, printing "syncing" when it starts
// and "done" when every sync has ended.
func childEngine(ctx context.Context) error {
	var in engineInput
	if err := childInput(&in); err != nil {
		return err
	}
	clock := &offsetClock{}
	clock.Advance(in.Offset)
	st, err := openCrashStore(ctx, in.Dir, clock)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := crashEngine(st, in.Endpoints, clock)
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())
	if _, err := eng.Discover(ctx); err != nil {
		return err
	}
	fmt.Println("syncing")
	var reqs []sync.LinkRequest
	for i, id := range in.Endpoints.Tenants {
		reqs = append(reqs, sync.LinkRequest{TenantID: id, ClientID: fmt.Sprintf("client-%03d", i)})
	}
	for _, r := range eng.LinkMany(ctx, "crash", reqs) {
		if r.Err != nil && !errors.Is(r.Err, tenantsync.ErrAlreadyLinked) {
			return r.Err
		}
	}
	if err := eng.Wait(ctx); err != nil {
		return err
	}
	failed := 0
	for {
		reps, err := eng.RunOnce(ctx)
		if err != nil {
			return err
		}
		for _, r := range reps {
			if r.Err != nil {
				failed++
			}
		}
		if len(reps) == 0 {
			break
		}
	}
	fmt.Printf("done %d\n", failed)
	return nil
}

func runCrash(ctx context.Context, out io.Writer, o options) error {
	started := time.Now()
	p := partner{Seed: o.seed, Small: 40, MinUsers: 10, MaxUsers: 60, Large: 1, LargeUsers: 1500}
	w := p.world()
	srv, err := testserver.New(testserver.Options{Seed: o.seed, World: w, Latency: 5 * time.Millisecond})
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "tenantsync-crash-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e := endpointsOf(srv, tenantIDs(w))
	rng := rand.New(rand.NewPCG(uint64(o.seed), 31))
	fmt.Fprintf(out, "crash recovery: %s, SQLite, the engine process killed with SIGKILL at random points during sync (uniform over a sync's length), %d times in a row\n", p, o.crashKills)

	var offset time.Duration
	kills, late, checks := 0, 0, 0
	var killAt []string
	// Kills fall uniformly within the time a sync takes; a run that ends before its kill
	// teaches the harness how long a sync lasts now.
	span := 2500 * time.Millisecond
	for kills < o.crashKills {
		offset += 2 * time.Hour
		changeSome(w, rng)
		delay := time.Duration(rng.Int64N(int64(span)))
		finished, took, err := runEngineChild(ctx, engineInput{Endpoints: e, Dir: dir, Offset: offset}, delay)
		if err != nil {
			return fmt.Errorf("run %d: %w", kills+late+1, err)
		}
		if finished {
			span = max(10*time.Millisecond, took*9/10)
			late++ // the sync ended before the kill: not a kill during sync
		} else {
			kills++
			killAt = append(killAt, ms(delay))
		}
		// After each kill: the store opens (migrations), verifies, agrees with itself, and a sync
		// on it completes.
		n, err := checkStore(ctx, dir, e, offset+time.Hour, rng)
		checks += n
		if err != nil {
			return fmt.Errorf("after kill %d (at %s): %w", kills, ms(delay), err)
		}
	}
	// The restart after the last kill runs to the end and reaches the truth.
	offset += 2 * time.Hour
	finished, _, err := runEngineChild(ctx, engineInput{Endpoints: e, Dir: dir, Offset: offset}, 0)
	if err != nil {
		return err
	}
	if !finished {
		return errors.New("the final run did not finish")
	}
	n, err := checkTruth(ctx, dir, w, offset)
	checks += n
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "crash recovery PASS: %d SIGKILLs during sync in a row (at %s after the sync started), %d runs ended before their kill, every restart opened the store, verified the audit chain, found cursors and mirrors agreeing and completed a sync; final run converged to the truth (mirrors and contacts); %d checks, %s\n",
		kills, strings.Join(killAt, ", "), late, checks, secs(time.Since(started)))
	return nil
}

// runEngineChild starts the engine child and, when delay > 0, SIGKILLs it delay after it
// started syncing. It reports whether the child finished its syncs before the kill, and how long
// they took.
func runEngineChild(ctx context.Context, in engineInput, delay time.Duration) (bool, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return false, 0, err
	}
	data, err := json.Marshal(in)
	if err != nil {
		return false, 0, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", "engine")
	cmd.Stdin = strings.NewReader(string(data))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, 0, err
	}
	if err := cmd.Start(); err != nil {
		return false, 0, err
	}
	lines := make(chan string, 8)
	var wg stdsync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	})
	done := false
	var started time.Time
	var took time.Duration
	for l := range lines {
		switch {
		case l == "syncing":
			started = time.Now()
			if delay > 0 {
				go func() {
					time.Sleep(delay)
					_ = cmd.Process.Signal(syscall.SIGKILL)
				}()
			}
		case strings.HasPrefix(l, "done"):
			done, took = true, time.Since(started)
		}
	}
	wg.Wait()
	err = cmd.Wait()
	var ee *exec.ExitError
	killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
	switch {
	case done && (err == nil || killed):
		// Killed after it printed "done" is as good as finished: its syncs had ended.
		return true, took, nil
	case done:
		return true, took, fmt.Errorf("engine process: %w: %s", err, stderr.String())
	case killed:
		return false, 0, nil
	}
	return false, 0, fmt.Errorf("engine process ended without finishing: %v: %s", err, stderr.String())
}

// changeSome changes a few users so every run has something to write.
func changeSome(w *testserver.World, rng *rand.Rand) {
	for range 10 {
		t := w.Tenants[rng.IntN(len(w.Tenants))]
		live := t.ActiveUsers()
		u := live[rng.IntN(len(live))]
		switch rng.IntN(3) {
		case 0:
			_ = w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.AccountEnabled = !u.AccountEnabled })
		case 1:
			_ = w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.JobTitle = fmt.Sprintf("Crash %d", rng.IntN(1000)) })
		case 2:
			if len(live) > 5 {
				_ = w.DeleteUser(t.ID, u.ID)
			}
		}
	}
}

// checkStore opens the store after a kill and checks it: migrations apply, the audit chain
// verifies, every kind's cursor and mirror agree with the stored sync state, and a sync of a
// random tenant completes on it.
func checkStore(ctx context.Context, dir string, e endpoints, offset time.Duration, rng *rand.Rand) (int, error) {
	clock := &offsetClock{}
	clock.Advance(offset)
	st, err := openCrashStore(ctx, dir, clock)
	if err != nil {
		return 0, fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	checks, err := checkConsistency(ctx, st, account)
	if err != nil {
		return checks, err
	}
	eng, err := crashEngine(st, e, clock)
	if err != nil {
		return checks, err
	}
	defer eng.Close(context.Background())
	t := e.Tenants[rng.IntN(len(e.Tenants))]
	if _, err := eng.Status(ctx, t); err != nil {
		return checks, err
	}
	r, err := eng.SyncNow(ctx, t)
	checks++
	if err != nil {
		return checks, fmt.Errorf("sync of %s after the restart: %w", t, err)
	}
	if r.Err != nil {
		return checks, fmt.Errorf("sync of %s after the restart: %w", t, r.Err)
	}
	return checks, nil
}

// checkTruth compares the final mirrors with the World.
func checkTruth(ctx context.Context, dir string, w *testserver.World, offset time.Duration) (int, error) {
	clock := &offsetClock{}
	clock.Advance(offset)
	st, err := openCrashStore(ctx, dir, clock)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	checks, err := checkConsistency(ctx, st, account)
	if err != nil {
		return checks, fmt.Errorf("after the final run: %w", err)
	}
	for _, t := range w.Tenants {
		kr, err := st.ReadKind(ctx, account, t.ID, tenantsync.KindUsers)
		if err != nil {
			return checks, err
		}
		mirrored := map[string]tenantsync.User{}
		for _, u := range kr.Users {
			mirrored[u.ObjectID] = u
		}
		live := t.ActiveUsers()
		checks++
		if len(mirrored) != len(live) {
			return checks, fmt.Errorf("tenant %s: %d users mirrored, %d in the truth", t.ID, len(mirrored), len(live))
		}
		for _, u := range live {
			checks++
			m, ok := mirrored[u.ID]
			if !ok || m.AccountEnabled != u.AccountEnabled || m.JobTitle != u.JobTitle {
				return checks, fmt.Errorf("tenant %s: user %s differs from the truth", t.ID, u.ID)
			}
		}
	}
	// Every linked contact is active exactly when its user exists and is enabled.
	for i, t := range w.Tenants {
		links, err := st.ListContactLinks(ctx, account, t.ID)
		if err != nil {
			return checks, err
		}
		for _, l := range links {
			c, err := st.GetContact(ctx, account, fmt.Sprintf("client-%03d", i), l.ContactID)
			if err != nil {
				return checks, fmt.Errorf("contact %s linked to %s/%s: %w", l.ContactID, t.ID, l.ObjectID, err)
			}
			u := t.User(l.ObjectID)
			want := u != nil && !u.Deleted && u.AccountEnabled
			checks++
			if c.Active != want {
				return checks, fmt.Errorf("contact %s of user %s/%s is active=%v, the truth says it should be %v", c.ID, t.ID, l.ObjectID, c.Active, want)
			}
		}
	}
	rep, err := st.VerifyAudit(ctx, account, nil)
	checks++
	if err != nil || !rep.OK() {
		return checks, fmt.Errorf("audit chain: %+v %v", rep, err)
	}
	return checks, nil
}

// checkConsistency verifies a store reopened after a kill: the audit chain verifies, and for
// every tenant a users cursor has a users mirror and the stored sync state counts what the
// mirror holds (cursor, mirror and state are committed in one transaction).
func checkConsistency(ctx context.Context, st *sqlite.Store, account string) (int, error) {
	checks := 1 // the open itself: migrations applied
	rep, err := st.VerifyAudit(ctx, account, nil)
	if err != nil {
		return checks, err
	}
	checks++
	if !rep.OK() {
		return checks, fmt.Errorf("audit chain broken: %+v", rep)
	}
	tenants, err := st.ListTenants(ctx, account)
	if err != nil {
		return checks, err
	}
	for _, t := range tenants {
		cursors, err := st.Cursors(ctx, account, t.ID)
		if err != nil {
			return checks, err
		}
		counts, err := st.MirrorCounts(ctx, account, t.ID)
		if err != nil {
			return checks, err
		}
		state, err := st.GetSyncState(ctx, account, t.ID)
		if err != nil {
			continue // never synced
		}
		checks++
		if cursors[tenantsync.KindUsers] != "" && counts[tenantsync.KindUsers] == 0 {
			return checks, fmt.Errorf("tenant %s: a users cursor without a users mirror", t.ID)
		}
		if !state.LastSuccess.IsZero() {
			for k, n := range state.Counts {
				checks++
				if counts[k] != n {
					return checks, fmt.Errorf("tenant %s: the sync state counts %d %s, the mirror holds %d", t.ID, n, k, counts[k])
				}
			}
		}
	}
	return checks, nil
}
