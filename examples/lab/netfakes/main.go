// Command netfakes serves the example lab's network-OS targets: one fake
// device per target whose driver is cisco_iosxe, arista_eos or
// juniper_junos (drivers/ciscoiosxe/iosxefake, drivers/aristaeos/eosfake,
// drivers/juniperjunos/junosfake), each an SSH server on the target's
// address from the policy with a host key kept in a file, so Ward reaches
// it exactly as it reaches a switch: its driver, scrapligo's standard
// transport, the host key pinned in known_hosts, the credential store.
//
// examples/lab/lab.sh writes the configuration, builds this program and
// runs it (in the namespace ward-nf) until "lab.sh down" sends SIGTERM:
//
//	netfakes -config $STATE/netfakes.conf -inventory inventory.csv \
//	    -authorized-keys $STATE/ssh/authorized_keys -pidfile $STATE/run/netfakes.pid \
//	    -dump $STATE/netfakes
//
// The configuration has one line per target, tab-separated:
//
//	NAME  DRIVER  LISTEN(host:port)  HOSTKEY(private key file)  USER  PASSWORD-FILE
//
// The fakes keep their running configuration in memory: a restart is a
// factory reset. What they hold now is written to DUMP/NAME.cfg after every
// change (for people; nothing reads it back), and every command line each
// fake receives is logged on stderr with the target's name.
//
// The fakes are test doubles whose grammar is the part of each OS Ward's
// drivers use, with the OS's own error texts (see each fake's package doc);
// they are not emulators of the whole OS.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wardnet/ward/drivers/aristaeos/eosfake"
	"github.com/wardnet/ward/drivers/ciscoiosxe/iosxefake"
	"github.com/wardnet/ward/drivers/juniperjunos/junosfake"
	gossh "golang.org/x/crypto/ssh"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// target is one line of the configuration.
type target struct {
	Name, Driver, Listen, HostKey, User, PasswordFile string
}

// fake is what the program needs of a running fake device.
type fake interface {
	Log() []string
	Running() string
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("netfakes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "the targets to serve (one per line: name, driver, listen, host key file, user, password file; tab-separated)")
	inv := fs.String("inventory", "", "inventory CSV: each target's fake has the ports its rows name (column switch = the target, port)")
	authKeys := fs.String("authorized-keys", "", "authorized_keys file: these keys may log in too (optional)")
	pidfile := fs.String("pidfile", "", "written once every fake listens; removed on exit")
	dump := fs.String("dump", "", "directory to write each fake's running configuration to after every change (optional)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *config == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: netfakes -config FILE [-inventory CSV] [-authorized-keys FILE] [-pidfile FILE] [-dump DIR]")
		return 2
	}
	targets, err := readConfig(*config)
	if err != nil {
		log.Error("reading the configuration", "err", err)
		return 1
	}
	ports := map[string][]string{}
	if *inv != "" {
		if ports, err = inventoryPorts(*inv); err != nil {
			log.Error("reading the inventory", "err", err)
			return 1
		}
	}
	var keys []gossh.PublicKey
	if *authKeys != "" {
		if keys, err = readAuthorizedKeys(*authKeys); err != nil {
			log.Error("reading authorized keys", "err", err)
			return 1
		}
	}

	tb := &programTB{}
	defer tb.stop()
	fakes := map[string]fake{}
	for _, t := range targets {
		f, err := serve(tb, t, ports[t.Name], keys, log)
		if err != nil {
			log.Error("starting a fake", "target", t.Name, "driver", t.Driver, "listen", t.Listen, "err", err)
			return 1
		}
		fakes[t.Name] = f
		log.Info("serving", "target", t.Name, "driver", t.Driver, "listen", t.Listen, "user", t.User, "ports", len(ports[t.Name]))
	}
	if *pidfile != "" {
		if err := writeFileAtomic(*pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("pid file", "err", err)
			return 1
		}
		defer os.Remove(*pidfile)
	}
	if *dump != "" {
		if err := os.MkdirAll(*dump, 0o755); err != nil {
			log.Error("dump directory", "err", err)
			return 1
		}
	}
	watch(ctx, fakes, *dump, log)
	log.Info("stopping: every fake's configuration is lost (a restart is a factory reset)")
	return 0
}

