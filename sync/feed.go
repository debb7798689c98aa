package sync

import (
	"encoding/json"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// feedChanges are the change-feed entries only the engine knows of, committed with the
// tenant's sync: what it did to the PSA's contacts and what the deletion guard decided. The
// store records the mirror, link and review changes of the same commit itself.
func feedChanges(rc *reconcileOutcome, guarded []guardOutcome) ([]store.Change, error) {
	var out []store.Change
	if rc != nil {
		for _, ev := range rc.events {
			switch ev.Type {
			case EventContactLinked, EventContactCreated, EventContactUpdated, EventContactDeactivated, EventContactReactivated:
				out = append(out, store.Change{Type: store.ChangeContact, Kind: tenantsync.KindUsers, ItemID: ev.UserID,
					ClientID: ev.ClientID, ContactID: ev.ContactID, Action: strings.TrimPrefix(string(ev.Type), "contact.")})
			}
		}
	}
	for _, g := range guarded {
		if g.prev != nil {
			var how string
			switch g.ended {
			case holdReleased:
				how = "applied_released"
			case holdConfirmed:
				how = "applied_confirmed"
			case holdDisarmed:
				how = "applied_guard_off"
			case holdCleared:
				how = "cleared"
			}
			if how != "" {
				data, err := json.Marshal(g.prev)
				if err != nil {
					return nil, err
				}
				out = append(out, store.Change{Type: store.ChangeHoldEnded, Kind: g.kind, Action: how, Data: data})
			}
		}
		if g.placed && g.hold != nil {
			data, err := json.Marshal(g.hold)
			if err != nil {
				return nil, err
			}
			out = append(out, store.Change{Type: store.ChangeHoldPlaced, Kind: g.kind, Data: data})
		}
	}
	return out, nil
}
