package inforce

import (
	"context"
	"errors"
	"sync"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
)

// Evaluation is a policy in force evaluated by the engine against the
// stored inventory: the one evaluation the API and the web UI both read.
// Nothing in it is changed after it is made; Engine is not safe for
// concurrent queries, so its users serialise their own calls (the API
// holds its view lock while it asks Reach).
type Evaluation struct {
	Policy  *Policy
	Engine  *engine.Engine
	Result  *engine.Result
	Devices []inventory.Device
	// key is the policy's hash and the inventory's version it was made for.
	key string
	st  *store.Store
}

// evaluations is a Holder's cached evaluation.
type evaluations struct {
	mu  sync.Mutex
	cur *Evaluation
}

// ErrNoPolicy is returned by Evaluate when Ward has no policy in force.
var ErrNoPolicy = errors.New("Ward was started without a policy")

// Evaluate returns the policy in force evaluated against st's active
// inventory, made again when the policy or the inventory (its version)
// changed since the last call, or after Forget.
func (h *Holder) Evaluate(ctx context.Context, st *store.Store) (*Evaluation, error) {
	p := h.Load()
	if p == nil {
		return nil, ErrNoPolicy
	}
	version, err := st.InventoryVersion(ctx)
	if err != nil {
		return nil, err
	}
	key := p.Hash + "|" + version
	h.eval.mu.Lock()
	defer h.eval.mu.Unlock()
	if c := h.eval.cur; c != nil && c.key == key && c.st == st {
		return c, nil
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		return nil, err
	}
	eng, diags := engine.New(ctx, p.Config, devices)
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	res, err := eng.Evaluate(ctx)
	if err != nil {
		return nil, err
	}
	h.eval.cur = &Evaluation{Policy: p, Engine: eng, Result: res, Devices: devices, key: key, st: st}
	return h.eval.cur, nil
}

// Forget drops the cached evaluation: the next Evaluate makes it again.
func (h *Holder) Forget() {
	h.eval.mu.Lock()
	h.eval.cur = nil
	h.eval.mu.Unlock()
}
