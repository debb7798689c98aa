package cipp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantsync/tenantsync/internal/wire"
)

// Shape is the outer form of a CIPP response body. CIPP has no uniform envelope: list endpoints
// answer with a bare array, a few with {"Results", "Metadata"}, detail endpoints with a single
// object, and errors (and some results) with a plain string, JSON-encoded or not.
type Shape int

// The response shapes.
const (
	ShapeUnknown  Shape = iota // valid JSON of no known form (a number, a boolean, null)
	ShapeEmpty                 // no body at all
	ShapeArray                 // a bare JSON array
	ShapeEnvelope              // {"Results": ..., "Metadata": ...}
	ShapeObject                // any other JSON object
	ShapeText                  // a plain string: a JSON string or text/plain
)

// String names the shape in errors and logs ("array", "envelope", ...).
func (s Shape) String() string {
	switch s {
	case ShapeEmpty:
		return "empty"
	case ShapeArray:
		return "array"
	case ShapeEnvelope:
		return "envelope"
	case ShapeObject:
		return "object"
	case ShapeText:
		return "text"
	default:
		return "unknown"
	}
}

// Response is a decoded CIPP response body.
type Response struct {
	Shape Shape
	// Items holds the elements of a bare array, or of an envelope whose Results is an array.
	Items []json.RawMessage
	// Results is an envelope's Results as sent (array, string or object).
	Results json.RawMessage
	// Metadata is an envelope's Metadata, or nil.
	Metadata json.RawMessage
	// Object is the body of ShapeObject.
	Object json.RawMessage
	// Text is the body of ShapeText, or the string inside an envelope whose Results is a string.
	Text string
	// Raw is the body as received.
	Raw []byte
}

var errMalformed = errors.New("malformed JSON")

// Decode classifies body into one of CIPP's shapes. It does not look at Content-Type, which CIPP
// sets inconsistently. Text that is not JSON is ShapeText; a body that starts like JSON but does
// not parse (a truncated response) is an error, so a cut-off listing never reads as text or empty.
func Decode(body []byte) (*Response, error) {
	r := &Response{Raw: body}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		r.Shape = ShapeEmpty
		return r, nil
	}
	switch trimmed[0] {
	case '[':
		if err := json.Unmarshal(trimmed, &r.Items); err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if r.Items == nil {
			r.Items = []json.RawMessage{}
		}
		r.Shape = ShapeArray
		return r, nil
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if res, ok := m["Results"]; ok && isEnvelope(m) {
			r.Shape = ShapeEnvelope
			r.Results = res
			if md, ok := m["Metadata"]; ok && !isNull(md) {
				r.Metadata = md
			}
			switch firstByte(res) {
			case '[':
				if err := json.Unmarshal(res, &r.Items); err != nil {
					return nil, fmt.Errorf("%w: %v", errMalformed, err)
				}
			case '"':
				_ = json.Unmarshal(res, &r.Text)
			}
			return r, nil
		}
		r.Shape = ShapeObject
		r.Object = json.RawMessage(trimmed)
		return r, nil
	case '"':
		var s string
		if err := json.Unmarshal(trimmed, &s); err == nil {
			r.Shape = ShapeText
			r.Text = s
			return r, nil
		}
	}
	if json.Valid(trimmed) {
		r.Shape = ShapeUnknown
		return r, nil
	}
	r.Shape = ShapeText
	r.Text = strings.ToValidUTF8(string(trimmed), string(utf8.RuneError))
	return r, nil
}

// isEnvelope reports whether an object is CIPP's {Results, Metadata} wrapper rather than a row
// that happens to carry a Results field (ListTenants' error row does).
func isEnvelope(m map[string]json.RawMessage) bool {
	for k := range m {
		if k != "Results" && k != "Metadata" {
			return false
		}
	}
	return true
}

func firstByte(b json.RawMessage) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func isNull(b json.RawMessage) bool {
	return string(bytes.TrimSpace(b)) == "null"
}

// Message returns the human text a response carries when it is a message rather than data: a
// plain string, an envelope whose Results is text, or an array of strings (CIPP's @($msg)).
func (r *Response) Message() string {
	switch r.Shape {
	case ShapeText:
		return r.Text
	case ShapeEnvelope:
		if r.Text != "" {
			return r.Text
		}
		return joinStrings(r.Items)
	case ShapeArray:
		return joinStrings(r.Items)
	case ShapeObject:
		var o struct {
			Error   FlexString `json:"Error"`
			Results FlexString `json:"Results"`
			Message FlexString `json:"Message"`
		}
		if json.Unmarshal(r.Object, &o) == nil {
			for _, s := range []FlexString{o.Error, o.Results, o.Message} {
				if s != "" {
					return string(s)
				}
			}
		}
	}
	return ""
}

// joinStrings joins the elements of an array when every one is a JSON string.
func joinStrings(items []json.RawMessage) string {
	var parts []string
	for _, it := range items {
		var s string
		if firstByte(it) != '"' || json.Unmarshal(it, &s) != nil {
			return ""
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// The flexible JSON types are shared with the other clients (internal/wire); these names keep
// cipp's wire structs readable and its public fields typed as before.

// FlexInt is a count CIPP sends either as a JSON number or as a string ("18"); see wire.FlexInt.
type FlexInt = wire.FlexInt

// FlexString is a text field CIPP sometimes sends as a number, a boolean or an array of
// strings; see wire.FlexString.
type FlexString = wire.FlexString

// FlexStrings is a list CIPP sends as an array, a comma-separated string, or null; see
// wire.FlexStrings.
type FlexStrings = wire.FlexStrings

// Time is a timestamp in any of the forms CIPP passes through from Graph or Exchange; see
// wire.Time.
type Time = wire.Time

// ParseFlexInt parses the text of a FlexInt: an integer, optionally signed, or a number with a
// zero fraction ("20.0"); surrounding spaces and "" (meaning 0) are accepted.
func ParseFlexInt(s string) (int64, error) { return wire.ParseFlexInt(s) }

// ParseTime parses the timestamp forms CIPP emits. Times without an offset are taken as UTC,
// which is what Graph and Exchange store.
func ParseTime(s string) (time.Time, error) { return wire.ParseTime(s) }

func splitList(s string) []string { return wire.SplitList(s) }
