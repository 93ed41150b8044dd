package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/quarantine"
)

// Lab devices the quarantine tests use (examples/lab, devices.tsv).
const (
	labTV      = "tv-netlab-01" // guest, low: an alert isolates it
	labTVIP    = "10.61.190.241"
	labWS      = "ws-netlab-01"
	labPump    = "pump-netlab-01" // life_critical: an alert restricts it
	labPumpIP  = "10.61.210.241"
	labPumpSrv = "pumpsrv-netlab-01"
	labLIS     = "lis-netlab-01"
	labAn      = "an-netlab-01"
)

// labQuarantineWorkspace is labWorkspace plus two flows that are not
// essential, so a quarantine has something to cut that a probe can see,
// and a short isolate TTL; the policy is applied to the lab.
func labQuarantineWorkspace(t testing.TB) (pol, db string) {
	t.Helper()
	_, pol, db = labWorkspace(t)
	f, err := os.OpenFile(filepath.Join(pol, "lab_quarantine_test.hcl"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `
service "lab_echo" { tcp = [7] }
service "lab_hl7_test" { tcp = [5000] }

flow "lab_workstations_to_guest_echo" {
  from      = zone.clinical_workstations
  to        = zone.guest
  services  = [service.lab_echo]
  essential = false
  reason    = "quarantine tests: a flow to a low-criticality device"
}

flow "lab_pumps_to_lis_test" {
  from      = zone.infusion_pumps
  to        = zone.lis
  services  = [service.lab_hl7_test]
  essential = false
  reason    = "quarantine tests: a pump flow that is not essential"
}
`)
	f.Close()
	editPolicy(t, pol, "quarantine.hcl", func(s string) string {
		return strings.Replace(s, "max_auto_per_hour = 20", "max_auto_per_hour = 20\n  ttl               = { isolate = \"15s\" }", 1)
	})
	code, out, errs := runWard(t, "apply", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs", "-auto-approve")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	return pol, db
}

// labOpen probes one TCP port from a lab device to another.
func labOpen(t testing.TB, from, to string, port int) bool {
	t.Helper()
	devs := map[string]labDevice{}
	for _, d := range labDevices(t) {
		devs[d.name] = d
	}
	src, dst := devs[from], devs[to]
	out, _ := exec.Command("ip", "netns", "exec", src.ns, filepath.Join(labState, "bin/labnet"), "probe", "-timeout", "300ms",
		fmt.Sprintf("tcp:%s:%d", dst.ip, port)).CombinedOutput()
	return strings.HasPrefix(strings.TrimSpace(string(out)), "open")
}

// labServe runs ward serve in-process until stop is called.
type labServe struct {
	url    string
	cancel context.CancelFunc
	done   chan int
	out    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServe(t testing.TB, pol, db string, extra ...string) *labServe {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s := &labServe{url: "http://" + addr, cancel: cancel, done: make(chan int, 1), out: &syncBuffer{}}
	c := &cli{stdin: strings.NewReader(""), stdout: s.out, stderr: s.out, ctx: ctx}
	go func() {
		s.done <- c.run(append([]string{"serve", "-listen", addr, "-policy", pol, "-db", db}, extra...))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-s.done:
			t.Fatalf("ward serve exited %d:\n%s", code, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ward serve not ready after 30 s:\n%s", s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *labServe) stop(t testing.TB) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("ward serve exited %d:\n%s", code, s.out.String())
		}
	case <-time.After(40 * time.Second):
		t.Errorf("ward serve did not stop within 40 s")
	}
}

const labAlertToken = "lab-test-token-0123456789"

func postAlert(t testing.TB, url string, body string) api.AlertsResponse {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/alerts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+labAlertToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out api.AlertsResponse
	if resp.StatusCode != http.StatusAccepted {
		var e api.ErrorBody
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("POST /api/v1/alerts: %d %+v", resp.StatusCode, e)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func genericAlertJSON(id, ip, severity string) string {
	return fmt.Sprintf(`{"source":"suricata","severity":%q,"ip":%q,"mac":null,"signature":"ET TROJAN lab test","id":%q}`, severity, ip, id)
}

// waitFor polls cond every 20 ms until it holds or limit passes, and
// returns how long it took (or -1).
func waitFor(limit time.Duration, cond func() bool) time.Duration {
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return -1
}

func labQuarantines(t testing.TB, pol, db string) []quarantine.Listed {
	t.Helper()
	code, out, errs := runWard(t, "quarantines", "-all", "-json", "-policy", pol, "-db", db)
	var list []quarantine.Listed
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("ward quarantines: exit %d\n%s%s", code, out, errs)
	}
	return list
}

// TestLabQuarantine: alerts posted to ward serve contain devices on the
// lab's real firewall and switch; a life-critical pump keeps its essential
// flow until a person approves an isolate; a quarantine survives a restart
// of ward serve and expires on time.
func TestLabQuarantine(t *testing.T) {
	needLab(t)
	t.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	pol, db := labQuarantineWorkspace(t)
	srv := startServe(t, pol, db)

	for _, c := range []struct {
		from, to string
		port     int
	}{{labWS, labTV, 7}, {labAn, labLIS, 5000}, {labPump, labPumpSrv, 51444}, {labPump, labLIS, 5000}} {
		if !labOpen(t, c.from, c.to, c.port) {
			t.Fatalf("before any quarantine, %s -> %s:%d is closed; the test flows were not applied", c.from, c.to, c.port)
		}
	}

	t.Run("low-criticality-isolated-within-a-second", func(t *testing.T) {
		start := time.Now()
		res := postAlert(t, srv.url, genericAlertJSON("lab-low-1", labTVIP, "high"))
		if len(res.Results) != 1 || res.Results[0].Action != quarantine.LevelIsolate || res.Results[0].EnforceError != "" {
			t.Fatalf("alert result %+v, want isolate", res.Results)
		}
		took := waitFor(time.Second-time.Since(start), func() bool { return !labOpen(t, labWS, labTV, 7) })
		if took < 0 {
			t.Fatalf("%s -> %s:7 still open a second after the alert", labWS, labTV)
		}
		t.Logf("alert to dropped: %s", time.Since(start).Round(time.Millisecond))
		if !labOpen(t, labAn, labLIS, 5000) || !labOpen(t, labPump, labPumpSrv, 51444) {
			t.Error("another device's flow was cut by the quarantine of " + labTV)
		}
		if code, out, errs := runWard(t, "release", labTV, "-policy", pol, "-db", db); code != 0 {
			t.Fatalf("ward release: exit %d\n%s%s", code, out, errs)
		}
		if waitFor(2*time.Second, func() bool { return labOpen(t, labWS, labTV, 7) }) < 0 {
			t.Fatalf("%s -> %s:7 still closed after the release", labWS, labTV)
		}
	})

	t.Run("life-critical-pump-keeps-essential-flow", func(t *testing.T) {
		res := postAlert(t, srv.url, genericAlertJSON("lab-pump-1", labPumpIP, "critical"))
		if len(res.Results) != 1 || res.Results[0].Action != quarantine.LevelRestrict {
			t.Fatalf("alert result %+v, want restrict", res.Results)
		}
		if waitFor(time.Second, func() bool { return !labOpen(t, labPump, labLIS, 5000) }) < 0 {
			t.Fatalf("%s -> %s:5000 (not essential) still open after the restrict", labPump, labLIS)
		}
		if !labOpen(t, labPump, labPumpSrv, 51444) || !labOpen(t, labPump, labPumpSrv, 443) {
			t.Fatalf("the pump's essential flow to %s was cut by a restrict", labPumpSrv)
		}
		code, out, errs := runWard(t, "quarantine", labPump, "-level", "isolate", "-reason", "lab test", "-policy", pol, "-db", db)
		if code != 0 || !strings.Contains(out, "waits for approval") {
			t.Fatalf("ward quarantine -level isolate of a life-critical pump: exit %d, want it waiting for approval\n%s%s", code, out, errs)
		}
		if !labOpen(t, labPump, labPumpSrv, 51444) {
			t.Fatal("an isolate waiting for approval cut the essential flow")
		}
		var id uint64
		for _, q := range labQuarantines(t, pol, db) {
			if q.Device == labPump && q.Status == quarantine.StatusActive {
				id = q.ID
			}
		}
		if code, out, errs := runWard(t, "approve", fmt.Sprint(id), "-comment", "off-patient", "-policy", pol, "-db", db); code != 0 {
			t.Fatalf("ward approve %d: exit %d\n%s%s", id, code, out, errs)
		}
		if waitFor(2*time.Second, func() bool { return !labOpen(t, labPump, labPumpSrv, 51444) }) < 0 {
			t.Fatal("after approval, the isolated pump still reaches its server")
		}
		if code, out, errs := runWard(t, "release", labPump, "-policy", pol, "-db", db); code != 0 {
			t.Fatalf("ward release: exit %d\n%s%s", code, out, errs)
		}
		if waitFor(3*time.Second, func() bool { return labOpen(t, labPump, labPumpSrv, 51444) && labOpen(t, labPump, labLIS, 5000) }) < 0 {
			t.Fatal("after the release, the pump's flows are not back")
		}
	})

	t.Run("survives-restart-and-expires-on-time", func(t *testing.T) {
		res := postAlert(t, srv.url, genericAlertJSON("lab-restart-1", labTVIP, "high"))
		if len(res.Results) != 1 || res.Results[0].Action != quarantine.LevelIsolate {
			t.Fatalf("alert result %+v, want isolate", res.Results)
		}
		if waitFor(time.Second, func() bool { return !labOpen(t, labWS, labTV, 7) }) < 0 {
			t.Fatal("not isolated")
		}
		srv.stop(t)
		if labOpen(t, labWS, labTV, 7) {
			t.Fatal("stopping ward serve released the quarantine")
		}
		// The firewall loses its quarantine set meanwhile (say, a reboot).
		if out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "flush", "set", "inet", "ward", "quarantine_isolate_v4").CombinedOutput(); err != nil {
			t.Fatalf("flushing the isolate set: %v %s", err, out)
		}
		srv = startServe(t, pol, db)
		out, _ := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "list", "set", "inet", "ward", "quarantine_isolate_v4").CombinedOutput()
		if !strings.Contains(string(out), labTVIP) {
			t.Fatalf("after the restart, the isolate set does not hold %s again:\n%s", labTVIP, out)
		}
		var expires time.Time
		for _, q := range labQuarantines(t, pol, db) {
			if q.Device == labTV && q.Status == quarantine.StatusActive && q.ExpiresAt != nil {
				expires = *q.ExpiresAt
			}
		}
		if expires.IsZero() {
			t.Fatal("no active quarantine of " + labTV)
		}
		if d := time.Until(expires) - time.Second; d > 0 {
			time.Sleep(d)
			if labOpen(t, labWS, labTV, 7) {
				t.Fatalf("released before its expiry (%s)", expires)
			}
		}
		if waitFor(time.Until(expires)+2*time.Second, func() bool { return labOpen(t, labWS, labTV, 7) }) < 0 {
			t.Fatalf("not released by 2 s after its expiry (%s)", expires)
		}
		t.Logf("released %s after expiry", time.Since(expires).Round(time.Millisecond))
		list := labQuarantines(t, pol, db)
		if list[0].Device != labTV || list[0].Status != quarantine.StatusExpired {
			t.Errorf("newest quarantine %+v, want %s expired", list[0], labTV)
		}
	})
}
