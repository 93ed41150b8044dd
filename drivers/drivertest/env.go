package drivertest

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/testenv"
)

// Unavailable reports that a real part a test needs (root, nft, Open
// vSwitch) is missing: testenv decides whether it skips or fails.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	testenv.Unavailable(t, "%s", why)
}

// NeedRoot calls Unavailable unless the test runs as root.
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	testenv.NeedRoot(t, what)
}

// NeedCommand calls Unavailable unless name is on PATH; pkg names the
// Debian package that has it.
func NeedCommand(t testing.TB, name, pkg string) {
	t.Helper()
	testenv.NeedCommand(t, name, pkg)
}

// RandomName returns prefix followed by n random hex digits, for names of
// throwaway namespaces, bridges and ports that must not collide with a
// concurrent test run or the lab.
func RandomName(prefix string, n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)[:n]
}

// Netns creates a network namespace named ward-t-<random> for the test and
// deletes it when the test ends. It needs root and iproute2.
func Netns(t testing.TB) string {
	t.Helper()
	NeedRoot(t, "a network namespace")
	NeedCommand(t, "ip", "iproute2")
	name := RandomName("ward-t-", 8)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		Unavailable(t, "cannot create network namespace "+name+": "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("deleting network namespace %s: %v: %s", name, err, out)
		}
	})
	return name
}
