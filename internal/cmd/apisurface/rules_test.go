package main

import (
	"go/types"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// maxInterfaceMethods bounds every exported interface: a bigger one is a sign that one type does
// several jobs and that an implementation (a PSA's own store or source) has to write methods
// it does not need.
const maxInterfaceMethods = 12

// publicPackages loads the module's importable packages with their types. graph/msgraphsdk is
// left out: it only adapts the official SDK, and loading its types costs minutes.
func publicPackages(t *testing.T) []*packages.Package {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes, Dir: "../../.."}
	all, err := packages.Load(&packages.Config{Mode: packages.NeedName, Dir: cfg.Dir}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range all {
		if p.Name == "main" || strings.Contains(p.PkgPath, "/internal") || strings.HasSuffix(p.PkgPath, "/msgraphsdk") {
			continue
		}
		paths = append(paths, p.PkgPath)
	}
	pkgs, err := packages.Load(cfg, paths...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
	}
	return pkgs
}

func TestPublicAPIRules(t *testing.T) {
	for _, p := range publicPackages(t) {
		scope := p.Types.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if !obj.Exported() {
				continue
			}
			if _, ok := obj.(*types.Var); ok {
				t.Errorf("%s.%s is an exported package-level variable: any importer could change it; make it a constant or a function returning a copy", p.PkgPath, name)
			}
			tn, ok := obj.(*types.TypeName)
			if !ok {
				continue
			}
			if it, ok := tn.Type().Underlying().(*types.Interface); ok && it.NumMethods() > maxInterfaceMethods {
				t.Errorf("%s.%s has %d methods, more than %d: split it into role interfaces", p.PkgPath, name, it.NumMethods(), maxInterfaceMethods)
			}
		}
	}
}

// The HTTP stack must not pull in MSAL: a caller of cipp with a CIPP-API key, or of transport
// alone, builds without the authentication library.
func TestTransportHasNoMSAL(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "../../../transport").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "microsoft-authentication-library-for-go") {
			t.Fatalf("transport depends on %s", dep)
		}
	}
}

// A store type's methods arrive in go doc only when they are declared on it, not promoted from
// an embedded internal type: a user reading go doc sqlite.Store must see what it can do.
func TestStoreTypesDocumentTheirMethods(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for _, pkg := range []string{"store/memory", "store/sqlite", "store/postgres"} {
		cmd := exec.Command("go", "doc", "./"+pkg, "Store")
		cmd.Dir = "../../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go doc %s Store: %v", pkg, err)
		}
		for _, m := range []string{"Account(", "Accounts(", "Close(", "Directory("} {
			if !strings.Contains(string(out), ") "+m) {
				t.Errorf("go doc %s Store does not list %s", pkg, m)
			}
		}
	}
}
