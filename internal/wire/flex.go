package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

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
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(v), nil
}

// FlexString is a text field a service sometimes sends as a number, a boolean or an array of
// strings (joined with ", "): CIPP's PowerShell output, Partner Center's error code (a number in
// every documented example, a string in the schema). null decodes as "", an object as its JSON.
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
			return fmt.Errorf("invalid JSON value %q", b)
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
	*f = SplitList(string(s))
	return nil
}

// SplitList splits a comma-separated list, dropping blanks and the spaces around items.
func SplitList(s string) []string {
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
				return time.Time{}, fmt.Errorf("bad /Date()/ value %q", s)
			}
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", s)
}
