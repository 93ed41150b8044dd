package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestMain(m *testing.M) { code := m.Run(); StopShared(); os.Exit(code) }

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSharedDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	c := Shared(t)
	if Shared(t) != c {
		t.Fatal("Shared returned two different clusters")
	}
	u1, u2 := URL(t), URL(t)
	if u1 == u2 {
		t.Fatalf("two databases with the same URL %s", u1)
	}
	for _, u := range []string{u1, u2} {
		if !strings.HasPrefix(u, "postgres://ward@127.0.0.1:"+strconv.Itoa(c.Port())+"/") ||
			!strings.HasSuffix(u, "?sslmode=disable") {
			t.Errorf("URL %s", u)
		}
	}
	db1, db2 := open(t, u1), open(t, u2)

	var version, user string
	if err := db1.QueryRowContext(ctx, "SELECT version(), current_user").Scan(&version, &user); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s, as %s, in %s", version, user, c.dir)
	if !strings.HasPrefix(version, "PostgreSQL ") || user != "ward" {
		t.Errorf("version() = %q, current_user = %q", version, user)
	}
	var isSuper string
	if err := db1.QueryRowContext(ctx, "SHOW is_superuser").Scan(&isSuper); err != nil || isSuper != "on" {
		t.Errorf("is_superuser = %q, %v", isSuper, err)
	}
	for setting, want := range map[string]string{"fsync": "off", "synchronous_commit": "off",
		"full_page_writes": "off", "listen_addresses": "127.0.0.1", "server_encoding": "UTF8"} {
		var got string
		if err := db1.QueryRowContext(ctx, "SHOW "+setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", setting, got, err, want)
		}
	}

	if _, err := db1.ExecContext(ctx, "CREATE TABLE devices (id serial PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db1.ExecContext(ctx, "INSERT INTO devices (name) VALUES ('infusion-pump-7')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db1.QueryRowContext(ctx, "SELECT count(*) FROM devices").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count in the first database = %d, %v", n, err)
	}
	var reg sql.NullString
	if err := db2.QueryRowContext(ctx, "SELECT to_regclass('public.devices')::text").Scan(&reg); err != nil {
		t.Fatal(err)
	}
	if reg.Valid {
		t.Fatalf("table devices of the first database is visible in the second as %s", reg.String)
	}
	if _, err := db2.ExecContext(ctx, "SELECT 1 FROM devices"); err == nil {
		t.Fatal("querying devices in the second database worked")
	}
}

func TestURLDropsDatabaseAfterTest(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		u := URL(t)
		name = u[strings.LastIndexByte(u, '/')+1 : strings.IndexByte(u, '?')]
		db := open(t, u) // left open on purpose: the drop must cut it off
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
	})
	db := open(t, URL(t))
	var exists bool
	if err := db.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test", name)
	}
}

// TestStartStop runs a cluster of its own and checks Stop leaves nothing behind.
func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second cluster")
	}
	begin := time.Now()
	c, err := Start()
	if err != nil {
		unavailable(t, err)
	}
	t.Logf("Start took %v (port %d, %s)", time.Since(begin).Round(time.Millisecond), c.Port(), c.dir)
	defer c.Stop()
	if fi, err := os.Stat(c.dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cluster directory %s: %v %v", c.dir, fi.Mode(), err)
	}
	if !strings.HasPrefix(c.dir, os.TempDir()+"/pgtest-") && !strings.HasPrefix(c.dir, "/tmp/pgtest-") {
		t.Errorf("cluster directory %s is not a pgtest-* temporary directory", c.dir)
	}
	u, err := c.NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	if err := open(t, u).Ping(); err != nil {
		t.Fatal(err)
	}
	// Only loopback: the server must not listen on other addresses.
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())), time.Second); err != nil {
		t.Fatal(err)
	} else {
		conn.Close()
	}

	begin = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %v", time.Since(begin).Round(time.Millisecond))
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still there after Stop: %v", c.dir, err)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())), time.Second); err == nil {
		conn.Close()
		t.Errorf("port %d still accepts connections after Stop", c.Port())
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{{"15", "9.6", 1}, {"9.6", "10", -1}, {"17", "17", 0}, {"16", "15", 1}} {
		got := compareVersions(tc.a, tc.b)
		if (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("compareVersions(%q, %q) = %d", tc.a, tc.b, got)
		}
	}
}

// TestKilledBinaryLeavesNothing runs this test binary again, has it start the
// shared cluster and SIGKILL itself, and checks the watchdog stops the
// server and removes its directory.
func TestKilledBinaryLeavesNothing(t *testing.T) {
	if os.Getenv("PGTEST_KILL_ME") == "1" {
		c := Shared(t)
		fmt.Printf("CLUSTER %d %s\n", c.Port(), c.dir)
		os.Stdout.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if testing.Short() {
		t.Skip("starts a second cluster")
	}
	Shared(t) // skips (or fails on CI) like the child would if PostgreSQL cannot run
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledBinaryLeavesNothing$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PGTEST_KILL_ME=1")
	out, err := cmd.Output()
	var port int
	var dir string
	if _, serr := fmt.Sscanf(string(out), "CLUSTER %d %s", &port, &dir); serr != nil || !strings.Contains(dir, "pgtest-") {
		t.Fatalf("child: %v, output %q: %v", err, out, serr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		conn, dialErr := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if dialErr == nil {
			conn.Close()
		}
		if errors.Is(statErr, os.ErrNotExist) && dialErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the test binary was killed: directory %s: %v; port %d accepting: %v",
				dir, statErr, port, dialErr == nil)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
