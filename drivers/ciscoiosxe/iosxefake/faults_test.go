package iosxefake

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/wardnet/ward/drivers/clifake"
	"golang.org/x/crypto/ssh"
)

var archived = []string{"archive", " path flash:ward"}

// TestRevertTimerUnconfirmed: configure terminal revert timer, a change,
// no configure confirm: when the timer runs out the running configuration
// is what it was before, by itself.
func TestRevertTimerUnconfirmed(t *testing.T) {
	f := Start(t, Options{Config: archived, Minute: 100 * time.Millisecond})
	before := f.Running()
	d := dial(t, f)
	if r, err := d.SendCommand("configure terminal revert timer 1"); err != nil || r.Failed != nil {
		t.Fatalf("configure terminal revert timer 1: %v %v", err, r.Failed)
	}
	r, err := d.SendConfigs([]string{"interface Gi1/0/5", "switchport access vlan 999", "end"})
	if err != nil || r.Failed != nil {
		t.Fatalf("change: %v %v", err, r.Failed)
	}
	if !strings.Contains(f.Running(), "switchport access vlan 999") || !f.RevertPending() {
		t.Fatalf("the change is not in force with a revert pending:\n%s", f.Running())
	}
	deadline := time.Now().Add(3 * time.Second)
	for f.RevertPending() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if f.Running() != before {
		t.Errorf("the unconfirmed change was not rolled back:\n%s", f.Running())
	}
}

// TestRevertTimerConfirmed: configure confirm within the time keeps the
// change; without the archive feature the timer is refused.
func TestRevertTimerConfirmed(t *testing.T) {
	f := Start(t, Options{Config: archived, Minute: 100 * time.Millisecond})
	d := dial(t, f)
	d.SendCommand("configure terminal revert timer 1")
	d.SendConfigs([]string{"interface Gi1/0/5", "switchport access vlan 999", "end"})
	if r, err := d.SendCommand("configure confirm"); err != nil || r.Failed != nil {
		t.Fatalf("configure confirm: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(f.Running(), "switchport access vlan 999") {
		t.Errorf("the confirmed change was rolled back:\n%s", f.Running())
	}

	plain := Start(t, Options{})
	d2 := dial(t, plain)
	r, err := d2.SendCommand("configure terminal revert timer 1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Result, "%Please turn config archive on") || plain.RevertPending() {
		t.Errorf("revert timer without archive: %q", r.Result)
	}
}

// TestArchiveReplace: archive config saves the running configuration,
// configure replace ... force brings it back after a change.
func TestArchiveReplace(t *testing.T) {
	f := Start(t, Options{Config: archived})
	d := dial(t, f)
	if r, _ := d.SendCommand("archive config"); r.Result != "" {
		t.Fatalf("archive config: %q", r.Result)
	}
	saved := f.Running()
	show, _ := d.SendCommand("show archive")
	if !strings.Contains(show.Result, "flash:ward-1 <- Most Recent") {
		t.Errorf("show archive:\n%s", show.Result)
	}
	d.SendConfigs([]string{"ip access-list extended X", "deny ip any any", "end"})
	r, err := d.SendCommand("configure replace flash:ward-1 force")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Result, "Total number of passes: 1\nRollback Done") {
		t.Errorf("configure replace: %q", r.Result)
	}
	if f.Running() != saved {
		t.Errorf("after configure replace:\n%s\nwant\n%s", f.Running(), saved)
	}
}

// TestDropAfterConfigLines: the connection is cut right after the Nth
// configuration line: the lines before it and it are in force, the rest
// never arrived, and the client sees an error, not success.
func TestDropAfterConfigLines(t *testing.T) {
	f := Start(t, Options{DropAfterConfigLines: 2})
	d := dial(t, f)
	_, err := d.SendConfigs([]string{"interface Vlan210", "ip access-group A in", "ip access-group B out"}, opoptions.WithTimeoutOps(2*time.Second))
	if err == nil {
		t.Fatal("SendConfigs succeeded over a cut connection")
	}
	run := f.Running()
	if !strings.Contains(run, "interface Vlan210\n no ip address\n ip access-group A in\n!") || strings.Contains(run, "ip access-group B out") {
		t.Errorf("running configuration after the cut:\n%s", run)
	}
	log := f.Log()
	if log[len(log)-1] != "ip access-group A in" {
		t.Errorf("the fake received lines after the cut: %q", log)
	}
}

