package quarantine

import (
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store/pgtest"
)

// childTests are the entry points of the child processes that the
// two-process tests start by re-executing this binary. They are not tests
// of their own: unless this binary was started as such a child, TestMain
// leaves them out, so a run never reports them as skipped.
const childTests = "^(TestQuarantineChild|TestKillChild|TestReconcileKillChild)$"

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(childEnv) == "" && os.Getenv(killChildEnv) == "" && os.Getenv(reconcileChildEnv) == "" {
		skip := childTests
		if cur := flag.Lookup("test.skip").Value.String(); cur != "" {
			skip = cur + "|" + skip
		}
		if err := flag.Set("test.skip", skip); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// startChild starts this test binary again, running only the child test
// name with env set to url (the shared database), and returns the process,
// its standard output (the child's progress lines) and what it writes to
// standard error (for failure messages). It ends with ctx.
func startChild(t *testing.T, ctx context.Context, name, env, url string) (*exec.Cmd, io.ReadCloser, *strings.Builder) {
	t.Helper()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.timeout=2m")
	child.Env = append(os.Environ(), env+"="+url)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	return child, stdout, stderr
}
