package eosfake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/wardnet/ward/drivers/clifake"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const (
	testUser = "ward"
	testPass = "s3cret"
)

// dial opens scrapligo's network driver with its own arista_eos platform
// definition, on the standard transport, the host key pinned.
func dial(t *testing.T, f *Fake, knownHosts string) (*network.Driver, error) {
	t.Helper()
	return clifake.Scrapli(t, "arista_eos", f.Addr(), knownHosts,
		options.WithAuthUsername(testUser),
		options.WithAuthPassword(testPass),
	)
}

func start(t *testing.T, o Options) *Fake {
	o.Username, o.Password = testUser, testPass
	if o.Ports == 0 {
		o.Ports = 2
	}
	return Start(t, o)
}

// startDialed starts a fake and dials it with scrapligo.
func startDialed(t *testing.T, o Options) (*Fake, *network.Driver) {
	t.Helper()
	f := start(t, o)
	d, err := dial(t, f, f.KnownHosts(t))
	if err != nil {
		t.Fatal(err)
	}
	return f, d
}

func TestScrapligoConfiguresAndReadsBack(t *testing.T) {
	f, d := startDialed(t, Options{Ports: 6})
	mr, err := d.SendConfigs([]string{
		"vlan 210",
		"name pumps",
		"interface Vlan210",
		"ip address 10.61.210.1/24",
		"ip access-group PUMPS-IN in",
		"ip access-list PUMPS-IN",
		"permit tcp 10.61.210.0/24 host 10.10.0.5 eq 443",
		"permit tcp any 10.61.210.0/24 established",
		"deny ip any any log",
		"interface Et5",
		"switchport mode access",
		"switchport access vlan 210",
	})
	if err != nil {
		t.Fatal(err)
	}
	if mr.Failed != nil {
		t.Fatalf("config failed: %v", mr.Failed)
	}
	r, err := d.SendCommand("show running-config")
	if err != nil || r.Failed != nil {
		t.Fatalf("show running-config: %v %v", err, r.Failed)
	}
	want := []string{
		"vlan 210\n   name pumps\n!\n",
		"interface Ethernet5\n   switchport access vlan 210\n!\n",
		"interface Vlan210\n   ip address 10.61.210.1/24\n   ip access-group PUMPS-IN in\n!\n",
		"ip access-list PUMPS-IN\n" +
			"   10 permit tcp 10.61.210.0/24 host 10.10.0.5 eq 443\n" +
			"   20 permit tcp any 10.61.210.0/24 established\n" +
			"   30 deny ip any any log\n!\n",
	}
	for _, w := range want {
		if !strings.Contains(r.Result, w) {
			t.Errorf("show running-config lacks\n%s\ngot:\n%s", w, r.Result)
		}
	}
	if strings.Contains(r.Result, "switchport mode access") {
		t.Errorf("the default access mode is shown:\n%s", r.Result)
	}
	// scrapligo's on-open: privilege acquired with enable, paging off.
	log := strings.Join(f.Log(), "\n")
	for _, c := range []string{"enable", "terminal width 32767", "terminal length 0"} {
		if !strings.Contains(log, c) {
			t.Errorf("log lacks %q:\n%s", c, log)
		}
	}
}

func TestPublicKeyLogin(t *testing.T) {
	sshPub, keyPEM := clifake.ClientKey(t)
	f := Start(t, Options{Username: testUser, AuthorizedKeys: []gossh.PublicKey{sshPub}})
	open := func(key []byte) error {
		_, err := clifake.Scrapli(t, "arista_eos", f.Addr(), f.KnownHosts(t),
			options.WithAuthUsername(testUser),
			options.WithStandardTransportPrivateKeyBytes(key, ""),
		)
		return err
	}
	if err := open(keyPEM); err != nil {
		t.Fatalf("the authorised key was refused: %v", err)
	}
	_, otherPEM := clifake.ClientKey(t)
	if err := open(otherPEM); err == nil {
		t.Fatal("a key that is not authorised got in")
	}
}

