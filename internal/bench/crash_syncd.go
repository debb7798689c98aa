package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tenantsync/tenantsync/store/sqlite"
)

// syncdAccount is the daemon's default account.
const syncdAccount = "demo-msp"

// runCrashSyncd builds ./examples/syncd and kills it with SIGKILL while its initial sync runs
// (its demo has one large tenant, whose sync a kill always interrupts), checks the SQLite
// store after every kill, and finally lets a restart finish its sync.
func runCrashSyncd(ctx context.Context, out io.Writer, o options) error {
	started := time.Now()
	dir, err := os.MkdirTemp("", "tenantsync-crash-syncd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "syncd")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/syncd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building ./examples/syncd (run from the repository root): %w", err)
	}
	data := filepath.Join(dir, "data")
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	args := []string{"-data-dir", data, "-listen", addr, "-demo-tenants", "12", "-demo-huge-users", fmt.Sprint(o.syncdHuge), "-no-progress"}
	rng := rand.New(rand.NewPCG(uint64(o.seed), 41))
	fmt.Fprintf(out, "crash recovery (examples/syncd): %s, SIGKILL during the initial sync, %d times in a row\n", strings.Join(args[2:], " "), o.crashKills)
	logf, err := os.Create(filepath.Join(dir, "syncd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()

	kills, late, checks := 0, 0, 0
	var killAt []string
	for kills < o.crashKills {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return err
		}
		if _, err := waitHealth(ctx, addr, 2*time.Minute, ""); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fmt.Errorf("run %d: %w (log: %s)", kills+late+1, err, logf.Name())
		}
		delay := time.Duration(200+rng.IntN(3000)) * time.Millisecond
		time.Sleep(delay)
		state, _ := health(addr)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if state == "running" {
			kills++
			killAt = append(killAt, ms(delay))
		} else {
			late++
		}
		keys, err := syncdKeys(data)
		if err != nil {
			return err
		}
		st, err := sqlite.Open(ctx, filepath.Join(data, "tenantsync.db"), sqlite.Config{Keys: keys})
		if err != nil {
			return fmt.Errorf("after kill %d: opening the store: %w", kills, err)
		}
		n, err := checkConsistency(ctx, st, syncdAccount)
		st.Close()
		checks += n
		if err != nil {
			return fmt.Errorf("after kill %d: %w", kills, err)
		}
	}

	// A restart that is left alone finishes its initial sync.
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	finalStart := time.Now()
	_, err = waitHealth(ctx, addr, 15*time.Minute, "done")
	took := time.Since(finalStart)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if err != nil {
		return fmt.Errorf("final run: %w", err)
	}
	keys, err := syncdKeys(data)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(data, "tenantsync.db"), sqlite.Config{Keys: keys})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := checkConsistency(ctx, st, syncdAccount)
	checks += n
	if err != nil {
		return fmt.Errorf("after the final run: %w", err)
	}
	tenants, err := st.Account(syncdAccount).Tenants.List(ctx)
	if err != nil {
		return err
	}
	linked, synced, ok := 0, 0, 0
	for _, t := range tenants {
		if !t.Linked() {
			continue
		}
		linked++
		s, err := st.Account(syncdAccount).SyncStates.Get(ctx, t.ID)
		if err != nil || s.LastFinish.IsZero() {
			continue
		}
		synced++
		if s.LastError == nil {
			ok++
		}
	}
	checks++
	if synced < linked {
		return fmt.Errorf("after the final run %d of %d linked tenants have finished a sync", synced, linked)
	}
	fmt.Fprintf(out, "crash recovery (examples/syncd) PASS: %d SIGKILLs during the initial sync in a row (at %s after /healthz answered), %d runs had finished before their kill; the store opened and verified after every kill; the final restart finished its sync in %s (%d linked tenants synced to the end, %d without error); %d checks, %s\n",
		kills, strings.Join(killAt, ", "), late, secs(took), synced, ok, checks, secs(time.Since(started)))
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// health returns the daemon's initialSync state ("running" or "done").
func health(addr string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var h struct {
		Status      string `json:"status"`
		InitialSync string `json:"initialSync"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return "", err
	}
	return h.InitialSync, nil
}

// waitHealth polls /healthz until it answers (and, when want is set, reports that state).
func waitHealth(ctx context.Context, addr string, limit time.Duration, want string) (string, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if st, err := health(addr); err == nil && (want == "" || st == want) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return "", errors.New("the daemon did not become healthy in time")
}
