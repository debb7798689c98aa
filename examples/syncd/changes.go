package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// The change feed, served two ways: GET /api/changes for a PSA that polls with its own cursor,
// and signed webhooks pushed to one endpoint, each page of changes retried until the endpoint
// takes it. Both are at least once: an entry's ID stays the same however often it arrives.

// changesPage is the answer of GET /api/changes.
type changesPage struct {
	Changes []store.Change `json:"changes"`
	// Next is the cursor to pass as after next time: the last entry's Seq, or after itself
	// when there was none.
	Next int64 `json:"next"`
	Head int64 `json:"head"`
}

// changes serves GET /api/changes?after=<seq>&limit=<n>.
func (a *api) changes(w http.ResponseWriter, r *http.Request) {
	const usage = "pass after=<seq of the last change you handled> (0 to start) and optionally limit=1..1000"
	var after int64
	limit := 100
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			badRequest(w, usage, "after=%q is not a sequence number", v)
			return
		}
		after = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxChangesPage {
			badRequest(w, usage, "limit=%q is not 1 to %d", v, store.MaxChangesPage)
			return
		}
		limit = n
	}
	feed := a.store.Account(a.account).Feed
	head, err := feed.Head(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	cs, err := feed.Changes(r.Context(), after, limit)
	if err != nil {
		if errors.Is(err, tenantsync.ErrCursorExpired) {
			// The entries after the cursor are gone: the consumer must resync, as the hint says.
			failStatus(w, http.StatusGone, err)
			return
		}
		fail(w, err)
		return
	}
	page := changesPage{Changes: wireChanges(cs), Next: after, Head: head}
	if len(cs) > 0 {
		page.Next = cs[len(cs)-1].Seq
		page.Head = max(head, page.Next)
	}
	writeJSON(w, http.StatusOK, page)
}

// webhookDeliveries serves GET /api/webhooks/deliveries: the endpoint, its state and the
// recent delivery attempts, newest last.
func (a *api) webhookDeliveries(w http.ResponseWriter, _ *http.Request) {
	if a.deliverer == nil {
		writeJSON(w, http.StatusOK, map[string]any{"configured": false,
			"hint": "set -webhook-url and $TENANTSYNC_WEBHOOK_SECRET (or -webhook-secret-file) to push the change feed"})
		return
	}
	writeJSON(w, http.StatusOK, a.deliverer.status())
}

// Webhook headers. The signature header is Stripe's scheme: t is the Unix time of the
// attempt, v1 the hex HMAC-SHA256 of "<t>.<body>" under the shared secret. A receiver
// recomputes it, compares in constant time and refuses a t too far from its clock, which stops
// a captured delivery being replayed later.
const (
	signatureHeader = "Tenantsync-Signature"
	deliveryHeader  = "Tenantsync-Delivery"
	// signatureTolerance is how far from the receiver's clock a signature's time may be.
	signatureTolerance = 5 * time.Minute
)

