package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// pgReplica is one API replica on a shared PostgreSQL database: its own
// store (connections), quarantine manager and HTTP server, as a ward
// serve process has.
type pgReplica struct {
	url string
	st  *store.Store
}

func newPGReplica(t *testing.T, db string) *pgReplica {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.WithAuditKey([]byte(testAuditKey)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, reg, holder, m := exampleQuarantines(t, st)
	srv := api.New(api.Config{Store: st, Quarantines: m, Policy: holder, PolicyDir: examplePolicy, Drivers: reg,
		AlertToken: token, AlertRate: -1})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &pgReplica{url: hs.URL, st: st}
}

// postAlerts posts body with the alert token; safe from any goroutine.
func (r *pgReplica) postAlerts(body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, r.url+"/api/v1/alerts", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// pgAlertDB opens a PostgreSQL database with the example inventory and
// returns its URL and the first n device addresses.
func pgAlertDB(t *testing.T, n int) (string, *store.Store, []string) {
	t.Helper()
	db := pgtest.URL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.WithAuditKey([]byte(testAuditKey)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := inventory.ImportFile(ctx, st, exampleInventory, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var ips []string
	if err := st.DB.Model(&store.Device{}).Where("removed_at IS NULL AND ip <> ''").Order("id").Limit(n).Pluck("ip", &ips).Error; err != nil {
		t.Fatal(err)
	}
	if len(ips) < n {
		t.Fatalf("only %d inventory addresses", len(ips))
	}
	return db, st, ips
}

// TestAlertBatchTwoReplicasAtOnce posts the same multi-alert webhook to
// two replicas at the same instant, round after round: both answer 202,
// each alert is recorded once (one answer says recorded, the other
// duplicate, with the same alert ID), and no device gets two quarantines.
func TestAlertBatchTwoReplicasAtOnce(t *testing.T) {
	const rounds, perBatch = 15, 4
	db, st, ips := pgAlertDB(t, rounds*perBatch)
	a, b := newPGReplica(t, db), newPGReplica(t, db)
	for round := range rounds {
		var items []string
		for k := range perBatch {
			i := round*perBatch + k
			items = append(items, fmt.Sprintf(`{"source":"siem","id":"TWO-%03d","severity":"critical","ip":%q}`, i, ips[i]))
		}
		body := []byte("[" + strings.Join(items, ",") + "]")
		var wg sync.WaitGroup
		answers := make([]api.AlertsResponse, 2)
		errs := make([]error, 2)
		for j, r := range []*pgReplica{a, b} {
			wg.Go(func() {
				status, out, err := r.postAlerts(body)
				if err == nil && status != http.StatusAccepted {
					err = fmt.Errorf("status %d: %s", status, out)
				}
				if err == nil {
					err = json.Unmarshal(out, &answers[j])
				}
				errs[j] = err
			})
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("round %d, replica %d: %v", round, j, err)
			}
		}
		for k := range perBatch {
			x, y := answers[0].Results[k], answers[1].Results[k]
			if x.ID != y.ID || x.AlertID == 0 || x.AlertID != y.AlertID {
				t.Errorf("round %d: the two answers for %s/%s name alert rows %d and %d", round, x.ID, y.ID, x.AlertID, y.AlertID)
			}
			if statuses := x.Status + "+" + y.Status; statuses != "recorded+duplicate" && statuses != "duplicate+recorded" {
				t.Errorf("round %d, alert %s: answered %s; want one recorded, one duplicate", round, x.ID, statuses)
			}
		}
	}
	var alerts, open int64
	st.DB.Model(&store.Alert{}).Count(&alerts)
	st.DB.Raw(`SELECT count(*) FROM (SELECT device_id FROM quarantines WHERE status IN ('active','pending') GROUP BY device_id HAVING count(*) > 1) d`).Scan(&open)
	if alerts != rounds*perBatch || open != 0 {
		t.Errorf("%d alert rows (want %d), %d devices with two open quarantines (want 0)", alerts, rounds*perBatch, open)
	}
	if n, brk, err := st.VerifyAudit(context.Background()); err != nil || brk != nil {
		t.Errorf("audit log after %d events: %v %v", n, brk, err)
	}
}

// TestAlertBatchPartialFailure makes the database refuse the third alert
// of a five-alert webhook: the answer is 503 and says 2 of 5 were
// recorded, exactly those two are in the store, and the same webhook sent
// again once the database accepts it records the other three and answers
// the first two as duplicates of the same rows, with no quarantine twice.
func TestAlertBatchPartialFailure(t *testing.T) {
	db, st, ips := pgAlertDB(t, 5)
	r := newPGReplica(t, db)
	var items []string
	for i, ip := range ips {
		items = append(items, fmt.Sprintf(`{"source":"siem","id":"PART-%d","severity":"critical","ip":%q}`, i, ip))
	}
	body := []byte("[" + strings.Join(items, ",") + "]")
	for _, q := range []string{
		`CREATE FUNCTION refuse_alert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.external_id = 'PART-2' THEN RAISE EXCEPTION 'review: PART-2 refused'; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER refuse_alert BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse_alert()`,
	} {
		if err := st.DB.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	status, out, err := r.postAlerts(body)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusServiceUnavailable || !strings.Contains(string(out), "2 of 5 alerts recorded") {
		t.Fatalf("with PART-2 refused: %d %s; want 503 saying 2 of 5 alerts recorded", status, out)
	}
	var got []string
	st.DB.Model(&store.Alert{}).Order("external_id").Pluck("external_id", &got)
	if strings.Join(got, ",") != "PART-0,PART-1" {
		t.Fatalf("after the 503 the store has alerts %v; want PART-0, PART-1", got)
	}
	var firstIDs []uint64
	st.DB.Model(&store.Alert{}).Order("external_id").Pluck("id", &firstIDs)
	if err := st.DB.Exec(`DROP TRIGGER refuse_alert ON alerts`).Error; err != nil {
		t.Fatal(err)
	}
	status, out, err = r.postAlerts(body)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("resent: %d %s %v", status, out, err)
	}
	var res api.AlertsResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	for i, x := range res.Results {
		want := "recorded"
		if i < 2 {
			want = "duplicate"
			if x.AlertID != firstIDs[i] {
				t.Errorf("resent %s names alert row %d; recorded as %d", x.ID, x.AlertID, firstIDs[i])
			}
		}
		if x.Status != want {
			t.Errorf("resent %s: %s, want %s", x.ID, x.Status, want)
		}
	}
	var alerts, quarantines int64
	st.DB.Model(&store.Alert{}).Count(&alerts)
	st.DB.Model(&store.Quarantine{}).Count(&quarantines)
	if alerts != 5 || quarantines > 5 {
		t.Errorf("%d alert rows, %d quarantines; want 5 and at most 5", alerts, quarantines)
	}
}
