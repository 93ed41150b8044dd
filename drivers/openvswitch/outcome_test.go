package openvswitch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/localsession"
)

// alarmAfterCommit runs every command, but answers the first one that
// commits (not a dry run) the way an SSH session does when ovs-vsctl
// committed and then was killed by its --timeout alarm while waiting for
// ovs-vswitchd to carry the change out: exit status 142 (128+SIGALRM).
type alarmAfterCommit struct {
	drivers.Session
	done bool
}

func (a *alarmAfterCommit) Run(ctx context.Context, command string) (string, error) {
	out, err := a.Session.Run(ctx, command)
	if err != nil || a.done || !strings.Contains(command, " -- set port ") || strings.Contains(command, "--dry-run") {
		return out, err
	}
	a.done = true
	msg := "ovs-vsctl: terminating with signal 14 (Alarm clock)\nAlarm clock\n"
	return msg, &drivers.ExitError{Command: command, Status: 142, Output: msg}
}

// TestApplyTimedOutAfterCommit: ovs-vsctl killed by its timeout after it
// committed (ovs-vswitchd slow to carry the change out) leaves the switch
// on the new configuration. Apply must not say the ports are as they were:
// it returns drivers.ErrOutcomeUnknown, so the caller reads the switch on
// a new session (drivers.Which) and records what it runs.
func TestApplyTimedOutAfterCommit(t *testing.T) {
	br, p := bridge(t)
	ctx := t.Context()
	s := localsession.New(localsession.Options{})
	d := New(Options{Bridge: br})
	first := mustRender(t, d, ward(p[0], p[1], p[2]))
	second := mustRender(t, d, other(p[0], p[2]))
	if err := d.Apply(ctx, s, first); err != nil {
		t.Fatal(err)
	}
	err := d.Apply(ctx, &alarmAfterCommit{Session: s}, second)
	if !errors.Is(err, drivers.ErrOutcomeUnknown) {
		t.Errorf("Apply whose ovs-vsctl timed out after committing: err = %v, want drivers.ErrOutcomeUnknown", err)
	}
	outcome, err := drivers.Which(ctx, d, localsession.New(localsession.Options{}), second, first)
	if err != nil || outcome != drivers.OutcomeApplied {
		t.Errorf("Which after the timed-out apply = %q, %v; want %q (the transaction committed)", outcome, err, drivers.OutcomeApplied)
	}
}

// TestApplyKeepsQuarantineVLANInUse: a configuration without a quarantine
// VLAN, applied while a port is in it, must not forget it: the port would
// stay in VLAN 999 with nothing on the switch saying it is quarantined
// (ReadQuarantine empty, Running showing drift), and the next apply would
// put it back in its home VLAN, releasing the device with no release on
// record. Apply refuses, as the nftables driver refuses to delete a
// quarantine set that has members.
func TestApplyKeepsQuarantineVLANInUse(t *testing.T) {
	br, p := bridge(t)
	ctx := t.Context()
	s := localsession.New(localsession.Options{})
	d := New(Options{Bridge: br})
	if err := d.Apply(ctx, s, mustRender(t, d, ward(p[0], p[1], p[2]))); err != nil {
		t.Fatal(err)
	}
	if err := d.(drivers.VLANSetter).SetPortVLAN(ctx, s, p[0], 999); err != nil {
		t.Fatal(err)
	}
	noVLAN := ward(p[0], p[1], p[2])
	noVLAN.Switch.QuarantineVLAN = 0
	cfg := mustRender(t, d, noVLAN)
	err := d.Apply(ctx, s, cfg)
	if err == nil || !strings.Contains(err.Error(), p[0]) {
		t.Errorf("Apply dropping the quarantine VLAN while port %s is in it: err = %v, want a refusal naming the port", p[0], err)
	}
	// Whatever the first one said, applying again must not release it.
	d.Apply(ctx, s, cfg)
	out, err := s.Run(ctx, "ovs-vsctl get port "+p[0]+" tag")
	if got := strings.TrimSpace(out); err != nil || got != "999" {
		t.Errorf("after two applies without a quarantine VLAN, port %s has tag %q (%v), want it still in 999", p[0], got, err)
	}
	q, err := d.(drivers.QuarantineReader).ReadQuarantine(ctx, s)
	if err != nil || q.Ports[p[0]] != 210 {
		t.Errorf("ReadQuarantine = %v, %v; want port %s quarantined (home VLAN 210)", q, err, p[0])
	}
}
