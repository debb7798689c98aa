package tenantsynctest

import "net/http"

// ServedCall is one Graph or CIPP call the fakes answered: a Graph call (direct or a $batch
// item, Path relative to the version root, e.g. "/users/{id}/assignLicense") or a CIPP endpoint
// (Path is its name, e.g. "ExecOffboardUser"), with its JSON body. A test of a workflow reads
// them to show that a step was sent once, or that a refused run sent nothing.
type ServedCall struct {
	Service  ServiceName
	TenantID string // the customer tenant, lower-cased; "" when unknown
	Method   string
	Path     string
	Body     string
}

// Changes reports whether the call changes something (it is not a read).
func (c ServedCall) Changes() bool {
	if c.Service == ServiceCIPP {
		return c.Method != http.MethodGet && len(c.Path) >= 4 && c.Path[:4] != "List"
	}
	return c.Method != http.MethodGet
}

// ServedCalls returns the Graph and CIPP calls the fakes answered since they started or since
// ResetServedCalls, in order; service "" returns both.
func (s *Server) ServedCalls(service ServiceName) []ServedCall {
	calls := s.srv.ServedCalls(string(service))
	out := make([]ServedCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, ServedCall{Service: ServiceName(c.Service), TenantID: c.Tenant, Method: c.Method, Path: c.Path, Body: c.Body})
	}
	return out
}

// ResetServedCalls empties the log ServedCalls reads.
func (s *Server) ResetServedCalls() { s.srv.ResetServedCalls() }

// CIPPOffboardScheduled makes CIPP's ExecOffboardUser answer as CIPP 10.x does, with a
// scheduled task and no outcome per action; off, it answers one line per action as older CIPP
// versions did. Either way the fake applies the actions.
func (s *Server) CIPPOffboardScheduled(on bool) { s.srv.CIPPOffboardScheduled(on) }

// FailGraph answers the next n Graph calls of the tenant under pathPrefix (relative to the
// version root, e.g. "/users/{id}/assignLicense"; $batch items included) with status and a
// Graph error body: a step that fails in the middle of a workflow.
func (s *Server) FailGraph(tenantID, pathPrefix string, n, status int) {
	s.srv.GraphFail(tenantID, pathPrefix, n, status, "UnknownError")
}
