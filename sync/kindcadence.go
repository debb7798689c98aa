package sync

import (
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Default intervals of the kinds that change slowly at the service, or whose source limits how
// often it may be read (Cadence.Kinds). Users, mailboxes and domains are read at every sync:
// users through delta, where an unchanged tenant costs one round trip, mailboxes with them,
// domains in the same $batch at no extra round trip, and all three decide who is a person and
// which client a user belongs to.
const (
	// DefaultDevicesInterval: Intune devices check in every 8 hours by default, so a device's
	// state changes at most that often; reading every 4 hours halves the worst-case lag.
	DefaultDevicesInterval = 4 * time.Hour
	// DefaultSubscriptionsInterval: licences change when the MSP buys or assigns them; a new or
	// removed user also reads them at once (see Cadence.Kinds).
	DefaultSubscriptionsInterval = 6 * time.Hour
	// DefaultMFAInterval: the authentication-methods registration report allows 5 requests per
	// 10 s per tenant and has no delta, and Microsoft recomputes it in the background rather
	// than on every change; a new user also reads it at once.
	DefaultMFAInterval = 6 * time.Hour
	// DefaultBaselineInterval: Microsoft computes the secure score once a day, and conditional
	// access policies and security defaults are changed by an administrator, rarely.
	DefaultBaselineInterval = 24 * time.Hour
	// DefaultGroupsInterval: groups and their members change when an administrator (or a
	// PSA's write action) changes them, and the write form picks a group by name, so a group
	// created today should be pickable within the hour; reading member counts costs one $batch
	// per 20 groups, too much for every 10-minute sync of an active client.
	DefaultGroupsInterval = time.Hour
	// DefaultOrganizationInterval: a tenant's address, technical contacts and partner
	// relationship type are edited by hand, rarely.
	DefaultOrganizationInterval = 24 * time.Hour
	// DefaultSignInsInterval: the last sign-in serves licence-waste reports counted in days
	// (not signed in for 30, 60, 90 days), so a day's lag is below their resolution; the
	// listing pages at most 500 users and counts against the identity reports' throttling.
	DefaultSignInsInterval = 24 * time.Hour
	// DefaultMailboxUsageInterval: Microsoft refreshes the usage reports once a day (the
	// report's refresh date), and allows 14 report downloads per 10 minutes per app and tenant;
	// reading more often only reads the same day again.
	DefaultMailboxUsageInterval = 24 * time.Hour
)

// DefaultKindIntervals returns the default of Cadence.Kinds, as a map the caller owns.
func DefaultKindIntervals() map[tenantsync.Kind]time.Duration {
	return map[tenantsync.Kind]time.Duration{
		tenantsync.KindDevices:       DefaultDevicesInterval,
		tenantsync.KindSubscriptions: DefaultSubscriptionsInterval,
		tenantsync.KindMFA:           DefaultMFAInterval,
		tenantsync.KindBaseline:      DefaultBaselineInterval,
		tenantsync.KindGroups:        DefaultGroupsInterval,
		tenantsync.KindOrganization:  DefaultOrganizationInterval,
		tenantsync.KindSignIns:       DefaultSignInsInterval,
		tenantsync.KindMailboxUsage:  DefaultMailboxUsageInterval,
	}
}

// userTriggered are the kinds a change in the users calls for, whatever their interval: a new
// user needs its MFA state and may take a licence; a removed one frees its licence.
var userTriggered = []tenantsync.Kind{tenantsync.KindMFA, tenantsync.KindSubscriptions}

// kindInterval is how long kind k rests after a fetch; 0 means every sync.
func (s *scheduler) kindInterval(k tenantsync.Kind) time.Duration {
	if k == tenantsync.KindUsers {
		return 0
	}
	return max(0, s.cad.Kinds[k])
}

// dueKinds splits the tenant's enabled kinds into those this sync fetches and those resting
// after a recent fetch. A kind rests only after a fetch this process applied whole; one that
// failed, was held by the deletion guard or was never fetched here is due.
func (s *scheduler) dueKinds(tenantID string, kinds []tenantsync.Kind, now time.Time) (due, resting []tenantsync.Kind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.kindAt[tenantID]
	for _, k := range kinds {
		iv := s.kindInterval(k)
		if last, ok := at[k]; ok && iv > 0 && now.Sub(last) < iv {
			resting = append(resting, k)
			continue
		}
		due = append(due, k)
	}
	return due, resting
}

// lastFetched is when the tenant's kind was last fetched and applied here (zero when never).
func (s *scheduler) lastFetched(tenantID string, k tenantsync.Kind) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kindAt[tenantID][k]
}

// kindsFetched records the outcome of a committed sync: the kinds applied whole rest from at;
// the others are due at the next sync.
func (s *scheduler) kindsFetched(tenantID string, applied, failed []tenantsync.Kind, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.kindAt[tenantID]
	if m == nil {
		m = map[tenantsync.Kind]time.Time{}
		s.kindAt[tenantID] = m
	}
	for _, k := range applied {
		m[k] = at
	}
	for _, k := range failed {
		delete(m, k)
	}
}

// triggeredKinds returns the resting kinds the users result calls for: a user created since
// the kind's last fetch, or a user removed.
//
// newest is the latest creation time among users a source streamed (zero when none).
func (s *scheduler) triggeredKinds(tenantID string, users *tenantsync.KindResult, newest time.Time, resting []tenantsync.Kind) []tenantsync.Kind {
	if users == nil || users.Mode == tenantsync.Unavailable {
		return nil
	}
	var out []tenantsync.Kind
	for _, k := range resting {
		if !slices.Contains(userTriggered, k) {
			continue
		}
		last := s.lastFetched(tenantID, k)
		hit := len(users.Removed) > 0 || newest.After(last)
		for i := 0; !hit && i < len(users.Users); i++ {
			hit = users.Users[i].CreatedAt.After(last)
		}
		if hit {
			out = append(out, k)
		}
	}
	return out
}

// triggerSyncNow is the Report.Trigger of a sync someone asked for (SyncNow).
const triggerSyncNow = "sync-now"
