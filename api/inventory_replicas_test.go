package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// TestInventoryImportOnOneReplicaSeenByAnother: a device imported through
// replica A is known to replica B's alert intake within a couple of
// seconds (B notices the inventory's version moved), not only after B
// restarts: an alert about it on B is matched to it and acted on. The same
// holds for `ward inventory import` beside a running ward serve.
func TestInventoryImportOnOneReplicaSeenByAnother(t *testing.T) {
	db, st, ips := pgAlertDB(t, 1)
	a, b := newPGReplica(t, db), newPGReplica(t, db)
	op, _, err := st.CreateToken(context.Background(), "op", store.RoleOperator, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	// B reads the inventory (an alert about a known device).
	if status, out, err := b.postAlerts([]byte(fmt.Sprintf(`{"source":"siem","id":"WARM-1","severity":"low","ip":%q}`, ips[0]))); err != nil || status != http.StatusAccepted {
		t.Fatalf("warm-up alert on B: %d %s %v", status, out, err)
	}
	csv := "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\n" +
		"pump-3w-new,00:1a:2b:3c:4d:f0,10.61.210.240,infusion_pump,BD,Alaris 8015,12.1.2,life_critical,main,3 West,access-3w,Gi1/0/40\n"
	req, _ := http.NewRequest(http.MethodPost, a.url+"/api/v1/devices/import?format=csv", bytes.NewReader([]byte(csv)))
	req.Header.Set("Authorization", "Bearer "+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import on A: %d %s", resp.StatusCode, body)
	}
	imported := time.Now()
	var last quarantine.Result
	for i := 0; time.Since(imported) < 5*time.Second; i++ {
		status, out, err := b.postAlerts([]byte(fmt.Sprintf(`{"source":"siem","id":"NEW-%d","severity":"critical","ip":"10.61.210.240"}`, i)))
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("alert on B: %d %s %v", status, out, err)
		}
		var res api.AlertsResponse
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		if last = res.Results[0]; last.Device == "pump-3w-new" {
			t.Logf("B matched the new device %s after the import", time.Since(imported).Round(time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("5 s after the import on A, replica B still matches an alert about the new device to %q (%s: %s); want pump-3w-new", last.Device, last.Action, last.Reason)
}
