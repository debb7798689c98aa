package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeEndpoint is one endpoint the README's API section lists, with its example answer.
type readmeEndpoint struct {
	op      string // "GET /api/tenants"
	lang    string // the example's fence language: json or text
	example string
}

var (
	readmeHeading = regexp.MustCompile("(?m)^##### `([A-Z]+) (/[^`]*)`$")
	readmeFence   = regexp.MustCompile("(?s)```(json|text)\n(.*?)\n```")
)

// readmeEndpoints reads the endpoints of the README's API section, in order.
func readmeEndpoints(t *testing.T) []readmeEndpoint {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	text := string(b)
	start := strings.Index(text, "\n### API\n")
	require.NotEqual(t, -1, start, "the README has an API section")
	section := text[start:]
	if end := strings.Index(section[1:], "\n## "); end != -1 {
		section = section[:end+1]
	}
	heads := readmeHeading.FindAllStringSubmatchIndex(section, -1)
	var out []readmeEndpoint
	for i, h := range heads {
		body := section[h[1]:]
		if i+1 < len(heads) {
			body = section[h[1]:heads[i+1][0]]
		}
		ep := readmeEndpoint{op: section[h[2]:h[3]] + " " + section[h[4]:h[5]]}
		if m := readmeFence.FindStringSubmatch(body); m != nil {
			ep.lang, ep.example = m[1], m[2]
		}
		out = append(out, ep)
	}
	return out
}

// successSchema is the schema of an operation's first success answer.
func successSchema(t *testing.T, doc *openapi3.T, op string) *openapi3.Schema {
	t.Helper()
	method, path, _ := strings.Cut(op, " ")
	item := doc.Paths.Find(path)
	require.NotNil(t, item, "%s is in openapi.json", op)
	o := item.GetOperation(method)
	require.NotNil(t, o, "%s is in openapi.json", op)
	codes := slices.Sorted(func(yield func(string) bool) {
		for code := range o.Responses.Map() {
			if !yield(code) {
				return
			}
		}
	})
	for _, code := range codes {
		if strings.HasPrefix(code, "2") {
			mt := o.Responses.Value(code).Value.Content.Get("application/json")
			if mt == nil {
				return nil
			}
			return mt.Schema.Value
		}
	}
	t.Fatalf("%s documents no success answer", op)
	return nil
}

// TestReadmeAPIMatchesTheOpenAPIDocument holds the README's list of endpoints to openapi.json:
// the same operations, and every JSON example a valid answer of its operation.
func TestReadmeAPIMatchesTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	eps := readmeEndpoints(t)
	var listed []string
	for _, ep := range eps {
		listed = append(listed, ep.op)
		if !assert.NotEmpty(t, ep.example, "%s has an example answer", ep.op) {
			continue
		}
		schema := successSchema(t, c.doc, ep.op)
		if ep.lang != "json" {
			assert.Nil(t, schema, "%s answers JSON: its example must be json", ep.op)
			continue
		}
		var v any
		if !assert.NoError(t, json.Unmarshal([]byte(ep.example), &v), "%s: the example is JSON", ep.op) {
			continue
		}
		require.NotNil(t, schema, ep.op)
		assert.NoError(t, schema.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.EnableFormatValidation()),
			"%s: the README's example is not a valid answer", ep.op)
		checkConventions(t, "README "+ep.op, "", v)
	}
	slices.Sort(listed)
	assert.Equal(t, c.documented(), listed, "the README lists every operation of openapi.json, once")
}
