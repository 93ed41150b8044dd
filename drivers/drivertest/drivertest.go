// Package drivertest is the conformance suite every Ward driver runs against
// a real device (or the real software: nft in a network namespace, Open
// vSwitch with a userspace bridge), in the manner of testing/fstest: one
// entry point, TestDriver, checks everything the drivers.Driver contract
// promises and reports each broken promise with the configurations involved.
//
// The package also holds the helpers such tests share: Unavailable (skip
// when a real part is missing, but fail on CI), Netns (a throwaway network
// namespace) and EnsureOVS (Open vSwitch daemons for tests).
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// Case is one target intent the suite renders and applies.
type Case struct {
	Name   string
	Target *intent.Target
	// Invalid marks an intent the device must refuse on its dry run (for
	// example an access port the switch does not have): Apply must fail
	// with drivers.ErrCheckFailed and change nothing.
	Invalid bool
	// Corrupt, when set, breaks the rendered configuration before it is
	// applied (a rule the device cannot parse); it implies Invalid, and
	// the driver may refuse it before sending anything
	// (drivers.ErrInvalidConfig) or on the device's dry run.
	Corrupt func(drivers.Config) drivers.Config
}

func (c Case) invalid() bool { return c.Invalid || c.Corrupt != nil }

// TestDriver checks that d, driving the device behind s, keeps the Driver
// contract for cases:
//
//   - Running works on the device as found, and twice gives the same text;
//   - Render is deterministic: every case renders the same bytes twice;
//   - for each valid case in order, Apply succeeds and Running then parses
//     to the model of the rendered configuration (drivers.Compare: the
//     device's own spelling and order are its business), so a later case
//     replaces an earlier one
//     (at least two valid cases with different configurations are needed);
//   - applying the same configuration again succeeds and changes nothing;
//   - each invalid case fails with drivers.ErrCheckFailed (a corrupted
//     configuration may also fail with drivers.ErrInvalidConfig) and leaves
//     the running configuration exactly as it was;
//   - text that is no configuration of the driver (shell commands) is
//     refused with drivers.ErrInvalidConfig before any command is sent;
//   - finally, applying what Running returned before the suite restores it
//     (the rollback Ward's plan relies on).
//
// The device ends as it was found. TestDriver changes the device, so s must
// reach a device (or namespace, or bridge) that belongs to the test.
func TestDriver(t *testing.T, d drivers.Driver, s drivers.Session, cases []Case) {
	t.Helper()
	TestDriverWith(t, d, s, cases, Options{})
}

// Options give the suite what it needs to test a driver's optional
// capabilities (capabilities.go).
type Options struct {
	// Advance makes time pass on the device by at least d (a fake's
	// clock; on a real device, a sleep): the commit-confirm case waits
	// out the device's timer with it. Required with a CommitConfirmer.
	Advance func(d time.Duration)
	// QuarantineAddr is an address the quarantine cases put in the
	// quarantine sets (required with a SetUpdater); QuarantinePort an
	// access port of the last valid case moved to the quarantine VLAN
	// (required with a VLANSetter).
	QuarantineAddr string
	QuarantinePort string
	// Overflow is an intent that exceeds the driver's capacity for its
	// Model (required with a CapacityChecker).
	Overflow *intent.Target
}