func TestHostKeyIsPinned(t *testing.T) {
	f := start(t, Options{})
	other, _ := clifake.ClientKey(t) // any key but the fake's host key
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(f.Addr())}, other)+"\n"), 0o600)
	if _, err := dial(t, f, kh); err == nil {
		t.Fatal("connected although known_hosts holds another key")
	}
	if len(f.Log()) != 0 {
		t.Errorf("commands reached the fake: %q", f.Log())
	}
}

func TestErrorsFailInScrapligo(t *testing.T) {
	f, d := startDialed(t, Options{})
	before := f.Running()
	for _, tc := range []struct{ line, want string }{
		{"duplex full", "% Invalid input"},
		{"ip access-list", "% Incomplete command"},
		{"s", "% Incomplete command"}, // only "show" starts with s in global configuration
	} {
		r, err := d.SendConfig(tc.line)
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		if r.Failed == nil || !strings.Contains(r.Result, tc.want) {
			t.Errorf("%q: got %q, failed=%v; want %q reported as failed", tc.line, r.Result, r.Failed, tc.want)
		}
	}
	r, err := d.SendCommand("c") // configure or copy
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed == nil || !strings.Contains(r.Result, "% Ambiguous command") {
		t.Errorf("c: got %q, failed=%v", r.Result, r.Failed)
	}
	if f.Running() != before {
		t.Errorf("rejected input changed the running configuration")
	}

	// EOS's duplicate sequence error is not among scrapligo's arista_eos
	// failure patterns: a driver must add it, as here.
	lines := []string{"ip access-list A", "10 permit ip any any", "10 deny ip any any"}
	mr, err := d.SendConfigs(lines)
	if err != nil {
		t.Fatal(err)
	}
	if got := mr.Responses[2].Result; !strings.Contains(got, ErrDuplicateSeq) || mr.Failed != nil {
		t.Errorf("duplicate sequence: %q, failed=%v (scrapligo's patterns do not list it)", got, mr.Failed)
	}
	mr, err = d.SendConfigs(lines[1:], opoptions.WithFailedWhenContains(append(d.FailedWhenContains, ErrDuplicateSeq)))
	if err != nil {
		t.Fatal(err)
	}
	if mr.Failed == nil {
		t.Errorf("a duplicate sequence number passed with the pattern added: %q", mr.Responses[0].Result)
	}
}

// openRaw opens a plain SSH client with a PTY, to watch the pager.
func openRaw(t *testing.T, f *Fake) *clifake.Terminal {
	return clifake.OpenTerminal(t, f.Addr(), f.KnownHosts(t), testUser, testPass, 40, 200)
}

func TestPagingUntilTerminalLengthZero(t *testing.T) {
	f := start(t, Options{Ports: 12, PageLength: 10})
	r := openRaw(t, f)
	r.Expect("switch>")
	r.Send("enable\r")
	r.Expect("switch#")
	r.Send("show running-config\r")
	page := r.Expect(" --More-- ")
	lines := strings.Split(strings.TrimSuffix(page, "\r\n"), "\r\n")
	// The echoed command, then 9 lines: a page of 10 less the pager's line.
	if len(lines) != 10 || lines[0] != "show running-config" || lines[1] != "! Command: show running-config" {
		t.Fatalf("first page: %q", lines)
	}
	// 30 lines (5 of header and hostname, 2 per port, "end") in pages of
	// 9: three more pages, two more pager prompts.
	r.Send("   ")
	rest := r.Expect("switch#")
	if n := strings.Count(rest, " --More-- "); n != 2 || !strings.HasSuffix(rest, "interface Ethernet12\r\n!\r\nend\r\n") {
		t.Errorf("rest of the output (%d pager prompts): %q", n, rest)
	}
	r.Send("q") // stray input after the prompt is only typed, nothing runs
	r.Send("\x7f")
	r.Send("terminal length 0\r")
	if got := r.Expect("switch#"); !strings.Contains(got, "Pagination disabled") {
		t.Errorf("terminal length 0 printed %q", got)
	}
	r.Send("show running-config\r")
	all := r.Expect("switch#")
	if strings.Contains(all, "--More--") || !strings.Contains(all, "interface Ethernet12\r\n!\r\nend\r\n") {
		t.Errorf("output with paging off: %q", all)
	}
}

