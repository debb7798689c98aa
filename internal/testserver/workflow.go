package testserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ServedCall is one request the fake Graph or CIPP served: a Graph call (direct or a $batch
// item, with its path relative to the version root) or a CIPP endpoint (Path is the endpoint's
// name, Body its JSON body). Tests of workflows read the log to prove a step ran exactly once.
type ServedCall struct {
	Service string
	Tenant  string // the customer tenant's ID, "" when unknown
	Method  string
	Path    string
	Body    string
}

// Field returns a top-level field of a JSON body ("" when absent), rendered as CIPP reads it:
// strings as they are, booleans as True/False, {"value": x} as x.
func (r ServedCall) Field(name string) string {
	var m map[string]any
	if json.Unmarshal([]byte(r.Body), &m) != nil {
		return ""
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return cippString(v)
		}
	}
	return ""
}

type callLog struct {
	mu  sync.Mutex
	log []ServedCall
}

func (s *Server) callLog() *callLog { return &s.calls }

func (s *Server) logCall(service, tenant, method, path string, body []byte) {
	l := s.callLog()
	l.mu.Lock()
	l.log = append(l.log, ServedCall{Service: service, Tenant: strings.ToLower(tenant), Method: method, Path: path, Body: string(body)})
	l.mu.Unlock()
}

// ServedCalls returns the Graph and CIPP calls served since the fake started (or since
// ResetServedCalls), in order, those answered with an injected fault included; service ""
// returns both. Graph reads answered from the page cache (Options.PageCache) are not in it.
func (s *Server) ServedCalls(service string) []ServedCall {
	l := s.callLog()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ServedCall, 0, len(l.log))
	for _, r := range l.log {
		if service == "" || r.Service == service {
			out = append(out, r)
		}
	}
	return out
}

// ResetServedCalls empties the log ServedCalls reads.
func (s *Server) ResetServedCalls() {
	l := s.callLog()
	l.mu.Lock()
	l.log = nil
	l.mu.Unlock()
}

func (c *cippRequest) raw() []byte {
	if c.body == nil {
		return nil
	}
	b, _ := json.Marshal(c.body)
	return b
}

// CIPPOffboardScheduled makes ExecOffboardUser answer as CIPP 10.x does (reference cipp-api.md
// §4.12): "Task Offboarding: <user> scheduled to run now", without the outcome of each action.
// By default the fake answers with one line per action, as the synchronous offboarding of
// older CIPP versions did. Either way the fake applies the actions before answering.
func (s *Server) CIPPOffboardScheduled(on bool) { s.cippOffboardScheduled.Store(on) }

func (s *Server) offboardScheduled() bool { return s.cippOffboardScheduled.Load() }

// offboardFlags are ExecOffboardUser's action flags the fake performs, in CIPP's order.
var offboardFlags = []string{"DisableSignIn", "RevokeSessions", "ResetPass", "RemoveGroups", "RemoveLicenses",
	"ConvertToShared", "HideFromGAL", "RemoveMFADevices"}

func (c *cippRequest) flag(name string) bool {
	v, ok := c.bodyValue(name)
	if !ok {
		return false
	}
	b, _ := cippBool(cippString(v))
	return b
}

