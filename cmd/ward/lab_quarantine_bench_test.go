package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dialFromNetns opens a TCP connection from inside network namespace ns
// (the socket is made on a thread moved into it, which then ends).
func dialFromNetns(ns, addr string, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	return <-errc
}

// BenchmarkLabQuarantineLatency measures, on the lab, the time from an
// alert posted to ward serve to the first TCP connection to the device that
// the firewall and switch drop: a prober in ws-netlab-01's namespace
// connects to tv-netlab-01:7 in a loop (50 ms timeout) while the alert is
// sent. Each iteration quarantines (isolate) and releases the device; p50
// and p99 are reported over all iterations (run with -benchtime 50x or more).
func BenchmarkLabQuarantineLatency(b *testing.B) {
	needLab(b)
	b.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	pol, db := labQuarantineWorkspace(b)
	// Every iteration is an automatic action: lift the storm guard.
	editPolicy(b, pol, "quarantine.hcl", func(s string) string {
		return strings.Replace(s, "max_auto_per_hour = 20", "max_auto_per_hour = 100000", 1)
	})
	srv := startServe(b, pol, db)
	devs := map[string]labDevice{}
	for _, d := range labDevices(b) {
		devs[d.name] = d
	}
	target := devs[labTV].ip + ":7"
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		if err := dialFromNetns(devs[labWS].ns, target, time.Second); err != nil {
			b.Fatalf("iteration %d: %s not reachable before the alert: %v", i, target, err)
		}
		var dropped atomic.Int64 // ns since start of the first dropped attempt
		start := time.Now()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				at := time.Since(start)
				if err := dialFromNetns(devs[labWS].ns, target, 50*time.Millisecond); err != nil {
					dropped.Store(int64(at))
					return
				}
			}
		}()
		res := postAlert(b, srv.url, genericAlertJSON(fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), labTVIP, "high"))
		if len(res.Results) != 1 || res.Results[0].Action != "isolate" {
			close(stop)
			b.Fatalf("iteration %d: %+v, want isolate", i, res.Results)
		}
		deadline := time.After(3 * time.Second)
		for dropped.Load() == 0 {
			select {
			case <-deadline:
				close(stop)
				b.Fatalf("iteration %d: connections not dropped 3 s after the alert", i)
			case <-time.After(time.Millisecond):
			}
		}
		close(stop)
		wg.Wait()
		lat = append(lat, time.Duration(dropped.Load()))
		b.StopTimer()
		if code, out, errs := runWard(b, "release", labTV, "-policy", pol, "-db", db); code != 0 {
			b.Fatalf("release: %s%s", out, errs)
		}
		b.StartTimer()
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat)), "quarantines")
	b.Logf("alert to dropped over %d quarantines: p50 %s, p99 %s, max %s", len(lat), pct(0.5), pct(0.99), lat[len(lat)-1])
}

// BenchmarkAlertIntake measures alerts per second through ward serve's
// POST /api/v1/alerts (HTTP on loopback, parse, device match, Rego
// decision, SQLite record) with enforcement disabled: 8 clients, one alert
// per request, for devices across the example inventory.
func BenchmarkAlertIntake(b *testing.B) {
	b.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	_, pol, db := labWorkspace(b)
	srv := startServe(b, pol, db, "-no-enforce", "-alert-rate", "-1") // one sender, measured flat out
	ips := []string{"10.61.190.241", "10.61.210.241", "10.61.100.241", "10.61.199.241", "10.99.0.1"}
	var n atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS (2) = 8 clients
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			postAlert(b, srv.url, genericAlertJSON(fmt.Sprintf("intake-%d-%d", start.UnixNano(), i), ips[i%int64(len(ips))], "high"))
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "alerts/s")
}
