package graph

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/ids"
	"github.com/tenantsync/tenantsync/internal/wire"
)

// Writer adapts a Client to tenantsync.Writer: the write actions through Graph.
type Writer struct {
	c *Client
}

// NewWriter returns the Writer view of c.
func NewWriter(c *Client) *Writer { return &Writer{c: c} }

// Name is "graph".
func (w *Writer) Name() string { return service }

// Write performs one action through the Client method of the same name. Block, unblock,
// suspend and unsuspend read the account's state in the same $batch as the change, so Changed
// is false when the account already was as asked; adding an existing member and removing a
// non-member succeed with Changed false. A password reset makes the user change the password
// at the next sign-in.
func (w *Writer) Write(ctx context.Context, req tenantsync.WriteRequest) (tenantsync.WriteResult, error) {
	if err := req.Validate(); err != nil {
		return tenantsync.WriteResult{}, err
	}
	c, u := w.c, req.User()
	switch req.Action {
	case tenantsync.ActionBlockSignIn:
		return c.BlockSignIn(ctx, u)
	case tenantsync.ActionUnblockSignIn:
		return c.UnblockSignIn(ctx, u)
	case tenantsync.ActionSuspend:
		return c.Suspend(ctx, u)
	case tenantsync.ActionUnsuspend:
		return c.Unsuspend(ctx, u)
	case tenantsync.ActionForcePasswordReset:
		return c.ForcePasswordReset(ctx, u, tenantsync.PasswordReset{TemporaryPassword: req.TemporaryPassword, MustChange: true})
	case tenantsync.ActionRevokeSessions:
		return c.RevokeSessions(ctx, u)
	case tenantsync.ActionResetMFA:
		return c.ResetMFA(ctx, u)
	case tenantsync.ActionAddToGroup:
		return c.AddToGroup(ctx, u, req.GroupID)
	case tenantsync.ActionRemoveFromGroup:
		return c.RemoveFromGroup(ctx, u, req.GroupID)
	}
	// Validate accepts only known actions; one added to the root package before this route
	// learns it ends here.
	return tenantsync.WriteResult{}, opError(tenantsync.ErrUnsupported, string(req.Action), req.TenantID,
		"this version of the Graph route does not perform the action; send it through a route that does (such as CIPP)",
		"action %q is not supported by the Graph route", req.Action)
}

func userPath(user string) string { return "/users/" + url.PathEscape(user) }

// target checks u for op and returns the user Graph is to address: the object ID when given,
// else the UPN (Graph's /users/{id} takes either).
func target(op string, u tenantsync.UserRef) (string, error) {
	if err := checkTenant(op, u.TenantID); err != nil {
		return "", err
	}
	if id := strings.TrimSpace(u.UserID); id != "" {
		return id, nil
	}
	if upn := strings.TrimSpace(u.UPN); upn != "" {
		return upn, nil
	}
	return "", opError(tenantsync.ErrInvalidInput, op, u.TenantID, "pass the user's object ID or UPN", "no user")
}

// BlockSignIn sets accountEnabled to false. The current state and the change travel in one
// $batch, so blocking a blocked account succeeds with Changed false.
func (c *Client) BlockSignIn(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setAccountEnabled(ctx, "BlockSignIn", u, false, false)
}

// UnblockSignIn sets accountEnabled to true; Changed is false when it was true already.
func (c *Client) UnblockSignIn(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setAccountEnabled(ctx, "UnblockSignIn", u, true, false)
}

// Suspend blocks sign-in and, only once the block has succeeded, revokes the user's sessions,
// in one $batch chained with dependsOn. Revoking always has an effect, so Changed is true.
func (c *Client) Suspend(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setAccountEnabled(ctx, "Suspend", u, false, true)
}

// Unsuspend allows sign-in again. Sessions revoked by Suspend stay revoked.
func (c *Client) Unsuspend(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setAccountEnabled(ctx, "Unsuspend", u, true, false)
}

