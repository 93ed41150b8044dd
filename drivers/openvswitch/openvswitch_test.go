package openvswitch

import (
	"cmp"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/localsession"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("render differs from %s (-golden +got; go test -update accepts it):\n%s", path, drivertest.Diff(string(want), got))
	}
}

// ward returns a switch intent for ports a, b and c (unsorted, with a
// device name that needs quoting).
func ward(a, b, c string) *intent.Target {
	return &intent.Target{
		Name: "access-1", Driver: Name, Roles: []string{"access_switch"},
		Switch: &intent.Switch{
			QuarantineVLAN: 999,
			Ports: []intent.PortVLAN{
				{Port: b, VLAN: 220, Device: "mon 1 (ICU bed 4)", Zone: "patient_monitors"},
				{Port: a, VLAN: 210, Device: "pump1", Zone: "infusion_pumps"},
				{Port: c, VLAN: 210, Device: "it's-pump2", Zone: "infusion_pumps"},
			},
		},
	}
}

// other is a second intent: a moved port, one port left out, no
// quarantine VLAN.
func other(a, c string) *intent.Target {
	return &intent.Target{
		Name: "access-1", Driver: Name, Roles: []string{"access_switch"},
		Switch: &intent.Switch{Ports: []intent.PortVLAN{
			{Port: a, VLAN: 211, Device: "pump1", Zone: "infusion_pumps_icu"},
			{Port: c, VLAN: 230, Device: "", Zone: ""},
		}},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, c := range []struct {
		file string
		d    drivers.Driver
	}{
		{"switch.golden", New(Options{})},
		{"bridge.golden", New(Options{Bridge: "ward-br"})},
	} {
		t.Run(c.file, func(t *testing.T) {
			cfg, err := c.d.Render(ward("p-pump1", "p-mon1", "p-pump2"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, cfg.Text)
			st, err := c.d.(*driver).parse(cfg.Text)
			if err != nil {
				t.Fatalf("parsing the rendered configuration: %v", err)
			}
			if again := c.d.(*driver).print(st); again != cfg.Text {
				t.Errorf("parse and print do not round-trip (-rendered +reprinted):\n%s", drivertest.Diff(cfg.Text, again))
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*intent.Switch)
		want   string
	}{
		{"vlan", func(s *intent.Switch) { s.Ports[0].VLAN = 4095 }, `port "p-mon1" (device "mon 1 (ICU bed 4)"): VLAN 4095`},
		{"quarantine vlan", func(s *intent.Switch) { s.QuarantineVLAN = -1 }, "quarantine VLAN -1"},
		{"port name", func(s *intent.Switch) { s.Ports[0].Port = "p 1; reboot" }, `port "p 1; reboot"`},
		{"duplicate", func(s *intent.Switch) { s.Ports[0].Port = "p-pump1" }, `port "p-pump1" is listed twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := ward("p-pump1", "p-mon1", "p-pump2")
			c.change(target.Switch)
			_, err := New(Options{}).Render(target)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Render: err = %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := New(Options{}).Render(&intent.Target{Name: "fw", Firewall: &intent.Firewall{}}); err == nil {
		t.Error("Render of a firewall target succeeded, want an error")
	}
}

// bridge makes a userspace bridge of the test's own with three internal
// ports, and deletes it when the test ends. Other bridges (the lab's
// ward-br) are never touched.
func bridge(t *testing.T) (br string, ports [3]string) {
	t.Helper()
	drivertest.EnsureOVS(t)
	br = drivertest.RandomName("ward-t-", 8)
	stem := drivertest.RandomName("wt", 6)
	args := []string{"--timeout=30", "add-br", br, "--", "set", "bridge", br, "datapath_type=netdev"}
	for i, s := range []string{"a", "b", "c"} {
		ports[i] = stem + s
		args = append(args, "--", "add-port", br, ports[i], "--", "set", "interface", ports[i], "type=internal")
	}
	if out, err := exec.Command("ovs-vsctl", args...).CombinedOutput(); err != nil {
		t.Fatalf("creating bridge %s: %v: %s", br, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ovs-vsctl", "--timeout=30", "--if-exists", "del-br", br).CombinedOutput(); err != nil {
			t.Errorf("deleting bridge %s: %v: %s", br, err, out)
		}
	})
	return br, ports
}

func TestConformance(t *testing.T) {
	t.Run("one-line", func(t *testing.T) { conformance(t, 0) })
	// A transaction longer than a terminal line runs from a script.
	t.Run("chunked", func(t *testing.T) { conformance(t, 200) })
}

func conformance(t *testing.T, chunk int) {
	br, p := bridge(t)
	s := localsession.New(localsession.Options{MaxLine: cmp.Or(chunk, 4096)})
	d := New(Options{Bridge: br, ChunkSize: chunk})
	// The last valid case has a quarantine VLAN, for the VLANSetter case.
	drivertest.TestDriverWith(t, d, s, []drivertest.Case{
		{Name: "moved-and-released", Target: other(p[0], p[2])},
		{Name: "three-ports", Target: ward(p[0], p[1], p[2])},
		{Name: "missing-port", Target: other(p[0], "wtnosuchport"), Invalid: true},
		{Name: "vlan-out-of-range", Target: other(p[0], p[2]), Corrupt: func(c drivers.Config) drivers.Config {
			c.Text = strings.Replace(c.Text, "tag=230", "tag=5000", 1)
			return c
		}},
	}, drivertest.Options{QuarantinePort: p[0]})
}

func TestQuarantineVLAN(t *testing.T) {
	br, p := bridge(t)
	s := localsession.New(localsession.Options{})
	d := New(Options{Bridge: br})
	ctx := t.Context()
	cfg := mustRender(t, d, ward(p[0], p[1], p[2]))
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	tag := func(port string) string {
		t.Helper()
		out, err := s.Run(ctx, "ovs-vsctl get port "+port+" tag")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}

	vs := d.(drivers.VLANSetter)
	if err := vs.SetPortVLAN(ctx, s, p[0], 999); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatalf("Apply with a port in quarantine: %v", err)
	}
	if got := tag(p[0]); got != "999" {
		t.Errorf("after Apply, the quarantined port %s has tag %s, want it kept in 999", p[0], got)
	}
	if got := tag(p[1]); got != "220" {
		t.Errorf("port %s has tag %s, want 220", p[1], got)
	}
	if running, err := d.Running(ctx, s); err != nil || running != cfg {
		t.Errorf("Running with a port in quarantine differs from the applied configuration (quarantine is not drift): %v\n%s", err, drivertest.Diff(cfg.Text, running.Text))
	}
	q, err := d.(drivers.QuarantineReader).ReadQuarantine(ctx, s)
	if err != nil || len(q.Ports) != 1 || q.Ports[p[0]] != 210 {
		t.Errorf("ReadQuarantine = %v, %v; want port %s (home VLAN 210)", q, err, p[0])
	}
	if err := vs.SetPortVLAN(ctx, s, p[0], 210); err != nil {
		t.Fatal(err)
	}
	if running, err := d.Running(ctx, s); err != nil || running != cfg {
		t.Errorf("after the release, Running = %v, %v; want the rendered configuration again", running, err)
	}

	if err := vs.SetPortVLAN(ctx, s, "wtnosuchport", 999); err == nil || !strings.Contains(err.Error(), "not on bridge "+br) {
		t.Errorf("SetPortVLAN of a port off the bridge: err = %v, want one saying it is not on bridge %s", err, br)
	}
	err = d.Apply(ctx, s, drivers.Config{Text: "-- set port " + p[0] + " tag=210 other_config:x=y\n"})
	if !errors.Is(err, drivers.ErrInvalidConfig) {
		t.Errorf("Apply of a configuration Render does not write: err = %v, want drivers.ErrInvalidConfig", err)
	}
}

// TestApplyParsesBeforeSending hands Apply configurations that are not what
// Render writes, shell injection among them: each is refused with
// drivers.ErrInvalidConfig, naming what is wrong, before any command is
// sent; a bridge name with shell characters is refused the same way.
func TestApplyParsesBeforeSending(t *testing.T) {
	d := New(Options{Bridge: "ward-br"})
	good := mustRender(t, d, ward("p1", "p2", "p3"))
	line := "-- set port p1 tag=210 vlan_mode=access external_ids:ward-device=pump1 external_ids:ward-vlan=210 external_ids:ward-zone=infusion_pumps"
	if !strings.Contains(good.Text, line+"\n") {
		t.Fatalf("the rendered configuration has no line %q:\n%s", line, good.Text)
	}
	for _, c := range []struct{ name, text, want string }{
		{"command after a value", strings.Replace(line, "tag=210", "tag=210; rm -rf /", 1), `tag "210;"`},
		{"command in a port name", strings.Replace(line, "port p1", "port 'p1; rm -rf /'", 1), `port "p1; rm -rf /"`},
		{"command substitution", line + " $(reboot)", `"$(reboot)": want column=value`},
		{"backquotes in a name", strings.Replace(line, "port p1", "port p`reboot`", 1), "port \"p`reboot`\""},
		{"operation Ward does not write", "-- del-br ward-br", "want -- set port NAME"},
		{"another column", line + " other_config:x=y", "Ward sets only"},
		{"VLAN over 4094", strings.Replace(line, "tag=210", "tag=5000", 1), "VLAN 5000: want 1 to 4094"},
		{"VLAN 0 as a home", strings.Replace(line, "ward-vlan=210", "ward-vlan=0", 1), "not a VLAN"},
		{"negative VLAN", strings.Replace(line, "tag=210", "tag=-1", 1), "VLAN -1"},
		{"trunk", strings.Replace(line, "vlan_mode=access", "vlan_mode=trunk", 1), `vlan_mode "trunk"`},
		{"port twice", line + "\n" + line, "set twice"},
		{"quarantine VLAN of another record", "-- set bridge other-br external_ids:ward-quarantine-vlan=999", "want -- set port NAME"},
		{"bad quarantine VLAN", "-- set bridge ward-br external_ids:ward-quarantine-vlan=4095", "ward-quarantine-vlan=VLAN"},
		{"unterminated quote", "-- set port 'p1 tag=210", "unterminated quote"},
		{"garbage", "rm -rf /", "want -- set port NAME"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &drivertest.Recorder{}
			err := d.Apply(t.Context(), r, drivers.Config{Text: c.text + "\n"})
			if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Apply: err = %v; want drivers.ErrInvalidConfig mentioning %q", err, c.want)
			}
			if len(r.Commands) > 0 {
				t.Errorf("Apply sent %d commands before refusing, first %q", len(r.Commands), r.Commands[0])
			}
		})
	}

	for _, bad := range []string{"br0; reboot", "br0 $(reboot)", "-br"} {
		r := &drivertest.Recorder{}
		d := New(Options{Bridge: bad})
		err := d.Apply(t.Context(), r, good)
		if err == nil || !strings.Contains(err.Error(), "bridge") || len(r.Commands) > 0 {
			t.Errorf("bridge %q: Apply err = %v, %d commands sent; want a refusal naming the bridge and none sent", bad, err, len(r.Commands))
		}
		if _, err := d.Running(t.Context(), r); err == nil || len(r.Commands) > 0 {
			t.Errorf("bridge %q: Running err = %v, %d commands sent; want a refusal and none sent", bad, err, len(r.Commands))
		}
	}

	// The rendered configuration does reach the session.
	r := &drivertest.Recorder{}
	d.Apply(t.Context(), r, good)
	if len(r.Commands) == 0 {
		t.Error("Apply of the rendered configuration sent nothing: the recorder sees no commands at all")
	}
}

// mustRender renders tg with d, failing the test on an error.
func mustRender(t testing.TB, d drivers.Driver, tg *intent.Target) drivers.Config {
	t.Helper()
	cfg, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
