package iosxefake

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/scrapli/scrapligo/channel"
	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/util"
	"github.com/wardnet/ward/drivers/clifake"
)

// dial opens a scrapligo network driver on the fake with scrapligo's own
// cisco_iosxe platform definition (prompts, privilege levels, on-open
// commands, failure patterns), the standard transport and the host key
// pinned in a known_hosts file.
func dial(t *testing.T, f *Fake, extra ...util.Option) *network.Driver {
	t.Helper()
	opts := append([]util.Option{
		options.WithAuthUsername("ward"),
		options.WithAuthPassword("ward"),
		options.WithAuthSecondary("enable"),
	}, extra...)
	d, err := clifake.Scrapli(t, "cisco_iosxe", f.Addr(), f.WriteKnownHosts(t), opts...)
	if err != nil {
		t.Fatalf("opening a session on the fake: %v", err)
	}
	return d
}

// TestScrapliSession: login at user EXEC, enable with the secret, the
// on-open terminal commands, config lines in three sub-modes, and the
// change read back from show running-config.
func TestScrapliSession(t *testing.T) {
	f := Start(t, Options{})
	d := dial(t, f)

	r, err := d.SendConfigs([]string{
		"object-group network PUMPS",
		" host 10.61.210.11",
		" 10.61.211.0 255.255.255.0",
		"ip access-list extended WARD-PUMPS-1",
		" permit tcp object-group PUMPS host 10.10.0.5 eq 443",
		" permit tcp any eq 443 object-group PUMPS established",
		" deny ip any any log",
		"interface Vlan210",
		" ip access-group WARD-PUMPS-1 in",
		"interface Gi1/0/5",
		" switchport mode access",
		" switchport access vlan 210",
	})
	if err != nil || r.Failed != nil {
		t.Fatalf("config lines failed: %v %v", err, r.Failed)
	}
	if d.CurrentPriv != "configuration" {
		t.Fatalf("after SendConfigs the driver is at %q, want configuration", d.CurrentPriv)
	}
	show, err := d.SendCommand("show running-config")
	if err != nil {
		t.Fatal(err)
	}
	// Written by hand from the object-group and ACL guides' show
	// running-config examples: sub-mode lines indented one space, ACL
	// entries numbered from 10 in steps of 10, Gi1/0/5 spelled out.
	for _, want := range []string{
		"object-group network PUMPS\n host 10.61.210.11\n 10.61.211.0 255.255.255.0\n!",
		"interface GigabitEthernet1/0/5\n switchport access vlan 210\n switchport mode access\n!",
		"interface Vlan210\n no ip address\n ip access-group WARD-PUMPS-1 in\n!",
		"ip access-list extended WARD-PUMPS-1\n" +
			" 10 permit tcp object-group PUMPS host 10.10.0.5 eq 443\n" +
			" 20 permit tcp any eq 443 object-group PUMPS established\n" +
			" 30 deny ip any any log\n!",
	} {
		if !strings.Contains(show.Result, want) {
			t.Errorf("show running-config lacks\n%s\n--- got:\n%s", want, show.Result)
		}
	}
	if !strings.Contains(f.Running(), "interface GigabitEthernet1/0/5\n switchport access vlan 210") {
		t.Errorf("Running() disagrees with the session:\n%s", f.Running())
	}
	// The session's on-open commands and the enable reached the device.
	log := strings.Join(f.Log(), "\n")
	for _, want := range []string{"enable", "terminal width 512", "terminal length 0", "configure terminal"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "\nenable\nenable\n") || strings.Contains(log, "\n"+"enable"+"\n"+"enable") {
		t.Errorf("the secret leaked into the log:\n%s", log)
	}
}

