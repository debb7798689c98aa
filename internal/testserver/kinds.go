package testserver

import (
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the fake's groups, organization details, sign-in activity, mailbox usage
// reports and the user scope of conditional access policies: their generation, and their Graph
// and CIPP shapes.

// roleDefinitions are the directory roles the fake assigns: Global Administrator to every
// administrator, as small tenants do.
const roleCA = roleGlobalAdministrator

// caAdminRoles are the roles Microsoft's "Require MFA for administrators" template includes
// (the first of its fourteen).
var caAdminRoles = []string{roleGlobalAdministrator, roleSecurityAdministrator, roleExchangeAdministrator,
	roleUserAdministrator, roleHelpdeskAdministrator, rolePasswordAdministrator}

// breakGlassGroup is the group the generator excludes emergency-access accounts with.
const breakGlassGroup = "CA Exclusion - Emergency Access"

// extras fills what the later kinds read, from a stream of its own (so the rest of the tenant
// is what it was before they existed): group types and addresses, an exclusion group for the
// emergency-access account, the policies' user scope, organization details, sign-in activity
// and mailbox usage.
func (g *tenantGen) extras() {
	t := g.t
	h := binary.LittleEndian.Uint64([]byte(stableGUID("extras", t.ID))[:8])
	rng := rand.New(rand.NewPCG(h, 0x6b696e6473))
	for i, gr := range t.Groups {
		switch {
		case gr.DisplayName == "All Staff":
			gr.Type, gr.Mail = "Microsoft365", "allstaff@"+t.DefaultDomain
			gr.Description = "Everyone at " + t.Name
		case gr.DisplayName == "IT Admins":
			gr.Type = "Security"
		case i%3 == 0:
			gr.Type = "Security"
		default:
			gr.Type, gr.Mail = "Distribution", slugOf(gr.DisplayName)+"@"+t.DefaultDomain
		}
	}
	var glass *Group
	for _, u := range t.Users {
		if u.DisplayName == "Break Glass Admin" {
			if glass == nil {
				glass = &Group{ID: newGUID(rng), DisplayName: breakGlassGroup, Type: "Security", Members: map[string]bool{}}
				t.Groups = append(t.Groups, glass)
			}
			glass.Members[u.ID] = true
		}
	}
	for _, p := range t.CAPolicies {
		// Emergency-access accounts are excluded from every policy, as Microsoft advises.
		switch p.DisplayName {
		case "Require MFA for administrators":
			p.IncludeRoles = slices.Clone(caAdminRoles)
		default:
			p.IncludeUsers = []string{"All"}
		}
		if glass != nil {
			p.ExcludeGroups = []string{glass.ID}
		}
	}

	o := &t.Org
	o.Street = fmt.Sprintf("%d %s", 1+rng.IntN(180), orgStreets[rng.IntN(len(orgStreets))])
	city := orgCities[rng.IntN(len(orgCities))]
	o.City, o.PostalCode = city[0], city[1]+" "+strconv.Itoa(1+rng.IntN(9))+string(rune('A'+rng.IntN(26)))+string(rune('A'+rng.IntN(26)))
	o.Country, o.CountryLetterCode = "United Kingdom", "GB"
	o.Phones = []string{fmt.Sprintf("+44 20 %04d %04d", rng.IntN(10000), rng.IntN(10000))}
	o.TechnicalNotificationMails = []string{"it@" + t.DefaultDomain}
	if rng.IntN(3) == 0 {
		o.TechnicalNotificationMails = append(o.TechnicalNotificationMails, "alerts@"+t.DefaultDomain)
	}
	o.PartnerTenantType = "ResellerPartnerDelegatedAdmin"
	o.CreatedAt = genEpoch.AddDate(-2-rng.IntN(8), -rng.IntN(12), 0)

	for _, u := range t.Users {
		switch {
		case u.UserType == "Guest":
			if rng.IntN(2) == 0 {
				u.LastSignIn = genEpoch.Add(-time.Duration(rng.IntN(200*24)) * time.Hour)
			}
		case u.MailboxType != "" && u.MailboxType != "UserMailbox":
			// Shared and resource mailboxes have no one signing in.
		case !u.AccountEnabled:
			if rng.IntN(3) > 0 {
				u.LastSignIn = genEpoch.Add(-time.Duration(100+rng.IntN(300)) * 24 * time.Hour)
			}
		case rng.IntN(12) == 0:
			// Licensed but never signed in: the licence waste a PSA looks for.
		default:
			days := rng.IntN(5)
			if rng.IntN(6) == 0 {
				days = 30 + rng.IntN(90)
			}
			u.LastSignIn = genEpoch.Add(-time.Duration(days*24+rng.IntN(24)) * time.Hour)
			u.LastNonInteractiveSignIn = u.LastSignIn.Add(time.Duration(rng.IntN(20)) * time.Hour)
		}
		if u.MailboxType != "" {
			u.MailboxItems = int64(200 + rng.IntN(60000))
			u.MailboxBytes = u.MailboxItems * int64(40_000+rng.IntN(120_000))
			if !u.LastSignIn.IsZero() || u.MailboxType == "SharedMailbox" {
				u.LastMailActivity = genEpoch.AddDate(0, 0, -rng.IntN(10)).Truncate(24 * time.Hour)
			}
		}
	}
}

var orgStreets = []string{"High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "King Street", "Park Road"}

var orgCities = [][2]string{{"London", "EC1A"}, {"Leeds", "LS1"}, {"Manchester", "M2"}, {"Bristol", "BS1"}, {"York", "YO1"}, {"Norwich", "NR2"}}

// DirectoryRoles returns the role template IDs the user holds. The caller holds the World's lock.
func (t *Tenant) DirectoryRoles(u *User) []string {
	if u.IsAdmin && !u.Deleted {
		return []string{roleCA}
	}
	return nil
}

// CoveredByCA reports whether an enabled policy requiring MFA applies to the user, with its
// whole user scope resolved: users, groups and roles, exclusions winning. It is what Microsoft
// evaluates at sign-in, and what a route's coverage must agree with. The caller holds the
// World's lock.
func (t *Tenant) CoveredByCA(u *User) bool {
	roles := t.DirectoryRoles(u)
	inGroup := func(ids []string) bool {
		for _, gr := range t.Groups {
			if slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, gr.ID) }) && gr.Members[u.ID] {
				return true
			}
		}
		return false
	}
	hasRole := func(ids []string) bool {
		return slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(roles, strings.ToLower(id)) })
	}
	for _, p := range t.CAPolicies {
		if p.State != "enabled" || !p.RequiresMFA {
			continue
		}
		in := p.caIncludeUsers()
		if slices.Contains(p.ExcludeUsers, u.ID) || inGroup(p.ExcludeGroups) || hasRole(p.ExcludeRoles) {
			continue
		}
		if slices.Contains(in, "All") || slices.Contains(in, u.ID) || inGroup(p.IncludeGroups) || hasRole(p.IncludeRoles) {
			return true
		}
	}
	return false
}

