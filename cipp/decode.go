package cipp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// FlexInt is a count CIPP sends either as a JSON number or as a string ("18"), since PowerShell
// casts some values to [string] (ListLicenses' CountUsed, TotalLicenses) and not others.
// null and "" decode as 0.
type FlexInt int64

// UnmarshalJSON accepts a number, a numeric string, null or "".
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseFlexInt(s)
	if err != nil {
		return err
	}
	*f = FlexInt(v)
	return nil
}

// MarshalJSON writes the value as a number.
func (f FlexInt) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(f), 10), nil }

// Int returns the value as an int.
func (f FlexInt) Int() int { return int(f) }

// ParseFlexInt parses the text of a FlexInt: an integer, optionally signed, or a number with a
// zero fraction ("20.0"); surrounding spaces and "" (meaning 0) are accepted.
func ParseFlexInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != v || v > 9.2e18 || v < -9.2e18 || v != float64(int64(v)) {
		return 0, fmt.Errorf("cipp: %q is not a whole number", s)
	}
	return int64(v), nil
}

// FlexString is a text field CIPP sometimes sends as a number, a boolean or an array of strings
// (joined with ", "); null decodes as "".
type FlexString string

// UnmarshalJSON accepts a string, a number, a boolean, an array of those, or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = ""
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	case '[':
		var parts []FlexString
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		ss := make([]string, 0, len(parts))
		for _, p := range parts {
			if p != "" {
				ss = append(ss, string(p))
			}
		}
		*f = FlexString(strings.Join(ss, ", "))
	case '{':
		*f = FlexString(b)
	default:
		if !json.Valid(b) {
			return fmt.Errorf("cipp: invalid JSON value %q", b)
		}
		*f = FlexString(b)
	}
	return nil
}

// FlexStrings is a list CIPP sends as an array, a comma-separated string, or null.
type FlexStrings []string

// UnmarshalJSON accepts an array of strings, a comma-separated string or null.
func (f *FlexStrings) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = nil
		return nil
	}
	if b[0] == '[' {
		var parts []FlexString
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		out := make([]string, 0, len(parts))
		for _, p := range parts {
			if p != "" {
				out = append(out, string(p))
			}
		}
		*f = out
		return nil
	}
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = splitList(string(s))
	return nil
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Time is a timestamp CIPP passes through from Graph or Exchange via PowerShell, which changes
// its form on the way: "Z" or "+00:00" offsets, 0 to 7 fraction digits, no offset at all,
// "/Date(ms)/" from older serialisers, or culture-formatted text with a trailing newline from
// Out-String. null, "" and unparseable text decode as the zero time rather than failing the row.
type Time struct{ time.Time }

// UnmarshalJSON accepts any of the forms ParseTime does, or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || b[0] != '"' {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseTime(s)
	if err != nil {
		t.Time = time.Time{}
		return nil
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 with nanoseconds, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	"02/01/2006 15:04:05",
}

// ParseTime parses the timestamp forms CIPP emits. Times without an offset are taken as UTC,
// which is what Graph and Exchange store.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "/Date("); ok {
		if body, ok := strings.CutSuffix(rest, ")/"); ok {
			// An offset suffix ("+0000") may follow the milliseconds.
			end := len(body)
			if len(body) > 1 {
				if i := strings.IndexAny(body[1:], "+-"); i >= 0 {
					end = i + 1
				}
			}
			ms, err := strconv.ParseInt(body[:end], 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("cipp: bad /Date()/ value %q", s)
			}
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cipp: unrecognised timestamp %q", s)
}
