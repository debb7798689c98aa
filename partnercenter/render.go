package partnercenter

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Badge is the state's short label, as a table cell or a console badge shows it: upper case
// for the states that need a person.
func (s State) Badge() string {
	switch s {
	case StateReady:
		return "ready"
	case StateExpiring:
		return "EXPIRING"
	case StatePropagating:
		return "pending"
	case StateRoleMissing:
		return "NO ROLE"
	case StateConsentMissing:
		return "NO CONSENT"
	case StateNoRelationship:
		return "NO GDAP"
	case StateLicenseMissing:
		return "NO LICENCE"
	case StateAccessDenied:
		return "DENIED"
	case StateUnknown:
		return "UNKNOWN"
	}
	return string(s)
}

// RenderTable writes the readiness table: one row per tenant with a badge per capability, then,
// per tenant, each capability that is not ready with its reason and what to do. Role names
// appear in the actions, so the table alone tells an admin which role to add where.
func RenderTable(w io.Writer, rows []TenantReadiness) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	caps := Capabilities()
	if len(rows) > 0 && len(rows[0].Capabilities) > 0 {
		caps = caps[:0:0]
		for _, s := range rows[0].Capabilities {
			caps = append(caps, s.Capability)
		}
	}
	header := []string{"TENANT", "STATE", "GDAP"}
	for _, c := range caps {
		header = append(header, strings.ToUpper(c.Label()))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := []string{clipCell(nameOf(r), 32), string(r.State()), clipCell(r.Relationship, 60)}
		for _, c := range caps {
			st, ok := r.Status(c)
			if !ok {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, st.State.Badge())
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rows {
		var lines []string
		for _, g := range r.Remedies() {
			lines = append(lines, fmt.Sprintf("  - %s [%s]: %s.\n      what to do: %s.", g.Label, g.State.Badge(), g.Reason, g.Action))
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%s):\n%s\n", nameOf(r), r.TenantID, strings.Join(lines, "\n"))
	}
	if b.Len() > 0 {
		if _, err := io.WriteString(w, "\nWhat to do:"+b.String()); err != nil {
			return err
		}
	}
	return nil
}

func nameOf(r TenantReadiness) string {
	if r.DisplayName != "" {
		return r.DisplayName
	}
	return r.TenantID
}

func clipCell(s string, n int) string {
	s = strings.ReplaceAll(s, "\t", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Remedy is what to do about the capabilities of one tenant that are not ready for the same
// reason: one expired relationship reads as one remedy, not six.
type Remedy struct {
	// Capabilities are the capabilities concerned, in table order; Label names them ("read
	// users, read devices"), or says "all capabilities" when every checked one shares it.
	Capabilities []Capability
	Label        string
	State        State
	// Reason says what is missing (the role, the consent, the relationship, the licence);
	// Action what to do about it.
	Reason string
	Action string
	// Roles are the roles to add when State is StateRoleMissing, else the roles involved.
	Roles []string
}

// Remedies returns, for every capability that is not ready, what is missing and what to do,
// merging the capabilities that share a state, reason and action. It is the "What to do" part
// of RenderTable, for a program that shows readiness its own way.
func (t TenantReadiness) Remedies() []Remedy {
	var out []Remedy
	var names [][]string
	for _, st := range t.Capabilities {
		if st.State == StateReady {
			continue
		}
		i := slices.IndexFunc(out, func(g Remedy) bool {
			return g.State == st.State && g.Reason == st.Reason && g.Action == st.Action
		})
		if i < 0 {
			out = append(out, Remedy{State: st.State, Reason: st.Reason, Action: st.Action, Roles: slices.Clone(st.Roles)})
			names = append(names, nil)
			i = len(out) - 1
		} else {
			for _, r := range st.Roles {
				if !slices.Contains(out[i].Roles, r) {
					out[i].Roles = append(out[i].Roles, r)
				}
			}
		}
		out[i].Capabilities = append(out[i].Capabilities, st.Capability)
		names[i] = append(names[i], st.Capability.Label())
	}
	for i := range out {
		out[i].Label = strings.Join(names[i], ", ")
		if len(names[i]) == len(t.Capabilities) && len(t.Capabilities) > 1 {
			out[i].Label = "all capabilities"
		}
	}
	return out
}