// watch logs every command line the fakes receive and dumps their running
// configuration after a change, until ctx ends.
func watch(ctx context.Context, fakes map[string]fake, dump string, log *slog.Logger) {
	seen := map[string]int{}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for first := true; ; first = false {
		for _, name := range slices.Sorted(maps.Keys(fakes)) {
			f := fakes[name]
			lines := f.Log()
			if len(lines) == seen[name] && !first {
				continue
			}
			for _, l := range lines[seen[name]:] {
				log.Info("command", "target", name, "line", l)
			}
			seen[name] = len(lines)
			if dump != "" {
				if err := writeFileAtomic(filepath.Join(dump, name+".cfg"), []byte(f.Running()+"\n"), 0o644); err != nil {
					log.Warn("dumping the running configuration", "target", name, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// serve starts the fake of t's driver.
func serve(tb *programTB, t target, ports []string, keys []gossh.PublicKey, log *slog.Logger) (f fake, err error) {
	keyPEM, err := os.ReadFile(t.HostKey)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	hostKey, err := gossh.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", t.HostKey, err)
	}
	pw, err := readPassword(t.PasswordFile)
	if err != nil {
		return nil, err
	}
	err = tb.try(func() {
		switch t.Driver {
		case "cisco_iosxe":
			// The enable secret is the login password: Ward's network
			// session answers enable with it (drivers/netsession).
			f = iosxefake.Start(tb, iosxefake.Options{Hostname: t.Name, Username: t.User, Password: pw, AuthorizedKeys: keys,
				EnableSecret: pw, Ports: iosPorts(ports, log, t.Name), Listen: t.Listen, HostKey: hostKey})
		case "arista_eos":
			f = eosfake.Start(tb, eosfake.Options{Hostname: t.Name, Username: t.User, Password: pw, AuthorizedKeys: keys,
				Ports: eosPorts(ports, log, t.Name), Listen: t.Listen, HostKey: hostKey})
		case "juniper_junos":
			// Junos takes any interface name its grammar accepts: no port list.
			f = junosfake.Start(tb, junosfake.Options{Hostname: t.Name, User: t.User, Password: pw, AuthorizedKeys: keys,
				Listen: t.Listen, HostKey: hostKey})
		default:
			tb.Fatalf("no fake for driver %q (netfakes serves cisco_iosxe, arista_eos, juniper_junos)", t.Driver)
		}
	})
	return f, err
}

// iosTypePattern splits an IOS-XE port name into its type (perhaps
// abbreviated) and its number.
var iosTypePattern = regexp.MustCompile(`^([A-Za-z-]+)([0-9][0-9/.:]*)$`)

// iosTypes are IOS-XE interface types, in the order an abbreviation is
// matched against them (the first whose name it begins: "Tw" is
// TwoGigabitEthernet, "Twe" TwentyFiveGigE, as IOS abbreviates them).
func iosTypes() []string {
	return []string{"GigabitEthernet", "TenGigabitEthernet", "TwoGigabitEthernet", "TwentyFiveGigE", "FiveGigabitEthernet",
		"FortyGigabitEthernet", "HundredGigE", "FastEthernet", "AppGigabitEthernet"}
}

// iosPorts is the fake Catalyst's interfaces: GigabitEthernet1/0/1-48 (a
// 48-port member) and every port the inventory names on it, by its full
// name.
func iosPorts(inv []string, log *slog.Logger, name string) []string {
	var out []string
	for i := 1; i <= 48; i++ {
		out = append(out, fmt.Sprintf("GigabitEthernet1/0/%d", i))
	}
	for _, p := range inv {
		full := ""
		if m := iosTypePattern.FindStringSubmatch(p); m != nil {
			for _, typ := range iosTypes() {
				if strings.HasPrefix(strings.ToLower(typ), strings.ToLower(m[1])) {
					full = typ + m[2]
					break
				}
			}
		}
		if full == "" {
			log.Warn("inventory port is not an IOS-XE interface name; the fake switch lacks it", "target", name, "port", p)
			continue
		}
		if !slices.Contains(out, full) {
			out = append(out, full)
		}
	}
	return out
}

var eosPortPattern = regexp.MustCompile(`^(?i:Et|Eth|Ethernet)([0-9]+)$`)

// eosPorts is how many EthernetN the fake EOS switch has: 48, or the
// highest the inventory names.
func eosPorts(inv []string, log *slog.Logger, name string) int {
	n := 48
	for _, p := range inv {
		m := eosPortPattern.FindStringSubmatch(p)
		if m == nil {
			log.Warn("inventory port is not an EthernetN name; the fake switch lacks it", "target", name, "port", p)
			continue
		}
		if k, _ := strconv.Atoi(m[1]); k > n {
			n = k
		}
	}
	return n
}

// programTB is the fakes' clifake.TB for a program: Fatal panics (caught
// by try) and Cleanup's functions run at stop.
type programTB struct {
	cleanups []func()
}

type fatal struct{ msg string }

func (p *programTB) Helper()                           {}
func (p *programTB) Fatal(args ...any)                 { panic(fatal{fmt.Sprint(args...)}) }
func (p *programTB) Fatalf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }
func (p *programTB) Cleanup(f func())                  { p.cleanups = append(p.cleanups, f) }

// try runs f, turning a Fatal into an error.
func (p *programTB) try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ft, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = errors.New(ft.msg)
		}
	}()
	f()
	return nil
}

// stop runs the cleanups, last first.
func (p *programTB) stop() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func readConfig(path string) ([]target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []target
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 6 (name, driver, listen, host key file, user, password file), tab-separated", path, n, len(f))
		}
		t := target{Name: f[0], Driver: f[1], Listen: f[2], HostKey: f[3], User: f[4], PasswordFile: f[5]}
		if !namePattern.MatchString(t.Name) || !namePattern.MatchString(t.User) {
			return nil, fmt.Errorf("%s:%d: target %q, user %q: names are letters, digits, _.-", path, n, t.Name, t.User)
		}
		if seen[t.Name] || seen["listen "+t.Listen] {
			return nil, fmt.Errorf("%s:%d: target %s or address %s given twice", path, n, t.Name, t.Listen)
		}
		seen[t.Name], seen["listen "+t.Listen] = true, true
		if _, _, err := net.SplitHostPort(t.Listen); err != nil {
			return nil, fmt.Errorf("%s:%d: listen %q: %v", path, n, t.Listen, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no targets", path)
	}
	return out, nil
}

// inventoryPorts maps each switch named in the inventory to its ports.
func inventoryPorts(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	sw, port := slices.Index(rows[0], "switch"), slices.Index(rows[0], "port")
	if sw < 0 || port < 0 {
		return nil, fmt.Errorf("%s: no switch or port column", path)
	}
	out := map[string][]string{}
	for _, row := range rows[1:] {
		if len(row) <= max(sw, port) || row[sw] == "" || row[port] == "" {
			continue
		}
		out[row[sw]] = append(out[row[sw]], row[port])
	}
	return out, nil
}

func readAuthorizedKeys(path string) ([]gossh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []gossh.PublicKey
	for len(strings.TrimSpace(string(b))) > 0 {
		k, _, _, rest, err := gossh.ParseAuthorizedKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		keys = append(keys, k)
		b = rest
	}
	return keys, nil
}

// readPassword reads a one-line password from a file only its owner may
// read, as Ward's credential store holds it.
func readPassword(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("password file %s is accessible to other users (mode %04o)", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" || strings.ContainsAny(pw, "\r\n") {
		return "", fmt.Errorf("password file %s does not hold a one-line password", path)
	}
	return pw, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
