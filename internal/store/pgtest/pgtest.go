// Package pgtest starts a throwaway PostgreSQL cluster for tests, so that no
// test depends on a system PostgreSQL service, its configuration or its data.
//
// A cluster lives in a new temporary directory $TMPDIR/pgtest-* (initdb
// with trust authentication and the superuser role "ward"), listens on a free
// port on 127.0.0.1 only (its unix socket stays in that directory), runs with
// fsync, synchronous_commit and full_page_writes off for speed, and is removed
// again by Stop. Each test takes a fresh, empty database of its own from the
// cluster, so tests are isolated from each other without paying for a
// cluster each.
//
// Most tests need only URL, which returns the URL of a new database in the
// cluster shared by the whole test binary, and dropped again when the test
// ends:
//
//	func TestSomething(t *testing.T) {
//		db, err := gorm.Open(postgres.Open(pgtest.URL(t)), &gorm.Config{})
//		...
//	}
//
// The shared cluster is started by the first call of Shared or URL; stop it
// from TestMain after the tests have run:
//
//	func TestMain(m *testing.M) { code := m.Run(); pgtest.StopShared(); os.Exit(code) }
//
// Should the test binary exit without stopping a cluster (no TestMain, a
// panic, a -timeout, SIGKILL), a small watchdog process started with the
// cluster stops the server and removes its directory a moment later.
//
// When PostgreSQL cannot be run (its binaries are missing, or the server does
// not start), Shared and URL skip the test — `make deps` installs PostgreSQL —
// except when the environment variable CI is true: there they fail it, so that
// a CI run never passes without having run the PostgreSQL tests.
//
// The binaries are looked up with `pg_config --bindir`, then in the newest
// /usr/lib/postgresql/*/bin (Debian keeps them off PATH), then on PATH.
// initdb and postgres refuse to run as root; when the test runs as root they
// run as the system user "postgres" (created by Debian's postgresql package),
// or "nobody" if there is none.
//
// Start, Stop and NewDatabase are safe to use without the shared cluster, for
// tests that need a cluster of their own (for example to stop it under them).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wardnet/ward/internal/testenv"
)

const (
	// SuperUser is the superuser role of every cluster; it needs no password.
	SuperUser = "ward"

	startTimeout = 30 * time.Second // pg_ctl start plus the first connection
	startTries   = 5                // attempts when the chosen port was taken meanwhile
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string              // the temporary directory: data/, server.log, the unix socket
	bin  string              // directory holding initdb, pg_ctl and postgres
	cred *syscall.Credential // whom the server runs as; nil: as this process
	port int
	seq  atomic.Uint64 // database name counter

	watchdog *exec.Cmd // stops the server and removes dir if this process dies first
	disarm   *os.File  // the watchdog's stdin: "done" disarms it, EOF (our death) fires it
	stop     sync.Once
	stopErr  error
}

// Start initialises a cluster in a new temporary directory with initdb,
// starts it with pg_ctl on a free loopback TCP port (127.0.0.1 only, unix
// socket in the temporary directory, fsync=off, synchronous_commit=off,
// full_page_writes=off for speed), waits until it accepts connections, and
// returns it. Stop it with Stop. Start registers nothing global; besides the
// server it starts only the cluster's watchdog (see the package comment).
func Start() (*Cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	base := os.TempDir()
	if cred != nil && !othersCanEnter(base) {
		base = "/tmp" // the server user could not reach a directory under $TMPDIR
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, cred: cred}
	err = c.setup()
	if err == nil {
		c.armWatchdog()
		err = c.start()
	}
	if err != nil {
		c.Stop() // the server may have come up without answering
		return nil, err
	}
	return c, nil
}

// armWatchdog starts a process that stops the server and removes the
// directory when this process dies without calling Stop (a panic, a test
// timeout, SIGKILL): it waits on a pipe only this process writes to, which
// reaches EOF when this process is gone. It has its own process group, so a
// Ctrl-C at the terminal does not kill it before it has cleaned up, and runs
// as this process (not as the server user, who may not remove the directory
// from its parent). Without /bin/sh there is no watchdog, and a killed test
// binary leaves the server running.
func (c *Cluster) armWatchdog() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "pgtest-watchdog", c.dir)
	cmd.Stdin = r
	cmd.Dir = c.dir
	cmd.Env = cleanEnv(c.dir, false)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return
	}
	c.watchdog, c.disarm = cmd, w
}

