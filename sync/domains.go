package sync

import (
	"context"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// afterDomains emits the tenant's newly seen verified domains for monitoring, and fills the
// client's domains in the store when the PSA left them empty, unless the client's settings
// turn AutoMonitorDomains off. Domains a PSA set are never
// replaced; onmicrosoft.com routing domains are never offered as client domains.
func (e *Engine) afterDomains(ctx context.Context, clientID, tenantID string, kr *tenantsync.KindResult, added []string) {
	if s, err := e.SettingsFor(ctx, clientID); err != nil || !s.AutoMonitorDomains {
		// Monitoring is the client's choice; unreadable settings announce nothing rather
		// than what the client may have turned off.
		return
	}
	var verified []string
	for _, d := range kr.Domains {
		if !d.IsVerified {
			continue
		}
		if slices.Contains(added, d.Name) {
			e.emit(Event{Type: EventDomainSeen, TenantID: tenantID, ClientID: clientID, Domain: d.Name})
		}
		if !isOnMicrosoft(d.Name) {
			if d.IsDefault {
				verified = slices.Insert(verified, 0, d.Name)
			} else {
				verified = append(verified, d.Name)
			}
		}
	}
	if clientID == "" || len(verified) == 0 || kr.Mode != tenantsync.Complete {
		return
	}
	c, err := e.dir.GetClient(ctx, clientID)
	if err != nil || len(c.Domains) > 0 {
		return
	}
	c.Domains = verified
	_ = e.dir.PutClient(ctx, c)
}

func isOnMicrosoft(domain string) bool {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	return d == "onmicrosoft.com" || strings.HasSuffix(d, ".onmicrosoft.com")
}
