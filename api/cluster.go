package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/cluster"
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

// ClusterView is GET /api/v1/cluster's answer (internal/cluster.View).
type ClusterView = cluster.View

func (s *Server) getCluster(c *gin.Context) {
	self, ttl := "", 3*time.Second
	if s.cfg.Cluster != nil {
		self, ttl = s.cfg.Cluster.Status().Replica, s.cfg.Cluster.TTL()
	}
	v, err := cluster.Snapshot(c.Request.Context(), s.cfg.Store, self, ttl, s.cfg.Now())
	if err != nil {
		s.internal(c, "reading the cluster", err)
		return
	}
	c.JSON(http.StatusOK, v)
}
