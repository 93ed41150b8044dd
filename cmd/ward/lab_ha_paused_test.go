package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// pausedLeaderWatch is how long the woken ex-leader is watched: several
// lock-check intervals and lease renewals, long enough for a push it had
// prepared before the stop to reach core-fw if the fence let it.
const pausedLeaderWatch = 8 * time.Second

// TestLabHAPausedLeader: two replicas enforcing on the lab from one
// PostgreSQL database; the leader A takes an alert about a lab device X
// and is stopped (SIGSTOP) right after answering, so it likely holds
// core-fw or is about to push. While A sleeps, B leads at a new epoch,
// takes core-fw over once PostgreSQL ends A's lock session, enforces X's
// quarantine if A had not, and releases it on an operator's request. Then
// A wakes (SIGCONT): X's address never comes back to core-fw's sets, A
// does not say it leads, and core-fw's fencing token never goes back.
// Rounds stop the leader 0, 20, 60 and 150 ms after its answer, so that
// some catch it before its push and some in the middle of it; each round's
// log says which (and whether a stale push was cut off or refused).
func TestLabHAPausedLeader(t *testing.T) {
	needLab(t)
	t.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	db := pgtest.URL(t)
	pol := labHAWorkspace(t, db)
	st := openTestStore(t, db)
	code, out, errs := runWard(t, "token", "create", "-role", "operator", "-name", "paused-leader-operator", "-db", db)
	if code != 0 {
		t.Fatalf("ward token create -role operator: exit %d\n%s%s", code, out, errs)
	}
	operator := regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	if operator == "" {
		t.Fatalf("no token in ward token create's output:\n%s", out)
	}

	// A starts alone so that it leads; B joins as a follower.
	a := startHAReplica(t, "replica-a", pol, db)
	if l, _ := haLeader(t, 5*time.Second, a); l != a {
		t.Fatal("replica-a, alone, does not lead within 5 s")
	}
	b := startHAReplica(t, "replica-b", pol, db)
	// Each round stops the leader of the moment a little later after its
	// answer: at once (likely before it claims the push), and while its
	// push to core-fw is likely under way. The woken one follows, so the
	// replicas swap roles from round to round.
	for i, delay := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond} {
		t.Run(fmt.Sprintf("stop-%s-after-the-answer", delay), func(t *testing.T) {
			pausedLeaderRound(t, st, db, operator, fmt.Sprintf("paused-leader-%d", i), delay, a, b)
		})
		if t.Failed() {
			return
		}
	}
}

