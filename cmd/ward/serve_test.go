package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/localsession"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/testenv"
)

// TestServeSettingsPrecedence: a flag beats its WARD_* variable, which
// beats the settings file, which beats the default.
func TestServeSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ward.hcl", `# ward serve settings
listen     = "127.0.0.1:9443"
log_level  = "debug"
alert_rate = 12.5
no_enforce = true
db         = "sqlite:///var/lib/ward/ward.db"
`)
	t.Setenv("WARD_LOG_LEVEL", "warn")
	t.Setenv("WARD_DB", "postgres://ward@db/ward")
	var errb strings.Builder
	c := &cli{stderr: &errb}
	fs, s := serveFlags(c)
	if _, _, ok := parseFlags(fs, []string{"-db", "sqlite://./flag.db"}); !ok {
		t.Fatal(errb.String())
	}
	if err := applySettings(fs, file, "config"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ what, got, want string }{
		{"listen (file)", s.listen, "127.0.0.1:9443"},
		{"log-level (env over file)", s.logLevel, "warn"},
		{"db (flag over env and file)", s.db, "sqlite://./flag.db"},
		{"log-format (default)", s.logFormat, "text"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
	if s.alertRate != 12.5 || !s.noEnforce {
		t.Errorf("alert-rate %v no-enforce %v, want 12.5 true (file)", s.alertRate, s.noEnforce)
	}

	for _, tc := range []struct{ name, file, env, want string }{
		{"unknown setting", "listen = \"127.0.0.1:1\"\nlisen = \"x\"\n", "", `ward.hcl:2: unknown setting "lisen"`},
		{"dash instead of underscore", "\"tls-cert\" = \"x\"\n", "", "ward.hcl"},
		{"bad value", "\nreconcile_interval = \"soon\"\n", "", `ward.hcl:2: reconcile_interval = "soon"`},
		{"bad type", "alert_rate = [1]\n", "", "ward.hcl:1: alert_rate: want a string, number or true/false"},
		{"a block", "api {\n}\n", "", "no blocks"},
		{"bad environment", "", "often", `WARD_RECONCILE_INTERVAL="often"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "ward.hcl", tc.file)
			t.Setenv("WARD_RECONCILE_INTERVAL", tc.env)
			fs, _ := serveFlags(&cli{stderr: io.Discard})
			if _, _, ok := parseFlags(fs, nil); !ok {
				t.Fatal("parse")
			}
			err := applySettings(fs, path, "config")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestServeHelp: ward serve -h names every setting's variable and the
// order of precedence.
func TestServeHelp(t *testing.T) {
	code, _, errs := runWard(t, "serve", "-h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	fs, _ := serveFlags(&cli{stderr: io.Discard})
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(errs, "-"+f.Name) || !strings.Contains(errs, envName(f.Name)) {
			t.Errorf("help does not show -%s with %s", f.Name, envName(f.Name))
		}
	})
	for _, want := range []string{"order of precedence", "WARD_CONFIG", "WARD_ALERT_TOKEN", "ward token create", "SIGHUP"} {
		if !strings.Contains(errs, want) {
			t.Errorf("help lacks %q:\n%s", want, errs)
		}
	}
}

