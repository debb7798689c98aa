package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxInterfaceMethods is the most methods an exported interface of package store may have:
// a consumer depends on a role it names, not on everything the store can do.
const maxInterfaceMethods = 12

// TestExportedInterfacesAreSmall counts the methods of every exported interface declared in
// the package, those of embedded interfaces of the package included, and fails for one above
// maxInterfaceMethods. It also fails for an exported package-level variable: library state
// that callers could change.
func TestExportedInterfacesAreSmall(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	ifaces := map[string]*ast.InterfaceType{}
	var vars []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if it, ok := s.Type.(*ast.InterfaceType); ok {
						ifaces[s.Name.Name] = it
					}
				case *ast.ValueSpec:
					if gd.Tok == token.VAR {
						for _, n := range s.Names {
							if n.IsExported() {
								vars = append(vars, n.Name)
							}
						}
					}
				}
			}
		}
	}
	require.NotEmpty(t, ifaces, "the parse found the package's interfaces")
	require.Contains(t, ifaces, "Store")
	var count func(it *ast.InterfaceType) int
	count = func(it *ast.InterfaceType) int {
		n := 0
		for _, m := range it.Methods.List {
			if len(m.Names) > 0 {
				n += len(m.Names)
				continue
			}
			// An embedded interface: count the methods it brings when it is one of ours.
			if id, ok := m.Type.(*ast.Ident); ok && ifaces[id.Name] != nil {
				n += count(ifaces[id.Name])
			} else {
				n += maxInterfaceMethods + 1 // an interface from elsewhere: too large to know
			}
		}
		return n
	}
	for name, it := range ifaces {
		if !ast.IsExported(name) {
			continue
		}
		assert.LessOrEqual(t, count(it), maxInterfaceMethods, "interface %s has too many methods: split it into roles", name)
	}
	assert.Empty(t, vars, "exported package-level variables")
}
