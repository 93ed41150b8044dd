package web

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wardnet/ward/internal/report"
)

// flowData is a flow's page view-model: the flow, where it is declared
// and the commit that last changed that line, and where it is enforced.
type flowData struct {
	Banner banner
	flowRow
	Owner, DeclaredAt string
	// Commit is the git commit that last changed the flow's declaration
	// line; CommitNote says why there is none.
	Commit, CommitNote string
	// Enforcement is every firewall-role target, and whether its applied
	// configuration carries the flow.
	Enforcement []enforcementRow
	LastApplied *time.Time
}

// enforcementRow is a firewall target as an enforcement point of a flow.
type enforcementRow struct {
	Name, Driver, Model string
	Push, Carries       bool
	LastPush            *time.Time
}

func (h *Handler) flow(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		name := r.PathValue("name")
		i := slices.IndexFunc(ev.rep.Flows, func(f report.Flow) bool { return f.Name == name })
		if i < 0 {
			h.problem(w, r, s, http.StatusNotFound, "No such flow", fmt.Sprintf("The policy %s has no flow %q.", policyWhen(ev), name))
			return
		}
		f := ev.rep.Flows[i]
		d := flowData{Banner: ev.banner(), flowRow: flowRowOfReport(f, ev.asOf), Owner: f.Owner, DeclaredAt: f.DeclaredAt, LastApplied: f.LastApplied}
		lc := h.commits.lookup(r.Context(), ev.rep.PolicyRevision.Hash, f.DeclaredAt)
		d.Commit, d.CommitNote = lc.commit, lc.note
		for _, t := range ev.rep.Targets {
			if slices.Contains(t.Roles, "firewall") {
				d.Enforcement = append(d.Enforcement, enforcementRow{Name: t.Name, Driver: t.Driver, Model: t.Model, Push: t.Push,
					Carries: slices.Contains(f.AppliedTo, t.Name), LastPush: t.LastPush})
			}
		}
		h.render(w, r, http.StatusOK, "flow", page{Title: "Flow " + name, Nav: "flows", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}

// flowsCSV is the flow register as CSV: the same bytes as
// `ward report -format csv` (report.WriteCSV, which neutralises formula
// cells), of the policy in force or as of ?as_of.
func (h *Handler) flowsCSV(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		var b bytes.Buffer
		if err := report.WriteCSV(&b, ev.rep); err != nil {
			h.cfg.Logger.Error("writing the flow register for the UI", "error", err)
			h.problem(w, r, s, http.StatusInternalServerError, "Flow register", "Ward could not write the flow register: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", report.ContentType(report.FormatCSV))
		w.Header().Set("Content-Disposition", `attachment; filename="ward-flows.csv"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Bytes()) // the client went away: nothing to record
	})
}

// lineCommit is the commit that last changed a line, or why there is none.
type lineCommit struct{ commit, note string }

// commitCache remembers lineCommit by declaration (file:line) for one
// policy hash; a new policy starts it afresh.
type commitCache struct {
	mu     sync.Mutex
	hash   string
	byDecl map[string]lineCommit
}

// isCommit says whether s is a full git object name (SHA-1 or SHA-256).
func isCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// lookup answers the commit that last changed the line declared (FILE:LINE,
// the file as the policy was loaded) in the git repository holding the
// file: git log -1 -L LINE,LINE:FILE.
func (c *commitCache) lookup(ctx context.Context, policyHash, declared string) lineCommit {
	c.mu.Lock()
	if c.hash != policyHash {
		c.hash, c.byDecl = policyHash, map[string]lineCommit{}
	}
	lc, ok := c.byDecl[declared]
	c.mu.Unlock()
	if ok {
		return lc
	}
	lc = gitLineCommit(ctx, declared)
	c.mu.Lock()
	if c.hash == policyHash {
		c.byDecl[declared] = lc
	}
	c.mu.Unlock()
	return lc
}

func gitLineCommit(ctx context.Context, declared string) lineCommit {
	i := strings.LastIndex(declared, ":")
	if i < 0 {
		return lineCommit{note: "unknown: the flow's declaration has no file:line"}
	}
	file, lineText := declared[:i], declared[i+1:]
	line, err := strconv.Atoi(lineText)
	if err != nil || line < 1 || file == "" {
		return lineCommit{note: "unknown: the flow's declaration has no file:line"}
	}
	if _, err := exec.LookPath("git"); err != nil {
		return lineCommit{note: "unknown: git is not installed where Ward runs"}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dir := filepath.Dir(file)
	if err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--is-inside-work-tree").Run(); err != nil {
		return lineCommit{note: "unknown: the policy directory is not in a git repository"}
	}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%H", "--no-patch",
		"-L", fmt.Sprintf("%d,%d:%s", line, line, filepath.Base(file))).Output()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || !isCommit(first) {
		return lineCommit{note: "unknown: the line is not committed (the file or line is new or changed since the last commit)"}
	}
	return lineCommit{commit: first}
}

// zoneData is a zone's page view-model: the zone's characteristics as
// IEC 62443-3-2 ZCR 6.4 lists them, as far as Ward knows them, and its
// conduits (the flows out of and into it).
type zoneData struct {
	Banner            banner
	Zone              zoneRow
	Classes           []classCount
	FlowsOut, FlowsIn []flowRow
	// Enforcing are the targets that enforce the zone's boundary: the
	// firewall targets (every flow of the zone passes one).
	Enforcing []enforcementRow
}

// classCount is how many devices of a class a zone holds.
type classCount struct {
	Class string
	Count int
}

func (h *Handler) zone(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		name := r.PathValue("name")
		i := slices.IndexFunc(ev.rep.Zones, func(z report.Zone) bool { return z.Name == name })
		if i < 0 {
			h.problem(w, r, s, http.StatusNotFound, "No such zone", fmt.Sprintf("The policy %s has no zone %q.", policyWhen(ev), name))
			return
		}
		d := zoneData{Banner: ev.banner(), Zone: zoneRowOfReport(ev.rep.Zones[i])}
		for _, f := range ev.rep.Flows {
			if slices.Contains(f.From, name) {
				d.FlowsOut = append(d.FlowsOut, flowRowOfReport(f, ev.asOf))
			}
			if slices.Contains(f.To, name) {
				d.FlowsIn = append(d.FlowsIn, flowRowOfReport(f, ev.asOf))
			}
		}
		for _, z := range ev.rep.DevicesByZone {
			if z.Zone != name {
				continue
			}
			n := map[string]int{}
			for _, dv := range z.Devices {
				n[dv.Class]++
			}
			for _, c := range slices.Sorted(maps.Keys(n)) {
				d.Classes = append(d.Classes, classCount{Class: c, Count: n[c]})
			}
		}
		for _, t := range ev.rep.Targets {
			if slices.Contains(t.Roles, "firewall") {
				d.Enforcing = append(d.Enforcing, enforcementRow{Name: t.Name, Driver: t.Driver, Model: t.Model, Push: t.Push, LastPush: t.LastPush})
			}
		}
		h.render(w, r, http.StatusOK, "zone", page{Title: "Zone " + name, Nav: "zones", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}
