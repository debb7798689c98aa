package testserver

import "net/http"

type cippState struct{}

func (s *Server) cippHandler() http.Handler { return http.NotFoundHandler() }

func (s *Server) cippTenant(r *http.Request) string { return "" }
