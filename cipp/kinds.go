package cipp

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
	"github.com/tenantsync/tenantsync/internal/wire"
)

// Group is a row of ListGroups: a Graph beta group with CIPP's own fields, and its members
// when asked for (expandMembers=true).
type Group struct {
	ID                    string        `json:"id"`
	DisplayName           string        `json:"displayName"`
	Description           FlexString    `json:"description"`
	Mail                  FlexString    `json:"mail"`
	MailEnabled           bool          `json:"mailEnabled"`
	SecurityEnabled       bool          `json:"securityEnabled"`
	GroupTypes            []string      `json:"groupTypes"`
	MembershipRule        FlexString    `json:"membershipRule"`
	OnPremisesSyncEnabled *bool         `json:"onPremisesSyncEnabled"`
	GroupType             FlexString    `json:"groupType"`           // "Microsoft 365", "Security", "Distribution List", ...
	CalculatedGroupType   FlexString    `json:"calculatedGroupType"` // "m365", "security", "distributionList", "generic"
	MembersCSV            FlexString    `json:"membersCsv"`
	Members               []GroupMember `json:"members"`
}

// GroupMember is a member as ListGroups inlines it.
type GroupMember struct {
	ODataType         string `json:"@odata.type"`
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// ListGroups yields the tenant's groups with their members inlined (ListGroups with
// expandMembers=true): CIPP follows every Graph page itself.
func (c *Client) ListGroups(ctx context.Context, tenant string) iter.Seq2[Group, error] {
	return listSeq[Group](c, ctx, "ListGroups", tenant, url.Values{"expandMembers": {"true"}})
}

// Groups returns every group of the tenant.
func (c *Client) Groups(ctx context.Context, tenant string) ([]Group, error) {
	return paging.Collect(c.ListGroups(ctx, tenant))
}

// SignInUser is a user with its signInActivity, as ListGraphRequest passes Graph's through.
type SignInUser = wire.SignInUser

// MailboxUsageRow is a row of the mailbox usage report, as ListGraphRequest passes Graph's
// JSON form through.
type MailboxUsageRow = wire.MailboxUsageRow

// Organization is ListTenantDetails' answer: the tenant's Graph organization object.
type Organization = wire.Organization

// TenantDetails returns the tenant's organization details (ListTenantDetails).
func (c *Client) TenantDetails(ctx context.Context, tenant string) (Organization, error) {
	const op = "ListTenantDetails"
	t, err := c.LookupTenant(ctx, tenant)
	if err != nil {
		return Organization{}, err
	}
	r, err := c.call(ctx, http.MethodGet, op, t.CustomerID, url.Values{"tenantFilter": {tenantFilter(t)}}, nil, true)
	if err != nil {
		return Organization{}, err
	}
	if r.Shape != ShapeObject {
		if msg := r.Message(); msg != "" {
			return Organization{}, c.messageError(op, t.CustomerID, msg)
		}
		c.unknownShapes.Add(1)
		return Organization{}, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, fmt.Sprintf("unexpected %s response", r.Shape), HintRetry)
	}
	var o Organization
	if err := json.Unmarshal(r.Object, &o); err != nil {
		return Organization{}, c.decodeError(op, t.CustomerID, err)
	}
	if o.ID == "" {
		return Organization{}, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, "the answer holds no organization", HintRetry)
	}
	return o, nil
}

// SignIns returns every user's last sign-in (ListGraphRequest users with signInActivity, 500 a
// page, which Graph allows with it). Without Entra ID P1 it fails with ErrLicenseRequired.
func (c *Client) SignIns(ctx context.Context, tenant string) ([]SignInUser, error) {
	return paging.Collect(GraphItems[wire.SignInUser](c.ListGraphRequest(ctx, tenant, GraphRequest{
		Endpoint: "users", Select: strings.Split(wire.SignInSelect, ","), Top: 500})))
}

