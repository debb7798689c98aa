package memory

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// memStage is a tenant's staging area: one per tenant, as one run syncs a tenant at a time.
type memStage struct {
	id    string
	kinds map[tenantsync.Kind]map[string]kit.StagedItem
}

// staged runs fn on the tenant's stage named id; ErrInvalidInput when the tenant has no such
// stage (discarded, or replaced by a later run's).
func (s *backend) staged(op, acct, tenantID, id string, fn func(t *tenant, st *memStage) error) error {
	return s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		if t.stage == nil || t.stage.id != id {
			return kit.NoStage(op, tenantID, id)
		}
		return fn(t, t.stage)
	})
}

// StageOpen implements the stage backend.
func (s *backend) StageOpen(_ context.Context, acct, tenantID, id string) error {
	return s.inTenant("Stage", acct, tenantID, func(_ *account, t *tenant) error {
		t.stage = &memStage{id: id, kinds: map[tenantsync.Kind]map[string]kit.StagedItem{}}
		return nil
	})
}

// KeepsValues implements kit.ValueKeeper: staged items arrive with their values, which reads
// copy out as the mirror's do.
func (s *backend) KeepsValues() bool { return true }

// StagePut implements the stage backend.
func (s *backend) StagePut(_ context.Context, acct, tenantID, id string, kind tenantsync.Kind, items []kit.StagedItem, removed []string, mode tenantsync.Mode) error {
	return s.staged("Stage.Put", acct, tenantID, id, func(_ *tenant, st *memStage) error {
		m := st.kinds[kind]
		if m == nil {
			m = map[string]kit.StagedItem{}
			st.kinds[kind] = m
		}
		for _, it := range items {
			m[it.ID] = it
		}
		for _, rid := range removed {
			if mode == tenantsync.Changes {
				m[rid] = kit.StagedItem{Item: kit.Item{ID: rid}, Removed: true}
			} else {
				delete(m, rid)
			}
		}
		return nil
	})
}

// StageReset implements the stage backend.
func (s *backend) StageReset(_ context.Context, acct, tenantID, id string, kind tenantsync.Kind) error {
	return s.staged("Stage.Reset", acct, tenantID, id, func(_ *tenant, st *memStage) error {
		delete(st.kinds, kind)
		return nil
	})
}

// StageCount implements the stage backend.
func (s *backend) StageCount(_ context.Context, acct, tenantID, id string, kind tenantsync.Kind) (int, error) {
	n := 0
	err := s.staged("Stage.Count", acct, tenantID, id, func(_ *tenant, st *memStage) error {
		for _, it := range st.kinds[kind] {
			if !it.Removed {
				n++
			}
		}
		return nil
	})
	return n, err
}

// StageRead implements the stage backend.
func (s *backend) StageRead(_ context.Context, acct, tenantID, id string, kind tenantsync.Kind, after string, limit int) ([]kit.StagedItem, error) {
	var out []kit.StagedItem
	err := s.staged("Stage.Read", acct, tenantID, id, func(_ *tenant, st *memStage) error {
		m := st.kinds[kind]
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k <= after {
				continue
			}
			if len(out) == limit {
				break
			}
			out = append(out, m[k])
		}
		return nil
	})
	return out, err
}

// StageLoss implements the stage backend.
func (s *backend) StageLoss(_ context.Context, acct, tenantID, id string, kind tenantsync.Kind, mode tenantsync.Mode) (store.StagedLoss, error) {
	const op = "Stage.Loss"
	var out store.StagedLoss
	err := s.staged(op, acct, tenantID, id, func(t *tenant, st *memStage) error {
		staged := st.kinds[kind]
		mirror := t.mirror[kind]
		out.Of = len(mirror)
		for mid := range mirror {
			e, ok := staged[mid]
			if (mode == tenantsync.Complete && (!ok || e.Removed)) || (mode == tenantsync.Changes && ok && e.Removed) {
				out.Removed = append(out.Removed, mid)
			}
		}
		if kind == tenantsync.KindUsers {
			for sid, e := range staged {
				m, ok := mirror[sid]
				if e.Removed || !e.Blocked || !ok {
					continue
				}
				u, err := kit.DecodeUser(op, m)
				if err != nil {
					return err
				}
				if u.AccountEnabled {
					out.Disabled = append(out.Disabled, sid)
				}
			}
		}
		return nil
	})
	slices.Sort(out.Removed)
	slices.Sort(out.Disabled)
	return out, err
}

// StageDiscard implements the stage backend.
func (s *backend) StageDiscard(_ context.Context, acct, tenantID, id string) error {
	err := s.inTenant("Stage.Discard", acct, tenantID, func(_ *account, t *tenant) error {
		if t.stage != nil && t.stage.id == id {
			t.stage = nil
		}
		return nil
	})
	if kit.IsNotFound(err) {
		return nil
	}
	return err
}

// stagedEntries returns the stage's items and removals of a staged apply, by ID order.
func stagedEntries(op string, t *tenant, ch store.KindApply) ([]kit.Item, []string, error) {
	if t.stage == nil || t.stage.id != ch.Stage {
		return nil, nil, kit.NoStage(op, t.rec.ID, ch.Stage)
	}
	m := t.stage.kinds[ch.Result.Kind]
	var items []kit.Item
	var removed []string
	for _, k := range slices.SortedFunc(maps.Keys(m), strings.Compare) {
		if e := m[k]; e.Removed {
			removed = append(removed, k)
		} else {
			items = append(items, e.Item)
		}
	}
	return items, removed, nil
}
