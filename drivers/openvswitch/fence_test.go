package openvswitch

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/localsession"
)

func TestFencingConformance(t *testing.T) {
	br, p := bridge(t)
	s := localsession.New(localsession.Options{MaxLine: 4096})
	d := New(Options{Bridge: br, Timeout: 2 * time.Second})
	first := mustRender(t, d, ward(p[0], p[1], p[2]))
	second := mustRender(t, d, other(p[0], p[2]))
	drivertest.TestFencing(t, d, s, drivertest.FenceCase{First: first, Second: second, QuarantinePort: p[0], VLAN: 999})
}

// raceSession sets the switch's token to theirs, from database db, just
// before the first command that commits (not a dry run), the way a holder
// that took the target over meanwhile would.
type raceSession struct {
	drivers.Session
	t      *testing.T
	br     string
	theirs int64
	db     string
	done   bool
}

func (r *raceSession) Run(ctx context.Context, command string) (string, error) {
	if !r.done && strings.Contains(command, "wait-until") && !strings.Contains(command, "--dry-run") {
		r.done = true
		if out, err := exec.Command("ovs-vsctl", "--timeout=30", "set", "bridge", r.br, "external_ids:ward-fence="+strconv.FormatInt(r.theirs, 10), "external_ids:ward-fence-db="+ovsString(r.db)).CombinedOutput(); err != nil {
			r.t.Errorf("moving the token: %v: %s", err, out)
		}
	}
	return r.Session.Run(ctx, command)
}

// TestFenceMovedDuringPush: a token moved past the push's after the driver
// read it makes ovs-vsctl commit nothing, and the push fails with
// ErrFenced; on a switch that never saw a token, too.
func TestFenceMovedDuringPush(t *testing.T) {
	br, p := bridge(t)
	ctx := t.Context()
	d := New(Options{Bridge: br, Timeout: 2 * time.Second})
	s := localsession.New(localsession.Options{MaxLine: 4096})
	first := mustRender(t, d, ward(p[0], p[1], p[2]))
	second := mustRender(t, d, other(p[0], p[2]))
	if err := d.Apply(ctx, s, first); err != nil {
		t.Fatal(err)
	}
	apply := func(ctx context.Context, s drivers.Session) error { return d.Apply(ctx, s, second) }
	cases := []struct {
		name    string
		prime   int64 // the token set before the push; 0: none
		theirDB string
		push    func(ctx context.Context, s drivers.Session) error
	}{
		{"apply-fresh-switch", 0, "", apply},
		{"apply", 10, "", apply},
		{"set-port-vlan", 20, "", func(ctx context.Context, s drivers.Session) error {
			return d.(drivers.VLANSetter).SetPortVLAN(ctx, s, p[0], 999)
		}},
		// Another database resets the fence meanwhile: its token is
		// not comparable with ours, but the push still commits nothing.
		{"apply-reset-by-another-database", 30, "db-other", apply},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prime > 0 {
				if err := d.Apply(drivers.WithFence(ctx, "sw", tc.prime), s, first); err != nil {
					t.Fatal(err)
				}
			}
			before, err := d.Running(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			tags, _ := exec.Command("ovs-vsctl", "--timeout=30", "get", "port", p[0], "tag").CombinedOutput()
			mine, theirs := tc.prime+1, tc.prime+2
			err = tc.push(drivers.WithFence(ctx, "sw", mine), &raceSession{Session: s, t: t, br: br, theirs: theirs, db: tc.theirDB})
			var fe *drivers.FencedError
			if tc.theirDB != "" {
				if err == nil {
					t.Fatalf("push committed although another database reset the fence after it was read")
				}
			} else if !errors.As(err, &fe) || fe.Mine != mine || fe.Seen != theirs {
				t.Fatalf("push with token %d after the switch saw %d: %v, want a FencedError naming both", mine, theirs, err)
			}
			after, err := d.Running(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if after.Text != before.Text {
				t.Fatalf("the refused push changed the ports:\n%s", drivertest.Diff(before.Text, after.Text))
			}
			if tags2, _ := exec.Command("ovs-vsctl", "--timeout=30", "get", "port", p[0], "tag").CombinedOutput(); string(tags2) != string(tags) {
				t.Fatalf("the refused push moved port %s from %s to %s", p[0], tags, tags2)
			}
		})
	}
}

// TestFenceLegacySwitch: a switch fenced before database ids existed
// (ward-fence without ward-fence-db) is reset by the first push, which
// reports it and leaves both keys the push's; the same database's older
// token is refused after.
func TestFenceLegacySwitch(t *testing.T) {
	br, p := bridge(t)
	ctx := t.Context()
	d := New(Options{Bridge: br, Timeout: 2 * time.Second})
	s := localsession.New(localsession.Options{MaxLine: 4096})
	cfg := mustRender(t, d, ward(p[0], p[1], p[2]))
	if out, err := exec.Command("ovs-vsctl", "--timeout=30", "set", "bridge", br, "external_ids:ward-fence=7").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var resets []drivers.FenceReset
	ctx = drivers.OnFenceReset(ctx, func(r drivers.FenceReset) { resets = append(resets, r) })
	if err := d.Apply(drivers.WithFenceDomain(ctx, "sw", "db-a", 2), s, cfg); err != nil {
		t.Fatalf("first push from a database to a legacy switch: %v, want the fence reset", err)
	}
	if len(resets) != 1 || resets[0].Seen != 7 || resets[0].SeenDatabase != "" || resets[0].Token != 2 {
		t.Errorf("resets reported: %+v, want one from token 7 of no database to token 2", resets)
	}
	for key, want := range map[string]string{"ward-fence": "2", "ward-fence-db": "db-a"} {
		out, err := exec.Command("ovs-vsctl", "--timeout=30", "get", "bridge", br, "external_ids:"+key).CombinedOutput()
		if got := strings.Trim(strings.TrimSpace(string(out)), `"`); err != nil || got != want {
			t.Errorf("external_ids:%s = %q (%v), want %q", key, out, err, want)
		}
	}
	if err := d.Apply(drivers.WithFenceDomain(ctx, "sw", "db-a", 1), s, cfg); !errors.Is(err, drivers.ErrFenced) {
		t.Errorf("token 1 of db-a after its 2: %v, want drivers.ErrFenced", err)
	}
}
