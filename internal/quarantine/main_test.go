package quarantine

import (
	"flag"
	"os"
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
