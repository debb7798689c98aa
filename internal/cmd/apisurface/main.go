// Command apisurface prints the exported API of the module's public packages, one declaration
// per line in the manner of the Go project's api/go1.txt: every exported constant, variable,
// function, type, method and struct field, with its type. make api writes it to api/v1.txt so a
// change to the public surface shows as a reviewable diff beside the apidiff check.
package main

import (
	"fmt"
	"go/types"
	"os"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

func main() {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		fmt.Fprintln(os.Stderr, "apisurface:", err)
		os.Exit(1)
	}
	slices.SortFunc(pkgs, func(a, b *packages.Package) int { return strings.Compare(a.PkgPath, b.PkgPath) })
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			fmt.Fprintln(os.Stderr, "apisurface:", p.Errors[0])
			os.Exit(1)
		}
		if p.Name == "main" || strings.Contains(p.PkgPath, "/internal") {
			continue
		}
		for _, line := range surface(p.Types) {
			fmt.Printf("pkg %s, %s\n", p.PkgPath, line)
		}
	}
}

// surface lists the exported declarations of pkg, sorted.
func surface(pkg *types.Package) []string {
	qual := types.RelativeTo(pkg)
	var out []string
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Const:
			out = append(out, fmt.Sprintf("const %s %s", name, types.TypeString(o.Type(), qual)))
		case *types.Var:
			out = append(out, fmt.Sprintf("var %s %s", name, types.TypeString(o.Type(), qual)))
		case *types.Func:
			out = append(out, "func "+name+strings.TrimPrefix(types.TypeString(o.Type(), qual), "func"))
		case *types.TypeName:
			out = append(out, typeLines(o, qual)...)
		}
	}
	slices.Sort(out)
	return out
}

// typeLines lists a type, its exported fields or interface methods, and its exported methods.
func typeLines(o *types.TypeName, qual types.Qualifier) []string {
	name := o.Name()
	if o.IsAlias() {
		return []string{fmt.Sprintf("type %s = %s", name, types.TypeString(o.Type(), qual))}
	}
	under := o.Type().Underlying()
	var out []string
	switch u := under.(type) {
	case *types.Struct:
		out = append(out, fmt.Sprintf("type %s struct", name))
		for f := range u.Fields() {
			if f.Exported() {
				out = append(out, fmt.Sprintf("type %s struct, %s %s", name, f.Name(), types.TypeString(f.Type(), qual)))
			}
		}
	case *types.Interface:
		out = append(out, fmt.Sprintf("type %s interface", name))
		for m := range u.Methods() {
			if m.Exported() {
				out = append(out, fmt.Sprintf("type %s interface, %s%s", name, m.Name(),
					strings.TrimPrefix(types.TypeString(m.Type(), qual), "func")))
			}
		}
	default:
		out = append(out, fmt.Sprintf("type %s %s", name, types.TypeString(under, qual)))
	}
	if named, ok := o.Type().(*types.Named); ok {
		for m := range named.Methods() {
			if !m.Exported() {
				continue
			}
			recv := name
			if _, ptr := m.Signature().Recv().Type().(*types.Pointer); ptr {
				recv = "*" + name
			}
			out = append(out, fmt.Sprintf("method (%s) %s%s", recv, m.Name(),
				strings.TrimPrefix(types.TypeString(m.Type(), qual), "func")))
		}
	}
	return out
}