func (s *Server) cippExecOffboardUser(w http.ResponseWriter, c *cippRequest) {
	uv, _ := c.bodyValue("user")
	var users []string
	switch x := uv.(type) {
	case []any:
		for _, u := range x {
			users = append(users, cippString(u))
		}
	case string, map[string]any:
		users = append(users, cippString(x))
	}
	forward, _ := c.bodyValue("forward")
	ooo := c.param("OOO")
	var selected []string
	for _, f := range offboardFlags {
		if c.flag(f) {
			selected = append(selected, f)
		}
	}
	var errs []string
	if c.filter == "" {
		errs = append(errs, "'tenantFilter' is required to offboard a user.")
	}
	if len(users) == 0 || slices.ContainsFunc(users, func(u string) bool { return !strings.Contains(u, "@") }) {
		errs = append(errs, "'user' must name at least one user by UPN.")
	}
	if len(selected) == 0 && ooo == "" && cippString(forward) == "" {
		errs = append(errs, "No offboarding actions were selected. Select at least one action to perform.")
	}
	if len(errs) > 0 {
		writeCIPPJSON(w, http.StatusBadRequest, map[string]any{"Results": errs})
		return
	}
	var lines []string
	for _, upn := range users {
		lines = append(lines, s.offboard(c, upn, selected, ooo, cippString(forward), c.flag("KeepCopy"))...)
	}
	if s.offboardScheduled() {
		out := make([]string, 0, len(users))
		for _, u := range users {
			out = append(out, "Task Offboarding: "+u+" scheduled to run now")
		}
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": out})
		return
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": cippNonNil(lines)})
}

// offboard applies the selected actions to one user and returns one line per action, worded as
// CIPP's offboarding job words them.
func (s *Server) offboard(c *cippRequest, upn string, flags []string, ooo, forward string, keep bool) []string {
	if c.t == nil {
		return []string{fmt.Sprintf("Error - Graph request denied for '%s': the tenant is not in CIPP's tenant list.", c.filter)}
	}
	w := s.World
	w.mu.RLock()
	u := c.t.User(upn)
	w.mu.RUnlock()
	if u == nil || u.Deleted {
		return []string{"Error - " + fmt.Sprintf(graphNotExist, upn)}
	}
	var lines []string
	update := func(fn func(*User)) { _ = w.UpdateUser(c.t.ID, u.ID, fn) }
	for _, f := range flags {
		switch f {
		case "DisableSignIn":
			update(func(u *User) { u.AccountEnabled = false })
			lines = append(lines, "Successfully set account enabled state to False for "+upn)
		case "RevokeSessions":
			s.cippMu.Lock()
			if s.cippRevoked == nil {
				s.cippRevoked = map[string]int{}
			}
			s.cippRevoked[strings.ToLower(u.ID)]++
			s.cippMu.Unlock()
			lines = append(lines, "Successfully revoked sessions for "+upn)
		case "ResetPass":
			lines = append(lines, "Successfully reset the password for "+upn+". User must change password is set to True. The new password is "+cippPassword())
		case "RemoveGroups":
			w.mu.Lock()
			var names []string
			for _, g := range c.t.Groups {
				if g.Members[u.ID] {
					delete(g.Members, u.ID)
					names = append(names, g.DisplayName)
				}
			}
			w.mu.Unlock()
			sort.Strings(names)
			for _, n := range names {
				lines = append(lines, "Successfully removed user "+upn+" from "+n+".")
			}
			if len(names) == 0 {
				lines = append(lines, "This user is not a member of any groups.")
			}
		case "RemoveLicenses":
			update(func(u *User) { u.Licenses = nil })
			lines = append(lines, "Successfully removed licenses for "+upn)
		case "ConvertToShared":
			if u.MailboxType == "" {
				lines = append(lines, "Error - Failed to convert "+upn+" to shared mailbox: the user has no mailbox.")
				continue
			}
			update(func(u *User) { u.MailboxType = "SharedMailbox" })
			lines = append(lines, "Successfully converted "+upn+" to Shared Mailbox")
		case "HideFromGAL":
			update(func(u *User) { u.HiddenFromGAL = true })
			lines = append(lines, "Hidden "+upn+" from address list")
		case "RemoveMFADevices":
			update(func(u *User) {
				for id, k := range u.Methods {
					if k != "password" {
						delete(u.Methods, id)
					}
				}
				u.MFARegistered, u.MFACapable, u.MFAMethods = false, false, nil
			})
			lines = append(lines, "Successfully removed MFA methods for user "+upn+". User must supply MFA at next logon")
		}
	}
	if ooo != "" {
		update(func(u *User) { u.AutoReply = ooo })
		lines = append(lines, "Successfully set Out-of-office for "+upn)
	}
	if forward != "" {
		update(func(u *User) { u.ForwardTo, u.KeepCopy = forward, keep })
		lines = append(lines, fmt.Sprintf("Forwarding all email for %s to %s and keeping a copy: %s", upn, forward, psBool(keep)))
	}
	return lines
}

// cippAddUser creates a user as CIPP's AddUser does (New-CIPPUserTask): the user, then its
// licences, answering "Created New User.", "Username: ..." and the password in a copyField.
func (s *Server) cippAddUser(w http.ResponseWriter, c *cippRequest) {
	if c.t == nil {
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []string{"Failed to create user. Graph request denied for '" + c.filter + "': the tenant is not in CIPP's tenant list."}})
		return
	}
	nick, domain := c.param("username"), c.param("primDomain")
	if nick == "" {
		nick = c.param("mailNickname")
	}
	upn := nick + "@" + domain
	u := User{
		UserPrincipalName: upn, DisplayName: c.param("displayName"), GivenName: c.param("givenName"),
		Surname: c.param("surname"), AccountEnabled: true, UsageLocation: c.param("usageLocation"),
		Mail: upn, MailboxType: "UserMailbox", ManagerID: c.param("setManager"),
	}
	if lv, ok := c.bodyValue("licenses"); ok {
		if list, ok := lv.([]any); ok {
			for _, l := range list {
				u.Licenses = append(u.Licenses, cippString(l))
			}
		}
	}
	if _, err := s.World.AddUser(c.t.ID, u); err != nil {
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []string{"Failed to create user. Another object with the same value for property userPrincipalName already exists."}})
		return
	}
	pw := cippPassword()
	lines := []any{"Created New User.", "Username: " + upn,
		map[string]string{"resultText": "Password: " + pw, "copyField": pw, "state": "success"}}
	if len(u.Licenses) > 0 {
		lines = append(lines, "Assigned licenses to "+upn)
	}
	if u.ManagerID != "" {
		lines = append(lines, "Set manager for "+upn)
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": lines})
}

