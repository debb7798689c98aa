package sync

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// DisconnectRequest names a stored connection to remove with the links of its tenants.
type DisconnectRequest struct {
	// Connection is the stored connection's name (store.Connections).
	Connection string
	// Source is the name of the Source the connection feeds ("cipp", "graph"). The linked
	// tenants reached through it and through no other configured Source are unlinked; a
	// tenant another Source still reaches keeps its link, as its data still flows.
	Source string
	// Mode keeps (store.UnlinkKeep) or purges (store.UnlinkPurge) the unlinked tenants'
	// mirror, cursors, contact links, merges, reviews and sync state.
	Mode store.UnlinkMode
}

// Disconnection is what Disconnect changed.
type Disconnection struct {
	Connection string
	// Unlinked are the tenants unlinked, with the client each was linked to.
	Unlinked map[string]string
	// Kept are the linked tenants of the source that kept their link because another Source
	// reaches them, sorted.
	Kept []string
}

// Disconnect removes a whole connection for actor, who must hold tenantsync.PermissionManage:
// the stored authorization and the links of every tenant reached only through it, kept or
// purged as r.Mode says, in one store transaction that also appends the change to the feed
// (store.ChangeTenantUnlinked per tenant, store.ChangeDisconnected). PSA contacts are never
// touched. A tenant being synced fails the whole disconnect with ErrAlreadyRunning, and
// nothing changes. The disconnect, or its refusal, is audited; when the store does not take
// the entry, the disconnect stands and the error says so.
//
// The engine keeps the Source it was built with: the host stops using the connection (a new
// engine without it, or a restart without its credentials).
func (e *Engine) Disconnect(ctx context.Context, actor string, r DisconnectRequest) (Disconnection, error) {
	const op = "Disconnect"
	out := Disconnection{Connection: r.Connection, Unlinked: map[string]string{}}
	detail := map[string]string{"mode": r.Mode.String(), "source": r.Source}
	refuse := func(err error) (Disconnection, error) {
		return Disconnection{}, refusedAudited(err, e.auditAdmin(ctx, actor, "disconnect", "", r.Connection, "refused", err, detail))
	}
	if err := e.authorizeManage(ctx, op, actor); err != nil {
		return refuse(err)
	}
	var names []string
	for _, s := range e.sources {
		names = append(names, s.Name())
	}
	switch {
	case r.Connection == "":
		return refuse(&tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: "no connection named", Hint: "pass the name of the stored connection to disconnect"})
	case !slices.Contains(names, r.Source):
		return refuse(&tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: fmt.Sprintf("no source %q", r.Source),
			Hint:    "name the source the connection feeds, one of: " + strings.Join(names, ", ")})
	}
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return refuse(err)
	}
	var ids []string
	for _, rec := range recs {
		if !rec.Linked() || !slices.Contains(rec.Sources, r.Source) {
			continue
		}
		if slices.ContainsFunc(rec.Sources, func(s string) bool { return s != r.Source && slices.Contains(names, s) }) {
			out.Kept = append(out.Kept, rec.ID)
			continue
		}
		ids = append(ids, rec.ID)
	}
	// Every tenant's lease is taken first, so no sync stores data for a tenant that is no longer
	// linked, and none starts meanwhile.
	var held []string
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		for _, id := range held {
			_ = e.acct.Leases.Release(rctx, id, e.holder)
		}
	}()
	for _, id := range ids {
		if e.sched.running(id) {
			return refuse(alreadyRunning(id, e.holder))
		}
		if _, err := e.acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: id, Holder: e.holder, Now: e.clock.Now(), TTL: e.limits.LeaseTTL}); err != nil {
			return refuse(err)
		}
		held = append(held, id)
	}
	res, err := e.acct.Connections.Disconnect(ctx, store.DisconnectRequest{Name: r.Connection, TenantIDs: ids, Mode: r.Mode,
		Actor: actor, At: e.clock.Now()})
	if err != nil {
		return refuse(err)
	}
	out.Unlinked = res.Unlinked
	var unlinked []string
	for _, id := range slices.Sorted(maps.Keys(res.Unlinked)) {
		e.sched.forget(id)
		unlinked = append(unlinked, id)
		e.emit(Event{Type: EventTenantUnlinked, TenantID: id, ClientID: res.Unlinked[id], Actor: actor, Message: r.Mode.String()})
	}
	detail["unlinked"] = strings.Join(unlinked, ",")
	detail["kept"] = strings.Join(out.Kept, ",")
	aerr := e.auditAdmin(ctx, actor, "disconnect", "", r.Connection, "succeeded", nil, detail)
	return out, aerr
}