// caIncludeUsers is the policy's includeUsers, "All" for a policy with no scope at all.
func (p *CAPolicy) caIncludeUsers() []string {
	if p.IncludeUsers == nil && p.IncludeGroups == nil && p.IncludeRoles == nil {
		return []string{"All"}
	}
	return p.IncludeUsers
}

// caUsers is the policy's conditions.users as Graph writes it.
func (p *CAPolicy) caUsers() map[string]any {
	return map[string]any{"includeUsers": strs(p.caIncludeUsers()), "excludeUsers": strs(p.ExcludeUsers),
		"includeGroups": strs(p.IncludeGroups), "excludeGroups": strs(p.ExcludeGroups),
		"includeRoles": strs(p.IncludeRoles), "excludeRoles": strs(p.ExcludeRoles)}
}

// graphGroupJSON is a group as Graph's /groups lists it.
func graphGroupJSON(gr *Group) map[string]any {
	m := map[string]any{
		"id": gr.ID, "displayName": gr.DisplayName, "description": nullable(gr.Description), "mail": nullable(gr.Mail),
		"mailNickname": strings.ReplaceAll(strings.ToLower(gr.DisplayName), " ", ""), "groupTypes": []string{},
		"mailEnabled": false, "securityEnabled": true, "membershipRule": nil, "onPremisesSyncEnabled": nil,
		"createdDateTime": genEpoch.AddDate(-3, 0, 0).Format(time.RFC3339), "visibility": nil,
	}
	switch gr.Type {
	case "Microsoft365":
		m["groupTypes"], m["mailEnabled"], m["securityEnabled"], m["visibility"] = []string{"Unified"}, true, false, "Private"
	case "Distribution":
		m["mailEnabled"], m["securityEnabled"] = true, false
	case "MailEnabledSecurity":
		m["mailEnabled"] = true
	}
	return m
}

