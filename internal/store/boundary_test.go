package store

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// gormUse is a query on the store's *gorm.DB from outside the package:
// st.DB.WithContext(...), s.cfg.Store.DB.Raw(...).
var gormUse = regexp.MustCompile(`\.DB\.(WithContext|Raw|Exec|Model|Transaction|Table|Where|Session|Create|Save|Find|First|Take|Delete|Updates?|Select|Order|Begin|Scopes|Clauses|Unscoped)\b`)

// TestStoreIsTheBoundary keeps *gorm.DB inside internal/store: no other
// package's code (tests aside, which may tamper with rows on purpose)
// imports gorm or queries through Store.DB, so every query, transaction and
// lock lives in one place where its invariants can be read and tested.
func TestStoreIsTheBoundary(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from internal/store: %v", err)
	}
	storeDir := filepath.Join(root, "internal", "store")
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == storeDir || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); strings.HasPrefix(p, "gorm.io/") {
				t.Errorf("%s imports %s: database access belongs in internal/store; add a Store method", rel, p)
			}
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if gormUse.MatchString(line) {
				t.Errorf("%s:%d queries Store.DB directly: add a Store method in internal/store", rel, i+1)
			}
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: the walk did not find the module's code", checked)
	}
}
