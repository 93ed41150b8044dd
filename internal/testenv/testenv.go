// Package testenv decides, in one place, what a test does when a real part
// it needs (root, nft, Open vSwitch, sshd, PostgreSQL, git, the lab) is
// missing: on a developer's machine it skips, and on CI it fails, so a CI
// run never passes without having run the real tests. CI is any value of
// the CI environment variable that strconv.ParseBool reads as true ("true",
// "1", "TRUE"); .ci/run sets CI=true whatever it inherited.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// CI reports whether the tests run on CI, where nothing may be skipped for
// want of a real part.
func CI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Unavailable reports that a real part t needs is missing: it fails t on
// CI and skips it elsewhere. The message says what is missing; the hint
// (`make deps` installs the Debian packages) is added here.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI is set: the real test must run here; `make deps` installs what it needs)", why)
	}
	t.Skipf("skipped: %s (`make deps` installs what the real test needs; with CI=true this fails)", why)
}

// NeedRoot calls Unavailable unless the test runs as root; what says what
// needs it.
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root", what)
	}
}

// NeedCommand calls Unavailable unless name is on PATH; pkg names the
// Debian package that has it.
func NeedCommand(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		Unavailable(t, "%s is not installed (Debian package %s)", name, pkg)
	}
}
