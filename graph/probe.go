package graph

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/tenantsync/tenantsync"
)

// Probe capabilities, for the readiness table of the partnercenter package.
const (
	CapReadUsers     = "read_users"
	CapReadMFA       = "read_mfa"
	CapReadDevices   = "read_devices"
	CapReadMailboxes = "read_mailboxes"
	CapWriteUsers    = "write_users"
	CapWriteGroups   = "write_groups"
)

// Probe checks, with the smallest read it can, whether the tenant answers a capability: nil when
// it does, else the classified error (ErrRoleMissing with the role to add, ErrLicenseRequired,
// ErrConsentRequired, ...).
//
// Write probes change nothing: Graph has no dry-run, so write_users reads a user's
// accountEnabled and write_groups reads a group, the objects a write needs. A nil answer for
// them means "reachable", not "allowed to write"; whether a write is allowed is decided by the
// granted GDAP roles (User Administrator, Groups Administrator), which the partnercenter
// readiness table reads from the relationship.
func (c *Client) Probe(ctx context.Context, tenantID, capability string) error {
	const op = "Probe"
	if err := checkTenant(op, tenantID); err != nil {
		return err
	}
	probe := func(l list) error {
		_, err := fetchPage[json.RawMessage](ctx, c, l, tenantID, "")
		return err
	}
	switch capability {
	case CapReadUsers:
		return probe(list{op + ":" + capability, "/users?$select=id&$top=1", accessUsers})
	case CapReadMFA:
		return probe(list{op + ":" + capability, "/reports/authenticationMethods/userRegistrationDetails?$top=1", accessMFA})
	case CapReadDevices:
		return probe(list{op + ":" + capability, "/deviceManagement/managedDevices?$select=id&$top=1", accessDevices})
	case CapReadMailboxes:
		return c.probeMailboxes(ctx, tenantID)
	case CapWriteUsers:
		return probe(list{op + ":" + capability, "/users?$select=id,accountEnabled&$top=1", accessUserWrite})
	case CapWriteGroups:
		return probe(list{op + ":" + capability, "/groups?$select=id&$top=1", accessGroups})
	}
	return opError(tenantsync.ErrInvalidInput, op, tenantID, "use one of the graph.Cap* constants", "unknown capability %q", capability)
}

// probeMailboxes reads the mailbox type of one user with a mail address; a user without an
// Exchange Online mailbox (404) still proves the call is allowed.
func (c *Client) probeMailboxes(ctx context.Context, tenant string) error {
	op := "Probe:" + CapReadMailboxes
	p, err := fetchPage[User](ctx, c, list{op, "/users?$select=id,mail&$top=20", accessUsers}, tenant, "")
	if err != nil {
		return err
	}
	for _, u := range p.Items {
		if u.Mail == "" {
			continue
		}
		r, err := c.send(ctx, op, tenant, http.MethodGet, c.root+purposePath(u.ID), nil)
		if err != nil {
			return err
		}
		if r.status >= 300 && r.status != http.StatusNotFound {
			return c.apiError(op, tenant, accessMailbox, r.status, r.header, r.body)
		}
		return nil
	}
	return nil
}
