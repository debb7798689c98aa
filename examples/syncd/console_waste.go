package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync/sync"
)

// The console's licence-waste section: per client, the licensed users who have not signed in
// for 30 days and the disabled users still holding licences, with the seats per SKU.

// wasteUsersShown is how many of a client's wasted users the console lists; the API pages all.
const wasteUsersShown = 20

type wasteRow struct {
	ClientID, Client string
	WastedSeats      int
	Users            []sync.WastedUser
	MoreUsers        int
	SKUs             []sync.SKUWaste
	NoSignIns        int
	NoSignInsHint    string
	Complete         bool
}

// wasteEntry is a client's report and the state of its tenants it was made at.
type wasteEntry struct {
	key    string
	report sync.LicenseWasteReport
}

// wasteRows reports the licence waste of every client with a tenant, from a cache while none
// of its tenants has finished a sync since (the report reads every mirrored user).
func (c *console) wasteRows(ctx context.Context, clientNames map[string]string) ([]wasteRow, error) {
	var out []wasteRow
	for id, clientName := range sortedNames(clientNames) {
		st, err := c.api.engine.ClientStatus(ctx, id)
		if err != nil {
			return out, err
		}
		if len(st.Tenants) == 0 {
			continue
		}
		var key strings.Builder
		for _, t := range st.Tenants {
			fmt.Fprintf(&key, "%s@%d;", t.Tenant.ID, t.State.LastFinish.UnixNano())
		}
		c.mu.Lock()
		hit, ok := c.waste[id]
		c.mu.Unlock()
		rep := hit.report
		if !ok || hit.key != key.String() {
			if rep, err = c.api.engine.LicenseWaste(ctx, sync.LicenseWasteRequest{ClientID: id}); err != nil {
				return out, err
			}
			c.mu.Lock()
			c.waste[id] = wasteEntry{key: key.String(), report: rep}
			c.mu.Unlock()
		}
		row := wasteRow{ClientID: id, Client: clientName, WastedSeats: rep.WastedSeats, SKUs: rep.SKUs,
			NoSignIns: len(rep.NoSignIns), Complete: rep.Complete}
		row.Users = rep.Users[:min(len(rep.Users), wasteUsersShown)]
		row.MoreUsers = len(rep.Users) - len(row.Users)
		if len(rep.NoSignIns) > 0 {
			row.NoSignInsHint = apiHint(rep.NoSignIns[0].Hint)
		}
		out = append(out, row)
	}
	return out, nil
}

// sortedNames yields client IDs and names in ID order.
func sortedNames(names map[string]string) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		ids := make([]string, 0, len(names))
		for id := range names {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if !yield(id, nonEmpty(names[id], id)) {
				return
			}
		}
	}
}