func TestPagerQuitStopsOutput(t *testing.T) {
	f := start(t, Options{Ports: 12, PageLength: 10})
	r := openRaw(t, f)
	r.Expect("switch>")
	r.Send("enable\r")
	r.Expect("switch#")
	r.Send("show running-config\r")
	r.Expect(" --More-- ")
	r.Send("q")
	if got := r.Expect("switch#"); strings.Contains(got, "interface Ethernet") && strings.Contains(got, "end\r\n") {
		t.Errorf("q did not stop the output: %q", got)
	}
}

// sessionLines runs lines on the generic driver: scrapligo's network
// driver knows no session privilege level, and the prompts of a session
// match its configuration pattern.
func sessionLines(t *testing.T, d *network.Driver, lines ...string) string {
	t.Helper()
	mr, err := d.Driver.SendCommands(lines, opoptions.WithFailedWhenContains(d.FailedWhenContains))
	if err != nil {
		t.Fatal(err)
	}
	if mr.Failed != nil {
		t.Fatalf("%q failed: %v", lines, mr.Failed)
	}
	var out []string
	for _, r := range mr.Responses {
		out = append(out, r.Result)
	}
	return strings.Join(out, "\n")
}

func TestConfigSessionDiffAndCommit(t *testing.T) {
	f, d := startDialed(t, Options{})
	before := f.Running()
	sessionLines(t, d, "configure session ward1", "vlan 210")
	if f.Running() != before {
		t.Fatal("a session line changed the running configuration before commit")
	}
	diff := sessionLines(t, d, "show session-config diffs")
	want := "--- system:/running-config\n" +
		"+++ session:/ward1-session-config\n" +
		"@@ -3,6 +3,8 @@\n" +
		" !\n" +
		" hostname switch\n" +
		" !\n" +
		"+vlan 210\n" +
		"+!\n" +
		" interface Ethernet1\n" +
		" !\n" +
		" interface Ethernet2"
	if diff != want {
		t.Errorf("diffs:\n%s\nwant:\n%s", diff, want)
	}
	sessionLines(t, d, "commit")
	if !strings.Contains(f.Running(), "vlan 210\n!\n") {
		t.Errorf("commit did not apply:\n%s", f.Running())
	}
}

func TestConfigSessionAbortChangesNothing(t *testing.T) {
	f, d := startDialed(t, Options{})
	before := f.Running()
	sessionLines(t, d, "configure session ward1", "vlan 210", "abort")
	if f.Running() != before {
		t.Errorf("abort changed the running configuration:\n%s", f.Running())
	}
	// The session is gone: a new one with the name starts from running.
	if diff := sessionLines(t, d, "configure session ward1", "show session-config diffs"); strings.TrimSpace(diff) != "" {
		t.Errorf("aborted session lingers: %q", diff)
	}
}

