package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/aristaeos"
	"github.com/wardnet/ward/drivers/ciscoiosxe"
	"github.com/wardnet/ward/drivers/juniperjunos"
	"github.com/wardnet/ward/drivers/netsession"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// syncBuffer is the program's stderr, read while it runs.
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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// hostKey writes an OpenSSH private key file (as ssh-keygen does) and
// returns its public half.
func hostKey(t *testing.T, path string) gossh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestServesEachVendorWithItsKeyAndPorts runs the program as lab.sh does
// and logs in to each fake with its driver's own platform definition, the
// host key from its file pinned, reading the running configuration.
func TestServesEachVendorWithItsKeyAndPorts(t *testing.T) {
	dir := t.TempDir()
	reg := &drivers.Registry{}
	ciscoiosxe.Register(reg)
	aristaeos.Register(reg)
	juniperjunos.Register(reg)

	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("lab-secret\n"), 0o600)
	inv := filepath.Join(dir, "inventory.csv")
	os.WriteFile(inv, []byte("name,ip,switch,port\n"+
		"a,10.0.0.1,sw-ios,Gi2/0/7\n"+
		"b,10.0.0.2,sw-eos,Ethernet85\n"+
		"c,10.0.0.3,sw-junos,ge-1/0/13\n"), 0o644)

	type want struct{ name, driver, show, has string }
	cases := []want{
		{"sw-ios", "cisco_iosxe", "show running-config", "interface GigabitEthernet2/0/7"},
		{"sw-eos", "arista_eos", "show running-config", "interface Ethernet85"},
		{"sw-junos", "juniper_junos", "show configuration | display set", ""},
	}
	var conf, kh strings.Builder
	addrs := map[string]string{}
	for _, c := range cases {
		addr := freeAddr(t)
		addrs[c.name] = addr
		key := filepath.Join(dir, "hostkey-"+c.name)
		pub := hostKey(t, key)
		fmt.Fprintf(&conf, "%s\t%s\t%s\t%s\tward\t%s\n", c.name, c.driver, addr, key, pwFile)
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, pub) + "\n")
	}
	cfgFile := filepath.Join(dir, "netfakes.conf")
	os.WriteFile(cfgFile, []byte("# comment\n"+conf.String()), 0o644)
	khFile := filepath.Join(dir, "known_hosts")
	os.WriteFile(khFile, []byte(kh.String()), 0o644)
	pidfile := filepath.Join(dir, "netfakes.pid")
	dump := filepath.Join(dir, "dump")

	ctx, cancel := context.WithCancel(t.Context())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-config", cfgFile, "-inventory", inv, "-pidfile", pidfile, "-dump", dump}, stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(pidfile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("netfakes exited %d before writing its pid file:\n%s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid file after 10s:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, c := range cases {
		info, ok := reg.Lookup(c.driver)
		if !ok {
			t.Fatalf("driver %s not registered", c.driver)
		}
		host, port, _ := net.SplitHostPort(addrs[c.name])
		p, _ := strconv.Atoi(port)
		s, err := netsession.Dial(t.Context(), netsession.Target{Name: c.name, Address: host, Port: p, Username: "ward", KnownHosts: khFile, Timeout: 20 * time.Second},
			netsession.Credential{Password: "lab-secret"}, info.Platform)
		if err != nil {
			t.Fatalf("%s: dialing with the driver's platform: %v\n%s", c.name, err, stderr)
		}
		out, err := s.Run(t.Context(), c.show)
		s.Close()
		if err != nil {
			t.Fatalf("%s: %s: %v", c.name, c.show, err)
		}
		if !strings.Contains(out, c.has) {
			t.Errorf("%s: %s lacks %q:\n%s", c.name, c.show, c.has, out)
		}
		// A wrong password is refused.
		if s, err := netsession.Dial(t.Context(), netsession.Target{Name: c.name, Address: host, Port: p, Username: "ward", KnownHosts: khFile, Timeout: 5 * time.Second},
			netsession.Credential{Password: "wrong"}, info.Platform); err == nil {
			s.Close()
			t.Errorf("%s: logged in with a wrong password", c.name)
		}
	}
	// The commands were logged with the target's name, the configurations dumped.
	time.Sleep(600 * time.Millisecond)
	for _, c := range cases {
		if !strings.Contains(stderr.String(), "target="+c.name+" line=\""+c.show+"\"") {
			t.Errorf("%s: the command %q is not in the log:\n%s", c.name, c.show, stderr)
		}
		if _, err := os.Stat(filepath.Join(dump, c.name+".cfg")); err != nil {
			t.Errorf("%s: no dump: %v", c.name, err)
		}
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("netfakes exited %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	for _, c := range cases {
		if c, err := net.DialTimeout("tcp", addrs[c.name], time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listens after the end", c.RemoteAddr())
		}
	}
}

// TestRefusesBadConfiguration: a malformed line, an unknown driver and a
// world-readable password file stop the program before it serves anything.
func TestRefusesBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	hostKey(t, key)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("x\n"), 0o600)
	open := filepath.Join(dir, "pw-open")
	os.WriteFile(open, []byte("x\n"), 0o644)
	for name, line := range map[string]string{
		"five fields":    "sw\tcisco_iosxe\t127.0.0.1:0\t" + key + "\tward",
		"unknown driver": "sw\tnokia_srl\t127.0.0.1:0\t" + key + "\tward\t" + pw,
		"open password":  "sw\tcisco_iosxe\t127.0.0.1:0\t" + key + "\tward\t" + open,
		"bad listen":     "sw\tcisco_iosxe\t127.0.0.1\t" + key + "\tward\t" + pw,
	} {
		cfg := filepath.Join(dir, "conf")
		os.WriteFile(cfg, []byte(line+"\n"), 0o644)
		var stderr bytes.Buffer
		if code := run(t.Context(), []string{"-config", cfg}, &stderr); code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", name, code, stderr.String())
		}
	}
}