// TestDriverWith is TestDriver, then every optional capability d
// declares, on the device left running the last valid case:
//
//   - Parse reads each rendered configuration, and the model it gives
//     renders and parses back to the same enforcement (a fixed point);
//   - SetUpdater with QuarantineReader: adding QuarantineAddr to each
//     quarantine set shows it in ReadQuarantine, is no drift (Compare),
//     survives an Apply of the same configuration, and removing it
//     leaves the sets as before;
//   - VLANSetter: QuarantinePort moved to the quarantine VLAN is read back
//     with its home VLAN, is no drift, survives an Apply, and moving it home
//     restores it;
//   - Checkpointer: a checkpoint, an Apply of another case, a Rollback:
//     the checkpointed configuration runs again;
//   - ConfigSessioner: a staged configuration changes nothing until
//     Commit; an aborted one never does;
//   - CommitConfirmer: a confirmed change stays past the timer; an
//     unconfirmed one is rolled back by the device itself once the timer
//     has passed;
//   - CapacityChecker: no valid case overflows, Overflow does, and every
//     overflow names its source.
func TestDriverWith(t *testing.T, d drivers.Driver, s drivers.Session, cases []Case, o Options) {
	t.Helper()
	ctx := t.Context()

	var valid, invalid []Case
	for _, c := range cases {
		if c.invalid() {
			invalid = append(invalid, c)
		} else {
			valid = append(valid, c)
		}
	}
	if len(valid) < 2 {
		t.Errorf("drivertest: %d valid cases; give at least two with different configurations, so that replacing one by another is tested", len(valid))
	}

	before, err := d.Running(ctx, s)
	if err != nil {
		t.Fatalf("Running on the device as found: %v", err)
	}
	if again, err := d.Running(ctx, s); err != nil || again != before {
		t.Fatalf("Running twice on an unchanged device: second read %s", describe(before, again, err))
	}
	t.Cleanup(func() {
		// Leave the device as found even when a check failed half-way.
		if err := d.Apply(context.WithoutCancel(ctx), s, before); err != nil {
			t.Errorf("restoring the configuration found before the suite: %v", err)
		}
	})

	rendered := map[string]drivers.Config{}
	for _, c := range cases {
		t.Run("render/"+c.Name, func(t *testing.T) {
			first, err := d.Render(c.Target)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			second, err := d.Render(c.Target)
			if err != nil {
				t.Fatalf("second Render: %v", err)
			}
			if first != second {
				t.Fatalf("Render is not deterministic; the second render differs from the first:\n%s", Diff(first.Text, second.Text))
			}
			if !c.invalid() {
				checkParse(t, d, first)
			}
			if c.Corrupt != nil {
				first = c.Corrupt(first)
			}
			rendered[c.Name] = first
		})
	}

	applied := true
	var last *Case
	for i := range valid {
		c := valid[i]
		cfg, ok := rendered[c.Name]
		if !ok {
			applied = false
			continue
		}
		applied = t.Run("apply/"+c.Name, func(t *testing.T) {
			if last != nil && rendered[last.Name] == cfg {
				t.Errorf("case %q renders the same configuration as case %q before it, so replacing one by the other is not tested; make the intents differ", c.Name, last.Name)
			}
			if err := d.Apply(ctx, s, cfg); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			checkRunning(t, d, s, cfg, "after Apply, Running differs from the applied configuration (-applied +running)")
			if err := d.Apply(ctx, s, cfg); err != nil {
				t.Fatalf("Apply of the configuration already running (must be idempotent): %v", err)
			}
			checkRunning(t, d, s, cfg, "after applying the running configuration again, Running changed (-applied +running)")
		}) && applied
		last = &c
	}

	for _, c := range invalid {
		cfg, ok := rendered[c.Name]
		if !ok || !applied {
			continue // the device is not in a state the check can reason about
		}
		t.Run("invalid/"+c.Name, func(t *testing.T) {
			prev, err := d.Running(ctx, s)
			if err != nil {
				t.Fatalf("Running before the invalid Apply: %v", err)
			}
			err = d.Apply(ctx, s, cfg)
			switch {
			case err == nil:
				t.Errorf("Apply of an invalid configuration succeeded, want an error wrapping drivers.ErrCheckFailed; configuration:\n%s", clip(cfg.Text))
			case errors.Is(err, drivers.ErrInvalidConfig) && c.Corrupt != nil:
				// Refused before anything was sent: the best outcome.
			case !errors.Is(err, drivers.ErrCheckFailed):
				t.Errorf("Apply of an invalid configuration: err = %v; want it to wrap drivers.ErrCheckFailed (refused on the dry run, nothing changed) or, for a corrupted configuration, drivers.ErrInvalidConfig (refused before sending it)", err)
			}
			checkRunning(t, d, s, prev, "an invalid configuration changed the running configuration (-before +after)")
		})
	}

	t.Run("unparsed-never-sent", func(t *testing.T) {
		// Text that is no configuration of the driver, shell commands in
		// it, is refused before a single command reaches the device.
		for _, text := range []string{"; touch /tmp/ward-pwned\n", "$(touch /tmp/ward-pwned)\n", "`touch /tmp/ward-pwned`\n"} {
			rec := &Recorder{Session: s}
			err := d.Apply(ctx, rec, drivers.Config{Text: text})
			if !errors.Is(err, drivers.ErrInvalidConfig) {
				t.Errorf("Apply of %q: err = %v; want drivers.ErrInvalidConfig (refused before sending anything)", text, err)
			}
			if len(rec.Commands) > 0 {
				t.Errorf("Apply of %q sent %d commands before refusing it, first %q", text, len(rec.Commands), rec.Commands[0])
			}
		}
	})

	if applied && len(valid) >= 2 {
		last, other := valid[len(valid)-1], valid[len(valid)-2]
		c := capabilities{d: d, s: s, o: o, last: last, cfg: rendered[last.Name], other: rendered[other.Name]}
		c.run(t, valid, rendered)
	}

	t.Run("restore", func(t *testing.T) {
		if err := d.Apply(ctx, s, before); err != nil {
			t.Fatalf("Apply of the configuration Running returned before the suite (rollback): %v", err)
		}
		checkRunning(t, d, s, before, "after applying the configuration found before the suite, Running differs from it (-before +running)")
	})
}

