package testserver

import "net/http"

type pcState struct{}

func (s *Server) partnerCenterHandler() http.Handler { return http.NotFoundHandler() }

func (s *Server) pcTenant(r *http.Request) string { return "" }
