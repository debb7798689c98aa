package transport_test

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

// Every service client is built one way: NewClient(cfg Config) (*Client, error), where Config
// embeds transport.Settings, with no functional options (so there is no nil option to mishandle)
// and no credential or token-source aliases of its own.
func TestClientsShareOneConfigShape(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"cipp", "graph", "partnercenter"} {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			fset := token.NewFileSet()
			entries, err := os.ReadDir(filepath.Join("..", pkg))
			require.NoError(t, err)
			var files []*ast.File
			for _, e := range entries {
				if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
					continue
				}
				f, err := parser.ParseFile(fset, filepath.Join("..", pkg, e.Name()), nil, parser.SkipObjectResolution)
				require.NoError(t, err)
				files = append(files, f)
			}
			require.NotEmpty(t, files, "package %s not found", pkg)
			var newClient *ast.FuncDecl
			var config *ast.StructType
			for _, f := range files {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						if d.Recv != nil || !d.Name.IsExported() {
							continue
						}
						if d.Name.Name == "NewClient" {
							newClient = d
						}
						if strings.HasPrefix(d.Name.Name, "With") {
							t.Errorf("%s.%s looks like a functional option; settings belong in Config", pkg, d.Name.Name)
						}
						if d.Type.Params != nil {
							for _, prm := range d.Type.Params.List {
								if _, ok := prm.Type.(*ast.Ellipsis); ok {
									t.Errorf("%s.%s takes variadic arguments (options?)", pkg, d.Name.Name)
								}
							}
						}
					case *ast.GenDecl:
						for _, sp := range d.Specs {
							ts, ok := sp.(*ast.TypeSpec)
							if !ok || !ts.Name.IsExported() {
								continue
							}
							switch ts.Name.Name {
							case "Option", "Secret", "TokenSource":
								t.Errorf("%s.%s: use the module's one type (transport, tenantsync) instead", pkg, ts.Name.Name)
							case "Config":
								config, _ = ts.Type.(*ast.StructType)
							}
						}
					}
				}
			}
			require.NotNil(t, newClient, "%s has no NewClient", pkg)
			params, results := newClient.Type.Params.List, newClient.Type.Results.List
			require.Len(t, params, 1, "NewClient takes one Config")
			assert.Equal(t, "Config", exprString(params[0].Type))
			require.Len(t, results, 2)
			assert.Equal(t, "*Client", exprString(results[0].Type))
			assert.Equal(t, "error", exprString(results[1].Type))
			require.NotNil(t, config, "%s has no Config struct", pkg)
			embeds := false
			for _, f := range config.Fields.List {
				if len(f.Names) == 0 && exprString(f.Type) == "transport.Settings" {
					embeds = true
				}
			}
			assert.True(t, embeds, "%s.Config does not embed transport.Settings", pkg)
		})
	}
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return "*" + exprString(e.X)
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	}
	return "?"
}

// Values every client shares are defined once: the Entra ID login host in entra, the GUID
// check in internal/ids, so a fix to one (a sovereign cloud, a stricter ID form) reaches every
// client.
func TestSharedDefinitionsExistOnce(t *testing.T) {
	t.Parallel()
	want := map[string]string{"DefaultAuthorityHost": "entra", "IsGUID": "internal/ids", "isGUID": ""}
	found := map[string][]string{}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if _, ok := want[decl.Name.Name]; ok && decl.Recv == nil {
					found[decl.Name.Name] = append(found[decl.Name.Name], filepath.ToSlash(dir))
				}
			case *ast.GenDecl:
				for _, sp := range decl.Specs {
					if vs, ok := sp.(*ast.ValueSpec); ok {
						for _, n := range vs.Names {
							if _, ok := want[n.Name]; ok {
								found[n.Name] = append(found[n.Name], filepath.ToSlash(dir))
							}
						}
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	for name, pkg := range want {
		if pkg == "" {
			assert.Empty(t, found[name], "%s is defined outside internal/ids", name)
			continue
		}
		assert.Equal(t, []string{pkg}, found[name], "%s must be defined once, in %s", name, pkg)
	}
}
