package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/store"
)

// TestAlertRateLimit: each sender has its own bucket of AlertBurst
// requests refilled at AlertRate a second; past it, 429 with Retry-After,
// nothing recorded, and other senders are not affected.
func TestAlertRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := clock
	s := newTestServer(t, func(c *api.Config) {
		c.AlertRate, c.AlertBurst = 2, 5
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var ip string
	if err := s.st.DB.Model(&store.Device{}).Where("removed_at IS NULL").Order("id").Limit(1).Pluck("ip", &ip).Error; err != nil {
		t.Fatal(err)
	}
	other, _, err := s.st.CreateToken(context.Background(), "other-siem", store.RoleOperator, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	send := func(tok string) response {
		n++
		return s.post(t, "", []byte(fmt.Sprintf(`{"source":"siem","id":"RL-%d","severity":"info","ip":%q}`, n, ip)), bearer(tok))
	}
	for i := range 5 {
		if r := send(s.tokens[store.RoleOperator]); r.status != 202 {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.status, r.body)
		}
	}
	before := s.counts(t)
	r := send(s.tokens[store.RoleOperator])
	if r.status != 429 {
		t.Fatalf("request 6: %d, want 429: %s", r.status, r.body)
	}
	if e := r.failure(t); e.Code != "rate_limited" || !strings.Contains(e.Message, "token:operator-token") || r.header.Get("Retry-After") != "1" {
		t.Errorf("429: %+v Retry-After %q", e, r.header.Get("Retry-After"))
	}
	if after := s.counts(t); after.alerts != before.alerts {
		t.Errorf("a refused alert was recorded")
	}
	if r := send(other); r.status != 202 {
		t.Errorf("another sender was limited: %d %s", r.status, r.body)
	}
	if r := send(token); r.status != 202 {
		t.Errorf("the alert token was limited: %d %s", r.status, r.body)
	}
	advance(500 * time.Millisecond) // one request's worth at 2/s
	if r := send(s.tokens[store.RoleOperator]); r.status != 202 {
		t.Errorf("after refill: %d %s", r.status, r.body)
	}
	if r := send(s.tokens[store.RoleOperator]); r.status != 429 {
		t.Errorf("refill gave more than one request: %d", r.status)
	}
}