// setAccountEnabled sets accountEnabled, revoking sessions too when revoke is set. The current
// state, the change and the revocation travel in one $batch chained with dependsOn.
func (c *Client) setAccountEnabled(ctx context.Context, op string, u tenantsync.UserRef, enabled, revoke bool) (tenantsync.WriteResult, error) {
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	tenant := u.TenantID
	reqs := []BatchRequest{
		{ID: "state", Method: http.MethodGet, URL: userPath(user) + "?$select=id,accountEnabled"},
		{ID: "set", Method: http.MethodPatch, URL: userPath(user), Body: map[string]any{"accountEnabled": enabled}, DependsOn: []string{"state"}},
	}
	if revoke {
		reqs = append(reqs, BatchRequest{ID: "revoke", Method: http.MethodPost, URL: userPath(user) + "/revokeSignInSessions", DependsOn: []string{"set"}})
	}
	res, err := c.Batch(ctx, tenant, reqs)
	if err != nil {
		return tenantsync.WriteResult{}, withOp(err, op, tenant)
	}
	state := res["state"]
	if state.Status != http.StatusOK {
		return tenantsync.WriteResult{}, c.itemError(op, tenant, accessUsers, state)
	}
	var before struct {
		AccountEnabled *bool `json:"accountEnabled"`
	}
	_ = json.Unmarshal(state.Body, &before)
	if set := res["set"]; set.Status >= 300 {
		return tenantsync.WriteResult{}, c.itemError(op, tenant, accessUserWrite, set)
	}
	changed := before.AccountEnabled == nil || *before.AccountEnabled != enabled
	msg := "sign-in blocked"
	if enabled {
		msg = "sign-in allowed"
	}
	if revoke {
		if r := res["revoke"]; r.Status >= 300 {
			return tenantsync.WriteResult{}, c.itemError(op, tenant, accessUserWrite, r)
		}
		changed = true
		msg = "sign-in blocked and sessions revoked"
	}
	return tenantsync.WriteResult{Route: service, Message: msg, Changed: changed}, nil
}

// ForcePasswordReset sets p.TemporaryPassword, or a generated one when it is zero, and returns
// it to the caller in WriteResult.TemporaryPassword; it is never logged. With p.MustChange the
// user must change it at the next sign-in. A password Entra ID's policy refuses is
// ErrInvalidInput.
func (c *Client) ForcePasswordReset(ctx context.Context, u tenantsync.UserRef, p tenantsync.PasswordReset) (tenantsync.WriteResult, error) {
	const op = "ForcePasswordReset"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	password := p.TemporaryPassword.Reveal()
	if password == "" {
		if password, err = TemporaryPassword(); err != nil {
			return tenantsync.WriteResult{}, opError(tenantsync.ErrUnavailable, op, u.TenantID, "the system's random source failed; try again, or pass a TemporaryPassword", "generate password: %v", err)
		}
	}
	body := map[string]any{"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": p.MustChange, "password": password}}
	if _, err := c.call(ctx, op, u.TenantID, accessPassword, http.MethodPatch, userPath(user), body); err != nil {
		return tenantsync.WriteResult{}, err
	}
	msg := "temporary password set"
	if p.MustChange {
		msg += "; the user must change it at next sign-in"
	}
	return tenantsync.WriteResult{Route: service, Message: msg, Changed: true, TemporaryPassword: tenantsync.NewSecret(password)}, nil
}

// RevokeSessions invalidates the user's refresh tokens and session cookies.
func (c *Client) RevokeSessions(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	const op = "RevokeSessions"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	if _, err := c.call(ctx, op, u.TenantID, accessUserWrite, http.MethodPost, userPath(user)+"/revokeSignInSessions", nil); err != nil {
		return tenantsync.WriteResult{}, err
	}
	return tenantsync.WriteResult{Route: service, Message: "sessions revoked; it may take a few minutes to take effect", Changed: true}, nil
}

