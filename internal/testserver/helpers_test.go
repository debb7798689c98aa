package testserver

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// send makes one request to a fake through its TLS client, with "Authorization: Bearer token"
// when token is set and the given headers, and returns the status, headers and whole body. A
// request that gets no response fails the test; faults_test's get is for those that may not.
func send(t *testing.T, s *Server, method, rawURL, token string, header map[string]string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

// jsonObject decodes a body that must be a JSON object (every Graph and Partner Center answer,
// errors included).
func jsonObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return out
}
