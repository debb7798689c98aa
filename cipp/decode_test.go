package cipp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		shape   Shape
		items   int
		text    string
		message string
		wantErr bool
	}{
		{name: "bare array", body: `[{"id":"a"},{"id":"b"}]`, shape: ShapeArray, items: 2},
		{name: "empty array", body: `[]`, shape: ShapeArray, items: 0},
		{name: "array with BOM and spaces", body: "\xef\xbb\xbf  [1]\n", shape: ShapeArray, items: 1},
		{name: "array of messages", body: `["first","second"]`, shape: ShapeArray, items: 2, message: "first; second"},
		{name: "envelope with array", body: `{"Results":[{"id":"a"}],"Metadata":{"nextLink":"x"}}`, shape: ShapeEnvelope, items: 1},
		{name: "envelope with null metadata", body: `{"Results":[],"Metadata":null}`, shape: ShapeEnvelope, items: 0},
		{name: "envelope with string", body: `{"Results":"Successfully revoked sessions for jane@contoso.com"}`, shape: ShapeEnvelope, text: "Successfully revoked sessions for jane@contoso.com", message: "Successfully revoked sessions for jane@contoso.com"},
		{name: "envelope with object", body: `{"Results":{"resultText":"ok","state":"success"}}`, shape: ShapeEnvelope},
		{name: "object", body: `{"clientPrincipal":{"appId":"x"},"permissions":[]}`, shape: ShapeObject},
		{name: "row with Results is an object", body: `{"Results":"Failed","customerId":""}`, shape: ShapeObject, message: "Failed"},
		{name: "object with Error", body: `{"Error":"Tenant 'x' not found"}`, shape: ShapeObject, message: "Tenant 'x' not found"},
		{name: "JSON string", body: `"Endpoint not found"`, shape: ShapeText, text: "Endpoint not found", message: "Endpoint not found"},
		{name: "plain text", body: `Access to this tenant is not allowed`, shape: ShapeText, text: "Access to this tenant is not allowed", message: "Access to this tenant is not allowed"},
		{name: "empty", body: "", shape: ShapeEmpty},
		{name: "whitespace only", body: " \r\n", shape: ShapeEmpty},
		{name: "number", body: `42`, shape: ShapeUnknown},
		{name: "null", body: `null`, shape: ShapeUnknown},
		{name: "truncated array", body: `[{"id":"a"},{"id":`, wantErr: true},
		{name: "truncated object", body: `{"Results":[{"id":"a"}`, wantErr: true},
		{name: "envelope with broken array", body: `{"Results":[1,}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Decode([]byte(tt.body))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.shape, r.Shape, r.Shape.String())
			assert.Len(t, r.Items, tt.items)
			assert.Equal(t, tt.text, r.Text)
			assert.Equal(t, tt.message, r.Message())
			assert.Equal(t, []byte(tt.body), r.Raw)
		})
	}
}

func TestShapeString(t *testing.T) {
	t.Parallel()
	names := map[Shape]string{ShapeUnknown: "unknown", ShapeEmpty: "empty", ShapeArray: "array", ShapeEnvelope: "envelope", ShapeObject: "object", ShapeText: "text"}
	for s, n := range names {
		assert.Equal(t, n, s.String())
	}
}

func TestFlexInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`18`, 18, false}, {`"18"`, 18, false}, {`" 20 "`, 20, false}, {`""`, 0, false}, {`null`, 0, false},
		{`"-3"`, -3, false}, {`20.0`, 20, false}, {`"1e3"`, 1000, false}, {`2.5`, 0, true}, {`"abc"`, 0, true},
		{`true`, 0, true}, {`"NaN"`, 0, true}, {`1e30`, 0, true},
	}
	for _, tt := range tests {
		var f FlexInt
		err := json.Unmarshal([]byte(tt.in), &f)
		if tt.wantErr {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, int64(f), tt.in)
	}
	b, err := json.Marshal(FlexInt(7))
	require.NoError(t, err)
	assert.Equal(t, "7", string(b))
}

func TestFlexString(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		`"text"`: "text", `12`: "12", `true`: "true", `null`: "", `["a","",3]`: "a, 3", `{"a":1}`: `{"a":1}`,
	}
	for in, want := range tests {
		var f FlexString
		require.NoError(t, json.Unmarshal([]byte(in), &f), in)
		assert.Equal(t, want, string(f), in)
	}
	var f FlexString
	assert.Error(t, f.UnmarshalJSON([]byte(`[1,`)))
}

func TestFlexStrings(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		`["a","b"]`: {"a", "b"}, `"a, b,,c"`: {"a", "b", "c"}, `null`: nil, `["x",null]`: {"x"},
	}
	for in, want := range tests {
		var f FlexStrings
		require.NoError(t, json.Unmarshal([]byte(in), &f), in)
		assert.Equal(t, want, []string(f), in)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 8, 7, 23, 0, 4, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-08-07T23:00:04Z", want},
		{"2026-08-07T23:00:04+00:00", want},
		{"2026-08-07T23:00:04.1Z", want.Add(100 * time.Millisecond)},
		{"2026-08-07T23:00:04.12+00:00", want.Add(120 * time.Millisecond)},
		{"2026-08-07T23:00:04.1234567Z", want.Add(123456700 * time.Nanosecond)},
		{"2026-08-08T01:00:04+02:00", want},
		{"2026-08-07T23:00:04", want},
		{"2026-08-07T23:00:04.5327091", want.Add(532709100 * time.Nanosecond)},
		{"2026-08-07 23:00:04Z", want},
		{"2026-08-07", time.Date(2026, 8, 7, 0, 0, 0, 0, time.UTC)},
		{"/Date(1786143604000)/", want},
		{"/Date(1786143604000+0000)/", want},
		{"8/7/2026 11:00:04 PM\r\n", want},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		require.NoError(t, err, tt.in)
		assert.True(t, tt.want.Equal(got), "%q: got %v want %v", tt.in, got, tt.want)
	}
	for _, bad := range []string{"yesterday", "/Date(abc)/", "2026-13-45T99:00:00Z"} {
		_, err := ParseTime(bad)
		assert.Error(t, err, bad)
	}
}

func TestTimeJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D Time
	}
	require.NoError(t, json.Unmarshal([]byte(`{"A":"2026-08-07T23:00:04.12+00:00","B":null,"C":"not a date","D":5}`), &v))
	assert.Equal(t, 2026, v.A.Year())
	assert.True(t, v.B.IsZero())
	assert.True(t, v.C.IsZero(), "free text decodes as zero, not as a failed row")
	assert.True(t, v.D.IsZero())
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"A":"2026-08-07T23:00:04.12Z","B":null,"C":null,"D":null}`, string(b))
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`[]`, `[{"a":1}]`, `{"Results":[1],"Metadata":{}}`, `{"Results":"x"}`, `"s"`, `text`, ``, `{"x":`, `[1,`, "\xef\xbb\xbf[]", `{"Results":[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		_ = r.Message()
		switch r.Shape {
		case ShapeArray:
			if r.Items == nil {
				t.Fatal("array without items")
			}
		case ShapeEnvelope:
			if r.Results == nil {
				t.Fatal("envelope without Results")
			}
		case ShapeObject:
			if !json.Valid(r.Object) {
				t.Fatal("object is not valid JSON")
			}
		}
	})
}

func FuzzFlexInt(f *testing.F) {
	for _, s := range []string{`1`, `"18"`, `""`, `null`, `20.0`, `"x"`, `-0`, `1e400`, `"  7 "`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v FlexInt
		if err := json.Unmarshal(b, &v); err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back FlexInt
		if err := json.Unmarshal(out, &back); err != nil || back != v {
			t.Fatalf("round trip of %d: %v %d", v, err, back)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-08-07T23:00:04Z", "2026-08-07T23:00:04.1234567+00:00", "/Date(1)/", "8/7/2026 11:00:04 PM", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTime(s)
		if err != nil {
			return
		}
		if v.Location() != time.UTC {
			t.Fatalf("%q parsed to a non-UTC time", s)
		}
	})
}

// FuzzRows decodes arbitrary JSON into every wire type: the custom decoders (FlexInt,
// FlexString, FlexStrings, Time) must fail cleanly, never panic.
func FuzzRows(f *testing.F) {
	for _, s := range []string{`{"CountUsed":"18","CountAvailable":2,"TermInfo":[{"NextLifecycle":"2026-12-31T00:00:00Z"}]}`,
		`{"MFAMethods":"a, b","CoveredBySD":null}`, `{"domains":["a",1,true]}`, `{"createdDateTime":"/Date(1)/"}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []any{&Tenant{}, &User{}, &Mailbox{}, &Device{}, &Domain{}, &License{}, &MFAUser{}, &CAPolicy{}, &SecureScore{}, &GraphMetadata{}, &Me{}} {
			if json.Unmarshal(b, v) == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("%T decoded but does not encode: %v", v, err)
				}
			}
		}
		var p CAPolicy
		if json.Unmarshal(b, &p) == nil {
			_ = p.RequiresMFA()
		}
	})
}

// FuzzParseResults reads an action's Results in any form.
func FuzzParseResults(f *testing.F) {
	for _, s := range []string{`"ok"`, `["Success - a","Error - b"]`, `{"resultText":"x","copyField":"p","state":"success"}`, `[{"resultText":"x"},"y"]`, `5`, `[[["deep"]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, ok := parseResults(b)
		if !ok {
			return
		}
		_ = lines.message()
		out := lines.redacted()
		for _, l := range lines {
			cf := l.CopyField
			if len(cf) < 4 || strings.Contains("[redacted]", strings.ToLower(cf)) || strings.ContainsAny(cf, "[]") {
				continue
			}
			if strings.Contains(out, cf) {
				t.Fatalf("copy field %q shows in %q", l.CopyField, out)
			}
		}
	})
}
