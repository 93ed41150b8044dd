package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
)

// Tests that need two OS processes re-execute the test binary with
// childEnv set to a mode; TestMain then runs childMain instead of the
// tests. The child reads its settings from the environment and reports
// through files in a directory the parent chose.
const childEnv = "WARD_JOBS_TEST_CHILD"

// child describes one child process.
type child struct {
	mode    string // counter | hold | queue-hold
	url     string // database
	dir     string // shared files
	target  string
	rounds  int
	ttl     time.Duration
	machine string // overrides the machine id, so the parent cannot judge the pid
	holder  string
}

func (c child) start(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"="+c.mode,
		"WARD_JOBS_URL="+c.url,
		"WARD_JOBS_DIR="+c.dir,
		"WARD_JOBS_TARGET="+c.target,
		"WARD_JOBS_ROUNDS="+strconv.Itoa(c.rounds),
		"WARD_JOBS_TTL="+c.ttl.String(),
		"WARD_JOBS_MACHINE="+c.machine,
		"WARD_JOBS_HOLDER="+c.holder,
	)
	out, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("child-%s-%d.log", c.mode, time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		out.Close()
	})
	return cmd
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	logs, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "child-*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "%s:\n%s\n", l, data)
	}
	t.Fatalf("%s did not appear within %s\n%s", path, within, b.String())
}

func childMain() int {
	if err := runChild(os.Getenv(childEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func runChild(mode string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv("WARD_JOBS_URL"))
	if err != nil {
		return err
	}
	defer st.Close()
	dir, target := os.Getenv("WARD_JOBS_DIR"), os.Getenv("WARD_JOBS_TARGET")
	ttl, _ := time.ParseDuration(os.Getenv("WARD_JOBS_TTL"))
	owner := NewOwner(st, OwnerOptions{Holder: os.Getenv("WARD_JOBS_HOLDER"), TTL: ttl, Wait: time.Minute})
	if m := os.Getenv("WARD_JOBS_MACHINE"); m != "" {
		owner.machine = m
	}
	switch mode {
	case "counter":
		rounds, _ := strconv.Atoi(os.Getenv("WARD_JOBS_ROUNDS"))
		for range rounds {
			if err := owner.Do(ctx, target, "counting", func(ctx context.Context) error { return bumpFenced(ctx, dir) }); err != nil {
				return err
			}
		}
		return nil
	case "hold":
		return owner.Do(ctx, target, "holding for a test", func(ctx context.Context) error {
			token, _ := drivers.FenceOf(ctx)
			// Written aside and renamed: the parent waits for the name
			// and must never read a file still empty.
			if err := os.WriteFile(filepath.Join(dir, "held.tmp"), []byte(strconv.FormatInt(token, 10)), 0o600); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(dir, "held.tmp"), filepath.Join(dir, "held")); err != nil {
				return err
			}
			<-ctx.Done()
			return ctx.Err()
		})
	case "queue-hold":
		q := NewQueue(st, owner, QueueOptions{Deadline: time.Hour, Poll: 20 * time.Millisecond})
		q.Handle("push", func(ctx context.Context, j store.Job) error {
			if err := os.WriteFile(filepath.Join(dir, "started"), []byte(strconv.FormatUint(j.ID, 10)), 0o600); err != nil {
				return err
			}
			<-ctx.Done()
			return ctx.Err()
		})
		return q.Run(ctx)
	case "queue-run":
		// Run until dir/stop appears, recording each job in its
		// target's log.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for {
				if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
					cancel()
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		q := NewQueue(st, owner, QueueOptions{Poll: 20 * time.Millisecond})
		q.Handle("push", func(ctx context.Context, j store.Job) error { return record(dir, j) })
		return q.Run(ctx)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// bump increments the counter in dir/counter, failing if another bump is
// running at the same time (an O_EXCL marker file exists).
func bump(dir string) error {
	marker := filepath.Join(dir, "inside")
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			_ = os.WriteFile(filepath.Join(dir, "overlap"), []byte(strconv.Itoa(os.Getpid())), 0o600)
		}
		return fmt.Errorf("overlap: %w", err)
	}
	f.Close()
	path := filepath.Join(dir, "counter")
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// A moment between read and write, so that an overlap loses an update.
	time.Sleep(time.Millisecond)
	if err := os.WriteFile(path, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
		return err
	}
	return os.Remove(marker)
}

// bumpFenced is bump that first appends fn's fencing token to
// dir/tokens, in the order the holders ran.
func bumpFenced(ctx context.Context, dir string) error {
	token, ok := drivers.FenceOf(ctx)
	if !ok {
		return errors.New("no fencing token in Do's context")
	}
	f, err := os.OpenFile(filepath.Join(dir, "tokens"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, token)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return bump(dir)
}

// record appends j's payload and our pid to its target's log in dir,
// failing if another job of the target is being recorded at the same time.
func record(dir string, j store.Job) error {
	marker := filepath.Join(dir, j.Target+".inside")
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		_ = os.WriteFile(filepath.Join(dir, "overlap"), []byte(j.Target), 0o600)
		return fmt.Errorf("overlap on %s: %w", j.Target, err)
	}
	f.Close()
	time.Sleep(time.Millisecond)
	log, err := os.OpenFile(filepath.Join(dir, j.Target+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(log, "%s %d\n", j.Payload, os.Getpid())
	if cerr := log.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Remove(marker)
}

// kill9 kills cmd with SIGKILL and reaps it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}
