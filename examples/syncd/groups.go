package main

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// groupWire is a group of a tenant as GET /api/tenants/{id}/groups answers it.
type groupWire struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	Mail        string `json:"mail,omitempty"`
	// Type is microsoft365, security, mail_enabled_security, distribution or other; the wire
	// spells it as the SDK's GroupType values, which are data, not field names.
	Type        string `json:"type"`
	MemberCount int    `json:"memberCount"`
	// Writable: members can be added and removed through the write actions (not a dynamic,
	// synced, distribution or mail-enabled security group).
	Writable bool `json:"writable"`
}

// groupList is the answer of GET /api/tenants/{id}/groups.
type groupList struct {
	Items []groupWire `json:"items"`
	// Listed is false until a sync has listed the tenant's groups: an empty list then means
	// "not known yet", not "no groups".
	Listed bool `json:"listed"`
}

func newGroupWire(g tenantsync.Group) groupWire {
	return groupWire{ID: g.ID, DisplayName: g.DisplayName, Description: g.Description, Mail: g.Mail, Type: string(g.Type),
		MemberCount: g.MemberCount, Writable: g.Writable()}
}

// tenantGroups reads a tenant's mirrored groups, sorted by name, and whether they were ever
// listed. An unknown tenant is ErrNotFound.
func (a *api) tenantGroups(ctx context.Context, tenantID string) ([]tenantsync.Group, bool, error) {
	if _, err := a.engine.Status(ctx, tenantID); err != nil {
		return nil, false, err
	}
	m := a.store.Account(a.account).Mirror
	kr, err := m.ReadKind(ctx, tenantID, tenantsync.KindGroups)
	if err != nil {
		return nil, false, err
	}
	counts, err := m.Counts(ctx, tenantID)
	if err != nil {
		return nil, false, err
	}
	_, listed := counts[tenantsync.KindGroups]
	gs := slices.Clone(kr.Groups)
	slices.SortStableFunc(gs, func(x, y tenantsync.Group) int {
		return strings.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName))
	})
	return gs, listed || len(gs) > 0, nil
}

// listGroups answers a tenant's groups by name, so a write can pick one: ?name= keeps those
// whose name contains it (case-insensitive), ?writable=true those whose members can be changed.
func (a *api) listGroups(w http.ResponseWriter, r *http.Request) {
	gs, listed, err := a.tenantGroups(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	q := r.URL.Query()
	name := strings.ToLower(strings.TrimSpace(q.Get("name")))
	writable := q.Get("writable")
	if writable != "" && writable != "true" && writable != "false" {
		badRequest(w, "pass writable=true to list only the groups whose members the write actions can change", "writable=%q is not true or false", writable)
		return
	}
	out := groupList{Items: []groupWire{}, Listed: listed}
	for _, g := range gs {
		if name != "" && !strings.Contains(strings.ToLower(g.DisplayName), name) {
			continue
		}
		if writable == "true" && !g.Writable() {
			continue
		}
		out.Items = append(out.Items, newGroupWire(g))
	}
	writeJSON(w, http.StatusOK, out)
}