// TestScrapliFailures: each of IOS's three error texts comes back as the
// CLI guide prints it, and scrapligo's failed-when-contains patterns mark
// the response failed; the running configuration is unchanged.
func TestScrapliFailures(t *testing.T) {
	f := Start(t, Options{})
	d := dial(t, f)
	before := f.Running()
	cases := []struct {
		line string
		want string
	}{
		// The caret sits under the first character of the offending token,
		// counted from the start of the prompt: "Switch(config)#" is 15
		// characters, "ip access-list extended WARD " 29 more.
		{"ip access-list extended WARD bogus", strings.Repeat(" ", 15+29) + "^\n% Invalid input detected at '^' marker."},
		{"ip access-list", "% Incomplete command."},
		{"i", `% Ambiguous command:  "i"`},
	}
	for _, c := range cases {
		r, err := d.SendConfig(c.line)
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		if r.Failed == nil {
			t.Errorf("%q: scrapligo did not report a failure; output:\n%s", c.line, r.Result)
		}
		if !strings.Contains(r.Result, c.want) {
			t.Errorf("%q: output\n%q\nlacks\n%q", c.line, r.Result, c.want)
		}
	}
	if f.Running() != before {
		t.Errorf("rejected lines changed the configuration:\n%s", f.Running())
	}
}

// TestPaging: with terminal length left at its default of 24, show
// running-config stops after 23 lines at --More--, a space shows the next
// page; after scrapligo's on-open terminal length 0 nothing is paged.
func TestPaging(t *testing.T) {
	f := Start(t, Options{})
	// Without the on-open commands the session keeps the default length.
	d := dial(t, f, options.WithNetworkOnOpen(func(d *network.Driver) error { return d.AcquirePriv("privilege-exec") }))
	more := regexp.MustCompile(` --More-- $`)
	first, err := d.Channel.SendInput("show running-config", opoptions.WithInterimPromptPattern([]*regexp.Regexp{more}))
	if err != nil {
		t.Fatalf("no --More-- stop at terminal length 24: %v", err)
	}
	page := strings.TrimSuffix(string(first), " --More-- ")
	if n := strings.Count(page, "\n"); n != 23 {
		t.Errorf("the first page has %d lines, want 23 (terminal length 24 less the --More-- line):\n%s", n, page)
	}
	if err := d.Channel.Write([]byte(" "), false); err != nil {
		t.Fatal(err)
	}
	var rest []byte
	for !strings.Contains(string(rest), "Switch#") {
		b, err := d.Channel.ReadUntilAnyPrompt(context.Background(), []*regexp.Regexp{more, regexp.MustCompile(`(?m)^Switch#$`)})
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, b...)
		if more.Match(b) {
			d.Channel.Write([]byte(" "), false)
		}
	}
	if !strings.Contains(string(rest), "\nend") {
		t.Errorf("paging with spaces never reached the end of the configuration:\n%s", rest)
	}

	d2 := dial(t, f)
	r, err := d2.SendCommand("show running-config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Result, "--More--") || !strings.HasSuffix(strings.TrimSpace(r.Result), "end") {
		t.Errorf("after terminal length 0 the output is paged or cut:\n%s", r.Result)
	}
}

// TestSaving: copy running-config startup-config asks for the destination
// as IOS does; return saves. write memory saves without asking.
func TestSaving(t *testing.T) {
	f := Start(t, Options{})
	d := dial(t, f)
	d.SendConfigs([]string{"hostname core-1", "end"})
	if strings.Contains(f.Startup(), "hostname core-1") {
		t.Fatal("the startup configuration changed before saving")
	}
	r, err := d.SendInteractive([]*channel.SendInteractiveEvent{
		{ChannelInput: "copy running-config startup-config", ChannelResponse: `Destination filename \[startup-config\]\?`},
		{ChannelInput: "", ChannelResponse: "core-1#"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Result, "Building configuration...\n[OK]") || !strings.Contains(f.Startup(), "hostname core-1") {
		t.Errorf("copy running-config startup-config: %q\nstartup:\n%s", r.Result, f.Startup())
	}
	d.SendConfigs([]string{"hostname core-2", "end"})
	w, err := d.SendCommand("write memory")
	if err != nil || !strings.Contains(w.Result, "[OK]") || !strings.Contains(f.Startup(), "hostname core-2") {
		t.Errorf("write memory: %v %q", err, w.Result)
	}
}
