package junosfake

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/util"
	"github.com/wardnet/ward/drivers/clifake"
	gossh "golang.org/x/crypto/ssh"
)

const testPassword = "s3cret-for-tests"

// open logs in with scrapligo's juniper_junos platform on the standard
// transport, the host key pinned by a known_hosts file.
func open(t *testing.T, f *Fake, extra ...util.Option) *network.Driver {
	t.Helper()
	opts := append([]util.Option{
		options.WithAuthUsername("ward"),
		options.WithAuthPassword(testPassword),
	}, extra...)
	d, err := clifake.Scrapli(t, "juniper_junos", f.Addr(), f.KnownHosts(t), opts...)
	if err != nil {
		t.Fatalf("opening the session: %v", err)
	}
	return d
}

func TestScrapligoSessionConfiguresAndReadsBack(t *testing.T) {
	f := Start(t, Options{Password: testPassword, Running: []string{"set system host-name ex-access-1"}})
	d := open(t, f)
	if err := d.AcquirePriv("configuration-exclusive"); err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"set vlans v210 vlan-id 210",
		"set vlans v210 l3-interface irb.210",
		"set policy-options prefix-list pumps 10.61.210.0/24",
		"set firewall family inet filter zone-pumps term t1 from source-prefix-list pumps",
		"set firewall family inet filter zone-pumps term t1 from protocol tcp",
		"set firewall family inet filter zone-pumps term t1 from destination-port 443",
		"set firewall family inet filter zone-pumps term t1 then accept",
		"set interfaces irb unit 210 family inet filter input zone-pumps",
		"set interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access vlan members v210",
	}
	mr, err := d.SendConfigs(lines, opoptions.WithPrivilegeLevel("configuration-exclusive"))
	if err != nil || mr.Failed != nil {
		t.Fatalf("sending configuration: %v %v", err, mr.Failed)
	}
	if f.Running() != "set system host-name ex-access-1" {
		t.Fatalf("running configuration changed before commit:\n%s", f.Running())
	}
	r, err := d.SendConfig("commit check", opoptions.WithPrivilegeLevel("configuration-exclusive"))
	if err != nil || !strings.Contains(r.Result, "configuration check succeeds") {
		t.Fatalf("commit check: %v %q", err, r.Result)
	}
	r, err = d.SendConfig("commit", opoptions.WithPrivilegeLevel("configuration-exclusive"))
	if err != nil || !strings.Contains(r.Result, "commit complete") {
		t.Fatalf("commit: %v %q", err, r.Result)
	}
	if err := d.AcquirePriv("exec"); err != nil {
		t.Fatal(err)
	}
	r, err = d.SendCommand("show configuration | display set")
	if err != nil || r.Failed != nil {
		t.Fatal(err, r.Failed)
	}
	want := `set system host-name ex-access-1
set vlans v210 vlan-id 210
set vlans v210 l3-interface irb.210
set policy-options prefix-list pumps 10.61.210.0/24
set firewall family inet filter zone-pumps term t1 from source-prefix-list pumps
set firewall family inet filter zone-pumps term t1 from protocol tcp
set firewall family inet filter zone-pumps term t1 from destination-port 443
set firewall family inet filter zone-pumps term t1 then accept
set interfaces irb unit 210 family inet filter input zone-pumps
set interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access
set interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members v210`
	if got := strings.TrimSpace(r.Result); got != want {
		t.Fatalf("read back:\n%s\nwant\n%s", got, want)
	}
	// scrapligo's on-open disabled the pager the documented way.
	log := strings.Join(f.Log(), "\n")
	for _, l := range []string{"set cli screen-length 0", "set cli screen-width 511", "configure exclusive"} {
		if !strings.Contains(log, l) {
			t.Errorf("log lacks %q:\n%s", l, log)
		}
	}
}