// MailboxUsage returns the rows of the 7-day mailbox usage report (ListGraphRequest on
// reports/getMailboxUsageDetail(period='D7') as JSON, which beta, CIPP's default, serves).
func (c *Client) MailboxUsage(ctx context.Context, tenant string) ([]MailboxUsageRow, error) {
	return paging.Collect(GraphItems[wire.MailboxUsageRow](c.ListGraphRequest(ctx, tenant, GraphRequest{
		Endpoint: "reports/getMailboxUsageDetail(period='D7')", Format: "application/json"})))
}

// ToGroup converts a ListGroups row; its member count is the members inlined, or, when CIPP
// inlined none, the entries of membersCsv.
func ToGroup(tenantID string, g Group) tenantsync.Group {
	n := len(g.Members)
	if g.Members == nil {
		n = len(wire.SplitList(string(g.MembersCSV)))
	}
	desc, mail, rule := string(g.Description), string(g.Mail), string(g.MembershipRule)
	w := wire.Group{ID: g.ID, DisplayName: g.DisplayName, Description: &desc, Mail: &mail, MailEnabled: g.MailEnabled,
		SecurityEnabled: g.SecurityEnabled, GroupTypes: g.GroupTypes, MembershipRule: &rule, OnPremisesSyncEnabled: g.OnPremisesSyncEnabled}
	return w.ToGroup(tenantID, n)
}

// fetchLaterKind reads groups (ListGroups), the organization (ListTenantDetails), sign-ins and
// mailbox usage (ListGraphRequest).
func (s *Source) fetchLaterKind(ctx context.Context, key, id string, k tenantsync.Kind, report func(int)) *tenantsync.KindResult {
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete}
	switch k {
	case tenantsync.KindGroups:
		rows, err := s.c.Groups(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		kr.Groups = convert(rows, func(g Group) tenantsync.Group { return ToGroup(id, g) })
		report(len(rows))
	case tenantsync.KindOrganization:
		o, err := s.c.TenantDetails(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		org := o.ToOrganization(id)
		kr.Organization = &org
		report(1)
	case tenantsync.KindSignIns:
		rows, err := s.c.SignIns(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		kr.SignIns = convert(rows, func(u wire.SignInUser) tenantsync.SignInActivity { return u.ToSignIn(id) })
		report(len(rows))
	case tenantsync.KindMailboxUsage:
		rows, err := s.c.MailboxUsage(ctx, key)
		if err != nil {
			return tenantsync.UnavailableResult(k, err)
		}
		usage, concealed := wire.MailboxUsages(id, rows)
		if concealed {
			e := s.c.newError(tenantsync.ErrForbidden, "ListGraphRequest", id, http.StatusOK, "the usage report conceals user names", wire.ConcealedNamesHint)
			e.Code = "ConcealedNames"
			return tenantsync.UnavailableResult(k, e)
		}
		kr.MailboxUsage = usage
		report(len(usage))
	}
	return kr
}

// joinKinds fills what one kind learns from another read in the same fetch: each mailbox's
// licence state from its user's licences (ListMailboxes reports none), and the baseline's MFA
// summary from the MFA states. Without the other kind the field stays unknown.
func joinKinds(res *tenantsync.FetchResult) {
	users, mbs := res.Kinds[tenantsync.KindUsers], res.Kinds[tenantsync.KindMailboxes]
	if users != nil && mbs != nil && users.Mode == tenantsync.Complete && mbs.Mode == tenantsync.Complete {
		skus := make(map[string][]string, len(users.Users))
		for _, u := range users.Users {
			skus[strings.ToLower(u.ObjectID)] = u.AssignedSKUs
		}
		for i := range mbs.Mailboxes {
			m := &mbs.Mailboxes[i]
			held, ok := skus[strings.ToLower(m.ObjectID)]
			if !ok {
				continue
			}
			m.AssignedSKUs, m.Licence = append([]string(nil), held...), tenantsync.LicenceUnlicensed
			if len(held) > 0 {
				m.Licence = tenantsync.LicenceLicensed
			}
		}
	}
	mfa, b := res.Kinds[tenantsync.KindMFA], res.Kinds[tenantsync.KindBaseline]
	if mfa != nil && b != nil && mfa.Mode == tenantsync.Complete && b.Baseline != nil {
		b.Baseline.MFA = tenantsync.SummarizeMFA(mfa.MFA)
	}
}
