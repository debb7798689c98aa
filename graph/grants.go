package graph

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// graphResourceAppID is Microsoft Graph's application ID, the same in every tenant: the
// resource of the application permissions the sync needs.
const graphResourceAppID = "00000003-0000-0000-c000-000000000000"

// accessGrants is what reading service principals and their app role assignments needs.
var accessGrants = access{role: "Directory Readers (or Global Reader)", permission: "Application.Read.All"}

// RoleReader reads the application permissions (app role values such as "User.Read.All")
// granted to the partner app in a customer tenant. *Client implements it through Graph.
type RoleReader interface {
	GrantedRoles(ctx context.Context, tenantID string) ([]string, error)
}

var _ RoleReader = (*Client)(nil)

type servicePrincipal struct {
	ID       string    `json:"id"`
	AppID    string    `json:"appId"`
	AppRoles []appRole `json:"appRoles"`
}

type appRole struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type appRoleAssignment struct {
	AppRoleID  string `json:"appRoleId"`
	ResourceID string `json:"resourceId"`
}

// GrantedRoles reads through Graph the Microsoft Graph application permissions granted to the
// partner app (Config.ClientID) in a customer tenant: the app role assignments of the app's
// service principal there, named by the app roles Microsoft Graph's service principal declares.
// This is what admin consent really granted, unlike the scope a consent redirect lists (anyone
// can edit a URL) or the roles claim of a cached token (issued before the latest consent).
//
// Reading them needs Application.Read.All (app-only) or Directory Readers (a partner user);
// without it the error is ErrRoleMissing naming both. An app with no service principal in
// the tenant, i.e. consent not done, is ErrConsentRequired.
func (c *Client) GrantedRoles(ctx context.Context, tenant string) ([]string, error) {
	const op = "GrantedRoles"
	if err := checkTenant(op, tenant); err != nil {
		return nil, err
	}
	own, err := c.servicePrincipal(ctx, op, tenant, c.cfg.ClientID, "id,appId")
	if err != nil {
		return nil, err
	}
	if own == nil {
		return nil, opError(tenantsync.ErrConsentRequired, op, tenant,
			"the partner app has no service principal in customer tenant "+tenant+
				": open the admin-consent link (graph.Consent) as a Global Administrator of the customer and accept",
			"application %s is not consented in the tenant", c.cfg.ClientID)
	}
	resource, err := c.servicePrincipal(ctx, op, tenant, graphResourceAppID, "id,appId,appRoles")
	if err != nil {
		return nil, err
	}
	if resource == nil {
		return nil, opError(tenantsync.ErrUnavailable, op, tenant,
			"Graph did not list its own service principal in the tenant; try again in a few minutes",
			"no service principal for Microsoft Graph")
	}
	values := make(map[string]string, len(resource.AppRoles))
	for _, r := range resource.AppRoles {
		values[strings.ToLower(r.ID)] = r.Value
	}
	granted := []string{}
	assignments := list{op, "/servicePrincipals/" + url.PathEscape(own.ID) + "/appRoleAssignments", accessGrants}
	for a, err := range each[appRoleAssignment](ctx, c, assignments, tenant) {
		if err != nil {
			return nil, err
		}
		// Permissions on other APIs (Exchange Online, SharePoint) are not Graph's to name.
		if !strings.EqualFold(a.ResourceID, resource.ID) {
			continue
		}
		if v := values[strings.ToLower(a.AppRoleID)]; v != "" && !slices.Contains(granted, v) {
			granted = append(granted, v)
		}
	}
	slices.Sort(granted)
	return granted, nil
}

// servicePrincipal finds the service principal of appID in the tenant, or nil when there is none.
func (c *Client) servicePrincipal(ctx context.Context, op, tenant, appID, sel string) (*servicePrincipal, error) {
	// appID is a GUID (the client ID is checked by NewClient), so it cannot change the filter.
	filter := strings.ReplaceAll(url.QueryEscape("appId eq '"+appID+"'"), "+", "%20")
	p, err := fetchPage[servicePrincipal](ctx, c, list{op, "/servicePrincipals?$filter=" + filter + "&$select=" + sel, accessGrants}, tenant, "")
	if err != nil {
		return nil, err
	}
	for i := range p.Items {
		if strings.EqualFold(p.Items[i].AppID, appID) {
			return &p.Items[i], nil
		}
	}
	return nil, nil
}