// methodSegments maps an authentication method's @odata.type onto the collection it is deleted
// from. The password method is absent: it cannot be deleted, only reset.
var methodSegments = map[string]string{
	"#microsoft.graph.phoneAuthenticationMethod":                    "phoneMethods",
	"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod":   "microsoftAuthenticatorMethods",
	"#microsoft.graph.softwareOathAuthenticationMethod":             "softwareOathMethods",
	"#microsoft.graph.fido2AuthenticationMethod":                    "fido2Methods",
	"#microsoft.graph.emailAuthenticationMethod":                    "emailMethods",
	"#microsoft.graph.windowsHelloForBusinessAuthenticationMethod":  "windowsHelloForBusinessMethods",
	"#microsoft.graph.temporaryAccessPassAuthenticationMethod":      "temporaryAccessPassMethods",
	"#microsoft.graph.platformCredentialAuthenticationMethod":       "platformCredentialMethods",
	"#microsoft.graph.hardwareOathAuthenticationMethod":             "hardwareOathMethods",
	"#microsoft.graph.externalAuthenticationMethod":                 "externalAuthenticationMethods",
	"#microsoft.graph.qrCodePinAuthenticationMethod":                "qrCodePinMethod",
	"#microsoft.graph.passwordlessMicrosoftAuthenticatorAuthMethod": "passwordlessMicrosoftAuthenticatorMethods",
}

// ResetMFA deletes every deletable authentication method of the user, so they must register
// again at the next sign-in. Changed is false when there was nothing to delete.
func (c *Client) ResetMFA(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	const op = "ResetMFA"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	tenant := u.TenantID
	l := list{op: op, path: userPath(user) + "/authentication/methods", need: accessMethods}
	var methods []AuthenticationMethod
	for m, err := range each[AuthenticationMethod](ctx, c, l, tenant) {
		if err != nil {
			return tenantsync.WriteResult{}, err
		}
		methods = append(methods, m)
	}
	var reqs []BatchRequest
	for _, m := range methods {
		seg, ok := methodSegments[m.ODataType]
		if !ok || m.ID == "" {
			continue
		}
		reqs = append(reqs, BatchRequest{ID: strconv.Itoa(len(reqs)), Method: http.MethodDelete,
			URL: userPath(user) + "/authentication/" + seg + "/" + url.PathEscape(m.ID)})
	}
	deleted := 0
	for start := 0; start < len(reqs); start += maxBatch {
		chunk := reqs[start:min(start+maxBatch, len(reqs))]
		res, err := c.Batch(ctx, tenant, chunk)
		if err != nil {
			return tenantsync.WriteResult{}, withOp(err, op, tenant)
		}
		for _, r := range chunk {
			item := res[r.ID]
			switch {
			case item.Status < 300, item.Status == http.StatusNotFound:
				// Gone already is as good as deleted.
				deleted++
			default:
				e := c.itemError(op, tenant, accessMethods, item)
				if deleted > 0 {
					e.Message = strings.TrimSpace(e.Message + " (" + strconv.Itoa(deleted) + " methods were deleted before this failure)")
				}
				return tenantsync.WriteResult{}, e
			}
		}
	}
	if deleted == 0 {
		return tenantsync.WriteResult{Route: service, Message: "no authentication methods to delete", Changed: false}, nil
	}
	return tenantsync.WriteResult{Route: service, Message: "deleted " + strconv.Itoa(deleted) + " authentication methods; the user registers again at next sign-in", Changed: true}, nil
}

// memberID checks a group action's arguments and returns the user's object ID.
func (c *Client) memberID(ctx context.Context, op string, u tenantsync.UserRef, group string) (string, error) {
	user, err := target(op, u)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(group) == "" {
		return "", opError(tenantsync.ErrInvalidInput, op, u.TenantID, "pass the group's object ID", "no group")
	}
	return c.objectID(ctx, op, u.TenantID, user)
}

