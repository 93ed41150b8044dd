package quarantine

import (
	"context"
	"fmt"
	"testing"

	"github.com/wardnet/ward/internal/intent"
)

// TestPushHistory: a quarantine's pushes and the reconciles that change
// a target are in its history; a reconcile that finds everything in
// place (every interval under ward serve) adds nothing.
func TestPushHistory(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r := intake(t, e, genericAlert("h1", tvIP, "high"))[0]
	if r.Action != LevelIsolate || r.QuarantineID == 0 {
		t.Fatalf("%+v, want an isolate", r)
	}
	pushes := func() []string {
		t.Helper()
		h, err := e.st.QuarantineHistory(ctx, r.QuarantineID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range h.Pushes {
			out = append(out, fmt.Sprintf("%s %v", p.Target, p.OK))
		}
		return out
	}
	after := fmt.Sprint(pushes())
	if after != "[access-ovs true core-fw true]" && after != "[core-fw true access-ovs true]" {
		t.Fatalf("history after the isolate %s, want a push to core-fw and access-ovs", after)
	}
	for range 3 {
		if _, err := e.m.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(pushes()); got != after {
		t.Errorf("reconciles that changed nothing added to the history: %s, was %s", got, after)
	}
	// The firewall lost the address: the reconcile that restores it is a
	// push of its own.
	e.f.mu.Lock()
	delete(e.f.sets["core-fw"][intent.IsolateSet], tvIP)
	e.f.mu.Unlock()
	if _, err := e.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(pushes()); got != 3 {
		t.Errorf("%d pushes after a reconcile restored core-fw, want 3: %v", got, pushes())
	}
}