// cippEditUser sets the profile fields given (EditUser). A field given as "" is blanked, as
// Graph's PATCH does: the fake keeps CIPP's behaviour so a client that sends blanks is caught.
func (s *Server) cippEditUser(w http.ResponseWriter, c *cippRequest) {
	id := c.param("id")
	if id == "" {
		id = c.param("userPrincipalName")
	}
	if c.t == nil {
		writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []string{"Failed to edit user. Graph request denied for '" + c.filter + "': the tenant is not in CIPP's tenant list."}})
		return
	}
	err := s.World.UpdateUser(c.t.ID, id, func(u *User) {
		for k, v := range c.body {
			str := cippString(v)
			switch strings.ToLower(k) {
			case "jobtitle":
				u.JobTitle = str
			case "department":
				u.Department = str
			case "officelocation":
				u.OfficeLocation = str
			case "mobilephone":
				u.MobilePhone = str
			case "businessphones":
				u.BusinessPhones = nil
				if str != "" {
					u.BusinessPhones = []string{str}
				}
			}
		}
	})
	if err != nil {
		writeCIPPJSON(w, http.StatusInternalServerError, map[string]any{"Results": "Failed to edit user. " + fmt.Sprintf(graphNotExist, id)})
		return
	}
	writeCIPPJSON(w, http.StatusOK, map[string]any{"Results": []string{"Success. The user has been edited."}})
}

// serveWorkflow answers the Graph calls the onboarding, offboarding and profile workflows make
// that the read side does not: creating a user, licences, the manager, group memberships as
// seen from the user, profile fields and automatic replies. It returns nil for other calls.
func (g *graphCall) serveWorkflow(method, path string, seg []string, body []byte) *graphResult {
	switch {
	case method == http.MethodPost && path == "/users":
		return g.createUser(body)
	case method == http.MethodPost && len(seg) == 3 && seg[0] == "users" && seg[2] == "assignLicense":
		return g.assignLicense(seg[1], body)
	case method == http.MethodPut && len(seg) == 4 && seg[0] == "users" && seg[2] == "manager" && seg[3] == "$ref":
		return g.setManager(seg[1], body)
	case method == http.MethodGet && len(seg) >= 3 && seg[0] == "users" && seg[2] == "memberOf":
		return g.memberOf(seg[1])
	case method == http.MethodPatch && len(seg) == 2 && seg[0] == "users":
		return g.patchProfile(seg[1], body)
	case method == http.MethodPatch && len(seg) == 3 && seg[0] == "users" && seg[2] == "mailboxSettings":
		return g.patchMailboxSettings(seg[1], body)
	}
	return nil
}

