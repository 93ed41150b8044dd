// Command labnet is the traffic helper of Ward's example lab
// (examples/lab/lab.sh). It stands in for the medical devices' services and
// checks what the network lets through. Standard library only.
//
//	labnet serve [-name NAME] [-tcp PORTS] [-udp PORTS] [-pidfile FILE]
//	labnet probe [-timeout 1s] [-proto tcp|udp|icmp] [-q] TARGET...
//
// TARGET is [tcp:|udp:]HOST:PORT or icmp:HOST (without a prefix, -proto).
// PORTS is a comma-separated list of ports and ranges, e.g. "7,22,5000-5099".
//
// serve listens on every given port of every address (IPv4). A TCP client is
// greeted with one line, "ward-lab NAME tcp/PORT", then whatever it sends is
// echoed back; a UDP datagram is answered with "ward-lab NAME udp/PORT " and
// the datagram. The pid file is written once every socket is bound, so its
// appearance means the listeners are ready; it is removed on SIGTERM/SIGINT.
//
// probe tries every target at once and exits 0 when all of them answer within
// the timeout, 1 when one does not: for tcp a completed connect, for udp an
// echoed datagram (so the destination must run "labnet serve"), for icmp an
// echo reply. It prints one line per target, "open tcp:IP:PORT (greeting)"
// or "closed tcp:IP:PORT (reason)", unless -q. Usage errors exit 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "serve":
		os.Exit(serve(os.Args[2:]))
	case "probe":
		os.Exit(probe(os.Args[2:]))
	case "-h", "-help", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "labnet: unknown command %q\n", os.Args[1])
		usage()
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  labnet serve [-name NAME] [-tcp PORTS] [-udp PORTS] [-pidfile FILE]
  labnet probe [-timeout 1s] [-proto tcp|udp|icmp] [-q] TARGET...
