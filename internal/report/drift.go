package report

import (
	"context"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// fillDrift sets each target's drift status, running configuration hash
// and check time from its latest recorded drift check (ward drift, GET
// /api/v1/targets/{name}/drift) made at or before until (the zero time:
// the latest). A report never dials a device itself: a target never
// checked stays "not_recorded".
func fillDrift(ctx context.Context, st *store.Store, targets []Target, until time.Time) error {
	checks, err := st.LatestDriftChecks(ctx, until)
	if err != nil {
		return err
	}
	for i := range targets {
		t := &targets[i]
		c, ok := checks[t.Name]
		if !ok {
			t.Drift = "not_recorded"
			continue
		}
		at := c.CheckedAt.UTC()
		t.Drift, t.RunningSHA256, t.DriftCheckedAt, t.DriftCheckedBy, t.DriftError = c.Status, c.RunningHash, &at, c.Actor, c.Error
	}
	return nil
}
