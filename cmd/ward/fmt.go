package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/internal/textdiff"
	"github.com/wardnet/ward/policy"
)

func runFmt(c *cli, args []string) int {
	fset := c.command("fmt", "[-check] [-diff] [PATH...]")
	check := fset.Bool("check", false, "change nothing; list files that are not formatted and exit 1 if any")
	diff := fset.Bool("diff", false, "print the changes as a unified diff")
	paths, code, ok := fset.parse(args)
	if !ok {
		return code
	}
	defer fset.close()
	if len(paths) == 0 {
		paths = []string{"."}
	}

	var files []string
	for _, p := range paths {
		found, err := hclFiles(p)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward fmt: %v\n", err)
			return 1
		}
		files = append(files, found...)
	}

	status := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward fmt: %v\n", err)
			status = 1
			continue
		}
		out, diags := policy.Format(name, src)
		if diags.HasErrors() {
			files := map[string]*hcl.File{name: {Bytes: src}}
			_ = policy.WriteDiagnostics(c.stderr, files, diags, c.width, c.color)
			status = 1
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		fmt.Fprintln(c.stdout, name)
		if *diff {
			fmt.Fprint(c.stdout, textdiff.Unified(name, name+" (formatted)", src, out))
		}
		if *check {
			status = 1
			continue
		}
		if err := writeFileAtomic(name, out); err != nil {
			fmt.Fprintf(c.stderr, "ward fmt: %v\n", err)
			status = 1
		}
	}
	return status
}

// hclFiles returns path itself when it is a file, or every *.hcl file below
// it when it is a directory, skipping hidden directories and testdata (whose
// fixtures are malformed on purpose).
func hclFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != path && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".hcl") {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// writeFileAtomic replaces name's contents without ever leaving it half
// written, keeping its permissions.
func writeFileAtomic(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
