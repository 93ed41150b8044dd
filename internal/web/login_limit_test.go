package web

import (
	"fmt"
	"testing"
	"time"
)

// TestLoginLimiterBounded: idle limiters are forgotten once refilled, the
// map never grows past its bound, and addresses past it share one limiter
// (so they are still limited).
func TestLoginLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(time.Second, 2, 3)
	for i := range 3 {
		if res, _ := l.reserve(fmt.Sprintf("10.0.0.%d", i), now); res == nil {
			t.Fatalf("client %d refused at its first attempt", i)
		}
	}
	// Past the bound: new addresses share the overflow limiter (burst 2).
	var refused int
	for i := range 5 {
		if res, _ := l.reserve(fmt.Sprintf("10.1.0.%d", i), now); res == nil {
			refused++
		}
	}
	if l.size() != 3 || refused != 3 {
		t.Errorf("size %d, refused %d; want 3 remembered and 3 of 5 overflow attempts refused", l.size(), refused)
	}
	// After the refill time the idle ones are forgotten.
	now = now.Add(2 * time.Second)
	if res, _ := l.reserve("10.2.0.1", now); res == nil {
		t.Fatal("a new client refused after the sweep")
	}
	if l.size() != 1 {
		t.Errorf("size %d after the sweep, want 1", l.size())
	}
	// A client over its limit is told how long to wait.
	l.reserve("10.2.0.1", now)
	if res, wait := l.reserve("10.2.0.1", now); res != nil || wait != time.Second {
		t.Errorf("third attempt at once: reservation %v, wait %v; want refused, 1s", res, wait)
	}
}
