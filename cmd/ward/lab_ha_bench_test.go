package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// BenchmarkLabHAFailover measures, on the lab, what a failover costs
// containment: three replicas enforce from one PostgreSQL database; in
// leader-killed, each iteration kills the leader (kill -9) and at once posts an alert about
// tv-netlab-01 (isolate) to a survivor, while a prober in ws-netlab-01's
// namespace connects to tv-netlab-01:7 in a loop (50 ms timeout). It
// reports the time from the alert to the first dropped connection (p50,
// p99) and from the kill to a survivor's /readyz saying it leads (p50,
// max). Between iterations (timer stopped) the device is released and the
// killed replica started again. steady is the same with no kill, the
// baseline. leader-killed-other-hosts is leader-killed with each replica
// in a pid namespace of its own: no survivor shares the dead leader's
// MachineID, so none can see its pid gone and they wait for the lease to
// stand still, as replicas on different hosts do (over loopback still).
// Run with -benchtime 20x or more.
func BenchmarkLabHAFailover(b *testing.B) {
	for _, c := range []haFailoverCase{
		{name: "steady"},
		{name: "leader-killed", kill: true},
		{name: "leader-killed-other-hosts", kill: true, otherHosts: true},
	} {
		b.Run(c.name, func(b *testing.B) { haFailoverBench(b, c) })
	}
}

type haFailoverCase struct {
	name string
	// kill -9s the leader right before each alert.
	kill bool
	// otherHosts runs each replica in a pid namespace of its own.
	otherHosts bool
}

// haFailoverRig is the lab, the database and the replicas of one case of
// BenchmarkLabHAFailover.
type haFailoverRig struct {
	c         haFailoverCase
	pol, db   string
	ns, probe string // the prober's namespace and the address it dials
	st        *store.Store
	ids       []string
	rs        map[string]*haReplica
	client    *alertClient
}

func haFailoverBench(b *testing.B, c haFailoverCase) {
	needLab(b)
	b.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	g := &haFailoverRig{c: c, db: pgtest.URL(b), ids: []string{"replica-a", "replica-b", "replica-c"},
		rs: map[string]*haReplica{}, client: newAlertClient()}
	g.pol = labHAWorkspace(b, g.db)
	// Every iteration is an automatic action: lift the storm guard.
	editPolicy(b, g.pol, "quarantine.hcl", func(s string) string {
		return strings.Replace(s, fmt.Sprintf("max_auto_per_hour = %d", haStormMaxAuto), "max_auto_per_hour = 100000", 1)
	})
	devs := map[string]labDevice{}
	for _, d := range labDevices(b) {
		devs[d.name] = d
	}
	g.ns, g.probe = devs[labWS].ns, devs[labTV].ip+":7"
	g.st = openTestStore(b, g.db)
	for _, id := range g.ids {
		g.rs[id] = g.start(b, id)
	}
	var drop, failover []time.Duration
	for i := 1; b.Loop(); i++ {
		d, f := g.round(b, i)
		drop = append(drop, d)
		if c.kill {
			failover = append(failover, f)
		}
	}
	reportFailover(b, drop, failover)
}

func (g *haFailoverRig) start(b *testing.B, id string) *haReplica {
	return startHAReplicaWith(b, haReplicaOptions{ownPidNS: g.c.otherHosts}, id, g.pol, g.db)
}

// round is iteration i: it returns the time from the alert to the drop
// and, when it kills the leader, from the kill to a new leader. It runs
// with the timer on and leaves it on; set-up and clean-up stop it.
func (g *haFailoverRig) round(b *testing.B, i int) (drop, failover time.Duration) {
	b.StopTimer()
	checkReplicaMachines(b, g.st, g.ids, g.c.otherHosts)
	leader, _ := haLeader(b, 5*time.Second, g.rs[g.ids[0]], g.rs[g.ids[1]], g.rs[g.ids[2]])
	if leader == nil {
		b.Fatalf("iteration %d: no replica leads", i)
	}
	var survivors []*haReplica
	for _, id := range g.ids {
		if g.rs[id] != leader {
			survivors = append(survivors, g.rs[id])
		}
	}
	if err := dialFromNetns(g.ns, g.probe, time.Second); err != nil {
		b.Fatalf("iteration %d: %s not reachable before the alert: %v", i, g.probe, err)
	}
	b.StartTimer()

	if g.c.kill {
		leader.kill(b)
	} else {
		survivors = append(survivors, leader)
	}
	killed := time.Now()
	w := watchDrop(g.ns, g.probe)
	code, res, eb, err := g.client.post(survivors[i%2].url, genericAlertJSON(fmt.Sprintf("failover-%d-%d", killed.UnixNano(), i), labTVIP, "high"))
	if err != nil || code != 202 || len(res.Results) != 1 || res.Results[0].Action != "isolate" {
		w.close()
		b.Fatalf("iteration %d: alert to %s: %d %s %+v %v, want isolate", i, survivors[i%2].id, code, eb, res.Results, err)
	}
	if g.c.kill {
		if newLeader, _ := haLeader(b, 10*time.Second, survivors...); newLeader == nil {
			w.close()
			b.Fatalf("iteration %d: no survivor leads 10 s after the kill", i)
		}
		failover = time.Since(killed)
	}
	drop, ok := w.wait(5 * time.Second)
	if !ok {
		b.Fatalf("iteration %d: connections not dropped 5 s after the alert", i)
	}

	b.StopTimer()
	g.restore(b, i, leader)
	b.StartTimer()
	return drop, failover
}

