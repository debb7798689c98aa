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

// Without the real-name data the report says the sets were skipped, still runs the MSP cases,
// and does not fail.
func TestSuggestReportWithoutData(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ok, err := suggestReport(&out, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("a wrong automatic acceptance in the MSP cases:\n%s", out.String())
	}
	for _, want := range []string{"SKIPPED: real-name sets not found", "66 labelled MSP cases",
		"goal suggest-false-auto: 0 wrong automatic acceptances over the MSP cases only; real-name sets skipped (target 0) met"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if n := len(mspCases()); n < 60 {
		t.Errorf("%d MSP cases, want at least 60", n)
	}
}
