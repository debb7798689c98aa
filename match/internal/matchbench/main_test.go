package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ok, err := run(&out, 2, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("a wrong automatic link or acceptance:\n%s", out.String())
	}
	for _, want := range []string{"auto-links: precision 1.0000", "auto-accepted: precision 1.0000", "in the top three"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
