package api

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
)

// Target is a target of the policy with what Ward last applied to it.
type Target struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Driver      string `json:"driver"`
	// Role is the target's roles joined by "+" (one role: that role).
	Role    string   `json:"role"`
	Roles   []string `json:"roles"`
	Model   string   `json:"model"`
	Push    bool     `json:"push"`
	Address string   `json:"address"`
	Port    int      `json:"port"`
	// Available is false when this build of Ward has only the driver's
	// name: plans for the target cannot be applied.
	Available bool       `json:"available"`
	LastApply *LastApply `json:"last_apply"`
}

// LastApply is the last configuration Ward applied to a target.
type LastApply struct {
	At        time.Time `json:"at"`
	Hash      string    `json:"hash"`
	RunID     uint64    `json:"run_id"`
	RunStatus string    `json:"run_status"`
	Actor     string    `json:"actor"`
}

func (s *Server) targets(ctx context.Context, only string) ([]Target, error) {
	p := s.inForce()
	if p == nil {
		return nil, errors.New("Ward was started without a policy")
	}
	states, err := s.cfg.Store.TargetStates(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]store.TargetState{}
	for _, st := range states {
		byName[st.Target] = st
	}
	out := []Target{}
	for _, name := range slices.Sorted(maps.Keys(p.Doc.Targets)) {
		if only != "" && name != only {
			continue
		}
		t := p.Doc.Targets[name]
		tv := Target{Name: name, Description: t.Description, Driver: t.Driver, Role: strings.Join(t.Roles, "+"), Roles: t.Roles,
			Model: t.Model, Push: t.Push, Address: t.Address, Port: t.Port}
		if s.cfg.Drivers != nil {
			if info, ok := s.cfg.Drivers.Lookup(t.Driver); ok && info.New != nil {
				tv.Available = true
			}
		}
		if st, ok := byName[name]; ok {
			la := &LastApply{At: st.AppliedAt.UTC(), Hash: st.Hash}
			if st.ApplyRunID != nil {
				run, err := s.cfg.Store.GetApplyRun(ctx, *st.ApplyRunID)
				switch {
				case err == nil:
					la.RunID, la.RunStatus, la.Actor = run.ID, run.Status, run.Actor
				case !errors.Is(err, store.ErrNotFound):
					return nil, err
				}
			}
			tv.LastApply = la
		}
		out = append(out, tv)
	}
	return out, nil
}

func (s *Server) listTargets(c *gin.Context) {
	if _, ok := s.policyOrFail(c); !ok {
		return
	}
	ts, err := s.targets(c.Request.Context(), "")
	if err != nil {
		s.internal(c, "listing targets", err)
		return
	}
	c.JSON(http.StatusOK, ts)
}

func (s *Server) getTarget(c *gin.Context) {
	name := c.Param("name")
	if _, ok := s.policyOrFail(c); !ok {
		return
	}
	ts, err := s.targets(c.Request.Context(), name)
	if err != nil {
		s.internal(c, "reading the target", err)
		return
	}
	if len(ts) == 0 {
		notFound(c, "target", name, " in the policy (GET /api/v1/targets lists them)")
		return
	}
	c.JSON(http.StatusOK, ts[0])
}

// targetDrift answers GET /api/v1/targets/{name}/drift: it reads the
// target's running configuration over SSH and compares it with what Ward
// last applied. One check runs at a time.
func (s *Server) targetDrift(c *gin.Context) {
	name := c.Param("name")
	p, ok := s.policyOrFail(c)
	if !ok {
		return
	}
	t := p.Config.Targets[name]
	if t == nil {
		notFound(c, "target", name, " in the policy (GET /api/v1/targets lists them)")
		return
	}
	if s.cfg.Dial == nil {
		fail(c, http.StatusConflict, "no_target_access", "this server has no access to targets (started with -no-enforce)", "")
		return
	}
	s.driftMu.Lock()
	defer s.driftMu.Unlock()
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Minute)
	defer cancel()
	drifts, err := plan.CheckDrift(ctx, s.cfg.Store, s.cfg.Drivers, map[string]string{name: t.Driver}, s.cfg.Dial, s.cfg.Owner, actorOf(c))
	if err != nil {
		s.internal(c, "checking drift", err)
		return
	}
	if len(drifts) == 0 {
		c.JSON(http.StatusOK, plan.Drift{Target: name, Status: "never_applied"})
		return
	}
	s.metrics.DriftChecked(drifts[0])
	c.JSON(http.StatusOK, drifts[0])
}