// objectID resolves a UPN to an object ID; $ref bodies and paths need the ID.
func (c *Client) objectID(ctx context.Context, op, tenant, user string) (string, error) {
	if ids.IsGUID(user) {
		return user, nil
	}
	r, err := c.get(ctx, op, tenant, accessUsers, c.root+userPath(user)+"?$select=id")
	if err != nil {
		return "", err
	}
	var u struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.body, &u); err != nil || u.ID == "" {
		return "", opError(tenantsync.ErrUnavailable, op, tenant, "Graph answered without the user's id; retry, or pass the object ID instead of the UPN", "could not read the object ID of %s", user)
	}
	return u.ID, nil
}

// AddToGroup adds the user to the group. An existing member is success with Changed false.
// A user given by UPN alone costs one more request, to read the object ID $ref needs.
func (c *Client) AddToGroup(ctx context.Context, u tenantsync.UserRef, group string) (tenantsync.WriteResult, error) {
	const op = "AddToGroup"
	id, err := c.memberID(ctx, op, u, group)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	tenant := u.TenantID
	body := map[string]string{"@odata.id": c.root + "/directoryObjects/" + url.PathEscape(id)}
	r, err := c.call(ctx, op, tenant, accessGroups, http.MethodPost, "/groups/"+url.PathEscape(group)+"/members/$ref", body)
	if err != nil {
		if r != nil && r.status == http.StatusBadRequest && alreadyMember(r.body) {
			return tenantsync.WriteResult{Route: service, Message: "already a member", Changed: false}, nil
		}
		return tenantsync.WriteResult{}, err
	}
	return tenantsync.WriteResult{Route: service, Message: "added to group", Changed: true}, nil
}

func alreadyMember(body []byte) bool {
	eb, _ := wire.DecodeGraphError(body)
	return strings.Contains(eb.Error.Message, "already exist")
}

// RemoveFromGroup removes the user from the group. A user who is not a member is success with
// Changed false; a group that does not exist is ErrNotFound.
func (c *Client) RemoveFromGroup(ctx context.Context, u tenantsync.UserRef, group string) (tenantsync.WriteResult, error) {
	const op = "RemoveFromGroup"
	id, err := c.memberID(ctx, op, u, group)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	tenant := u.TenantID
	r, err := c.call(ctx, op, tenant, accessGroups, http.MethodDelete, "/groups/"+url.PathEscape(group)+"/members/"+url.PathEscape(id)+"/$ref", nil)
	if err == nil {
		return tenantsync.WriteResult{Route: service, Message: "removed from group", Changed: true}, nil
	}
	if r == nil || r.status != http.StatusNotFound {
		return tenantsync.WriteResult{}, err
	}
	// Graph answers 404 both for a non-member and for a missing group; only the group's
	// existence tells them apart.
	if _, gerr := c.get(ctx, op, tenant, accessGroups, c.root+"/groups/"+url.PathEscape(group)+"?$select=id"); gerr != nil {
		return tenantsync.WriteResult{}, gerr
	}
	return tenantsync.WriteResult{Route: service, Message: "not a member", Changed: false}, nil
}

// TemporaryPassword returns a 16-character password from crypto/rand with upper and lower case
// letters, digits and symbols, which satisfies Entra ID's complexity rules.
func TemporaryPassword() (string, error) {
	const (
		upper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower  = "abcdefghijkmnopqrstuvwxyz"
		digits = "23456789"
		symbol = "!@#$%^&*-_=+?"
		all    = upper + lower + digits + symbol
	)
	sets := []string{upper, lower, digits, symbol}
	b := make([]byte, 16)
	for i := range b {
		set := all
		if i < len(sets) {
			set = sets[i]
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[n.Int64()]
	}
	// Shuffle so the class-guaranteeing characters are not always first.
	for i := len(b) - 1; i > 0; i-- {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}
