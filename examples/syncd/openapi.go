package main

import (
	_ "embed"
	"net/http"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// openAPIDoc is the API's OpenAPI 3.1 description, written by hand. The contract test
// validates every handler's real answers against it and checks that it documents every route.
//
//go:embed openapi.json
var openAPIDoc []byte

func (a *api) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
}

// answerUnrouted answers a request no route takes in the API's error shape: 405 with Allow
// when the path exists for other methods, 404 otherwise. ServeMux's own answers are plain text.
func answerUnrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			if slices.Contains(allow, http.MethodGet) {
				allow = append(allow, http.MethodHead)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			failStatus(w, http.StatusMethodNotAllowed, tenantsync.Errorf(tenantsync.ErrInvalidInput,
				"use "+strings.Join(allow, " or ")+" on "+r.URL.Path+"; GET /openapi.json lists every endpoint with its methods",
				"%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		fail(w, tenantsync.Errorf(tenantsync.ErrNotFound,
			"GET /openapi.json lists every endpoint; the README's API section shows examples",
			"no endpoint %s", r.URL.Path))
	})
}