// pausedLeaderRound is one pause of the leader among a and b, delay after
// it answered an alert about a lab device X; see TestLabHAPausedLeader.
func pausedLeaderRound(t *testing.T, st *store.Store, db, operator, alertID string, delay time.Duration, a, b *haReplica) {
	leader, epochA := leaderEpoch(t, 5*time.Second, a, b)
	if leader == b {
		a, b = b, a
	}
	x, xip := labTV, labTVIP // a guest: an alert isolates it, on core-fw's isolate set
	if sets := fwSets(t)[xip]; len(sets) != 0 {
		t.Fatalf("%s (%s) is already in core-fw's %v before the alert", x, xip, sets)
	}

	// The alert to A, and A stopped as soon as it answers.
	res := postAlert(t, a.url, genericAlertJSON(alertID, xip, "high"))
	time.Sleep(delay)
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	aLogAtStop := len(a.log.String())
	if len(res.Results) != 1 || res.Results[0].QuarantineID == 0 {
		t.Fatalf("the alert about %s opened no quarantine: %+v", x, res.Results)
	}
	qid := res.Results[0].QuarantineID
	landedAtStop := len(fwSets(t)[xip]) > 0
	t.Logf("alert answered by %s (quarantine #%d), %s stopped %s later; %s in core-fw's sets just after the stop: %v",
		a.id, qid, a.id, delay, xip, landedAtStop)

	// B leads at a new epoch.
	newLeader, epochB := leaderEpoch(t, 10*time.Second, b)
	if newLeader != b || epochB <= epochA {
		t.Fatalf("after %s's stop %s leads at epoch %d; want %s above epoch %d", a.id, newLeader.id, epochB, b.id, epochA)
	}
	t.Logf("%s leads at epoch %d (was %d) %s after the stop", b.id, epochB, epochA, time.Since(stoppedAt).Round(time.Millisecond))

	// X is enforced (by A before the stop, or by B once PostgreSQL ended
	// A's lock session on core-fw).
	if waitFor(30*time.Second, func() bool { return len(fwSets(t)[xip]) > 0 }) < 0 {
		// ward status names the holder of each target: a stopped replica
		// still holding core-fw means PostgreSQL did not end its session.
		_, status, _ := runWard(t, "status", "-db", db)
		pausedAudit(t, st, stoppedAt)
		t.Fatalf("%s is not in core-fw's sets 30 s after the alert: neither replica enforced quarantine #%d while %s was stopped\nward status:\n%s\n%s's log:\n%s",
			xip, qid, a.id, status, b.id, tailLines(b.log.String(), 40))
	}
	t.Logf("%s enforced on core-fw (%s after the stop): %v", xip, time.Since(stoppedAt).Round(time.Millisecond), fwSets(t)[xip])

	// The release through B's API, and X out of core-fw.
	pausedRelease(t, b.url, operator, qid)
	if waitFor(30*time.Second, func() bool { return len(fwSets(t)[xip]) == 0 }) < 0 {
		pausedAudit(t, st, stoppedAt)
		t.Fatalf("%s still in core-fw's %v 30 s after the release of #%d through %s\n%s's log:\n%s",
			xip, fwSets(t)[xip], qid, b.id, b.id, tailLines(b.log.String(), 40))
	}
	fenceBefore := fwFence(t)
	t.Logf("%s left core-fw after the release (%s after the stop); core-fw's fencing token %d", xip, time.Since(stoppedAt).Round(time.Millisecond), fenceBefore)
	if fenceBefore <= 0 {
		t.Fatalf("core-fw has no fencing token after %s's pushes (%d): the fence is not in use, the test would prove nothing", b.id, fenceBefore)
	}

	// A wakes. Nothing it prepared before the stop may land.
	aLogAtWake := len(a.log.String())
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	woke := time.Now()
	var (
		samples, readies int
		reappeared       time.Duration = -1
		lowest                         = fenceBefore
	)
	for time.Since(woke) < pausedLeaderWatch {
		samples++
		if sets := fwSets(t)[xip]; len(sets) > 0 && reappeared < 0 {
			reappeared = time.Since(woke)
			t.Errorf("%s is back in core-fw's %v %s after %s woke: a stale push re-added a released quarantine",
				xip, sets, reappeared.Round(time.Millisecond), a.id)
		}
		if f := fwFence(t); f < lowest {
			lowest = f
			t.Errorf("core-fw's fencing token went from %d down to %d %s after %s woke", fenceBefore, f, time.Since(woke).Round(time.Millisecond), a.id)
		}
		if samples%10 == 0 {
			if rd, err := a.ready(); err == nil {
				readies++
				if rd.Leader == nil || *rd.Leader {
					t.Errorf("woken %s's /readyz says %+v %s after SIGCONT; %s leads at epoch %d", a.id, rd, time.Since(woke).Round(time.Millisecond), b.id, epochB)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("watched core-fw for %s after %s woke: %d samples, %d /readyz answers from it, fencing token %d at the end",
		pausedLeaderWatch, a.id, samples, readies, fwFence(t))
	if readies == 0 {
		t.Errorf("woken %s never answered /readyz in %s", a.id, pausedLeaderWatch)
	}
	if l, _ := haLeader(t, time.Second, a, b); l != b {
		t.Errorf("after %s woke the leader is %v, want %s", a.id, l, b.id)
	}

	// What A did: its log around the stop and after waking, and the audit.
	log := a.log.String()
	// A push prepared before the stop ends one of two ways: cut off by
	// A itself when it learns its lock session is gone, or refused by
	// core-fw's fence (drivers.FencedError) if it got that far.
	awake := log[aLogAtWake:]
	refused := grepLines(grepLines(awake, "refused, the device has seen token"), "core-fw")
	switch {
	case refused != "":
		t.Logf("%s was mid-push: core-fw's fence refused its stale push:\n%s", a.id, refused)
	case grepLines(grepLines(awake, "ownership of the target was lost"), "core-fw") != "":
		t.Logf("%s was mid-push: its push to core-fw ended on its own lock check (ownership of the target lost), before any device-side refusal", a.id)
	default:
		t.Logf("%s's log after waking shows no push to core-fw cut off or refused (landed before the stop: %v)", a.id, landedAtStop)
	}
	if m := grepLines(log[aLogAtStop:], "core-fw"); m != "" {
		t.Logf("%s's log about core-fw after the stop:\n%s", a.id, m)
	}
	pausedAudit(t, st, stoppedAt)
}

// pausedAudit logs the audit events of a round (from 2 s before the stop),
// the pushes and reconciles that tell who changed core-fw when.
func pausedAudit(t *testing.T, st *store.Store, stoppedAt time.Time) {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), 50)
	if err != nil {
		t.Errorf("reading the audit log: %v", err)
		return
	}
	for _, e := range evs {
		if e.At.Before(stoppedAt.Add(-2*time.Second)) || e.Action == "target.fence_reset" {
			continue
		}
		t.Logf("audit %s %s %s %s %.300s", e.At.Format("15:04:05.000"), e.Actor, e.Action, e.Object, e.Detail)
	}
}

// pausedRelease releases quarantine id through a replica's API.
func pausedRelease(t *testing.T, url, token string, id uint64) {
	t.Helper()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/quarantines/%d/release", url, id), strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("releasing quarantine #%d through %s: %v", id, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/quarantines/%d/release: %d %s", id, resp.StatusCode, body)
	}
}

// fwFence returns the fencing token core-fw keeps (the greatest element
// of set epoch in table inet ward_fence), 0 when it keeps none.
func fwFence(t *testing.T) int64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "list", "set", "inet", "ward_fence", "epoch").CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No such file or directory") {
			return 0
		}
		t.Fatalf("nft list set inet ward_fence epoch in ward-fw: %v: %s", err, out)
	}
	_, elems, _ := strings.Cut(string(out), "elements = {")
	elems, _, _ = strings.Cut(elems, "}")
	var highest int64
	for _, f := range strings.Fields(strings.ReplaceAll(elems, ",", " ")) {
		v, err := strconv.ParseInt(f, 0, 64)
		if err != nil {
			t.Fatalf("core-fw's fence set epoch holds %q, not a number:\n%s", f, out)
		}
		highest = max(highest, v)
	}
	return highest
}

// grepLines returns s's lines containing sub (case-insensitive).
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), strings.ToLower(sub)) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
