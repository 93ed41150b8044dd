package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/cluster"
	"github.com/wardnet/ward/internal/store"
)

// Cluster is this replica's part in the election (internal/cluster).
type Cluster interface {
	Status() cluster.Status
	TTL() time.Duration
}

// Ready is /readyz's answer: this replica can serve, and — on a Ward
// that takes part in an election (ward serve) — which replica it is,
// whether it leads the scheduled work, and the epoch it last saw.
type Ready struct {
	Status  string `json:"status"`
	Replica string `json:"replica,omitempty"`
	Leader  *bool  `json:"leader,omitempty"`
	Epoch   *int64 `json:"epoch,omitempty"`
}

func (s *Server) readiness() Ready {
	r := Ready{Status: "ready"}
	if s.cfg.Cluster != nil {
		st := s.cfg.Cluster.Status()
		r.Replica, r.Leader, r.Epoch = st.Replica, &st.Leader, &st.Epoch
	}
	return r
}

// ClusterView is GET /api/v1/cluster: every replica sharing the database,
// the leader and its epoch, and the job backlog.
type ClusterView struct {
	// Replica is the replica that answered.
	Replica string `json:"replica"`
	// Leader is the leadership of scheduled work as the database holds it;
	// null if no replica ever led.
	Leader   *ClusterLeader   `json:"leader"`
	Replicas []ClusterReplica `json:"replicas"`
	// Backlog counts unfinished jobs (queued or running) per target.
	Backlog map[string]int `json:"backlog"`
	// Queued is the sum of Backlog.
	Queued int `json:"queued"`
}

// ClusterLeader is who leads.
type ClusterLeader struct {
	Replica   string    `json:"replica"`
	Epoch     int64     `json:"epoch"`
	Since     time.Time `json:"since"`
	RenewedAt time.Time `json:"renewed_at"`
}

// ClusterReplica is one replica's row. Stale says its last renewal is
// older than three leases by the answering replica's clock (for people: a
// dead replica's row is removed by the leader after 20 leases).
type ClusterReplica struct {
	store.Replica
	Leader bool `json:"leader"`
	Stale  bool `json:"stale"`
}

func (s *Server) getCluster(c *gin.Context) {
	ctx := c.Request.Context()
	v := ClusterView{Backlog: map[string]int{}, Replicas: []ClusterReplica{}}
	if s.cfg.Cluster != nil {
		v.Replica = s.cfg.Cluster.Status().Replica
	}
	l, err := s.cfg.Store.Leadership(ctx, cluster.Scheduler)
	switch {
	case err == nil && l.Holder != "":
		v.Leader = &ClusterLeader{Replica: l.Holder, Epoch: l.Epoch, Since: l.Since, RenewedAt: l.RenewedAt}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		s.internal(c, "reading the leadership", err)
		return
	}
	reps, err := s.cfg.Store.ListReplicas(ctx)
	if err != nil {
		s.internal(c, "listing the replicas", err)
		return
	}
	ttl := 3 * time.Second
	if s.cfg.Cluster != nil {
		ttl = s.cfg.Cluster.TTL()
	}
	now := s.cfg.Now()
	for _, r := range reps {
		v.Replicas = append(v.Replicas, ClusterReplica{Replica: r, Leader: v.Leader != nil && v.Leader.Replica == r.ID,
			Stale: now.Sub(r.SeenAt) > 3*ttl})
	}
	if v.Backlog, err = s.cfg.Store.JobBacklog(ctx); err != nil {
		s.internal(c, "counting the job backlog", err)
		return
	}
	for _, n := range v.Backlog {
		v.Queued += n
	}
	c.JSON(http.StatusOK, v)
}
