package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/plan"
)

// renderWorkspace copies the example policy with targets of its own (written
// by targets) that all point at l, with no credentials and a known_hosts
// file that does not exist: rendering needs neither. It imports the example
// inventory, plus the rows of extraCSV (without header) when not empty.
func renderWorkspace(t *testing.T, l *listener, targets func(port int) string, extraCSV string) (pol, db string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(dir, "credentials"))
	pol = filepath.Join(dir, "policy")
	if err := os.Mkdir(pol, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(examplePolicy, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example policy files: %v", err)
	}
	for _, f := range files {
		if filepath.Base(f) == "targets.hcl" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, pol, filepath.Base(f), string(b))
	}
	writeFile(t, pol, "targets.hcl", targets(l.port()))
	db = "sqlite://" + filepath.Join(dir, "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	if extraCSV != "" {
		header, _, _ := strings.Cut(mustRead(t, exampleInventory), "\n")
		csv := writeFile(t, dir, "extra.csv", header+"\n"+extraCSV)
		if code, _, errs := runWard(t, "inventory", "import", csv, "-db", db); code != 0 {
			t.Fatal(errs)
		}
	}
	return pol, db
}

// targetBlock is one target pointing at 127.0.0.1:port.
func targetBlock(name, driver, role string, port int) string {
	return fmt.Sprintf(`target %q {
  driver      = %q
  address     = "127.0.0.1"
  port        = %d
  username    = "ward"
  credential  = %q
  known_hosts = "/nonexistent/ward-render-test/known_hosts"
  role        = %q
}
`, name, driver, port, name, role)
}

