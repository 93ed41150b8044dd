package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/policy"
)

// runRender prints or writes each target's configuration in its own syntax:
// the TargetPlan.Config of the plan ward plan makes (plan.Build with the
// store and the drivers), so what a change board reviews is byte for byte
// the desired state apply would push. It has no dialer: nothing is read
// from or sent to a device, and no credential is needed.
//
// Exit status: 0 rendered; 1 the policy or inventory has errors, the plan
// is blocked, a target failed to render, a selected target's driver cannot
// render yet, or a file could not be written (nothing is printed or written
// then); 2 a usage error (an unknown -target, several targets and no -o).
func runRender(c *cli, args []string) int {
	cl := c.command("render", "[-policy DIR] [-target NAME]... [-o DIR] [-db URL]")
	dir := cl.String("policy", "./policy", "directory holding the policy")
	outDir := cl.String("o", "", "write each target's configuration to `DIR`/TARGET.cfg (created if missing) instead of stdout")
	var only targetList
	cl.Var(&only, "target", "render only this target (repeatable); without -o, exactly one target is printed")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) > 0 {
		fmt.Fprintf(c.stderr, "ward render: unexpected argument %q; select targets with -target NAME\n", pos[0])
		return 2
	}
	cfg, ok := c.planPolicy(*dir)
	if !ok {
		return 1
	}
	if !c.checkRenderTargets(cfg, *dir, only) {
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	p, ok := c.buildPlan(ctx, st, cfg, *dir, only, false)
	if !ok {
		return 1
	}
	if p.Inventory.Devices == 0 {
		fmt.Fprintln(c.stderr, "Note: the inventory is empty, so no device is placed and the configurations hold no device. Import one with ward inventory import FILE.")
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(c.stderr, "Warning: %s\n", w)
	}
	if p.Blocked {
		fmt.Fprintf(c.stderr, "ward render: the plan is blocked (%s), so apply would push nothing and nothing is rendered; run ward plan -policy %s for the details.\n",
			strings.Join(p.Reasons, "; "), *dir)
		return 1
	}
	if len(p.Targets) == 0 {
		fmt.Fprintf(c.stderr, "ward render: the policy in %s declares no target; add a target block to render its configuration.\n", *dir)
		return 1
	}
	if !c.allRenderable(p.Targets) {
		return 1
	}
	if *outDir == "" {
		if len(p.Targets) > 1 {
			fmt.Fprintf(c.stderr, "ward render: %s to render (%s); print one with -target NAME, or write them all with -o DIR\n",
				plural(len(p.Targets), "target"), strings.Join(renderTargetNames(p.Targets), ", "))
			return 2
		}
		if _, err := fmt.Fprint(c.stdout, p.Targets[0].Config); err != nil {
			fmt.Fprintf(c.stderr, "ward render: writing target %s's configuration to stdout: %v\n", p.Targets[0].Name, err)
			return 1
		}
		return 0
	}
	written, err := writeRendered(*outDir, p.Targets)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward render: %v\n", err)
		return 1
	}
	for i, path := range written {
		tp := p.Targets[i]
		fmt.Fprintf(c.stdout, "Wrote %s (target %s, %s, %s)\n", path, tp.Name, tp.Driver, plural(strings.Count(tp.Config, "\n"), "line"))
	}
	return 0
}

// checkRenderTargets reports -target names the policy does not declare as a
// usage error naming the targets it does, before the store is opened.
func (c *cli) checkRenderTargets(cfg *policy.Config, dir string, only []string) bool {
	var unknown []string
	for _, name := range only {
		if cfg.Targets[name] == nil && !slices.Contains(unknown, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return true
	}
	names := slices.Sorted(maps.Keys(cfg.Targets))
	known := "it declares no target"
	if len(names) > 0 {
		known = "its targets are " + strings.Join(names, ", ")
	}
	fmt.Fprintf(c.stderr, "ward render: the policy in %s has no target named %s; %s\n", dir, renderQuoted(unknown), known)
	return false
}

// allRenderable reports every target whose driver is registered by name
// only (the plan marks it Unavailable and carries no configuration). Such a
// target makes the whole render fail, so that exit status 0 always means
// every selected target was printed or written.
func (c *cli) allRenderable(targets []plan.TargetPlan) bool {
	var ready []string
	failed := false
	for _, tp := range targets {
		if tp.Unavailable == "" {
			ready = append(ready, tp.Name)
			continue
		}
		failed = true
		fmt.Fprintf(c.stderr, "ward render: target %s: driver %s cannot render yet (%s)\n", tp.Name, tp.Driver, tp.Unavailable)
	}
	if !failed {
		return true
	}
	msg := "nothing was rendered"
	if len(ready) > 0 {
		msg += "; render the other targets with -target " + strings.Join(ready, " -target ")
	}
	fmt.Fprintf(c.stderr, "ward render: %s\n", msg)
	return false
}

// writeRendered writes each target's configuration to dir/TARGET.cfg. Every
// file is written in full to a temporary file first, and only when all are
// written are they renamed into place (each rename atomic), so a failure
// leaves no file half written and, before the renames, none replaced. It
// returns the paths written, in the order of targets.
func writeRendered(dir string, targets []plan.TargetPlan) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the output directory: %w", err)
	}
	temps := make([]string, 0, len(targets))
	removeTemps := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, tp := range targets {
		// Target names are HCL identifiers (letters, digits, _ and -), so
		// this never fires for a policy that loaded; it keeps a name from
		// ever reaching outside dir.
		if tp.Name == "" || filepath.Base(tp.Name) != tp.Name || strings.HasPrefix(tp.Name, ".") {
			removeTemps()
			return nil, fmt.Errorf("target %q: the name cannot be a file name; nothing was written", tp.Name)
		}
		tmp, err := writeTemp(dir, tp.Name+".cfg", tp.Config)
		if err != nil {
			removeTemps()
			return nil, fmt.Errorf("target %s: %w; nothing was written to %s", tp.Name, err, dir)
		}
		temps = append(temps, tmp)
	}
	written := make([]string, 0, len(targets))
	for i, tp := range targets {
		path := filepath.Join(dir, tp.Name+".cfg")
		if err := os.Rename(temps[i], path); err != nil {
			for _, t := range temps[i:] {
				os.Remove(t)
			}
			done := "none was written"
			if len(written) > 0 {
				done = "only these were written: " + strings.Join(written, ", ")
			}
			return nil, fmt.Errorf("target %s: moving its configuration into place: %w; %s", tp.Name, err, done)
		}
		written = append(written, path)
	}
	return written, nil
}

// writeTemp writes data to a new temporary file in dir, named after name
// but hidden (a dot file, so a half-done run is not taken for the real
// file), synced and readable by all, and returns its path for the caller to
// rename into place.
func writeTemp(dir, name, data string) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", fmt.Errorf("creating a temporary file: %w", err)
	}
	_, err = f.WriteString(data)
	err = errors.Join(err, f.Chmod(0o644), f.Sync(), f.Close())
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

func renderTargetNames(targets []plan.TargetPlan) []string {
	names := make([]string, len(targets))
	for i, tp := range targets {
		names[i] = tp.Name
	}
	return names
}

// renderQuoted formats names as "a", "b".
func renderQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
