package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/cluster"
	"github.com/wardnet/ward/internal/store"
)

// TestClusterView: /readyz names the replica, its leadership and epoch as
// a real Elector on the server's store holds them, and /api/v1/cluster
// lists the replicas, the leader and the job backlog from the store.
func TestClusterView(t *testing.T) {
	var el *cluster.Elector
	s := newTestServer(t, func(c *api.Config) {
		el = cluster.New(c.Store, cluster.Options{Replica: store.Replica{ID: "replica-a", Address: "10.0.0.1:8080"}, TTL: time.Second})
		c.Cluster = el
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = el.Run(ctx, func(ctx context.Context, _ int64) { <-ctx.Done() })
	}()
	t.Cleanup(func() { cancel(); <-done })
	// Another replica, recorded as running but not leading.
	if err := s.st.PutReplica(context.Background(), store.Replica{ID: "replica-b", Host: "ward-2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.EnqueueJobs(context.Background(), store.Job{Kind: "quarantine.sync", Target: "core-fw", Key: "k1"},
		store.Job{Kind: "quarantine.sync", Target: "core-fw", Key: "k2"}, store.Job{Kind: "quarantine.sync", Target: "access-ovs", Key: "k3"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var ready api.Ready
	for {
		r := s.do(t, "GET", "/readyz", nil, nil)
		if r.status != 200 || jsonDecode(r.body, &ready) != nil {
			t.Fatalf("/readyz: %d %s", r.status, r.body)
		}
		if ready.Leader != nil && *ready.Leader || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ready.Replica != "replica-a" || ready.Leader == nil || !*ready.Leader || ready.Epoch == nil || *ready.Epoch != 1 {
		t.Fatalf("/readyz = %+v; want replica-a leading at epoch 1", ready)
	}
	r := s.do(t, "GET", "/api/v1/cluster", nil, s.as(store.RoleViewer))
	var v api.ClusterView
	if r.status != 200 || jsonDecode(r.body, &v) != nil {
		t.Fatalf("/api/v1/cluster: %d %s", r.status, r.body)
	}
	if v.Replica != "replica-a" || v.Leader == nil || v.Leader.Replica != "replica-a" || v.Leader.Epoch != 1 {
		t.Errorf("cluster leader = %+v (answered by %s)", v.Leader, v.Replica)
	}
	if len(v.Replicas) != 2 || v.Replicas[0].ID != "replica-a" || !v.Replicas[0].Leader || v.Replicas[0].Address != "10.0.0.1:8080" ||
		v.Replicas[1].ID != "replica-b" || v.Replicas[1].Leader || v.Replicas[1].Host != "ward-2" {
		t.Errorf("replicas = %+v", v.Replicas)
	}
	if v.Queued != 3 || v.Backlog["core-fw"] != 2 || v.Backlog["access-ovs"] != 1 {
		t.Errorf("backlog = %v (queued %d), want core-fw 2, access-ovs 1", v.Backlog, v.Queued)
	}
	if r := s.do(t, "GET", "/api/v1/cluster", nil, nil); r.status != 401 {
		t.Errorf("/api/v1/cluster without a token: %d", r.status)
	}
}
