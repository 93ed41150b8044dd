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
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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
	if code, _, errs := runWard(t, "token", "create", "-role", "root", "-db", db); code != 1 || !strings.Contains(errs, "viewer, operator, admin") {
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