// signWebhook returns the signature header value of body sent at t.
func signWebhook(secret tenantsync.Secret, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

func webhookMAC(secret tenantsync.Secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// verifyWebhook checks a delivery's signature header against body, as a receiver does: one of
// its v1 values must be the HMAC of its t and body, and t within tolerance of now.
func verifyWebhook(secret tenantsync.Secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("signature header is not t=<unix time>,v1=<hex HMAC-SHA256>")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature time is %s from now, more than %s", d.Round(time.Second), tolerance)
	}
	want := webhookMAC(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("no signature matches the body under the shared secret")
}

// webhookBody is what one delivery posts.
type webhookBody struct {
	ID      string         `json:"id"` // the delivery, the same on every attempt
	Account string         `json:"account"`
	Changes []store.Change `json:"changes"`
}

// delivery is one attempt in the delivery log.
type delivery struct {
	ID       string    `json:"id"`
	First    int64     `json:"first"` // the Seq of the first and last change delivered
	Last     int64     `json:"last"`
	Attempt  int       `json:"attempt"`
	At       time.Time `json:"at"`
	Status   int       `json:"status,omitempty"` // the endpoint's HTTP status, 0 when it did not answer
	Outcome  string    `json:"outcome"`          // delivered, retrying, gave_up
	Error    string    `json:"error,omitempty"`
	TookMS   int64     `json:"tookMs"`
	RetryAt  time.Time `json:"retryAt,omitzero"`
	Changes  int       `json:"changes"`
	Endpoint string    `json:"-"`
}

// retryPolicy spaces the attempts of one page: First after the first failure, doubling up to
// Max, until GiveUp after the first failure.
type retryPolicy struct {
	First, Max, GiveUp time.Duration
}

// defaultRetry retries for a day, as Stripe does for three: 30s, 1m, 2m, ... then hourly,
// about 30 attempts in all.
var defaultRetry = retryPolicy{First: 30 * time.Second, Max: time.Hour, GiveUp: 24 * time.Hour}

// wait is the pause after the n-th failed attempt (n from 1).
func (p retryPolicy) wait(n int) time.Duration {
	d := p.First
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// maxDeliveryLog is how many attempts the in-memory log keeps; the file keeps them all.
const maxDeliveryLog = 200

// webhook pushes the account's change feed to one endpoint. Its cursor is a file in the data
// directory written only after the endpoint answered 2xx, so a process killed between a commit
// and its delivery (or during one) delivers the same page again when it restarts: at least
// once, never zero times.
type webhook struct {
	url     string
	secret  tenantsync.Secret
	account string
	feed    store.ChangeFeed
	client  *http.Client
	log     *slog.Logger
	retry   retryPolicy
	page    int
	poll    time.Duration
	now     func() time.Time
	// cursorFile holds the Seq of the last change the endpoint took; logFile the delivery
	// log, one JSON attempt per line. Both are named after the endpoint, so pointing the
	// daemon elsewhere starts a new endpoint from the oldest change kept.
	cursorFile string
	logFile    string

	mu     gosync.Mutex
	state  string // running, gave_up, resync_needed, stopped
	cursor int64
	recent []delivery
}

// newWebhook prepares delivery of account's feed to url, keeping its cursor and log in dir.
func newWebhook(url string, secret tenantsync.Secret, account string, feed store.ChangeFeed, dir string, log *slog.Logger) *webhook {
	sum := sha256.Sum256([]byte(url))
	name := "webhook-" + hex.EncodeToString(sum[:4])
	return &webhook{
		url: url, secret: secret, account: account, feed: feed, log: log, retry: defaultRetry, page: 100, poll: 2 * time.Second,
		now:        time.Now,
		client:     &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		cursorFile: filepath.Join(dir, name+".cursor"),
		logFile:    filepath.Join(dir, name+".log"),
		state:      "running",
	}
}

// status is what GET /api/webhooks/deliveries shows. The secret is not part of it.
func (h *webhook) status() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return map[string]any{"configured": true, "endpoint": h.url, "state": h.state, "cursor": h.cursor,
		"deliveries": append([]delivery{}, h.recent...), "log": filepath.Base(h.logFile)}
}

func (h *webhook) setState(s string) {
	h.mu.Lock()
	h.state = s
	h.mu.Unlock()
}

// readCursor returns the saved cursor and whether there was one.
func (h *webhook) readCursor() (int64, bool, error) {
	b, err := os.ReadFile(h.cursorFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("webhook cursor file %s is corrupt: %q (delete it to deliver every change kept again)", h.cursorFile, b)
	}
	return n, true, nil
}

// saveCursor replaces the cursor file atomically and durably: a crash leaves the old cursor or
// the new one, never a torn file.
func (h *webhook) saveCursor(seq int64) error {
	tmp := h.cursorFile + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.FormatInt(seq, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, h.cursorFile); err != nil {
		return err
	}
	h.mu.Lock()
	h.cursor = seq
	h.mu.Unlock()
	return nil
}

// record adds an attempt to the log, in memory and in the file.
func (h *webhook) record(d delivery) {
	h.mu.Lock()
	h.recent = append(h.recent, d)
	if len(h.recent) > maxDeliveryLog {
		h.recent = h.recent[len(h.recent)-maxDeliveryLog:]
	}
	h.mu.Unlock()
	line, _ := json.Marshal(d)
	f, err := os.OpenFile(h.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.Write(append(line, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		h.log.Warn("webhook delivery log", "err", err)
	}
}

// run delivers until ctx ends, the endpoint refused a page for GiveUp, or the cursor fell
// behind the feed's retention.
func (h *webhook) run(ctx context.Context) {
	cursor, saved, err := h.readCursor()
	if err != nil {
		h.log.Error("webhook", "err", err)
		h.setState("stopped")
		return
	}
	h.mu.Lock()
	h.cursor = cursor
	h.mu.Unlock()
	for ctx.Err() == nil {
		page, err := h.feed.Changes(ctx, cursor, h.page)
		var ce *store.FeedCursorError
		switch {
		case errors.As(err, &ce) && !saved && ce.After < ce.Oldest:
			// A new endpoint starts from the oldest change kept.
			cursor = ce.Oldest - 1
			continue
		case errors.As(err, &ce):
			h.log.Error("webhook cursor expired: the endpoint missed changes retention removed", "endpoint", h.url,
				"cursor", cursor, "oldest", ce.Oldest, "hint", tenantsync.HintOf(err)+"; then delete "+h.cursorFile+" and restart")
			h.setState("resync_needed")
			return
		case err != nil:
			h.log.Warn("webhook: reading the change feed", "err", err)
			if !sleepCtx(ctx, h.poll) {
				return
			}
			continue
		}
		if len(page) == 0 {
			if !sleepCtx(ctx, h.poll) {
				return
			}
			continue
		}
		if !h.deliver(ctx, page) {
			return
		}
		cursor, saved = page[len(page)-1].Seq, true
		if err := h.saveCursor(cursor); err != nil {
			// Delivered but not remembered: the page goes out again, which at least once allows.
			h.log.Error("webhook: saving the cursor", "err", err)
		}
	}
}

// deliver posts one page until the endpoint takes it (true), ctx ends or the retry policy
// gives up (false).
func (h *webhook) deliver(ctx context.Context, page []store.Change) bool {
	first, last := page[0].Seq, page[len(page)-1].Seq
	id := fmt.Sprintf("dlv_%d_%d", first, last)
	body, err := json.Marshal(webhookBody{ID: id, Account: h.account, Changes: wireChanges(page)})
	if err != nil {
		h.log.Error("webhook: encoding", "err", err)
		return false
	}
	var firstFailure time.Time
	for attempt := 1; ; attempt++ {
		start := h.now()
		status, err := h.post(ctx, id, body, start)
		d := delivery{ID: id, First: first, Last: last, Attempt: attempt, At: start, Status: status, Changes: len(page),
			TookMS: h.now().Sub(start).Milliseconds()}
		if err == nil {
			d.Outcome = "delivered"
			h.record(d)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if firstFailure.IsZero() {
			firstFailure = start
		}
		d.Error = err.Error()
		wait := h.retry.wait(attempt)
		if h.now().Add(wait).Sub(firstFailure) > h.retry.GiveUp {
			d.Outcome = "gave_up"
			h.record(d)
			h.log.Error("webhook: gave up after retrying for "+h.retry.GiveUp.String(), "endpoint", h.url, "delivery", id, "attempts", attempt, "err", err,
				"hint", "fix the endpoint, then restart the daemon: delivery resumes from the last page it took (GET /api/changes serves the same changes meanwhile)")
			h.setState("gave_up")
			return false
		}
		d.Outcome, d.RetryAt = "retrying", h.now().Add(wait)
		h.record(d)
		h.log.Warn("webhook delivery failed", "endpoint", h.url, "delivery", id, "attempt", attempt, "retry_in", wait, "err", err)
		if !sleepCtx(ctx, wait) {
			return false
		}
	}
}

// post sends one attempt and returns the endpoint's status; an error unless it is 2xx.
func (h *webhook) post(ctx context.Context, id string, body []byte, at time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tenantsync-syncd")
	req.Header.Set(deliveryHeader, id)
	req.Header.Set(signatureHeader, signWebhook(h.secret, at, body))
	resp, err := h.client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // the URL is in the log line already
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// sleepCtx waits d or until ctx ends, and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wireChanges renders the entries' data in the API's conventions: the item as the mirror
// stores it, its keys in lowerCamelCase (AssignedSKUs is assignedSKUs) and null values left out.
func wireChanges(cs []store.Change) []store.Change {
	out := make([]store.Change, len(cs))
	for i, c := range cs {
		if len(c.Data) > 0 {
			dec := json.NewDecoder(bytes.NewReader(c.Data))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err == nil {
				if b, err := json.Marshal(wireValue(v)); err == nil {
					c.Data = b
				}
			}
		}
		out[i] = c
	}
	return out
}

func wireValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			if e == nil {
				continue
			}
			if k != "" {
				k = strings.ToLower(k[:1]) + k[1:]
			}
			m[k] = wireValue(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = wireValue(e)
		}
		return v
	}
	return v
}
