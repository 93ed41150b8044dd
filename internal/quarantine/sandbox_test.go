package quarantine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// loopOnID loops for the alert whose id is "loop" (only the deadline
// stops it) and isolates on any other alert.
const loopOnID = `package ward.quarantine

spin if {
	input.alert.id == "loop"
	count([1 | some a in numbers.range(1, 2000); some b in numbers.range(1, 2000); some c in numbers.range(1, 2000); a + b + c < 0]) == 0
}

decision := {"action": "notify", "pending": "", "reason": "spun"} if spin

decision := {"action": "isolate", "pending": "", "reason": "the SOC isolates"} if input.alert.id != "loop"
`

// TestManagerLoopingDecisionBecomesNotify: through the Manager, an alert
// whose decision loops is recorded as notify with the reason, within the
// decision deadline, enforcing nothing; an alert for another device sent
// meanwhile is decided and enforced as the module says. (Today the
// decision runs inside the store's decision transaction, so the other
// alert waits for the looping one's deadline; it is bounded by it.)
func TestManagerLoopingDecisionBecomesNotify(t *testing.T) {
	e := newEnv(t, func(cfg *policy.Config) {
		cfg.Modules = append(cfg.Modules, &policy.RegoModule{Filename: "soc.rego", Source: []byte(loopOnID)})
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	var loop Result
	var loopErr error
	var loopTook time.Duration
	start := time.Now()
	wg.Go(func() {
		var rs []Result
		rs, loopErr = e.m.Intake(ctx, []alert.Alert{genericAlert("loop", tvIP, "critical")})
		loopTook = time.Since(start)
		if len(rs) == 1 {
			loop = rs[0]
		}
	})
	time.Sleep(50 * time.Millisecond) // the loop is running
	other := intake(t, e, genericAlert("other", wsIP, "critical"))[0]
	otherTook := time.Since(start)
	wg.Wait()
	t.Logf("looping alert decided in %v, the other alert in %v", loopTook, otherTook)

	if loopErr != nil {
		t.Fatalf("the looping decision lost the alert: %v", loopErr)
	}
	if loop.Action != LevelNotify || loop.QuarantineID != 0 || !strings.Contains(loop.Reason, "did not finish within "+engine.DecisionTimeout.String()) {
		t.Errorf("looping decision: %+v, want notify with the deadline in the reason", loop)
	}
	if loopTook > engine.DecisionTimeout+3*time.Second {
		t.Errorf("the looping alert took %v, want about %v", loopTook, engine.DecisionTimeout)
	}
	if e.f.in(intent.IsolateSet, tvIP) || e.f.in(intent.RestrictSet, tvIP) {
		t.Errorf("the device of the looping decision was contained")
	}
	// ws-netlab-01 takes part in essential flows: Ward's guard turns the
	// module's isolate into restrict, isolate pending.
	if other.Action != LevelRestrict || other.Pending != LevelIsolate || !strings.Contains(other.Reason, "the SOC isolates") || !e.f.in(intent.RestrictSet, wsIP) {
		t.Errorf("the other alert: %+v (restrict set has it: %v), want decided by the module and enforced", other, e.f.in(intent.RestrictSet, wsIP))
	}
	if otherTook > engine.DecisionTimeout+3*time.Second {
		t.Errorf("the other alert took %v", otherTook)
	}

	var rec store.Alert
	if err := e.st.DB.Where("external_id = ?", "loop").Take(&rec).Error; err != nil {
		t.Fatal(err)
	}
	if rec.Action != LevelNotify || !strings.Contains(rec.Decision, "did not finish within") || !strings.Contains(rec.Decision, "ward.quarantine") {
		t.Errorf("alert record: action %q, decision %q; want notify with the reason kept", rec.Action, rec.Decision)
	}
}
