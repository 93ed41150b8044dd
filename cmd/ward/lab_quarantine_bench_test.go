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
		w := watchDrop(devs[labWS].ns, target)
		res := postAlert(b, srv.url, genericAlertJSON(fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), labTVIP, "high"))
		if len(res.Results) != 1 || res.Results[0].Action != "isolate" {
			w.close()
			b.Fatalf("iteration %d: %+v, want isolate", i, res.Results)
		}
		d, ok := w.wait(3 * time.Second)
		if !ok {
			b.Fatalf("iteration %d: connections not dropped 3 s after the alert", i)
		}
		lat = append(lat, d)
		b.StopTimer()
		if code, out, errs := runWard(b, "release", labTV, "-policy", pol, "-db", db); code != 0 {
			b.Fatalf("release: %s%s", out, errs)
		}
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat)), "quarantines")
	b.Logf("alert to dropped over %d quarantines: p50 %s, p99 %s, max %s", len(lat), percentile(lat, 0.5), percentile(lat, 0.99), lat[len(lat)-1])
}

// percentile is the p-th percentile (0 < p < 1) of d, sorted.
func percentile(d []time.Duration, p float64) time.Duration {
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// dropWatch connects to a target from a lab namespace in a loop (50 ms
// timeout each) from its start, until one attempt fails: the drop.
type dropWatch struct {
	dropped atomic.Int64 // ns from the start to the first failed attempt
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func watchDrop(ns, target string) *dropWatch {
	w := &dropWatch{stop: make(chan struct{})}
	start := time.Now()
	w.wg.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			at := time.Since(start)
			if err := dialFromNetns(ns, target, 50*time.Millisecond); err != nil {
				w.dropped.Store(int64(at))
				return
			}
		}
	})
	return w
}

// wait returns how long after the watch's start connections were first
// dropped, false when not within timeout; the watch is over either way.
func (w *dropWatch) wait(timeout time.Duration) (time.Duration, bool) {
	defer w.close()
	for deadline := time.Now().Add(timeout); w.dropped.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, false
		}
	}
	return time.Duration(w.dropped.Load()), true
}

// close ends the watch.
func (w *dropWatch) close() {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
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