func TestInvalidInputFailsWithJunosText(t *testing.T) {
	f := Start(t, Options{Password: testPassword})
	d := open(t, f)
	cases := []struct {
		line, caret, msg string
		// scrapligo's juniper_junos failed-when-contains lists "syntax
		// error", "unknown command", "is ambiguous" and "No valid
		// completions", not "missing argument": a driver must add it.
		scrapliFails bool
	}{
		// caret under the bad word: prompt "ward@ex-access-1# " is 18 wide.
		{"set vlanz v1 vlan-id 10", strings.Repeat(" ", 18+4) + "^", "syntax error.", true},
		{"set vlans v1 vlan-id", strings.Repeat(" ", 18+21) + "^", "missing argument.", false},
		{"sett vlans v1 vlan-id 10", strings.Repeat(" ", 18) + "^", "unknown command.", true},
		{"set firewall family inet filter f term t from d 10.0.0.1", strings.Repeat(" ", 18+46) + "^", "'d' is ambiguous.", true},
	}
	for _, c := range cases {
		r, err := d.SendConfig(c.line)
		if err != nil {
			t.Fatal(err)
		}
		if (r.Failed != nil) != c.scrapliFails {
			t.Errorf("%q: scrapligo's failure report %v, want %v; output %q", c.line, r.Failed, c.scrapliFails, r.Result)
		}
		if !strings.Contains(r.Result, c.caret+"\n"+c.msg) {
			t.Errorf("%q: output %q lacks caret line and %q", c.line, r.Result, c.msg)
		}
	}
	r, _ := d.SendConfig("show | display set")
	if configOutput(r.Result) != "" {
		t.Fatalf("rejected lines changed the candidate:\n%s", r.Result)
	}
}

// shell logs in with crypto/ssh and a PTY, for what scrapligo hides
// (the pager, a dropped connection), and waits for the prompt.
func shell(t *testing.T, f *Fake) *clifake.Terminal {
	t.Helper()
	sh := clifake.OpenTerminal(t, f.Addr(), f.KnownHosts(t), "ward", testPassword, 24, 80)
	sh.Expect("ward@ex-access-1> ")
	return sh
}

func TestPagerUntilScreenLengthZero(t *testing.T) {
	var running []string
	for i := 1; i <= 30; i++ {
		running = append(running, "set vlans v"+strconv.Itoa(i)+" vlan-id "+strconv.Itoa(i))
	}
	f := Start(t, Options{Password: testPassword, Running: running})
	sh := shell(t, f)
	sh.Send("show configuration | display set\n")
	page1 := sh.Expect("---(more")
	// A page is 23 lines of a 24-line screen; the 24th is the pager prompt.
	if !strings.Contains(page1, "set vlans v23 vlan-id 23") || strings.Contains(page1, "v24 ") {
		t.Fatalf("first page:\n%s", page1)
	}
	sh.Send(" ")
	rest := sh.Expect("ward@ex-access-1> ")
	if !strings.Contains(rest, "set vlans v30 vlan-id 30") {
		t.Fatalf("after space:\n%s", rest)
	}
	sh.Send("set cli screen-length 0\n")
	if out := sh.Expect("ward@ex-access-1> "); !strings.Contains(out, "Screen length set to 0") {
		t.Fatalf("set cli screen-length 0 answered %q", out)
	}
	sh.Send("show configuration | display set\n")
	all := sh.Expect("ward@ex-access-1> ")
	if strings.Contains(all, "---(more") || !strings.Contains(all, "set vlans v30 vlan-id 30") {
		t.Fatalf("with screen-length 0:\n%s", all)
	}
}

