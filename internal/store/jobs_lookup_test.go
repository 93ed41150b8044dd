package store

import (
	"context"
	"testing"
)

// TestLatestJobsByKey: the newest job of each key is returned — the
// queued one beside an older one of the key that finished — and a key
// with no job is absent.
func TestLatestJobsByKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		if err := st.EnqueueJobs(ctx, Job{Kind: "k", Target: "a", Key: "ka"}, Job{Kind: "k", Target: "b", Key: "kb"}); err != nil {
			t.Fatal(err)
		}
		before, err := st.ListJobs(ctx, "")
		if err != nil || len(before) != 2 {
			t.Fatalf("jobs %+v, %v; want 2", before, err)
		}
		first, err := st.ClaimJob(ctx, ClaimOptions{Target: "a", Worker: "w", Kinds: []string{"k"}, Now: st.Now()})
		if err != nil || first == nil {
			t.Fatalf("claim: %v %v", first, err)
		}
		if err := st.CompleteJob(ctx, *first); err != nil {
			t.Fatal(err)
		}
		// A second job of key ka, and one of kb skipped for the queued one.
		if err := st.EnqueueJobs(ctx, Job{Kind: "k", Target: "a", Key: "ka"}, Job{Kind: "k", Target: "b", Key: "kb"}); err != nil {
			t.Fatal(err)
		}
		all, err := st.ListJobs(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 {
			t.Fatalf("%d jobs, want 3 (kb's second enqueue skipped): %+v", len(all), all)
		}
		got, err := st.LatestJobsByKey(ctx, "ka", "kb", "kc")
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			key    string
			ok     bool
			status string
			notID  uint64 // not this one: an older job of the key
			id     uint64 // this one, if not 0
		}{
			{key: "ka", ok: true, status: JobQueued, notID: first.ID},
			{key: "kb", ok: true, status: JobQueued, id: before[1].ID},
			{key: "kc"},
		}
		for _, tc := range tests {
			j, ok := got[tc.key]
			if ok != tc.ok {
				t.Errorf("key %s: found %v, want %v", tc.key, ok, tc.ok)
				continue
			}
			if !ok {
				continue
			}
			if j.Status != tc.status || j.ID == tc.notID || (tc.id != 0 && j.ID != tc.id) {
				t.Errorf("key %s: job %d %s, want status %s, not job %d, job %d (0: any)", tc.key, j.ID, j.Status, tc.status, tc.notID, tc.id)
			}
		}
		byID, err := st.JobsByID(ctx, first.ID, got["kb"].ID, 9999)
		if err != nil {
			t.Fatal(err)
		}
		if len(byID) != 2 || byID[first.ID].Status != JobDone || byID[got["kb"].ID].Key != "kb" {
			t.Errorf("JobsByID: %+v, want job %d done and kb's job, and no job 9999", byID, first.ID)
		}
	})
}
