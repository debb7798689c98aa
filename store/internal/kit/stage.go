package kit

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// stageBackend is what a store writes once to stage a kind's items page by page.
type stageBackend interface {
	// StageOpen drops whatever earlier runs left staged for the tenant and records a new stage.
	StageOpen(ctx context.Context, account, tenantID, stage string) error
	StagePut(ctx context.Context, account, tenantID, stage string, kind tenantsync.Kind, items []StagedItem, removed []string, mode tenantsync.Mode) error
	StageReset(ctx context.Context, account, tenantID, stage string, kind tenantsync.Kind) error
	StageCount(ctx context.Context, account, tenantID, stage string, kind tenantsync.Kind) (int, error)
	StageRead(ctx context.Context, account, tenantID, stage string, kind tenantsync.Kind, after string, limit int) ([]StagedItem, error)
	StageLoss(ctx context.Context, account, tenantID, stage string, kind tenantsync.Kind, mode tenantsync.Mode) (store.StagedLoss, error)
	StageDiscard(ctx context.Context, account, tenantID, stage string) error
}

// StagedItem is one staged entry: an item as the mirror would store it, or a removal.
type StagedItem struct {
	Item
	// Removed marks a removal a change set stages (the item has no data).
	Removed bool
	// Blocked is set for a user whose sign-in is blocked, so the deletion guard's loss is one
	// query.
	Blocked bool
}

// MaxStageRead bounds Stage.Read's page.
const MaxStageRead = 1000

// StagePage encodes a page for staging: its items (with their values, with keep), and which
// users are blocked.
func StagePage(op, tenantID string, page *tenantsync.KindResult, keep bool) ([]StagedItem, error) {
	if _, err := checkApply(op, store.KindApply{Result: page}); err != nil {
		return nil, err
	}
	items, err := encode(op, tenantID, page, keep)
	if err != nil {
		return nil, err
	}
	var blocked map[string]bool
	if page.Kind == tenantsync.KindUsers {
		// By ID, the last one winning as in Encode.
		blocked = make(map[string]bool, len(page.Users))
		for _, u := range page.Users {
			blocked[u.ObjectID] = !u.AccountEnabled
		}
	}
	out := make([]StagedItem, len(items))
	for i, it := range items {
		out[i] = StagedItem{Item: it, Blocked: blocked[it.ID]}
	}
	return out, nil
}

// StagedResult decodes staged entries of kind into a result: items in the kind's slice,
// removals in Removed.
func StagedResult(op string, kind tenantsync.Kind, mode tenantsync.Mode, entries []StagedItem) (*tenantsync.KindResult, error) {
	var items []Item
	var removed []string
	for _, e := range entries {
		if e.Removed {
			removed = append(removed, e.ID)
		} else {
			items = append(items, e.Item)
		}
	}
	r, err := Decode(op, kind, "", items)
	if err != nil {
		return nil, err
	}
	r.Mode, r.Removed = mode, removed
	return r, nil
}

// stage is a store.Stage over a backend.
type stage struct {
	b       stageBackend
	account string
	tenant  string
	id      string
}

// Stage implements store.Stager.
func (s mirror) Stage(ctx context.Context, tenantID string) (store.Stage, error) {
	if err := store.CheckTenant("Stage", s.account, tenantID); err != nil {
		return nil, err
	}
	st := &stage{b: s.b, account: s.account, tenant: tenantID, id: "stage-" + uuid.NewString()}
	if err := s.b.StageOpen(ctx, s.account, tenantID, st.id); err != nil {
		return nil, err
	}
	return st, nil
}

var _ store.Stager = mirror{}

func (s *stage) ID() string { return s.id }

func (s *stage) Put(ctx context.Context, page *tenantsync.KindResult) error {
	const op = "Stage.Put"
	if page == nil {
		return store.Invalid(op, "pass the page's KindResult", "no page")
	}
	items, err := StagePage(op, s.tenant, page, keepsValues(s.b))
	if err != nil {
		return err
	}
	return s.b.StagePut(ctx, s.account, s.tenant, s.id, page.Kind, items, page.Removed, page.Mode)
}

func (s *stage) Reset(ctx context.Context, kind tenantsync.Kind) error {
	return s.b.StageReset(ctx, s.account, s.tenant, s.id, kind)
}

func (s *stage) Count(ctx context.Context, kind tenantsync.Kind) (int, error) {
	return s.b.StageCount(ctx, s.account, s.tenant, s.id, kind)
}

func (s *stage) Read(ctx context.Context, kind tenantsync.Kind, after string, limit int) (*tenantsync.KindResult, string, error) {
	const op = "Stage.Read"
	if limit <= 0 || limit > MaxStageRead {
		limit = MaxStageRead
	}
	entries, err := s.b.StageRead(ctx, s.account, s.tenant, s.id, kind, after, limit)
	if err != nil {
		return nil, "", err
	}
	r, err := StagedResult(op, kind, tenantsync.Complete, entries)
	if err != nil {
		return nil, "", err
	}
	last := ""
	if n := len(entries); n > 0 {
		last = entries[n-1].ID
	}
	return r, last, nil
}

func (s *stage) Loss(ctx context.Context, kind tenantsync.Kind, mode tenantsync.Mode) (store.StagedLoss, error) {
	return s.b.StageLoss(ctx, s.account, s.tenant, s.id, kind, mode)
}

func (s *stage) Discard(ctx context.Context) error {
	return s.b.StageDiscard(ctx, s.account, s.tenant, s.id)
}

// NoStage is the error of a staged apply or stage call naming a stage the tenant does not have.
func NoStage(op, tenantID, id string) error {
	return store.Invalid(op, "open a stage with Stager.Stage and apply it in the same sync run, before Discard; a later run's Stage replaces it",
		"tenant %s has no stage %q", tenantID, id)
}

// IsNotFound reports whether err is of kind ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, tenantsync.ErrNotFound) }
