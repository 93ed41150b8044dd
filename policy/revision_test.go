package policy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/testenv"
)

func TestContentHash(t *testing.T) {
	load := func(files map[string]string) string {
		var srcs []Source
		for n, s := range files {
			srcs = append(srcs, Source{Filename: n, Bytes: []byte(s)})
		}
		cfg, _ := newTestParser().Load(srcs...)
		return cfg.ContentHash()
	}
	base := map[string]string{"a/z.hcl": `zone "x" { criticality = "low" }`, "a/g.rego": "package ward.guardrails\n"}
	h := load(base)
	if len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	moved := map[string]string{"b/z.hcl": base["a/z.hcl"], "b/g.rego": base["a/g.rego"]}
	if load(moved) != h {
		t.Error("the same files in another directory must hash the same")
	}
	changed := map[string]string{"a/z.hcl": `zone "x" { criticality = "high" }`, "a/g.rego": base["a/g.rego"]}
	if load(changed) == h {
		t.Error("a changed HCL file must change the hash")
	}
	regoChanged := map[string]string{"a/z.hcl": base["a/z.hcl"], "a/g.rego": "package ward.guardrails\n\n"}
	if load(regoChanged) == h {
		t.Error("a changed Rego file must change the hash")
	}
}

func TestGitCommit(t *testing.T) {
	testenv.NeedCommand(t, "git", "git")
	dir := t.TempDir()
	if GitCommit(dir) != "" {
		t.Fatal("a directory outside any repository has no commit")
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	os.WriteFile(filepath.Join(dir, "z.hcl"), []byte("x"), 0o644)
	git("add", ".")
	git("commit", "-qm", "policy")
	c := GitCommit(dir)
	if len(c) != 40 || strings.Contains(c, "dirty") {
		t.Fatalf("clean checkout: %q", c)
	}
	os.WriteFile(filepath.Join(dir, "z.hcl"), []byte("y"), 0o644)
	if got := GitCommit(dir); got != c+"+dirty" {
		t.Fatalf("modified checkout: %q, want %q", got, c+"+dirty")
	}
}
