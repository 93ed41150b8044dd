package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// The HA tests on the lab: several ward serve processes on one PostgreSQL
// database enforcing on the lab's real firewall and switch.

// haStormMaxAuto is the storm guard the HA storm runs under: well below
// the devices the storm touches, so the bound is what limits the actions.
const haStormMaxAuto = 20

// haReplica is a ward serve process of its own (kill -9 must kill it, not
// the test), with a one-second lease and no alert rate limit.
type haReplica struct {
	id, url string
	cmd     *exec.Cmd
	log     *syncBuffer
}

// haReplicaOptions says how to start a replica.
type haReplicaOptions struct {
	// ownPidNS runs the replica as pid 1 of a pid namespace of its own
	// (unshare --pid --fork --kill-child): its jobs.MachineID differs
	// from every other replica's, so no survivor can judge it by its pid,
	// as when replicas run on different hosts. cmd is then unshare, whose
	// kill -9 kills the replica too (--kill-child).
	ownPidNS bool
}

func startHAReplica(tb testing.TB, id, pol, db string, extra ...string) *haReplica {
	tb.Helper()
	return startHAReplicaWith(tb, haReplicaOptions{}, id, pol, db, extra...)
}

func startHAReplicaWith(tb testing.TB, o haReplicaOptions, id, pol, db string, extra ...string) *haReplica {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &haReplica{id: id, url: "http://" + addr, log: &syncBuffer{}}
	args := append([]string{os.Args[0], "serve", "-listen", addr, "-policy", pol, "-db", db, "-replica", id, "-lease", "1s", "-alert-rate", "-1"}, extra...)
	if o.ownPidNS {
		args = append([]string{"unshare", "--pid", "--fork", "--kill-child"}, args...)
	}
	r.cmd = exec.Command(args[0], args[1:]...)
	r.cmd.Env = append(os.Environ(), runCLIEnv+"=1")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		if tb.Failed() {
			tb.Logf("replica %s's log (tail):\n%s", id, tailLines(r.log.String(), 60))
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := r.ready(); err == nil {
			return r
		}
		if time.Now().After(deadline) {
			tb.Fatalf("replica %s not ready after 30 s:\n%s", id, r.log.String())
		}
	}
}

func (r *haReplica) kill(tb testing.TB) {
	tb.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		tb.Fatal(err)
	}
}

