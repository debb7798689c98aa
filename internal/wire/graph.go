package wire

import "encoding/json"

// GraphError is Graph's error body: {"error":{"code","message","innerError":{...}}}.
type GraphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
			// RequestIDCamel is the spelling of older Graph services:
			// "innerError": {"requestId": …, "date": …}.
			RequestIDCamel  string `json:"requestId"`
			ClientRequestID string `json:"client-request-id"`
			Date            string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

// DecodeGraphError reads body as Graph's error envelope. ok is false when body is not JSON of
// that shape, and then the caller reports the body's text instead.
func DecodeGraphError(body []byte) (GraphError, bool) {
	var g GraphError
	if json.Unmarshal(body, &g) != nil {
		return GraphError{}, false
	}
	return g, true
}

// RequestID is the service's request ID from the body, in either spelling. client-request-id
// is left out: it is the caller's own ID echoed back, not the one Microsoft support looks up.
func (g GraphError) RequestID() string {
	if id := g.Error.InnerError.RequestID; id != "" {
		return id
	}
	return g.Error.InnerError.RequestIDCamel
}
