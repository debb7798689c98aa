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
	"strconv"
	"strings"
	stdsync "sync"
	"syscall"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

// engineInput is what the engine child (the daemon stand-in) gets.
type engineInput struct {
	Endpoints endpoints
	Dir       string
	Offset    time.Duration // the engine clock's lead, so every tenant is due and past its cooldown
	// PSAKill, when set, makes the engine kill itself right after the PSAKillAfter-th PSA call
	// of this kind succeeded (psaKillModes), before its tenant's sync commits.
	PSAKill      string
	PSAKillAfter int
}

const crashInstance = "crash-daemon"

// openCrashStore opens the daemon's SQLite file with a clock ahead by offset.
func openCrashStore(ctx context.Context, dir string, clock *offsetClock) (*sqlite.Store, error) {
	return sqlite.Open(ctx, filepath.Join(dir, "tenantsync.db"), sqlite.Config{Keys: benchKeys(), Now: clock.Now})
}

// crashEngine builds the engine of a crash run on the store; contacts nil means the store's own
// directory.
func crashEngine(st *sqlite.Store, e endpoints, clock *offsetClock, contacts tenantsync.Contacts) (*sync.Engine, error) {
	hc, err := e.httpClient()
	if err != nil {
		return nil, err
	}
	cl, err := newClients(e, hc, transport.NewBudget(0), graph.MailboxesPerUser)
	if err != nil {
		return nil, err
	}
	return sync.New(sync.Config{Store: st, Account: account, Sources: []tenantsync.Source{cl.graphSrc},
		Contacts: contacts, Clock: clock, AutoCreate: true, InstanceID: crashInstance,
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
	// The PSA is the store's directory, in the same SQLite file: what it carried out before a
	// kill is there after it. Its clients are the store's client list.
	var contacts tenantsync.Contacts
	if in.PSAKill != "" {
		dir := store.ContactsFor(st.Directory(account))
		lookup, _ := dir.(tenantsync.ClientLookup)
		contacts = &killingContacts{Contacts: dir, lookup: lookup, mode: in.PSAKill, after: max(in.PSAKillAfter, 1)}
	}
	eng, err := crashEngine(st, in.Endpoints, clock, contacts)
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
		if err := st.Directory(account).PutClient(ctx, tenantsync.Client{ID: clientID(i), Name: "Client " + strconv.Itoa(i)}); err != nil {
			return err
		}
		reqs = append(reqs, sync.LinkRequest{TenantID: id, ClientID: clientID(i)})
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
	fmt.Fprintf(out, "crash recovery: %s, SQLite, the engine process killed with SIGKILL at random points during sync (uniform over a sync's length), %d times, and by itself right after a PSA call and before its commit, %d times, in a row\n",
		p, o.crashKills, o.crashPSAKills)

	// The kills, in a random order: "" for a kill at a random moment, or a PSA call to die after.
	var schedule []string
	for range o.crashKills {
		schedule = append(schedule, "")
	}
	for i := range o.crashPSAKills {
		schedule = append(schedule, psaKillModes()[i%len(psaKillModes())])
	}
	rng.Shuffle(len(schedule), func(i, j int) { schedule[i], schedule[j] = schedule[j], schedule[i] })

	var offset time.Duration
	kills, late, checks, psaMissed := 0, 0, 0, 0
	psaKills := map[string]int{}
	var killAt []string
	// Kills fall uniformly within the time a sync takes; a run that ends before its kill
	// teaches the harness how long a sync lasts now.
	span := 2500 * time.Millisecond
	for runs := 0; len(schedule) > 0; runs++ {
		if runs > 4*(o.crashKills+o.crashPSAKills) {
			return fmt.Errorf("%d runs ended before their kill: the kills left (%q) never came", late+psaMissed, schedule)
		}
		mode := schedule[0]
		offset += 2 * time.Hour
		changeSome(w, rng)
		addNewcomers(w, rng)
		in := engineInput{Endpoints: e, Dir: dir, Offset: offset}
		var delay time.Duration
		if mode == "" {
			delay = time.Duration(rng.Int64N(int64(span)))
		} else {
			in.PSAKill, in.PSAKillAfter = mode, 1+rng.IntN(3)
		}
		res, err := runEngineChild(ctx, in, delay)
		if err != nil {
			return fmt.Errorf("run %d: %w", runs+1, err)
		}
		switch {
		case res.finished && mode == "":
			span = max(10*time.Millisecond, res.took*9/10)
			late++ // the sync ended before the kill: not a kill during sync
		case res.finished:
			psaMissed++ // the run made fewer such PSA calls: it tries again
		case mode == "":
			kills++
			killAt = append(killAt, ms(delay))
			schedule = schedule[1:]
		default:
			if res.psa == nil {
				return fmt.Errorf("run %d: the engine died without reporting its PSA call", runs+1)
			}
			kills++
			psaKills[mode]++
			killAt = append(killAt, "after "+mode)
			schedule = schedule[1:]
		}
		// After each kill: the store opens (migrations), verifies, agrees with itself, and a sync
		// on it completes; after a PSA-call kill, of the tenant whose call it was, whose
		// contacts must then be linked, once each.
		var n int
		if res.psa != nil {
			n, err = checkPSAKill(ctx, dir, e, w, offset+time.Hour, *res.psa)
		} else {
			n, err = checkStore(ctx, dir, e, offset+time.Hour, e.Tenants[rng.IntN(len(e.Tenants))])
		}
		checks += n
		if err != nil {
			return fmt.Errorf("after kill %d (%s): %w", kills, killAt[len(killAt)-1], err)
		}
	}
	// The restart after the last kill runs to the end and reaches the truth.
	offset += 2 * time.Hour
	res, err := runEngineChild(ctx, engineInput{Endpoints: e, Dir: dir, Offset: offset}, 0)
	if err != nil {
		return err
	}
	if !res.finished {
		return errors.New("the final run did not finish")
	}
	n, fig, err := checkTruth(ctx, dir, w, offset)
	checks += n
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "crash recovery PASS: %d SIGKILLs during sync in a row (%s), %d of them right after a PSA call and before the commit (%d after a create, %d after a create of a contact without email, %d after a set-active), %d runs ended before their kill, every restart opened the store, verified the audit chain, found cursors and mirrors agreeing and completed a sync, and after each PSA-call kill the contact it wrote was its user's only one and linked; final run converged to the truth (mirrors and contacts): %d contacts (%d without email), no user with two, every one linked; %d checks, %s\n",
		kills, strings.Join(killAt, ", "), psaKills[psaKillCreate]+psaKills[psaKillCreateNoMail]+psaKills[psaKillActivate],
		psaKills[psaKillCreate], psaKills[psaKillCreateNoMail], psaKills[psaKillActivate], late+psaMissed,
		fig.contacts, fig.noMail, checks, secs(time.Since(started)))
	return nil
}

// childResult is how an engine child's run ended.
type childResult struct {
	finished bool          // its syncs ended before any kill
	took     time.Duration // how long they took, when finished
	psa      *psaKill      // the PSA call after which it killed itself
}

// runEngineChild starts the engine child and, when delay > 0, SIGKILLs it delay after it
// started syncing. It reports whether the child finished its syncs before the kill, how long
// they took, and the PSA call after which the child killed itself, if it did.
func runEngineChild(ctx context.Context, in engineInput, delay time.Duration) (childResult, error) {
	self, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	data, err := json.Marshal(in)
	if err != nil {
		return childResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", "engine")
	cmd.Stdin = strings.NewReader(string(data))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return childResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return childResult{}, err
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
	var psa *psaKill
	for l := range lines {
		if k, ok := parsePSAKill(l); ok {
			psa = &k
		}
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
		return childResult{finished: true, took: took}, nil
	case done:
		return childResult{finished: true, took: took}, fmt.Errorf("engine process: %w: %s", err, stderr.String())
	case killed:
		return childResult{psa: psa}, nil
	}
	return childResult{}, fmt.Errorf("engine process ended without finishing: %v: %s", err, stderr.String())
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
// verifies, every kind's cursor and mirror agree with the stored sync state, and a sync of the
// tenant t completes on it.
func checkStore(ctx context.Context, dir string, e endpoints, offset time.Duration, t string) (int, error) {
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
	eng, err := crashEngine(st, e, clock, nil)
	if err != nil {
		return checks, err
	}
	defer eng.Close(context.Background())
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

// checkTruth compares the final mirrors and contacts with the World.
func checkTruth(ctx context.Context, dir string, w *testserver.World, offset time.Duration) (int, contactFigures, error) {
	clock := &offsetClock{}
	clock.Advance(offset)
	st, err := openCrashStore(ctx, dir, clock)
	if err != nil {
		return 0, contactFigures{}, err
	}
	defer st.Close()
	checks, err := checkConsistency(ctx, st, account)
	if err != nil {
		return checks, contactFigures{}, fmt.Errorf("after the final run: %w", err)
	}
	var fig contactFigures
	for _, t := range w.Tenants {
		kr, err := st.Account(account).Mirror.ReadKind(ctx, t.ID, tenantsync.KindUsers)
		if err != nil {
			return checks, fig, err
		}
		mirrored := map[string]tenantsync.User{}
		for _, u := range kr.Users {
			mirrored[u.ObjectID] = u
		}
		live := t.ActiveUsers()
		checks++
		if len(mirrored) != len(live) {
			return checks, fig, fmt.Errorf("tenant %s: %d users mirrored, %d in the truth", t.ID, len(mirrored), len(live))
		}
		for _, u := range live {
			checks++
			m, ok := mirrored[u.ID]
			if !ok || m.AccountEnabled != u.AccountEnabled || m.JobTitle != u.JobTitle {
				return checks, fig, fmt.Errorf("tenant %s: user %s differs from the truth", t.ID, u.ID)
			}
		}
	}
	// No user has two contacts, every contact is linked to its user, and every linked contact
	// is active exactly when its user exists and is enabled.
	n, fig, err := checkContacts(ctx, st, w, nil)
	checks += n
	if err != nil {
		return checks, fig, fmt.Errorf("after the final run: %w", err)
	}
	rep, err := st.Account(account).Audit.Verify(ctx, nil)
	checks++
	if err != nil || !rep.OK() {
		return checks, fig, fmt.Errorf("audit chain: %+v %v", rep, err)
	}
	return checks, fig, nil
}

// checkConsistency verifies a store reopened after a kill: the audit chain verifies, and for
// every tenant a users cursor has a users mirror and the stored sync state counts what the
// mirror holds (cursor, mirror and state are committed in one transaction).
func checkConsistency(ctx context.Context, st *sqlite.Store, account string) (int, error) {
	checks := 1 // the open itself: migrations applied
	rep, err := st.Account(account).Audit.Verify(ctx, nil)
	if err != nil {
		return checks, err
	}
	checks++
	if !rep.OK() {
		return checks, fmt.Errorf("audit chain broken: %+v", rep)
	}
	tenants, err := st.Account(account).Tenants.List(ctx)
	if err != nil {
		return checks, err
	}
	for _, t := range tenants {
		cursors, err := st.Account(account).Mirror.Cursors(ctx, t.ID)
		if err != nil {
			return checks, err
		}
		counts, err := st.Account(account).Mirror.Counts(ctx, t.ID)
		if err != nil {
			return checks, err
		}
		state, err := st.Account(account).SyncStates.Get(ctx, t.ID)
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