// haLeader polls the replicas' /readyz until exactly one says it leads,
// failing if two ever do at once; it returns the leader and how long it
// took, or nil when none leads within the limit.
func haLeader(tb testing.TB, within time.Duration, rs ...*haReplica) (*haReplica, time.Duration) {
	tb.Helper()
	start := time.Now()
	for time.Since(start) < within {
		var leaders []*haReplica
		for _, r := range rs {
			if rd, err := r.ready(); err == nil && rd.Leader != nil && *rd.Leader {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) > 1 {
			tb.Fatalf("replicas %s and %s both say they lead", leaders[0].id, leaders[1].id)
		}
		if len(leaders) == 1 {
			return leaders[0], time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, time.Since(start)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// alertClient posts alerts without failing the test: a transport error
// (a killed replica) or a non-2xx answer is an alert not accepted.
type alertClient struct{ http *http.Client }

func newAlertClient() *alertClient {
	return &alertClient{http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// post returns the HTTP status (0 on a transport error), the answer when
// it is 2xx, and the error body's code otherwise.
func (c *alertClient) post(url, body string) (int, api.AlertsResponse, string, error) {
	var out api.AlertsResponse
	req, _ := http.NewRequest("POST", url+"/api/v1/alerts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+labAlertToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, out, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, out, fmt.Sprintf("%+v", e), nil
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, "", err
}

// haDevice is an inventory device an alert can name.
type haDevice struct{ name, ip string }

// haStormDevices returns up to n inventory devices with an address: the
// lab's own first (their quarantine also moves a real switch port), then
// the rest of the example inventory (on the lab, only core-fw holds their
// quarantine); skip names devices kept out of the storm.
func haStormDevices(tb testing.TB, n int, skip ...string) []haDevice {
	tb.Helper()
	f, err := os.Open(exampleInventory)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var lab, rest []haDevice
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		d := haDevice{name: r[0], ip: r[2]}
		if d.ip == "" || seen[d.ip] || skipped[d.name] {
			continue
		}
		seen[d.ip] = true
		if strings.Contains(d.name, "netlab") {
			lab = append(lab, d)
		} else {
			rest = append(rest, d)
		}
	}
	all := append(lab, rest...)
	if len(all) > n {
		all = all[:n]
	}
	return all
}

// labHAWorkspace is labQuarantineWorkspace on a PostgreSQL database: the
// inventory imported into it, the storm guard at haStormMaxAuto, isolates
// lasting an hour unless said otherwise, and the lab's core-fw and
// access-ovs applied from it (so the replicas know what they enforce).
func labHAWorkspace(tb testing.TB, db string) string {
	tb.Helper()
	pol, _ := labQuarantineWorkspace(tb)
	editPolicy(tb, pol, "quarantine.hcl", func(s string) string {
		s = strings.Replace(s, "max_auto_per_hour = 20", fmt.Sprintf("max_auto_per_hour = %d", haStormMaxAuto), 1)
		return strings.Replace(s, `isolate = "15s"`, `isolate = "1h"`, 1)
	})
	if code, _, errs := runWard(tb, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		tb.Fatalf("inventory import into PostgreSQL: %s", errs)
	}
	code, out, errs := runWard(tb, "apply", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs", "-auto-approve")
	if code != 0 {
		tb.Fatalf("apply from PostgreSQL: exit %d\n%s%s", code, out, errs)
	}
	return pol
}

// openTestStore opens the store at db for reading what the replicas wrote.
func openTestStore(tb testing.TB, db string) *store.Store {
	tb.Helper()
	var errb strings.Builder
	st, ok := (&cli{stderr: &errb}).openStore(context.Background(), db)
	if !ok {
		tb.Fatalf("opening the store %s: %s", db, errb.String())
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// recordedAlerts returns how many times each alert id is recorded.
func recordedAlerts(tb testing.TB, st *store.Store) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for off := 0; ; off += 500 {
		rows, _, err := st.ListAlerts(context.Background(), store.AlertQuery{Limit: 500, Offset: off})
		if err != nil {
			tb.Fatal(err)
		}
		for _, a := range rows {
			out[a.Source+"/"+a.ExternalID]++
		}
		if len(rows) < 500 {
			return out
		}
	}
}

// automaticActions counts the alerts that quarantined a device
// automatically (the storm guard's count).
func automaticActions(tb testing.TB, st *store.Store) int {
	tb.Helper()
	n := 0
	for _, action := range []string{quarantine.LevelIsolate, quarantine.LevelRestrict} {
		_, total, err := st.ListAlerts(context.Background(), store.AlertQuery{Action: action, Limit: 1})
		if err != nil {
			tb.Fatal(err)
		}
		n += int(total)
	}
	return n
}

// fwSets reads core-fw's quarantine sets: address -> set names holding it.
func fwSets(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, set := range []string{"quarantine_isolate_v4", "quarantine_restrict_v4"} {
		for _, e := range strings.Fields(netnsSet(t, "ward-fw", set)) {
			out[e] = append(out[e], set)
		}
	}
	return out
}

// wantSets is what core-fw must hold for the store's active quarantines.
func wantSets(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	active, err := st.ActiveQuarantines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, q := range active {
		set := "quarantine_" + q.Level + "_v4"
		for _, a := range strings.Split(q.Addresses, ",") {
			if a = strings.TrimSpace(a); a != "" && !strings.Contains(a, ":") {
				out[a] = append(out[a], set)
			}
		}
	}
	return out
}

func labVsctlTB(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("ovs-vsctl", append([]string{"--timeout=30"}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ovs-vsctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func sameSets(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, ",") != strings.Join(b[k], ",") {
			return false
		}
	}
	return true
}

// TestLabHAStorm: three replicas enforcing on the lab from one PostgreSQL
// database take a storm of 1,000 alerts over 50 devices, sent round-robin
// by 8 senders, and the leader is killed (kill -9) at alert ~500. Every
// alert a replica accepted (2xx) is recorded exactly once; core-fw's
// quarantine sets hold exactly the store's active quarantines, each once;
// automatic actions stay within max_auto_per_hour; a new leader takes
// over within 5 s; and a quarantine with a short TTL decided before the
// kill expires after it and leaves the firewall.
func TestLabHAStorm(t *testing.T) {
	needLab(t)
	t.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	db := pgtest.URL(t)
	pol := labHAWorkspace(t, db)
	st := openTestStore(t, db)

	// tv-netlab-01 carries the short-TTL quarantine and ws-netlab-01 probes
	// it: both stay out of the storm.
	devs := haStormDevices(t, 50, labTV, labWS)
	if len(devs) < 50 {
		t.Fatalf("the inventory has %d devices with an address for the storm, want 50", len(devs))
	}
	labDevs := 0
	for _, d := range devs {
		if strings.Contains(d.name, "netlab") {
			labDevs++
		}
	}
	t.Logf("storm over %d devices: %d of the lab (real namespaces behind core-fw and access-ovs), %d more of the inventory (core-fw's sets only)",
		len(devs), labDevs, len(devs)-labDevs)

	rs := []*haReplica{
		startHAReplica(t, "replica-a", pol, db),
		startHAReplica(t, "replica-b", pol, db),
		startHAReplica(t, "replica-c", pol, db),
	}
	leader, _ := haLeader(t, 5*time.Second, rs...)
	if leader == nil {
		t.Fatal("no replica leads 5 s after start")
	}
	var survivors []*haReplica
	for _, r := range rs {
		if r != leader {
			survivors = append(survivors, r)
		}
	}
	if !labOpen(t, labWS, labTV, 7) {
		t.Fatalf("before the storm %s -> %s:7 is closed; the test flows were not applied", labWS, labTV)
	}

	// The quarantine with a short TTL, decided before the kill (ward
	// quarantine: not an automatic action); the storm's first half lasts
	// long enough that it is due only after the kill (checked below).
	if code, out, errs := runWard(t, "quarantine", labTV, "-level", "isolate", "-ttl", "12s", "-reason", "HA storm: expiry across a failover", "-policy", pol, "-db", db); code != 0 {
		t.Fatalf("ward quarantine %s -ttl 12s: exit %d\n%s%s", labTV, code, out, errs)
	}

	const total, senders, killAt = 1000, 8, 500
	var (
		next      atomic.Int64
		mu        sync.Mutex
		dead      = map[*haReplica]bool{} // replicas a sender saw fail at the transport
		accepted  = map[string]bool{}
		refused   = map[int]int{} // status -> count (0: transport error)
		afterKill int             // alerts accepted after the kill
		killedAt  time.Time
	)
	killDone := make(chan struct{})
	client := newAlertClient()
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if i == killAt {
					mu.Lock()
					leader.kill(t)
					killedAt = time.Now()
					mu.Unlock()
					close(killDone)
				}
				// Round-robin over the replicas not seen dead: the senders
				// learn of the kill as a load balancer would, by a request
				// that fails at the transport.
				mu.Lock()
				var live []*haReplica
				for _, r := range rs {
					if !dead[r] {
						live = append(live, r)
					}
				}
				mu.Unlock()
				to := live[i%len(live)]
				id := fmt.Sprintf("storm-%d", i)
				d := devs[i%len(devs)]
				code, res, _, _ := client.post(to.url, genericAlertJSON(id, d.ip, "high"))
				mu.Lock()
				switch {
				case code/100 == 2:
					accepted["suricata/"+id] = true
					if !killedAt.IsZero() {
						afterKill++
					}
					if len(res.Results) != 1 || res.Results[0].Status != "recorded" {
						t.Errorf("alert %s to %s: %+v, want one recorded", id, to.id, res.Results)
					}
				case code == 0:
					dead[to] = true
					refused[code]++
				default:
					refused[code]++
				}
				mu.Unlock()
			}
		})
	}
	<-killDone
	mu.Lock()
	kill := killedAt
	mu.Unlock()
	newLeader, _ := haLeader(t, 5*time.Second-time.Since(kill), survivors...)
	took := time.Since(kill)
	wg.Wait()
	t.Logf("%d alerts accepted after the kill", afterKill)
	if afterKill < total/4 {
		t.Errorf("only %d alerts accepted after the kill: the kill was not in the middle of the storm", afterKill)
	}
	if newLeader == nil {
		t.Errorf("no survivor leads 5 s after the leader's kill -9")
	} else {
		t.Logf("new leader %s seen %s after kill -9 of %s", newLeader.id, took.Round(time.Millisecond), leader.id)
	}
	t.Logf("%d of %d alerts accepted; not accepted by status (0: transport): %v", len(accepted), total, refused)
	for code, n := range refused {
		if code != 0 {
			t.Errorf("%d alerts answered %d: only a dead replica's transport errors are expected", n, code)
		}
	}

	t.Run("every-accepted-alert-recorded-once", func(t *testing.T) {
		rec := recordedAlerts(t, st)
		for id := range accepted {
			if rec[id] != 1 {
				t.Errorf("accepted alert %s is recorded %d times, want once", id, rec[id])
			}
		}
		extra := 0
		for id, n := range rec {
			if n > 1 {
				t.Errorf("alert %s is recorded %d times", id, n)
			}
			if strings.HasPrefix(id, "suricata/storm-") && !accepted[id] {
				extra++ // committed by the dying leader, its answer lost
			}
		}
		if extra > refused[0] {
			t.Errorf("%d alerts recorded that no replica accepted, more than the %d requests cut by the kill", extra, refused[0])
		}
	})

	t.Run("automatic-actions-within-max-auto-per-hour", func(t *testing.T) {
		n := automaticActions(t, st)
		t.Logf("%d automatic actions (max_auto_per_hour %d)", n, haStormMaxAuto)
		if n > haStormMaxAuto {
			t.Errorf("%d automatic actions, more than max_auto_per_hour %d", n, haStormMaxAuto)
		}
		if n == 0 {
			t.Error("no automatic action at all: the storm quarantined nothing")
		}
	})

	t.Run("each-active-quarantine-on-core-fw-once", func(t *testing.T) {
		var got, want map[string][]string
		if waitFor(20*time.Second, func() bool {
			got, want = fwSets(t), wantSets(t, st)
			return sameSets(got, want)
		}) < 0 {
			t.Errorf("core-fw's quarantine sets do not hold exactly the active quarantines 20 s after the storm\n got  %v\n want %v", got, want)
		}
		for addr, sets := range got {
			if len(sets) != 1 {
				t.Errorf("%s is in %v: a device is in one quarantine set", addr, sets)
			}
		}
		if len(want) == 0 {
			t.Error("no active quarantine after the storm")
		}
	})

	t.Run("lab-devices-contained-on-real-packets", func(t *testing.T) {
		checked := 0
		for _, q := range labQuarantines(t, pol, db) {
			if q.Status != quarantine.StatusActive || !strings.Contains(q.Device, "netlab") || q.Device == labTV {
				continue
			}
			if q.Level == quarantine.LevelIsolate && q.SwitchTarget == "access-ovs" {
				checked++
				if tag := labVsctlTB(t, "get", "port", q.SwitchPort, "tag"); tag != "999" {
					t.Errorf("%s is isolated (#%d) but its port %s is on VLAN %s, want the quarantine VLAN 999", q.Device, q.ID, q.SwitchPort, tag)
				}
			}
			if q.Device == labPump && q.Level == quarantine.LevelRestrict {
				checked++
				if labOpen(t, labPump, labLIS, 5000) {
					t.Errorf("%s is restricted (#%d) but still reaches %s:5000 (not essential)", labPump, q.ID, labLIS)
				}
				if !labOpen(t, labPump, labPumpSrv, 51444) {
					t.Errorf("%s is restricted (#%d) and lost its essential flow to %s:51444", labPump, q.ID, labPumpSrv)
				}
			}
		}
		t.Logf("%d lab quarantines checked on the switch and with probes", checked)
	})

	t.Run("expiry-continues-under-the-new-leader", func(t *testing.T) {
		q := findQuarantine(t, pol, db, labTV)
		if q == nil || q.ExpiresAt == nil {
			t.Fatalf("no quarantine of %s with an expiry: %+v", labTV, q)
		}
		if !q.ExpiresAt.After(killedAt) {
			t.Fatalf("the short-TTL quarantine was due at %s, before the kill at %s: it tests nothing", q.ExpiresAt, killedAt)
		}
		if waitFor(time.Until(*q.ExpiresAt)+5*time.Second, func() bool {
			q = findQuarantine(t, pol, db, labTV)
			return q != nil && q.Status == quarantine.StatusExpired && !strings.Contains(netnsSet(t, "ward-fw", "quarantine_isolate_v4"), " "+labTVIP+" ")
		}) < 0 {
			t.Fatalf("the quarantine of %s is not expired 5 s after it was due: %+v; isolate set %s", labTV, q, netnsSet(t, "ward-fw", "quarantine_isolate_v4"))
		}
		if waitFor(3*time.Second, func() bool { return labOpen(t, labWS, labTV, 7) }) < 0 {
			t.Errorf("%s -> %s:7 still closed after the quarantine expired", labWS, labTV)
		}
	})
}

// findQuarantine returns the newest quarantine of the device named, as
// ward quarantines lists it.
func findQuarantine(t *testing.T, pol, db, device string) *quarantine.Listed {
	t.Helper()
	for _, q := range labQuarantines(t, pol, db) {
		if q.Device == device {
			return &q
		}
	}
	return nil
}

// TestLabHADatabaseRestart: two replicas on a PostgreSQL cluster of the
// test's own take alerts from a sender while the cluster is stopped and
// started again. Meanwhile every alert is answered 503 (never 500, never
// accepted); the replicas recover by themselves; every alert accepted
// before, during or after is recorded once; an alert accepted before the
// restart, sent again, is a duplicate and opens no second quarantine.
func TestLabHADatabaseRestart(t *testing.T) {
	t.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(t.TempDir(), "credentials")) // one audit key for both
	pgtest.Shared(t)                                                            // skips (fails on CI) without PostgreSQL
	c, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	db, err := c.NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatalf("inventory import: %s", errs)
	}
	pg := findPostmaster(t, c.Port())
	a := startHAReplica(t, "replica-a", examplePolicy, db, "-no-enforce")
	b := startHAReplica(t, "replica-b", examplePolicy, db, "-no-enforce")
	rs := []*haReplica{a, b}
	devs := haStormDevices(t, 50)

	type sent struct {
		id, url, body string
		phase         string
		code          int
		res           api.AlertsResponse
		errBody       string
	}
	var (
		mu    sync.Mutex
		log   []sent
		phase atomic.Value
	)
	phase.Store("before")
	client := newAlertClient()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("restart-%d", i)
			r := rs[i%len(rs)]
			p := phase.Load().(string)
			body := genericAlertJSON(id, devs[i%len(devs)].ip, "high")
			code, res, eb, _ := client.post(r.url, body)
			mu.Lock()
			log = append(log, sent{id: id, url: r.url, body: body, phase: p, code: code, res: res, errBody: eb})
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	})
	time.Sleep(time.Second)
	phase.Store("stopping")
	pg.stop(t)
	phase.Store("down")
	time.Sleep(3 * time.Second)
	// /readyz fails while the database is down, so a load balancer drops the replicas.
	for _, r := range rs {
		if rd, err := r.ready(); err == nil {
			t.Errorf("replica %s's /readyz answers 200 %+v with its database down", r.id, rd)
		}
	}
	phase.Store("starting")
	pg.start(t)
	phase.Store("after")
	recovered := waitFor(30*time.Second, func() bool {
		for _, r := range rs {
			if _, err := r.ready(); err != nil {
				return false
			}
		}
		return true
	})
	if recovered < 0 {
		t.Fatal("the replicas are not ready 30 s after PostgreSQL came back")
	}
	t.Logf("both replicas ready %s after PostgreSQL came back", recovered.Round(time.Millisecond))
	// The scheduled work resumes: one of them leads again.
	if l, took := haLeader(t, 10*time.Second, rs...); l == nil {
		t.Error("no replica leads 10 s after PostgreSQL came back")
	} else {
		t.Logf("%s leads %s after the replicas were ready again", l.id, took.Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	st := openTestStore(t, db)
	rec := recordedAlerts(t, st)
	byPhase := map[string]map[int]int{}
	var firstBefore *sent
	for i := range log {
		s := &log[i]
		if byPhase[s.phase] == nil {
			byPhase[s.phase] = map[int]int{}
		}
		byPhase[s.phase][s.code]++
		if s.code/100 == 2 {
			if n := rec["suricata/"+s.id]; n != 1 {
				t.Errorf("alert %s accepted (%s the restart) is recorded %d times, want once", s.id, s.phase, n)
			}
			if firstBefore == nil && s.phase == "before" && len(s.res.Results) == 1 && s.res.Results[0].QuarantineID != 0 {
				firstBefore = s
			}
		}
		if s.phase == "down" && s.code != http.StatusServiceUnavailable {
			t.Errorf("alert %s sent while PostgreSQL was down: answered %d %s, want 503", s.id, s.code, s.errBody)
		}
		if s.code/100 != 2 && s.code != http.StatusServiceUnavailable {
			t.Errorf("alert %s (%s): answered %d %s; want 202, or 503 while the database is away", s.id, s.phase, s.code, s.errBody)
		}
	}
	t.Logf("answers by phase and status: %v", byPhase)
	for _, p := range []string{"before", "down", "after"} {
		if len(byPhase[p]) == 0 {
			t.Errorf("no alert sent %s the restart", p)
		}
	}
	if byPhase["after"][http.StatusAccepted] == 0 {
		t.Error("no alert accepted after PostgreSQL came back: the replicas did not recover")
	}

	t.Run("resent-alert-is-a-duplicate", func(t *testing.T) {
		if firstBefore == nil {
			t.Fatal("no alert accepted before the restart opened a quarantine")
		}
		before, err := st.ListQuarantines(context.Background(), store.QuarantineFilter{Status: "all"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			code, res, eb, err := client.post(r.url, firstBefore.body)
			if err != nil || code != http.StatusAccepted || len(res.Results) != 1 || res.Results[0].Status != "duplicate" ||
				res.Results[0].QuarantineID != firstBefore.res.Results[0].QuarantineID {
				t.Errorf("alert %s resent to %s: %d %s %+v %v; want 202 with status duplicate naming quarantine #%d",
					firstBefore.id, r.id, code, eb, res.Results, err, firstBefore.res.Results[0].QuarantineID)
			}
		}
		after, err := st.ListQuarantines(context.Background(), store.QuarantineFilter{Status: "all"})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Errorf("resending opened quarantines: %d before, %d after", len(before), len(after))
		}
		if rec := recordedAlerts(t, st); rec["suricata/"+firstBefore.id] != 1 {
			t.Errorf("alert %s recorded %d times after resending", firstBefore.id, rec["suricata/"+firstBefore.id])
		}
	})
}

// postmaster is a pgtest cluster's server process, found by its port, so
// the test can stop it and start it again on the same data directory and
// port (pgtest.Cluster can only Stop, which also removes the data).
type postmaster struct {
	bin, data string
	port      int
	cred      *syscall.Credential
}

// findPostmaster finds the postgres process listening on port: the one
// whose command line says -p PORT and whose parent is not a postgres.
func findPostmaster(t *testing.T, port int) *postmaster {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "postgres" {
			continue
		}
		pm := &postmaster{port: port}
		hasPort := false
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-D":
				pm.data = args[i+1]
			case "-p":
				hasPort = args[i+1] == strconv.Itoa(port)
			}
		}
		if !hasPort || pm.data == "" {
			continue
		}
		exe, err := os.Readlink(filepath.Join(filepath.Dir(p), "exe"))
		if err != nil {
			t.Fatal(err)
		}
		pm.bin = filepath.Dir(exe)
		var stat syscall.Stat_t
		if err := syscall.Stat(pm.data, &stat); err != nil {
			t.Fatal(err)
		}
		if stat.Uid != uint32(os.Geteuid()) {
			pm.cred = &syscall.Credential{Uid: stat.Uid, Gid: stat.Gid, Groups: []uint32{}}
		}
		return pm
	}
	t.Fatalf("no postgres process listening on port %d", port)
	return nil
}

func (pm *postmaster) pgCtl(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{args[0], "-D", pm.data, "-w", "-t", "30"}, args[1:]...)
	cmd := exec.Command(filepath.Join(pm.bin, "pg_ctl"), args...)
	cmd.Dir = filepath.Dir(pm.data)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_MESSAGES=C", "HOME=" + filepath.Dir(pm.data)}
	cmd.WaitDelay = 5 * time.Second
	if pm.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pm.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// stop is a fast shutdown: sessions are cut, as when the server restarts.
func (pm *postmaster) stop(t *testing.T) { pm.pgCtl(t, "stop", "-m", "fast") }

func (pm *postmaster) start(t *testing.T) {
	pm.pgCtl(t, "start", "-l", filepath.Join(filepath.Dir(pm.data), "server.log"), "-o", "-p "+strconv.Itoa(pm.port))
}
