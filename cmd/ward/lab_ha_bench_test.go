package main

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
// baseline. Run with -benchtime 20x or more.
func BenchmarkLabHAFailover(b *testing.B) {
	for _, kill := range []bool{false, true} {
		b.Run(map[bool]string{false: "steady", true: "leader-killed"}[kill], func(b *testing.B) { haFailoverBench(b, kill) })
	}
}

func haFailoverBench(b *testing.B, kill bool) {
	needLab(b)
	b.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	db := pgtest.URL(b)
	pol := labHAWorkspace(b, db)
	// Every iteration is an automatic action: lift the storm guard.
	editPolicy(b, pol, "quarantine.hcl", func(s string) string {
		return strings.Replace(s, fmt.Sprintf("max_auto_per_hour = %d", haStormMaxAuto), "max_auto_per_hour = 100000", 1)
	})
	devs := map[string]labDevice{}
	for _, d := range labDevices(b) {
		devs[d.name] = d
	}
	probe := devs[labTV].ip + ":7"
	ids := []string{"replica-a", "replica-b", "replica-c"}
	rs := map[string]*haReplica{}
	for _, id := range ids {
		rs[id] = startHAReplica(b, id, pol, db)
	}
	client := newAlertClient()
	var drop, failover []time.Duration
	i := 0
	for b.Loop() {
		i++
		b.StopTimer()
		leader, _ := haLeader(b, 5*time.Second, rs[ids[0]], rs[ids[1]], rs[ids[2]])
		if leader == nil {
			b.Fatalf("iteration %d: no replica leads", i)
		}
		var survivors []*haReplica
		for _, id := range ids {
			if rs[id] != leader {
				survivors = append(survivors, rs[id])
			}
		}
		if err := dialFromNetns(devs[labWS].ns, probe, time.Second); err != nil {
			b.Fatalf("iteration %d: %s not reachable before the alert: %v", i, probe, err)
		}
		b.StartTimer()

		if kill {
			leader.kill(b)
		} else {
			survivors = append(survivors, leader)
		}
		killed := time.Now()
		w := watchDrop(devs[labWS].ns, probe)
		code, res, eb, err := client.post(survivors[i%2].url, genericAlertJSON(fmt.Sprintf("failover-%d-%d", killed.UnixNano(), i), labTVIP, "high"))
		if err != nil || code != 202 || len(res.Results) != 1 || res.Results[0].Action != "isolate" {
			w.close()
			b.Fatalf("iteration %d: alert to %s: %d %s %+v %v, want isolate", i, survivors[i%2].id, code, eb, res.Results, err)
		}
		if kill {
			newLeader, _ := haLeader(b, 10*time.Second, survivors...)
			if newLeader == nil {
				w.close()
				b.Fatalf("iteration %d: no survivor leads 10 s after the kill", i)
			}
			failover = append(failover, time.Since(killed))
		}
		d, ok := w.wait(5 * time.Second)
		if !ok {
			b.Fatalf("iteration %d: connections not dropped 5 s after the alert", i)
		}
		drop = append(drop, d)

		b.StopTimer()
		if code, out, errs := runWard(b, "release", labTV, "-policy", pol, "-db", db); code != 0 {
			b.Fatalf("release: %s%s", out, errs)
		}
		if waitFor(5*time.Second, func() bool { return dialFromNetns(devs[labWS].ns, probe, 200*time.Millisecond) == nil }) < 0 {
			b.Fatalf("iteration %d: %s still dropped 5 s after the release", i, probe)
		}
		if kill {
			rs[leader.id] = startHAReplica(b, leader.id, pol, db)
		}
		b.StartTimer()
	}
	slices.Sort(drop)
	slices.Sort(failover)
	b.ReportMetric(float64(percentile(drop, 0.50).Microseconds())/1000, "drop-p50-ms")
	b.ReportMetric(float64(percentile(drop, 0.99).Microseconds())/1000, "drop-p99-ms")
	b.Logf("over %d alerts: alert to dropped p50 %s, p99 %s, max %s", len(drop), percentile(drop, 0.5), percentile(drop, 0.99), drop[len(drop)-1])
	if kill {
		b.ReportMetric(float64(percentile(failover, 0.50).Microseconds())/1000, "leader-p50-ms")
		b.ReportMetric(float64(failover[len(failover)-1].Microseconds())/1000, "leader-max-ms")
		b.Logf("kill -9 to a new leader over %d failovers: p50 %s, max %s", len(failover), percentile(failover, 0.5), failover[len(failover)-1])
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
