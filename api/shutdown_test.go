package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// heldApply makes a plan and starts applying it with every push held, and
// returns a channel with the apply's answer (or an error text).
func heldApply(t *testing.T, s *testServer, ctx context.Context) (<-chan string, uint64) {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/plans", []byte(`{}`), s.as(store.RoleOperator))
	var p struct {
		ID      uint64
		Changed []string `json:"changed_targets"`
	}
	if r.status != 201 || json.Unmarshal(r.body, &p) != nil || len(p.Changed) == 0 {
		t.Fatalf("plan: %d %s", r.status, r.body)
	}
	s.targets.hold = make(chan struct{})
	out := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/api/v1/plans/%d/apply", s.url, p.ID), bytes.NewReader([]byte(`{"allow_essential_change":true}`)))
		req.Header = s.as(store.RoleAdmin)
		resp, err := s.cli.Do(req)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		out <- fmt.Sprintf("%d %s", resp.StatusCode, b.String())
	}()
	// Wait until the apply is in flight: its run is recorded as running.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int64
		s.st.DB.Model(&store.ApplyRun{}).Where("status = ?", "running").Count(&n)
		if n > 0 {
			return out, p.ID
		}
		if time.Now().After(deadline) {
			t.Fatal("the apply did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownFinishesPushes: a stop while an apply is pushing waits for
// the push, and the caller gets its answer.
func TestShutdownFinishesPushes(t *testing.T) {
	s := newTestServer(t, nil)
	answer, _ := heldApply(t, s, context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.http.Config.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("shutdown returned with a push in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(s.targets.hold)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish after the push")
	}
	got := <-answer
	if !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"status":"succeeded"`) {
		t.Fatalf("apply answer: %s", got)
	}
}

// TestApplySurvivesCallerLeaving: a caller that hangs up mid-apply does
// not stop the push half-way; the run finishes and is recorded.
func TestApplySurvivesCallerLeaving(t *testing.T) {
	s := newTestServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	answer, _ := heldApply(t, s, ctx)
	cancel()
	if got := <-answer; !strings.HasPrefix(got, "error:") {
		t.Fatalf("the caller was answered: %s", got)
	}
	close(s.targets.hold)
	for deadline := time.Now().Add(10 * time.Second); ; {
		var run store.ApplyRun
		if err := s.st.DB.Order("id DESC").Take(&run).Error; err == nil && run.Status != "running" {
			if run.Status != "succeeded" {
				t.Fatalf("run %d: %s %s", run.ID, run.Status, run.Summary)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the apply did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.targets.mu.Lock()
	defer s.targets.mu.Unlock()
	if s.targets.running["core-fw"] == "" || s.targets.running["access-ovs"] == "" {
		t.Errorf("targets not applied: %v", s.targets.applies)
	}
}