// restore releases the device and, if iteration i killed it, starts the
// old leader again.
func (g *haFailoverRig) restore(b *testing.B, i int, leader *haReplica) {
	if g.c.kill {
		// The killed process may be unshare: its replica must be gone
		// too, or the failover measured was not a dead leader's.
		if _, err := leader.ready(); err == nil {
			b.Fatalf("iteration %d: killed replica %s still answers /readyz after a new leader took over", i, leader.id)
		}
	}
	if code, out, errs := runWard(b, "release", labTV, "-policy", g.pol, "-db", g.db); code != 0 {
		b.Fatalf("release: %s%s", out, errs)
	}
	if waitFor(5*time.Second, func() bool { return dialFromNetns(g.ns, g.probe, 200*time.Millisecond) == nil }) < 0 {
		b.Fatalf("iteration %d: %s still dropped 5 s after the release", i, g.probe)
	}
	if g.c.kill {
		g.rs[leader.id] = g.start(b, leader.id)
	}
}

// checkReplicaMachines fails unless replicas ids all run on the test's
// own machine (jobs.MachineID), or, with otherHosts, each on a machine of
// its own: a failover figure for other hosts must not be the same-host one.
func checkReplicaMachines(b *testing.B, st *store.Store, ids []string, otherHosts bool) {
	b.Helper()
	rows, err := st.ListReplicas(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	self := jobs.MachineID()
	machines := map[string]string{}
	for _, r := range rows {
		if slices.Contains(ids, r.ID) {
			machines[r.ID] = r.Machine
		}
	}
	seen := map[string]string{}
	for _, id := range ids {
		m, ok := machines[id]
		switch {
		case !ok || m == "":
			b.Fatalf("replica %s: no machine recorded (rows %+v)", id, rows)
		case !otherHosts && m != self:
			b.Fatalf("replica %s runs on %q, want this test's machine %q", id, m, self)
		case otherHosts && m == self:
			b.Fatalf("replica %s runs on this test's machine %q, want a pid namespace of its own", id, m)
		case otherHosts && seen[m] != "":
			b.Fatalf("replicas %s and %s share machine %q, want one each", seen[m], id, m)
		}
		seen[m] = id
	}
}

func reportFailover(b *testing.B, drop, failover []time.Duration) {
	slices.Sort(drop)
	slices.Sort(failover)
	b.ReportMetric(float64(percentile(drop, 0.50).Microseconds())/1000, "drop-p50-ms")
	b.ReportMetric(float64(percentile(drop, 0.99).Microseconds())/1000, "drop-p99-ms")
	b.Logf("over %d alerts: alert to dropped p50 %s, p99 %s, max %s", len(drop), percentile(drop, 0.5), percentile(drop, 0.99), drop[len(drop)-1])
	if len(failover) > 0 {
		b.ReportMetric(float64(percentile(failover, 0.50).Microseconds())/1000, "leader-p50-ms")
		b.ReportMetric(float64(failover[len(failover)-1].Microseconds())/1000, "leader-max-ms")
		b.Logf("kill -9 to a new leader over %d failovers: p50 %s, min %s, max %s", len(failover), percentile(failover, 0.5), failover[0], failover[len(failover)-1])
	}
}

// BenchmarkHAAlertIntake measures alerts per second through POST
// /api/v1/alerts on PostgreSQL, with one replica and with three sharing
// the database: 8 clients send one alert per request, round-robin over the
// replicas, about 50 devices of the example inventory; enforcement off
// (-no-enforce), no rate limit. Run with -benchtime 3000x so that each
// case starts its replicas once.
func BenchmarkHAAlertIntake(b *testing.B) {
	b.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			db := pgtest.URL(b)
			if code, _, errs := runWard(b, "inventory", "import", exampleInventory, "-db", db); code != 0 {
				b.Fatalf("inventory import: %s", errs)
			}
			var rs []*haReplica
			for i := range n {
				rs = append(rs, startHAReplica(b, fmt.Sprintf("replica-%d", i), examplePolicy, db, "-no-enforce"))
			}
			devs := haStormDevices(b, 50)
			client := newAlertClient()
			var sent atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS (2 here) = 8 clients
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := sent.Add(1)
					code, _, eb, err := client.post(rs[i%int64(n)].url, genericAlertJSON(fmt.Sprintf("intake-%d-%d", start.UnixNano(), i), devs[i%int64(len(devs))].ip, "high"))
					if err != nil || code != 202 {
						b.Errorf("alert %d: %d %s %v", i, code, eb, err)
						return
					}
				}
			})
			b.ReportMetric(float64(sent.Load())/time.Since(start).Seconds(), "alerts/s")
		})
	}
}