// memberIDs are the group's members in a stable order. The caller holds the World's lock.
func (t *Tenant) memberIDs(gr *Group) []string {
	var ids []string
	for _, u := range t.Users {
		if gr.Members[u.ID] && !u.Deleted {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// serveKinds answers the Graph requests of the later kinds, or nil for any other request.
func (g *graphCall) serveKinds(method, path string, seg []string, q url.Values) *graphResult {
	if method != http.MethodGet {
		return nil
	}
	switch {
	case path == "/users" && selects(q.Get("$select"), "signInActivity"):
		return g.signIns(path, q)
	case len(seg) == 3 && seg[0] == "groups" && (seg[2] == "members" || seg[2] == "transitiveMembers"):
		return g.groupMembers(path, seg[1], q)
	case path == "/roleManagement/directory/roleAssignments":
		return g.roleAssignments(path, q)
	case strings.HasPrefix(path, "/reports/getMailboxUsageDetail"):
		return g.mailboxUsage(path, q)
	case path == "/admin/reportSettings":
		w := g.s.World
		w.mu.RLock()
		on := g.tenant.ConcealReportNames
		w.mu.RUnlock()
		return g.ok(http.StatusOK, map[string]any{"@odata.context": g.context("admin/reportSettings/$entity"), "displayConcealedNames": on})
	}
	return nil
}

func selects(sel, field string) bool {
	for f := range strings.SplitSeq(sel, ",") {
		if strings.EqualFold(strings.TrimSpace(f), field) {
			return true
		}
	}
	return false
}

// signIns serves /users with signInActivity selected: Entra ID P1 required (403
// Authentication_RequestFromNonPremiumTenantOrB2CTenant), a reports role for a partner user
// and AuditLog.Read.All for the app (403 Authorization_RequestDenied), and pages of at most 500.
func (g *graphCall) signIns(path string, q url.Values) *graphResult {
	if !g.premium() {
		return g.fail(http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
	}
	if g.claims.UserID == "" && !slices.Contains(g.s.appPermissions(g.tenant.ID), "AuditLog.Read.All") {
		return g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	if g.claims.UserID != "" {
		w := g.s.World
		w.mu.RLock()
		access := g.tenant.RoleAccess(time.Now(), roleReportsReader, roleSecurityReader, roleSecurityAdministrator, roleGlobalReader, roleGlobalAdministrator)
		w.mu.RUnlock()
		if access != RoleEffective {
			return g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		}
	}
	w := g.s.World
	w.mu.RLock()
	users := g.tenant.ActiveUsers()
	items := make([]map[string]any, 0, len(users))
	for _, u := range users {
		m := userJSON(u)
		m["signInActivity"] = signInJSON(u)
		items = append(items, m)
	}
	w.mu.RUnlock()
	return g.collection(path, q, "users", items, graphDefaultPage, 500)
}

// signInJSON is a user's signInActivity; a user who never signed in has nulls.
func signInJSON(u *User) map[string]any {
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339)
	}
	id := func(t time.Time, salt string) any {
		if t.IsZero() {
			return nil
		}
		return stableGUID("signin", salt, u.ID, t.String())
	}
	return map[string]any{
		"lastSignInDateTime": ts(u.LastSignIn), "lastSignInRequestId": id(u.LastSignIn, "i"),
		"lastNonInteractiveSignInDateTime": ts(u.LastNonInteractiveSignIn), "lastNonInteractiveSignInRequestId": id(u.LastNonInteractiveSignIn, "n"),
		"lastSuccessfulSignInDateTime": ts(u.LastSignIn), "lastSuccessfulSignInRequestId": id(u.LastSignIn, "s"),
	}
}

// groupMembers serves a group's members (direct, or transitive: the fake has no nested groups).
func (g *graphCall) groupMembers(path, groupID string, q url.Values) *graphResult {
	w := g.s.World
	w.mu.RLock()
	gr := g.group(groupID)
	var items []map[string]any
	if gr != nil {
		for _, id := range g.tenant.memberIDs(gr) {
			u := g.tenant.User(id)
			items = append(items, map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.ID,
				"displayName": u.DisplayName, "userPrincipalName": u.UserPrincipalName})
		}
	}
	w.mu.RUnlock()
	if gr == nil {
		return g.fail(http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", groupID))
	}
	return g.collection(path, q, "directoryObjects", items, graphDefaultPage, graphMaxTop)
}

// roleAssignments serves the directory's role assignments (unifiedRoleAssignment).
func (g *graphCall) roleAssignments(path string, q url.Values) *graphResult {
	w := g.s.World
	w.mu.RLock()
	var items []map[string]any
	for _, u := range g.tenant.ActiveUsers() {
		for _, r := range g.tenant.DirectoryRoles(u) {
			items = append(items, map[string]any{"id": stableGUID("roleAssignment", u.ID, r), "principalId": u.ID,
				"roleDefinitionId": r, "directoryScopeId": "/"})
		}
	}
	w.mu.RUnlock()
	return g.collection(path, q, "roleManagement/directory/roleAssignments", items, graphDefaultPage, graphMaxTop)
}

// concealed is how the usage reports show a name when the tenant conceals them: an MD5-like
// hex string, the same for one user in every report.
func concealed(s string) string {
	return strings.ToUpper(strings.ReplaceAll(stableGUID("conceal", strings.ToLower(s)), "-", ""))
}

// mailboxUsageRows are the rows of getMailboxUsageDetail(period='D7'). The caller holds the
// World's lock.
func (t *Tenant) mailboxUsageRows() []map[string]any {
	refresh := genEpoch.AddDate(0, 0, -1).Format("2006-01-02")
	var rows []map[string]any
	for _, u := range t.Mailboxes() {
		upn, name := u.UserPrincipalName, u.DisplayName
		if t.ConcealReportNames {
			upn, name = concealed(upn), concealed(name)
		}
		var last any
		if !u.LastMailActivity.IsZero() {
			last = u.LastMailActivity.Format("2006-01-02")
		}
		rows = append(rows, map[string]any{
			"reportRefreshDate": refresh, "userPrincipalName": upn, "displayName": name, "isDeleted": false,
			"deletedDate": nil, "createdDate": u.CreatedAt.Format("2006-01-02"), "lastActivityDate": last,
			"itemCount": u.MailboxItems, "storageUsedInBytes": u.MailboxBytes,
			"deletedItemCount": u.MailboxItems / 20, "deletedItemSizeInBytes": u.MailboxBytes / 25,
			"issueWarningQuotaInBytes": int64(52613349376), "prohibitSendQuotaInBytes": int64(53687091200),
			"prohibitSendReceiveQuotaInBytes": int64(53687091200), "deletedItemQuotaInBytes": int64(32212254720),
			"hasArchive": u.MailboxBytes > 30<<30, "reportPeriod": "7",
		})
	}
	return rows
}

// mailboxUsageColumns are the report's CSV columns, in Microsoft's order, with the JSON field
// each comes from.
var mailboxUsageColumns = [][2]string{
	{"Report Refresh Date", "reportRefreshDate"}, {"User Principal Name", "userPrincipalName"}, {"Display Name", "displayName"},
	{"Is Deleted", "isDeleted"}, {"Deleted Date", "deletedDate"}, {"Created Date", "createdDate"},
	{"Last Activity Date", "lastActivityDate"}, {"Item Count", "itemCount"}, {"Storage Used (Byte)", "storageUsedInBytes"},
	{"Issue Warning Quota (Byte)", "issueWarningQuotaInBytes"}, {"Prohibit Send Quota (Byte)", "prohibitSendQuotaInBytes"},
	{"Prohibit Send/Receive Quota (Byte)", "prohibitSendReceiveQuotaInBytes"}, {"Deleted Item Count", "deletedItemCount"},
	{"Deleted Item Size (Byte)", "deletedItemSizeInBytes"}, {"Deleted Item Quota (Byte)", "deletedItemQuotaInBytes"},
	{"Has Archive", "hasArchive"}, {"Report Period", "reportPeriod"},
}

// MailboxUsageCSV renders the report as v1.0 serves it: a UTF-8 CSV with a byte order mark.
func MailboxUsageCSV(rows []map[string]any) []byte {
	var b strings.Builder
	b.WriteString("\ufeff")
	cw := csv.NewWriter(&b)
	head := make([]string, len(mailboxUsageColumns))
	for i, c := range mailboxUsageColumns {
		head[i] = c[0]
	}
	_ = cw.Write(head)
	for _, r := range rows {
		rec := make([]string, len(mailboxUsageColumns))
		for i, c := range mailboxUsageColumns {
			switch v := r[c[1]].(type) {
			case nil:
			case bool:
				rec[i] = strings.ToUpper(strconv.FormatBool(v)[:1]) + strconv.FormatBool(v)[1:]
			default:
				rec[i] = fmt.Sprint(v)
			}
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return []byte(b.String())
}

// mailboxUsage serves reports/getMailboxUsageDetail(period='D7'): JSON pages of 200 on beta
// with $format=application/json, and otherwise the CSV (v1.0 answers with a 302 to a download;
// the fake serves the download itself).
func (g *graphCall) mailboxUsage(path string, q url.Values) *graphResult {
	fn := strings.TrimPrefix(path, "/reports/getMailboxUsageDetail")
	period := strings.Trim(strings.TrimPrefix(fn, "(period="), "')")
	if !strings.HasPrefix(fn, "(period=") || !slices.Contains([]string{"D7", "D30", "D90", "D180"}, period) {
		return g.fail(http.StatusBadRequest, "BadRequest", "Invalid period: use D7, D30, D90 or D180.")
	}
	if g.claims.UserID != "" {
		w := g.s.World
		w.mu.RLock()
		access := g.tenant.RoleAccess(time.Now(), roleReportsReader, roleGlobalReader, roleExchangeAdministrator, roleGlobalAdministrator)
		w.mu.RUnlock()
		if access != RoleEffective {
			return g.fail(http.StatusForbidden, "UnknownError", "")
		}
	}
	w := g.s.World
	w.mu.RLock()
	rows := g.tenant.mailboxUsageRows()
	w.mu.RUnlock()
	for _, r := range rows {
		r["reportPeriod"] = strings.TrimPrefix(period, "D")
	}
	if g.version == "/beta" && q.Get("$format") == "application/json" {
		return g.collection(path, q, "Collection(microsoft.graph.mailboxUsageDetail)", rows, 200, 200)
	}
	return &graphResult{status: http.StatusOK, headers: map[string]string{"request-id": randomGUID(),
		"Content-Type": "application/octet-stream"}, body: rawBody(MailboxUsageCSV(rows))}
}

// rawBody is an answer that is not JSON (a report's CSV).
type rawBody []byte

// orgJSON is the tenant's organization object. The caller holds the World's lock.
func orgJSON(t *Tenant, verified []map[string]any) map[string]any {
	o := t.Org
	var created any
	if !o.CreatedAt.IsZero() {
		created = o.CreatedAt.UTC().Format(time.RFC3339)
	}
	return map[string]any{
		"id": t.ID, "displayName": t.Name, "countryLetterCode": nullable(o.CountryLetterCode), "onPremisesSyncEnabled": nil,
		"partnerTenantType": nullable(o.PartnerTenantType), "tenantType": "AAD", "verifiedDomains": verified,
		"street": nullable(o.Street), "city": nullable(o.City), "state": nullable(o.State), "postalCode": nullable(o.PostalCode),
		"country": nullable(o.Country), "businessPhones": strs(o.Phones), "technicalNotificationMails": strs(o.TechnicalNotificationMails),
		"createdDateTime": created, "directorySizeQuota": map[string]int{"used": 200 + 3*len(t.Users), "total": 50000},
		"assignedPlans": []any{}, "marketingNotificationEmails": []string{}, "securityComplianceNotificationMails": []string{},
		"privacyProfile": nil, "preferredLanguage": "en",
	}
}

// SetReportConcealment sets a tenant's report setting that conceals user names in usage
// reports (admin/reportSettings displayConcealedNames).
func (w *World) SetReportConcealment(tenantID string, on bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.byID[strings.ToLower(tenantID)]
	if t == nil {
		return fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
	}
	t.ConcealReportNames = on
	t.bump() // cached pages of the tenant are stale
	return nil
}

// SetCAPolicies replaces a tenant's conditional access policies.
func (w *World) SetCAPolicies(tenantID string, ps []*CAPolicy) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.byID[strings.ToLower(tenantID)]
	if t == nil {
		return fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
	}
	t.CAPolicies = ps
	t.bump()
	return nil
}

// GlobalAdministratorRole is the role template ID of Global Administrator, which the fake
// assigns to every administrator.
const GlobalAdministratorRole = roleGlobalAdministrator

// cippGroupType is ListGroups' groupType and calculatedGroupType of a group.
func cippGroupType(gr *Group) (display, calculated string) {
	switch gr.Type {
	case "Microsoft365":
		return "Microsoft 365", "m365"
	case "Distribution":
		return "Distribution List", "distributionList"
	case "MailEnabledSecurity":
		return "Mail-Enabled Security", "security"
	}
	return "Security", "security"
}

// cippListGroups is ListGroups in list mode: Graph beta groups sorted by displayName, with
// CIPP's own fields, and the members inlined (userPrincipalName only) with expandMembers=true.
func (s *Server) cippListGroups(w http.ResponseWriter, c *cippRequest) {
	if c.param("members") != "" || c.param("owners") != "" {
		if c.param("groupID") == "" {
			writeCIPPJSON(w, http.StatusBadRequest, map[string]any{"Results": "The 'members' and 'owners' parameters require 'groupID' to be set."})
			return
		}
	}
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListGroups.json")
		return
	}
	rows := []map[string]any{}
	if c.t == nil {
		writeCIPPJSON(w, http.StatusOK, rows)
		return
	}
	expand, _ := cippBool(c.param("expandMembers"))
	s.World.mu.RLock()
	t := c.t
	for _, gr := range t.Groups {
		m := graphGroupJSON(gr)
		display, calc := cippGroupType(gr)
		var upns []string
		var members []map[string]any
		for _, id := range t.memberIDs(gr) {
			u := t.User(id)
			upns = append(upns, u.UserPrincipalName)
			members = append(members, map[string]any{"@odata.type": "#microsoft.graph.user", "userPrincipalName": u.UserPrincipalName})
		}
		m["primDomain"] = t.DefaultDomain
		m["membersCsv"] = strings.Join(upns, ",")
		m["teamsEnabled"] = false
		m["groupType"], m["calculatedGroupType"] = display, calc
		m["dynamicGroupBool"] = false
		if expand {
			m["members"] = cippNonNil(members)
		}
		rows = append(rows, m)
	}
	s.World.mu.RUnlock()
	slices.SortFunc(rows, func(a, b map[string]any) int {
		return strings.Compare(a["displayName"].(string), b["displayName"].(string))
	})
	writeCIPPJSON(w, http.StatusOK, rows)
}

// cippListTenantDetails is ListTenantDetails: the Graph organization object, as one object.
func (s *Server) cippListTenantDetails(w http.ResponseWriter, c *cippRequest) {
	if c.rec {
		serveRecorded(w, http.StatusOK, "ListTenantDetails.json")
		return
	}
	if c.t == nil {
		writeCIPPText(w, http.StatusInternalServerError, fmt.Sprintf("Could not find tenant %s in the tenant list.", c.filter))
		return
	}
	s.World.mu.RLock()
	var verified []map[string]any
	for _, d := range c.t.Domains {
		if d.IsVerified {
			verified = append(verified, map[string]any{"capabilities": strings.Join(d.Services, ", "), "isDefault": d.IsDefault,
				"isInitial": d.IsInitial, "name": d.Name, "type": "Managed"})
		}
	}
	o := orgJSON(c.t, verified)
	s.World.mu.RUnlock()
	writeCIPPJSON(w, http.StatusOK, o)
}
