package testserver

import "net/http"

type graphState struct{}

func (s *Server) graphHandler() http.Handler { return http.NotFoundHandler() }

func (s *Server) graphTenant(r *http.Request) string { return "" }
