package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/paging"
	"github.com/tenantsync/tenantsync/internal/wire"
)

// The groups, organization, sign-ins and mailbox usage kinds, and what conditional access
// coverage needs beyond the policies: the members of the groups and the holders of the roles
// the policies name.

// Batch item IDs of the later kinds.
const (
	itemGroups  = "groups"
	itemOrg     = "organization"
	itemSignIns = "signIns"
	itemRoles   = "roleAssignments"
)

var (
	accessGroupsRead = access{role: "Directory Readers (or Global Reader)", permission: "GroupMember.Read.All"}
	accessSignIns    = access{role: "Reports Reader (or Security Reader, Global Reader)", permission: "AuditLog.Read.All",
		premium: "Last sign-in activity (signInActivity)"}
	accessReports = access{role: "Reports Reader (or Global Reader)", permission: "Reports.Read.All"}
	accessRoles   = access{role: "Directory Readers (or Global Reader)", permission: "RoleManagement.Read.Directory"}

	listGroups       = list{"ListGroups", "/groups?$select=" + wire.GroupSelect + "&$top=999", accessGroupsRead}
	listSignIns      = list{"ListSignInActivity", "/users?$select=" + wire.SignInSelect + "&$top=500", accessSignIns}
	listRoleAssigned = list{"ListRoleAssignments", "/roleManagement/directory/roleAssignments?$select=principalId,roleDefinitionId", accessRoles}
	// The usage report is read from beta, which serves it as JSON pages; v1.0 only redirects to
	// a CSV download on another host. Either form decodes (a CSV answer is read whole).
	listMailboxUsage = list{"MailboxUsageDetail", "/reports/getMailboxUsageDetail(period='D7')?$format=application/json", accessReports}
)

// groupMembersPath lists a group's direct or transitive members, IDs only.
func groupMembersPath(groupID, rel string) string {
	return "/groups/" + url.PathEscape(groupID) + "/" + rel + "?$select=id&$top=999"
}

func readGroups(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	gs, err := readList[wire.Group](ctx, f.c, listGroups, f.tenant, f.answers[itemGroups], f.progress(tenantsync.KindGroups))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	members, err := f.c.groupMembers(ctx, f.tenant, ids, "members", false)
	if err != nil {
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, Groups: make([]tenantsync.Group, 0, len(gs))}
	for _, g := range gs {
		kr.Groups = append(kr.Groups, g.ToGroup(f.tenant, len(members[g.ID])))
	}
	return kr, nil
}

// groupMembers reads the member IDs of each group, 20 groups a $batch, following each
// listing's further pages. A group that no longer exists has no members when gone is true (a
// policy may name a deleted group), and fails the read otherwise.
func (c *Client) groupMembers(ctx context.Context, tenant string, groupIDs []string, rel string, gone bool) (map[string][]string, error) {
	const op = "ListGroupMembers"
	l := list{op, "", accessGroupsRead}
	out := make(map[string][]string, len(groupIDs))
	for start := 0; start < len(groupIDs); start += maxBatch {
		chunk := groupIDs[start:min(start+maxBatch, len(groupIDs))]
		reqs := make([]BatchRequest, 0, len(chunk))
		for i, id := range chunk {
			reqs = append(reqs, BatchRequest{ID: strconv.Itoa(i), Method: http.MethodGet, URL: groupMembersPath(id, rel)})
		}
		res, err := c.Batch(ctx, tenant, reqs)
		if err != nil {
			return nil, withOp(err, op, tenant)
		}
		for i, id := range chunk {
			item := res[strconv.Itoa(i)]
			if item.Status == http.StatusNotFound && gone {
				out[id] = nil
				continue
			}
			objs, err := readList[wire.DirectoryObject](ctx, c, l, tenant, item, nil)
			if err != nil {
				return nil, err
			}
			ids := make([]string, 0, len(objs))
			for _, o := range objs {
				ids = append(ids, o.ID)
			}
			out[id] = ids
		}
	}
	return out, nil
}

func readOrganization(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	os, err := readList[wire.Organization](ctx, f.c, listOrganization, f.tenant, f.answers[itemOrg], nil)
	if err != nil {
		return nil, err
	}
	if len(os) != 1 {
		return nil, opError(tenantsync.ErrUnavailable, listOrganization.op, f.tenant, "Graph lists exactly one organization per tenant; the next sync will retry",
			"%d organization objects", len(os))
	}
	o := os[0].ToOrganization(f.tenant)
	return &tenantsync.KindResult{Mode: tenantsync.Complete, Organization: &o}, nil
}

func readSignIns(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	us, err := readList[wire.SignInUser](ctx, f.c, listSignIns, f.tenant, f.answers[itemSignIns], f.progress(tenantsync.KindSignIns))
	if err != nil {
		return nil, err
	}
	kr := &tenantsync.KindResult{Mode: tenantsync.Complete, SignIns: make([]tenantsync.SignInActivity, 0, len(us))}
	for _, u := range us {
		kr.SignIns = append(kr.SignIns, u.ToSignIn(f.tenant))
	}
	return kr, nil
}

// planMailboxUsage adds nothing to the $batch: the report is read from beta, alone.
func planMailboxUsage(*fetch) error { return nil }

