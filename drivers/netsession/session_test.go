package netsession_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/ciscoiosxe"
	"github.com/wardnet/ward/drivers/ciscoiosxe/iosxefake"
	"github.com/wardnet/ward/drivers/netsession"
	"github.com/wardnet/ward/drivers/sshsession"
	"golang.org/x/crypto/ssh/knownhosts"
)

func platform(t *testing.T) []byte {
	var r drivers.Registry
	ciscoiosxe.Register(&r)
	info, ok := r.Lookup("cisco_iosxe")
	if !ok || len(info.Platform) == 0 {
		t.Fatal("cisco_iosxe registers no platform definition")
	}
	return info.Platform
}

func dial(t *testing.T, f *iosxefake.Fake, knownHosts string) (*netsession.Session, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return netsession.Dial(ctx, netsession.Target{Name: "sw", Address: f.Host(), Port: f.Port(), Username: "ward", KnownHosts: knownHosts},
		netsession.Credential{Password: "ward"}, platform(t))
}

// TestSession: commands and configuration lines reach the device at the
// right privilege level; a line the device refuses is an error naming it,
// with the device's own message and the pattern that matched.
func TestSession(t *testing.T) {
	f := iosxefake.Start(t, iosxefake.Options{EnableSecret: "ward"})
	s, err := dial(t, f, f.WriteKnownHosts(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, err := s.Configure(ctx, "", []string{"vlan 321", "name ward-test"}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	out, err := s.Run(ctx, "show running-config")
	if err != nil {
		t.Fatalf("Run after Configure (it must leave configuration mode): %v", err)
	}
	if !strings.Contains(out, "vlan 321") || !strings.Contains(f.Running(), "vlan 321") {
		t.Errorf("the configured VLAN is not in the running configuration:\n%s", out)
	}
	_, err = s.Configure(ctx, "", []string{"vlan 322", "frobnicate the switch", "vlan 323"})
	var rej *netsession.Rejected
	var exit *drivers.ExitError
	if !errors.As(err, &rej) || !errors.As(err, &exit) || rej.Line != "frobnicate the switch" || !strings.Contains(rej.Output, "% Invalid input detected") || rej.Pattern == "" {
		t.Fatalf("a refused line: err = %v; want an ExitError wrapping a Rejected naming the line, the device's message and the pattern", err)
	}
	if running := f.Running(); !strings.Contains(running, "vlan 322") || strings.Contains(running, "vlan 323") {
		t.Errorf("Configure did not stop at the refused line:\n%s", running)
	}
}

// TestSessionBroken: a command cut short by its context breaks the
// session, and every later call says so without touching the device.
func TestSessionBroken(t *testing.T) {
	f := iosxefake.Start(t, iosxefake.Options{EnableSecret: "ward"})
	s, err := dial(t, f, f.WriteKnownHosts(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.StallAfter("show clock")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.Run(ctx, "show clock"); !errors.Is(err, drivers.ErrSessionBroken) {
		t.Fatalf("a stalled command: err = %v; want ErrSessionBroken", err)
	}
	if !s.Broken() {
		t.Error("the session does not say it is broken")
	}
	if _, err := s.Run(t.Context(), "show running-config"); !errors.Is(err, drivers.ErrSessionBroken) {
		t.Errorf("a command on a broken session: err = %v; want ErrSessionBroken", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("closing a broken session waited for the device (on-close commands)")
	}
}

// TestHostKeyPinned: no known_hosts, or one pinning another key, and
// Ward does not log in.
func TestHostKeyPinned(t *testing.T) {
	f := iosxefake.Start(t, iosxefake.Options{})
	if _, err := dial(t, f, ""); err == nil || !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("dial without known_hosts: %v; want a refusal naming known_hosts", err)
	}
	other := iosxefake.Start(t, iosxefake.Options{})
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(f.Addr())}, other.HostKey())
	if err := os.WriteFile(wrong, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := dial(t, f, wrong)
	var hk *sshsession.HostKeyError
	if !errors.As(err, &hk) || !hk.Mismatch {
		t.Errorf("dial with another key pinned: %v; want a host key mismatch", err)
	}
}