func (g *graphCall) createUser(body []byte) *graphResult {
	var in struct {
		AccountEnabled    *bool  `json:"accountEnabled"`
		DisplayName       string `json:"displayName"`
		GivenName         string `json:"givenName"`
		Surname           string `json:"surname"`
		MailNickname      string `json:"mailNickname"`
		UserPrincipalName string `json:"userPrincipalName"`
		UsageLocation     string `json:"usageLocation"`
		PasswordProfile   *struct {
			Password string `json:"password"`
		} `json:"passwordProfile"`
	}
	if json.Unmarshal(body, &in) != nil {
		return g.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
	}
	switch {
	case in.AccountEnabled == nil, in.DisplayName == "", in.MailNickname == "", in.UserPrincipalName == "", in.PasswordProfile == nil:
		return g.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'passwordProfile' of resource 'User'.")
	case !complexPassword(in.PasswordProfile.Password):
		return g.fail(http.StatusBadRequest, "Request_BadRequest",
			"The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	u, err := g.s.World.AddUser(g.tenant.ID, User{UserPrincipalName: in.UserPrincipalName, DisplayName: in.DisplayName,
		GivenName: in.GivenName, Surname: in.Surname, AccountEnabled: *in.AccountEnabled, UsageLocation: in.UsageLocation,
		Mail: in.UserPrincipalName, MailboxType: "UserMailbox"})
	if err != nil {
		return g.fail(http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
	}
	w := g.s.World
	w.mu.RLock()
	m := userJSON(u)
	w.mu.RUnlock()
	m["@odata.context"] = g.context("users/$entity")
	return g.ok(http.StatusCreated, m)
}

func (g *graphCall) assignLicense(id string, body []byte) *graphResult {
	var in struct {
		AddLicenses []struct {
			SKUID string `json:"skuId"`
		} `json:"addLicenses"`
		RemoveLicenses []string `json:"removeLicenses"`
	}
	if json.Unmarshal(body, &in) != nil || in.RemoveLicenses == nil && in.AddLicenses == nil {
		return g.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'addLicenses' of resource 'User'.")
	}
	var uid, usage string
	if res := g.withUser(id, func(u *User) { uid, usage = u.ID, u.UsageLocation }); res != nil {
		return res
	}
	w := g.s.World
	w.mu.RLock()
	known := map[string]bool{}
	for _, s := range g.tenant.SKUs {
		known[strings.ToLower(s.ID)] = true
	}
	w.mu.RUnlock()
	for _, a := range in.AddLicenses {
		if !known[strings.ToLower(a.SKUID)] {
			return g.fail(http.StatusBadRequest, "Request_BadRequest", "License "+a.SKUID+" does not correspond to a valid company License.")
		}
	}
	if len(in.AddLicenses) > 0 && usage == "" {
		return g.fail(http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
	}
	_ = w.UpdateUser(g.tenant.ID, uid, func(u *User) {
		for _, r := range in.RemoveLicenses {
			u.Licenses = slices.DeleteFunc(u.Licenses, func(l string) bool { return strings.EqualFold(l, r) })
		}
		for _, a := range in.AddLicenses {
			if !slices.ContainsFunc(u.Licenses, func(l string) bool { return strings.EqualFold(l, a.SKUID) }) {
				u.Licenses = append(u.Licenses, a.SKUID)
			}
		}
	})
	var m map[string]any
	_ = g.withUser(uid, func(u *User) { m = userJSON(u) })
	m["@odata.context"] = g.context("users/$entity")
	return g.ok(http.StatusOK, m)
}

func (g *graphCall) setManager(id string, body []byte) *graphResult {
	var ref struct {
		ID string `json:"@odata.id"`
	}
	if json.Unmarshal(body, &ref) != nil || ref.ID == "" {
		return g.fail(http.StatusBadRequest, "BadRequest", "Invalid request body: an '@odata.id' reference is required.")
	}
	mgr := ref.ID[strings.LastIndex(ref.ID, "/")+1:]
	var mgrID, uid string
	if res := g.withUser(mgr, func(u *User) { mgrID = u.ID }); res != nil {
		return res
	}
	if res := g.withUser(id, func(u *User) { uid = u.ID }); res != nil {
		return res
	}
	_ = g.s.World.UpdateUser(g.tenant.ID, uid, func(u *User) { u.ManagerID = mgrID })
	return &graphResult{status: http.StatusNoContent, headers: map[string]string{"request-id": randomGUID()}}
}

func (g *graphCall) memberOf(id string) *graphResult {
	var uid string
	if res := g.withUser(id, func(u *User) { uid = u.ID }); res != nil {
		return res
	}
	w := g.s.World
	w.mu.RLock()
	items := []map[string]any{}
	for _, gr := range g.tenant.Groups {
		if gr.Members[uid] {
			items = append(items, map[string]any{"@odata.type": "#microsoft.graph.group", "id": gr.ID, "displayName": gr.DisplayName})
		}
	}
	w.mu.RUnlock()
	return g.ok(http.StatusOK, map[string]any{"@odata.context": g.context("directoryObjects"), "value": items})
}

// patchProfile applies the profile fields and usage location of a PATCH /users/{id}; other
// properties go to patchUser. A field sent as null or "" is blanked, as Graph does.
func (g *graphCall) patchProfile(id string, body []byte) *graphResult {
	var patch map[string]json.RawMessage
	if json.Unmarshal(body, &patch) != nil {
		return nil // patchUser answers the malformed body
	}
	fields := map[string]bool{"jobTitle": true, "department": true, "officeLocation": true, "mobilePhone": true, "businessPhones": true, "usageLocation": true}
	profile := false
	for k := range patch {
		if fields[k] {
			profile = true
		}
	}
	if !profile {
		return nil
	}
	var uid string
	if res := g.withUser(id, func(u *User) { uid = u.ID }); res != nil {
		return res
	}
	str := func(k string) string {
		var s *string
		_ = json.Unmarshal(patch[k], &s)
		if s == nil {
			return ""
		}
		return *s
	}
	if v, ok := patch["usageLocation"]; ok && len(str("usageLocation")) != 2 && string(v) != "null" {
		return g.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'.")
	}
	_ = g.s.World.UpdateUser(g.tenant.ID, uid, func(u *User) {
		for k := range patch {
			switch k {
			case "jobTitle":
				u.JobTitle = str(k)
			case "department":
				u.Department = str(k)
			case "officeLocation":
				u.OfficeLocation = str(k)
			case "mobilePhone":
				u.MobilePhone = str(k)
			case "usageLocation":
				u.UsageLocation = str(k)
			case "businessPhones":
				var ps []string
				_ = json.Unmarshal(patch[k], &ps)
				u.BusinessPhones = ps
			case "accountEnabled":
				var b bool
				if json.Unmarshal(patch[k], &b) == nil {
					u.AccountEnabled = b
				}
			}
		}
	})
	return &graphResult{status: http.StatusNoContent, headers: map[string]string{"request-id": randomGUID()}}
}

func (g *graphCall) patchMailboxSettings(id string, body []byte) *graphResult {
	var in struct {
		AutomaticRepliesSetting *struct {
			Status               string `json:"status"`
			InternalReplyMessage string `json:"internalReplyMessage"`
		} `json:"automaticRepliesSetting"`
	}
	if json.Unmarshal(body, &in) != nil || in.AutomaticRepliesSetting == nil {
		return g.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
	}
	var uid, mt string
	if res := g.withUser(id, func(u *User) { uid, mt = u.ID, u.MailboxType }); res != nil {
		return res
	}
	if mt == "" {
		return g.fail(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.")
	}
	msg := ""
	if !strings.EqualFold(in.AutomaticRepliesSetting.Status, "disabled") {
		msg = in.AutomaticRepliesSetting.InternalReplyMessage
	}
	_ = g.s.World.UpdateUser(g.tenant.ID, uid, func(u *User) { u.AutoReply = msg })
	return g.ok(http.StatusOK, map[string]any{"@odata.context": g.context("users('" + uid + "')/mailboxSettings"),
		"automaticRepliesSetting": map[string]any{"status": in.AutomaticRepliesSetting.Status, "internalReplyMessage": msg, "externalReplyMessage": msg}})
}
