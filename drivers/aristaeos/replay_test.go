package aristaeos

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/transport"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/aristaeos/eosfake"
	"github.com/wardnet/ward/drivers/netsession"
)

// TestReplayRunning replays a recorded session (scrapligo's file
// transport) through Running and Parse: testdata/running.session was
// recorded from the fake with -update, after applying small(); a session
// captured from a real switch (the device's side only, as scrapligo's
// channel log writes it) can be dropped in beside it as a regression test.
func TestReplayRunning(t *testing.T) {
	d := newDriver(t)
	want := mustRender(t, d, small())
	path := filepath.Join("testdata", "running.session")
	if *update {
		f, s := startFake(t, eosfake.Options{})
		if err := d.Apply(t.Context(), s, want); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		host, _, _ := strings.Cut(f.Addr(), ":")
		p, err := platform.NewPlatform(platformYAML, host,
			options.WithTransportType(transport.StandardTransport), options.WithPort(f.Port()),
			options.WithAuthUsername(testUser), options.WithAuthPassword(testPass),
			options.WithSSHKnownHostsFile(f.KnownHosts(t)), options.WithTimeoutOps(10*time.Second),
			options.WithChannelLog(&log))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := p.GetNetworkDriver()
		if err != nil {
			t.Fatal(err)
		}
		if err := nd.Open(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Running(t.Context(), netsession.Open("recorded", nd)); err != nil {
			t.Fatal(err)
		}
		nd.Close()
		if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := platform.NewPlatform(platformYAML, "replay",
		options.WithTransportType(transport.FileTransport), options.WithFileTransportFile(path),
		options.WithTimeoutOps(10*time.Second), options.WithReadDelay(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := p.GetNetworkDriver()
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Open(); err != nil {
		t.Fatalf("replaying %s: %v", path, err)
	}
	defer nd.Close()
	got, err := d.Running(t.Context(), netsession.Open("replay", nd))
	if err != nil {
		t.Fatalf("Running over the replayed session: %v", err)
	}
	if same, diff, err := drivers.Compare(d, want, got); err != nil || !same {
		t.Errorf("the replayed running configuration does not enforce small(): %v\n%s", err, diff)
	}
	// What Running sent: the session set-up, then one read, nothing that
	// changes the switch.
	var sent []string
	for _, w := range nd.Transport.Impl.(*transport.File).Writes {
		if line := strings.TrimSpace(string(w)); line != "" {
			sent = append(sent, line)
		}
	}
	if want := []string{"enable", "terminal width 32767", "terminal length 0", "show running-config"}; strings.Join(sent, "|") != strings.Join(want, "|") {
		t.Errorf("Running sent %q, want %q", sent, want)
	}
}