// renderableTargets: two firewalls and the lab's access switch, whose port
// column names access-ovs in the example inventory.
func renderableTargets(port int) string {
	return targetBlock("core-fw", "linux_nftables", "firewall", port) +
		targetBlock("edge-fw", "linux_nftables", "firewall", port) +
		targetBlock("access-ovs", "openvswitch", "access_switch", port)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// plannedConfigs runs ward plan -json and returns each target's
// configuration as the plan carries it (what apply would push).
func plannedConfigs(t *testing.T, pol, db string) map[string]string {
	t.Helper()
	code, out, errs := runWard(t, "plan", "-json", "-policy", pol, "-db", db)
	if code != 0 {
		t.Fatalf("ward plan -json: exit %d\n%s", code, errs)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("ward plan -json printed no plan: %v", err)
	}
	configs := map[string]string{}
	for _, tp := range p.Targets {
		if tp.Unavailable != "" {
			t.Fatalf("target %s: %s", tp.Name, tp.Unavailable)
		}
		configs[tp.Name] = tp.Config
	}
	return configs
}

// dirFiles returns the names of the files in dir, dot files included (a
// temporary file left behind is a bug).
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestRenderIsThePlannedConfiguration: ward render prints, and with -o
// writes, byte for byte the configuration ward plan -json carries for each
// target, without a credential, a known_hosts file, or a single connection
// to the port every target names.
func TestRenderIsThePlannedConfiguration(t *testing.T) {
	l := listen(t)
	pol, db := renderWorkspace(t, l, renderableTargets, "")
	want := plannedConfigs(t, pol, db)
	if len(want) != 3 {
		t.Fatalf("the plan has %d targets, want 3: %v", len(want), want)
	}
	// The texts compared are real configurations, not two empty strings.
	for name, marker := range map[string]string{"core-fw": "table inet ward {", "edge-fw": "table inet ward {", "access-ovs": "-- set port p-pump1 tag=210"} {
		if !strings.Contains(want[name], marker) {
			t.Fatalf("planned configuration of %s lacks %q:\n%s", name, marker, want[name])
		}
	}

	for name, cfg := range want {
		code, out, errs := runWard(t, "render", "-policy", pol, "-db", db, "-target", name)
		if code != 0 {
			t.Fatalf("ward render -target %s: exit %d\n%s", name, code, errs)
		}
		if out != cfg {
			t.Errorf("ward render -target %s printed %d bytes that differ from the planned configuration (%d bytes)", name, len(out), len(cfg))
		}
	}

	out := filepath.Join(t.TempDir(), "configs", "new") // created by render
	code, stdout, errs := runWard(t, "render", "-policy", pol, "-db", db, "-o", out)
	if code != 0 {
		t.Fatalf("ward render -o: exit %d\n%s", code, errs)
	}
	if got := dirFiles(t, out); !slices.Equal(got, []string{"access-ovs.cfg", "core-fw.cfg", "edge-fw.cfg"}) {
		t.Fatalf("ward render -o wrote %q, want one .cfg per target and nothing else", got)
	}
	for name, cfg := range want {
		path := filepath.Join(out, name+".cfg")
		if got := mustRead(t, path); got != cfg {
			t.Errorf("%s differs from the planned configuration of %s", path, name)
		}
		if !strings.Contains(stdout, "Wrote "+path) {
			t.Errorf("ward render -o does not say it wrote %s:\n%s", path, stdout)
		}
	}

	// A second run replaces a file edited since, and only the selected one.
	core, edge := filepath.Join(out, "core-fw.cfg"), filepath.Join(out, "edge-fw.cfg")
	os.WriteFile(core, []byte("edited by hand\n"), 0o644)
	os.WriteFile(edge, []byte("edited by hand\n"), 0o644)
	if code, _, errs := runWard(t, "render", "-policy", pol, "-db", db, "-o", out, "-target", "core-fw"); code != 0 {
		t.Fatalf("ward render -o -target core-fw: exit %d\n%s", code, errs)
	}
	if mustRead(t, core) != want["core-fw"] || mustRead(t, edge) != "edited by hand\n" {
		t.Error("ward render -o -target core-fw did not replace exactly core-fw.cfg")
	}

	if n := l.conns.Load(); n != 0 {
		t.Errorf("ward render opened %d connections to the targets' address; it must contact no device", n)
	}
}

// TestRenderUsageErrors: an unknown -target, several targets without -o,
// or a positional argument exit 2 with a message saying what to do, before
// the database is opened.
func TestRenderUsageErrors(t *testing.T) {
	l := listen(t)
	pol, _ := renderWorkspace(t, l, renderableTargets, "")
	db := "sqlite://" + filepath.Join(t.TempDir(), "untouched.db")

	code, out, errs := runWard(t, "render", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "core-fx")
	if code != 2 || out != "" {
		t.Fatalf("unknown target: exit %d, stdout %q; want 2 and nothing", code, out)
	}
	for _, want := range []string{`no target named "core-fx"`, "access-ovs, core-fw, edge-fw"} {
		if !strings.Contains(errs, want) {
			t.Errorf("unknown target: stderr lacks %q:\n%s", want, errs)
		}
	}
	if _, err := os.Stat(strings.TrimPrefix(db, "sqlite://")); !os.IsNotExist(err) {
		t.Errorf("a usage error opened the database (%v)", err)
	}

	code, out, errs = runWard(t, "render", "-policy", pol, "-db", db)
	if code != 2 || out != "" || !strings.Contains(errs, "3 targets to render (access-ovs, core-fw, edge-fw)") || !strings.Contains(errs, "-o DIR") {
		t.Errorf("several targets, no -o: exit %d, stdout %q, stderr %q; want 2 naming the targets and -o", code, out, errs)
	}
	code, out, errs = runWard(t, "render", "-policy", pol, "-db", db, "-target", "edge-fw", "-target", "core-fw")
	if code != 2 || out != "" || !strings.Contains(errs, "2 targets to render (core-fw, edge-fw)") {
		t.Errorf("two targets selected, no -o: exit %d, stdout %q, stderr %q; want 2", code, out, errs)
	}

	code, _, errs = runWard(t, "render", "-policy", pol, "-db", db, "core-fw")
	if code != 2 || !strings.Contains(errs, "-target NAME") {
		t.Errorf("positional argument: exit %d, stderr %q; want 2 pointing at -target", code, errs)
	}
}

// registeredOnly returns the drivers this build registers by name only.
func registeredOnly() []string {
	reg := newRegistry()
	var names []string
	for _, n := range reg.Names() {
		if info, _ := reg.Lookup(n); info.New == nil {
			names = append(names, n)
		}
	}
	return names
}

// TestRenderReportsDriversThatCannotRender: a target whose driver is
// registered by name only is named with its driver; the render fails as a
// whole (exit 1), prints nothing and leaves the output directory as it was,
// and says how to render the other targets.
func TestRenderReportsDriversThatCannotRender(t *testing.T) {
	pending := registeredOnly()
	if len(pending) == 0 {
		t.Skip("every driver of this build renders; none is registered by name only")
	}
	reg := newRegistry()
	l := listen(t)
	pol, db := renderWorkspace(t, l, func(port int) string {
		s := targetBlock("core-fw", "linux_nftables", "firewall", port)
		for _, d := range pending {
			info, _ := reg.Lookup(d)
			s += targetBlock("sw-"+d, d, string(info.Roles[len(info.Roles)-1]), port)
		}
		return s
	}, "")

	out := t.TempDir()
	writeFile(t, out, "core-fw.cfg", "from an earlier render\n")
	code, stdout, errs := runWard(t, "render", "-policy", pol, "-db", db, "-o", out)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing\n%s", code, stdout, errs)
	}
	for _, d := range pending {
		if want := fmt.Sprintf("target sw-%s: driver %s cannot render yet", d, d); !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(errs, "-target core-fw") {
		t.Errorf("stderr does not say how to render the target that can be:\n%s", errs)
	}
	if got := dirFiles(t, out); !slices.Equal(got, []string{"core-fw.cfg"}) || mustRead(t, filepath.Join(out, "core-fw.cfg")) != "from an earlier render\n" {
		t.Errorf("the output directory changed: %q", got)
	}

	// One such target selected: exit 1 too, and nothing printed.
	code, stdout, errs = runWard(t, "render", "-policy", pol, "-db", db, "-target", "sw-"+pending[0])
	if code != 1 || stdout != "" || !strings.Contains(errs, "cannot render yet") {
		t.Errorf("-target sw-%s: exit %d, stdout %q, stderr %q; want 1 and the reason", pending[0], code, stdout, errs)
	}
	// The renderable one still renders alone.
	if code, stdout, errs := runWard(t, "render", "-policy", pol, "-db", db, "-target", "core-fw"); code != 0 || !strings.Contains(stdout, "table inet ward {") {
		t.Errorf("-target core-fw: exit %d\n%s", code, errs)
	}
	if n := l.conns.Load(); n != 0 {
		t.Errorf("ward render opened %d connections; it must contact no device", n)
	}
}

// TestRenderFailureWritesNothing: a target the driver refuses to render (a
// port name the OVS driver will not put on a command line) fails the whole
// run, naming the target and the reason; no file is written or replaced,
// and no temporary file is left behind, though the other targets render.
func TestRenderFailureWritesNothing(t *testing.T) {
	l := listen(t)
	bad := "pump-bad-01,00:1a:2b:3c:4f:01,10.61.210.243,infusion_pump,BD,Alaris 8015,12.1.2,life_critical,main,Network Lab,access-ovs,p pump;9\n"
	pol, db := renderWorkspace(t, l, renderableTargets, bad)

	out := t.TempDir()
	writeFile(t, out, "core-fw.cfg", "from an earlier render\n")
	code, stdout, errs := runWard(t, "render", "-policy", pol, "-db", db, "-o", out)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing\n%s", code, stdout, errs)
	}
	for _, want := range []string{"access-ovs", `"p pump;9"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if got := dirFiles(t, out); !slices.Equal(got, []string{"core-fw.cfg"}) || mustRead(t, filepath.Join(out, "core-fw.cfg")) != "from an earlier render\n" {
		t.Errorf("the output directory changed: %q", got)
	}
	// The control: without the bad target the same run writes.
	if code, _, errs := runWard(t, "render", "-policy", pol, "-db", db, "-o", out, "-target", "core-fw", "-target", "edge-fw"); code != 0 {
		t.Fatalf("the firewalls alone: exit %d\n%s", code, errs)
	}
	if got := dirFiles(t, out); !slices.Equal(got, []string{"core-fw.cfg", "edge-fw.cfg"}) {
		t.Errorf("the firewalls alone wrote %q", got)
	}
}

// TestRenderRefusesABlockedPlan: a policy a guardrail denies is not
// applied, so render prints nothing for it.
func TestRenderRefusesABlockedPlan(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runWard(t, "render", "-policy", "../../examples/hospital/bad-change", "-db", db, "-target", "core-fw")
	if code != 1 || out != "" || !strings.Contains(errs, "guardrail denial") || !strings.Contains(errs, "ward plan") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing printed, the reason", code, out, errs)
	}
}

// TestWriteRenderedAllOrNothing: a target that cannot be written stops the
// run before any file is moved into place, and no temporary file is left;
// a failure while moving files into place says which were written.
func TestWriteRenderedAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.cfg", "old a\n")
	_, err := writeRendered(dir, []plan.TargetPlan{{Name: "a", Config: "new a\n"}, {Name: "../b", Config: "b\n"}})
	if err == nil || !strings.Contains(err.Error(), `"../b"`) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("a name outside the directory: err %v", err)
	}
	if got := dirFiles(t, dir); !slices.Equal(got, []string{"a.cfg"}) || mustRead(t, filepath.Join(dir, "a.cfg")) != "old a\n" {
		t.Errorf("after a refused name the directory holds %q", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "b.cfg")); err == nil {
		t.Error("a file was written outside the directory")
	}

	// A directory where c.cfg should go: a and b are in place, c is not.
	if err := os.Mkdir(filepath.Join(dir, "c.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "c.cfg"), "keep", "")
	_, err = writeRendered(dir, []plan.TargetPlan{{Name: "a", Config: "new a\n"}, {Name: "b", Config: "b\n"}, {Name: "c", Config: "c\n"}})
	if err == nil || !strings.Contains(err.Error(), "target c") || !strings.Contains(err.Error(), "only these were written: "+filepath.Join(dir, "a.cfg")+", "+filepath.Join(dir, "b.cfg")) {
		t.Fatalf("rename onto a directory: err %v", err)
	}
	if got := dirFiles(t, dir); !slices.Equal(got, []string{"a.cfg", "b.cfg", "c.cfg"}) {
		t.Errorf("temporary files left behind: %q", got)
	}
	if mustRead(t, filepath.Join(dir, "a.cfg")) != "new a\n" {
		t.Error("a.cfg was not replaced")
	}
}