func TestTokenCommands(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	code, out, errs := runWard(t, "token", "create", "-role", "operator", "-name", "siem", "-expires", "90d", "-db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	secret := regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	if secret == "" || !strings.Contains(out, "shown only now") {
		t.Fatalf("no token in:\n%s", out)
	}
	if code, _, errs := runWard(t, "token", "create", "-role", "root", "-db", db); code != 1 || !strings.Contains(errs, "viewer, auditor, operator, admin") {
		t.Errorf("unknown role: exit %d %s", code, errs)
	}
	if code, _, errs := runWard(t, "token", "create", "-db", db); code != 2 || !strings.Contains(errs, "-role is required") {
		t.Errorf("no role: exit %d %s", code, errs)
	}
	if code, _, errs := runWard(t, "token", "create", "-role", "viewer", "-expires", "soon", "-db", db); code != 2 || !strings.Contains(errs, "-expires") {
		t.Errorf("bad expiry: exit %d %s", code, errs)
	}
	code, out, _ = runWard(t, "token", "list", "-db", db)
	if code != 0 || !strings.Contains(out, "siem") || !strings.Contains(out, "operator") || !strings.Contains(out, "valid") || strings.Contains(out, secret) {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	if code, out, errs := runWard(t, "token", "revoke", "siem", "-db", db); code != 0 || !strings.Contains(out, "Revoked") {
		t.Fatalf("revoke: exit %d %s %s", code, out, errs)
	}
	code, out, _ = runWard(t, "token", "list", "-json", "-db", db)
	var rows []struct{ Name, Status string }
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 || len(rows) != 1 || rows[0].Status != "revoked" {
		t.Fatalf("list -json after revoke: %s (%v)", out, err)
	}
	if code, _, errs := runWard(t, "token", "revoke", "siem", "-db", db); code != 1 || !strings.Contains(errs, "revoked already") {
		t.Errorf("revoke twice: exit %d %s", code, errs)
	}
	code, out, _ = runWard(t, "audit", "-db", db)
	if code != 0 || !strings.Contains(out, "token.create") || !strings.Contains(out, "token.revoke") {
		t.Errorf("audit:\n%s", out)
	}
}

// TestServeTLS runs ward serve with a certificate: the API answers over
// HTTPS to a client that trusts it, and not over plain HTTP.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	db := "sqlite://" + filepath.Join(dir, "ward.db")
	code, out, errs := runWard(t, "token", "create", "-role", "viewer", "-name", "dash", "-db", db)
	if code != 0 {
		t.Fatal(errs)
	}
	secret := regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncBuffer{}
	c := &cli{stdin: strings.NewReader(""), stdout: logs, stderr: logs, ctx: ctx}
	// The settings file gives the certificate; the flag the address.
	conf := writeFile(t, dir, "ward.hcl", "tls_cert = \""+certFile+"\"\ntls_key = \""+keyFile+"\"\nno_enforce = true\n")
	go func() {
		done <- c.run([]string{"serve", "-listen", addr, "-policy", examplePolicy, "-db", db, "-config", conf})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("ward serve exited %d:\n%s", code, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("ward serve did not stop")
		}
	}()
	cli := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err = cli.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("ward serve exited %d:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err = cli.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"dash"`) || resp.TLS == nil {
		t.Fatalf("whoami over TLS: %d %s", resp.StatusCode, body)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + addr + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP answered 200: %s", b)
		}
	}
	if !strings.Contains(logs.String(), "Listening on https://") {
		t.Errorf("logs do not say https:\n%s", logs.String())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// a pool that trusts it.
func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ward test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, dir, "tls.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile := writeFile(t, dir, "tls.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeLogFormats: -log-format json writes one JSON object a line,
// and -log-level hides what is below it.
func TestServeLogFormats(t *testing.T) {
	var b strings.Builder
	log, err := newLogger(&cli{stderr: &b}, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "target", "core-fw")
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(b.String())), &rec); err != nil || rec["msg"] != "shown" || rec["target"] != "core-fw" || rec["level"] != "WARN" {
		t.Fatalf("json log %q: %v", b.String(), err)
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "loud"}} {
		if _, err := newLogger(&cli{stderr: io.Discard}, bad[0], bad[1]); err == nil {
			t.Errorf("newLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// recordingSession runs commands on a session and keeps every command
// line, so a test can say what was never sent.
type recordingSession struct {
	drivers.Session
	mu   *sync.Mutex
	sent *[]string
}

func (s recordingSession) Run(ctx context.Context, cmd string) (string, error) {
	s.mu.Lock()
	*s.sent = append(*s.sent, cmd)
	s.mu.Unlock()
	return s.Session.Run(ctx, cmd)
}

// quarantineNetns makes a network namespace whose nftables hold Ward's
// quarantine sets (as linux_nftables renders them).
func quarantineNetns(t *testing.T) string {
	t.Helper()
	testenv.NeedRoot(t, "nft in a network namespace")
	testenv.NeedCommand(t, "nft", "nftables")
	ns := drivertest.Netns(t)
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(`table inet ward {
	set quarantine_isolate_v4 { type ipv4_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
	set quarantine_isolate_v6 { type ipv6_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
	set quarantine_restrict_v4 { type ipv4_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
	set quarantine_restrict_v6 { type ipv6_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
}
`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("loading the quarantine sets into %s: %v: %s", ns, err, out)
	}
	return ns
}

func netnsSet(t *testing.T, ns, set string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "set", "inet", "ward", set).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set %s: %v: %s", set, err, out)
	}
	_, elems, _ := strings.Cut(string(out), "elements = {")
	elems, _, _ = strings.Cut(elems, "}")
	return " " + strings.Join(strings.Fields(strings.ReplaceAll(elems, ",", " ")), " ") + " "
}

// TestServeStartExpiresBeforeReconcile: ward serve's start-up on a real
// nftables firewall. A quarantine whose time ran out while Ward was down
// is removed from the firewall if it is still there, and never sent to it
// again if the firewall lost it meanwhile (no add command at all), while
// an active quarantine the firewall lost is added back.
func TestServeStartExpiresBeforeReconcile(t *testing.T) {
	ns := quarantineNetns(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, out, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	const tvIP, lblIP = "10.61.190.241", "10.61.130.11"
	var mu sync.Mutex
	var sent []string
	manager := func() (*quarantine.Manager, *store.Store) {
		t.Helper()
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
		cfg, diags := c.loadPolicy(examplePolicy)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		m, st, ok := c.newManager(t.Context(), inforce.New(cfg, nil, nil), db, true, func(o *quarantine.Options) {
			o.Dial = func(ctx context.Context, target string) (drivers.Session, error) {
				if target != "core-fw" {
					return nil, fmt.Errorf("no target %s in this test", target)
				}
				return recordingSession{localsession.New(localsession.Options{Netns: ns}), &mu, &sent}, nil
			}
		})
		if !ok {
			t.Fatal("cannot build the quarantine manager")
		}
		return m, st
	}
	m, st := manager()
	if err := st.SaveTargetState(t.Context(), store.TargetState{Target: "core-fw", Content: "{}", Hash: "x", AppliedAt: time.Now()},
		store.AuditEntry{Actor: "test", Action: "apply.target", Object: "core-fw"}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)

	for _, lost := range []bool{false, true} {
		name := map[bool]string{false: "still-on-the-firewall", true: "lost-by-the-firewall"}[lost]
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			for _, r := range []quarantine.Request{
				{Device: "tv-netlab-01", Level: quarantine.LevelIsolate, TTL: time.Second, Actor: "test"},
				{Device: "lbl-icu-01", Level: quarantine.LevelRestrict, Actor: "test"},
			} {
				if out, err := m.Quarantine(ctx, r); err != nil || out.EnforceError != "" {
					t.Fatalf("quarantine %s: %v %+v", r.Device, err, out)
				}
			}
			if !strings.Contains(netnsSet(t, ns, "quarantine_isolate_v4"), " "+tvIP+" ") {
				t.Fatal("the isolate was not enforced before the stop")
			}
			m.Close()
			st.Close() // Ward is down
			if lost {
				for _, set := range []string{"quarantine_isolate_v4", "quarantine_restrict_v4"} {
					if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "flush", "set", "inet", "ward", set).CombinedOutput(); err != nil {
						t.Fatalf("flush %s: %v %s", set, err, out)
					}
				}
			}
			time.Sleep(1500 * time.Millisecond) // the isolate's time runs out
			mu.Lock()
			sent = nil
			mu.Unlock()
			m, st = manager()
			startup(ctx, m, log)

			if got := netnsSet(t, ns, "quarantine_isolate_v4"); strings.Contains(got, " "+tvIP+" ") {
				t.Errorf("after the start the isolate set holds %s, whose quarantine expired while Ward was down: %s", tvIP, got)
			}
			if got := netnsSet(t, ns, "quarantine_restrict_v4"); !strings.Contains(got, " "+lblIP+" ") {
				t.Errorf("after the start the restrict set lacks %s, whose quarantine is active: %s", lblIP, got)
			}
			mu.Lock()
			for _, c := range sent {
				if strings.Contains(c, "add element") && strings.Contains(c, tvIP) && !strings.Contains(c, "delete element") {
					t.Errorf("the start sent %s back to the firewall after its quarantine expired: %s", tvIP, c)
				}
			}
			mu.Unlock()
			list, err := m.List(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range list {
				if l.Device == "tv-netlab-01" && l.Status != quarantine.StatusExpired {
					t.Errorf("quarantine #%d of tv-netlab-01 is %s after the start, want expired", l.ID, l.Status)
				}
			}
			if _, err := m.Release(ctx, "lbl-icu-01", "test"); err != nil {
				t.Fatal(err)
			}
		})
	}
	m.Close()
	st.Close()
}

// TestServeRefusesShortLease: a lease under 300 ms is refused with the
// other flags, exit 2, before the database is opened.
func TestServeRefusesShortLease(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ward.db")
	code, _, errs := runWard(t, "serve", "-lease", "100ms", "-db", "sqlite://"+db, "-listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errs, "-lease 100ms is too short: give 300ms or more") {
		t.Fatalf("ward serve -lease 100ms: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was made before the flags were checked: %v", err)
	}
}
