package testserver

import (
	"errors"
	"net/http"
)

var errNotImplemented = errors.New("testserver: not implemented")

type faultSet struct{}

// applyFault applies the first matching injected fault; it returns true when the response was
// written (or the connection dropped) and h must not run.
func (s *Server) applyFault(service, tenant string, w http.ResponseWriter, r *http.Request, h http.Handler) bool {
	return false
}

func (s *Server) requestTenant(service string, r *http.Request) string {
	switch service {
	case ServiceEntra:
		return s.entraTenant(r)
	case ServiceCIPP:
		return s.cippTenant(r)
	case ServiceGraph:
		return s.graphTenant(r)
	case ServicePartnerCenter:
		return s.pcTenant(r)
	}
	return ""
}
