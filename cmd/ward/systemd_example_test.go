package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSystemdExampleSettings: the settings file shipped with the systemd
// unit (examples/systemd/ward.hcl) is one ward serve accepts, and its
// environment file names only variables ward reads.
func TestSystemdExampleSettings(t *testing.T) {
	for _, k := range []string{"WARD_DB", "WARD_CREDENTIALS_DIR", "WARD_ALERT_TOKEN", "WARD_LEASE", "WARD_REPLICA"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	fs, s := serveFlags(c)
	if err := applySettings(fs, "../../examples/systemd/ward.hcl", "config"); err != nil {
		t.Fatal(err)
	}
	if s.replica != "ward-a" || s.lease != 3*time.Second || s.listen != "0.0.0.0:8443" || s.tlsCert == "" || s.advertise == "" {
		t.Errorf("settings read: replica %q lease %v listen %q tls %q advertise %q", s.replica, s.lease, s.listen, s.tlsCert, s.advertise)
	}
	env, err := os.ReadFile("../../examples/systemd/ward.env")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"WARD_DB": true, "WARD_CREDENTIALS_DIR": true, "WARD_ALERT_TOKEN": true, "WARD_AUDIT_KEY": true}
	for _, line := range strings.Split(string(env), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "=")
		if !known[name] && fs.Lookup(strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "WARD_"), "_", "-"))) == nil {
			t.Errorf("ward.env sets %s, which ward does not read", name)
		}
	}
}