func TestDropMidConfiguration(t *testing.T) {
	f := Start(t, Options{Password: testPassword, DropAfterConfigLines: 2})
	sh := shell(t, f)
	sh.Send("configure exclusive\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("set vlans a vlan-id 10\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("set vlans b vlan-id 20\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("set vlans c vlan-id 30\n")
	if !sh.Closed() {
		t.Fatal("the connection stayed open after the third configuration line")
	}
	if f.Running() != "" {
		t.Fatalf("nothing was committed, yet running is:\n%s", f.Running())
	}
	log := f.Log()
	if log[len(log)-1] != "set vlans c vlan-id 30" {
		t.Fatalf("log: %q", log)
	}
}

func TestStall(t *testing.T) {
	f := Start(t, Options{Password: testPassword, StallOn: "commit"})
	d := open(t, f, options.WithTimeoutOps(time.Second))
	if _, err := d.SendConfigs([]string{"set vlans a vlan-id 10"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := d.SendConfig("commit"); err == nil {
		t.Fatal("commit on a stalled device returned without error")
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Fatal("the stalled command failed before the timeout: the fake answered")
	}
	if f.Running() != "" {
		t.Fatalf("the stalled commit ran: %s", f.Running())
	}
}

func TestRefusedCommitLeavesRunning(t *testing.T) {
	f := Start(t, Options{Password: testPassword, Running: []string{"set vlans a vlan-id 10"}})
	f.RefuseCommits("Policy error: Policy my-policy referenced but not defined")
	d := open(t, f)
	d.AcquirePriv("configuration-exclusive")
	d.SendConfigs([]string{"set vlans a vlan-id 11"}, opoptions.WithPrivilegeLevel("configuration-exclusive"))
	r, err := d.SendConfig("commit", opoptions.WithPrivilegeLevel("configuration-exclusive"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Result, "error: Policy error: Policy my-policy referenced but not defined\nerror: configuration check-out failed") {
		t.Fatalf("commit answered %q", r.Result)
	}
	if f.Running() != "set vlans a vlan-id 10" {
		t.Fatalf("running after a refused commit: %s", f.Running())
	}
	// Leaving configure exclusive with changes asks whether to discard them;
	// rollback 0 first, as a driver would.
	d.SendConfig("rollback 0", opoptions.WithPrivilegeLevel("configuration-exclusive"))
}

func TestCommitConfirmedRollsBackUnlessConfirmed(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := Start(t, Options{Password: testPassword, Clock: clock, Running: []string{"set vlans a vlan-id 10"}})
	d := open(t, f)
	d.AcquirePriv("configuration-exclusive")
	priv := opoptions.WithPrivilegeLevel("configuration-exclusive")
	d.SendConfigs([]string{"set vlans a vlan-id 11"}, priv)
	r, err := d.SendConfig("commit confirmed 5", priv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Result, "commit confirmed will be automatically rolled back in 5 minutes unless confirmed") {
		t.Fatalf("commit confirmed answered %q", r.Result)
	}
	if f.Running() != "set vlans a vlan-id 11" || !f.ConfirmPending() {
		t.Fatalf("after commit confirmed: %s (pending %v)", f.Running(), f.ConfirmPending())
	}
	clock.Advance(4 * time.Minute)
	if f.Running() != "set vlans a vlan-id 11" {
		t.Fatal("rolled back before the deadline")
	}
	clock.Advance(time.Minute)
	if f.Running() != "set vlans a vlan-id 10" || f.ConfirmPending() {
		t.Fatalf("not rolled back at the deadline: %s", f.Running())
	}

	// Confirmed in time: stays.
	d.SendConfigs([]string{"set vlans a vlan-id 12"}, priv)
	d.SendConfig("commit confirmed 5", priv)
	clock.Advance(2 * time.Minute)
	r, _ = d.SendConfig("commit", priv)
	if !strings.Contains(r.Result, "commit complete") {
		t.Fatalf("confirming commit answered %q", r.Result)
	}
	clock.Advance(time.Hour)
	if f.Running() != "set vlans a vlan-id 12" {
		t.Fatalf("confirmed commit rolled back: %s", f.Running())
	}
	// The confirming commit is a commit of its own: rollback 1 is the
	// confirmed-commit one (vlan-id 12 too), rollback 2 the rolled-back-to 10.
	r, _ = d.SendConfig("rollback 2", priv)
	if !strings.Contains(r.Result, "load complete") {
		t.Fatalf("rollback 2 answered %q", r.Result)
	}
	r, _ = d.SendConfig("show | display set", priv)
	if configOutput(r.Result) != "set vlans a vlan-id 10" {
		t.Fatalf("candidate after rollback 2: %q", r.Result)
	}
	d.SendConfig("rollback 0", priv)
}

// configOutput drops the "[edit]" banner line scrapligo leaves at the end
// of configuration-mode output (its prompt pattern takes the banner only
// when a "{master:0}" prefix stands on the same line).
func configOutput(s string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "[edit]"))
}

func TestVirtualChassisPromptBanner(t *testing.T) {
	f := Start(t, Options{Password: testPassword, Master: "master:0"})
	d := open(t, f)
	priv := opoptions.WithPrivilegeLevel("configuration-private")
	if err := d.AcquirePriv("configuration-private"); err != nil {
		t.Fatal(err)
	}
	d.SendConfigs([]string{"set vlans a vlan-id 10"}, priv)
	r, _ := d.SendConfig("show | display set", priv)
	// With "{master:0}[edit]" on one line, scrapligo's pattern takes the
	// whole banner as prompt: the output is the configuration alone.
	if strings.TrimSpace(r.Result) != "set vlans a vlan-id 10" {
		t.Fatalf("show | display set: %q", r.Result)
	}
	// configure private: another session's view is untouched until commit.
	if f.Running() != "" {
		t.Fatalf("running changed before commit: %s", f.Running())
	}
	r, _ = d.SendConfig("commit", priv)
	if !strings.Contains(r.Result, "commit complete") || f.Running() != "set vlans a vlan-id 10" {
		t.Fatalf("commit: %q, running %q", r.Result, f.Running())
	}
}

func TestExclusiveLockAndDiscardOnExit(t *testing.T) {
	f := Start(t, Options{Password: testPassword, Running: []string{"set vlans a vlan-id 10"}})
	a, b := shell(t, f), shell(t, f)
	a.Send("configure exclusive\n")
	if out := a.Expect("ward@ex-access-1# "); !strings.Contains(out, "warning: uncommitted changes will be discarded on exit\nEntering configuration mode") &&
		!strings.Contains(strings.ReplaceAll(out, "\r", ""), "warning: uncommitted changes will be discarded on exit\nEntering configuration mode") {
		t.Fatalf("configure exclusive answered %q", out)
	}
	b.Send("configure exclusive\n")
	if out := b.Expect("ward@ex-access-1> "); !strings.Contains(out, "error: configuration database locked by:") {
		t.Fatalf("second configure exclusive answered %q", out)
	}
	// Plain configure enters, lists the holder, and may not commit.
	b.Send("configure\n")
	if out := b.Expect("ward@ex-access-1# "); !strings.Contains(out, "Users currently editing the configuration:") || !strings.Contains(out, "exclusive [edit]") {
		t.Fatalf("configure under a lock answered %q", out)
	}
	b.Send("commit\n")
	if out := b.Expect("ward@ex-access-1# "); !strings.Contains(out, "error: configuration database locked by:") {
		t.Fatalf("commit under another's lock answered %q", out)
	}
	b.Send("exit\n")
	b.Expect("ward@ex-access-1> ")

	a.Send("set vlans a vlan-id 20\n")
	a.Expect("ward@ex-access-1# ")
	a.Send("show | compare\n")
	// Layout from the sample of show system rollback compare: the sign, then
	// the first level at column 3.
	diff := strings.ReplaceAll(a.Expect("ward@ex-access-1# "), "\r", "")
	for _, want := range []string{"[edit vlans a]", "-  vlan-id 10;", "+  vlan-id 20;"} {
		if !strings.Contains(diff, want) {
			t.Errorf("show | compare lacks %q:\n%s", want, diff)
		}
	}
	a.Send("exit configuration-mode\n")
	q := strings.ReplaceAll(a.Expect("(yes) "), "\r", "")
	if !strings.Contains(q, "The configuration has been changed but not committed\nwarning: Auto rollback on exiting 'configure exclusive'\nDiscard uncommitted changes? [yes,no]") {
		t.Fatalf("exit with changes answered %q", q)
	}
	a.Send("yes\n")
	if out := strings.ReplaceAll(a.Expect("ward@ex-access-1> "), "\r", ""); !strings.Contains(out, "warning: discarding uncommitted changes\nload complete\nExiting configuration mode") {
		t.Fatalf("after yes: %q", out)
	}
	// The lock is gone with the discarded changes.
	b.Send("configure exclusive\n")
	b.Expect("ward@ex-access-1# ")
	b.Send("show | display set\n")
	if out := strings.ReplaceAll(b.Expect("ward@ex-access-1# "), "\r", ""); !strings.Contains(out, "set vlans a vlan-id 10\n") || strings.Contains(out, "vlan-id 20") {
		t.Fatalf("candidate after the discard: %q", out)
	}
}

func TestLoadSetTerminalAndDelete(t *testing.T) {
	f := Start(t, Options{Password: testPassword, Running: []string{"set vlans a vlan-id 10", "set vlans b vlan-id 20"}})
	sh := shell(t, f)
	sh.Send("configure private\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("load set terminal\n")
	sh.Expect("[Type ^D at a new line to end input]")
	sh.Send("set vlans c vlan-id 30\ndelete vlans b\nset policy-options prefix-list p 10.0.0.0/24\n\x04")
	if out := sh.Expect("ward@ex-access-1# "); !strings.Contains(out, "load complete") {
		t.Fatalf("load answered %q", out)
	}
	sh.Send("delete vlans zz\n")
	if out := sh.Expect("ward@ex-access-1# "); !strings.Contains(out, "warning: statement not found") {
		t.Fatalf("delete of nothing answered %q", out)
	}
	sh.Send("commit\n")
	if out := sh.Expect("ward@ex-access-1# "); !strings.Contains(out, "commit complete") {
		t.Fatalf("commit answered %q", out)
	}
	want := "set vlans a vlan-id 10\nset vlans c vlan-id 30\nset policy-options prefix-list p 10.0.0.0/24"
	if f.Running() != want {
		t.Fatalf("running:\n%s\nwant\n%s", f.Running(), want)
	}
	wantText := `vlans {
    a {
        vlan-id 10;
    }
    c {
        vlan-id 30;
    }
}
policy-options {
    prefix-list p {
        10.0.0.0/24;
    }
}`
	if f.RunningText() != wantText {
		t.Fatalf("show configuration:\n%s\nwant\n%s", f.RunningText(), wantText)
	}
}

// configure private commits only if nobody committed since its copy was taken.
func TestPrivateCommitAfterAnotherCommit(t *testing.T) {
	f := Start(t, Options{Password: testPassword})
	a, b := shell(t, f), shell(t, f)
	a.Send("configure private\n")
	a.Expect("ward@ex-access-1# ")
	b.Send("configure private\n")
	b.Expect("ward@ex-access-1# ")
	b.Send("set vlans b vlan-id 20\n")
	b.Expect("ward@ex-access-1# ")
	b.Send("commit\n")
	b.Expect("commit complete")
	a.Send("set vlans a vlan-id 10\n")
	a.Expect("ward@ex-access-1# ")
	a.Send("commit\n")
	if out := a.Expect("ward@ex-access-1# "); !strings.Contains(out, "error: configuration check-out failed") {
		t.Fatalf("stale private commit answered %q", out)
	}
	if f.Running() != "set vlans b vlan-id 20" {
		t.Fatalf("running: %s", f.Running())
	}
}

func TestFailCommandAndPublicKeyLogin(t *testing.T) {
	sshPub, keyPEM := clifake.ClientKey(t)
	f := Start(t, Options{AuthorizedKeys: []gossh.PublicKey{sshPub}})
	// A statement the grammar accepts, refused as the device would refuse a
	// statement its release does not know.
	line := "set vlans v210 vlan-id 210"
	f.FailCommand(line, strings.Repeat(" ", 18+4)+"^\nsyntax error.")

	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := clifake.Scrapli(t, "juniper_junos", f.Addr(), f.KnownHosts(t),
		options.WithAuthUsername("ward"),
		options.WithAuthPrivateKey(keyFile, ""),
	)
	if err != nil {
		t.Fatalf("public-key login: %v", err)
	}
	defer d.Close()
	r, err := d.SendConfig(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed == nil || !strings.Contains(r.Result, "syntax error.") {
		t.Fatalf("failed command: %q (failed %v)", r.Result, r.Failed)
	}
	r, _ = d.SendConfig("show | display set")
	if configOutput(r.Result) != "" {
		t.Fatalf("the failed command changed the candidate: %q", r.Result)
	}
	d.SendConfig("rollback 0")
}

// A host key that is not the pinned one is refused.
func TestWrongHostKeyRefused(t *testing.T) {
	f := Start(t, Options{Password: testPassword})
	other := Start(t, Options{Password: testPassword})
	host, portStr, _ := net.SplitHostPort(f.Addr())
	// known_hosts of the other fake, rewritten to this fake's address.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := "[" + host + "]:" + portStr + " " + string(gossh.MarshalAuthorizedKey(other.HostKey()))
	os.WriteFile(kh, []byte(line), 0o600)
	if _, err := clifake.Scrapli(t, "juniper_junos", f.Addr(), kh,
		options.WithAuthUsername("ward"), options.WithAuthPassword(testPassword),
		options.WithTimeoutOps(3*time.Second)); err == nil {
		t.Fatal("logged in although the host key is not the pinned one")
	}
	if len(f.Log()) != 0 {
		t.Fatalf("lines reached the device: %q", f.Log())
	}
}

func TestLoadMergeAndOverrideTerminal(t *testing.T) {
	f := Start(t, Options{Password: testPassword, Running: []string{"set vlans a vlan-id 10"}})
	sh := shell(t, f)
	sh.Send("configure exclusive\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("load merge terminal\n")
	sh.Expect("[Type ^D at a new line to end input]")
	sh.Send(`policy-options {
    prefix-list pumps {
        10.61.210.0/24;
    }
}
firewall {
    family inet {
        filter zone-pumps {
            term t1 {
                from {
                    source-prefix-list {
                        pumps;
                    }
                    protocol tcp;
                    destination-port [ 443 8443 ];
                }
                then accept;
            }
        }
    }
}
` + "\x04")
	if out := sh.Expect("ward@ex-access-1# "); !strings.Contains(out, "load complete") {
		t.Fatalf("load merge answered %q", out)
	}
	sh.Send("show | display set\n")
	got := strings.ReplaceAll(sh.Expect("ward@ex-access-1# "), "\r", "")
	want := `set vlans a vlan-id 10
set policy-options prefix-list pumps 10.61.210.0/24
set firewall family inet filter zone-pumps term t1 from source-prefix-list pumps
set firewall family inet filter zone-pumps term t1 from protocol tcp
set firewall family inet filter zone-pumps term t1 from destination-port 443
set firewall family inet filter zone-pumps term t1 from destination-port 8443
set firewall family inet filter zone-pumps term t1 then accept
`
	if !strings.Contains(got, want) {
		t.Fatalf("candidate after load merge:\n%s\nwant\n%s", got, want)
	}
	// A refused statement is reported; unbalanced braces load nothing.
	sh.Send("load override terminal\n")
	sh.Expect("[Type ^D at a new line to end input]")
	sh.Send("vlans {\n    b {\n        vlan-id 5000;\n    }\n}\n\x04")
	if out := sh.Expect("ward@ex-access-1# "); !strings.Contains(out, "load complete (1 errors)") {
		t.Fatalf("bad load answered %q", out)
	}
	sh.Send("load merge terminal\n")
	sh.Expect("[Type ^D at a new line to end input]")
	sh.Send("vlans {\n    c {\n        vlan-id 30;\n    }\n\x04")
	if out := sh.Expect("ward@ex-access-1# "); !strings.Contains(out, "load complete (1 errors)") {
		t.Fatalf("unbalanced load answered %q", out)
	}
	sh.Send("show | display set\n")
	if out := sh.Expect("ward@ex-access-1# "); strings.Contains(out, "vlans c") {
		t.Fatalf("unbalanced braces loaded something: %q", out)
	}
	sh.Send("load override terminal\n")
	sh.Expect("[Type ^D at a new line to end input]")
	sh.Send("vlans {\n    b {\n        vlan-id 20;\n    }\n}\n\x04")
	sh.Expect("load complete")
	sh.Send("commit\n")
	sh.Expect("commit complete")
	if f.Running() != "set vlans b vlan-id 20" {
		t.Fatalf("running after load override: %q", f.Running())
	}
}

func TestShowConfigurationAsTheDevicePrintsIt(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC))
	f := Start(t, Options{Password: testPassword, Clock: clock, Version: "21.4R3-S5.4", Running: []string{
		"set policy-options prefix-list pumps 10.61.210.0/24",
		"set firewall family inet filter zone-pumps term t1 from source-prefix-list pumps",
		"set firewall family inet filter zone-pumps term t1 from protocol tcp",
		"set firewall family inet filter zone-pumps term t1 from destination-port 443",
		"set firewall family inet filter zone-pumps term t1 from destination-port 8443",
		"set firewall family inet filter zone-pumps term t1 then count pumps-https",
		"set firewall family inet filter zone-pumps term t1 then accept",
		"set interfaces irb unit 210 family inet filter input zone-pumps",
	}})
	sh := shell(t, f)
	sh.Send("set cli screen-length 0\n")
	sh.Expect("ward@ex-access-1> ")
	clock.Advance(time.Hour)
	sh.Send("configure\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("set vlans v210 vlan-id 210\n")
	sh.Expect("ward@ex-access-1# ")
	sh.Send("commit\n")
	sh.Expect("commit complete")
	sh.Send("exit\n")
	sh.Expect("ward@ex-access-1> ")
	sh.Send("show configuration\n")
	got := strings.ReplaceAll(sh.Expect("ward@ex-access-1> "), "\r", "")
	want := `## Last commit: 2026-03-01 09:30:00 UTC by ward
version 21.4R3-S5.4;
policy-options {
    prefix-list pumps {
        10.61.210.0/24;
    }
}
firewall {
    family inet {
        filter zone-pumps {
            term t1 {
                from {
                    source-prefix-list {
                        pumps;
                    }
                    protocol tcp;
                    destination-port [ 443 8443 ];
                }
                then {
                    count pumps-https;
                    accept;
                }
            }
        }
    }
}
interfaces {
    irb {
        unit 210 {
            family inet {
                filter {
                    input zone-pumps;
                }
            }
        }
    }
}
vlans {
    v210 {
        vlan-id 210;
    }
}
`
	if !strings.Contains(got, want) {
		t.Fatalf("show configuration:\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(f.Running(), "set version 21.4R3-S5.4\nset policy-options prefix-list pumps 10.61.210.0/24\n") {
		t.Fatalf("Running: %s", f.Running())
	}
}
