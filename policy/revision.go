package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ContentHash identifies this version of the policy: SHA-256 over every
// file's base name and bytes (HCL and Rego, tests included), in name order.
// The same files hash the same wherever they are checked out.
func (c *Config) ContentHash() string {
	type file struct {
		name string
		src  []byte
	}
	var files []file
	for name, f := range c.Files {
		if !strings.HasSuffix(name, ".rego") { // Rego sources are added below
			files = append(files, file{filepath.Base(name), f.Bytes})
		}
	}
	for _, m := range append(append([]*RegoModule(nil), c.Modules...), c.TestModules...) {
		files = append(files, file{filepath.Base(m.Filename), m.Source})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.name, len(f.src))
		h.Write(f.src)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// GitCommit returns the commit checked out in the git repository holding
// dir, with "+dirty" when files under dir differ from it, or "" when dir is
// not in a repository (or git is not installed).
func GitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	status, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--", ".").Output()
	if err == nil && len(strings.TrimSpace(string(status))) > 0 {
		commit += "+dirty"
	}
	return commit
}
