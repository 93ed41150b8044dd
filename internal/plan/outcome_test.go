package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
)

// cutDevice is a fake firewall whose session is cut while it commits: Apply
// returns drivers.ErrOutcomeUnknown after the device did (or did not) take
// the new configuration, as a real nft -f under a dropped SSH connection.
type cutDevice struct {
	mu      sync.Mutex
	running string // what the device runs
	commit  string // "new": takes the pushed config; "old": keeps its own; else runs this text
}

type cutDriver struct{ dev *cutDevice }

func (d cutDriver) Render(t *intent.Target) (drivers.Config, error) { return fakeDriver{}.Render(t) }
func (d cutDriver) Apply(_ context.Context, _ drivers.Session, cfg drivers.Config) error {
	d.dev.mu.Lock()
	defer d.dev.mu.Unlock()
	switch d.dev.commit {
	case "new":
		d.dev.running = cfg.Text
	case "old":
	default:
		d.dev.running = d.dev.commit
	}
	return fmt.Errorf("core-fw: the SSH session was cut while nft -f ran: %w", drivers.ErrOutcomeUnknown)
}
func (d cutDriver) Running(context.Context, drivers.Session) (drivers.Config, error) {
	d.dev.mu.Lock()
	defer d.dev.mu.Unlock()
	return drivers.Config{Text: d.dev.running}, nil
}

// A push cut off while the device commits: Ward reads on a new session which
// table is in force and records exactly that — the new state when the new
// table runs, the old one otherwise — and says so.
func TestCutPushRecordsWhatTheDeviceRuns(t *testing.T) {
	for _, tc := range []struct {
		commit     string
		wantStatus string
		recorded   bool
		wantErr    string
	}{
		{commit: "new", wantStatus: "applied", recorded: true},
		{commit: "old", wantStatus: "failed", wantErr: "previous configuration still in force"},
		{commit: "table inet ward { }\n", wantStatus: "failed", wantErr: "neither the previous nor the new"},
	} {
		t.Run(tc.commit, func(t *testing.T) {
			f := newFixture(t, "../../examples/hospital/policy")
			dev := &cutDevice{commit: tc.commit}
			var reg drivers.Registry
			reg.Register(drivers.Info{Name: "linux_nftables", Roles: []drivers.Role{drivers.RoleFirewall},
				New: func(json.RawMessage) (drivers.Driver, error) { return cutDriver{dev}, nil }})
			fakes := fakeRegistry()
			for _, name := range fakes.Names() {
				if info, _ := fakes.Lookup(name); name != "linux_nftables" {
					reg.Register(info)
				}
			}
			f.reg = &reg
			p := f.plan()
			var fw *TargetPlan
			for i := range p.Targets {
				if p.Targets[i].Driver == "linux_nftables" {
					fw = &p.Targets[i]
				}
			}
			if fw == nil {
				t.Fatal("the example has no linux_nftables target")
			}
			before, err := CurrentBaseHash(context.Background(), f.st, fw.Name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ApplyWith(context.Background(), p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "test", Parallel: 1})
			if err != nil {
				t.Fatal(err)
			}
			var got PushResult
			for _, r := range res {
				if r.Target == fw.Name {
					got = r
				}
			}
			if got.Status != tc.wantStatus || !strings.Contains(got.Error, tc.wantErr) {
				t.Fatalf("result %+v, want status %s and an error with %q", got, tc.wantStatus, tc.wantErr)
			}
			after, err := CurrentBaseHash(context.Background(), f.st, fw.Name)
			if err != nil {
				t.Fatal(err)
			}
			if recorded := after != before; recorded != tc.recorded {
				t.Fatalf("new state recorded = %v, want %v (the device runs %q)", recorded, tc.recorded, tc.commit)
			}
			if !tc.recorded {
				return
			}
			// The next plan starts from what the device runs: nothing to do.
			next := f.plan()
			for _, tp := range next.Targets {
				if tp.Name == fw.Name && tp.Changed {
					t.Errorf("after a cut push that committed, the next plan still changes %s", fw.Name)
				}
			}
		})
	}
}

func (cutDriver) Parse(cfg drivers.Config) (*intent.Target, error) { return fakeDriver{}.Parse(cfg) }
