package nftables

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/localsession"
	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/drivers/sshsession/sshtest"
)

// stall is how long the wrapper below stalls: longer than the deadline
// TestApplyCutDuringCommit gives Apply.
const (
	stall        = 5 * time.Second
	stallSeconds = "5"
)

// nftWrapper writes a device-side nft that runs the real nft in namespace
// ns and misbehaves as the file named in dir says: "stall-after" sleeps
// once a commit (nft -f, not -c) has succeeded, "stall-before" sleeps
// before running it, "fail-list" makes the read-back (nft list table, not
// -t) fail. It touches dir/committed after a commit.
func nftWrapper(t *testing.T, ns string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "nft")
	script := `#!/bin/sh
dir=` + dir + `
commit=no
if [ "$1" = -f ]; then commit=yes; fi
if [ $commit = yes ] && [ -e $dir/stall-before ]; then sleep ` + stallSeconds + `; fi
if [ "$1 $2" = "list table" ] && [ -e $dir/fail-list ]; then
	echo "Error: simulated failure reading the table" >&2
	exit 1
fi
ip netns exec ` + ns + ` nft "$@"
rc=$?
if [ $commit = yes ] && [ $rc = 0 ]; then
	touch $dir/committed
	if [ -e $dir/stall-after ]; then sleep ` + stallSeconds + `; fi
fi
exit $rc
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// TestApplyCutDuringCommit cuts Apply off while nft -f runs, over a real
// SSH session to a real sshd: the session times out after the commit, the
// connection drops after the commit, the session times out before the
// commit, and the read-back fails after it. After each, the table read on a
// new session is wholly the old one or wholly the new one (drivers.Which
// never says neither), the one the failure implies; Apply's error says the
// outcome is unknown (or, for the read-back, that the new table is in
// force); and the next Apply converges.
func TestApplyCutDuringCommit(t *testing.T) {
	drivertest.NeedRoot(t, "nft in a network namespace, reached over SSH")
	drivertest.NeedCommand(t, "nft", "nftables")
	ns := drivertest.Netns(t)
	local := localsession.New(localsession.Options{Netns: ns})
	nft, dir := nftWrapper(t, ns)
	d := New(Options{Nft: nft, TempDir: t.TempDir()})
	srv := sshtest.Start(t)
	parent := t
	dial := func(t *testing.T) *sshsession.Session {
		t.Helper()
		s, err := sshsession.Dial(context.Background(), sshsession.Target{Name: "core-fw", Address: srv.Host, Port: srv.Port,
			Username: srv.User, KnownHosts: srv.KnownHosts, Timeout: 10 * time.Second}, sshsession.Credential{PrivateKey: srv.ClientKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	configs := make([]drivers.Config, 6)
	for i := range configs {
		var err error
		if configs[i], err = d.Render(variant(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Apply(t.Context(), dial(t), configs[0]); err != nil {
		t.Fatal(err)
	}
	// A quarantined address, which none of this may lose.
	if err := d.(drivers.SetUpdater).AddToSet(t.Context(), local, "quarantine_isolate", []string{"10.61.210.40"}); err != nil {
		t.Fatal(err)
	}

	for i, c := range []struct {
		name, mode string
		cut        bool // drop the connection once committed, instead of a timeout
		want       drivers.Outcome
		wantErr    error
		says       string
	}{
		{"timeout after commit", "stall-after", false, drivers.OutcomeApplied, drivers.ErrOutcomeUnknown, "either the previous table or the new one is in force"},
		{"connection cut after commit", "stall-after", true, drivers.OutcomeApplied, drivers.ErrOutcomeUnknown, "either the previous table or the new one is in force"},
		{"timeout before commit", "stall-before", false, drivers.OutcomePrevious, drivers.ErrOutcomeUnknown, "read it on a new session"},
		{"read-back fails", "fail-list", false, drivers.OutcomeApplied, drivers.ErrNotVerified, "the new table is in force"},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			prev, next := configs[i], configs[i+1]
			os.Remove(filepath.Join(dir, "committed"))
			if err := os.WriteFile(filepath.Join(dir, c.mode), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			s := dial(t)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			if c.cut {
				go func() {
					for ctx.Err() == nil {
						if _, err := os.Stat(filepath.Join(dir, "committed")); err == nil {
							srv.Stop()
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
			}
			err := d.Apply(ctx, s, next)
			os.Remove(filepath.Join(dir, c.mode))
			if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Apply: err = %v; want one wrapping %v that says %q", err, c.wantErr, c.says)
			}
			if c.wantErr == drivers.ErrOutcomeUnknown && !s.Broken() {
				t.Error("the session Apply was cut off on is not marked broken")
			}
			s.Close()
			if c.mode == "stall-before" {
				// The stalled nft dies with its session (the terminal
				// hangs up): it must not commit later, behind the back of
				// whoever reads the device next.
				time.Sleep(stall + time.Second)
				if _, err := os.Stat(filepath.Join(dir, "committed")); err == nil {
					t.Fatal("the nft -f stalled before its commit committed after its session was closed")
				}
			}

			// What runs now, read as Ward would: on a new session.
			got, err := drivers.Which(context.Background(), New(Options{}), local, next, prev)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				running, _ := New(Options{}).Running(context.Background(), local)
				t.Fatalf("after the failure the device runs %q, want %q (never a mix):\n%s", got, c.want, drivertest.Diff(next.Text, running.Text))
			}
			if got := members(t, local, "quarantine_isolate_v4"); strings.Join(got, " ") != "10.61.210.40" {
				t.Errorf("quarantine_isolate_v4 = %v after the failure, want the quarantined address kept", got)
			}

			if c.cut {
				srv = sshtest.Start(parent) // for the cases after this one too
			}
			// The next apply, on a new session, converges.
			if err := d.Apply(t.Context(), dial(t), next); err != nil {
				t.Fatalf("the apply after the failure: %v", err)
			}
			if got, err := drivers.Which(context.Background(), New(Options{}), local, next, prev); err != nil || got != drivers.OutcomeApplied {
				t.Fatalf("after the next apply the device runs %q (%v), want the applied table", got, err)
			}
		})
	}
}
