package graph

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Source adapts a Client to tenantsync.Source.
type Source struct {
	c   *Client
	cfg SourceConfig
}

// SourceConfig configures a Source: where its tenant list comes from and how it reads the
// mailboxes kind. The zero value lists no tenants (ListTenants reports ErrUnsupported) and reads
// mailboxes per user.
type SourceConfig struct {
	// TenantLister discovers the reachable tenants (e.g. the partnercenter package's GDAP
	// discovery); it wins over Tenants. The tenants keep the Source field it set; an empty one
	// becomes "graph".
	TenantLister tenantsync.TenantLister
	// Tenants is the fixed list ListTenants returns when TenantLister is nil.
	Tenants []tenantsync.Tenant
	// Mailboxes selects how mailbox types are read (default MailboxesPerUser).
	Mailboxes MailboxMode
}

var (
	_ tenantsync.Source = (*Source)(nil)
	_ tenantsync.Writer = (*Writer)(nil)
)

// NewSource validates cfg and returns the Source view of c.
func NewSource(c *Client, cfg SourceConfig) (*Source, error) {
	switch {
	case c == nil:
		return nil, sourceConfigError("pass the *graph.Client that NewClient returned", "no client")
	case cfg.Mailboxes != MailboxesPerUser && cfg.Mailboxes != MailboxesOff:
		return nil, sourceConfigError("use graph.MailboxesPerUser or graph.MailboxesOff", "unknown mailbox mode %d", cfg.Mailboxes)
	}
	cfg.Tenants = slices.Clone(cfg.Tenants)
	return &Source{c: c, cfg: cfg}, nil
}

func sourceConfigError(hint, format string, args ...any) error {
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
	e.Service, e.Op = service, "NewSource"
	return e
}

// Name is "graph".
func (s *Source) Name() string { return service }

// ListTenants returns the tenants from SourceConfig.TenantLister, or SourceConfig.Tenants.
// Discovery of GDAP customers belongs to the partnercenter package; wire its lister in here.
func (s *Source) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	cfg := s.cfg
	var ts []tenantsync.Tenant
	if cfg.TenantLister != nil {
		var err error
		if ts, err = cfg.TenantLister.ListTenants(ctx); err != nil {
			return nil, err
		}
	} else if cfg.Tenants != nil {
		ts = slices.Clone(cfg.Tenants)
	} else {
		return nil, opError(tenantsync.ErrUnsupported, "ListTenants", "",
			"set SourceConfig.TenantLister (for example the partnercenter package's GDAP discovery) or SourceConfig.Tenants", "no tenant list configured")
	}
	for i := range ts {
		if ts[i].Source == "" {
			ts[i].Source = service
		}
	}
	return ts, nil
}

// readList decodes a kind's $batch item and follows its nextLinks to the end.
func readList[T any](ctx context.Context, c *Client, l list, tenant string, item BatchResponse, progress func(int)) ([]T, error) {
	if item.Status != http.StatusOK {
		return nil, c.itemError(l.op, tenant, l.need, item)
	}
	first, err := decodeResponse[T](l.op, tenant, &response{status: item.Status, header: item.header(), body: item.Body})
	if err != nil {
		return nil, err
	}
	return collect(ctx, c, l, tenant, first, progress)
}

// deltaItem returns the $batch URL that starts a users delta round of l: its first page
// without a cursor, the cursor's own link with one. A cursor that is not one of this client's
// users delta links cannot be continued, so it reads as expired and the caller lists in full.
func (c *Client) deltaItem(l list, tenant, cursor string) (string, error) {
	if cursor == "" {
		return l.path, nil
	}
	if err := c.allowed(l.op, tenant, cursor); err != nil {
		return "", err
	}
	rel, ok := c.relative(cursor)
	if !ok || !strings.HasPrefix(rel, "/users/delta?") {
		return "", opError(tenantsync.ErrCursorExpired, l.op, tenant, "list in full to get a new cursor", "cursor is not a Graph v1.0 users delta link")
	}
	return rel, nil
}

func readDelta(ctx context.Context, c *Client, l list, tenant, cursor string, item BatchResponse, progress func(int), each func(User)) (*UsersDelta, error) {
	first, err := firstDeltaPage(c, l, tenant, cursor, item)
	if err != nil {
		return nil, err
	}
	return c.finishDelta(ctx, l, tenant, cursor, first, progress, each)
}

// firstDeltaPage decodes a delta round's first page from its $batch answer.
func firstDeltaPage(c *Client, l list, tenant, cursor string, item BatchResponse) (tenantsync.Page[User], error) {
	if item.Status != http.StatusOK {
		err := error(c.itemError(l.op, tenant, l.need, item))
		if cursor != "" {
			err = cursorError(err)
		}
		return tenantsync.Page[User]{}, err
	}
	return decodeResponse[User](l.op, tenant, &response{status: item.Status, header: item.header(), body: item.Body})
}

func readSecurityDefaults(c *Client, tenant string, item BatchResponse) (bool, error) {
	if item.Status != http.StatusOK {
		return false, c.itemError(getSecDefaults.op, tenant, getSecDefaults.need, item)
	}
	return decodeSecurityDefaults(tenant, &response{status: item.Status, header: item.header(), body: item.Body})
}

// mailboxes turns a users delta round into the mailboxes kind, reading the mailbox type of
// each user the round reports with a mail address. A full round gives every mailbox; a change
// round gives the changed ones, and removes the mailboxes of users deleted, left without a mail
// address, or whose mailbox is gone (the store ignores removals of mailboxes it never had).
func (c *Client) mailboxes(ctx context.Context, tenant string, d *UsersDelta) (*tenantsync.KindResult, error) {
	purposes, err := c.MailboxPurposes(ctx, tenant, withMail(d))
	if err != nil {
		return nil, err
	}
	return mailboxesOf(tenant, d, purposes), nil
}

// withMail returns the IDs of the users d reports with a mail address: the users whose mailbox
// type the mailboxes kind reads.
func withMail(d *UsersDelta) []string {
	var ids []string
	for _, u := range d.Users {
		if u.Mail != "" {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// mailboxesOf builds the mailboxes kind from a users delta round and the mailbox types of its
// users with a mail address.
func mailboxesOf(tenant string, d *UsersDelta, purposes map[string]MailboxPurpose) *tenantsync.KindResult {
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Cursor: d.Cursor, Mailboxes: make([]tenantsync.Mailbox, 0, len(purposes))}
	if !d.Full {
		kr.Mode, kr.Removed = tenantsync.Changes, slices.Clone(d.Removed)
	}
	for _, u := range d.Users {
		if u.Mail == "" {
			if !d.Full {
				kr.Removed = append(kr.Removed, u.ID)
			}
			continue
		}
		switch p := purposes[u.ID]; {
		case p != "":
			kr.Mailboxes = append(kr.Mailboxes, toMailbox(tenant, u, p))
		case !d.Full:
			kr.Removed = append(kr.Removed, u.ID)
		}
	}
	return kr
}
