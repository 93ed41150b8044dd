package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// View is the cluster as the database holds it: what GET /api/v1/cluster
// and ward status show.
type View struct {
	// Replica is the replica that answered ("" outside ward serve).
	Replica string `json:"replica"`
	// Leader is the leadership of scheduled work; nil if no replica ever
	// led or the last one resigned.
	Leader   *LeaderView   `json:"leader"`
	Replicas []ReplicaView `json:"replicas"`
	// Backlog counts unfinished jobs (queued or running) per target.
	Backlog map[string]int `json:"backlog"`
	// Queued is the sum of Backlog.
	Queued int `json:"queued"`
}

// LeaderView is who leads.
type LeaderView struct {
	Replica   string    `json:"replica"`
	Epoch     int64     `json:"epoch"`
	Since     time.Time `json:"since"`
	RenewedAt time.Time `json:"renewed_at"`
}

// ReplicaView is one replica's row. Stale says its last renewal is older
// than three leases by the reader's clock — for people; the leader judges
// replicas dead by their renewal counter, not by clocks.
type ReplicaView struct {
	store.Replica
	Leader bool `json:"leader"`
	Stale  bool `json:"stale"`
}

// Snapshot reads the cluster from st, as seen by replica self at now
// with lease ttl.
func Snapshot(ctx context.Context, st *store.Store, self string, ttl time.Duration, now time.Time) (*View, error) {
	v := &View{Replica: self, Backlog: map[string]int{}, Replicas: []ReplicaView{}}
	l, err := st.Leadership(ctx, Scheduler)
	switch {
	case err == nil && l.Holder != "":
		v.Leader = &LeaderView{Replica: l.Holder, Epoch: l.Epoch, Since: l.Since, RenewedAt: l.RenewedAt}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	reps, err := st.ListReplicas(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range reps {
		v.Replicas = append(v.Replicas, ReplicaView{Replica: r, Leader: v.Leader != nil && v.Leader.Replica == r.ID,
			Stale: now.Sub(r.SeenAt) > 3*ttl})
	}
	if v.Backlog, err = st.JobBacklog(ctx); err != nil {
		return nil, err
	}
	for _, n := range v.Backlog {
		v.Queued += n
	}
	return v, nil
}
