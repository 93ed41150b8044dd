package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestLabServeAPI drives the lab through ward serve's API alone: reload a
// changed policy, plan, apply to the real firewall and switch, check
// drift and target status, and quarantine a pump with a person's approval.
func TestLabServeAPI(t *testing.T) {
	needLab(t)
	pol, db := labQuarantineWorkspace(t)
	tokens := map[string]string{}
	for _, role := range []string{"viewer", "operator", "admin"} {
		code, out, errs := runWard(t, "token", "create", "-role", role, "-name", "lab-"+role, "-db", db)
		if code != 0 {
			t.Fatal(errs)
		}
		tokens[role] = regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	}
	srv := startServe(t, pol, db)
	call := func(role, method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, role, resp.StatusCode, want, b)
		}
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	if !labOpen(t, labWS, labTV, 7) {
		t.Fatalf("%s -> %s:7 closed before the change", labWS, labTV)
	}

	// Take the workstation -> TV flow out of the policy, and reload it.
	editPolicy(t, pol, "lab_quarantine_test.hcl", func(s string) string {
		i := strings.Index(s, `flow "lab_workstations_to_guest_echo"`)
		j := strings.Index(s, `flow "lab_pumps_to_lis_test"`)
		return s[:i] + s[j:]
	})
	call("operator", "POST", "/api/v1/policy/reload", "", 403)
	info := call("admin", "POST", "/api/v1/policy/reload", "", 200)
	if info["hash"] == "" {
		t.Fatalf("reload: %v", info)
	}

	p := call("operator", "POST", "/api/v1/plans", `{"targets":["core-fw","access-ovs"]}`, 201)
	if fmt.Sprint(p["changed_targets"]) != "[core-fw]" {
		t.Fatalf("plan changes %v, want [core-fw]", p["changed_targets"])
	}
	id := fmt.Sprint(p["id"])
	call("operator", "POST", "/api/v1/plans/"+id+"/apply", "{}", 403)
	res := call("admin", "POST", "/api/v1/plans/"+id+"/apply", "{}", 200)
	if res["status"] != "succeeded" {
		t.Fatalf("apply: %v", res)
	}
	if labOpen(t, labWS, labTV, 7) {
		t.Errorf("%s -> %s:7 still open after the API applied the policy without its flow", labWS, labTV)
	}
	if !labOpen(t, labPump, labPumpSrv, 51444) {
		t.Errorf("the essential pump flow is closed")
	}
	if d := call("viewer", "GET", "/api/v1/targets/core-fw/drift", "", 200); d["status"] != "in_sync" {
		t.Errorf("drift: %v", d)
	}
	tgt := call("viewer", "GET", "/api/v1/targets/core-fw", "", 200)
	if la, _ := tgt["last_apply"].(map[string]any); la == nil || la["run_status"] != "succeeded" || la["actor"] != "token:lab-admin" {
		t.Errorf("target status: %v", tgt)
	}

	// The pump: isolate waits for an admin; an operator cannot approve.
	q := call("operator", "POST", "/api/v1/quarantines", `{"device":"`+labPump+`","level":"isolate","reason":"lab"}`, 201)
	qq := q["quarantine"].(map[string]any)
	if qq["level"] != "restrict" || qq["pending_level"] != "isolate" || q["enforce_error"] != nil {
		t.Fatalf("quarantine: %v", q)
	}
	qid := fmt.Sprint(qq["id"])
	if !labOpen(t, labPump, labPumpSrv, 51444) {
		t.Error("the restricted pump lost its essential flow")
	}
	call("operator", "POST", "/api/v1/quarantines/"+qid+"/approve", `{"comment":"x"}`, 403)
	a := call("admin", "POST", "/api/v1/quarantines/"+qid+"/approve", `{"comment":"biomed checked the pump is off-patient"}`, 200)
	if a["quarantine"].(map[string]any)["level"] != "isolate" || a["enforce_error"] != nil {
		t.Fatalf("approve: %v", a)
	}
	if r := call("operator", "POST", "/api/v1/quarantines/"+qid+"/release", "", 200); r["enforce_error"] != nil {
		t.Fatalf("release: %v", r)
	}
	if !labOpen(t, labPump, labPumpSrv, 51444) {
		t.Error("the released pump has no essential flow")
	}
	code, out, _ := runWard(t, "audit", "-db", db, "-limit", "0")
	for _, want := range []string{"token:lab-admin  policy.reload", "token:lab-operator  quarantine", "token:lab-admin  apply.finish"} {
		if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("audit log lacks %q", want)
		}
	}
}