// Recorder is a session that remembers the commands it is asked to run
// and passes them to Session; with no Session it runs none and fails each
// (for tests that a driver sends nothing).
type Recorder struct {
	Session  drivers.Session
	Commands []string
}

// Run records command and runs it on r.Session, if any.
func (r *Recorder) Run(ctx context.Context, command string) (string, error) {
	r.Commands = append(r.Commands, command)
	if r.Session == nil {
		return "", errors.New("recorder: no device")
	}
	return r.Session.Run(ctx, command)
}

// Close closes r.Session, if any.
func (r *Recorder) Close() error {
	if r.Session == nil {
		return nil
	}
	return r.Session.Close()
}

func checkRunning(t *testing.T, d drivers.Driver, s drivers.Session, want drivers.Config, what string) {
	t.Helper()
	got, err := d.Running(t.Context(), s)
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	same, diff, err := drivers.Compare(d, want, got)
	switch {
	case err != nil:
		t.Errorf("%s: comparing the models: %v\nrunning:\n%s", what, err, clip(got.Text))
	case !same:
		t.Errorf("%s (models differ):\n%s\ntext:\n%s", what, diff, Diff(want.Text, got.Text))
	}
}

func describe(want, got drivers.Config, err error) string {
	if err != nil {
		return fmt.Sprintf("failed: %v", err)
	}
	return "differs from the first (-first +second):\n" + Diff(want.Text, got.Text)
}

func clip(s string) string {
	const max = 4000
	if len(s) > max {
		return s[:max] + fmt.Sprintf("\n… (%d more bytes)", len(s)-max)
	}
	return s
}

// Diff returns a line diff of want and got: lines only in want start with
// "-", lines only in got with "+", and runs of common lines are cut to
// the two lines of context either side of a change.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := splitLines(want), splitLines(got)
	// Common prefix and suffix first: configurations differ in few lines.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	mid := lcsDiff(a[pre:len(a)-suf], b[pre:len(b)-suf])
	var ops []diffLine
	for _, l := range a[:pre] {
		ops = append(ops, diffLine{' ', l})
	}
	ops = append(ops, mid...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, diffLine{' ', l})
	}

	const context = 2
	var out strings.Builder
	skipped := 0
	for i, op := range ops {
		near := false
		for j := max(0, i-context); j <= min(len(ops)-1, i+context); j++ {
			if ops[j].op != ' ' {
				near = true
				break
			}
		}
		if !near {
			skipped++
			continue
		}
		if skipped > 0 {
			fmt.Fprintf(&out, "  … %d unchanged lines\n", skipped)
			skipped = 0
		}
		fmt.Fprintf(&out, "%c %s\n", op.op, op.text)
	}
	if skipped > 0 {
		fmt.Fprintf(&out, "  … %d unchanged lines\n", skipped)
	}
	return out.String()
}

type diffLine struct {
	op   byte // ' ', '-' or '+'
	text string
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lcsDiff diffs a and b by their longest common subsequence; past a size
// where that costs too much it shows all of a removed and all of b added.
func lcsDiff(a, b []string) []diffLine {
	var out []diffLine
	if len(a)*len(b) > 4_000_000 {
		for _, l := range a {
			out = append(out, diffLine{'-', l})
		}
		for _, l := range b {
			out = append(out, diffLine{'+', l})
		}
		return out
	}
	// lcs[i][j]: the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, diffLine{'-', a[i]})
			i++
		default:
			out = append(out, diffLine{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, diffLine{'-', a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, diffLine{'+', b[j]})
	}
	return out
}
