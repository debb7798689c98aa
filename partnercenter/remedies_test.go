package partnercenter_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync/partnercenter"
)

func TestRemediesGroupCapabilitiesThatShareAReason(t *testing.T) {
	t.Parallel()
	role := func(c partnercenter.Capability, roles ...string) partnercenter.CapabilityStatus {
		return partnercenter.CapabilityStatus{Capability: c, State: partnercenter.StateRoleMissing,
			Reason: "no active relationship holds a role that grants it", Action: "add the role to a relationship", Roles: roles}
	}
	tr := partnercenter.TenantReadiness{TenantID: "t1", Capabilities: []partnercenter.CapabilityStatus{
		{Capability: partnercenter.CapabilityReadUsers, State: partnercenter.StateReady},
		role(partnercenter.CapabilityWriteUsers, "User Administrator"),
		{Capability: partnercenter.CapabilityReadMFA, State: partnercenter.StateLicenseMissing, Reason: "no Entra ID P1", Action: "buy P1"},
		role(partnercenter.CapabilityWriteGroups, "Groups Administrator", "User Administrator"),
	}}
	got := tr.Remedies()
	assert.Equal(t, []partnercenter.Remedy{
		{Capabilities: []partnercenter.Capability{partnercenter.CapabilityWriteUsers, partnercenter.CapabilityWriteGroups},
			Label: "write users, write groups", State: partnercenter.StateRoleMissing,
			Reason: "no active relationship holds a role that grants it", Action: "add the role to a relationship",
			Roles: []string{"User Administrator", "Groups Administrator"}},
		{Capabilities: []partnercenter.Capability{partnercenter.CapabilityReadMFA}, Label: "read MFA detail",
			State: partnercenter.StateLicenseMissing, Reason: "no Entra ID P1", Action: "buy P1"},
	}, got)

	none := partnercenter.TenantReadiness{Capabilities: []partnercenter.CapabilityStatus{
		{Capability: partnercenter.CapabilityReadUsers, State: partnercenter.StateNoRelationship, Reason: "no GDAP", Action: "ask"},
		{Capability: partnercenter.CapabilityReadMFA, State: partnercenter.StateNoRelationship, Reason: "no GDAP", Action: "ask"},
	}}
	if rs := none.Remedies(); assert.Len(t, rs, 1) {
		assert.Equal(t, "all capabilities", rs[0].Label)
	}
	assert.Empty(t, partnercenter.TenantReadiness{Capabilities: []partnercenter.CapabilityStatus{{State: partnercenter.StateReady}}}.Remedies())
	assert.Equal(t, "NO ROLE", partnercenter.StateRoleMissing.Badge())
}
