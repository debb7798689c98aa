package match

import (
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Field names reported by ApplyUser.
const (
	FieldFirstName = "FirstName"
	FieldLastName  = "LastName"
	FieldEmail     = "Email"
	FieldJobTitle  = "JobTitle"
	FieldPhone     = "Phone"
	FieldMobile    = "Mobile"
	FieldIdentity  = "TenantID/ObjectID"
)

// ApplyUser copies a user's details onto its contact, for a create or an update, and returns
// the contact and the names of the fields it changed. A blank user field never overwrites a
// contact value. A filled contact field is replaced only when overwrite is true (the PSA's
// own data wins by default, as in the peers' sync tools); blank contact fields are always
// filled.
//
// The contact takes the user's identity, so the PSA can store the link itself, but an identity
// alone is not reported as a change, or a PSA that drops or normalises it would be rewritten
// at every reconcile: identities compare case-insensitively (the matcher's rule), a blank one
// means the PSA does not keep it and is filled unreported, and only a different non-blank one
// is reported as FieldIdentity. Whether that justifies a write is the caller's choice.
func ApplyUser(c tenantsync.Contact, u tenantsync.User, overwrite bool) (tenantsync.Contact, []string) {
	var changed []string
	set := func(dst *string, v, name string) {
		v = strings.TrimSpace(v)
		if v == "" || v == *dst || (*dst != "" && !overwrite) {
			return
		}
		*dst = v
		changed = append(changed, name)
	}
	set(&c.FirstName, u.GivenName, FieldFirstName)
	set(&c.LastName, u.Surname, FieldLastName)
	if primary := primaryRaw(&u); primary != "" {
		if a, err := ParseAddress(primary); err == nil && !a.IsOnMicrosoft() {
			// Rewriting an address that is already the same mailbox ("Jane@X.com" and
			// "jane@x.com") would be churn, not a change.
			if cur, err := NormalizeEmail(c.Email); err != nil || cur != a.String() {
				set(&c.Email, strings.TrimSpace(primary), FieldEmail)
			}
		}
	}
	set(&c.JobTitle, u.JobTitle, FieldJobTitle)
	if len(u.BusinessPhones) > 0 {
		set(&c.Phone, u.BusinessPhones[0], FieldPhone)
	}
	set(&c.Mobile, u.MobilePhone, FieldMobile)
	if u.TenantID != "" && u.ObjectID != "" {
		have, want := Identity{c.TenantID, c.ObjectID}.canonical(), IdentityOf(u).canonical()
		switch {
		case have == want:
			// The same identity, perhaps in the PSA's case: kept as the PSA has it.
		case strings.TrimSpace(c.TenantID) == "" && strings.TrimSpace(c.ObjectID) == "":
			c.TenantID, c.ObjectID = u.TenantID, u.ObjectID
		default:
			c.TenantID, c.ObjectID = u.TenantID, u.ObjectID
			changed = append(changed, FieldIdentity)
		}
	}
	return c, changed
}