func TestCommitTimerRollsBackUnlessConfirmed(t *testing.T) {
	clock := &ManualClock{}
	f, d := startDialed(t, Options{Clock: clock})
	before := f.Running()
	sessionLines(t, d, "configure session ward1", "vlan 210", "commit timer 00:05:00")
	if d.Driver.Channel == nil {
		t.Fatal("no channel")
	}
	if !strings.Contains(f.Running(), "vlan 210") {
		t.Fatal("commit timer did not apply the session")
	}
	clock.Advance(4*time.Minute + 59*time.Second)
	if !strings.Contains(f.Running(), "vlan 210") {
		t.Fatal("rolled back before the timer ran out")
	}
	clock.Advance(time.Second)
	if f.Running() != before || f.Rollbacks() != 1 {
		t.Fatalf("not rolled back when the timer ran out (rollbacks %d):\n%s", f.Rollbacks(), f.Running())
	}

	// Confirmed in time, it stays.
	sessionLines(t, d, "configure session ward2", "vlan 220", "commit timer 00:05:00")
	sessionLines(t, d, "configure session ward2 commit")
	clock.Advance(time.Hour)
	if !strings.Contains(f.Running(), "vlan 220") || f.Rollbacks() != 1 {
		t.Fatalf("a confirmed commit was rolled back:\n%s", f.Running())
	}

	// Confirmed from inside the session, by its second commit.
	sessionLines(t, d, "configure session ward4", "vlan 240", "commit timer 00:05:00")
	sessionLines(t, d, "configure session ward4", "commit")
	clock.Advance(time.Hour)
	if !strings.Contains(f.Running(), "vlan 240") || f.Rollbacks() != 1 {
		t.Fatalf("a commit confirmed in the session was rolled back:\n%s", f.Running())
	}

	// Aborted while the timer runs: back at once.
	confirmed := f.Running()
	sessionLines(t, d, "configure session ward3", "vlan 230", "commit timer 01:00:00")
	sessionLines(t, d, "configure session ward3 abort")
	if f.Running() != confirmed {
		t.Fatalf("configure session ward3 abort did not roll back:\n%s", f.Running())
	}
	sessionLines(t, d, "configure session ward5", "vlan 250", "commit timer 01:00:00")
	sessionLines(t, d, "configure session ward5", "abort")
	if f.Running() != confirmed {
		t.Fatalf("abort inside ward5 did not roll back:\n%s", f.Running())
	}
}

func TestFaultDropMidSession(t *testing.T) {
	f, d := startDialed(t, Options{DropAfterConfigLines: 3})
	before := f.Running()
	_, err := d.Driver.SendCommands([]string{"configure session ward1", "vlan 210", "name pumps", "vlan 220", "name monitors", "commit"})
	if err == nil {
		t.Fatal("no error although the connection was cut")
	}
	if f.Running() != before {
		t.Errorf("an uncommitted session reached the running configuration:\n%s", f.Running())
	}
	log := f.Log()
	if last := log[len(log)-1]; last != "vlan 220" {
		t.Errorf("the fake went on after the 3rd configuration line: log ends %q", log)
	}
}

func TestFaultDropInConfigureTerminal(t *testing.T) {
	f, d := startDialed(t, Options{DropAfterConfigLines: 2})
	if _, err := d.SendConfigs([]string{"vlan 210", "vlan 220", "vlan 230"}); err == nil {
		t.Fatal("no error although the connection was cut")
	}
	// Without a session each line takes effect as it is entered: the
	// first two are in force, the third never arrived.
	run := f.Running()
	if !strings.Contains(run, "vlan 210\n!\nvlan 220\n!\n") || strings.Contains(run, "vlan 230") {
		t.Errorf("running after the cut:\n%s", run)
	}
}

func TestFaultStall(t *testing.T) {
	_, d := startDialed(t, Options{StallOn: "show running-config"})
	_, err := d.SendCommand("show running-config", opoptions.WithTimeoutOps(500*time.Millisecond))
	if err == nil {
		t.Fatal("no timeout from a stalled device")
	}
}

func TestFaultRefuseCommitAndFailCommand(t *testing.T) {
	refusal := "% Error: commit refused by the test"
	f, d := startDialed(t, Options{RefuseCommit: refusal, FailCommands: map[string]string{"vlan 666": "% Error: injected"}})
	before := f.Running()
	mr, err := d.Driver.SendCommands([]string{"configure session ward1", "vlan 210", "commit timer 00:01:00"},
		opoptions.WithFailedWhenContains(d.FailedWhenContains))
	if err != nil {
		t.Fatal(err)
	}
	if mr.Failed == nil || !strings.Contains(mr.Responses[2].Result, refusal) {
		t.Errorf("refused commit not reported: %v %q", mr.Failed, mr.Responses[2].Result)
	}
	if f.Running() != before {
		t.Errorf("a refused commit changed running:\n%s", f.Running())
	}
	r, err := d.Driver.SendCommand("vlan 666", opoptions.WithFailedWhenContains(d.FailedWhenContains))
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed == nil || !strings.Contains(r.Result, "% Error: injected") {
		t.Errorf("injected failure not reported: %q", r.Result)
	}
}
