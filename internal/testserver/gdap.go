package testserver

import (
	"math/rand/v2"
	"net/http"
)

// gdapHandler serves Graph's tenantRelationships/delegatedAdminRelationships endpoints; the
// Graph handler routes /v1.0/tenantRelationships/ and /beta/tenantRelationships/ here.
func (s *Server) gdapHandler() http.Handler { return http.NotFoundHandler() }

// generateRelationships gives every tenant of w its GDAP relationships (active with roles,
// expired, Microsoft-led MLT_, missing roles, recently granted), deterministically from rng.
func (w *World) generateRelationships(rng *rand.Rand) {}
