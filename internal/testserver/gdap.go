package testserver

import "net/http"

// gdapHandler serves Graph's tenantRelationships/delegatedAdminRelationships endpoints; the
// Graph handler routes /v1.0/tenantRelationships/ and /beta/tenantRelationships/ here.
func (s *Server) gdapHandler() http.Handler { return http.NotFoundHandler() }
