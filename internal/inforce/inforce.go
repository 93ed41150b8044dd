// Package inforce holds the policy in force: the one value that the API,
// the quarantine manager and the scheduler of a Ward process read, so that
// no subsystem keeps a copy of its own to be kept in sync by callbacks.
//
// A Holder starts with the policy Ward was started with; Reload reads the
// policy directory again and, when the new policy is valid and every
// registered check accepts it (the quarantine decision compiles, for
// example), swaps it in. Readers call Load on each use and compare the
// generation with the one they prepared their derived state for (compiled
// Rego, placements): a reader never acts on a policy other than the one in
// force, and no writer has to know who reads.
package inforce

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/policy"
)

// Policy is one policy put in force.
type Policy struct {
	Config *policy.Config
	Doc    *policy.Document
	// Hash is the policy's content hash (policy.Config.ContentHash).
	Hash     string
	LoadedAt time.Time
	// Gen counts the policies put in force by this Holder, from 1.
	Gen uint64
}

// Check vets a policy before it is put in force; a non-nil error keeps the
// old one.
type Check func(ctx context.Context, cfg *policy.Config) error

// Holder is the policy in force of one Ward process.
type Holder struct {
	cur    atomic.Pointer[Policy]
	mu     sync.Mutex // serialises Set and Reload
	load   func() (*policy.Config, hcl.Diagnostics)
	checks []Check
	now    func() time.Time
	// eval is the policy in force evaluated against the inventory
	// (evaluation.go).
	eval evaluations
}

// New returns a Holder with cfg in force (cfg may be nil: a Ward started
// without a policy). load, when not nil, reads the policy again for
// Reload; now defaults to time.Now.
func New(cfg *policy.Config, load func() (*policy.Config, hcl.Diagnostics), now func() time.Time) *Holder {
	if now == nil {
		now = time.Now
	}
	h := &Holder{load: load, now: now}
	if cfg != nil {
		h.put(cfg)
	}
	return h
}

// AddCheck registers a check every later Set and Reload must pass.
func (h *Holder) AddCheck(c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, c)
}

// Load returns the policy in force, or nil when there is none.
func (h *Holder) Load() *Policy { return h.cur.Load() }

// ErrInvalid is returned by Reload for a policy with errors.
var ErrInvalid = errors.New("the policy has errors")

// Set puts cfg in force if every check accepts it.
func (h *Holder) Set(ctx context.Context, cfg *policy.Config) (*Policy, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.setLocked(ctx, cfg)
}

// Reload reads the policy again and puts it in force if it is valid and
// every check accepts it. It returns the policy now in force, the
// diagnostics of reading, and ErrInvalid or the failing check's error; on
// any error the policy in force stays.
func (h *Holder) Reload(ctx context.Context) (*Policy, hcl.Diagnostics, error) {
	if h.load == nil {
		return h.Load(), nil, errors.New("this Ward cannot reload its policy: it was not started from a policy directory")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg, diags := h.load()
	if diags.HasErrors() {
		return h.Load(), diags, ErrInvalid
	}
	p, err := h.setLocked(ctx, cfg)
	return p, diags, err
}

func (h *Holder) setLocked(ctx context.Context, cfg *policy.Config) (*Policy, error) {
	if cfg == nil {
		return h.Load(), errors.New("no policy to put in force")
	}
	for _, c := range h.checks {
		if err := c(ctx, cfg); err != nil {
			return h.Load(), fmt.Errorf("the policy in force is unchanged: %w", err)
		}
	}
	return h.put(cfg), nil
}

func (h *Holder) put(cfg *policy.Config) *Policy {
	var gen uint64 = 1
	if old := h.cur.Load(); old != nil {
		gen = old.Gen + 1
	}
	p := &Policy{Config: cfg, Doc: cfg.Document(), Hash: cfg.ContentHash(), LoadedAt: h.now().UTC(), Gen: gen}
	h.cur.Store(p)
	return p
}