TARGET: [tcp:|udp:]HOST:PORT or icmp:HOST
PORTS: comma-separated ports and ranges, e.g. 7,22,5000-5099
`)
	os.Exit(2)
}

// parsePorts parses "7,22,5000-5099" into a sorted list without duplicates.
func parsePorts(s string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = parsePort(hi); err != nil {
				return nil, err
			}
			if last < first {
				return nil, fmt.Errorf("port range %q: end before start", part)
			}
		}
		for p := first; p <= last; p++ {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("bad port %q (want 1-65535)", s)
	}
	return p, nil
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	name := fs.String("name", "", "name announced in greetings (default: host name)")
	tcpPorts := fs.String("tcp", "", "TCP ports to listen on")
	udpPorts := fs.String("udp", "", "UDP ports to answer on")
	pidfile := fs.String("pidfile", "", "write the pid here once every socket is bound")
	_ = fs.Parse(args)
	if fs.NArg() != 0 {
		usage()
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	logger := log.New(os.Stderr, "labnet "+*name+": ", log.LstdFlags)

	tcp, err := parsePorts(*tcpPorts)
	if err != nil {
		logger.Print(err)
		return 2
	}
	udp, err := parsePorts(*udpPorts)
	if err != nil {
		logger.Print(err)
		return 2
	}
	if len(tcp)+len(udp) == 0 {
		logger.Print("nothing to listen on: give -tcp and/or -udp")
		return 2
	}

	for _, p := range tcp {
		ln, err := net.Listen("tcp4", ":"+strconv.Itoa(p))
		if err != nil {
			logger.Print(err)
			return 1
		}
		go acceptLoop(ln, *name, p, logger)
	}
	for _, p := range udp {
		pc, err := net.ListenPacket("udp4", ":"+strconv.Itoa(p))
		if err != nil {
			logger.Print(err)
			return 1
		}
		go udpLoop(pc, *name, p, logger)
	}
	if *pidfile != "" {
		if err := writePidfile(*pidfile); err != nil {
			logger.Print(err)
			return 1
		}
	}
	logger.Printf("listening on tcp %s udp %s", *tcpPorts, *udpPorts)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	if *pidfile != "" {
		_ = os.Remove(*pidfile)
	}
	logger.Printf("stopping on %v", s)
	return 0
}

func writePidfile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".labnet-pid-*")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(tmp, "%d\n", os.Getpid()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func acceptLoop(ln net.Listener, name string, port int, logger *log.Logger) {
	for {
		c, err := ln.Accept()
		if err != nil {
			logger.Printf("tcp/%d accept: %v", port, err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go func() {
			defer c.Close()
			logger.Printf("tcp/%d from %s", port, c.RemoteAddr())
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, err := fmt.Fprintf(c, "ward-lab %s tcp/%d\n", name, port); err != nil {
				return
			}
			_, _ = io.Copy(c, c)
		}()
	}
}

func udpLoop(pc net.PacketConn, name string, port int, logger *log.Logger) {
	buf := make([]byte, 2048)
	prefix := fmt.Sprintf("ward-lab %s udp/%d ", name, port)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			logger.Printf("udp/%d read: %v", port, err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		logger.Printf("udp/%d from %s", port, from)
		reply := append([]byte(prefix), buf[:n]...)
		_, _ = pc.WriteTo(reply, from)
	}
}

func probe(args []string) int {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	timeout := fs.Duration("timeout", time.Second, "give up after this long")
	proto := fs.String("proto", "tcp", "tcp, udp or icmp: for targets without a proto: prefix")
	quiet := fs.Bool("q", false, "print nothing; the exit status says it all")
	_ = fs.Parse(args)
	if fs.NArg() == 0 {
		usage()
	}
	targets := make([]probeTarget, fs.NArg())
	for i, arg := range fs.Args() {
		t, err := parseTarget(arg, *proto)
		if err != nil {
			fmt.Fprintf(os.Stderr, "labnet probe: %v\n", err)
			return 2
		}
		targets[i] = t
	}

	// Every target at once, so a probe of many closed ports still takes
	// one timeout, not one per port.
	deadline := time.Now().Add(*timeout)
	type result struct {
		detail string
		err    error
	}
	results := make([]result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r result
			switch t.proto {
			case "tcp":
				r.detail, r.err = probeTCP(t.addr, deadline)
			case "udp":
				r.detail, r.err = probeUDP(t.addr, deadline)
			case "icmp":
				r.detail, r.err = probeICMP(t.addr, deadline, i)
			}
			results[i] = r
		}()
	}
	wg.Wait()

	status := 0
	for i, r := range results {
		state, detail := "open", r.detail
		if r.err != nil {
			state, detail, status = "closed", "("+r.err.Error()+")", 1
		}
		if !*quiet {
			fmt.Printf("%s %s %s\n", state, targets[i], detail)
		}
	}
	return status
}

type probeTarget struct{ proto, addr string }

func (t probeTarget) String() string { return t.proto + ":" + t.addr }

// parseTarget reads [tcp:|udp:]HOST:PORT or icmp:HOST; without a prefix
// the proto is def.
func parseTarget(s, def string) (probeTarget, error) {
	t := probeTarget{proto: def, addr: s}
	for _, p := range []string{"tcp", "udp", "icmp"} {
		if rest, ok := strings.CutPrefix(s, p+":"); ok {
			t = probeTarget{proto: p, addr: rest}
			break
		}
	}
	switch t.proto {
	case "tcp", "udp":
		if _, _, err := net.SplitHostPort(t.addr); err != nil {
			return t, fmt.Errorf("%s target %q: want HOST:PORT", t.proto, s)
		}
	case "icmp":
		if net.ParseIP(t.addr).To4() == nil {
			return t, fmt.Errorf("icmp target %q: want an IPv4 address", s)
		}
	default:
		return t, fmt.Errorf("unknown proto %q (tcp, udp or icmp)", t.proto)
	}
	return t, nil
}

func probeTCP(target string, deadline time.Time) (string, error) {
	c, err := net.DialTimeout("tcp4", target, time.Until(deadline))
	if err != nil {
		return "", err
	}
	defer c.Close()
	// Connected: that is the answer. The greeting only says who answered.
	_ = c.SetReadDeadline(deadline.Add(250 * time.Millisecond))
	buf := make([]byte, 256)
	n, _ := c.Read(buf)
	return greeting(buf[:n]), nil
}

func probeUDP(target string, deadline time.Time) (string, error) {
	c, err := net.DialTimeout("udp4", target, time.Until(deadline))
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write([]byte("probe\n")); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	return greeting(buf[:n]), nil
}

func greeting(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return ""
	}
	return "(" + line + ")"
}

// probeICMP sends one ICMP echo request over a raw socket (root or
// CAP_NET_RAW) and waits for the matching reply.
func probeICMP(target string, deadline time.Time, n int) (string, error) {
	dst := &net.IPAddr{IP: net.ParseIP(target)}
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	id := (os.Getpid() + n) & 0xffff // n: one id per concurrent probe
	const seq = 1
	msg := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), 0, seq, 'w', 'a', 'r', 'd', '-', 'l', 'a', 'b'}
	cs := icmpChecksum(msg)
	msg[2], msg[3] = byte(cs>>8), byte(cs)
	start := time.Now()
	if _, err := c.WriteTo(msg, dst); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return "", errors.New("no echo reply")
			}
			return "", err
		}
		b := buf[:n]
		// Some kernels hand raw sockets the IPv4 header too; skip it.
		if n >= 20 && b[0]>>4 == 4 {
			if hl := int(b[0]&0x0f) * 4; n >= hl {
				b = b[hl:]
			}
		}
		if len(b) < 8 || b[0] != 0 || int(b[4])<<8|int(b[5]) != id || b[7] != seq {
			continue
		}
		if a, ok := from.(*net.IPAddr); ok && !a.IP.Equal(dst.IP) {
			continue
		}
		return fmt.Sprintf("(echo reply in %v)", time.Since(start).Round(time.Microsecond)), nil
	}
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
