package drivertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Where EnsureOVS keeps Open vSwitch's state: the paths the Debian package's
// tools use by default, so ovs-vsctl and ovs-appctl need no options.
const (
	ovsRunDir = "/var/run/openvswitch"
	ovsLogDir = "/var/log/openvswitch"
	ovsSchema = "/usr/share/openvswitch/vswitch.ovsschema"
)

// EnsureOVS makes sure ovsdb-server and ovs-vswitchd run, starting whichever
// does not (with the database /var/run/openvswitch/conf.db, created from the
// schema if absent), so a test can make userspace bridges
// (datapath_type=netdev, which needs no kernel module). Daemons already
// running, such as the lab's, are used as they are; daemons it starts keep
// running after the test, for the next one. Tests must still work on
// bridges of their own (see RandomName) and never touch others'.
//
// Without root or the openvswitch-switch package it calls Unavailable.
func EnsureOVS(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"ovs-vsctl", "ovs-appctl", "ovsdb-tool", "ovsdb-server", "ovs-vswitchd"} {
		NeedCommand(t, bin, "openvswitch-switch")
	}
	if ovsdbUp() && vswitchdUp() {
		return
	}
	NeedRoot(t, "starting Open vSwitch")
	if err := startOVS(); err != nil {
		t.Fatalf("starting Open vSwitch for the test: %v (logs in %s)", err, ovsLogDir)
	}
}

func ovsdbUp() bool {
	return exec.Command("ovs-vsctl", "--no-wait", "--timeout=2", "show").Run() == nil
}

func vswitchdUp() bool {
	return exec.Command("ovs-appctl", "--timeout=2", "-t", "ovs-vswitchd", "version").Run() == nil
}

func startOVS() error {
	// The daemons outlive the test: they must not inherit a descriptor the
	// test process got from whoever started it, such as the lock that
	// `flock /run/ward-lab.lock go test ...` holds for the test's run,
	// which they would then hold for as long as they run.
	if err := closeInheritedOnExec(); err != nil {
		return err
	}
	for _, dir := range []string{ovsRunDir, ovsLogDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if !ovsdbUp() {
		db := filepath.Join(ovsRunDir, "conf.db")
		if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
			if err := run("ovsdb-tool", "create", db, ovsSchema); err != nil {
				return err
			}
		}
		// A concurrent start (the lab) makes this fail on the pid file
		// lock; what counts is that a server answers afterwards.
		startErr := run("ovsdb-server", db,
			"--remote=punix:"+filepath.Join(ovsRunDir, "db.sock"),
			"--pidfile", "--detach", "--log-file="+filepath.Join(ovsLogDir, "ovsdb-server.log"))
		if err := waitFor("ovsdb-server to answer", ovsdbUp); err != nil {
			return errors.Join(startErr, err)
		}
		if err := run("ovs-vsctl", "--no-wait", "init"); err != nil {
			return err
		}
	}
	if !vswitchdUp() {
		startErr := run("ovs-vswitchd", "--pidfile", "--detach",
			"--log-file="+filepath.Join(ovsLogDir, "ovs-vswitchd.log"))
		if err := waitFor("ovs-vswitchd to answer", vswitchdUp); err != nil {
			return errors.Join(startErr, err)
		}
	}
	return nil
}

// closeInheritedOnExec marks every descriptor above standard error
// close-on-exec. Go opens its own files that way; descriptors inherited
// from the parent process are not.
func closeInheritedOnExec() error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing this process's descriptors, so Open vSwitch does not inherit them: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func waitFor(what string, up func() bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for !up() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
