package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardnet/ward/internal/cluster"
	"github.com/wardnet/ward/internal/store"
)

// statusView is ward status -json: the cluster (as GET /api/v1/cluster
// shows it), who holds which target now, the applies in progress and the
// jobs failed for good.
type statusView struct {
	*cluster.View
	Holders  []store.TargetOwner   `json:"holders"`
	Applying []store.ApplyProgress `json:"applies_in_progress"`
	Failed   []store.Job           `json:"failed_jobs"`
}

func runStatus(c *cli, args []string) int {
	cl := c.command("status", "[-db URL] [-json]")
	asJSON := cl.Bool("json", false, "print as JSON")
	ttl := cl.Duration("lease", 3*time.Second, "the replicas' lease (ward serve -lease), to mark stale replicas")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 0 {
		fmt.Fprintln(c.stderr, "ward status takes no arguments")
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	v, err := cluster.Snapshot(ctx, st, "", *ttl, time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward status: %v\n", err)
		return 1
	}
	out := statusView{View: v}
	if out.Holders, err = st.ListTargetOwners(ctx); err == nil {
		if out.Applying, err = st.RunningApplies(ctx); err == nil {
			out.Failed, err = st.ListJobs(ctx, store.JobFailed)
		}
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ward status: %v\n", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(out)
	}
	printStatus(c, out, *ttl, time.Now())
	return 0
}

// printStatus prints s for people; ttl and now judge whether the
// leadership row still names a live leader.
func printStatus(c *cli, s statusView, ttl time.Duration, now time.Time) {
	w := c.stdout
	lapsed := s.Leader != nil && now.Sub(s.Leader.RenewedAt) > ttl
	switch {
	case s.Leader == nil:
		fmt.Fprintln(w, "Leader: none (no replica leads the scheduled work: is ward serve running?)")
	case lapsed:
		// The row outlives a leader killed or cut off: it names no one who
		// leads now (by this reader's clock, like the replicas' staleness).
		fmt.Fprintf(w, "Leader: none now — %s (epoch %d) has not renewed its lease since %s, longer than the %v lease: it stopped or is cut off; a live replica takes over within a lease\n",
			s.Leader.Replica, s.Leader.Epoch, s.Leader.RenewedAt.UTC().Format(time.RFC3339), ttl)
	default:
		fmt.Fprintf(w, "Leader: %s, epoch %d, since %s, renewed %s\n", s.Leader.Replica, s.Leader.Epoch,
			s.Leader.Since.UTC().Format(time.RFC3339), s.Leader.RenewedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "\nReplicas (%d):\n", len(s.Replicas))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tHOST\tPID\tADDRESS\tSTARTED\tLAST SEEN\tROLE")
	for _, r := range s.Replicas {
		role := "replica"
		if r.Leader {
			role = "leader"
			if lapsed {
				role = "last leader (lease ran out)"
			}
		}
		if r.Stale {
			role += " (stale: not renewed for three leases)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Host, r.Pid, r.Address,
			r.StartedAt.UTC().Format(time.RFC3339), r.SeenAt.UTC().Format(time.RFC3339), role)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nJob backlog: %d unfinished\n", s.Queued)
	for _, t := range slices.Sorted(maps.Keys(s.Backlog)) {
		fmt.Fprintf(w, "  %s: %d\n", t, s.Backlog[t])
	}
	if len(s.Holders) > 0 {
		fmt.Fprintln(w, "\nTargets held now:")
		for _, h := range s.Holders {
			fmt.Fprintf(w, "  %s: %s (%s) since %s\n", h.Target, h.Holder, h.Purpose, h.Since.UTC().Format(time.RFC3339))
		}
	}
	if len(s.Applying) > 0 {
		fmt.Fprintln(w, "\nApplies in progress (any replica pushes their targets; GET /api/v1/applies/RUN follows one):")
		for _, a := range s.Applying {
			fmt.Fprintf(w, "  run %d (plan %d) by %s since %s: %d of %d target(s) pending\n", a.RunID, a.PlanID, a.Actor,
				a.StartedAt.UTC().Format(time.RFC3339), a.Pending, a.Targets)
		}
	}
	if len(s.Failed) > 0 {
		fmt.Fprintf(w, "\nJobs failed for good (%d), kept for the operator:\n", len(s.Failed))
		for _, j := range s.Failed {
			fmt.Fprintf(w, "  #%d %s on %s after %d attempts: %s\n", j.ID, j.Kind, j.Target, j.Attempts, strings.TrimSpace(j.LastError))
		}
	}
}
