package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestRecert: a campaign stores one pending item per flow; a decision is
// recorded once with who, when and why (a second one, or one racing it, is
// refused); a closed campaign takes no decision; all of it is audited.
func TestRecert(t *testing.T) {
	for d, url := range dbURLs(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			st, err := Open(ctx, url, WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.CreateRecertCampaign(ctx, &RecertCampaign{Name: "empty", CreatedBy: "alice", DueAt: now}, nil); err == nil {
				t.Fatal("a campaign without flows was stored")
			}
			c := &RecertCampaign{Name: "Q4", CreatedBy: "alice", DueAt: now.AddDate(0, 0, 30), PolicyHash: "abc"}
			items := []RecertItem{{Flow: "pumps_to_servers", Owner: "Pharmacy"}, {Flow: "guest_out", Owner: ""}, {Flow: "pacs", Owner: "Radiology"}}
			if err := st.CreateRecertCampaign(ctx, c, items); err != nil {
				t.Fatal(err)
			}
			got, its, err := st.RecertCampaign(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != RecertOpen || got.Name != "Q4" || !got.DueAt.Equal(now.AddDate(0, 0, 30)) || len(its) != 3 {
				t.Fatalf("campaign %+v items %+v", got, its)
			}
			for _, it := range its {
				if it.Decision != RecertPending || it.DecidedAt != nil {
					t.Errorf("new item %+v is not pending", it)
				}
			}
			if _, err := st.DecideRecertItem(ctx, c.ID, "pacs", "maybe", "bob", ""); err == nil {
				t.Error("an unknown decision was recorded")
			}
			if _, err := st.DecideRecertItem(ctx, c.ID, "nope", RecertExpire, "bob", ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown flow: %v", err)
			}
			if _, err := st.DecideRecertItem(ctx, c.ID+100, "pacs", RecertExpire, "bob", ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown campaign: %v", err)
			}
			it, err := st.DecideRecertItem(ctx, c.ID, "pacs", RecertRecertify, "bob", "still reading studies")
			if err != nil {
				t.Fatal(err)
			}
			if it.Decision != RecertRecertify || it.DecidedBy != "bob" || it.DecidedAt == nil || !it.DecidedAt.Equal(now) || it.Comment != "still reading studies" {
				t.Errorf("decided item %+v", it)
			}
			if _, err := st.DecideRecertItem(ctx, c.ID, "pacs", RecertExpire, "carol", ""); !errors.Is(err, ErrRecertDecided) {
				t.Errorf("second decision: %v, want ErrRecertDecided", err)
			}
			// Two people decide the same flow at once: exactly one wins.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, who := range []string{"dave", "erin"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = st.DecideRecertItem(ctx, c.ID, "pumps_to_servers", RecertExpire, who, "")
				}()
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Errorf("racing decisions: %v, %v; want one success and one refusal", errs[0], errs[1])
			}
			for _, err := range errs {
				if err != nil && !errors.Is(err, ErrRecertDecided) {
					t.Errorf("racing decision refused with %v, want ErrRecertDecided", err)
				}
			}
			closed, err := st.CloseRecertCampaign(ctx, c.ID, "alice", map[string]any{"pending": 1})
			if err != nil {
				t.Fatal(err)
			}
			if closed.Status != RecertClosed || closed.ClosedBy != "alice" || closed.ClosedAt == nil {
				t.Errorf("closed campaign %+v", closed)
			}
			if _, err := st.CloseRecertCampaign(ctx, c.ID, "alice", nil); !errors.Is(err, ErrRecertClosed) {
				t.Errorf("closing twice: %v", err)
			}
			if _, err := st.DecideRecertItem(ctx, c.ID, "guest_out", RecertRecertify, "bob", ""); !errors.Is(err, ErrRecertClosed) {
				t.Errorf("deciding in a closed campaign: %v", err)
			}
			list, err := st.RecertCampaigns(ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("campaigns %+v, %v", list, err)
			}
			in, err := st.RecertCampaignsBetween(ctx, now.Add(time.Hour), now.Add(2*time.Hour))
			if err != nil || len(in) != 0 {
				t.Errorf("campaigns in a period after it closed: %+v, %v", in, err)
			}
			if in, _ := st.RecertCampaignsBetween(ctx, time.Time{}, now); len(in) != 1 {
				t.Errorf("campaigns up to its start: %+v", in)
			}
			var actions []string
			st.DB.Model(&AuditEvent{}).Where("action LIKE 'recert.%'").Order("seq").Pluck("action", &actions)
			want := []string{"recert.start", "recert.decide", "recert.decide", "recert.close"}
			if len(actions) != len(want) {
				t.Fatalf("audited %v, want %v", actions, want)
			}
			for i := range want {
				if actions[i] != want[i] {
					t.Errorf("audited %v, want %v", actions, want)
				}
			}
		})
	}
}