func readMailboxUsage(ctx context.Context, f *fetch) (*tenantsync.KindResult, error) {
	rows, err := f.c.mailboxUsage(ctx, f.tenant, f.progress(tenantsync.KindMailboxUsage))
	if err != nil {
		return nil, err
	}
	return mailboxUsageResult(listMailboxUsage.op, f.tenant, rows)
}

// mailboxUsageResult turns the report's rows into the kind, or into the error that says how
// to reveal the names when the tenant conceals them: hashed names cannot be matched to
// mailboxes, so the kind is unavailable rather than a list of strangers.
func mailboxUsageResult(op, tenant string, rows []wire.MailboxUsageRow) (*tenantsync.KindResult, error) {
	usage, concealed := wire.MailboxUsages(tenant, rows)
	if concealed {
		e := opError(tenantsync.ErrForbidden, op, tenant, wire.ConcealedNamesHint, "the usage report conceals user names")
		e.Code = "ConcealedNames"
		return nil, e
	}
	return &tenantsync.KindResult{Mode: tenantsync.Complete, MailboxUsage: usage}, nil
}

// mailboxUsage reads getMailboxUsageDetail(period='D7') from beta: JSON pages of 200 rows,
// or, should Graph answer with the CSV form, that whole.
func (c *Client) mailboxUsage(ctx context.Context, tenant string, progress func(int)) ([]wire.MailboxUsageRow, error) {
	l := listMailboxUsage
	first := c.origin + "/beta" + l.path
	read := 0
	rows, err := paging.Collect(paging.Walk(c.bounds(l.op, tenant), func(link string) (tenantsync.Page[wire.MailboxUsageRow], error) {
		if link == "" {
			link = first
		}
		report(progress, read)
		r, err := c.get(ctx, l.op, tenant, l.need, link)
		if err != nil {
			return tenantsync.Page[wire.MailboxUsageRow]{}, err
		}
		if wire.IsCSV(r.body) {
			rows, err := wire.DecodeMailboxUsageCSV(r.body)
			if err != nil {
				e := opError(tenantsync.ErrUnavailable, l.op, tenant, "Graph sent a malformed report; the next sync will retry", "decode CSV report: %v", err)
				e.Status, e.RequestID = r.status, r.header.Get("request-id")
				return tenantsync.Page[wire.MailboxUsageRow]{}, e
			}
			read += len(rows)
			return tenantsync.Page[wire.MailboxUsageRow]{Items: rows}, nil
		}
		p, err := decodeResponse[wire.MailboxUsageRow](l.op, tenant, r)
		read += len(p.Items)
		return p, err
	}))
	if err != nil {
		return nil, err
	}
	report(progress, read)
	return rows, nil
}

// directory is what a policy's user scope is resolved against: each user's groups
// (transitively) and directory roles.
type directory struct {
	groups map[string]map[string]bool // lower-case group ID → lower-case user IDs
	roles  map[string]map[string]bool // lower-case role template ID → lower-case user IDs
}

func (d directory) inAny(sets map[string]map[string]bool, ids []string, user string) bool {
	for _, id := range ids {
		if sets[strings.ToLower(id)][user] {
			return true
		}
	}
	return false
}

// scopeNeeds returns the groups and whether roles must be resolved to evaluate the enabled
// MFA policies.
func scopeNeeds(policies []CAPolicy) (groups []string, roles bool) {
	seen := map[string]bool{}
	for _, p := range policies {
		if p.State != "enabled" || !p.RequiresMFA() || p.Conditions == nil || p.Conditions.Users == nil {
			continue
		}
		u := p.Conditions.Users
		for _, g := range append(append([]string(nil), u.IncludeGroups...), u.ExcludeGroups...) {
			if k := strings.ToLower(g); !seen[k] {
				seen[k] = true
				groups = append(groups, g)
			}
		}
		roles = roles || len(u.IncludeRoles) > 0 || len(u.ExcludeRoles) > 0
	}
	return groups, roles
}

// planRoles adds the directory's role assignments to the $batch: MFA coverage needs them when a
// policy is scoped to roles, and the batch carries them at no extra round trip.
func planRoles(f *fetch) { f.add(itemRoles, listRoleAssigned.path) }

// readDirectory resolves what the policies' user scopes name: the role assignments from the
// $batch, and the transitive members of the groups the policies name in further $batches.
// Nothing is read for policies that name only users.
func (f *fetch) readDirectory(ctx context.Context) (directory, error) {
	d := directory{groups: map[string]map[string]bool{}, roles: map[string]map[string]bool{}}
	groups, roles := scopeNeeds(f.policies)
	if roles {
		as, err := readList[wire.RoleAssignment](ctx, f.c, listRoleAssigned, f.tenant, f.answers[itemRoles], nil)
		if err != nil {
			return d, err
		}
		for _, a := range as {
			k := strings.ToLower(a.RoleDefinitionID)
			if d.roles[k] == nil {
				d.roles[k] = map[string]bool{}
			}
			d.roles[k][strings.ToLower(a.PrincipalID)] = true
		}
	}
	if len(groups) > 0 {
		members, err := f.c.groupMembers(ctx, f.tenant, groups, "transitiveMembers", true)
		if err != nil {
			return d, err
		}
		for g, ids := range members {
			set := map[string]bool{}
			for _, id := range ids {
				set[strings.ToLower(id)] = true
			}
			d.groups[strings.ToLower(g)] = set
		}
	}
	return d, nil
}
