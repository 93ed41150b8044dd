package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// slowListener accepts connections and closes each one after hold: a
// target that takes that long to fail.
func slowListener(t *testing.T, hold time.Duration) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			time.AfterFunc(hold, func() { c.Close() })
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestApplyPrintsEachTargetAsItFinishes: ward apply prints a progress line
// per target in the order the targets finish (the slow one last, although
// it sorts first), then the sorted results as before.
func TestApplyPrintsEachTargetAsItFinishes(t *testing.T) {
	quick := listen(t)
	pol, db := applyWorkspace(t, examplePolicy, quick)
	targets := filepath.Join(pol, "targets.hcl")
	b, _ := os.ReadFile(targets)
	block := regexp.MustCompile(`(?s)(target "access-ovs" \{.*?port\s*=\s*)\d+`)
	if !block.Match(b) {
		t.Fatal("no port in target access-ovs")
	}
	os.WriteFile(targets, block.ReplaceAll(b, []byte(fmt.Sprintf("${1}%d", slowListener(t, 2*time.Second)))), 0o644)

	code, out, errs := runWard(t, "apply", "-auto-approve", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (both targets fail)\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		`(?m)^Applying to 2 target\(s\), 2 at a time:$`,
		`(?ms)^  \[1/2\] core-fw +failed +\d+m?s  \S.*^  \[2/2\] access-ovs +failed +\d+(\.\d+)?m?s  \S.*^Apply results:$`,
		`(?ms)^Apply results:\n  access-ovs +failed .*\n  core-fw +failed .*\n2 of 2 target\(s\) not applied`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "/2] "); n != 2 {
		t.Errorf("%d progress lines, want one per target (2):\n%s", n, out)
	}
}