// TestStallAfter: after the stalling command nothing is answered; the
// client times out.
func TestStallAfter(t *testing.T) {
	f := Start(t, Options{})
	d := dial(t, f)
	f.StallAfter("show running-config")
	start := time.Now()
	_, err := d.SendCommand("show running-config", opoptions.WithTimeoutOps(500*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("a stalled command returned: %v", err)
	}
	if time.Since(start) < 400*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", time.Since(start))
	}
	f.Close() // cut the stalled session, so the driver's close does not wait for a prompt
}

// TestFailCommand: a command made to fail prints the given text, changes
// nothing, and scrapligo's patterns see the failure.
func TestFailCommand(t *testing.T) {
	f := Start(t, Options{})
	d := dial(t, f)
	f.FailCommand("ip access-group A in", InvalidInput)
	r, err := d.SendConfigs([]string{"interface Vlan210", "ip access-group A in"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed == nil {
		t.Errorf("no failure reported: %s", r.JoinedResult())
	}
	if strings.Contains(f.Running(), "access-group") {
		t.Errorf("the failed command ran:\n%s", f.Running())
	}
}

// TestHostKeyAndPublicKey: a public key logs in (here at privilege 15, so
// no enable), and a known_hosts file pinning another key refuses the fake.
func TestHostKeyAndPublicKey(t *testing.T) {
	sshPub, keyPEM := clifake.ClientKey(t)
	f := Start(t, Options{AuthorizedKeys: []ssh.PublicKey{sshPub}, Privileged: true})
	d, err := clifake.Scrapli(t, "cisco_iosxe", f.Addr(), f.WriteKnownHosts(t),
		options.WithAuthUsername("ward"),
		options.WithStandardTransportPrivateKeyBytes(keyPEM, ""))
	if err != nil {
		t.Fatalf("public-key login: %v", err)
	}
	d.Close()
	if strings.Contains(strings.Join(f.Log(), "\n"), "enable") {
		t.Errorf("a privilege-15 login was asked to enable: %q", f.Log())
	}

	other := Start(t, Options{})
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(other.KnownHostsLine(), other.Addr(), f.Addr(), 1)
	line = strings.Replace(line, "[127.0.0.1]:"+strconv.Itoa(other.Port()), "[127.0.0.1]:"+strconv.Itoa(f.Port()), 1)
	os.WriteFile(wrong, []byte(line+"\n"), 0o600)
	if _, err := clifake.Scrapli(t, "cisco_iosxe", f.Addr(), wrong,
		options.WithAuthUsername("ward"),
		options.WithStandardTransportPrivateKeyBytes(keyPEM, "")); err == nil {
		t.Fatal("connected although known_hosts pins another host key")
	}
}

// TestEnableWrongSecret: three wrong secrets end with "% Bad secrets" and
// the session stays at user EXEC, so acquiring privilege-exec fails.
func TestEnableWrongSecret(t *testing.T) {
	f := Start(t, Options{})
	if _, err := clifake.Scrapli(t, "cisco_iosxe", f.Addr(), f.WriteKnownHosts(t),
		options.WithAuthUsername("ward"),
		options.WithAuthPassword("ward"),
		options.WithAuthSecondary("not-the-secret"),
		options.WithTimeoutOps(2*time.Second)); err == nil {
		t.Fatal("enable with a wrong secret reached privileged EXEC")
	}
}

type terminal struct {
	io.Reader
	bytes.Buffer
}

func (t *terminal) Read(p []byte) (int, error) { return t.Reader.Read(p) }

// TestEnablePrompt: the exchange IOS has at the enable prompt, byte for
// byte: Password: three times without echo, then "% Bad secrets"; without
// an enable secret, "% No password set".
func TestEnablePrompt(t *testing.T) {
	for _, c := range []struct {
		opts  Options
		typed string
		want  string
		mode  Mode
	}{
		{Options{}, "a\rb\rc\r", "Password: \r\nPassword: \r\nPassword: \r\n% Bad secrets\r\n\r\n", ModeUserExec},
		{Options{}, "x\renable\r", "Password: \r\nPassword: \r\n", ModePrivExec},
		{Options{NoEnableSecret: true}, "", "% No password set\r\n", ModeUserExec},
	} {
		x := newCLI(t, ModeUserExec, c.opts)
		term := &terminal{Reader: strings.NewReader(c.typed)}
		x.s.rw, x.s.in = term, bufio.NewReader(term)
		x.s.enable()
		if term.String() != c.want || x.s.mode != c.mode {
			t.Errorf("typed %q: got %q at %s, want %q at %s", c.typed, term.String(), x.s.mode.Prompt(), c.want, c.mode.Prompt())
		}
	}
}

// TestReplaceWithRevertTimer: configure replace ... force time N backs the
// running configuration up to the archive, replaces it and, unconfirmed,
// puts the backup back when the timer runs out; show archive config
// rollback timer reports the timer as NAPALM's device tests read it.
func TestReplaceWithRevertTimer(t *testing.T) {
	f := Start(t, Options{Config: archived, Minute: 100 * time.Millisecond})
	d := dial(t, f)
	d.SendCommand("archive config") // flash:ward-1: the archive only
	d.SendConfigs([]string{"interface Gi1/0/5", "switchport access vlan 210", "end"})
	before := f.Running()
	r, err := d.SendCommand("configure replace flash:ward-1 force time 1")
	if err != nil {
		t.Fatal(err)
	}
	want := "Rollback Confirmed Change: Backing up current running config to flash:ward-2\nTotal number of passes: 1\nRollback Done"
	if !strings.Contains(r.Result, want) {
		t.Errorf("configure replace ... time 1:\n%s\nwant\n%s", r.Result, want)
	}
	if strings.Contains(f.Running(), "switchport access vlan 210") {
		t.Errorf("replace left the port in VLAN 210")
	}
	timer, _ := d.SendCommand("show archive config rollback timer")
	if !strings.Contains(timer.Result, "Timer value: 1 min") {
		t.Errorf("rollback timer: %q", timer.Result)
	}
	deadline := time.Now().Add(3 * time.Second)
	for f.RevertPending() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if f.Running() != before {
		t.Errorf("the unconfirmed replace was not rolled back:\n%s", f.Running())
	}
	for _, cmd := range []string{"show archive config rollback timer", "configure confirm"} {
		r, _ := d.SendCommand(cmd)
		if !strings.Contains(r.Result, "%No Rollback Confirmed Change pending") {
			t.Errorf("%s with nothing pending: %q", cmd, r.Result)
		}
	}
}

// TestReplaceForms: the replace forms of the Rollback Confirmed Change
// guide parse; others are refused where IOS would refuse them.
func TestReplaceForms(t *testing.T) {
	x := newCLI(t, ModePrivExec, Options{})
	for _, c := range []struct{ line, want string }{
		{"configure replace flash:a force revert trigger error timer 5", "%Error opening flash:a (No such file or directory)\n"},
		{"configure replace flash:a force revert trigger timer 5", "%Error opening flash:a (No such file or directory)\n"},
		{"configure replace flash:a force time 121", invalid(len("Switch#configure replace flash:a force time "))},
		{"configure replace flash:a force revert trigger", "% Incomplete command.\n\n"},
	} {
		if got := x.run(c.line); got != c.want {
			t.Errorf("%q:\ngot  %q\nwant %q", c.line, got, c.want)
		}
	}
}

// pipeTerminal is a terminal whose keys arrive when typed: reading waits,
// as on a real connection, instead of meeting the end of a string.
type pipeTerminal struct {
	*io.PipeReader
	mu  sync.Mutex
	out bytes.Buffer
}

func (p *pipeTerminal) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *pipeTerminal) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// TestCarriageReturnAlone: a terminal that ends lines with \r alone (as
// most do) gets its answer and the next prompt without typing more.
func TestCarriageReturnAlone(t *testing.T) {
	f := Start(t, Options{Privileged: true})
	r, w := io.Pipe()
	term := &pipeTerminal{PipeReader: r}
	s := &session{f: f, rw: term, in: bufio.NewReader(term), length: 24}
	s.mode = ModePrivExec
	go s.loop()
	defer w.Close()
	w.Write([]byte("configure terminal\r"))
	deadline := time.Now().Add(2 * time.Second)
	for !strings.HasSuffix(term.String(), "Switch(config)#") {
		if time.Now().After(deadline) {
			t.Fatalf("no configuration prompt after \\r: %q", term.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := "\r\nSwitch#configure terminal\r\nEnter configuration commands, one per line.  End with CNTL/Z.\r\nSwitch(config)#"
	if term.String() != want {
		t.Errorf("terminal shows %q, want %q", term.String(), want)
	}
}
