package partnercenter

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// badge is the short cell text of a state.
func badge(s State) string {
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
			cells = append(cells, badge(st.State))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rows {
		var lines []string
		for _, g := range groupStatuses(r.Capabilities) {
			lines = append(lines, fmt.Sprintf("  - %s [%s]: %s.\n      what to do: %s.", g.labels, badge(g.State), g.Reason, g.Action))
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

// statusGroup is the capabilities of one tenant that share a state, reason and action.
type statusGroup struct {
	CapabilityStatus
	labels string
}

// groupStatuses merges the not-ready capabilities that have the same state, reason and action,
// so one expired relationship reads as one line, not six; "all capabilities" when every one of
// them shares it.
func groupStatuses(sts []CapabilityStatus) []statusGroup {
	var out []statusGroup
	var names [][]string
	for _, st := range sts {
		if st.State == StateReady {
			continue
		}
		i := slices.IndexFunc(out, func(g statusGroup) bool {
			return g.State == st.State && g.Reason == st.Reason && g.Action == st.Action
		})
		if i < 0 {
			out = append(out, statusGroup{CapabilityStatus: st})
			names = append(names, nil)
			i = len(out) - 1
		}
		names[i] = append(names[i], st.Capability.Label())
	}
	for i := range out {
		out[i].labels = strings.Join(names[i], ", ")
		if len(names[i]) == len(sts) && len(sts) > 1 {
			out[i].labels = "all capabilities"
		}
	}
	return out
}
