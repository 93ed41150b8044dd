package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestCI(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "t": true, "false": false, "0": false, "": false, "yes": false} {
		t.Setenv("CI", v)
		if got := CI(); got != want {
			t.Errorf("CI=%q: CI() = %v, want %v", v, got, want)
		}
	}
}

// TestUnavailable runs a child test that calls Unavailable under several CI
// values and checks it failed or skipped accordingly.
func TestUnavailable(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Unavailable(t, "a part is missing")
		t.Fatal("Unavailable returned")
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"1", true}, {"", false}, {"false", false}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailable$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		failed := err != nil
		if failed != tc.wantFail {
			t.Errorf("CI=%q: child failed=%v, want %v\n%s", tc.ci, failed, tc.wantFail, out)
		}
		if !tc.wantFail && !strings.Contains(string(out), "--- SKIP") {
			t.Errorf("CI=%q: child did not skip:\n%s", tc.ci, out)
		}
		if !strings.Contains(string(out), "a part is missing") {
			t.Errorf("CI=%q: the reason is not printed:\n%s", tc.ci, out)
		}
	}
}
