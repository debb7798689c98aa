package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReport(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var gl goalList
	ok, err := run(&out, 2, false, false, &gl)
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
	// The matcher's goals are printed with the suggester's, in internal/bench's form.
	want := []string{
		"goal match-auto-precision: 1.0000 (target >= 1.0000) met",
		"goal suggest-fixture-auto-precision: 1.0000 (target >= 1.0000) met",
		"goal match-speed-ratio: not measured, run without -quick (target >= 0.50)",
	}
	if !slices.Equal(gl.lines, want) {
		t.Errorf("goal lines:\n%s\nwant:\n%s", strings.Join(gl.lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestGoalLine(t *testing.T) {
	t.Parallel()
	var gl goalList
	gl.add("match-auto-precision", 0.9992, ">=", 1, "%.4f")
	gl.add("match-speed-ratio", 0.52, ">=", 0.5, "%.2f")
	gl.add("suggest-speed", 2.5, "<", 2, "%.2f s")
	want := []string{
		"goal match-auto-precision: 0.9992 (target >= 1.0000) missed",
		"goal match-speed-ratio: 0.52 (target >= 0.50) met",
		"goal suggest-speed: 2.50 s (target < 2.00 s) missed",
	}
	if !slices.Equal(gl.lines, want) {
		t.Errorf("goal lines:\n%s\nwant:\n%s", strings.Join(gl.lines, "\n"), strings.Join(want, "\n"))
	}
}

// Without the real-name data the report says the sets were skipped, still runs the MSP cases,
// and does not fail.
func TestSuggestReportWithoutData(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ok, err := suggestReport(&out, t.TempDir(), false, 0, "", "", &goalList{})
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("a wrong automatic acceptance in the MSP cases:\n%s", out.String())
	}
	for _, want := range []string{"SKIPPED: real-name sets not found", "77 labelled MSP cases",
		"wrong automatic acceptances over the MSP cases only; the real-name sets were skipped: 0",
		"goal suggest-false-auto-msp: 0 (target <= 0) met", "goal suggest-false-auto: 0 (target <= 0) met"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if n := len(mspCases()); n < 60 {
		t.Errorf("%d MSP cases, want at least 60", n)
	}
}

// The kinds of query the misses are reported by come from the names alone.
func TestCategory(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ q, canon, want string }{
		{"株式会社トーキン", "Tokin Corporation (Japan)", catScript},
		{"Hana Bank (South Korea)", "하나은행", catScript},
		{"VTGN", "VistaGen Therapeutics (United States)", catAcronym},
		{"AO VZKHE", "JOINT STOCK COMPANY VERKHNYAYA SALDA CHEMICAL CONTAINER PLANT", catAcronym},
		{"Comverse", "Mavenir (Israel)", catNoWord},
		{"ACME Aktiengesellschaft", "Acme AG", catSame},
		{"DSM N.V., Heerlen", "DSM Nutritional Products", catParts},
		{"Imperial Tobacco Group plc", "Imperial Brands (United Kingdom)", catShares},
		{"Смирнов Логистик", "Smirnov Logistik OOO", catSame},
	} {
		if got := category(c.q, c.canon); got != c.want {
			t.Errorf("category(%q, %q) = %q, want %q", c.q, c.canon, got, c.want)
		}
	}
}

// The SDN list's strong aliases (alt.csv) and weak ones (the quoted a.k.a. names in sdn.csv's
// remarks) make two sets of the same entities; people and entities without another name are
// left out, and the weak set is held to no accuracy goal.
func TestLoadSDN(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ofac"), 0o755))
	sdn := `306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. 'BNC'."
751,"EMPRESA CUBANA DE PESCADOS Y MARISCOS",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. 'CARIBEX'."
3754,"ABU MARZOOK, Mousa Mohammed","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. 'ABU-'UMAR'."
900,"LONE ENTITY",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- 
`
	alt := `306,220,"aka","NATIONAL BANK OF CUBA",-0- 
306,221,"fka","banco nacional de cuba",-0- 
3754,3341,"aka","MARZUK, Musa Abu",-0- 
751,600,"aka","CARIBBEAN EXPORT ENTERPRISE",-0- 
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ofac", "sdn.csv"), []byte(sdn), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ofac", "alt.csv"), []byte(alt), 0o644))
	strong, weak, err := loadSDN(dir)
	require.NoError(t, err)
	assert.Equal(t, []org{
		{ID: "sdn-306", Canonical: "BANCO NACIONAL DE CUBA", Display: "BANCO NACIONAL DE CUBA", Names: []string{"BANCO NACIONAL DE CUBA", "NATIONAL BANK OF CUBA"}},
		{ID: "sdn-751", Canonical: "EMPRESA CUBANA DE PESCADOS Y MARISCOS", Display: "EMPRESA CUBANA DE PESCADOS Y MARISCOS", Names: []string{"EMPRESA CUBANA DE PESCADOS Y MARISCOS", "CARIBBEAN EXPORT ENTERPRISE"}},
	}, strong)
	assert.Equal(t, []org{
		{ID: "sdn-306", Canonical: "BANCO NACIONAL DE CUBA", Display: "BANCO NACIONAL DE CUBA", Names: []string{"BANCO NACIONAL DE CUBA", "BNC"}},
		{ID: "sdn-751", Canonical: "EMPRESA CUBANA DE PESCADOS Y MARISCOS", Display: "EMPRESA CUBANA DE PESCADOS Y MARISCOS", Names: []string{"EMPRESA CUBANA DE PESCADOS Y MARISCOS", "CARIBEX"}},
	}, weak)

	// Without alt.csv the strong set is empty; the weak one is read as before.
	require.NoError(t, os.Remove(filepath.Join(dir, "ofac", "alt.csv")))
	strong, weak, err = loadSDN(dir)
	require.NoError(t, err)
	assert.Empty(t, strong)
	assert.Len(t, weak, 2)
}

// A set held to no accuracy goal is never the cleanest or the noisiest, however noisy.
func TestCleanAndNoisy(t *testing.T) {
	t.Parallel()
	clean, noisy := cleanAndNoisy([]float64{0.35, 0.02, 0.31, 0.73}, []string{"", "", "", "weak aliases"})
	assert.Equal(t, 1, clean)
	assert.Equal(t, 0, noisy)
	clean, noisy = cleanAndNoisy([]float64{0.73}, []string{"weak aliases"})
	assert.Equal(t, -1, clean)
	assert.Equal(t, -1, noisy)
}