// watchdogScript does what Stop does, in sh: SIGQUIT is PostgreSQL's
// immediate shutdown (pg_ctl stop -m immediate), and the postmaster removes
// its pid file when it and its children are gone.
const watchdogScript = `read x
[ "$x" = done ] && exit 0
pidfile="$1/data/postmaster.pid"
if [ -f "$pidfile" ] && read pid < "$pidfile"; then
	kill -QUIT "$pid" 2>/dev/null
	i=0
	while [ -e "$pidfile" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$pidfile" ] && kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
`

// Port returns the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Stop stops the server (pg_ctl stop -m immediate) and removes its directory.
// Calling it again does nothing and returns the first call's result.
func (c *Cluster) Stop() error {
	c.stop.Do(func() {
		var errs []error
		if out, err := c.pgCtl("stop", "-m", "immediate"); err != nil {
			errs = append(errs, fmt.Errorf("pgtest: pg_ctl stop: %v: %s", err, strings.TrimSpace(out)))
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("pgtest: %w", err))
		}
		if c.watchdog != nil {
			c.disarm.WriteString("done\n")
			c.disarm.Close()
			c.watchdog.Wait()
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// NewDatabase creates a fresh, empty database with a unique name and returns
// its URL ("postgres://ward@127.0.0.1:PORT/NAME?sslmode=disable"). Tests use
// one database each for isolation. It is safe for concurrent use.
func (c *Cluster) NewDatabase() (string, error) {
	name := fmt.Sprintf("pgtest_%d", c.seq.Add(1))
	if err := c.admin("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return c.url(name), nil
}

// dropDatabase drops a database made by NewDatabase, disconnecting whoever
// is still connected to it.
func (c *Cluster) dropDatabase(name string) error {
	if err := c.admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

func (c *Cluster) url(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", SuperUser, c.port, db)
}

// admin runs one statement in the maintenance database "postgres".
func (c *Cluster) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// shared is the one piece of package state: the cluster Shared starts once
// per test binary and StopShared stops. The Once makes starting it, and
// StopShared without a start, happen exactly once.
var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

var errStopped = errors.New("pgtest: the shared cluster was stopped (StopShared)")

// Shared is for TestMain-less use: the first call starts one cluster per
// test binary and returns it, later calls return the same cluster. When
// PostgreSQL cannot be run it skips the test (fails it when CI=true) and does
// not return. Stop the cluster with StopShared from TestMain.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() { shared.c, shared.err = Start() })
	if errors.Is(shared.err, errStopped) {
		t.Fatal(shared.err)
	}
	if shared.err != nil {
		unavailable(t, shared.err)
	}
	return shared.c
}

// URL is a convenience: Shared(t).NewDatabase(), failing t on error. The
// database is dropped again when the test ends (connections still open to
// it are cut).
func URL(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	u, err := c.NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	name := u[strings.LastIndexByte(u, '/')+1 : strings.IndexByte(u, '?')]
	t.Cleanup(func() {
		if err := c.dropDatabase(name); err != nil {
			t.Log(err) // only disk space is at stake; the cluster goes away with StopShared
		}
	})
	return u
}

// StopShared stops the shared cluster if one was started and removes its
// directory; call it from TestMain after m.Run(). Shared must not be called
// after it.
func StopShared() {
	shared.once.Do(func() { shared.err = errStopped }) // never started: nothing to do
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		shared.c, shared.err = nil, errStopped
	}
}

// unavailable skips t because PostgreSQL cannot be run, or fails it on CI
// (testenv decides).
func unavailable(t testing.TB, err error) {
	t.Helper()
	testenv.Unavailable(t, "PostgreSQL not available: %v", err)
}

// setup makes the directory the server user's and runs initdb in it.
func (c *Cluster) setup() error {
	if err := os.Chmod(c.dir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(c.dir, "data")
	args := []string{"-D", data, "-A", "trust", "-U", SuperUser, "-E", "UTF8", "--no-sync"}
	out, err := c.run("initdb", append(args, "--locale=C.UTF-8")...)
	if err != nil {
		// No C.UTF-8 locale (older or minimal systems): fall back to C.
		os.RemoveAll(data)
		out2, err2 := c.run("initdb", append(args, "--no-locale")...)
		if err2 != nil {
			return fmt.Errorf("pgtest: initdb --locale=C.UTF-8: %v\n%s\npgtest: initdb --no-locale: %v\n%s",
				err, tail(out, 20), err2, tail(out2, 20))
		}
	}
	// Appended settings override initdb's; the file stays the server user's.
	conf := fmt.Sprintf(`
# pgtest: a throwaway cluster for tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
`, strings.ReplaceAll(c.dir, `'`, `''`))
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	_, err = f.WriteString(conf)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// start starts the server on a free port, trying another port when the one
// chosen was taken before the server bound it, and waits until it accepts
// connections.
func (c *Cluster) start() error {
	logFile := filepath.Join(c.dir, "server.log")
	for try := 1; ; try++ {
		port, err := freePort()
		if err != nil {
			return fmt.Errorf("pgtest: free port: %w", err)
		}
		logStart := fileSize(logFile)
		out, err := c.pgCtl("start", "-l", logFile, "-o", "-p "+strconv.Itoa(port))
		if err != nil {
			log := readFrom(logFile, logStart)
			if try < startTries && portTaken(log) {
				continue
			}
			return fmt.Errorf("pgtest: pg_ctl start (port %d): %v\n%s\nserver log:\n%s",
				port, err, strings.TrimSpace(out), tail(log, 30))
		}
		c.port = port
		break
	}
	if err := c.waitReady(); err != nil {
		return fmt.Errorf("pgtest: server on port %d does not accept connections: %v\nserver log:\n%s",
			c.port, err, tail(readFrom(logFile, 0), 30))
	}
	return nil
}

// waitReady connects until the server answers, for up to startTimeout.
func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(context.Background())
		}
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pgCtl runs pg_ctl on the cluster's data directory, waiting for the
// operation to complete.
func (c *Cluster) pgCtl(args ...string) (string, error) {
	args = append([]string{args[0], "-D", filepath.Join(c.dir, "data"), "-w", "-t",
		strconv.Itoa(int(startTimeout / time.Second))}, args[1:]...)
	return c.run("pg_ctl", args...)
}

// run runs one of the PostgreSQL programs as the server user, in the
// cluster directory, with an environment that cannot redirect it elsewhere.
func (c *Cluster) run(prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.Env = cleanEnv(c.dir, c.cred != nil)
	cmd.WaitDelay = 5 * time.Second // the server pg_ctl starts must not hold our pipes
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is the environment without PG* variables (PGDATA, PGPORT, ...)
// and locale overrides, with English messages, so server errors can be
// recognised.
func cleanEnv(dir string, otherUser bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || k == "LC_ALL" || k == "LC_MESSAGES" || k == "LANGUAGE" ||
			(otherUser && (k == "HOME" || k == "USER" || k == "LOGNAME")) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LC_MESSAGES=C")
	if otherUser {
		env = append(env, "HOME="+dir)
	}
	return env
}

// findBinDir finds the directory holding initdb, pg_ctl and postgres:
// `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH.
func findBinDir() (string, error) {
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			if dir := strings.TrimSpace(string(out)); hasServer(dir) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest first: 17 before 9.6
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(initdb); hasServer(dir) {
			return dir, nil
		}
		// initdb may be a symlink into the real directory.
		if real, err := filepath.EvalSymlinks(initdb); err == nil && hasServer(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	return "", errors.New("pgtest: initdb, pg_ctl and postgres not found (looked in pg_config --bindir, /usr/lib/postgresql/*/bin and PATH)")
}

// hasServer reports whether dir holds initdb, pg_ctl and postgres (pg_ctl
// runs the postgres next to it).
func hasServer(dir string) bool {
	for _, prog := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, prog))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// compareVersions compares dotted version numbers numerically.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

// serverCredential returns whom to run initdb, pg_ctl and postgres as: nil
// (this process) unless it is root, which they refuse; then the "postgres"
// system user, or "nobody".
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			errs = append(errs, fmt.Errorf("user %s: unusable uid %s gid %s", name, u.Uid, u.Gid))
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("pgtest: running as root and no user to run PostgreSQL as: %w", errors.Join(errs...))
}

// othersCanEnter reports whether every directory from / down to dir can be
// entered by any user, so that the server user can reach a directory in it.
func othersCanEnter(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portTaken reports whether a server log says the port was in use.
func portTaken(log string) bool {
	return strings.Contains(log, "Address already in use") ||
		strings.Contains(log, "could not bind") ||
		strings.Contains(log, "could not create any TCP/IP sockets") ||
		strings.Contains(log, "could not create lock file")
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns a file's contents from offset on ("" if unreadable).
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
