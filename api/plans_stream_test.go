package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
)

// streamLine is any line of a streamed apply.
type streamLine struct {
	Event string `json:"event"`
	plan.PushResult
	PlanID  uint64            `json:"plan_id"`
	RunID   uint64            `json:"run_id"`
	Results []plan.PushResult `json:"results"`
}

// TestAPIApplyStreamsEachTargetAsItFinishes: with Accept:
// application/x-ndjson an apply answers one line per target as that target
// finishes — the quick ones reach the caller while a slow push is still in
// flight — then a last line with the run's summary, whose results are the
// lines sent. A refused apply is still a JSON error, not a stream.
func TestAPIApplyStreamsEachTargetAsItFinishes(t *testing.T) {
	s := newPlanServer(t)
	saved := s.createPlan(t)
	changed := saved.Changed
	if len(changed) < 2 || !slices.Contains(changed, "access-ovs") || !slices.Contains(changed, "core-fw") {
		t.Fatalf("the example's first plan changes %v; want access-ovs, core-fw and more", changed)
	}
	hold := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // a failing test must not leave pushes held
	s.targets.mu.Lock()
	s.targets.hold = hold                             // every push waits...
	s.targets.down = map[string]bool{"core-fw": true} // ...but core-fw fails at once
	s.targets.mu.Unlock()

	h := s.as(store.RoleAdmin)
	h.Set("Accept", "application/json;q=0.5, application/x-ndjson")
	body := []byte(`{"allow_essential_change":true,"reason":"streaming test"}`)
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/plans/%d/apply", s.url, saved.ID), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := s.cli.Do(req)
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		answered <- resp
	}()
	var resp *http.Response
	select {
	case resp = <-answered:
		if resp == nil {
			t.FailNow()
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10 s while a push is held: the apply is not streamed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, Content-Type %q; want 200 application/x-ndjson", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan streamLine)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l streamLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("line %q: %v", sc.Text(), err)
				return
			}
			lines <- l
		}
	}()
	next := func(within time.Duration) (streamLine, bool) {
		select {
		case l, ok := <-lines:
			return l, ok
		case <-time.After(within):
			t.Fatalf("no line within %s", within)
			return streamLine{}, false
		}
	}

	// core-fw's failure arrives while the other pushes are held.
	first, _ := next(10 * time.Second)
	if first.Event != "target" || first.Target != "core-fw" || first.Status != "failed" || first.Error == "" {
		t.Fatalf("first line %+v; want core-fw failed, with its error, while the others are held", first)
	}
	release()
	got := map[string]plan.PushResult{first.Target: first.PushResult}
	var summary streamLine
	for {
		l, ok := next(30 * time.Second)
		if !ok {
			break
		}
		if summary.Event != "" {
			t.Fatalf("a line after the summary: %+v", l)
		}
		switch l.Event {
		case "target":
			if _, twice := got[l.Target]; twice {
				t.Errorf("%s sent twice", l.Target)
			}
			got[l.Target] = l.PushResult
		case "summary":
			summary = l
		default:
			t.Fatalf("line with event %q", l.Event)
		}
	}
	if summary.Event != "summary" || summary.PlanID != saved.ID || summary.RunID == 0 || summary.Status != "failed" {
		t.Fatalf("summary %+v; want the last line, failed (core-fw), for plan %d with its run", summary, saved.ID)
	}
	if len(got) != len(changed) || len(summary.Results) != len(changed) {
		t.Errorf("%d target lines and %d results in the summary, want one per changed target (%v)", len(got), len(summary.Results), changed)
	}
	for _, r := range summary.Results {
		if got[r.Target] != r {
			t.Errorf("%s: streamed %+v, summary says %+v", r.Target, got[r.Target], r)
		}
	}
	if r := got["access-ovs"]; r.Status != "applied" {
		t.Errorf("access-ovs: %+v, want applied once let go", r)
	}

	// Applied once: the same plan again is refused, as JSON, not streamed.
	r := s.do(t, "POST", fmt.Sprintf("/api/v1/plans/%d/apply", saved.ID), body, h)
	var env api.ErrorBody
	if err := json.Unmarshal(r.body, &env); err != nil || r.status != 409 || env.Error.Code != plan.RefusedStale ||
		r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("second apply: %d %q %s; want a 409 plan_stale JSON error", r.status, r.header.Get("Content-Type"), r.body)
	}
}
